/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_ACL_PEER_H
#define NCBENCH_ACL_PEER_H
/*
 * The rte_acl peer: the same rules and keys in DPDK's rte_acl, laid out as
 * dpdk-test-acl does for IPv4 (proto 8-bit bitmask, source and destination
 * 32-bit prefix, source and destination port ranges), with rule priorities
 * that make rte_acl pick the same rule as cls_lookup; IPv6 likewise with its
 * addresses as four 32-bit prefix fields each (dpdk-test-acl --ipv6).  A rule
 * set is all IPv4 or all IPv6.  Only built with DPDK (HAVE_RTE_ACL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_acl.h>

#include "classify_parse.h"
#include "trace.h"

/** rte_acl's input: dpdk-test-acl's struct ipv4_5tuple, network byte order. */
struct acl_key {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
};

/** The same for IPv6 (struct ipv6_5tuple of dpdk-test-acl). */
struct acl_key6 {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src[4];
	uint32_t dst[4];
	uint16_t sport;
	uint16_t dport;
};

struct acl_alg {
	const char *name;
	enum rte_acl_classify_alg alg;
};

struct acl_peer {
	struct rte_acl_ctx *ctx;
	bool v6;               /**< IPv6 layout (11 fields) instead of IPv4 (5) */
	uint32_t rule_sz;      /**< RTE_ACL_RULE_SZ(fields) */
	void *rules;           /**< converted rules, rule_sz bytes each */
	size_t n_acl_rules;    /**< >= source rules: ranges are cut into prefixes */
	size_t *first;         /**< first[i]..first[i+1]: acl rules of source rule i */
	uint32_t *id_of;       /**< userdata (1-based) -> cls rule id */
	size_t n_src;
	uint64_t rule_bytes;   /**< rte_malloc bytes for the rule store */
	uint64_t runtime_bytes;/**< rte_malloc bytes of the built runtime tables */
	double build_ms;       /**< last rte_acl_add_rules + rte_acl_build */
	struct acl_alg algs[8];
	unsigned n_algs;       /**< algorithms rte_acl_set_ctx_classify accepts here */
};

/**
 * Start EAL once per process: -l core --no-pci --in-memory --no-telemetry
 * --force-max-simd-bitwidth=512, on hugepages when enough are free (and
 * no_huge is false), else --no-huge -m mem_mb.  *mode (if not NULL)
 * describes the memory used.  @return 0 or a negative errno (reason printed).
 */
int acl_peer_eal_init(int core, unsigned mem_mb, bool no_huge, const char **mode);

/**
 * Convert rs, create the context, add the rules and build it (timed).
 * @return 0; -ENOTSUP when the families are mixed or a rule is not
 *   expressible (why is set);
 *   other negative errno from rte_acl.
 */
int acl_peer_create(const struct cls_ruleset *rs, struct acl_peer **out, const char **why);

/**
 * Rebuild from scratch leaving out source rule omit (SIZE_MAX: none), as an
 * rte_acl user must after any change: reset rules, add, build.  Sets
 * p->build_ms.  @return 0 or negative errno.
 */
int acl_peer_rebuild(struct acl_peer *p, size_t omit);

void acl_peer_free(struct acl_peer *p);

/** Keys in p's layout for every key of t, and a pointer to each (-ENOTSUP if
 *  a key is of the other family; -ENOMEM).  Free both with free(). */
int acl_peer_keys(const struct acl_peer *p, const struct trace *t, void **keys,
		  const uint8_t ***ptrs);

/** Translate an rte_acl result (userdata, 0 = none) to a cls id (CLS_NO_MATCH). */
static inline uint32_t acl_peer_id(const struct acl_peer *p, uint32_t res)
{
	return res ? p->id_of[res] : CLS_NO_MATCH;
}

/** One burst with one algorithm, one category. */
static inline void acl_peer_classify(const struct acl_peer *p, enum rte_acl_classify_alg alg,
				     const uint8_t **data, uint32_t *res, uint32_t n)
{
	(void)rte_acl_classify_alg(p->ctx, data, res, n, 1, alg);
}
#endif
