/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the flow table (lib/netchannel/nc_flow.h): the entry layouts
 * (compact IPv4, wide IPv4, IPv6) side by side, the limits of the compact
 * times, the wide flag, iterate and expire over both layouts, capacity in
 * any mix (with random churn at full load), QSBR headroom and reuse.
 */
#include <criterion/criterion.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "flow_util.h"
#include "nc_flow.h"

TestSuite(flow, .init = eal_up, .fini = eal_down);

Test(flow, layouts_mixed_exact)
{
	/* Compact IPv4, wide IPv4 (times that do not fit 32 bits) and IPv6
	 * side by side; an IPv4 key and an IPv6 key that agree in every
	 * word but the family are different keys. */
	struct nc_flow *t = make_table(64, NULL, 0);
	struct nc_flow_key a, b, c, d, e;
	struct nc_flow_entry_info info;
	union cls_addr s4 = {.v4 = 0x01020304}, d4 = {.v4 = 0x05060708}, s6, d6;
	void *v;

	nc_flow_key_set(&a, 1, CLS_IPV4, 17, &s4, &d4, 10, 20);
	memcpy(&s6, &s4, sizeof(s6));
	memcpy(&d6, &d4, sizeof(d6));
	s6.v6.hi = s4.v4; /* same bytes as the IPv4 key's address words */
	s6.v6.lo = 0;
	d6.v6.hi = d4.v4;
	d6.v6.lo = 0;
	nc_flow_key_set(&b, 1, CLS_IPV6, 17, &s6, &d6, 10, 20);
	cr_assert(memcmp(&a, &b, 38) == 0, "keys differ only in family");
	key_v4(&c, 7);
	key_v4(&d, 8);
	key_v4(&e, 9);
	cr_assert_eq(nc_flow_add(t, &a, V(1), 5, 100), 0);            /* compact */
	cr_assert_eq(nc_flow_add(t, &b, V(2), 5, 100), 0);            /* wide v6 */
	cr_assert_eq(nc_flow_add(t, &c, V(3), 1ULL << 32, 100), 0);   /* wide v4: now */
	cr_assert_eq(nc_flow_add(t, &d, V(4), 5, 1ULL << 33), 0);     /* wide v4: timeout */
	cr_assert_eq(nc_flow_add(t, &e, V(5), UINT32_MAX, UINT32_MAX - 1), 0); /* compact, limits */
	cr_assert_eq(nc_flow_add(t, &a, V(9), 5, 100), -EEXIST);
	cr_assert_eq(nc_flow_add(t, &c, V(9), 5, 100), -EEXIST, "a wide IPv4 key is found");
	cr_assert_eq(nc_flow_lookup(t, &a, 0, &v), 0);
	cr_assert_eq(v, V(1));
	cr_assert_eq(nc_flow_lookup(t, &b, 0, &v), 0);
	cr_assert_eq(v, V(2));
	cr_assert_eq(nc_flow_get(t, &c, &info), 0);
	cr_assert_eq(info.value, V(3));
	cr_assert_eq(info.last_seen, 1ULL << 32);
	cr_assert_eq(nc_flow_get(t, &d, &info), 0);
	cr_assert_eq(info.timeout, 1ULL << 33);
	cr_assert_eq(nc_flow_get(t, &e, &info), 0);
	cr_assert_eq(info.last_seen, UINT32_MAX);
	cr_assert_eq(info.timeout, UINT32_MAX - 1);
	/* Touches beyond 32 bits are exact on wide entries. */
	cr_assert_eq(nc_flow_lookup(t, &c, (1ULL << 40) + 3, &v), 0);
	cr_assert_eq(nc_flow_get(t, &c, &info), 0);
	cr_assert_eq(info.last_seen, (1ULL << 40) + 3);
	cr_assert_eq(nc_flow_delete(t, &b, &v), 0);
	cr_assert_eq(v, V(2));
	cr_assert_eq(nc_flow_lookup(t, &a, 0, &v), 0, "the IPv4 twin stays");
	cr_assert_eq(nc_flow_count(t), 4);
	nc_flow_free(t);
	cr_assert_eq(freed_count, 5);
}

