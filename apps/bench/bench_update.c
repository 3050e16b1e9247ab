/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench update: single-rule inserts and deletes of lib/classify, each made
 * visible by cls_publish(), without and with a reader looking up on the other
 * core (memory reclaimed through QSBR), against the time rte_acl needs to
 * rebuild after one change.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "qsbr.h"
#include "rng.h"
#include "stats.h"
#include "trace.h"
#ifdef HAVE_RTE_ACL
#include "acl_peer.h"
#endif

/* insert all; churn: at full size delete a rule and insert it again; delete all */
enum { OP_INS, OP_CHURN, OP_DEL, OP_N };
static const char *const op_name[OP_N] = { "insert", "churn", "delete" };

struct reader {
	struct cls *c;
	struct bench_qsbr *q;
	const struct cls_key **kptr;
	size_t nkeys;
	unsigned burst;
	int cpu;
	atomic_bool stop;
	atomic_bool running;
	/* every 8 bursts: lookups so far and the reader's CPU time (ns) then */
	_Atomic uint64_t lookups, cpu_ns;
};

/* A consistent-enough snapshot of the reader's progress (updated together). */
static void reader_snap(struct reader *r, uint64_t *lookups, double *cpu)
{
	uint64_t a, b;

	do {
		a = atomic_load(&r->lookups);
		*cpu = (double)atomic_load(&r->cpu_ns) * 1e-9;
		b = atomic_load(&r->lookups);
	} while (a != b);
	*lookups = a;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct cls_match m[256];
	uint64_t n = 0, sink = 0, bursts = 0;
	size_t pos = 0;

	(void)bench_pin(r->cpu);
	bench_qsbr_online(r->q, 0);
	atomic_store(&r->running, true);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		unsigned k = (unsigned)(r->nkeys - pos < r->burst ? r->nkeys - pos : r->burst);

		cls_lookup_bulk(r->c, r->kptr + pos, k, m);
		sink += m[0].id;
		n += k;
		pos = pos + k == r->nkeys ? 0 : pos + k;
		/* every lookup above is finished with what it read */
		bench_qsbr_quiescent(r->q, 0);
		if (++bursts % 8 == 0) {
			atomic_store(&r->cpu_ns, (uint64_t)(bench_thread_cpu() * 1e9));
			atomic_store(&r->lookups, n);
		}
	}
	bench_qsbr_offline(r->q, 0);
	return (void *)(uintptr_t)(sink == 42);
}

struct result {
	double rate[OP_N][BENCH_MAX_REPEAT];    /* per repeat */
	double rd_rate[OP_N + 1][BENCH_MAX_REPEAT]; /* reader lookups/s during insert, delete, idle */
	uint64_t *lat[OP_N];        /* cycles per op, pooled over repeats */
	size_t n_lat[OP_N];
};

static void shuffle(size_t *v, size_t n, struct rng *r)
{
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_range(r, 0, i - 1), x = v[i - 1];

		v[i - 1] = v[j];
		v[j] = x;
	}
}

/* The classifier built one rule at a time must answer as the reference does. */
static int check_against_linear(const struct cls *c, const struct cls_ruleset *rs,
				const struct trace *t)
{
	struct cls_config cfg = { .backend = CLS_BACKEND_LINEAR };
	size_t n = 100000000 / rs->n, bad = 0, failed;
	struct cls *lin;

	n = n < 1000 ? 1000 : n;
	n = n > t->n ? t->n : n;
	if (cls_create(&cfg, &lin))
		lin = NULL;
	if (!lin || cls_insert_batch(lin, rs->rules, rs->n, &failed)) {
		fprintf(stderr, "ncbench update: cannot build the linear reference\n");
		cls_free(lin);
		return BENCH_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		struct cls_match a, b;

		cls_lookup(c, &t->keys[i], &a);
		cls_lookup(lin, &t->keys[i], &b);
		if (a.id != b.id && bad++ < 5)
			printf("MISMATCH key %zu: after single inserts %" PRIu32 ", linear %" PRIu32 "\n",
			       i + 1, a.id, b.id);
	}
	cls_free(lin);
	printf("check: built by single inserts, answers %s linear on %zu keys%s\n",
	       bad ? "DIFFER from" : "agree with", n, bad ? " (MISMATCH)" : "");
	return bad ? BENCH_FAIL : BENCH_OK;
}

