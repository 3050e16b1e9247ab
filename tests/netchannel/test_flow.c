/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the flow table (lib/netchannel/nc_flow.h).
 * Each test process starts its own EAL without hugepages, PCI or shared
 * files, so tests never collide.  Random tests print their seed;
 * NC_TEST_SEED=<n> replays one.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "nc_flow.h"

static void eal_up(void)
{
	/* --in-memory does not combine with --no-huge: no shared config and a
	 * per-process prefix instead. */
	char prefix[64];
	char *argv[] = {"test_flow", "--no-huge", "--no-pci", "--no-shconf", prefix, "-m", "512",
			"--log-level=error", "--no-telemetry", "-l", "0", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=nc_test_flow_%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0)
		cr_assert_fail("EAL init failed: %s", rte_strerror(rte_errno));
}

static void eal_down(void)
{
	rte_eal_cleanup();
}

static unsigned long test_seed(const char *what)
{
	const char *s = getenv("NC_TEST_SEED");
	unsigned long seed = s ? strtoul(s, NULL, 0) : (unsigned long)time(NULL) ^ (unsigned long)clock();

	fprintf(stderr, "test_flow %s: seed %lu (replay with NC_TEST_SEED=%lu)\n", what, seed, seed);
	return seed;
}

/* Key number i of a small key space (so random ops collide often). */
static void key_n(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s, d;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (i & 1) {
		s.v6.hi = 0x20010db800000000ULL;
		s.v6.lo = i >> 3;
		d.v6.hi = 0x20010db8ffff0000ULL;
		d.v6.lo = (i >> 6) + 1;
	} else {
		s.v4 = 0x0a000000u + (i >> 3);
		d.v4 = 0xc6336400u + (i >> 6);
	}
	nc_flow_key_set(k, (uint16_t)((i >> 1) & 1), (i & 1) ? CLS_IPV6 : CLS_IPV4,
			(i >> 2) & 1 ? 6 : 17, &s, &d, (uint16_t)(1000 + (i >> 3) % 7),
			(uint16_t)(80 + (i >> 4) % 3));
}

static unsigned freed_count;
static void count_free(void *v, void *ctx)
{
	(void)v;
	(void)ctx;
	__atomic_fetch_add(&freed_count, 1, __ATOMIC_RELAXED);
}

static struct nc_flow *make_table(uint32_t entries, struct rte_rcu_qsbr *q, uint32_t flags)
{
	struct nc_flow_config cfg = {.entries = entries, .socket_id = -1, .qsbr = q,
				     .flags = flags, .free_value = count_free};
	struct nc_flow *t = NULL;

	freed_count = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_not_null(t);
	return t;
}

#define V(i) ((void *)(uintptr_t)(0x1000 + (i)))

TestSuite(flow_args, .init = eal_up, .fini = eal_down);
TestSuite(flow, .init = eal_up, .fini = eal_down);
TestSuite(flow_random, .init = eal_up, .fini = eal_down);
TestSuite(flow_concurrency, .init = eal_up, .fini = eal_down, .timeout = 120);

/* ---------------------------------------------------------------- bad args */

Test(flow_args, create)
{
	struct nc_flow_config cfg = {.entries = 16, .socket_id = -1};
	struct nc_flow *t, *t2;

	cr_assert_eq(nc_flow_create(NULL, &t), -EINVAL);
	cr_assert_eq(nc_flow_create(&cfg, NULL), -EINVAL);
	cfg.entries = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	cfg.entries = (1u << 30) + 1;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	cfg.entries = 16;
	cfg.flags = 0x100;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "unknown flags are refused");
	cfg.flags = 0;
	cfg.name = "same";
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_eq(nc_flow_create(&cfg, &t2), 0, "names are labels, not identities");
	nc_flow_free(t);
	nc_flow_free(t2);
	nc_flow_free(NULL);
}

