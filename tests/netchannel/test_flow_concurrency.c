/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the flow table (lib/netchannel/nc_flow.h) under concurrency:
 * readers under RCU (QSBR) while a writer adds, removes and expires keys,
 * in one layout and in both, never see a freed or wrong value nor miss a
 * stable key, and every value is freed once; two writers with the
 * multi-writer flag.  The seed is printed; NC_TEST_SEED=<n> replays.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "flow_util.h"
#include "nc_flow.h"

TestSuite(flow_concurrency, .init = eal_up, .fini = eal_down, .timeout = 120);

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
	unsigned long seed = test_seed("test_flow concurrency");
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