/* One repeat: insert every rule, (reader alone,) churn, delete every rule. */
static int one_round(const struct cls_ruleset *rs, const struct trace *t, struct reader *rd,
		     const struct bench_opts *o, unsigned rep, struct result *res, size_t *perm,
		     struct rng *rng)
{
	struct cls_config cfg = { .backend = CLS_BACKEND_TRIE };
	struct bench_qsbr *q = NULL;
	pthread_t th;
	/* churn: pairs of changes, delete then insert of the same rule */
	const size_t count[OP_N] = { rs->n, rs->n & ~(size_t)1, rs->n };
	struct cls *c;
	int rc;

	if (rd) {
		q = bench_qsbr_create(1);
		if (!q)
			return BENCH_FAIL;
		cfg.reclaim = bench_qsbr_hook(q);
	}
	rc = cls_create(&cfg, &c);
	if (rc) {
		fprintf(stderr, "ncbench update: cls_create: %s\n", strerror(-rc));
		bench_qsbr_free(q);
		return BENCH_FAIL;
	}
	if (rd) {
		rd->c = c;
		rd->q = q;
		atomic_store(&rd->stop, false);
		atomic_store(&rd->running, false);
		/* a new thread: its CPU clock starts near 0, as (0, 0) says */
		atomic_store(&rd->lookups, 0);
		atomic_store(&rd->cpu_ns, 0);
		if (pthread_create(&th, NULL, reader_main, rd)) {
			fprintf(stderr, "ncbench update: cannot start the reader thread\n");
			cls_free(c);
			bench_qsbr_free(q);
			return BENCH_FAIL;
		}
		while (!atomic_load(&rd->running))
			;
	}
	for (int op = 0; op < OP_N && rc == 0; op++) {
		uint64_t *lat = res[0].lat[op] + res[0].n_lat[op], l0 = 0, l1;
		double t0, dt, rc0 = 0, rc1;

		if (rd)
			reader_snap(rd, &l0, &rc0);
		t0 = bench_thread_cpu();

		shuffle(perm, rs->n, rng);
		for (size_t i = 0; i < count[op]; i++) {
			const struct cls_rule *x = &rs->rules[perm[op == OP_CHURN ? i / 2 : i]];
			bool del = op == OP_DEL || (op == OP_CHURN && i % 2 == 0);
			uint64_t c0 = bench_cycles();

			rc = del ? cls_delete(c, x->id) : cls_insert(c, x);
			if (rc) {
				fprintf(stderr, "ncbench update: cls_%s of rule %" PRIu32 " (%s): %s\n",
					del ? "delete" : "insert", x->id, op_name[op], strerror(-rc));
				break;
			}
			(void)cls_publish(c);
			lat[i] = bench_cycles() - c0;
		}
		dt = bench_thread_cpu() - t0;
		if (rc)
			break;
		res[0].n_lat[op] += count[op];
		res[0].rate[op][rep] = count[op] && dt > 0 ? (double)count[op] / dt : 0;
		if (rd) {
			reader_snap(rd, &l1, &rc1);
			res[0].rd_rate[op][rep] = rc1 > rc0 ? (double)(l1 - l0) / (rc1 - rc0) : 0;
		}
		if (op == OP_INS && rep == 0 && !rd)
			rc = check_against_linear(c, rs, t);
		if (op == OP_INS && rd) { /* the reader alone on the full set */
			double t1 = bench_now(), idle = o->seconds < 0.5 ? o->seconds : 0.5;
			uint64_t l2;
			double rc2;

			reader_snap(rd, &l1, &rc1);
			while (bench_now() - t1 < idle)
				(void)cls_reclaim(c, false);
			reader_snap(rd, &l2, &rc2);
			res[0].rd_rate[OP_N][rep] = rc2 > rc1 ? (double)(l2 - l1) / (rc2 - rc1) : 0;
		}
	}
	if (rd) {
		(void)cls_reclaim(c, true); /* the reader still reports quiescent states */
		atomic_store(&rd->stop, true);
		pthread_join(th, NULL);
	}
	cls_free(c);
	bench_qsbr_free(q);
	return rc ? BENCH_FAIL : BENCH_OK;
}