Test(flow_args, calls)
{
	struct nc_flow *t = make_table(16, NULL, 0);
	struct nc_flow_key k, *kp[NC_FLOW_BULK_MAX + 1];
	struct nc_flow_entry_info info;
	void *v, *vals[NC_FLOW_BULK_MAX + 1];
	uint64_t cur = 0;

	key_n(&k, 1);
	for (unsigned i = 0; i <= NC_FLOW_BULK_MAX; i++)
		kp[i] = &k;
	cr_assert_eq(nc_flow_add(NULL, &k, V(1), 0, 1), -EINVAL);
	cr_assert_eq(nc_flow_add(t, NULL, V(1), 0, 1), -EINVAL);
	cr_assert_eq(nc_flow_delete(NULL, &k, NULL), -EINVAL);
	cr_assert_eq(nc_flow_delete(t, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup(NULL, &k, 0, &v), -EINVAL);
	cr_assert_eq(nc_flow_lookup(t, NULL, 0, &v), -EINVAL);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp,
					 NC_FLOW_BULK_MAX + 1, 0, vals, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, NULL, 1, 0, vals, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 0, NULL,
					 NULL), -EINVAL);
	cr_assert_eq(nc_flow_get(t, &k, NULL), -EINVAL);
	cr_assert_eq(nc_flow_get(t, &k, &info), -ENOENT);
	cr_assert_eq(nc_flow_set_timeout(NULL, &k, 1, 0), -EINVAL);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1, 0), -ENOENT);
	cr_assert_eq(nc_flow_expire(NULL, 0, 1, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_expire(t, 0, 0, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_iterate(t, NULL, &k, &v), -EINVAL);
	cr_assert_eq(nc_flow_iterate(t, &cur, &k, &v), -ENOENT);
	cr_assert_eq(nc_flow_delete(t, &k, NULL), -ENOENT);
	cr_assert_eq(nc_flow_count(NULL), 0);
	cr_assert_eq(nc_flow_capacity(t), 16);
	nc_flow_free(t);
}

/* ---------------------------------------------------------------- behaviour */

Test(flow, key_helpers)
{
	static const uint8_t pkt[] = {
		/* Ethernet */ 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
		/* IPv4 10.0.0.2 -> 198.51.100.7 UDP */
		0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 198, 51, 100, 7,
		/* UDP 5353 -> 53 len 8 */ 0x14, 0xe9, 0, 53, 0, 8, 0, 0};
	struct nc_pkt_info pi;
	struct nc_flow_key a, b, r, rr, zero;
	union cls_addr s = {.v4 = 0x0a000002}, d = {.v4 = 0xc6336407};

	cr_assert_eq(nc_parse(pkt, sizeof(pkt), 3, NC_LINK_ETHERNET, &pi), 0);
	cr_assert_eq(pi.status, NC_PARSE_OK);
	cr_assert(nc_flow_key_from_pkt(&a, &pi, pi.in_port));
	memset(&b, 0xff, sizeof(b));
	nc_flow_key_set(&b, 3, CLS_IPV4, 17, &s, &d, 5353, 53);
	cr_assert(!memcmp(&a, &b, sizeof(a)), "from_pkt and set agree, padding zero");
	nc_flow_key_reverse(&r, &a);
	cr_assert_eq(r.sport, 53);
	cr_assert_eq(r.dst.v4, 0x0a000002);
	nc_flow_key_reverse(&rr, &r);
	cr_assert(!memcmp(&rr, &a, sizeof(a)));
	memset(&pi, 0, sizeof(pi));
	memset(&zero, 0, sizeof(zero));
	cr_assert(!nc_flow_key_from_pkt(&a, &pi, 0));
	cr_assert(!memcmp(&a, &zero, sizeof(a)));
}

Test(flow, add_lookup_delete)
{
	struct nc_flow *t = make_table(64, NULL, 0);
	struct nc_flow_key k;
	struct nc_flow_entry_info info;
	void *v = NULL;

	for (unsigned i = 0; i < 64; i++) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_add(t, &k, V(i), 10, 100), 0, "add %u", i);
	}
	cr_assert_eq(nc_flow_count(t), 64);
	key_n(&k, 5);
	cr_assert_eq(nc_flow_add(t, &k, V(99), 10, 100), -EEXIST);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), 0);
	cr_assert_eq(v, V(5), "-EEXIST left the value alone");
	key_n(&k, 64);
	cr_assert_eq(nc_flow_add(t, &k, V(64), 10, 100), -ENOSPC);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	key_n(&k, 7);
	cr_assert_eq(nc_flow_delete(t, &k, &v), 0);
	cr_assert_eq(v, V(7));
	cr_assert_eq(freed_count, 1, "no qsbr: freed at once");
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	cr_assert_eq(nc_flow_delete(t, &k, &v), -ENOENT);
	key_n(&k, 64);
	cr_assert_eq(nc_flow_add(t, &k, V(64), 10, 100), 0, "room again after a delete");
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.value, V(64));
	cr_assert_eq(info.last_seen, 10);
	cr_assert_eq(info.timeout, 100);
	nc_flow_free(t);
	cr_assert_eq(freed_count, 1 + 64, "free hands back every value");
}

