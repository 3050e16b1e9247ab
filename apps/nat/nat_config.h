/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CONFIG_H
#define NCNAT_NAT_CONFIG_H

/*
 * ncnat configuration — parse and validate, all or nothing
 * ========================================================
 *
 * What
 * ----
 * The NAT is configured by a text file (or a memory buffer: the fuzzer and
 * the tests).  nat_config_parse_buffer() reads and validates all of it and
 * returns a struct nat_config, or fails with "name:line: what is wrong" and
 * returns nothing: nothing is applied from a file with any error.
 *
 * Format (apps/nat/README.md has the same with an example)
 * --------------------------------------------------------
 * One statement per line; '#' starts a comment; tokens are separated by
 * blanks or tabs; keywords are lower case.  Addresses are IPv4.
 *
 *   inside  ADDR/LEN mac MAC [gateway ADDR] [gateway-mac MAC]   (required, once)
 *   outside ADDR/LEN mac MAC [gateway ADDR] [gateway-mac MAC]   (required, once)
 *       the port's own address and subnet (answered in ARP), its MAC, and the
 *       next hop for destinations off the subnet; without gateway-mac the
 *       next hop's MAC is resolved with ARP.
 *   pool ADDR | ADDR/LEN | ADDR-ADDR        (repeatable; ranges must not overlap)
 *   filtering endpoint-independent | address-dependent | address-and-port-dependent
 *                                           (default address-and-port-dependent)
 *   timeout udp|tcp-established|tcp-transitory|icmp SECONDS
 *       defaults 300, 7440, 240, 60; minima 120, 7440, 240, 60 (RFC 4787,
 *       5382, 5508); maximum 604800.
 *   ports LO-HI         dynamic external ports (default 1024-65535; LO >= 1024).
 *                       Inside ports below 1024 map into 1-1023.
 *   quota N             ports per subscriber (inside address) and protocol
 *                       (default 4096; 1 .. size of the range)
 *   port-block N        ports per block, 1 = no blocks (default 1; <= quota)
 *   hold-down SECONDS   a freed port is not reused before (default 120, <= 3600)
 *   sessions N          session table capacity (default 65536; 1 .. 16777216)
 *   log on|off          RFC 6888 mapping / port-block log lines (default on)
 *
 * Rules, in priority order (the first matching rule wins); matches are
 * optional and combine (all must hold):
 *   snat       MATCH...   translate the source to a pool address (pool needed)
 *   masquerade MATCH...   translate the source to the outside address
 *   bypass     MATCH...   forward without translation
 *   drop       MATCH...   drop
 *     MATCH: src R | dst R | proto tcp|udp|icmp|N | sport P | dport P
 *            R: any | ADDR | ADDR/LEN | ADDR-ADDR;  P: N | N-M (tcp/udp only)
 *   dnat dst ADDR proto tcp|udp dport N to ADDR[:PORT]
 *       static port forwarding: outside packets to ADDR:N go to the inside
 *       ADDR:PORT (default PORT = N); the external address must be the
 *       outside address or a pool address, and the pair is never allocated
 *       dynamically.
 * An inside packet that matches no rule is dropped (drop_no_rule).
 *
 * Validation: every value is range-checked, scalar statements may appear
 * once, inside/outside are required, gateways must be on their subnet, pool
 * ranges must not overlap each other or the port addresses, snat needs a
 * pool, dnat targets are unique and external, quota/port-block/ports agree.
 *
 * Thread safety: reentrant.  Errors: 0 or -errno as documented.
 * Byte order: every address and port in struct nat_config is host order.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

#define NAT_CFG_MAX_POOL 64       /**< pool statements */
#define NAT_CFG_MAX_POOL_ADDRS 65536
#define NAT_CFG_MAX_RULES 4096
#define NAT_CFG_MAX_TIMEOUT 604800u

enum nat_filtering {
	NAT_FILTER_EIF = 0, /**< endpoint-independent */
	NAT_FILTER_ADF,     /**< address-dependent */
	NAT_FILTER_APDF,    /**< address-and-port-dependent */
};

enum nat_action {
	NAT_ACT_SNAT = 0,
	NAT_ACT_MASQUERADE,
	NAT_ACT_BYPASS,
	NAT_ACT_DROP,
	NAT_ACT_DNAT,
};

struct nat_port_config {
	uint32_t addr;        /**< the port's own address */
	uint8_t plen;         /**< subnet prefix length */
	uint8_t mac[6];
	bool has_gateway;
	bool has_gateway_mac;
	uint32_t gateway;
	uint8_t gateway_mac[6];
};

struct nat_addr_range {
	uint32_t lo, hi;      /**< inclusive */
};

struct nat_rule {
	enum nat_action action;
	uint32_t line;        /**< line in the source */
	struct cls_rule match; /**< family CLS_IPV4; for dnat: dst and dport exact */
	uint32_t to_addr;     /**< dnat target */
	uint16_t to_port;
};