static void report(const char *label, struct result *r, const struct bench_opts *o,
		   const struct bench_rules *br, bool readers, FILE *csv)
{
	double ns = 1e9 / bench_cycles_hz();

	for (int op = 0; op < OP_N; op++) {
		struct bench_summary s, rd = { 0 };
		uint64_t p50, p99;

		bench_summarize(r->rate[op], o->repeat, &s);
		if (readers)
			bench_summarize(r->rd_rate[op], o->repeat, &rd);
		bench_sort_u64(r->lat[op], r->n_lat[op]);
		p50 = bench_percentile(r->lat[op], r->n_lat[op], 50);
		p99 = bench_percentile(r->lat[op], r->n_lat[op], 99);
		printf("%-11s %-7s %9.3f M/s [%.3f..%.3f]  p50 %7.0f ns  p99 %8.0f ns", label,
		       op_name[op], s.median / 1e6, s.min / 1e6, s.max / 1e6, (double)p50 * ns,
		       (double)p99 * ns);
		if (readers && rd.median > 0)
			printf("  reader %.2f M lookups/s", rd.median / 1e6);
		else if (readers)
			printf("  reader n/a (phase too short)");
		printf("\n");
		if (csv)
			fprintf(csv, "%s,%s,%zu,%d,%s,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%u\n", br->name,
				br->family, br->rs->n, readers, op_name[op], s.median, s.min, s.max,
				(double)p50 * ns, (double)p99 * ns, rd.median, o->repeat);
	}
	if (readers) {
		struct bench_summary idle;

		bench_summarize(r->rd_rate[OP_N], o->repeat, &idle);
		printf("%-11s reader alone on the full set: %.2f M lookups/s\n", label,
		       idle.median / 1e6);
		if (csv)
			fprintf(csv, "%s,%s,%zu,1,idle,0,0,0,0,0,%.0f,%u\n", br->name, br->family,
				br->rs->n, idle.median, o->repeat);
	}
}

/* rte_acl: a full rebuild after one change; @return changes/s (0: not run). */
static double acl_rebuild(const struct bench_rules *br, const struct bench_opts *o, FILE *csv,
			  struct rng *rng)
{
#ifdef HAVE_RTE_ACL
	struct acl_peer *p = NULL;
	const char *why = "", *mode = "";
	unsigned times = br->rs->n <= 20000 ? (o->repeat < 3 ? o->repeat : 3) : 1;
	double ms[BENCH_MAX_REPEAT];
	struct bench_summary s;
	int rc;

	if (o->no_acl) {
		printf("rte_acl: left out (--no-acl)\n");
		return 0;
	}
	if (acl_peer_eal_init(o->core, o->acl_mem_mb, o->no_huge, &mode))
		return 0;
	(void)bench_pin(o->core);
	rc = acl_peer_create(br->rs, &p, &why);
	if (rc) {
		printf("rte_acl: %s (%s)\n", why, strerror(-rc));
		return 0;
	}
	printf("rte_acl: first build %.1f ms (EAL on %s)\n", p->build_ms, mode);
	for (unsigned i = 0; i < times; i++) {
		/* one rule less (rte_acl cannot build an empty context: with a single
		 * rule, the change rebuilds it unchanged) */
		rc = acl_peer_rebuild(p, br->rs->n > 1 ? (size_t)rng_range(rng, 0, br->rs->n - 1)
						       : SIZE_MAX);
		if (rc) {
			printf("rte_acl: rebuild failed: %s\n", strerror(-rc));
			acl_peer_free(p);
			return 0;
		}
		ms[i] = p->build_ms;
	}
	acl_peer_free(p);
	bench_summarize(ms, times, &s);
	printf("rte_acl: rebuild after one change (reset + add %zu rules + build): %.1f ms "
	       "[%.1f..%.1f] over %u = %.2f changes/s\n", br->rs->n > 1 ? br->rs->n - 1 : 1, s.median, s.min, s.max,
	       times, 1e3 / s.median);
	if (csv)
		fprintf(csv, "%s,%s,%zu,0,rte_acl_rebuild,%.3f,%.3f,%.3f,%.0f,%.0f,0,%u\n", br->name,
			br->family, br->rs->n, 1e3 / s.median, 1e3 / s.max, 1e3 / s.min,
			s.median * 1e6, s.max * 1e6, times);
	return 1e3 / s.median;
#else
	(void)br;
	(void)o;
	(void)csv;
	(void)rng;
	printf("rte_acl: not built (DPDK was not found at build time)\n");
	return 0;
#endif
}