Test(flow, touch_and_timeout)
{
	struct nc_flow *t = make_table(16, NULL, 0);
	struct nc_flow_key k, *kp[1] = {&k};
	struct nc_flow_entry_info info;
	void *v, *vals[1];
	uint64_t mask;

	key_n(&k, 3);
	cr_assert_eq(nc_flow_add(t, &k, V(3), 100, 50), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, 100, "now = 0 does not touch");
	cr_assert_eq(nc_flow_lookup(t, &k, 120, &v), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, 110, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, 120, "never moves back");
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 130, vals,
					 &mask), 1);
	cr_assert_eq(mask, 1);
	cr_assert_eq(vals[0], V(3));
	cr_assert_eq(nc_flow_expire(t, 179, 100, NULL, NULL), 0, "idle 49 < 50");
	cr_assert_eq(nc_flow_set_timeout(t, &k, 10, 0), 0);
	cr_assert_eq(nc_flow_expire(t, 139, 100, NULL, NULL), 0, "idle 9 < 10");
	cr_assert_eq(nc_flow_expire(t, 140, 100, NULL, NULL), 1, "idle 10 >= 10");
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	cr_assert_eq(freed_count, 1);
	nc_flow_free(t);
}

/* An entry that never idles out keeps last_seen from its add (a hit writes
 * nothing to its line), in both layouts; giving it a finite timeout counts
 * as a use, so its idle time starts at the change, not at the add. */
Test(flow, never_idle_entries_are_not_touched)
{
	for (int wide = 0; wide < 2; wide++) {
		struct nc_flow *t = make_table(16, NULL, wide ? NC_FLOW_F_WIDE : 0);
		struct nc_flow_key k, *kp[1] = {&k};
		struct nc_flow_entry_info info;
		void *v, *vals[1];
		uint64_t mask;

		key_n(&k, 9);
		cr_assert_eq(nc_flow_add(t, &k, V(9), 100, UINT64_MAX), 0);
		cr_assert_eq(nc_flow_lookup(t, &k, 500, &v), 0);
		cr_assert_eq(v, V(9));
		cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 600,
						 vals, &mask), 1);
		cr_assert_eq(vals[0], V(9));
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 100, "wide %d: not touched", wide);
		cr_assert_eq(nc_flow_set_timeout(t, &k, 50, 1000), 0);
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 1000, "wide %d: the change is a use", wide);
		cr_assert_eq(nc_flow_expire(t, 1049, 16, NULL, NULL), 0, "idle 49 < 50 since the change");
		cr_assert_eq(nc_flow_lookup(t, &k, 1040, &v), 0);
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 1040, "wide %d: finite again: touched", wide);
		cr_assert_eq(nc_flow_expire(t, 1090, 16, NULL, NULL), 1);
		nc_flow_free(t);
	}
}

static bool veto_odd(const struct nc_flow_key *key, void *value, uint64_t last_seen, void *arg)
{
	(void)key;
	(void)last_seen;
	(*(unsigned *)arg)++;
	return (((uintptr_t)value) & 1) == 0;
}