struct nat_config {
	struct nat_port_config inside, outside;
	struct nat_addr_range pool[NAT_CFG_MAX_POOL];
	uint32_t n_pool;
	uint32_t pool_addrs;  /**< addresses in the pool, summed */
	struct nat_rule *rules; /**< n_rules, in priority order */
	uint32_t n_rules;
	enum nat_filtering filtering;
	uint32_t timeout_udp, timeout_tcp_est, timeout_tcp_trans, timeout_icmp;
	uint16_t port_lo, port_hi;
	uint32_t quota;
	uint32_t port_block;
	uint32_t hold_down;
	uint32_t sessions;
	bool log;
};

/**
 * Parse and validate len bytes of text (need not be NUL-terminated); name
 * appears in error messages.
 * @return 0 and *out (free with nat_config_free);
 *   -EINVAL with "name:line: what" in err (if errlen > 0) and *out NULL;
 *   -ENOMEM.  NULL buf (with len > 0), name or out: -EINVAL.
 */
int nat_config_parse_buffer(const char *buf, size_t len, const char *name,
			    struct nat_config **out, char *err, size_t errlen) NC_MUST_CHECK;

/** Read a file and parse it; -errno of open/read with "path: reason". */
int nat_config_parse_file(const char *path, struct nat_config **out, char *err,
			  size_t errlen) NC_MUST_CHECK;

/** NULL-safe. */
void nat_config_free(struct nat_config *cfg);

/** Text of a filtering mode / rule action ("address-dependent", "snat"). */
const char *nat_filtering_name(enum nat_filtering f);
const char *nat_action_name(enum nat_action a);

/** Is addr one of the pool addresses? */
bool nat_config_in_pool(const struct nat_config *cfg, uint32_t addr);

/**
 * Pool address number i (0 <= i < pool_addrs) in statement order.
 * @return the address; 0 if i is out of range.
 */
uint32_t nat_config_pool_addr(const struct nat_config *cfg, uint32_t i);

/*
 * Single statements, for run-time changes (the control socket, nat_ctl.h)
 * ---------------------------------------------------------------------
 * They go through the same tokenizer, rule parser and rule checks as a
 * file, so a rule typed at run time means exactly what the same line means
 * in the file.  Error texts have no "name:line: " prefix.
 */

enum nat_timeout_kind {
	NAT_TIMEOUT_UDP = 0,
	NAT_TIMEOUT_TCP_EST,   /**< "tcp-established" */
	NAT_TIMEOUT_TCP_TRANS, /**< "tcp-transitory" */
	NAT_TIMEOUT_ICMP,
	NAT_TIMEOUT_KINDS
};

/** "udp", "tcp-established", "tcp-transitory", "icmp"; "unknown" else. */
const char *nat_timeout_name(enum nat_timeout_kind k);
/** The RFC minimum the parser enforces (120, 7440, 240, 60); 0 else. */
uint32_t nat_timeout_min(enum nat_timeout_kind k);

/**
 * Parse one rule line ("snat src 10.0.0.0/24", "dnat dst ... to ...") with
 * the file parser's code and check it against cfg (pool, port addresses,
 * and cfg->rules for dnat duplicates, named by their 1-based number).  The
 * result is the struct a file with this line as its first rule gives: id 1,
 * priority NAT_CFG_MAX_RULES - 1, line 1 (the caller renumbers).
 * @return 0 and *out; -EINVAL with the reason in err; -ENOMEM.
 * Thread safety: reentrant; cfg is only read.
 */
int nat_config_parse_rule(const char *line, const struct nat_config *cfg, struct nat_rule *out,
			  char *err, size_t errlen) NC_MUST_CHECK;

/**
 * The checks nat_config_parse_rule() makes, on a rule from elsewhere (its
 * match valid for lib/classify, a dnat well formed, the checks against cfg).
 * @return 0; -EINVAL with the reason in err.
 */
int nat_config_check_rule(const struct nat_config *cfg, const struct nat_rule *r, char *err,
			  size_t errlen) NC_MUST_CHECK;

/**
 * Parse "KIND SECONDS" (the words after 'timeout' in the file) with the
 * file's limits: below the RFC minimum or above NAT_CFG_MAX_TIMEOUT is an
 * error naming the minimum and its RFC.
 * @return 0 with *kind and *secs; -EINVAL with the reason in err.
 */
int nat_config_parse_timeout(const char *text, enum nat_timeout_kind *kind, uint32_t *secs,
			     char *err, size_t errlen) NC_MUST_CHECK;

/**
 * A rule as a config line ("snat src 10.0.0.0/25 proto udp dport 53"): the
 * parser reads it back into the same action, match and target.  Wildcard
 * fields are left out; a dnat target always carries its port.
 * @return the length of the text (snprintf-like: truncated to size - 1);
 *   -EINVAL.
 */
int nat_config_format_rule(const struct nat_rule *r, char *buf, size_t size);

#endif /* NCNAT_NAT_CONFIG_H */
