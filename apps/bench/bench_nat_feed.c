/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat --workers: the traffic — how N workers are fed through ring
 * PMD ports (bench_nat_workers.c runs the loop and measures).
 *
 * Feeding without a feeder thread
 * -------------------------------
 * This machine has 2 vCPUs: 2 workers and a feeder thread would be 3
 * threads on 2 CPUs and the feeder's share of them would decide the result.
 * So the workers feed themselves, cheaply, where a NIC would:
 *   - queue q of each port is ONE rte_ring, both its RX and its TX ring
 *     (single producer, single consumer: only worker q touches it while the
 *     loop runs): what worker q sends on a port comes back to it on that
 *     port's queue q;
 *   - an RX callback (rte_eth_add_rx_callback) on every queue runs on the
 *     worker that polls the queue, inside rte_eth_rx_burst().  Every frame
 *     it gets is the NAT's translation of a frame of the other direction:
 *     it checks it (every frame with --quick, every 64th otherwise:
 *     addresses, ports, MACs, TTL, both checksums, bnat_check_*), then
 *     overwrites it with the next frame of the queue's list — a 64-byte copy
 *     from a table of pre-built frames (session j's in2out frame on the
 *     inside, its out2in frame on the outside; prefetched 8 frames ahead)
 *     — and tags it with j (the mbuf's private area) for the next check;
 *   - so a frame alternates: in2out, out2in, in2out ...  --carriers frames
 *     per port and queue enter at the start of each window and nothing is
 *     allocated after.  Every queue's ring holds all 2*N*C carriers, so TX
 *     never overflows; with at most 4096 carriers the hand-over rings (4096
 *     per worker and side, nat_workers.c) cannot overflow either, so a
 *     hand-off drop there is a bug, not load.
 * The callback's time is measured with the TSC and printed: "feed" (its
 * share of the workers' CPU time) and "feeder" (its own rate: frames per
 * second of callback time); "net" is the NAT's rate per worker CPU second
 * with the callback's time and the idle turns taken out.  The callback of
 * an inside queue also marks the loop's turns (the loop polls the inside
 * port first): a turn that received nothing and took nothing from the
 * hand-over rings was idle.
 *
 * Spread
 * ------
 * The list of queue q (one per side) is drawn at random from
 *   rss:    the sessions worker q owns (nat_pipeline_owner() of the frame):
 *           a perfect symmetric RSS, no frame changes worker;
 *   random: all sessions: (N-1)/N of the frames belong to another worker
 *           and go through the hand-over rings (their cost is the
 *           difference to rss).
 * Lists hold 2*S entries (at least 64K, at most 2M), so every session is
 * visited and big tables miss the caches as real traffic makes them.
 *
 * Sessions
 * --------
 * Built per N before its windows: N pipelines, each configured as in
 * bench_nat.c (sessions S); the main thread sends session j's in2out frame
 * through its owner's pipeline (nat_pipeline_rx_mbufs) and records the
 * external endpoint.  Its out2in frame must have the same owner
 * (nat_shard.h: a flow lives in one pipeline), else the run fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "bench_nat_workers.h"
#include "nat_port.h"
#include "rng.h"

#define PREFETCH_AHEAD 8

/* ---- the feed (RX callback on the workers) ---- */

static uint16_t feed_rx(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t nb,
			uint16_t max, void *arg)
{
	struct feed *f = arg;
	uint64_t t0 = rte_rdtsc();
	uint32_t cur = f->cur, seq = f->seq, checked = 0, bad = 0;
	uint16_t i;

	(void)port;
	(void)queue;
	(void)max;
	if (unlikely(!f->have_thread)) {
		f->thread = pthread_self();
		__atomic_store_n(&f->have_thread, 1, __ATOMIC_RELEASE);
	}
	if (f->st) {
		/* A turn begins: if the last one received nothing and took
		 * nothing from the hand-over rings, it was idle.  (The loop
		 * counts a turn's frames after this call: work is the turns
		 * before this one.) */
		uint64_t work = f->st->rx[0] + f->st->rx[1] + f->st->handoff_in;

		if (f->turn_tsc && work == f->turn_work)
			cnt_add(&f->idle_cycles, t0 - f->turn_tsc);
		f->turn_tsc = t0;
		f->turn_work = work;
	}
	for (i = 0; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t *tag = rte_mbuf_to_priv(m), j;
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);

		if (*tag != NO_TAG && (seq++ & f->check_mask) == 0) {
			bool ok = f->side == NAT_SIDE_INSIDE
					  ? bnat_check_out2in(f->m, d, *tag)
					  : bnat_check_in2out(f->m, d, *tag, &f->ext[*tag], NULL);

			checked++;
			bad += !ok;
		}
		rte_prefetch0(f->tmpl + (size_t)f->list[(cur + PREFETCH_AHEAD) & f->mask] * TMPL);
		j = f->list[cur++ & f->mask];
		memcpy(d, f->tmpl + (size_t)j * TMPL, TMPL);
		m->data_len = FRAME_LEN;
		m->pkt_len = FRAME_LEN;
		*tag = j;
	}
	f->cur = cur;
	f->seq = seq;
	cnt_add(&f->polls, 1);
	cnt_add(&f->frames, nb);
	if (checked) {
		cnt_add(&f->checked, checked);
		cnt_add(&f->bad, bad);
	}
	cnt_add(&f->cycles, rte_rdtsc() - t0);
	return nb;
}

