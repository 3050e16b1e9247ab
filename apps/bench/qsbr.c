/* SPDX-License-Identifier: BSD-3-Clause */
/* QSBR for the update benchmark (see qsbr.h). */
#include "qsbr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_RTE_ACL
#include <rte_rcu_qsbr.h>

struct bench_qsbr {
	struct cls_reclaim hook;
	struct rte_rcu_qsbr *v;
};

static uint64_t q_start(void *ctx)
{
	return rte_rcu_qsbr_start(((struct bench_qsbr *)ctx)->v);
}

static bool q_done(void *ctx, uint64_t token)
{
	return rte_rcu_qsbr_check(((struct bench_qsbr *)ctx)->v, token, false) == 1;
}

struct bench_qsbr *bench_qsbr_create(unsigned max_readers)
{
	struct bench_qsbr *q = calloc(1, sizeof(*q));
	size_t sz = rte_rcu_qsbr_get_memsize(max_readers);

	if (!q)
		return NULL;
	sz = (sz + RTE_CACHE_LINE_SIZE - 1) & ~(size_t)(RTE_CACHE_LINE_SIZE - 1);
	q->v = aligned_alloc(RTE_CACHE_LINE_SIZE, sz);
	if (!q->v || rte_rcu_qsbr_init(q->v, max_readers) != 0) {
		fprintf(stderr, "ncbench: rte_rcu_qsbr_init failed\n");
		free(q->v);
		free(q);
		return NULL;
	}
	q->hook = (struct cls_reclaim){ q_start, q_done, q };
	return q;
}

void bench_qsbr_free(struct bench_qsbr *q)
{
	if (q) {
		free(q->v);
		free(q);
	}
}

void bench_qsbr_online(struct bench_qsbr *q, unsigned reader)
{
	(void)rte_rcu_qsbr_thread_register(q->v, reader);
	rte_rcu_qsbr_thread_online(q->v, reader);
}

void bench_qsbr_quiescent(struct bench_qsbr *q, unsigned reader)
{
	rte_rcu_qsbr_quiescent(q->v, reader);
}

void bench_qsbr_offline(struct bench_qsbr *q, unsigned reader)
{
	rte_rcu_qsbr_thread_offline(q->v, reader);
	(void)rte_rcu_qsbr_thread_unregister(q->v, reader);
}

const char *bench_qsbr_name(void)
{
	return "rte_rcu_qsbr";
}

#else /* our own: one global counter, one seen-counter per reader */
#include <stdatomic.h>

#define OFFLINE UINT64_MAX

struct reader {
	_Atomic uint64_t seen;
	char pad[64 - sizeof(uint64_t)];
};

struct bench_qsbr {
	struct cls_reclaim hook;
	_Atomic uint64_t token;
	unsigned n;
	struct reader *r;
};

static uint64_t q_start(void *ctx)
{
	struct bench_qsbr *q = ctx;

	/* seq_cst: the retirement the writer did before is ordered before the new token */
	return atomic_fetch_add(&q->token, 1) + 1;
}

static bool q_done(void *ctx, uint64_t token)
{
	struct bench_qsbr *q = ctx;

	for (unsigned i = 0; i < q->n; i++) {
		/* acquire: pairs with the reader's release in quiescent() */
		uint64_t s = atomic_load_explicit(&q->r[i].seen, memory_order_acquire);

		if (s != OFFLINE && s < token)
			return false;
	}
	return true;
}

struct bench_qsbr *bench_qsbr_create(unsigned max_readers)
{
	struct bench_qsbr *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->r = aligned_alloc(64, sizeof(*q->r) * (max_readers ? max_readers : 1));
	if (!q->r) {
		free(q);
		return NULL;
	}
	q->n = max_readers;
	for (unsigned i = 0; i < max_readers; i++)
		atomic_init(&q->r[i].seen, OFFLINE);
	atomic_init(&q->token, 1);
	q->hook = (struct cls_reclaim){ q_start, q_done, q };
	return q;
}

void bench_qsbr_free(struct bench_qsbr *q)
{
	if (q) {
		free(q->r);
		free(q);
	}
}

void bench_qsbr_online(struct bench_qsbr *q, unsigned reader)
{
	atomic_store(&q->r[reader].seen, atomic_load(&q->token)); /* seq_cst: before any read */
}

void bench_qsbr_quiescent(struct bench_qsbr *q, unsigned reader)
{
	/* release: every lookup before this point is done with what it read */
	atomic_store_explicit(&q->r[reader].seen, atomic_load(&q->token), memory_order_release);
}

void bench_qsbr_offline(struct bench_qsbr *q, unsigned reader)
{
	atomic_store_explicit(&q->r[reader].seen, OFFLINE, memory_order_release);
}

const char *bench_qsbr_name(void)
{
	return "ncbench qsbr";
}
#endif

const struct cls_reclaim *bench_qsbr_hook(struct bench_qsbr *q)
{
	return &q->hook;
}
