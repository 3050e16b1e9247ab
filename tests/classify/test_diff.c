/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential tests: the interval tries against the linear reference on
 * random rule sets, random probes and random insert/delete/publish sequences.
 * Fields are drawn from small value sets so that probes really hit rules.
 * Each test prints its seed; NC_SEED replays it; NC_LONG=1 multiplies the work.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static unsigned scale(void)
{
	return tu_long_mode() ? 20 : 1;
}

/* Probe both classifiers with n random keys, single and bulk; count hits. */
static size_t probe(struct tu_rng *r, const struct tu_pools *p, struct cls *trie,
		    struct cls *lin, uint8_t family, size_t n)
{
	enum { B = 48 };
	struct cls_key keys[B];
	const struct cls_key *kp[B];
	struct cls_match mt[B], ml[B];
	size_t hits = 0;

	for (size_t done = 0; done < n;) {
		unsigned b = 1 + tu_below(r, B);
		for (unsigned i = 0; i < b; i++) {
			tu_rand_key(r, p, family, &keys[i]);
			kp[i] = &keys[i];
		}
		unsigned ht = cls_lookup_bulk(trie, kp, b, mt);
		unsigned hl = cls_lookup_bulk(lin, kp, b, ml);
		for (unsigned i = 0; i < b; i++) {
			if (mt[i].id != ml[i].id || mt[i].udata != ml[i].udata ||
			    mt[i].priority != ml[i].priority) {
				tu_same_answer(trie, lin, &keys[i]);
				cr_assert_fail("bulk answer %u of %u differs: trie id %u, linear id %u", i,
					 b, mt[i].id, ml[i].id);
			}
			struct cls_match one;
			int h1 = cls_lookup(trie, &keys[i], &one);
			cr_assert_eq(one.id, mt[i].id, "single and bulk lookups differ");
			cr_assert_eq(h1, mt[i].id != CLS_NO_MATCH);
		}
		cr_assert_eq(ht, hl);
		hits += ht;
		done += b;
	}
	return hits;
}

static void static_set(uint8_t family, unsigned nrules, size_t nprobes)
{
	struct tu_rng r = {tu_seed("static_set")};
	struct tu_pools p;
	tu_pools_init(&p, &r);
	struct cls *trie = tu_create(CLS_BACKEND_TRIE, NULL);
	struct cls *lin = tu_create(CLS_BACKEND_LINEAR, NULL);
	cr_assert(trie && lin);
	struct cls_rule *rules = calloc(nrules, sizeof(*rules));
	for (unsigned i = 0; i < nrules; i++) {
		tu_rand_rule(&r, &p, family, &rules[i]);
		rules[i].id = i + 1; /* unique */
	}
	size_t bad;
	cr_assert_eq(cls_insert_batch(trie, rules, nrules, &bad), 0);
	cr_assert_eq(cls_insert_batch(lin, rules, nrules, &bad), 0);
	size_t hits = probe(&r, &p, trie, lin, family, nprobes);
	cr_log_info("%u rules, %zu probes, %zu hits", nrules, nprobes, hits);
	/* small sets are narrow: ask for fewer hits (never none) */
	if (nrules >= 32)
		cr_assert_gt(hits, nprobes / (nrules >= 256 ? 10 : 100), "probes must really hit rules (%zu of %zu)", hits, nprobes);
	struct cls_stats st;
	cls_stats(trie, &st);
	cr_assert_eq(st.rules, nrules);
	cr_assert_geq(st.boxes, nrules);
	if (nrules >= 8000)
		cr_assert_gt(st.memory_bytes, 1u << 20, "the set must exceed the bulk threshold");
	free(rules);
	cls_free(trie);
	cls_free(lin);
}

Test(diff, ipv4_small_sets)
{
	for (unsigned n = 1; n <= 64; n *= 2)
		static_set(CLS_IPV4, n, 20000 * scale());
}

Test(diff, ipv4_large_set)
{
	static_set(CLS_IPV4, 400, 400000 * scale());
}

Test(diff, ipv4_2000_rules)
{
	static_set(CLS_IPV4, 2000, 100000 * scale());
}

/* Big enough (> 1 MiB) for the lock-step bulk walk rather than singles. */
Test(diff, ipv4_8000_rules_bulk_walk)
{
	static_set(CLS_IPV4, 8000, 40000 * scale());
}

Test(diff, ipv6_sets)
{
	static_set(CLS_IPV6, 50, 100000 * scale());
	static_set(CLS_IPV6, 300, 150000 * scale());
}

Test(diff, mixed_families)
{
	static_set(0, 300, 200000 * scale());
}

/* Random insert / delete / publish sequences; both must agree at every step,
 * including on error codes, and staged changes must stay invisible. */