Test(flow, expire_bounded_with_callback)
{
	struct nc_flow *t = make_table(1000, NULL, 0);
	struct nc_flow_key k;
	unsigned calls = 0, removed = 0, passes = 0;
	uint64_t cur = 0;
	void *v;
	int rc;

	for (unsigned i = 0; i < 1000; i++) {
		key_n(&k, i);
		/* even i idle at now = 1000, odd i have a long timeout */
		cr_assert_eq(nc_flow_add(t, &k, V(i), 0, (i & 1) ? 5000 : 1000), 0);
	}
	for (unsigned i = 0; i < 1000; i += 3) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_set_timeout(t, &k, 1000, 0), 0);
	}
	/* Budget 64 per call: each call does bounded work; a pass of the
	 * whole table takes about capacity / 64 calls. */
	while (passes++ < 1000 / 64 + 2) {
		rc = nc_flow_expire(t, 1000, 64, veto_odd, &calls);
		cr_assert_geq(rc, 0);
		cr_assert_leq(rc, 64);
		removed += (unsigned)rc;
	}
	/* Idle: even i, and odd i that are multiples of 3 (timeout 1000), of
	 * which the callback keeps the odd values (V(i) is odd for odd i). */
	unsigned idle = 0, want_removed = 0;
	for (unsigned i = 0; i < 1000; i++) {
		bool is_idle = !(i & 1) || i % 3 == 0;

		idle += is_idle;
		want_removed += is_idle && !(i & 1);
	}
	cr_assert_eq(removed, want_removed);
	/* Every idle entry offered once; kept ones again when the cursor
	 * comes round. */
	cr_assert_geq(calls, idle);
	cr_assert_leq(calls, idle + (idle - want_removed), "calls %u", calls);
	cr_assert_eq(nc_flow_count(t), 1000 - want_removed);
	unsigned seen = 0;
	while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
		seen++;
		cr_assert(((uintptr_t)v - 0x1000) & 1, "only odd values left");
	}
	cr_assert_eq(seen, 1000 - want_removed);
	cr_assert_eq(nc_flow_iterate(t, &cur, &k, &v), -ENOENT);
	nc_flow_free(t);
}

Test(flow, bulk_mixed_hits)
{
	struct nc_flow *t = make_table(256, NULL, 0);
	struct nc_flow_key keys[NC_FLOW_BULK_MAX];
	const struct nc_flow_key *kp[NC_FLOW_BULK_MAX];
	void *vals[NC_FLOW_BULK_MAX];
	uint64_t mask;

	for (unsigned i = 0; i < NC_FLOW_BULK_MAX; i++) {
		key_n(&keys[i], i);
		kp[i] = &keys[i];
		if (i % 3 == 0)
			cr_assert_eq(nc_flow_add(t, &keys[i], V(i), 0, 1), 0);
	}
	cr_assert_eq(nc_flow_lookup_bulk(t, kp, NC_FLOW_BULK_MAX, 0, vals, &mask), 22);
	for (unsigned i = 0; i < NC_FLOW_BULK_MAX; i++) {
		cr_assert_eq(!!(mask & (1ULL << i)), i % 3 == 0);
		cr_assert_eq(vals[i], i % 3 == 0 ? V(i) : NULL);
	}
	cr_assert_eq(nc_flow_lookup_bulk(t, kp, 0, 0, vals, &mask), 0);
	cr_assert_eq(mask, 0);
	nc_flow_free(t);
}

/* ---------------------------------------------------------------- random vs model */

#define NKEYS 1024

struct model {
	bool present[NKEYS];
	uintptr_t value[NKEYS];
	uint64_t last_seen[NKEYS], timeout[NKEYS];
	unsigned count;
};

/* Random operations against the model.  now0: the clock's start (at 2^32
 * and beyond IPv4 keys get wide entries too); big_every: every big_every-th
 * add (0: none) has a timeout beyond 32 bits, so a wide IPv4 entry. */
