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
	uint32_t cur = 0;

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
	cr_assert_eq(nc_flow_set_timeout(NULL, &k, 1), -EINVAL);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1), -ENOENT);
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
	cr_assert_eq(nc_flow_set_timeout(t, &k, 10), 0);
	cr_assert_eq(nc_flow_expire(t, 139, 100, NULL, NULL), 0, "idle 9 < 10");
	cr_assert_eq(nc_flow_expire(t, 140, 100, NULL, NULL), 1, "idle 10 >= 10");
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	cr_assert_eq(freed_count, 1);
	nc_flow_free(t);
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
	uint32_t cur = 0;
	void *v;
	int rc;

	for (unsigned i = 0; i < 1000; i++) {
		key_n(&k, i);
		/* even i idle at now = 1000, odd i have a long timeout */
		cr_assert_eq(nc_flow_add(t, &k, V(i), 0, (i & 1) ? 5000 : 1000), 0);
	}
	for (unsigned i = 0; i < 1000; i += 3) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_set_timeout(t, &k, 1000), 0);
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

Test(flow_random, against_reference_model)
{
	unsigned long seed = test_seed("model");
	const uint32_t cap = 600;
	struct nc_flow *t = make_table(cap, NULL, 0);
	static struct model m;
	struct nc_flow_key keys[NKEYS];
	uint64_t now = 1;
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

Test(flow_concurrency, readers_while_writer_adds_and_removes)
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
				rc = nc_flow_add(cc.t, k, v, now, 1 + (uint64_t)(random() % 20));

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
