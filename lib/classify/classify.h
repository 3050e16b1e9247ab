/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_CLASSIFY_H
#define NETCHANNEL_CLASSIFY_H

/*
 * lib/classify — 5-tuple wildcard packet classification
 * ======================================================
 *
 * What
 * ----
 * A classifier holds rules over five fields — source address, destination
 * address (IPv4 or IPv6, as a prefix or an arbitrary range), source port,
 * destination port (ranges) and protocol (value/mask or any) — each with a
 * priority, an id and user data.  A lookup returns the matching rule with the
 * highest priority; among rules of equal priority the lowest id wins.  One
 * classifier holds IPv4 and IPv6 rules side by side; a key only ever matches
 * rules of its own family.
 *
 * Design: multi-dimensional interval tries
 * ----------------------------------------
 * Every field is a dimension of unsigned integers and every rule a box (a
 * range per dimension).  IPv6 addresses are four 32-bit dimensions each, so a
 * prefix stays one box; an arbitrary IPv6 range or a non-contiguous protocol
 * mask is cut into a few boxes of the same rule.
 *
 * Boxes are kept in *partitions*.  A partition has a field order and keeps
 * the invariant that for any two of its boxes, at the first field (in that
 * order) where their ranges differ, the ranges are disjoint.  Each field of a
 * partition is therefore a set of non-crossing intervals, each interval
 * leading to the next field's intervals of the boxes that share it: a
 * multi-dimensional interval trie.  A key matches at most one box per
 * partition (up to boxes that are identical, kept in one priority-ordered
 * chain), found with one predecessor search per field, so a lookup costs
 * O(P · d · log N) for P partitions, and every box is stored once: memory is
 * O(d · N) with no sub-tree replication.  A subtrie holding a single box is
 * stored as the box itself and checked in one step.
 *
 * The intervals of one trie node live in a B+tree of 16-wide nodes searched
 * with one SIMD compare per node (AVX-512 where the CPU has it, chosen at run
 * time) and changed by copying one leaf and swapping one pointer.
 * Partitions are searched in decreasing order of their highest priority and
 * the search stops as soon as no remaining partition can beat the match in
 * hand; a partition whose bounding box (of all its boxes) does not contain
 * the key is skipped.  cls_lookup_bulk() walks a burst of keys in lock step
 * and prefetches the node each key needs next, so that cache misses of
 * different keys overlap.
 *
 * A new box goes to the first partition (in search order) it fits without
 * breaking the invariant; if none, a new partition is made whose field order
 * puts the box's narrowest fields first.
 *
 * Versions and batches
 * --------------------
 * cls_insert() and cls_delete() stage changes; cls_publish() makes every
 * change staged since the last publish visible at once.  Each rule carries the
 * version it was added in and the version it was deleted in; a lookup reads
 * the published version once and sees exactly the rules alive in it, so a
 * batch is never seen half-applied.  Nothing is rebuilt: a change touches one
 * path of one partition.
 *
 * Thread safety and memory reclamation
 * ------------------------------------
 * - Lookups (cls_lookup, cls_lookup_bulk, cls_stats) take no lock and may
 *   run in any number of threads concurrently with one writer.
 * - Writer calls (every other function taking a non-const classifier) must
 *   be serialised by the caller.
 * - Memory a reader may still hold (B+tree nodes replaced by a change,
 *   deleted rules) is retired, not freed: the classifier asks the reclamation
 *   hook (struct cls_reclaim) for a grace-period token when it retires memory
 *   and frees it once the hook says every reader has passed a quiescent state
 *   since.  The hook's two calls map one to one onto DPDK's
 *   rte_rcu_qsbr_start() and rte_rcu_qsbr_check(..., false); the library
 *   itself does not depend on DPDK.  Without a hook the caller promises that
 *   no lookup runs concurrently with a writer call: memory is freed at the
 *   end of each call and nodes with room are changed in place.
 * - Replaced tree nodes are recycled through a small per-classifier cache
 *   (bounded by the trie's size); cls_reclaim(c, true) gives it back.
 *
 * Byte order
 * ----------
 * Every address and port given to or returned by this API is in host byte
 * order; an IPv6 address is two 64-bit halves, hi holding the first eight
 * bytes of the address.
 *
 * Errors
 * ------
 * Functions that can fail return 0 or a negative errno value and are marked
 * warn_unused_result; a failed call changes nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLS_MUST_CHECK __attribute__((warn_unused_result))

/** Address families; the values are the IP version numbers. */
enum cls_family {
	CLS_IPV4 = 4,
	CLS_IPV6 = 6,
};