Test(flow, compact_time_limits)
{
	struct nc_flow *t = make_table(16, NULL, 0);
	struct nc_flow_key k;
	struct nc_flow_entry_info info;
	void *v;

	/* last_seen near the top of 32 bits is exact... */
	key_v4(&k, 1);
	cr_assert_eq(nc_flow_add(t, &k, V(1), UINT32_MAX - 10, 5), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, UINT32_MAX - 1, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, UINT32_MAX - 1);
	cr_assert_eq(nc_flow_expire(t, UINT32_MAX + 3ULL, 16, NULL, NULL), 0, "idle 4 < 5");
	cr_assert_eq(nc_flow_lookup(t, &k, UINT32_MAX, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, UINT32_MAX);
	/* ...and saturates beyond it (documented limit): still found, the
	 * idle time counts from 2^32 - 1. */
	cr_assert_eq(nc_flow_lookup(t, &k, (1ULL << 32) + 100, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, UINT32_MAX);
	cr_assert_eq(nc_flow_expire(t, UINT32_MAX + 4ULL, 16, NULL, NULL), 0);
	cr_assert_eq(nc_flow_expire(t, UINT32_MAX + 5ULL, 16, NULL, NULL), 1);

	/* Timeouts at the extremes. */
	key_v4(&k, 2);
	cr_assert_eq(nc_flow_add(t, &k, V(2), 100, 0), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, 0);
	cr_assert_eq(nc_flow_expire(t, 100, 16, NULL, NULL), 1, "timeout 0: idle at once");
	key_v4(&k, 3);
	cr_assert_eq(nc_flow_add(t, &k, V(3), 100, UINT64_MAX), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, UINT64_MAX);
	cr_assert_eq(nc_flow_expire(t, UINT64_MAX, 16, NULL, NULL), 0, "never idle");
	cr_assert_eq(nc_flow_set_timeout(t, &k, UINT32_MAX - 1, 0), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, UINT32_MAX - 1);
	cr_assert_eq(nc_flow_expire(t, 100 + (uint64_t)UINT32_MAX - 2, 16, NULL, NULL), 0);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1ULL << 40, 0), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, UINT64_MAX, "compact: >= 2^32 - 1 means never (documented)");
	cr_assert_eq(nc_flow_set_timeout(t, &k, 50, 0), 0);
	cr_assert_eq(nc_flow_expire(t, 149, 16, NULL, NULL), 0);
	cr_assert_eq(nc_flow_expire(t, 150, 16, NULL, NULL), 1);
	/* Wide IPv4 entries keep every 64-bit timeout. */
	key_v4(&k, 4);
	cr_assert_eq(nc_flow_add(t, &k, V(4), 100, UINT64_MAX - 1), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, UINT64_MAX - 1);
	cr_assert_eq(nc_flow_expire(t, UINT64_MAX - 2, 16, NULL, NULL), 0);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1ULL << 40, 0), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, 1ULL << 40);
	cr_assert_eq(nc_flow_count(t), 1);
	nc_flow_free(t);
}

Test(flow, wide_flag_keeps_64_bit_times)
{
	struct nc_flow *t = make_table(16, NULL, NC_FLOW_F_WIDE);
	struct nc_flow_key k;
	struct nc_flow_entry_info info;
	void *v;

	key_v4(&k, 1);
	cr_assert_eq(nc_flow_add(t, &k, V(1), 10, 20), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, (1ULL << 32) + 100, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, (1ULL << 32) + 100);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1ULL << 40, 0), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.timeout, 1ULL << 40);
	nc_flow_free(t);
}

/* Every key of a table full of a mix comes back once from iterate, equal to
 * the key added; expiry with a budget of capacity lines empties it. */
static void iterate_and_expire_all(struct nc_flow *t, const struct nc_flow_key *keys, unsigned n)
{
	static bool seen[4096];
	struct nc_flow_key k;
	uint64_t cur = 0;
	unsigned got = 0;
	void *v;

	cr_assert_leq(n, 4096);
	memset(seen, 0, sizeof(seen));
	while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
		unsigned i = (unsigned)((uintptr_t)v - 0x1000);

		cr_assert_lt(i, n);
		cr_assert(!seen[i], "key %u twice", i);
		seen[i] = true;
		cr_assert(!memcmp(&k, &keys[i], sizeof(k)), "iterate gives back key %u", i);
		got++;
	}
	cr_assert_eq(got, n);
	cr_assert_eq(nc_flow_expire(t, 1ULL << 40, nc_flow_capacity(t), NULL, NULL), (int)n);
	cr_assert_eq(nc_flow_count(t), 0);
}

Test(flow, iterate_and_expire_cover_both_layouts)
{
	enum { N = 3000 };
	static struct nc_flow_key keys[N];
	struct nc_flow *t = make_table(N, NULL, 0);

	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < N; i++) {
			unsigned kind = (i + round) % 3;
			/* kind 2: an IPv4 key added at a time beyond 32 bits */
			uint64_t now = kind == 2 ? 1ULL << 33 : 0;

			if (kind == 1)
				key_v6(&keys[i], i);
			else
				key_v4(&keys[i], i);
			cr_assert_eq(nc_flow_add(t, &keys[i], V(i), now, 10), 0, "round %u add %u",
				     round, i);
		}
		iterate_and_expire_all(t, keys, N);
	}
	nc_flow_free(t);
	cr_assert_eq(freed_count, 3 * N);
	/* A table that only held IPv4 keys: two entries per line, so half the
	 * budget does a pass. */
	t = make_table(N, NULL, 0);
	for (unsigned i = 0; i < N; i++) {
		key_v4(&keys[i], i);
		cr_assert_eq(nc_flow_add(t, &keys[i], V(i), 0, 10), 0);
	}
	cr_assert_eq(nc_flow_expire(t, 100, N / 2, NULL, NULL), N);
	nc_flow_free(t);
}

