/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat --workers — ncnat's worker loop on N lcores
 * ========================================================
 *
 * What
 * ----
 * The real loop (nat_workers_create/nat_workers_run, apps/nat/nat_port.h)
 * with N shard pipelines (nat_pipeline_create_shard(i, N)) on N lcores,
 * between two ring PMD ports (rte_eth_from_rings), inside and outside, of N
 * queues each.  For each --workers count, each --spread and --repeat windows
 * it measures the frames the NAT translated and sent per wall second (total
 * and per worker), the fraction handed between workers and the hand-off
 * drops; then the ratio of every N to N = 1 (ratio_<N>w_vs_1w=).
 *
 * How the workers are fed (ring PMD queues that loop back, an RX callback
 * that rewrites every frame, no feeder thread), the spreads and the
 * sessions: bench_nat_feed.c.
 *
 * Windows
 * -------
 * The loop's hook (worker 0, every ms) ends the warm-up (0.2 s; --quick
 * 0.02 s) by sampling the counters, samples them again after --seconds of
 * wall time and stops the loop.  What is printed per worker count and
 * spread (medians of --repeat windows):
 *   Mpps        frames the workers sent (every one translated: the loop
 *               carries nothing else) per wall second, total [min..max],
 *               and per worker;
 *   per CPU-s   the same per second of the workers' thread CPU time
 *               (pthread_getcpuclockid): other processes on the machine
 *               do not inflate it;
 *   net         per CPU second minus the feed callback's time and the
 *               idle turns (a turn that received nothing and took nothing
 *               from the hand-over rings): the NAT's own cost, loop, ring
 *               PMD and hand-over included;
 *   handed      frames handed to another worker / frames received, and
 *               hand-off drops (every window, warm-up included);
 *   feed        the callback's share of the CPU time, and its own rate;
 *   idle, cpu   idle turns' share; CPU time / (N x wall time);
 *   burst       frames per RX poll (32 = the queues never ran dry).
 * TSC spans (feed, idle) include the time the thread was preempted in
 * them; preemptions land in a span as often as the span takes CPU time,
 * so a span's share of the wall time is its share of the CPU time.
 * Counters: the loop's (nat_loop_stats, relaxed loads while it runs) and
 * the callbacks' (the same rule: one writer, relaxed stores).
 * The random spread couples the workers: a worker that is not running
 * holds the frames handed to it, and the other runs dry (idle turns,
 * burst < 32) — on a busy machine compare "net" and "cpu".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "bench.h"
#include "bench_nat_workers.h"
#include "nat_counters.h"
#include "nat_port.h"
#include "rng.h"
#include "stats.h"

#define HOOK_US 1000

struct wsnap {
	double wall;
	double cpu[BNAT_WORKERS_MAX]; /* thread CPU seconds; < 0 unknown */
	uint64_t tx[BNAT_WORKERS_MAX], rx[BNAT_WORKERS_MAX], hout[BNAT_WORKERS_MAX];
	uint64_t cycles[BNAT_WORKERS_MAX]; /* in the feed callbacks */
	uint64_t idle[BNAT_WORKERS_MAX];   /* in turns without frames */
	uint64_t fed, polls;
};

/* One window: the hook's state. */
struct wrun {
	struct wset *ws;
	struct nat_workers *w;
	volatile sig_atomic_t quit;
	int phase;                  /* 0 warm-up, 1 measuring, 2 done */
	double t_warm, t_end, t_abort, secs;
	struct wsnap s0, s1;
};

struct wres {
	double mpps, worker[BNAT_WORKERS_MAX], per_cpu, net, handed, feed, feeder, idle, cpu;
	double burst;
	uint64_t handoff_drop;      /* the whole window, warm-up included */
};

/* ---- set-up per worker count ---- */

static void wset_free(struct wset *ws)
{
	unsigned side, q;

	bnw_feeds_detach(ws);
	for (side = 0; side < 2; side++) {
		if (ws->port_up[side])
			nat_port_close(ws->port[side]);
		ws->port_up[side] = false;
		for (q = 0; q < ws->n; q++) {
			bnw_drain(ws->ring[side][q]);
			rte_ring_free(ws->ring[side][q]);
			ws->ring[side][q] = NULL;
		}
	}
	for (q = 0; q < ws->n; q++) {
		nat_pipeline_free(ws->pipes[q]);
		ws->pipes[q] = NULL;
	}
	bnw_sessions_free(ws);
}