/** A 128-bit address in host order: hi is the first eight bytes. */
struct cls_ip6 {
	uint64_t hi;
	uint64_t lo;
};

/** An address of either family; v4 is used for CLS_IPV4, v6 for CLS_IPV6. */
union cls_addr {
	uint32_t v4;
	struct cls_ip6 v6;
};

/** A rule: a closed range per field, priority, id and user data. */
struct cls_rule {
	uint8_t family;               /**< CLS_IPV4 or CLS_IPV6 */
	uint8_t proto;                /**< protocol value, compared under proto_mask */
	uint8_t proto_mask;           /**< 0: any protocol; 0xff: exactly proto */
	uint16_t sport_lo, sport_hi;  /**< source port range, inclusive */
	uint16_t dport_lo, dport_hi;  /**< destination port range, inclusive */
	union cls_addr src_lo, src_hi; /**< source address range, inclusive */
	union cls_addr dst_lo, dst_hi; /**< destination address range, inclusive */
	int32_t priority;             /**< larger wins */
	uint32_t id;                  /**< unique in a classifier; ties go to the lowest */
	void *udata;                  /**< returned with a match, never dereferenced */
};

/** A lookup key: one packet's header fields. */
struct cls_key {
	uint8_t family;  /**< CLS_IPV4 or CLS_IPV6 */
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	union cls_addr src;
	union cls_addr dst;
};

/** What a lookup returns for a match. */
struct cls_match {
	uint32_t id;      /**< CLS_NO_MATCH when nothing matched */
	int32_t priority;
	void *udata;      /**< NULL when nothing matched */
};

#define CLS_NO_MATCH UINT32_MAX

/**
 * Grace-period hook.  start() returns a token; done(token) returns true once
 * every reader that could have seen memory retired before start() was called
 * has since passed a quiescent state.  With DPDK:
 *   start = rte_rcu_qsbr_start(v), done = rte_rcu_qsbr_check(v, token, false) == 1.
 * Both are called from the writer's thread only.
 */
struct cls_reclaim {
	uint64_t (*start)(void *ctx);
	bool (*done)(void *ctx, uint64_t token);
	void *ctx;
};

/** Backends behind one API. */
enum cls_backend {
	CLS_BACKEND_TRIE = 0,   /**< multi-dimensional interval tries (default) */
	CLS_BACKEND_LINEAR = 1, /**< priority-ordered scan: the reference */
};

struct cls_config {
	enum cls_backend backend;
	/** NULL: no lookups run concurrently with writer calls. */
	const struct cls_reclaim *reclaim;
};

/** Counters and sizes, read without locks (values may be slightly stale). */
struct cls_stats {
	uint32_t rules;          /**< rules alive in the published version */
	uint32_t staged;         /**< inserts and deletes not yet published */
	uint32_t partitions;     /**< trie backend: partitions per family, summed */
	uint32_t boxes;          /**< trie backend: boxes stored (>= rules) */
	uint64_t memory_bytes;   /**< bytes held, retired memory included */
	uint64_t retired_bytes;  /**< bytes waiting for a grace period */
	uint64_t version;        /**< published version */
};

struct cls;

/**
 * Create an empty classifier.
 * @return 0; -EINVAL if cfg or out is NULL, the backend is unknown or the
 *   reclaim hook lacks start or done; -ENOMEM.
 * Thread safety: any thread.
 */
int cls_create(const struct cls_config *cfg, struct cls **out) CLS_MUST_CHECK;

/**
 * Free a classifier and every rule in it.  NULL is a no-op.  The caller
 * guarantees that no lookup is running or will run.
 */
