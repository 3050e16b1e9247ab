/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat workers: the rx/tx loop of each worker, the hand-over rings between
 * them and the parking that lets the control socket touch every pipeline.
 * See nat_port.h for the contract and nat_pipeline.h ("Workers") for who
 * owns what.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "nat_port.h"
#include "nat_shard.h"

#define RING_SIZE 4096 /* frames per worker and side waiting for their owner */
/* Frames one turn may send per port, or hand to one worker: two RX bursts
 * and two bursts from the rings, each frame with at most one reply. */
#define TURN_MAX (8 * NAT_BURST)

enum { RING_INSIDE = 0, RING_OUTSIDE = 1, RING_LEARN_IN = 2, RING_LEARN_OUT = 3, RINGS = 4 };

/* Frames for one other worker, collected during a turn. */
struct handoff_batch {
	struct rte_mbuf *m[TURN_MAX];
	unsigned n;
};

struct worker {
	struct nat_workers *w;
	unsigned index;
	struct nat_pipeline *pipe;
	struct rte_ring *ring[RINGS];         /* this worker's inboxes */
	struct nat_loop_stats st;
	struct rte_mbuf *out[2][TURN_MAX];   /* TX per port this turn */
	uint16_t nout[2];
	struct handoff_batch *batch;          /* [n * RINGS]: to worker o, ring r */
	int rc;
};

struct nat_workers {
	struct nat_workers_config cfg;
	struct worker *wk;                    /* [n] */
	_Atomic uint32_t want_park;           /* worker 0 asks the others to park */
	_Atomic uint32_t parked;              /* workers parked now */
	_Atomic uint32_t exited;              /* workers out of their loop */
	_Atomic uint64_t last_rx_tsc;         /* the latest frame of any worker */
	_Atomic uint32_t stop;                /* idle exit decided by worker 0 */
	bool holding;                         /* worker 0: others parked for the hook */
};

int nat_workers_create(const struct nat_workers_config *cfg, struct nat_workers **out)
{
	struct nat_workers *w;
	unsigned i, r;
	char name[RTE_RING_NAMESIZE];

	if (out)
		*out = NULL;
	if (!cfg || !out || cfg->n == 0 || cfg->n > NAT_SHARD_MAX || !cfg->pipes || !cfg->pool ||
	    !cfg->quit)
		return -EINVAL;
	for (i = 0; i < cfg->n; i++)
		if (!cfg->pipes[i])
			return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->wk = calloc(cfg->n, sizeof(*w->wk));
	if (!w->wk)
		goto nomem;
	for (i = 0; i < cfg->n; i++) {
		struct worker *k = &w->wk[i];

		k->w = w;
		k->index = i;
		k->pipe = cfg->pipes[i];
		if (cfg->n == 1)
			continue;
		k->batch = calloc((size_t)cfg->n * RINGS, sizeof(*k->batch));
		if (!k->batch)
			goto nomem;
		for (r = 0; r < RINGS; r++) {
			snprintf(name, sizeof(name), "ncnat_w%u_%u", i, r);
			k->ring[r] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
			if (!k->ring[r]) {
				int rc = -rte_errno;

				nat_workers_free(w);
				return rc ? rc : -ENOMEM;
			}
		}
	}
	*out = w;
	return 0;
nomem:
	nat_workers_free(w);
	return -ENOMEM;
}