static void update_sequence(uint8_t family, unsigned ops, unsigned probes_per_publish)
{
	struct tu_rng r = {tu_seed("update_sequence")};
	struct tu_pools p;
	tu_pools_init(&p, &r);
	struct cls *trie = tu_create(CLS_BACKEND_TRIE, NULL);
	struct cls *lin = tu_create(CLS_BACKEND_LINEAR, NULL);
	uint32_t *ids = calloc(ops, sizeof(*ids));
	unsigned nids = 0;
	size_t probes = 0;

	for (unsigned op = 0; op < ops; op++) {
		unsigned what = tu_below(&r, 16);
		if (what < 8) {
			struct cls_rule rule;
			tu_rand_rule(&r, &p, family, &rule);
			rule.id = nids && tu_below(&r, 20) == 0 ? ids[tu_below(&r, nids)]
								 : tu_below(&r, 1u << 20);
			int a = cls_insert(trie, &rule), b = cls_insert(lin, &rule);
			cr_assert_eq(a, b, "insert id %u: trie %d, linear %d", rule.id, a, b);
			if (a == 0)
				ids[nids++] = rule.id;
		} else if (what < 13) {
			uint32_t id = nids && tu_below(&r, 8) ? ids[tu_below(&r, nids)]
							      : tu_below(&r, 1u << 20);
			int a = cls_delete(trie, id), b = cls_delete(lin, id);
			cr_assert_eq(a, b, "delete id %u: trie %d, linear %d", id, a, b);
			if (a == 0)
				for (unsigned i = 0; i < nids; i++)
					if (ids[i] == id) {
						ids[i] = ids[--nids];
						break;
					}
		} else if (what < 15) {
			/* staged changes are invisible: answers equal the reference,
			 * whose array only changes at publish */
			probe(&r, &p, trie, lin, family, probes_per_publish / 4);
			probes += probes_per_publish / 4;
		} else {
			cls_publish(trie);
			cls_publish(lin);
			probe(&r, &p, trie, lin, family, probes_per_publish);
			probes += probes_per_publish;
			struct cls_stats st;
			cls_stats(trie, &st);
			cr_assert_eq(st.rules, nids, "rule count %u != %u", st.rules, nids);
			cr_assert_eq(st.staged, 0);
		}
	}
	cls_publish(trie);
	cls_publish(lin);
	probe(&r, &p, trie, lin, family, probes_per_publish);
	/* delete everything: the trie must empty (every partition goes) */
	for (unsigned i = 0; i < nids; i++) {
		cr_assert_eq(cls_delete(trie, ids[i]), 0);
		cr_assert_eq(cls_delete(lin, ids[i]), 0);
	}
	cls_publish(trie);
	cls_publish(lin);
	cls_reclaim(trie, true);
	probe(&r, &p, trie, lin, family, 1000);
	struct cls_stats st;
	cls_stats(trie, &st);
	cr_assert_eq(st.rules, 0);
	cr_assert_eq(st.boxes, 0);
	cr_assert_eq(st.partitions, 0, "%u partitions left after deleting everything",
		     st.partitions);
	cr_assert_eq(st.retired_bytes, 0);
	cr_log_info("%u ops, %zu probes", ops, probes);
	free(ids);
	cls_free(trie);
	cls_free(lin);
}

Test(diff, updates_ipv4)
{
	update_sequence(CLS_IPV4, 6000 * scale(), 500);
}

Test(diff, updates_ipv6)
{
	update_sequence(CLS_IPV6, 3000 * scale(), 500);
}

Test(diff, updates_mixed)
{
	update_sequence(0, 4000 * scale(), 500);
}

/* Insert in random priority order (not file order) so that partitions'
 * priority bounds rise and the search order is rebuilt. */
Test(diff, random_priority_order)
{
	struct tu_rng r = {tu_seed("random_priority_order")};
	struct tu_pools p;
	tu_pools_init(&p, &r);
	struct cls *trie = tu_create(CLS_BACKEND_TRIE, NULL);
	struct cls *lin = tu_create(CLS_BACKEND_LINEAR, NULL);
	for (unsigned i = 0; i < 500; i++) {
		struct cls_rule rule;
		tu_rand_rule(&r, &p, CLS_IPV4, &rule);
		rule.id = i;
		rule.priority = (int32_t)tu_next(&r);
		cr_assert_eq(cls_insert(trie, &rule), 0);
		cr_assert_eq(cls_insert(lin, &rule), 0);
		if (i % 50 == 49) {
			cls_publish(trie);
			cls_publish(lin);
			probe(&r, &p, trie, lin, CLS_IPV4, 5000);
		}
	}
	cls_free(trie);
	cls_free(lin);
}
