/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Readers look up while a writer inserts, deletes and publishes.
 *
 * Every published version holds exactly one complete "generation" of K probe
 * rules (rule i matches probe key i and carries its generation as user data,
 * above every background rule).  A batch replaces generation g - 1 by g and
 * churns background rules.  A reader's bulk lookup of the K probes reads one
 * version, so all K answers must come from the same generation: a miss or a
 * mix is a half-applied batch.  Memory is reclaimed through the test QSBR;
 * under ASan a reader touching freed memory aborts the test.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

enum { K = 16, READERS = 3 };

struct shared {
	struct cls *c;
	struct tu_qsbr q;
	struct cls_key probes[K];
	_Atomic bool stop;
	_Atomic unsigned long lookups, torn, missing;
	_Atomic unsigned long max_gen_seen;
	unsigned reader_id[READERS];
};

static void *reader(void *arg)
{
	struct shared *s = arg;
	unsigned me = (unsigned)(__atomic_fetch_add(&s->reader_id[0], 1, __ATOMIC_SEQ_CST) - 1000);
	const struct cls_key *kp[K];
	struct cls_match m[K];
	unsigned long n = 0;

	for (unsigned i = 0; i < K; i++)
		kp[i] = &s->probes[i];
	while (!atomic_load(&s->stop)) {
		cls_lookup_bulk(s->c, kp, K, m);
		uintptr_t gen = (uintptr_t)m[0].udata;
		for (unsigned i = 0; i < K; i++) {
			if (m[i].udata == NULL)
				atomic_fetch_add(&s->missing, 1);
			else if ((uintptr_t)m[i].udata != gen)
				atomic_fetch_add(&s->torn, 1);
		}
		if (gen > atomic_load(&s->max_gen_seen))
			atomic_store(&s->max_gen_seen, gen);
		/* single lookups: always some generation's rule */
		struct cls_match one;
		cls_lookup(s->c, kp[n % K], &one);
		if (one.udata == NULL)
			atomic_fetch_add(&s->missing, 1);
		n++;
		tu_qsbr_quiescent(&s->q, me);
	}
	atomic_fetch_add(&s->lookups, n * (K + 1));
	tu_qsbr_offline(&s->q, me);
	return NULL;
}

static struct cls_rule gen_rule(struct tu_rng *r, const struct cls_key *probe, unsigned i,
				uintptr_t gen)
{
	struct cls_rule x;
	memset(&x, 0, sizeof(x));
	x.family = CLS_IPV4;
	/* a varying box around the probe, so the trie reshapes every time */
	uint32_t below = tu_below(r, 4) ? tu_below(r, 1000) : 0;
	uint32_t above = tu_below(r, 1000);
	x.src_lo.v4 = probe->src.v4 - below;
	x.src_hi.v4 = probe->src.v4 + above;
	x.dst_lo.v4 = 0;
	x.dst_hi.v4 = tu_below(r, 2) ? UINT32_MAX : probe->dst.v4;
	x.sport_hi = 65535;
	x.dport_lo = tu_below(r, 2) ? probe->dport : 0;
	x.dport_hi = 65535;
	x.proto = 6;
	x.proto_mask = tu_below(r, 2) ? 0xFF : 0;
	x.priority = 1000 + (int32_t)tu_below(r, 3);
	x.id = (uint32_t)(gen * K + i + 1);
	x.udata = (void *)gen;
	return x;
}