static void model_run(const char *what, uint32_t flags, uint64_t now0, unsigned big_every)
{
	unsigned long seed = test_seed(what);
	const uint32_t cap = 600;
	struct nc_flow *t = make_table(cap, NULL, flags);
	static struct model m;
	struct nc_flow_key keys[NKEYS];
	uint64_t now = now0;
	unsigned removed_total = 0;

	srandom((unsigned)seed);
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < NKEYS; i++)
		key_n(&keys[i], i);
	for (int op = 0; op < 40000; op++) {
		unsigned i = (unsigned)random() % NKEYS;
		int r = (int)(random() % 100);
		void *v;

		now += (uint64_t)(random() % 3);
		if (r < 35) {
			uintptr_t val = 0x10000 + (uintptr_t)op;
			uint64_t to = 20 + (uint64_t)(random() % 200);

			if (big_every && random() % big_every == 0)
				to += 1ULL << 32;
			int rc = nc_flow_add(t, &keys[i], (void *)val, now, to);
			int want = m.present[i] ? -EEXIST : m.count >= cap ? -ENOSPC : 0;

			cr_assert_eq(rc, want, "op %d add key %u: %d want %d (seed %lu)", op, i, rc,
				     want, seed);
			if (rc == 0) {
				m.present[i] = true;
				m.value[i] = val;
				m.last_seen[i] = now;
				m.timeout[i] = to;
				m.count++;
			}
		} else if (r < 55) {
			int rc = nc_flow_delete(t, &keys[i], &v);

			cr_assert_eq(rc, m.present[i] ? 0 : -ENOENT, "op %d delete %u (seed %lu)", op,
				     i, seed);
			if (rc == 0) {
				cr_assert_eq((uintptr_t)v, m.value[i]);
				m.present[i] = false;
				m.count--;
				removed_total++;
			}
		} else if (r < 80) {
			int rc = nc_flow_lookup(t, &keys[i], now, &v);

			cr_assert_eq(rc, m.present[i] ? 0 : -ENOENT, "op %d lookup %u (seed %lu)", op,
				     i, seed);
			if (rc == 0) {
				cr_assert_eq((uintptr_t)v, m.value[i]);
				m.last_seen[i] = now;
			}
		} else if (r < 95) {
			const struct nc_flow_key *kp[32];
			void *vals[32];
			unsigned idx[32], n = 1 + (unsigned)random() % 32;
			uint64_t mask;
			int hits = 0;

			for (unsigned j = 0; j < n; j++) {
				idx[j] = (unsigned)random() % NKEYS;
				kp[j] = &keys[idx[j]];
			}
			int rc = nc_flow_lookup_bulk(t, kp, n, now, vals, &mask);
			for (unsigned j = 0; j < n; j++) {
				bool p = m.present[idx[j]];

				hits += p;
				cr_assert_eq(!!(mask & (1ULL << j)), p, "op %d bulk (seed %lu)", op, seed);
				cr_assert_eq((uintptr_t)vals[j], p ? m.value[idx[j]] : 0);
				if (p)
					m.last_seen[idx[j]] = now;
			}
			cr_assert_eq(rc, hits);
		} else {
			/* A full pass: every idle entry must go, no other. */
			unsigned want = 0;

			for (unsigned j = 0; j < NKEYS; j++) {
				if (m.present[j] && now - m.last_seen[j] >= m.timeout[j]) {
					m.present[j] = false;
					m.count--;
					want++;
				}
			}
			int rc = nc_flow_expire(t, now, cap + 16, NULL, NULL);
			cr_assert_eq(rc, (int)want, "op %d expire %d want %u (seed %lu)", op, rc, want,
				     seed);
			removed_total += want;
		}
		cr_assert_eq(nc_flow_count(t), m.count, "op %d count (seed %lu)", op, seed);
	}
	for (unsigned i = 0; i < NKEYS; i++) {
		void *v = NULL;
		struct nc_flow_entry_info info;

		cr_assert_eq(nc_flow_lookup(t, &keys[i], 0, &v), m.present[i] ? 0 : -ENOENT);
		if (m.present[i]) {
			cr_assert_eq(nc_flow_get(t, &keys[i], &info), 0);
			cr_assert_eq(info.last_seen, m.last_seen[i]);
		}
	}
	cr_assert_eq(freed_count, removed_total);
	nc_flow_free(t);
	cr_assert_eq(freed_count, removed_total + m.count);
}

Test(flow_random, against_reference_model)
{
	model_run("model", 0, 1, 0);
}

Test(flow_random, against_reference_model_wide_ipv4)
{
	model_run("model wide ipv4", 0, 1, 5);
	model_run("model clock beyond 32 bits", 0, 1ULL << 32, 0);
}

Test(flow_random, against_reference_model_wide_flag)
{
	model_run("model wide flag", NC_FLOW_F_WIDE, 1, 0);
}

/* The value prefetch is a hint: the same answers (the model's values are
 * not addresses; a prefetch never faults). */
Test(flow_random, against_reference_model_prefetch_values)
{
	model_run("model prefetch values", NC_FLOW_F_PREFETCH_VALUES, 1, 0);
}

/* ---------------------------------------------------------------- concurrency */

#define STABLE 256
#define CHURN 2048
#define READERS 2
#define MAGIC_LIVE 0x11fe11feu
#define MAGIC_DEAD 0xdeaddeadu

