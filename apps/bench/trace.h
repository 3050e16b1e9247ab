/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_TRACE_H
#define NCBENCH_TRACE_H
/*
 * Lookup traces: ClassBench trace files ("sip dip sport dport proto ..."
 * unsigned decimal, IPv4, further columns ignored) or traces generated from a
 * rule set: points inside randomly chosen rules plus random headers, seeded
 * and reproducible.
 */
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "classify_parse.h"

struct trace {
	struct cls_key *keys;
	size_t n;
	uint32_t *from_rule; /**< generated: index+1 of the rule a key was drawn in, 0 random */
	char name[256];
};

/** Read a ClassBench trace.  Errors ("file:line: what") go to stderr.
 *  @return 0 or -errno / -EINVAL. */
int trace_load(const char *path, struct trace *t);

/**
 * Generate n keys from the rules: 90% a uniform point inside a uniformly
 * chosen rule, 10% a random header (random addresses of the rule's family,
 * random ports, mostly TCP/UDP/ICMP, an eighth any protocol).
 * @return 0 or -ENOMEM.
 */
int trace_generate(const struct cls_ruleset *rs, size_t n, uint64_t seed, struct trace *t);

/**
 * Keys to generate when the user gave no size: 256 Ki below 50K rules; for
 * larger sets enough that even rte_acl's 16-byte keys are twice the
 * last-level cache, at least 1 Mi.
 */
size_t trace_default_size(size_t n_rules);

/** Write IPv4 keys as a ClassBench trace (sip dip sport dport proto 0 rule#). */
int trace_write(const struct trace *t, const struct cls_ruleset *rs, const char *path);

void trace_free(struct trace *t);
#endif