void cls_free(struct cls *c);

/**
 * Check a rule without inserting it.
 * @return 0 if valid; -EINVAL (unknown family, lo > hi in a field,
 *   id == CLS_NO_MATCH) and a static string describing the problem in
 *   *why (if why is not NULL).
 * Thread safety: any thread; pure function.
 */
int cls_rule_check(const struct cls_rule *rule, const char **why) CLS_MUST_CHECK;

/**
 * Stage the insertion of a rule (copied).  It becomes visible to lookups at
 * the next cls_publish().
 * @return 0; -EINVAL if the rule is invalid (see cls_rule_check);
 *   -EEXIST if a rule with this id exists or is staged; -ENOMEM.
 * Thread safety: writer (serialised by the caller).
 */
int cls_insert(struct cls *c, const struct cls_rule *rule) CLS_MUST_CHECK;

/**
 * Stage the deletion of the rule with this id.  It stops matching at the
 * next cls_publish(); its memory is reclaimed after the grace period that
 * follows.  Deleting a rule that was inserted but not yet published cancels
 * the insertion.
 * @return 0; -ENOENT if no live rule has this id (or its deletion is already
 *   staged).
 * Thread safety: writer.
 */
int cls_delete(struct cls *c, uint32_t id) CLS_MUST_CHECK;

/**
 * Make every staged insert and delete visible at once, then reclaim what the
 * grace periods allow.
 * @return 0 (publishing cannot fail once the changes are staged).
 * Thread safety: writer.
 */
int cls_publish(struct cls *c);

/**
 * Stage rules[0..n) as one batch and publish them; all or nothing: on any
 * error nothing is staged or published and *failed (if not NULL) is the index
 * of the offending rule.
 * @return as cls_insert().
 * Thread safety: writer.  Must be called with nothing else staged
 *   (-EBUSY otherwise).
 */
int cls_insert_batch(struct cls *c, const struct cls_rule *rules, size_t n,
		     size_t *failed) CLS_MUST_CHECK;

/**
 * Free retired memory whose grace period has ended.  With wait, poll until
 * every retired object is freed (readers must keep reporting quiescent
 * states meanwhile) and give the classifier's node cache back to the
 * allocator; without, return at once (cheap enough to call after every
 * update).
 * @return the number of bytes still retired.
 * Thread safety: writer.
 */
uint64_t cls_reclaim(struct cls *c, bool wait);

/**
 * Look up one key.
 * @return 1 and *match filled if a rule matches; 0 and *match set to
 *   {CLS_NO_MATCH, 0, NULL} if none (or the key's family is unknown).
 * Thread safety: lock-free; concurrent with other lookups and one writer.
 */
int cls_lookup(const struct cls *c, const struct cls_key *key, struct cls_match *match);

/**
 * Look up n keys (any n; bursts of 16 to 64 go fastest).  matches[i] is the
 * answer for keys[i], as cls_lookup() gives it; all n answers come from the
 * same published version, so a batch is seen by every key of the burst or
 * by none.
 * @return the number of keys that matched a rule.
 * Thread safety: as cls_lookup().
 */
unsigned cls_lookup_bulk(const struct cls *c, const struct cls_key *const keys[],
			 unsigned n, struct cls_match *matches);

/**
 * Fill *st.  Thread safety: as cls_lookup().
 */
void cls_stats(const struct cls *c, struct cls_stats *st);

/** Name of the backend ("trie", "linear") and of the lookup code in use
 *  ("avx512", "scalar"). */
const char *cls_backend_name(const struct cls *c);
const char *cls_simd_name(const struct cls *c);

/** Does the rule match the key?  The definition every backend follows. */
bool cls_rule_matches(const struct cls_rule *rule, const struct cls_key *key);

/**
 * Order of rules: returns true if a beats b (higher priority, then lower id).
 */
static inline bool cls_rule_beats(int32_t prio_a, uint32_t id_a, int32_t prio_b,
				  uint32_t id_b)
{
	return prio_a > prio_b || (prio_a == prio_b && id_a < id_b);
}

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_CLASSIFY_H */