struct val {
	uint32_t magic;
	uint32_t key;
};

static struct {
	struct nc_flow *t;
	struct rte_rcu_qsbr *q;
	struct nc_flow_key keys[STABLE + CHURN];
	volatile bool stop;
	uint64_t lookups[READERS], bad[READERS], stable_miss[READERS];
} cc;

static void free_val(void *v, void *ctx)
{
	(void)ctx;
	((struct val *)v)->magic = MAGIC_DEAD;
	__atomic_fetch_add(&freed_count, 1, __ATOMIC_RELAXED);
	free(v); /* under ASan a reader still holding it is a use after free */
}

static void *reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned x = 12345 + id;

	rte_rcu_qsbr_thread_register(cc.q, id);
	rte_rcu_qsbr_thread_online(cc.q, id);
	while (!__atomic_load_n(&cc.stop, __ATOMIC_RELAXED)) {
		const struct nc_flow_key *kp[32];
		unsigned idx[32];
		void *vals[32];
		uint64_t mask;

		for (unsigned j = 0; j < 32; j++) {
			x = x * 1103515245u + 12345u;
			idx[j] = (j & 3) == 0 ? (x >> 8) % STABLE : STABLE + (x >> 8) % CHURN;
			kp[j] = &cc.keys[idx[j]];
		}
		if (nc_flow_lookup_bulk(cc.t, kp, 32, 1, vals, &mask) < 0)
			cc.bad[id]++;
		for (unsigned j = 0; j < 32; j++) {
			struct val *v = vals[j];

			if (idx[j] < STABLE && v == NULL)
				cc.stable_miss[id]++;
			if (v != NULL && (v->magic != MAGIC_LIVE || v->key != idx[j]))
				cc.bad[id]++;
		}
		cc.lookups[id] += 32;
		rte_rcu_qsbr_quiescent(cc.q, id);
	}
	rte_rcu_qsbr_thread_offline(cc.q, id);
	rte_rcu_qsbr_thread_unregister(cc.q, id);
	return NULL;
}

/* Expiry callback of the concurrency test: the writer's model forgets it. */
static bool mark_expired(const struct nc_flow_key *key, void *value, uint64_t last_seen, void *arg)
{
	bool *present = arg;
	const struct val *v = value;

	(void)key;
	(void)last_seen;
	cr_assert_geq(v->key, STABLE, "a stable key expired");
	present[v->key - STABLE] = false;
	return true;
}

static struct val *new_val(uint32_t key)
{
	struct val *v = malloc(sizeof(*v));

	cr_assert_not_null(v);
	v->magic = MAGIC_LIVE;
	v->key = key;
	return v;
}

/* big_every: every big_every-th add (0: none) gets a timeout beyond 32 bits,
 * so IPv4 keys in both layouts come and go under the readers. */