/* ---- sessions, lists, carriers ---- */

/* Pre-built in2out frames: the same for every N. */
int bnw_templates(struct wb *b)
{
	uint32_t S = b->m.S;

	b->tmpl_in = aligned_alloc(TMPL, (size_t)S * TMPL);
	if (!b->tmpl_in)
		return -ENOMEM;
	memset(b->tmpl_in, 0, (size_t)S * TMPL);
	for (uint32_t j = 0; j < S; j++)
		bnat_frame_in2out(&b->m, b->tmpl_in + (size_t)j * TMPL, j, 0);
	return 0;
}

void bnw_sessions_free(struct wset *ws)
{
	free(ws->tmpl_out);
	free(ws->ext);
	free(ws->owner);
	free(ws->owned);
	free(ws->lists);
	ws->tmpl_out = NULL;
	ws->ext = NULL;
	ws->owner = NULL;
	ws->owned = NULL;
	ws->lists = NULL;
}

/* Session j's first in2out frame through its owner's pipeline, on this
 * thread (the workers do not run yet); then the out2in frames and their
 * owners.  Errors are printed. */
int bnw_sessions(struct wb *b, struct wset *ws)
{
	const struct model *m = &b->m;
	uint32_t S = m->S, cnt[BNAT_WORKERS_MAX] = {0}, pos[BNAT_WORKERS_MAX], mism = 0;
	uint64_t now = nat_loop_clock();
	unsigned n = ws->n, w;

	ws->tmpl_out = aligned_alloc(TMPL, (size_t)S * TMPL);
	ws->ext = calloc(S, sizeof(*ws->ext));
	ws->owner = calloc(S, sizeof(*ws->owner));
	ws->owned = calloc(S, sizeof(*ws->owned));
	ws->lists = malloc((size_t)2 * n * b->L * sizeof(*ws->lists));
	if (!ws->tmpl_out || !ws->ext || !ws->owner || !ws->owned || !ws->lists) {
		fprintf(stderr, "ncbench nat: out of memory for %u sessions\n", S);
		return -1;
	}
	memset(ws->tmpl_out, 0, (size_t)S * TMPL);
	for (uint32_t j = 0; j < S; j++) {
		int o = nat_pipeline_owner(ws->pipes[0], NAT_SIDE_INSIDE,
					   b->tmpl_in + (size_t)j * TMPL, FRAME_LEN, now);

		if (o < 0 || (unsigned)o >= n) {
			fprintf(stderr, "ncbench nat: session %u: owner %d of %u workers\n", j, o, n);
			return -1;
		}
		ws->owner[j] = (uint16_t)o;
		cnt[o]++;
	}
	ws->first[0] = 0;
	for (w = 0; w < n; w++) {
		if (!cnt[w]) {
			fprintf(stderr, "ncbench nat: worker %u of %u owns none of the %u sessions "
				"(use more sessions)\n", w, n, S);
			return -1;
		}
		ws->first[w + 1] = ws->first[w] + cnt[w];
		pos[w] = ws->first[w];
	}
	for (uint32_t j = 0; j < S; j++)
		ws->owned[pos[ws->owner[j]]++] = j;
	for (w = 0; w < n; w++) {
		for (uint32_t k = ws->first[w]; k < ws->first[w + 1]; k += FILL_BURST) {
			unsigned nb = ws->first[w + 1] - k < FILL_BURST ? ws->first[w + 1] - k
								       : FILL_BURST;
			struct rte_mbuf *mb[FILL_BURST];
			void *const *tx;
			unsigned ntx, i;

			if (rte_pktmbuf_alloc_bulk(b->mp, mb, nb) != 0) {
				fprintf(stderr, "ncbench nat: out of mbufs\n");
				return -1;
			}
			for (i = 0; i < nb; i++) {
				*(uint32_t *)rte_mbuf_to_priv(mb[i]) = NO_TAG;
				memcpy(rte_pktmbuf_mtod(mb[i], uint8_t *),
				       b->tmpl_in + (size_t)ws->owned[k + i] * TMPL, TMPL);
				mb[i]->data_len = FRAME_LEN;
				mb[i]->pkt_len = FRAME_LEN;
			}
			if (nat_pipeline_rx_mbufs(ws->pipes[w], NAT_SIDE_INSIDE, mb, nb, now) != 0)
				ntx = 0; /* cannot happen: nb <= NAT_RX_MAX */
			else
				ntx = nat_pipeline_tx(ws->pipes[w], NAT_SIDE_OUTSIDE, &tx);
			for (i = 0; i < ntx; i++) {
				uint32_t j = ws->owned[k + i];

				if (ntx != nb || tx[i] != mb[i] ||
				    !bnat_check_in2out(m, rte_pktmbuf_mtod(mb[i], uint8_t *), j, NULL,
						       &ws->ext[j]))
					ntx = 0;
			}
			for (i = 0; ntx && i < nb; i++)
				rte_pktmbuf_free(mb[i]);
			if (ntx != nb) {
				/* the pipeline freed what it dropped: leave the rest */
				fprintf(stderr, "ncbench nat: worker %u of %u dropped or mistranslated "
					"a new session's frame\n", w, n);
				return -1;
			}
		}
	}
	for (uint32_t j = 0; j < S; j++) {
		uint8_t *f = ws->tmpl_out + (size_t)j * TMPL;

		bnat_frame_out2in(m, f, j, &ws->ext[j], 0);
		if (nat_pipeline_owner(ws->pipes[0], NAT_SIDE_OUTSIDE, f, FRAME_LEN, now) !=
		    (int)ws->owner[j])
			mism++;
	}
	if (mism) {
		fprintf(stderr, "ncbench nat: %u of %u sessions: the out2in frame has another "
			"owner than the in2out frame (%u workers)\n", mism, S, n);
		return -1;
	}
	return 0;
}