Test(flow, capacity_holds_in_any_mix)
{
	/* Lines freed by one layout serve the other: fill with IPv4, empty,
	 * fill with IPv6, empty, and churn a mix, always up to capacity. */
	enum { N = 2000 };
	struct nc_flow *t = make_table(N, NULL, 0);
	static bool in[2 * N];
	struct nc_flow_key k;
	unsigned long seed = test_seed("test_flow mix");
	unsigned live = 0;
	void *v;

	for (unsigned phase = 0; phase < 4; phase++) {
		for (unsigned i = 0; i < N; i++) {
			if (phase & 1)
				key_v6(&k, i);
			else
				key_v4(&k, i);
			cr_assert_eq(nc_flow_add(t, &k, V(i), 0, UINT64_MAX), 0, "phase %u add %u",
				     phase, i);
		}
		cr_assert_eq(nc_flow_add(t, &k, V(0), 0, UINT64_MAX), -EEXIST);
		key_v4(&k, N + 1);
		cr_assert_eq(nc_flow_add(t, &k, V(0), 0, UINT64_MAX), -ENOSPC);
		for (unsigned i = 0; i < N; i++) {
			if (phase & 1)
				key_v6(&k, i);
			else
				key_v4(&k, i);
			cr_assert_eq(nc_flow_delete(t, &k, NULL), 0);
		}
	}
	/* Random churn at full load: adds below capacity never fail (no
	 * leaked lines or overflow buckets). */
	srandom((unsigned)seed);
	memset(in, 0, sizeof(in));
	for (unsigned op = 0; op < 200000; op++) {
		unsigned i = (unsigned)random() % (2 * N);

		if (i & 1)
			key_v6(&k, i);
		else
			key_v4(&k, i);
		if (in[i]) {
			cr_assert_eq(nc_flow_delete(t, &k, &v), 0);
			cr_assert_eq(v, V(i));
			in[i] = false;
			live--;
		} else {
			int rc = nc_flow_add(t, &k, V(i), 0, UINT64_MAX);

			cr_assert_eq(rc, live < N ? 0 : -ENOSPC, "op %u: %d with %u live (seed %lu)",
				     op, rc, live, seed);
			if (rc == 0) {
				in[i] = true;
				live++;
			}
		}
	}
	cr_assert_eq(nc_flow_count(t), live);
	nc_flow_free(t);
}

Test(flow, qsbr_headroom_and_reuse)
{
	/* With a QSBR variable and no reader holding anything, removed
	 * entries come back after their (empty) grace period; with a reader
	 * that never reports, adds stop at the headroom with -ENOSPC. */
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *q = rte_zmalloc(NULL, qsz, RTE_CACHE_LINE_SIZE);
	enum { N = 1000 };
	struct nc_flow *t;
	struct nc_flow_key k;
	unsigned full = 0;

	cr_assert_not_null(q);
	cr_assert_eq(rte_rcu_qsbr_init(q, 1), 0);
	t = make_table(N, q, 0);
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < N; i++) {
			if ((i + round) & 1)
				key_v6(&k, i);
			else
				key_v4(&k, i);
			cr_assert_eq(nc_flow_add(t, &k, V(i), 0, 1), 0, "round %u add %u", round, i);
		}
		cr_assert_eq(nc_flow_expire(t, 10, N, NULL, NULL), N);
	}
	cr_assert_eq(freed_count, 20 * N, "freed %u", freed_count);
	/* A registered reader online and never quiescent. */
	cr_assert_eq(rte_rcu_qsbr_thread_register(q, 0), 0);
	rte_rcu_qsbr_thread_online(q, 0);
	for (unsigned round = 0; round < 4 && !full; round++) {
		for (unsigned i = 0; i < N; i++) {
			key_v4(&k, i);
			int rc = nc_flow_add(t, &k, V(i), 0, 1);

			cr_assert(rc == 0 || rc == -ENOSPC);
			if (rc != 0) {
				full++;
				break;
			}
		}
		(void)nc_flow_expire(t, 10, N, NULL, NULL);
	}
	cr_assert_gt(full, 0, "the grace headroom runs out");
	unsigned before = freed_count;
	rte_rcu_qsbr_quiescent(q, 0);
	key_v4(&k, 0);
	cr_assert_eq(nc_flow_add(t, &k, V(0), 0, 1), 0, "room again after the grace period");
	cr_assert_gt(freed_count, before);
	rte_rcu_qsbr_thread_offline(q, 0);
	rte_rcu_qsbr_thread_unregister(q, 0);
	nc_flow_free(t);
	rte_free(q);
}