void nat_workers_free(struct nat_workers *w)
{
	unsigned i, r;

	if (!w)
		return;
	for (i = 0; w->wk && i < w->cfg.n; i++) {
		struct worker *k = &w->wk[i];

		for (r = 0; r < RINGS; r++) {
			struct rte_mbuf *m;

			while (k->ring[r] && rte_ring_sc_dequeue(k->ring[r], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(k->ring[r]);
		}
		free(k->batch);
	}
	free(w->wk);
	free(w);
}

const struct nat_loop_stats *nat_workers_stats(const struct nat_workers *w, unsigned i)
{
	return w && i < w->cfg.n ? &w->wk[i].st : NULL;
}

void nat_workers_set_hook(struct nat_workers *w, void (*hook)(void *arg), void *arg,
			  uint32_t hook_us)
{
	if (!w)
		return;
	w->cfg.hook = hook;
	w->cfg.hook_arg = arg;
	w->cfg.hook_us = hook_us;
}

/* ---- parking (the control socket on worker 0) ---- */

void nat_workers_quiesce(void *arg)
{
	struct nat_workers *w = arg;

	if (!w || w->holding || w->cfg.n == 1)
		return;
	atomic_store(&w->want_park, 1);
	while (atomic_load(&w->parked) + atomic_load(&w->exited) < w->cfg.n - 1)
		rte_pause();
	w->holding = true;
}

static void release_parked(struct nat_workers *w)
{
	if (!w->holding)
		return;
	atomic_store(&w->want_park, 0);
	w->holding = false;
}

static inline bool stopping(const struct nat_workers *w)
{
	return *w->cfg.quit || atomic_load_explicit(&w->stop, memory_order_relaxed);
}

static void park_if_asked(struct nat_workers *w)
{
	if (!atomic_load_explicit(&w->want_park, memory_order_relaxed))
		return;
	atomic_fetch_add(&w->parked, 1);
	while (atomic_load(&w->want_park) && !stopping(w))
		rte_pause();
	atomic_fetch_sub(&w->parked, 1);
}

/* ---- frames ---- */

static inline void count_add(uint64_t *c, uint64_t v)
{
	/* one writer; readers (telemetry, control) load relaxed */
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

/* Queue m for worker o's ring r; the batch goes out at the end of the turn. */
static void handoff_put(struct worker *k, unsigned o, unsigned r, struct rte_mbuf *m)
{
	struct handoff_batch *b = &k->batch[o * RINGS + r];

	if (b->n == TURN_MAX) { /* cannot happen: see TURN_MAX */
		rte_pktmbuf_free(m);
		count_add(&k->st.handoff_drop, 1);
		return;
	}
	b->m[b->n++] = m;
}

static void handoff_flush(struct worker *k)
{
	unsigned o, r, n = k->w->cfg.n;

	for (o = 0; o < n; o++) {
		for (r = 0; r < RINGS; r++) {
			struct handoff_batch *b = &k->batch[o * RINGS + r];
			unsigned sent, i;

			if (!b->n)
				continue;
			sent = rte_ring_mp_enqueue_burst(k->w->wk[o].ring[r], (void **)b->m, b->n,
							 NULL);
			for (i = sent; i < b->n; i++)
				rte_pktmbuf_free(b->m[i]);
			count_add(&k->st.handoff_out, sent);
			count_add(&k->st.handoff_drop, b->n - sent);
			b->n = 0;
		}
	}
}

/* The pipeline's output of its last burst: TX lists, replies (copied into
 * fresh mbufs), frames for other workers. */
static void collect(struct worker *k)
{
	struct nat_pipeline *p = k->pipe;
	unsigned side, i, n;
	void *const *v;
	const uint16_t *to;

	for (side = 0; side < 2; side++) {
		n = nat_pipeline_tx(p, (enum nat_side)side, &v);
		for (i = 0; i < n; i++)
			k->out[side][k->nout[side]++] = v[i];
	}
	n = nat_pipeline_handoffs(p, &v, &to);
	for (i = 0; i < n; i++)
		handoff_put(k, to[i], RING_OUTSIDE, v[i]);
	n = nat_pipeline_replies(p);
	for (i = 0; i < n; i++) {
		enum nat_side rs;
		uint32_t rl;
		const uint8_t *r = nat_pipeline_reply_at(p, i, &rl, &rs);
		struct rte_mbuf *rm = rte_pktmbuf_alloc(k->w->cfg.pool);
		char *d = rm ? rte_pktmbuf_append(rm, (uint16_t)rl) : NULL;

		if (!d) {
			rte_pktmbuf_free(rm);
			count_add(&k->st.reply_nomem, 1);
			continue;
		}
		memcpy(d, r, rl);
		k->out[rs][k->nout[rs]++] = rm;
	}
}

static void run_pipeline(struct worker *k, enum nat_side side, struct rte_mbuf **m, unsigned n,
			 uint64_t now)
{
	unsigned i;

	if (!n)
		return;
	if (nat_pipeline_rx_mbufs(k->pipe, side, m, n, now) != 0) {
		/* cannot happen: n <= NAT_BURST <= NAT_RX_MAX */
		for (i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
		return;
	}
	collect(k);
}

/* Frames received on side: each to its owner; ours through the pipeline. */
static void dispatch(struct worker *k, enum nat_side side, struct rte_mbuf **rx, unsigned n,
		     uint64_t now)
{
	struct nat_workers *w = k->w;
	struct rte_mbuf *mine[NAT_BURST];
	unsigned i, o, k_mine = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = rx[i];
		int owner = nat_pipeline_owner(k->pipe, side, rte_pktmbuf_mtod(m, const uint8_t *),
					       rte_pktmbuf_data_len(m), now);

		if (owner == NAT_OWNER_ALL) {
			/* ARP: answered here, learned from everywhere */
			for (o = 0; o < w->cfg.n; o++) {
				struct rte_mbuf *c;

				if (o == k->index)
					continue;
				c = rte_pktmbuf_copy(m, w->cfg.pool, 0, UINT32_MAX);
				if (!c) {
					count_add(&k->st.handoff_drop, 1);
					continue;
				}
				handoff_put(k, o, side == NAT_SIDE_INSIDE ? RING_LEARN_IN
									  : RING_LEARN_OUT, c);
			}
			mine[k_mine++] = m;
		} else if ((unsigned)owner == k->index) {
			mine[k_mine++] = m;
		} else {
			handoff_put(k, (unsigned)owner,
				    side == NAT_SIDE_INSIDE ? RING_INSIDE : RING_OUTSIDE, m);
		}
	}
	run_pipeline(k, side, mine, k_mine, now);
}

static unsigned take_handed(struct worker *k, uint64_t now)
{
	struct rte_mbuf *m[NAT_BURST];
	unsigned r, n, i, got = 0;

	for (r = RING_INSIDE; r <= RING_OUTSIDE; r++) {
		n = rte_ring_sc_dequeue_burst(k->ring[r], (void **)m, NAT_BURST, NULL);
		got += n;
		count_add(&k->st.handoff_in, n);
		run_pipeline(k, r == RING_INSIDE ? NAT_SIDE_INSIDE : NAT_SIDE_OUTSIDE, m, n, now);
	}
	for (r = RING_LEARN_IN; r <= RING_LEARN_OUT; r++) {
		n = rte_ring_sc_dequeue_burst(k->ring[r], (void **)m, NAT_BURST, NULL);
		count_add(&k->st.handoff_in, n);
		for (i = 0; i < n; i++) {
			nat_pipeline_learn(k->pipe, r == RING_LEARN_IN ? NAT_SIDE_INSIDE
								   : NAT_SIDE_OUTSIDE,
					   rte_pktmbuf_mtod(m[i], const uint8_t *),
					   rte_pktmbuf_data_len(m[i]));
			rte_pktmbuf_free(m[i]);
		}
	}
	return got;
}

static void tx_flush(struct worker *k)
{
	unsigned side;

	for (side = 0; side < 2; side++) {
		uint16_t n = k->nout[side], sent, i;

		sent = n ? rte_eth_tx_burst(k->w->cfg.port[side], (uint16_t)k->index,
					    k->out[side], n)
			 : 0;
		for (i = sent; i < n; i++)
			rte_pktmbuf_free(k->out[side][i]);
		count_add(&k->st.tx[side], sent);
		count_add(&k->st.tx_drop[side], (uint64_t)(n - sent));
		k->nout[side] = 0;
	}
}

static int worker_loop(void *arg)
{
	struct worker *k = arg;
	struct nat_workers *w = k->w;
	const struct nat_workers_config *cfg = &w->cfg;
	uint64_t hz = rte_get_tsc_hz(), last_hook = 0, hook_every;
	bool multi = cfg->n > 1;
	struct rte_mbuf *rx[NAT_BURST];
	unsigned side;

	hook_every = hz / 1000000 * (cfg->hook_us ? cfg->hook_us : 1000);
	while (!stopping(w)) {
		uint64_t now = nat_loop_clock(), tsc = rte_get_tsc_cycles();
		unsigned got = 0;

		if (multi && k->index != 0)
			park_if_asked(w);
		for (side = 0; side < 2; side++) {
			uint16_t n = rte_eth_rx_burst(cfg->port[side], (uint16_t)k->index, rx,
						      NAT_BURST),
				 i, kept = 0;

			count_add(&k->st.rx[side], n);
			got += n;
			for (i = 0; i < n; i++) {
				/* the parser and the rewrite see the first segment only */
				if (rx[i]->nb_segs != 1) {
					count_add(&k->st.multiseg_drop, 1);
					rte_pktmbuf_free(rx[i]);
					continue;
				}
				rx[kept++] = rx[i];
			}
			if (multi)
				dispatch(k, (enum nat_side)side, rx, kept, now);
			else
				run_pipeline(k, (enum nat_side)side, rx, kept, now);
		}
		if (multi) {
			got += take_handed(k, now);
			handoff_flush(k);
		}
		tx_flush(k);
		if (got)
			atomic_store_explicit(&w->last_rx_tsc, tsc, memory_order_relaxed);
		if (k->index == 0 && cfg->idle_exit_ms &&
		    tsc - atomic_load_explicit(&w->last_rx_tsc, memory_order_relaxed) >
			    hz / 1000 * (uint64_t)cfg->idle_exit_ms)
			atomic_store(&w->stop, 1);
		{
			/* a few session slots every turn: a full pass over 10 M
			 * sessions takes seconds under load (~300 K turns/s) and
			 * less when idle, and no turn pays for a big sweep */
			int rc = nat_pipeline_expire(k->pipe, now, NAT_EXPIRE_STEP);

			(void)rc; /* counted by the pipeline */
		}
		if (k->index == 0 && cfg->hook && tsc - last_hook >= hook_every) {
			cfg->hook(cfg->hook_arg);
			release_parked(w);
			last_hook = tsc;
		}
	}
	atomic_fetch_add(&w->exited, 1);
	return 0;
}

int nat_workers_run(struct nat_workers *w)
{
	unsigned i, lcore;
	int rc = 0;

	if (!w)
		return -EINVAL;
	if (rte_lcore_count() < w->cfg.n)
		return -ENODEV;
	(void)nat_loop_clock(); /* its offset is set once, here */
	atomic_store(&w->last_rx_tsc, rte_get_tsc_cycles());
	lcore = rte_get_main_lcore();
	for (i = 1; i < w->cfg.n; i++) {
		lcore = rte_get_next_lcore(lcore, 1, 0);
		if (lcore >= RTE_MAX_LCORE) {
			rc = -ENODEV;
			break;
		}
		w->wk[i].rc = rte_eal_remote_launch(worker_loop, &w->wk[i], lcore);
		if (w->wk[i].rc) {
			rc = w->wk[i].rc;
			break;
		}
	}
	if (rc) /* the ones launched stop at once */
		atomic_store(&w->stop, 1);
	else
		worker_loop(&w->wk[0]);
	rte_eal_mp_wait_lcore();
	return rc;
}