/* The queues' lists for a spread. */
void bnw_lists(struct wb *b, const struct wset *ws, unsigned spread)
{
	for (unsigned side = 0; side < 2; side++) {
		for (unsigned q = 0; q < ws->n; q++) {
			uint32_t *l = ws->lists + ((size_t)side * ws->n + q) * b->L;
			uint32_t lo = ws->first[q], cnt = ws->first[q + 1] - lo;

			for (uint32_t k = 0; k < b->L; k++)
				l[k] = spread == SPREAD_RSS
					       ? ws->owned[lo + (uint32_t)(rng_next(&b->rng) % cnt)]
					       : (uint32_t)(rng_next(&b->rng) % b->m.S);
		}
	}
}

void bnw_drain(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (r && rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

/* Every queue empty, then C fresh carriers in each. */
int bnw_carriers(struct wb *b, struct wset *ws)
{
	unsigned C = b->o->carriers;
	struct rte_mbuf **mb = calloc(C, sizeof(*mb));

	if (!mb)
		return -ENOMEM;
	for (unsigned side = 0; side < 2; side++)
		for (unsigned q = 0; q < ws->n; q++)
			bnw_drain(ws->ring[side][q]);
	for (unsigned side = 0; side < 2; side++) {
		for (unsigned q = 0; q < ws->n; q++) {
			if (rte_pktmbuf_alloc_bulk(b->mp, mb, C) != 0) {
				free(mb);
				return -ENOMEM;
			}
			for (unsigned i = 0; i < C; i++) {
				*(uint32_t *)rte_mbuf_to_priv(mb[i]) = NO_TAG;
				mb[i]->data_len = FRAME_LEN;
				mb[i]->pkt_len = FRAME_LEN;
			}
			/* the ring holds every carrier: cannot be short */
			if (rte_ring_enqueue_bulk(ws->ring[side][q], (void **)mb, C, NULL) != C) {
				for (unsigned i = 0; i < C; i++)
					rte_pktmbuf_free(mb[i]);
				free(mb);
				return -ENOSPC;
			}
		}
	}
	free(mb);
	return 0;
}

/* ---- the callbacks ---- */

int bnw_feeds_attach(struct wb *b, struct wset *ws)
{
	unsigned n = ws->n, side, q;

	ws->feed = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*ws->feed) * 2 * n);
	if (!ws->feed)
		return -1;
	memset(ws->feed, 0, sizeof(*ws->feed) * 2 * n);
	for (side = 0; side < 2; side++) {
		for (q = 0; q < n; q++) {
			struct feed *f = &ws->feed[side * n + q];

			f->m = &b->m;
			f->tmpl = side ? ws->tmpl_out : b->tmpl_in;
			f->ext = ws->ext;
			f->list = ws->lists + ((size_t)side * n + q) * b->L;
			f->mask = b->L - 1;
			f->check_mask = b->o->quick ? 0 : CHECK_EVERY - 1;
			f->side = (enum nat_side)side;
			f->cb = rte_eth_add_rx_callback(ws->port[side], (uint16_t)q, feed_rx, f);
			if (!f->cb) {
				fprintf(stderr, "ncbench nat: rte_eth_add_rx_callback: %s\n",
					rte_strerror(rte_errno));
				return -1;
			}
		}
	}
	return 0;
}

void bnw_feeds_detach(struct wset *ws)
{
	unsigned side, q;

	for (side = 0; side < 2; side++) {
		for (q = 0; ws->feed && q < ws->n; q++) {
			struct feed *f = &ws->feed[side * ws->n + q];

			/* the loop has stopped: nothing runs the callback now */
			if (f->cb && rte_eth_remove_rx_callback(ws->port[side], (uint16_t)q, f->cb) == 0)
				rte_free((void *)(uintptr_t)f->cb);
			f->cb = NULL;
		}
	}
	free(ws->feed);
	ws->feed = NULL;
}