static int wset_up(struct wb *b, struct wset *ws, unsigned n)
{
	static unsigned gen; /* ring and port names are unique per process */
	unsigned C = b->o->carriers, side, q;
	char name[RTE_RING_NAMESIZE];
	int rc;

	memset(ws, 0, sizeof(*ws));
	ws->n = n;
	for (q = 0; q < n; q++)
		if (bnat_pipeline_new(&b->m, q, n, &ws->pipes[q]) != 0)
			return -1;
	if (bnw_sessions(b, ws) != 0)
		return -1;
	gen++;
	for (side = 0; side < 2; side++) {
		for (q = 0; q < n; q++) {
			snprintf(name, sizeof(name), "ncbw%u_%c%u", gen, side ? 'o' : 'i', q);
			ws->ring[side][q] = rte_ring_create(name, rte_align32pow2(2 * n * C + 1),
							    SOCKET_ID_ANY,
							    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (!ws->ring[side][q]) {
				fprintf(stderr, "ncbench nat: rte_ring_create: %s\n",
					rte_strerror(rte_errno));
				return -1;
			}
		}
		snprintf(name, sizeof(name), "ncbw%u_%s", gen, side ? "out" : "in");
		rc = rte_eth_from_rings(name, ws->ring[side], n, ws->ring[side], n,
					(unsigned)SOCKET_ID_ANY);
		if (rc < 0) {
			fprintf(stderr, "ncbench nat: rte_eth_from_rings: %s\n",
				rte_strerror(rte_errno));
			return -1;
		}
		ws->port[side] = (uint16_t)rc;
		rc = nat_port_setup(ws->port[side], b->mp, n);
		if (rc) {
			/* the port exists even though it did not start */
			ws->port_up[side] = true;
			fprintf(stderr, "ncbench nat: nat_port_setup: %s\n", strerror(-rc));
			return -1;
		}
		ws->port_up[side] = true;
	}
	if (bnw_feeds_attach(b, ws) != 0)
		return -1;
	return 0;
}

/* ---- a window ---- */

static double thread_cpu(const struct feed *f)
{
	clockid_t cid;
	struct timespec ts;

	if (!__atomic_load_n(&f->have_thread, __ATOMIC_ACQUIRE) ||
	    pthread_getcpuclockid(f->thread, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void snap(const struct wrun *r, struct wsnap *s)
{
	const struct wset *ws = r->ws;

	memset(s, 0, sizeof(*s));
	s->wall = bench_now();
	for (unsigned i = 0; i < ws->n; i++) {
		const struct nat_loop_stats *st = nat_workers_stats(r->w, i);

		s->tx[i] = cnt_get(&st->tx[0]) + cnt_get(&st->tx[1]);
		s->rx[i] = cnt_get(&st->rx[0]) + cnt_get(&st->rx[1]);
		s->hout[i] = cnt_get(&st->handoff_out);
		s->cpu[i] = thread_cpu(&ws->feed[i]);
		for (unsigned side = 0; side < 2; side++) {
			const struct feed *f = &ws->feed[side * ws->n + i];

			s->fed += cnt_get(&f->frames);
			s->cycles[i] += cnt_get(&f->cycles);
			s->idle[i] += cnt_get(&f->idle_cycles);
			s->polls += cnt_get(&f->polls);
		}
	}
}

/* nat_workers_config.hook: worker 0, every HOOK_US. */
static void window_hook(void *arg)
{
	struct wrun *r = arg;
	double now = bench_now();

	if (r->phase == 0 && now >= r->t_warm) {
		snap(r, &r->s0);
		r->t_end = r->s0.wall + r->secs;
		r->phase = 1;
	} else if (r->phase == 1 && now >= r->t_end) {
		snap(r, &r->s1);
		r->phase = 2;
		r->quit = 1;
	} else if (now >= r->t_abort) {
		r->quit = 1;
	}
}

static void window_result(const struct wrun *r, struct wres *res)
{
	const struct wsnap *a = &r->s0, *z = &r->s1;
	unsigned n = r->ws->n;
	double wall = z->wall - a->wall, hz = (double)rte_get_tsc_hz(), cpu = 0, feed_s = 0;
	double idle_s = 0;
	uint64_t tx = 0, rx = 0, hout = 0, fed = z->fed - a->fed;

	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = z->tx[i] - a->tx[i];
		double c;

		tx += t;
		rx += z->rx[i] - a->rx[i];
		hout += z->hout[i] - a->hout[i];
		res->worker[i] = (double)t / wall / 1e6;
		/* a thread whose clock cannot be read counts as busy */
		c = a->cpu[i] >= 0 && z->cpu[i] >= 0 ? z->cpu[i] - a->cpu[i] : wall;
		cpu += c;
		/* The TSC also runs while the thread is preempted; preemptions hit
		 * the callback as often as the time it takes, so the callback's
		 * share of the wall time is its share of the thread's CPU time. */
		feed_s += (double)(z->cycles[i] - a->cycles[i]) / hz / wall * c;
		idle_s += (double)(z->idle[i] - a->idle[i]) / hz / wall * c;
	}
	res->mpps = (double)tx / wall / 1e6;
	res->per_cpu = cpu > 0 ? (double)tx / cpu / 1e6 : 0;
	res->net = cpu > feed_s + idle_s ? (double)tx / (cpu - feed_s - idle_s) / 1e6 : 0;
	res->handed = rx ? (double)hout / (double)rx : 0;
	res->feed = cpu > 0 ? feed_s / cpu : 0;
	res->feeder = feed_s > 0 ? (double)fed / feed_s / 1e6 : 0;
	res->idle = cpu > 0 ? idle_s / cpu : 0;
	res->cpu = cpu / (wall * n);
	res->burst = z->polls > a->polls ? (double)fed / (double)(z->polls - a->polls) : 0;
}

static int window(struct wb *b, struct wset *ws, struct wres *res)
{
	const struct nat_opts *o = b->o;
	struct nat_workers_config cfg;
	struct wrun *r = calloc(1, sizeof(*r));
	double warm = o->quick ? 0.02 : 0.2;
	int rc;

	if (!r)
		return -1;
	if (bnw_carriers(b, ws) != 0) {
		fprintf(stderr, "ncbench nat: cannot load %u carriers per queue\n", o->carriers);
		free(r);
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.port[NAT_SIDE_INSIDE] = ws->port[0];
	cfg.port[NAT_SIDE_OUTSIDE] = ws->port[1];
	cfg.n = ws->n;
	cfg.pipes = ws->pipes;
	cfg.pool = b->mp;
	cfg.quit = &r->quit;
	cfg.hook = window_hook;
	cfg.hook_arg = r;
	cfg.hook_us = HOOK_US;
	r->ws = ws;
	r->secs = o->seconds;
	rc = nat_workers_create(&cfg, &r->w);
	if (rc) {
		fprintf(stderr, "ncbench nat: nat_workers_create: %s\n", strerror(-rc));
		free(r);
		return -1;
	}
	for (unsigned q = 0; q < ws->n; q++) {
		struct feed *f = &ws->feed[q]; /* inside queue q */

		f->st = nat_workers_stats(r->w, q);
		f->turn_tsc = 0;
	}
	r->t_warm = bench_now() + warm;
	r->t_abort = r->t_warm + o->seconds + 60;
	rc = nat_workers_run(r->w);
	memset(res, 0, sizeof(*res));
	if (!rc && r->phase == 2)
		window_result(r, res);
	for (unsigned i = 0; i < ws->n; i++) {
		const struct nat_loop_stats *st = nat_workers_stats(r->w, i);

		res->handoff_drop += st->handoff_drop;
		ws->sent += st->tx[0] + st->tx[1];
		ws->handoff_drop += st->handoff_drop;
		ws->tx_drop += st->tx_drop[0] + st->tx_drop[1];
		ws->multiseg_drop += st->multiseg_drop;
		ws->reply_nomem += st->reply_nomem;
	}
	if (rc || r->phase != 2) {
		fprintf(stderr, "ncbench nat: the worker loop %s\n",
			rc ? strerror(-rc) : "did not finish its window");
		rc = -1;
	}
	for (unsigned q = 0; q < ws->n; q++)
		ws->feed[q].st = NULL;
	nat_workers_free(r->w);
	free(r);
	return rc;
}

/* ---- output ---- */

static void summary_of(const struct wres *v, unsigned n, size_t off, struct bench_summary *s)
{
	double x[MAX_REPEAT];

	for (unsigned i = 0; i < n; i++)
		x[i] = *(const double *)((const char *)&v[i] + off);
	bench_summarize(x, n, s);
}

#define SUMMARY(v, n, field, s) summary_of(v, n, offsetof(struct wres, field), s)

static const char *spread_name(unsigned spread)
{
	return spread == SPREAD_RSS ? "rss" : "random";
}

/* Medians of one worker count and spread, for the ratio lines. */
struct wsum {
	struct bench_summary mpps;
	double per_cpu, net, cpu;
};

static void print_windows(const struct nat_opts *o, uint64_t S, unsigned n, unsigned spread,
			  const struct wres *v, FILE *csv, struct wsum *sum)
{
	struct bench_summary *mpps = &sum->mpps, per_cpu[1];
	struct bench_summary net, handed, feed, feeder, idle, cpu, burst, wk;
	char metric[64], workers[BNAT_WORKERS_MAX * 8] = "";
	size_t len = 0;
	unsigned R = o->repeat;
	uint64_t hdrop = 0;

	SUMMARY(v, R, mpps, mpps);
	SUMMARY(v, R, per_cpu, per_cpu);
	SUMMARY(v, R, net, &net);
	SUMMARY(v, R, handed, &handed);
	SUMMARY(v, R, feed, &feed);
	SUMMARY(v, R, feeder, &feeder);
	SUMMARY(v, R, idle, &idle);
	SUMMARY(v, R, cpu, &cpu);
	SUMMARY(v, R, burst, &burst);
	for (unsigned i = 0; i < R; i++)
		hdrop += v[i].handoff_drop;
	for (unsigned i = 0; i < n; i++) {
		summary_of(v, R, offsetof(struct wres, worker) + i * sizeof(double), &wk);
		len += (size_t)snprintf(workers + len, sizeof(workers) - len, "%s%.2f", i ? "/" : "",
					wk.median);
	}
	printf("%-9" PRIu64 " %-4s workers N=%-2u %-6s %6.2f Mpps [%.2f..%.2f]  per worker %s  "
	       "per CPU-s %.2f  net %.2f  handed %.1f%% (drops %" PRIu64 ")  feed %.1f%% (feeder "
	       "%.0f Mpps/CPU-s)  idle %.1f%%  cpu %.0f%%  burst %.1f\n",
	       S, "udp", n, spread_name(spread), mpps->median, mpps->min, mpps->max, workers,
	       per_cpu->median, net.median, handed.median * 100, hdrop, feed.median * 100,
	       feeder.median, idle.median * 100, cpu.median * 100, burst.median);
	sum->per_cpu = per_cpu->median;
	sum->net = net.median;
	sum->cpu = cpu.median;
	snprintf(metric, sizeof(metric), "workers%u_%s_mpps", n, spread_name(spread));
	bnat_csv_row(csv, S, "udp", metric, mpps, "Mpps", NULL);
	snprintf(metric, sizeof(metric), "workers%u_%s_mpps_per_cpu_s", n, spread_name(spread));
	bnat_csv_row(csv, S, "udp", metric, per_cpu, "Mpps", NULL);
	snprintf(metric, sizeof(metric), "workers%u_%s_net_mpps_per_cpu_s", n, spread_name(spread));
	bnat_csv_row(csv, S, "udp", metric, &net, "Mpps", NULL);
	snprintf(metric, sizeof(metric), "workers%u_%s_handed_fraction", n, spread_name(spread));
	bnat_csv_row(csv, S, "udp", metric, &handed, "1", NULL);
	fflush(stdout);
}

/* The check line of one worker count; @return true when all is well. */
static bool print_check(const struct wb *b, const struct wset *ws)
{
	uint64_t translated = 0, nat_drops = 0, checked = 0, bad = 0, fed = 0;
	uint32_t sessions = 0;
	char per[BNAT_WORKERS_MAX * 12] = "";
	size_t len = 0;
	bool structural = 2ull * ws->n * b->o->carriers <= HANDOFF_RING, ok;

	for (unsigned i = 0; i < ws->n; i++) {
		const struct nat_counters *k = nat_pipeline_counters(ws->pipes[i]);
		uint32_t s = nat_pipeline_sessions(ws->pipes[i]);

		translated += k->v[NAT_CNT_IN2OUT_PKTS] + k->v[NAT_CNT_OUT2IN_PKTS];
		for (int c = 0; c < NAT_CNT_COUNT; c++)
			if (!strncmp(nat_counter_name(c), "drop_", 5))
				nat_drops += k->v[c];
		sessions += s;
		len += (size_t)snprintf(per + len, sizeof(per) - len, "%s%u", i ? "+" : "", s);
	}
	for (unsigned i = 0; i < 2 * ws->n; i++) {
		checked += ws->feed[i].checked;
		bad += ws->feed[i].bad;
		fed += ws->feed[i].frames;
	}
	printf("%-9u %-4s wcheck  N=%-2u translated=%" PRIu64 " sent=%" PRIu64 " fed=%" PRIu64
	       " checked=%" PRIu64 " bad=%" PRIu64 " nat_drops=%" PRIu64 " tx_drops=%" PRIu64
	       " handoff_drops=%" PRIu64 " sessions=%u (%s)\n",
	       b->m.S, "udp", ws->n, translated, b->m.S + ws->sent, fed, checked, bad, nat_drops,
	       ws->tx_drop, ws->handoff_drop, sessions, per);
	ok = translated == b->m.S + ws->sent && checked > 0 && !bad && !nat_drops && !ws->tx_drop &&
	     !ws->multiseg_drop && !ws->reply_nomem && sessions == b->m.S &&
	     !(structural && ws->handoff_drop);
	if (!ok)
		fprintf(stderr, "ncbench nat: N=%u: frames were dropped or translated wrongly "
			"(see the wcheck line)\n", ws->n);
	if (ok && ws->handoff_drop)
		printf("%-9u %-4s note    N=%u: %" PRIu64 " hand-off drops with %u carriers in "
		       "flight (more than the %u a hand-over ring holds)\n", b->m.S, "udp", ws->n,
		       ws->handoff_drop, 2 * ws->n * b->o->carriers, HANDOFF_RING);
	fflush(stdout);
	return ok;
}

/* ---- the benchmark ---- */

unsigned bnat_workers_mem_mb(const struct nat_opts *o, uint64_t S)
{
	unsigned nsum = 0;
	uint64_t mbufs;

	for (unsigned i = 0; i < o->n_workers; i++)
		nsum += o->workers[i];
	mbufs = 2ull * nsum * o->carriers + 2 * FILL_BURST;
	/* every count's pipelines at once: a flow table each (~220 B per
	 * session), mbufs of ~512 B, the hand-over rings, slack */
	return (unsigned)((S * 220 * nsum + mbufs * 512) >> 20) + 4 * nsum + 128;
}

static void print_ratios(const struct nat_opts *o, uint64_t S, unsigned spread,
			 const struct wsum *sum)
{
	unsigned one = MAX_WORKER_COUNTS;

	for (unsigned ni = 0; ni < o->n_workers; ni++)
		if (o->workers[ni] == 1)
			one = ni;
	for (unsigned ni = 0; ni < o->n_workers; ni++) {
		const struct wsum *x = &sum[ni], *y = &sum[one];
		unsigned n = o->workers[ni];

		if (n == 1)
			continue;
		if (one == MAX_WORKER_COUNTS) {
			printf("ratio_%uw_vs_1w=n/a (%s; 1 is not in --workers)\n", n,
			       spread_name(spread));
			continue;
		}
		printf("ratio_%uw_vs_1w=%.2f (%s, %" PRIu64 " sessions; medians, %uw / 1w: "
		       "Mpps per wall second %.2f / %.2f; per CPU-s %.2f / %.2f = %.2f; net "
		       "%.2f / %.2f = %.2f; cpu %.0f%% / %.0f%%)\n", n,
		       x->mpps.median / y->mpps.median, spread_name(spread), S, n, x->mpps.median,
		       y->mpps.median, x->per_cpu, y->per_cpu, x->per_cpu / y->per_cpu, x->net,
		       y->net, x->net / y->net, x->cpu * 100, y->cpu * 100);
	}
	fflush(stdout);
}

/*
 * Every worker count is set up first; then, per spread, the windows of the
 * counts take turns (1, 2, 1, 2 ...), so that what else runs on the
 * machine weighs on every count alike.
 */
int bnat_workers_bench(const struct nat_opts *o, uint64_t S, FILE *csv)
{
	static const unsigned spreads[2] = {SPREAD_RSS, SPREAD_RANDOM};
	unsigned nw = o->n_workers, R = o->repeat, nmax = 1, nsum = 0, ni, si, rep;
	struct wsum sum[2][MAX_WORKER_COUNTS];
	struct wres *v = calloc((size_t)nw * R, sizeof(*v));
	struct wset *ws = calloc(nw, sizeof(*ws));
	struct wb b;
	bool ok = true;

	memset(&b, 0, sizeof(b));
	memset(sum, 0, sizeof(sum));
	b.o = o;
	bnat_model_init(&b.m, (uint32_t)S, 17);
	rng_seed(&b.rng, o->seed ^ S ^ 0x776f726bu);
	for (ni = 0; ni < nw; ni++) {
		nmax = o->workers[ni] > nmax ? o->workers[ni] : nmax;
		nsum += o->workers[ni];
	}
	if (rte_lcore_count() < nmax) {
		fprintf(stderr, "ncbench nat: %u lcores for %u workers\n", rte_lcore_count(), nmax);
		ok = false;
		goto out;
	}
	b.L = rte_align32pow2((uint32_t)(2 * S));
	b.L = b.L < LIST_MIN ? LIST_MIN : b.L > LIST_MAX ? LIST_MAX : b.L;
	b.mp = rte_pktmbuf_pool_create("ncbench_natw", 2 * nsum * o->carriers + 2 * FILL_BURST, 0,
				       RTE_ALIGN(sizeof(uint32_t), RTE_MBUF_PRIV_ALIGN), MBUF_DATA,
				       SOCKET_ID_ANY);
	if (!v || !ws || !b.mp || bnw_templates(&b) != 0) {
		fprintf(stderr, "ncbench nat: out of memory for %" PRIu64 " sessions\n", S);
		ok = false;
		goto out;
	}
	for (ni = 0; ni < nw && ok; ni++)
		ok = wset_up(&b, &ws[ni], o->workers[ni]) == 0;
	for (si = 0; si < 2 && ok; si++) {
		if (!(o->spreads & spreads[si]))
			continue;
		for (ni = 0; ni < nw; ni++)
			bnw_lists(&b, &ws[ni], spreads[si]);
		for (rep = 0; rep < R && ok; rep++)
			for (ni = 0; ni < nw && ok; ni++)
				ok = window(&b, &ws[ni], &v[ni * R + rep]) == 0;
		for (ni = 0; ni < nw && ok; ni++)
			print_windows(o, S, o->workers[ni], spreads[si], &v[ni * R], csv,
				      &sum[si][ni]);
		if (ok)
			print_ratios(o, S, spreads[si], sum[si]);
	}
	for (ni = 0; ni < nw && ok; ni++)
		ok = print_check(&b, &ws[ni]) && ok;
out:
	for (ni = 0; ws && ni < nw; ni++)
		wset_free(&ws[ni]);
	rte_mempool_free(b.mp);
	free(b.tmpl_in);
	free(ws);
	free(v);
	return ok ? BENCH_OK : BENCH_FAIL;
}