static void concurrency_run(unsigned big_every)
{
	unsigned long seed = test_seed("concurrency");
	size_t qsz = rte_rcu_qsbr_get_memsize(READERS);
	/* Headroom for removals awaiting their grace period. */
	struct nc_flow_config cfg = {.entries = STABLE + CHURN + CHURN / 4, .socket_id = -1,
				     .free_value = free_val};
	pthread_t th[READERS];
	bool present[CHURN] = {false};
	unsigned adds = STABLE;
	struct timespec t0, t1;

	srandom((unsigned)seed);
	cc.q = rte_zmalloc(NULL, qsz, RTE_CACHE_LINE_SIZE);
	cr_assert_not_null(cc.q);
	cr_assert_eq(rte_rcu_qsbr_init(cc.q, READERS), 0);
	cfg.qsbr = cc.q;
	freed_count = 0;
	cr_assert_eq(nc_flow_create(&cfg, &cc.t), 0);
	for (unsigned i = 0; i < STABLE + CHURN; i++)
		key_n(&cc.keys[i], i * 7 + 3);
	for (unsigned i = 0; i < STABLE; i++)
		cr_assert_eq(nc_flow_add(cc.t, &cc.keys[i], new_val(i), 1, UINT64_MAX), 0);
	for (unsigned r = 0; r < READERS; r++)
		cr_assert_eq(pthread_create(&th[r], NULL, reader, (void *)(uintptr_t)r), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned ops = 0, full = 0, expired = 0;
	do {
		uint64_t now = 2 + ops / 100;
		int rc = nc_flow_expire(cc.t, now, 512, mark_expired, present);

		cr_assert_geq(rc, 0);
		expired += (unsigned)rc;
		for (int n = 0; n < 1000; n++, ops++) {
			unsigned c = (unsigned)random() % CHURN;
			struct nc_flow_key *k = &cc.keys[STABLE + c];

			if (present[c]) {
				void *v;

				cr_assert_eq(nc_flow_delete(cc.t, k, &v), 0);
			} else {
				struct val *v = new_val(STABLE + c);
				uint64_t to = 1 + (uint64_t)(random() % 20);

				if (big_every && random() % big_every == 0)
					to += 1ULL << 32;
				rc = nc_flow_add(cc.t, k, v, now, to);

				/* Full only while removals await their grace period. */
				cr_assert(rc == 0 || rc == -ENOSPC, "add: %d", rc);
				if (rc != 0) {
					free(v);
					full++;
					/* Let descheduled readers reach a quiescent state. */
					sched_yield();
					continue;
				}
				adds++;
			}
			present[c] = !present[c];
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 1500000000L);
	__atomic_store_n(&cc.stop, true, __ATOMIC_RELAXED);
	for (unsigned r = 0; r < READERS; r++)
		pthread_join(th[r], NULL);

	uint64_t total = 0;
	for (unsigned r = 0; r < READERS; r++) {
		total += cc.lookups[r];
		cr_expect_eq(cc.bad[r], 0, "reader %u saw %lu bad values", r, cc.bad[r]);
		cr_expect_eq(cc.stable_miss[r], 0, "reader %u missed stable keys %lu times", r,
			     cc.stable_miss[r]);
	}
	fprintf(stderr, "concurrency: %u writer ops (%u refused: full, %u expired), %lu lookups by "
		"%d readers\n", ops, full, expired, (unsigned long)total, READERS);
	cr_assert_gt(expired, 0);
	cr_assert_gt(total, 0);
	nc_flow_free(cc.t);
	cr_assert_eq(freed_count, adds, "every value freed exactly once (%u of %u)", freed_count,
		     adds);
	rte_free(cc.q);
}

Test(flow_concurrency, readers_while_writer_adds_and_removes)
{
	concurrency_run(0);
}

Test(flow_concurrency, readers_while_both_layouts_churn)
{
	memset(&cc, 0, sizeof(cc));
	concurrency_run(3);
}

static struct nc_flow *mw_table;
static void *mw_writer(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg;
	struct nc_flow_key k;

	for (unsigned i = 0; i < 500; i++) {
		key_n(&k, base + i);
		if (nc_flow_add(mw_table, &k, V(base + i), 0, 1) != 0)
			return (void *)1;
	}
	return NULL;
}

Test(flow_concurrency, multi_writer)
{
	pthread_t a, b;
	void *ra, *rb, *v;
	struct nc_flow_key k;

	mw_table = make_table(1000, NULL, NC_FLOW_F_MULTI_WRITER);
	cr_assert_eq(pthread_create(&a, NULL, mw_writer, (void *)0), 0);
	cr_assert_eq(pthread_create(&b, NULL, mw_writer, (void *)500), 0);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	cr_assert_null(ra);
	cr_assert_null(rb);
	cr_assert_eq(nc_flow_count(mw_table), 1000);
	for (unsigned i = 0; i < 1000; i++) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_lookup(mw_table, &k, 0, &v), 0);
		cr_assert_eq(v, V(i));
	}
	nc_flow_free(mw_table);
}

/* ---------------------------------------------------------------- layouts */

/* IPv4 key number i (distinct addresses and ports). */
static void key_v4(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s = {.v4 = 0x0a000000u + i}, d = {.v4 = 0xc6120000u + (i * 2654435761u >> 8)};

	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV4, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), (uint16_t)(i % 7 ? 443 : 53));
}

/* IPv6 key number i. */
static void key_v6(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s, d;

	s.v6.hi = 0x20010db800000000ULL | i;
	s.v6.lo = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	d.v6.hi = 0x2a00145000000000ULL;
	d.v6.lo = i ^ 0x5555;
	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV6, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), 443);
}

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
	unsigned long seed = test_seed("mix");
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