static const char update_usage[] =
	"usage: ncbench update [--rules FILE | --gen acl|fw|ipc --size N --seed S]\n"
	"                      [--trace FILE | --trace-size N] [--burst N] [--seconds S]\n"
	"                      [--repeat N] [--core N] [--no-acl] [--acl-mem MB] [--no-huge]\n"
	"                      [--csv FILE]\n"
	"  Inserts every rule one by one (cls_insert + cls_publish), then at full size\n"
	"  deletes and re-inserts each (churn), then deletes them one by one, in random\n"
	"  order: changes/s, p50/p99 latency; once alone, once with a\n"
	"  reader doing bulk lookups on another core (QSBR reclamation); then the time\n"
	"  rte_acl needs to rebuild after one change.  Rates are per second of the\n"
	"  thread's CPU time (the machine may be shared); latencies are wall time.\n";

int ncbench_update(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_rules br;
	struct trace t = { 0 };
	struct result *res = NULL;
	struct reader rd;
	size_t *perm = NULL;
	const struct cls_key **kptr = NULL;
	FILE *csv = NULL;
	struct rng rng;
	double acl_cps, best = 0;
	int rc, rcpu;

	bench_opts_init(&o);
	rc = bench_parse_opts(argc, argv, OPT_RULES | OPT_TRACE | OPT_TIMING | OPT_CSV | OPT_PEER,
			      update_usage, &o);
	if (rc)
		return rc < 0 ? BENCH_OK : rc;
	if (o.csv_path && !(csv = bench_csv_open(o.csv_path, "set,family,rules,readers,op,ops_per_s,"
					       "ops_per_s_min,ops_per_s_max,p50_ns,p99_ns,"
					       "reader_lookups_per_s,repeat")))
		return BENCH_FAIL;
	rc = BENCH_FAIL;
	if (bench_load_rules(&o, &br))
		goto out_csv;
	if (o.trace_path ? trace_load(o.trace_path, &t)
			 : trace_generate(br.rs, o.trace_size ? o.trace_size : 256 * 1024, o.seed, &t))
		goto out;
	rng_seed(&rng, o.seed + 0x0da7e);
	res = calloc(2, sizeof(*res));
	perm = malloc(br.rs->n * sizeof(*perm));
	kptr = malloc((t.n ? t.n : 1) * sizeof(*kptr));
	if (!res || !perm || !kptr || t.n == 0)
		goto out;
	for (int m = 0; m < 2; m++)
		for (int op = 0; op < OP_N; op++)
			if (!(res[m].lat[op] = malloc(br.rs->n * o.repeat * sizeof(uint64_t))))
				goto out;
	for (size_t i = 0; i < t.n; i++)
		kptr[i] = &t.keys[i];
	rcpu = bench_ncpus() > 1 ? (o.core == 0 ? 1 : 0) : o.core;
	memset(&rd, 0, sizeof(rd));
	rd.kptr = kptr;
	rd.nkeys = t.n;
	rd.burst = o.burst;
	rd.cpu = rcpu;
	(void)bench_pin(o.core);
	printf("ncbench update: rules %s (%zu), writer on CPU %d, reader on CPU %d%s, %s, "
	       "%u repeats\n", br.name, br.rs->n, o.core, rcpu,
	       rcpu == o.core ? " (one CPU only: they share it)" : "", bench_qsbr_name(),
	       o.repeat);
	for (int m = 0; m < 2; m++)
		for (unsigned r = 0; r < o.repeat; r++)
			if (one_round(br.rs, &t, m ? &rd : NULL, &o, r, &res[m], perm, &rng))
				goto out;
	report("alone", &res[0], &o, &br, false, csv);
	report("1 reader", &res[1], &o, &br, true, csv);
	acl_cps = acl_rebuild(&br, &o, csv, &rng);
	if (acl_cps > 0) {
		struct bench_summary s;

		bench_summarize(res[0].rate[OP_INS], o.repeat, &s);
		best = s.median;
		printf("ratio_inserts_vs_rte_acl_rebuilds=%.0f\n", best / acl_cps);
	}
	rc = BENCH_OK;
out:
	if (res)
		for (int m = 0; m < 2; m++)
			for (int op = 0; op < OP_N; op++)
				free(res[m].lat[op]);
	free(res);
	free(perm);
	free(kptr);
	trace_free(&t);
	bench_rules_free(&br);
out_csv:
	if (csv && fclose(csv) && rc == BENCH_OK)
		rc = BENCH_FAIL;
	return rc;
}
