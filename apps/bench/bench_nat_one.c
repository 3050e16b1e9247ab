/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat: one pipeline on the calling core — new sessions/s, expiry,
 * memory per session and established packets/s through
 * nat_pipeline_rx_mbufs() with generated mbufs (see bench_nat.c for what is
 * measured and how).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "bench.h"
#include "bench_nat_int.h"
#include "nat_pipeline.h"
#include "netchannel.h"
#include "rng.h"
#include "stats.h"

/* ---- memory ---- */

struct mem_snap {
	size_t malloc_bytes; /* in use by malloc (arena + mmapped chunks) */
	size_t rte_bytes;    /* rte_malloc heap in use */
	size_t rss;
};

static void mem_snap(struct mem_snap *m)
{
	struct mallinfo2 mi = mallinfo2();
	struct rte_malloc_socket_stats st;
	unsigned long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	m->malloc_bytes = mi.uordblks + mi.hblkhd;
	m->rte_bytes = 0;
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats((int)s, &st) == 0)
			m->rte_bytes += st.heap_allocsz_bytes;
	if (f) {
		if (fscanf(f, "%lu %lu", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	m->rss = (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t sub0(size_t a, size_t b)
{
	return a > b ? a - b : 0;
}

/* ---- running bursts ---- */

struct ctx {
	const struct nat_opts *o;
	struct model m;
	struct nat_pipeline *p;
	struct rte_mempool *mp;
	struct rte_mbuf **ring;
	uint32_t *slot_j;      /* session of each ring slot */
	struct ext_ep *ext;    /* external endpoint of every session */
	double t0;             /* wall clock origin for the NAT's seconds */
	uint64_t skip;         /* seconds added to it (to expire everything) */
	const char *fail;      /* what went wrong */
};

static inline uint8_t *mb_data(struct rte_mbuf *mb)
{
	return rte_pktmbuf_mtod(mb, uint8_t *);
}

static uint64_t nat_now(const struct ctx *c)
{
	return 1 + (uint64_t)(bench_now() - c->t0) + c->skip;
}

/*
 * Push ring[0..n) through the NAT from side in bursts and check that each
 * burst came out whole on the other side.  Returns the thread CPU seconds
 * spent, or -1 (c->fail set) if a frame was dropped: its mbuf is gone.
 */
static double run_ring(struct ctx *c, enum nat_side side, unsigned n)
{
	enum nat_side out = side == NAT_SIDE_INSIDE ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;
	unsigned burst = c->o->burst;
	uint64_t now = nat_now(c);
	double t0 = bench_thread_cpu();
	bool ok = true;

	for (unsigned b = 0; b < n; b += burst) {
		unsigned nb = n - b < burst ? n - b : burst;
		void *const *tx;

		if (nat_pipeline_rx_mbufs(c->p, side, c->ring + b, nb, now) != 0 ||
		    nat_pipeline_tx(c->p, out, &tx) != nb) {
			ok = false;
			break;
		}
	}
	t0 = bench_thread_cpu() - t0;
	if (!ok) {
		c->fail = "the NAT dropped frames of a burst (see its counters)";
		return -1;
	}
	return t0;
}

static void print_drops(const struct ctx *c)
{
	const struct nat_counters *k = nat_pipeline_counters(c->p);

	for (int i = 0; i < NAT_CNT_COUNT; i++)
		if (k->v[i] && !strncmp(nat_counter_name(i), "drop_", 5))
			fprintf(stderr, "ncbench nat:   %s = %" PRIu64 "\n", nat_counter_name(i),
				k->v[i]);
}

static int ring_alloc(struct ctx *c)
{
	unsigned n = c->o->ring;

	c->ring = calloc(n, sizeof(*c->ring));
	c->slot_j = calloc(n, sizeof(*c->slot_j));
	if (!c->ring || !c->slot_j)
		return -ENOMEM;
	if (rte_pktmbuf_alloc_bulk(c->mp, c->ring, n) != 0)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		c->ring[i]->data_len = FRAME_LEN;
		c->ring[i]->pkt_len = FRAME_LEN;
	}
	return 0;
}

static void ring_free(struct ctx *c)
{
	if (c->ring) {
		for (unsigned i = 0; i < c->o->ring; i++)
			rte_pktmbuf_free(c->ring[i]);
	}
	free(c->ring);
	free(c->slot_j);
	c->ring = NULL;
	c->slot_j = NULL;
}

/*
 * The new-session phase: sessions 0..S-1, one new 5-tuple per packet
 * (UDP, or TCP SYN), ring-sized chunks.  Records every session's external
 * endpoint.  Returns CPU seconds, or -1.
 */
static double fill(struct ctx *c)
{
	const struct model *m = &c->m;
	unsigned R = c->o->ring;
	double cpu = 0;

	for (uint32_t base = 0; base < m->S; base += R) {
		unsigned n = m->S - base < R ? m->S - base : R;
		double t;

		for (unsigned i = 0; i < n; i++)
			bnat_frame_in2out(m, mb_data(c->ring[i]), base + i, 0x02);
		t = run_ring(c, NAT_SIDE_INSIDE, n);
		if (t < 0)
			return -1;
		cpu += t;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *f = mb_data(c->ring[i]);

			if (!bnat_check_in2out(m, f, base + i, NULL, &c->ext[base + i])) {
				c->fail = "a new session's frame was translated wrongly";
				return -1;
			}
		}
	}
	return cpu;
}

/* Expire every session: time jumps past every timeout and hold-down, and
 * nat_pipeline_expire() visits every slot.  Returns CPU seconds, or -1. */
static double expire_all(struct ctx *c)
{
	struct nc_engine_stats es;
	double t0;
	uint64_t now;
	int n;

	c->skip += 1000000;
	now = nat_now(c);
	t0 = bench_thread_cpu();
	n = nat_pipeline_expire(c->p, now, c->m.S);
	t0 = bench_thread_cpu() - t0;
	nat_pipeline_engine_stats(c->p, &es);
	if (n != (int)c->m.S || nat_pipeline_sessions(c->p) != 0 || es.flows != 0) {
		c->fail = "expiry left sessions or flow keys behind";
		return -1;
	}
	return t0;
}

/* TCP: answer every SYN (SYN+ACK from outside) and complete the handshake
 * (ACK from inside), so that the sessions are established.  Not timed. */
static int tcp_open(struct ctx *c)
{
	const struct model *m = &c->m;
	unsigned R = c->o->ring;

	for (uint32_t base = 0; base < m->S; base += R) {
		unsigned n = m->S - base < R ? m->S - base : R;

		for (unsigned i = 0; i < n; i++)
			bnat_frame_out2in(m, mb_data(c->ring[i]), base + i, &c->ext[base + i], 0x12);
		if (run_ring(c, NAT_SIDE_OUTSIDE, n) < 0)
			return -1;
		for (unsigned i = 0; i < n; i++)
			bnat_frame_in2out(m, mb_data(c->ring[i]), base + i, 0x10);
		if (run_ring(c, NAT_SIDE_INSIDE, n) < 0)
			return -1;
	}
	return 0;
}

/* One pass over the ring from side with uniformly random sessions.
 * Adds CPU seconds and packets; returns 0 or -1. */
static int est_pass(struct ctx *c, struct rng *r, enum nat_side side, double *cpu,
		    uint64_t *pkts)
{
	const struct model *m = &c->m;
	uint8_t flags = m->proto == 6 ? 0x10 : 0;
	unsigned R = c->o->ring;
	double t;

	for (unsigned i = 0; i < R; i++) {
		uint32_t j = (uint32_t)(rng_next(r) % m->S);

		c->slot_j[i] = j;
		if (side == NAT_SIDE_INSIDE)
			bnat_frame_in2out(m, mb_data(c->ring[i]), j, flags);
		else
			bnat_frame_out2in(m, mb_data(c->ring[i]), j, &c->ext[j], flags);
	}
	t = run_ring(c, side, R);
	if (t < 0)
		return -1;
	*cpu += t;
	*pkts += R;
	for (unsigned i = 0; i < R; i++) {
		uint32_t j = c->slot_j[i];
		bool ok = side == NAT_SIDE_INSIDE
				  ? bnat_check_in2out(m, mb_data(c->ring[i]), j, &c->ext[j], NULL)
				  : bnat_check_out2in(m, mb_data(c->ring[i]), j);

		if (!ok) {
			c->fail = "an established frame was translated wrongly";
			return -1;
		}
	}
	return 0;
}

void bnat_csv_row(FILE *csv, uint64_t S, const char *proto, const char *metric,
		  const struct bench_summary *s, const char *unit, const struct result *r)
{
	if (!csv)
		return;
	fprintf(csv, "%" PRIu64 ",%s,%s,%.6g,%.6g,%.6g,%s,%.1f,%zu,\"%s\"\n", S, proto, metric,
		s->median, s->min, s->max, unit, r ? r->bytes_per_session : 0.0,
		r ? r->total_bytes : (size_t)0, bnat_eal_mode);
}

int bnat_bench_one(const struct nat_opts *o, uint64_t S, uint8_t proto, FILE *csv,
		   struct result *res)
{
	const char *pname = proto == 17 ? "udp" : "tcp";
	/* At >= 5M sessions a fresh table (and its first fill) is made once,
	 * and the repeats are expiry + refill cycles on it: a fresh table's
	 * creation, first fill and release take most of the time there. */
	unsigned new_reps = (o->modes & MODE_NEW) ? (S >= 5000000 ? 1 : o->repeat) : 1;
	unsigned refills = S >= 5000000 ? o->repeat : 1, n_new = 0;
	double news[MAX_REPEAT], cold[MAX_REPEAT], exps[MAX_REPEAT], est[3][MAX_REPEAT];
	struct ctx c;
	struct mem_snap m0, m1;
	struct nc_engine_stats es;
	struct rng r;
	int ret = BENCH_FAIL;

	memset(&c, 0, sizeof(c));
	memset(res, 0, sizeof(*res));
	c.o = o;
	bnat_model_init(&c.m, (uint32_t)S, proto);
	c.t0 = bench_now();
	c.ext = calloc(S, sizeof(*c.ext));
	c.mp = rte_pktmbuf_pool_create(proto == 17 ? "ncbench_nat_udp" : "ncbench_nat_tcp",
				       o->ring + 64, 0, 0, MBUF_DATA, SOCKET_ID_ANY);
	if (!c.ext || !c.mp || ring_alloc(&c) != 0) {
		fprintf(stderr, "ncbench nat: out of memory for %" PRIu64 " sessions / %u mbufs\n",
			S, o->ring);
		goto out;
	}
	for (unsigned rep = 0; rep < new_reps; rep++) {
		double t;

		mem_snap(&m0);
		if (bnat_pipeline_new(&c.m, 0, 1, &c.p) != 0)
			goto out;
		t = fill(&c);
		if (t < 0)
			goto failed;
		mem_snap(&m1);
		cold[rep] = (double)S / t;
		if (rep == 0) {
			/* netchannel objects live in the engine's slabs (mmap'd
			 * 2 MiB chunks, neither malloc nor rte_malloc) */
			nat_pipeline_engine_stats(c.p, &es);
			res->total_bytes = sub0(m1.malloc_bytes, m0.malloc_bytes) +
					   sub0(m1.rte_bytes, m0.rte_bytes) + es.object_bytes;
			res->bytes_per_session = (double)res->total_bytes / (double)S;
			if (nat_pipeline_sessions(c.p) != S || es.flows != 2 * S) {
				fprintf(stderr, "ncbench nat: %u sessions and %u flow keys after "
					"%" PRIu64 " new flows (want %" PRIu64 " and %" PRIu64
					")\n",
					nat_pipeline_sessions(c.p), es.flows, S, S, 2 * S);
				goto out;
			}
			printf("%-9" PRIu64 " %-4s memory  %8.1f B/session  %9.1f MiB total  "
			       "(malloc %.1f MiB, rte_malloc %.1f MiB, netchannels %.1f MiB; "
			       "RSS +%.1f MiB)\n",
			       S, pname, res->bytes_per_session, res->total_bytes / 1048576.0,
			       sub0(m1.malloc_bytes, m0.malloc_bytes) / 1048576.0,
			       sub0(m1.rte_bytes, m0.rte_bytes) / 1048576.0,
			       es.object_bytes / 1048576.0, sub0(m1.rss, m0.rss) / 1048576.0);
		}
		for (unsigned k = 0; (o->modes & MODE_NEW) && k < refills; k++) {
			t = expire_all(&c);
			if (t < 0)
				goto failed;
			exps[n_new] = (double)S / t;
			t = fill(&c);
			if (t < 0)
				goto failed;
			news[n_new++] = (double)S / t;
		}
		if (rep + 1 < new_reps) {
			nat_pipeline_free(c.p);
			c.p = NULL;
		}
	}
	if (o->modes & MODE_NEW) {
		struct bench_summary sc, se;

		bench_summarize(news, n_new, &res->news);
		bench_summarize(cold, new_reps, &sc);
		bench_summarize(exps, n_new, &se);
		res->have_new = true;
		printf("%-9" PRIu64 " %-4s new     %8.3f M sessions/s  [%.3f..%.3f]  (%u sample%s, "
		       "empty to full, after an expiry of all)\n", S, pname, res->news.median / 1e6,
		       res->news.min / 1e6, res->news.max / 1e6, n_new, n_new > 1 ? "s" : "");
		printf("%-9" PRIu64 " %-4s new-cold %7.3f M sessions/s  [%.3f..%.3f]  (first fill "
		       "of a fresh table: page faults included)\n", S, pname, sc.median / 1e6,
		       sc.min / 1e6, sc.max / 1e6);
		printf("%-9" PRIu64 " %-4s expire  %8.3f M sessions/s  [%.3f..%.3f]\n", S, pname,
		       se.median / 1e6, se.min / 1e6, se.max / 1e6);
		bnat_csv_row(csv, S, pname, "new_sessions_per_s", &res->news, "1/s", res);
		bnat_csv_row(csv, S, pname, "new_sessions_per_s_cold", &sc, "1/s", res);
		bnat_csv_row(csv, S, pname, "expired_sessions_per_s", &se, "1/s", res);
		fflush(stdout);
	}
	if (o->modes & MODE_EST) {
		if (proto == 6 && tcp_open(&c) != 0)
			goto failed;
		rng_seed(&r, o->seed ^ S);
		for (unsigned rep = 0; rep < o->repeat; rep++) {
			double cpu[2] = {0, 0};
			uint64_t pk[2] = {0, 0};

			/* warm-up: one pass each way */
			if (est_pass(&c, &r, NAT_SIDE_INSIDE, &(double){0}, &(uint64_t){0}) ||
			    est_pass(&c, &r, NAT_SIDE_OUTSIDE, &(double){0}, &(uint64_t){0}))
				goto failed;
			do {
				if (est_pass(&c, &r, NAT_SIDE_INSIDE, &cpu[0], &pk[0]) ||
				    est_pass(&c, &r, NAT_SIDE_OUTSIDE, &cpu[1], &pk[1]))
					goto failed;
			} while (cpu[0] + cpu[1] < o->seconds);
			est[0][rep] = pk[0] / cpu[0] / 1e6;
			est[1][rep] = pk[1] / cpu[1] / 1e6;
			est[2][rep] = (pk[0] + pk[1]) / (cpu[0] + cpu[1]) / 1e6;
		}
		for (int d = 0; d < 3; d++)
			bench_summarize(est[d], o->repeat, &res->est[d]);
		res->have_est = true;
		printf("%-9" PRIu64 " %-4s est.    %8.2f Mpps both  [%.2f..%.2f]  in2out %.2f  "
		       "out2in %.2f\n", S, pname, res->est[2].median, res->est[2].min,
		       res->est[2].max, res->est[0].median, res->est[1].median);
		bnat_csv_row(csv, S, pname, "established_mpps", &res->est[2], "Mpps", res);
		bnat_csv_row(csv, S, pname, "in2out_mpps", &res->est[0], "Mpps", res);
		bnat_csv_row(csv, S, pname, "out2in_mpps", &res->est[1], "Mpps", res);
		fflush(stdout);
	}
	{
		const struct nat_counters *k = nat_pipeline_counters(c.p);
		uint64_t drops = 0;

		for (int i = 0; i < NAT_CNT_COUNT; i++)
			if (!strncmp(nat_counter_name(i), "drop_", 5))
				drops += k->v[i];
		nat_pipeline_engine_stats(c.p, &es);
		printf("%-9" PRIu64 " %-4s check   translated=%" PRIu64 " sent=%" PRIu64
		       " drops=%" PRIu64 " sessions=%u flows=%u fast_path=%" PRIu64 "\n",
		       S, pname, k->v[NAT_CNT_IN2OUT_PKTS] + k->v[NAT_CNT_OUT2IN_PKTS], es.rx,
		       drops, nat_pipeline_sessions(c.p), es.flows, es.flow_hits);
	}
	ret = BENCH_OK;
	goto out;
failed:
	fprintf(stderr, "ncbench nat: %" PRIu64 " %s sessions: %s\n", S, pname,
		c.fail ? c.fail : "failed");
	if (c.p)
		print_drops(&c);
	if (c.ring) /* mbufs the NAT freed are gone: forget the ring */
		memset(c.ring, 0, o->ring * sizeof(*c.ring));
out:
	nat_pipeline_free(c.p);
	ring_free(&c);
	rte_mempool_free(c.mp);
	free(c.ext);
	return ret;
}