static void torture(unsigned generations, unsigned background, enum cls_backend be)
{
	static struct shared s; /* big; zeroed per run below */
	memset(&s, 0, sizeof(s));
	struct tu_rng r = {tu_seed("concurrency")};
	struct tu_pools p;
	tu_pools_init(&p, &r);
	tu_qsbr_init(&s.q, READERS);
	struct cls_reclaim hook = tu_qsbr_hook(&s.q);
	s.c = tu_create(be, &hook);
	cr_assert_not_null(s.c);
	for (unsigned i = 0; i < K; i++) {
		memset(&s.probes[i], 0, sizeof(s.probes[i]));
		s.probes[i].family = CLS_IPV4;
		s.probes[i].src.v4 = 0x0A000000u + i * 100000u;
		s.probes[i].dst.v4 = 0xC0A80001u + i;
		s.probes[i].sport = 1000;
		s.probes[i].dport = 443;
		s.probes[i].proto = 6;
	}
	/* background rules: lower priority, some covering the probes */
	uint32_t bg_next = 1u << 30;
	uint32_t *bg = calloc(background, sizeof(*bg));
	for (unsigned i = 0; i < background; i++) {
		struct cls_rule x;
		tu_rand_rule(&r, &p, CLS_IPV4, &x);
		x.priority = (int32_t)tu_below(&r, 900);
		x.id = bg[i] = bg_next++;
		x.udata = NULL;
		cr_assert_eq(cls_insert(s.c, &x), 0);
	}
	for (unsigned i = 0; i < K; i++) {
		struct cls_rule x = gen_rule(&r, &s.probes[i], i, 1);
		cr_assert_eq(cls_insert(s.c, &x), 0);
	}
	cls_publish(s.c);

	s.reader_id[0] = 1000;
	pthread_t th[READERS];
	for (unsigned i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader, &s), 0);

	for (uintptr_t g = 2; g <= generations; g++) {
		for (unsigned i = 0; i < K; i++) {
			cr_assert_eq(cls_delete(s.c, (uint32_t)((g - 1) * K + i + 1)), 0);
			struct cls_rule x = gen_rule(&r, &s.probes[i], i, g);
			cr_assert_eq(cls_insert(s.c, &x), 0);
		}
		for (unsigned j = 0; j < 4; j++) { /* background churn */
			unsigned i = tu_below(&r, background);
			cr_assert_eq(cls_delete(s.c, bg[i]), 0);
			struct cls_rule x;
			tu_rand_rule(&r, &p, CLS_IPV4, &x);
			x.priority = (int32_t)tu_below(&r, 900);
			x.id = bg[i] = bg_next++;
			x.udata = NULL;
			cr_assert_eq(cls_insert(s.c, &x), 0);
		}
		cls_publish(s.c);
	}
	atomic_store(&s.stop, true);
	for (unsigned i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	cls_reclaim(s.c, true);

	fprintf(stderr, "concurrency: %u generations, %lu lookups, torn %lu, missing %lu, newest seen %lu\n",
		generations, atomic_load(&s.lookups), atomic_load(&s.torn),
		atomic_load(&s.missing), atomic_load(&s.max_gen_seen));
	cr_assert_eq(atomic_load(&s.torn), 0, "a reader saw two generations in one bulk lookup");
	cr_assert_eq(atomic_load(&s.missing), 0, "a reader saw no generation at all");
	cr_assert_gt(atomic_load(&s.lookups), 0);
	cr_assert_gt(atomic_load(&s.max_gen_seen), 1, "readers must have seen updates");
	struct cls_stats st;
	cls_stats(s.c, &st);
	if (background >= 9000 && be == CLS_BACKEND_TRIE)
		cr_assert_gt(st.memory_bytes, 1u << 20, "must exceed the bulk threshold");
	cr_assert_eq(st.retired_bytes, 0);
	cr_assert_eq(st.rules, background + K);
	free(bg);
	cls_free(s.c);
}

Test(concurrency, readers_never_see_half_a_batch)
{
	torture(tu_long_mode() ? 100000 : 5000, 2000, CLS_BACKEND_TRIE);
}

Test(concurrency, small_trie_reshaped_constantly)
{
	torture(tu_long_mode() ? 100000 : 5000, 20, CLS_BACKEND_TRIE);
}

/* Over 1 MiB: bursts take the lock-step walk rather than single lookups. */
Test(concurrency, large_trie_lock_step_bursts)
{
	torture(tu_long_mode() ? 20000 : 2000, 9000, CLS_BACKEND_TRIE);
}

Test(concurrency, linear_reference_too)
{
	torture(tu_long_mode() ? 20000 : 2000, 200, CLS_BACKEND_LINEAR);
}
