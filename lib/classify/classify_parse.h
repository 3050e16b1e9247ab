/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_CLASSIFY_PARSE_H
#define NETCHANNEL_CLASSIFY_PARSE_H

/*
 * Rule files for lib/classify
 * ===========================
 *
 * Three formats, read from memory (fuzzers, configs embedded in programs) or
 * from a file.  A parse is all or nothing: on the first bad line it returns
 * -EINVAL, writes "NAME:LINE: what is wrong" into the caller's error buffer
 * and returns no rules.
 *
 * ClassBench (CLS_FMT_CLASSBENCH), the format dpdk-test-acl reads:
 *     @10.0.0.0/8  192.168.1.0/24  0 : 65535  80 : 80  0x06/0xFF  [flags/mask]
 * IPv6 ClassBench (CLS_FMT_CLASSBENCH6): the same with IPv6 prefixes.
 *   Fields are separated by blanks or tabs; the optional flags column and any
 *   further columns are ignored (as dpdk-test-acl does).  File order is
 *   priority: rule k (1-based) gets id k and priority n + 1 - k, so the first
 *   rule is the highest and a match's id is its number in the file.
 *
 * netchannel rule syntax (CLS_FMT_NATIVE), one rule per line, "#" starts a
 * comment, keywords in any order, every keyword optional:
 *     id 7 priority 100 src 10.0.0.0/8 dst 192.0.2.1-192.0.2.9 sport 1024-65535 dport 443 proto tcp
 *   src/dst: any | ADDR | ADDR/LEN | ADDR-ADDR (IPv4 or IPv6, one family per rule)
 *   sport/dport: any | N | N-M;  proto: any | tcp | udp | icmp | icmpv6 | N | N/MASK
 *   id defaults to the rule's number among the file's rules (1-based) and
 *   priority to (rules in the file) + 1 - number, as for ClassBench.
 *
 * CLS_FMT_AUTO picks ClassBench when the first rule line starts with '@'
 * (IPv6 when its first address contains ':'), the native syntax otherwise.
 *
 * In every format: blank lines and lines starting with '#' are skipped (and
 * not numbered as rules); lines end with LF or CRLF; a NUL byte is an error;
 * a prefix with host bits set (10.0.0.1/8) is masked to its network, as
 * dpdk-test-acl does; the protocol value is stored masked.  In the native
 * syntax "any" carries no family: a rule takes the family of the address that
 * names one and is IPv4 if neither does (write "src ::/0" for an IPv6 rule
 * matching every address); keywords are case-insensitive, "prio" is accepted
 * for "priority", "#" also starts a trailing comment, and ids (given or
 * defaulted) must be unique within the file.
 *
 * Thread safety: every function here is reentrant.
 */

#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cls_format {
	CLS_FMT_AUTO = 0,
	CLS_FMT_CLASSBENCH,
	CLS_FMT_CLASSBENCH6,
	CLS_FMT_NATIVE,
};

/** Parsed rules, in file order; owned by the caller, freed with cls_ruleset_free(). */
struct cls_ruleset {
	struct cls_rule *rules;
	size_t n;
	uint32_t *lines; /**< lines[i]: line number of rules[i] in its source */
};

/**
 * Parse len bytes of text (need not be NUL-terminated).  name is used in
 * error messages.
 * @return 0 and *out (never NULL; possibly with n == 0);
 *   -EINVAL and "name:line: ..." in err (if errlen > 0) for a bad line;
 *   -ENOMEM.
 */
int cls_parse_buffer(const char *buf, size_t len, const char *name, enum cls_format fmt,
		     struct cls_ruleset **out, char *err, size_t errlen) CLS_MUST_CHECK;

/**
 * Parse a file.  Errors as cls_parse_buffer() and -errno from open/read
 * (with "path: strerror" in err).
 */
int cls_parse_file(const char *path, enum cls_format fmt, struct cls_ruleset **out,
		   char *err, size_t errlen) CLS_MUST_CHECK;

/** NULL-safe. */
void cls_ruleset_free(struct cls_ruleset *rs);

/**
 * Parse one address range "any", "ADDR", "ADDR/LEN" or "ADDR-ADDR" (IPv4 or
 * IPv6; the family is written to *family).  Used by configs built on this
 * syntax.
 * @return 0; -EINVAL with a static reason in *why.
 */
int cls_parse_addr_range(const char *s, size_t len, uint8_t *family, union cls_addr *lo,
			 union cls_addr *hi, const char **why) CLS_MUST_CHECK;

/** Room for any address cls_addr_format() writes, NUL included. */
#define CLS_ADDRSTRLEN 46

/**
 * Write an address (host order, as in classify.h) in its usual text form
 * ("192.0.2.1", "2001:db8::1") into buf; an unknown family gives "".
 * @return buf.
 */
const char *cls_addr_format(uint8_t family, const union cls_addr *a, char *buf, size_t len);

/**
 * Format a rule in the native syntax (one line, no newline) into buf.
 * @return the length snprintf would produce.
 */
int cls_rule_format(const struct cls_rule *rule, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_CLASSIFY_PARSE_H */
