/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_BENCH_NAT_WORKERS_H
#define NCBENCH_BENCH_NAT_WORKERS_H
/*
 * ncbench nat --workers, internal: between the loop's side
 * (bench_nat_workers.c: pipelines, ring PMD ports, windows, results) and
 * the traffic's side (bench_nat_feed.c: pre-built frames, sessions, queue
 * lists, carriers and the RX callback that feeds every queue; its design is
 * described there).  Set-up and results run on the main thread before and
 * after nat_workers_run(); struct feed's counters are written by the
 * worker polling the queue and read relaxed by worker 0 meanwhile.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "bench_nat_int.h"
#include "nat_pipeline.h"
#include "rng.h"

struct nat_loop_stats;
struct rte_eth_rxtx_callback;
struct rte_mempool;
struct rte_ring;

#define TMPL 64                /* bytes per pre-built frame (60 used) */
#define NO_TAG UINT32_MAX      /* a fresh carrier: nothing to check */
#define CHECK_EVERY 64         /* without --quick: every 64th frame checked */
#define FILL_BURST 32
#define HANDOFF_RING 4096      /* nat_workers.c's RING_SIZE */
#define LIST_MIN (1u << 16)
#define LIST_MAX (1u << 21)

static inline void cnt_add(uint64_t *c, uint64_t v)
{
	/* one writer; worker 0's hook loads relaxed */
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

static inline uint64_t cnt_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* One port queue's feed, run by the worker that polls the queue. */
struct feed {
	const struct model *m;
	const uint8_t *tmpl;        /* this side's pre-built frames, TMPL bytes each */
	const struct ext_ep *ext;   /* session j's external endpoint */
	const uint32_t *list;       /* sessions, in the order they arrive here */
	uint32_t mask;              /* list length - 1 */
	uint32_t cur;
	uint32_t seq;               /* frames seen, for the check sample */
	uint32_t check_mask;        /* check when (seq & check_mask) == 0 */
	enum nat_side side;
	const struct rte_eth_rxtx_callback *cb;
	/* inside queues (the loop polls them first in every turn): turns */
	const struct nat_loop_stats *st;  /* this worker's, for this window */
	uint64_t turn_tsc, turn_work;     /* when the last turn began, its work */
	/* written by the polling worker, read relaxed by worker 0's hook */
	uint64_t polls, frames, checked, bad, cycles, idle_cycles;
	pthread_t thread;
	uint32_t have_thread;       /* thread is set (release/acquire) */
} __rte_cache_aligned;

/* What one session count shares across every N. */
struct wb {
	const struct nat_opts *o;
	struct model m;
	uint8_t *tmpl_in;           /* [j * TMPL]: session j's in2out frame */
	uint32_t L;                 /* entries of a queue's list */
	struct rte_mempool *mp;
	struct rng rng;
};

/* One worker count: sessions, pipelines, ports, feeds; totals of its
 * windows.  The sets of every N exist together, so that their windows can
 * take turns. */
struct wset {
	unsigned n;
	uint8_t *tmpl_out;          /* [j * TMPL]: session j's out2in frame */
	struct ext_ep *ext;         /* session j's external endpoint */
	uint16_t *owner;            /* the worker that owns session j */
	uint32_t *owned;            /* sessions by owner, [first[w], first[w+1]) */
	uint32_t first[BNAT_WORKERS_MAX + 1];
	uint32_t *lists;            /* [side][queue][L], for the current spread */
	struct nat_pipeline *pipes[BNAT_WORKERS_MAX];
	struct rte_ring *ring[2][BNAT_WORKERS_MAX];
	uint16_t port[2];
	bool port_up[2];
	struct feed *feed;          /* [side * n + queue] */
	uint64_t sent;              /* frames the loop sent, every window */
	uint64_t handoff_drop, tx_drop, multiseg_drop, reply_nomem;
};

/** The in2out frames of every session (the same for every N).
 *  @return 0 or -ENOMEM. */
int bnw_templates(struct wb *b);

/** Session j's first frame through its owner's pipeline (ws->pipes, on this
 *  thread); ws's tables: external endpoints, out2in frames, owners, lists.
 *  Errors are printed.  @return 0 or -1. */
int bnw_sessions(struct wb *b, struct wset *ws);

/** Free ws's tables (NULL-safe parts). */
void bnw_sessions_free(struct wset *ws);

/** Every queue's list for spread (SPREAD_RSS, SPREAD_RANDOM). */
void bnw_lists(struct wb *b, const struct wset *ws, unsigned spread);

/** Empty every queue's ring, then --carriers fresh carriers in each.
 *  @return 0, -ENOMEM, -ENOSPC. */
int bnw_carriers(struct wb *b, struct wset *ws);

/** Free every mbuf in r (NULL-safe). */
void bnw_drain(struct rte_ring *r);

/** The feeds of ws's started ports: one RX callback per queue.  Errors are
 *  printed.  @return 0 or -1. */
int bnw_feeds_attach(struct wb *b, struct wset *ws);

/** Remove and free them (the loop has stopped); NULL-safe parts. */
void bnw_feeds_detach(struct wset *ws);

#endif /* NCBENCH_BENCH_NAT_WORKERS_H */
