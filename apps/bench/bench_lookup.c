/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench lookup: lookups/s of lib/classify against every rte_acl algorithm
 * this CPU runs and the linear reference, on the same rules, trace and core.
 * Answers are compared for every trace key before anything is timed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "lookup.h"
#include "plot.h"
#include "stats.h"
#include "trace.h"
#ifdef HAVE_RTE_ACL
#include "acl_peer.h"
#endif

#define MAX_IMPLS 16
#define MAX_SHOWN 5 /* mismatches printed per implementation */
#define SINGLE_CHECK 262144

struct impl {
	char name[24]; /* ours, linear, rte_acl */
	char alg[64];  /* lookup code: trie/avx512, scalar, avx512x32 ... */
	bool bulk;
	void (*run)(struct impl *m, size_t start, size_t n);
	struct cls *c;
#ifdef HAVE_RTE_ACL
	struct acl_peer *acl;
	enum rte_acl_classify_alg acl_alg;
#endif
	double s_lps[BENCH_MAX_REPEAT], s_cyc[BENCH_MAX_REPEAT], s_cpu[BENCH_MAX_REPEAT];
	struct bench_summary lps, cyc, cpu;
	double build_ms;
	uint64_t memory;
};

/* What the timing loops share; one benchmark at a time per process. */
static struct {
	const struct cls_key *keys;
	const struct cls_key **kptr;
#ifdef HAVE_RTE_ACL
	const uint8_t **aptr;
#endif
	unsigned burst;
	uint64_t sink;
} L;

static void run_cls_single(struct impl *m, size_t start, size_t n)
{
	struct cls_match r;
	uint64_t s = 0;

	for (size_t i = start; i < start + n; i++) {
		cls_lookup(m->c, &L.keys[i], &r);
		s += r.id;
	}
	L.sink += s;
}

static void run_cls_bulk(struct impl *m, size_t start, size_t n)
{
	struct cls_match r[256];
	uint64_t s = 0;

	for (size_t i = start; i < start + n; i += L.burst) {
		unsigned k = (unsigned)(start + n - i < L.burst ? start + n - i : L.burst);

		cls_lookup_bulk(m->c, L.kptr + i, k, r);
		s += r[0].id;
	}
	L.sink += s;
}

#ifdef HAVE_RTE_ACL
static void run_acl_single(struct impl *m, size_t start, size_t n)
{
	uint32_t r;
	uint64_t s = 0;

	for (size_t i = start; i < start + n; i++) {
		acl_peer_classify(m->acl, m->acl_alg, L.aptr + i, &r, 1);
		s += r;
	}
	L.sink += s;
}

static void run_acl_bulk(struct impl *m, size_t start, size_t n)
{
	uint32_t r[256];
	uint64_t s = 0;

	for (size_t i = start; i < start + n; i += L.burst) {
		unsigned k = (unsigned)(start + n - i < L.burst ? start + n - i : L.burst);

		acl_peer_classify(m->acl, m->acl_alg, L.aptr + i, r, k);
		s += r[0];
	}
	L.sink += s;
}
#endif

/* Answers of m for every key (ids, CLS_NO_MATCH for none). */
static void answers(struct impl *m, size_t nkeys, uint32_t *ids)
{
	size_t i, k;

	if (m->c && !m->bulk) {
		for (i = 0; i < nkeys; i++) {
			struct cls_match r;

			cls_lookup(m->c, &L.keys[i], &r);
			ids[i] = r.id;
		}
	} else if (m->c) {
		struct cls_match r[256];

		for (i = 0; i < nkeys; i += k) {
			k = nkeys - i < L.burst ? nkeys - i : L.burst;
			cls_lookup_bulk(m->c, L.kptr + i, (unsigned)k, r);
			for (size_t j = 0; j < k; j++)
				ids[i + j] = r[j].id;
		}
	}
#ifdef HAVE_RTE_ACL
	else {
		uint32_t r[256];
		unsigned b = m->bulk ? L.burst : 1;

		for (i = 0; i < nkeys; i += k) {
			k = nkeys - i < b ? nkeys - i : b;
			acl_peer_classify(m->acl, m->acl_alg, L.aptr + i, r, (uint32_t)k);
			for (size_t j = 0; j < k; j++)
				ids[i + j] = acl_peer_id(m->acl, r[j]);
		}
	}
#endif
}

static void print_key(const struct cls_key *k)
{
	char a[16], b[16];

	if (k->family == CLS_IPV4)
		printf("%s %s %u %u %u", bench_ip4_str(k->src.v4, a), bench_ip4_str(k->dst.v4, b),
		       k->sport, k->dport, k->proto);
	else
		printf("(IPv6) %u %u %u", k->sport, k->dport, k->proto);
}

/* Compare every implementation's answers with the reference; @return mismatches. */
static size_t verify(struct impl *im, unsigned n_impl, unsigned ref, size_t nkeys)
{
	uint32_t *want = malloc(nkeys * sizeof(*want)), *got = malloc(nkeys * sizeof(*got));
	size_t total = 0, matched = 0;
	double t0 = bench_now();
	bool partial = false;

	if (!want || !got) {
		fprintf(stderr, "ncbench lookup: out of memory for verification\n");
		free(want);
		free(got);
		return SIZE_MAX;
	}
	answers(&im[ref], nkeys, want);
	for (size_t i = 0; i < nkeys; i++)
		matched += want[i] != CLS_NO_MATCH;
	for (unsigned j = 0; j < n_impl; j++) {
		/* rte_acl one key at a time is the same algorithm as its bursts, and slow:
		 * it is checked on the first SINGLE_CHECK keys; every other mode on all */
		size_t bad = 0, n = !im[j].c && !im[j].bulk && nkeys > SINGLE_CHECK ? SINGLE_CHECK
										     : nkeys;

		if (j == ref)
			continue;
		partial |= n < nkeys;
		answers(&im[j], n, got);
		for (size_t i = 0; i < n; i++) {
			if (got[i] == want[i])
				continue;
			if (bad++ < MAX_SHOWN) {
				printf("MISMATCH %s %s %s key %zu (", im[j].name, im[j].alg,
				       im[j].bulk ? "bulk" : "single", i + 1);
				print_key(&L.keys[i]);
				printf("): %s says %" PRId64 ", %s %s says %" PRId64 "\n", im[ref].name,
				       want[i] == CLS_NO_MATCH ? 0 : (int64_t)want[i], im[j].name,
				       im[j].alg, got[i] == CLS_NO_MATCH ? 0 : (int64_t)got[i]);
			}
		}
		if (bad)
			printf("MISMATCH %s %s %s: %zu of %zu keys differ from %s\n", im[j].name,
			       im[j].alg, im[j].bulk ? "bulk" : "single", bad, n, im[ref].name);
		total += bad;
	}
	printf("verify: %zu keys x %u implementations against %s %s: %s (%zu keys match a rule; "
	       "%.1f s)%s\n", nkeys, n_impl, im[ref].name, im[ref].alg,
	       total ? "MISMATCHES" : "all agree", matched, bench_now() - t0,
	       partial ? "; rte_acl single-key mode on the first 262144 keys" : "");
	free(want);
	free(got);
	return total;
}

/* Run m over the trace from *pos for about `seconds` of wall time. */
static uint64_t run_for(struct impl *m, size_t nkeys, size_t *pos, double seconds)
{
	size_t chunk = (1024 + L.burst - 1) / L.burst * L.burst;
	uint64_t deadline = bench_cycles() + (uint64_t)(bench_cycles_hz() * seconds), count = 0;

	do {
		size_t k = nkeys - *pos < chunk ? nkeys - *pos : chunk;

		m->run(m, *pos, k);
		count += k;
		*pos = *pos + k == nkeys ? 0 : *pos + k;
	} while (bench_cycles() < deadline);
	return count;
}

/*
 * Repeats go round robin over the implementations (ours, linear, rte_acl
 * alg 1, ... then again), so that a disturbance of this shared machine hits
 * them alike; each sample is preceded by a warm-up of a tenth of its length
 * (caches, TLB, branch predictors after the previous implementation).
 * Rates are per second of the thread's CPU time, cpu% is that time over wall
 * time (below ~95%: other work ran on this core meanwhile).
 */
static void measure_all(struct impl *im, unsigned n_impl, size_t nkeys,
			const struct bench_opts *o)
{
	double hz = bench_cycles_hz();
	double warm = o->seconds / 10 > 0.02 ? o->seconds / 10 : 0.02;
	size_t pos[MAX_IMPLS] = { 0 };

	for (unsigned r = 0; r < o->repeat; r++) {
		for (unsigned i = 0; i < n_impl; i++) {
			struct impl *m = &im[i];
			double w0, c0;
			uint64_t n;

			(void)run_for(m, nkeys, &pos[i], warm);
			w0 = bench_now();
			c0 = bench_thread_cpu();
			n = run_for(m, nkeys, &pos[i], o->seconds);
			c0 = bench_thread_cpu() - c0;
			w0 = bench_now() - w0;
			m->s_lps[r] = (double)n / c0;
			m->s_cyc[r] = c0 * hz / (double)n;
			m->s_cpu[r] = 100.0 * c0 / w0;
		}
	}
	for (unsigned i = 0; i < n_impl; i++) {
		bench_summarize(im[i].s_lps, o->repeat, &im[i].lps);
		bench_summarize(im[i].s_cyc, o->repeat, &im[i].cyc);
		bench_summarize(im[i].s_cpu, o->repeat, &im[i].cpu);
	}
}

/* Build a classifier of backend be from rs, `times` times; keeps the last. */
static int build_cls(const struct cls_ruleset *rs, enum cls_backend be, unsigned times,
		     struct cls **out, struct bench_summary *ms)
{
	struct cls_config cfg = { .backend = be, .reclaim = NULL };
	double t[BENCH_MAX_REPEAT];
	int rc = 0;

	*out = NULL;
	for (unsigned i = 0; i < times; i++) {
		struct cls *c;
		size_t failed = 0;
		double t0;

		rc = cls_create(&cfg, &c);
		if (rc) {
			fprintf(stderr, "ncbench lookup: cls_create: %s\n", strerror(-rc));
			return rc;
		}
		t0 = bench_now();
		rc = cls_insert_batch(c, rs->rules, rs->n, &failed);
		t[i] = (bench_now() - t0) * 1e3;
		if (rc) {
			fprintf(stderr, "ncbench lookup: cls_insert_batch: %s at rule %zu\n",
				strerror(-rc), failed + 1);
			cls_free(c);
			return rc;
		}
		cls_free(*out);
		*out = c;
	}
	bench_summarize(t, times, ms);
	return 0;
}

static void set_impl(struct impl *m, const char *name, const char *alg, bool bulk,
		     void (*run)(struct impl *, size_t, size_t))
{
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->alg, sizeof(m->alg), "%s", alg);
	m->bulk = bulk;
	m->run = run;
}

int lookup_run(const struct bench_opts *o, FILE *csv)
{
	struct impl im[MAX_IMPLS];
	unsigned n_impl = 0, ref = 0;
	struct bench_rules br;
	struct trace t = { 0 };
	struct bench_summary ours_ms = { 0 }, lin_ms = { 0 };
	struct cls *ours = NULL, *lin = NULL;
	struct cls_stats st;
	const char *acl_note = "not built (DPDK was not found at build time)";
	char simd[64];
	size_t llc = bench_llc_bytes(), mism;
	bool run_linear;
	double best_ours = 0, best_acl = 0;
	const struct impl *bo = NULL, *ba = NULL;
	int rc = BENCH_FAIL, prc;
#ifdef HAVE_RTE_ACL
	struct acl_peer *acl = NULL;
	void *akeys = NULL;
	const char *eal_mode = "";
	bool eal_ok = false;
#endif

	memset(im, 0, sizeof(im));
	memset(&L, 0, sizeof(L));
	L.burst = o->burst;
#ifdef HAVE_RTE_ACL
	if (o->no_acl)
		acl_note = "left out (--no-acl)";
	else if (acl_peer_eal_init(o->core, o->acl_mem_mb, o->no_huge, &eal_mode))
		acl_note = "EAL did not start (see above)";
	else
		eal_ok = true;
#else
	if (o->no_acl)
		acl_note = "left out (--no-acl)";
#endif
	prc = bench_pin(o->core);
	if (prc)
		fprintf(stderr, "ncbench lookup: cannot pin to CPU %d: %s\n", o->core,
			strerror(-prc));
	if (bench_load_rules(o, &br))
		return BENCH_FAIL;
	if (o->trace_path ? trace_load(o->trace_path, &t)
			  : trace_generate(br.rs, o->trace_size ? o->trace_size
								: trace_default_size(br.rs->n),
					   o->seed, &t))
		goto out;
	if (t.n == 0) {
		fprintf(stderr, "ncbench lookup: %s: no keys\n", t.name);
		goto out;
	}
	L.keys = t.keys;
	L.kptr = malloc(t.n * sizeof(*L.kptr));
	if (!L.kptr)
		goto out;
	for (size_t i = 0; i < t.n; i++)
		L.kptr[i] = &t.keys[i];

	printf("ncbench lookup: rules %s (%zu: %zu IPv4, %zu IPv6; parsed in %.1f ms)\n", br.name,
	       br.rs->n, br.n_ipv4, br.n_ipv6, br.parse_ms);
	printf("trace %s: %zu keys, %.1f MB as cls_key, %.1f MB as rte_acl keys; LLC %.0f MB\n",
	       t.name, t.n, (double)t.n * sizeof(struct cls_key) / 1048576.0,
	       (double)t.n * 16 / 1048576.0, (double)llc / 1048576.0);
	if (br.rs->n >= 50000 && (double)t.n * 16 < (double)llc)
		printf("note: this trace fits in the last-level cache, which flatters every "
		       "implementation; leave out --trace for a generated one of %zu keys\n",
		       trace_default_size(br.rs->n));
	printf("core %d, burst %u, %u repeats x %.2f s (median [min..max]), TSC %.2f GHz; rates "
	       "per second of thread CPU time\n", o->core, o->burst, o->repeat, o->seconds,
	       bench_cycles_hz() / 1e9);

	/* ours */
	if (build_cls(br.rs, CLS_BACKEND_TRIE, o->repeat, &ours, &ours_ms))
		goto out;
	cls_stats(ours, &st);
	snprintf(simd, sizeof(simd), "%s/%s", cls_backend_name(ours), cls_simd_name(ours));
	printf("build ours (%s): %.2f ms [%.2f..%.2f] by cls_insert_batch, %" PRIu64
	       " bytes, %.1f bytes/rule, %" PRIu32 " partitions, %" PRIu32 " boxes\n", simd,
	       ours_ms.median, ours_ms.min, ours_ms.max, st.memory_bytes,
	       (double)st.memory_bytes / (double)br.rs->n, st.partitions, st.boxes);
	fflush(stdout); /* progress: the rte_acl build may take seconds */
	for (int b = 0; b < 2; b++) {
		set_impl(&im[n_impl], "ours", simd, b, b ? run_cls_bulk : run_cls_single);
		im[n_impl].c = ours;
		im[n_impl].build_ms = ours_ms.median;
		im[n_impl++].memory = st.memory_bytes;
	}

	/* the linear reference: the oracle when it runs */
	run_linear = o->force_linear || (!o->no_linear && br.rs->n <= 10000);
	if (run_linear) {
		if (build_cls(br.rs, CLS_BACKEND_LINEAR, 1, &lin, &lin_ms))
			goto out;
		cls_stats(lin, &st);
		printf("build linear: %.2f ms, %" PRIu64 " bytes, %.1f bytes/rule\n", lin_ms.median,
		       st.memory_bytes, (double)st.memory_bytes / (double)br.rs->n);
		for (int b = 0; b < 2; b++) {
			set_impl(&im[n_impl], "linear", cls_simd_name(lin), b,
				 b ? run_cls_bulk : run_cls_single);
			im[n_impl].c = lin;
			im[n_impl].build_ms = lin_ms.median;
			im[n_impl++].memory = st.memory_bytes;
		}
		ref = n_impl - 2;
	} else {
		printf("linear: left out (%zu rules; --linear runs it)\n", br.rs->n);
	}

#ifdef HAVE_RTE_ACL
	if (eal_ok) {
		const char *why = "";
		int arc = acl_peer_create(br.rs, &acl, &why);

		if (arc == 0 && acl_peer_keys(acl, &t, &akeys, &L.aptr) != 0) {
			why = "trace keys are not of the rules' family (or out of memory)";
			arc = -ENOTSUP;
		}
		if (arc == -ENOTSUP) {
			acl_note = why;
		} else if (arc) { /* e.g. -ENOMEM: ours is still measured, the ratio is n/a */
			fprintf(stderr, "ncbench lookup: rte_acl: %s: %s\n", why, strerror(-arc));
			acl_note = "could not be built (see above; --acl-mem raises EAL memory)";
		} else {
			uint64_t mem = acl->rule_bytes + acl->runtime_bytes;

			acl_note = NULL;
			printf("build rte_acl (%zu acl rules, EAL on %s): %.2f ms by rte_acl_add_rules + "
			       "rte_acl_build, %" PRIu64 " bytes (rule store %" PRIu64
			       " + runtime %" PRIu64 "), %.1f bytes/rule\n",
			       acl->n_acl_rules, eal_mode, acl->build_ms, mem, acl->rule_bytes,
			       acl->runtime_bytes, (double)mem / (double)br.rs->n);
			for (unsigned a = 0; a < acl->n_algs; a++) {
				for (int b = 0; b < 2; b++) {
					set_impl(&im[n_impl], "rte_acl", acl->algs[a].name, b,
						 b ? run_acl_bulk : run_acl_single);
					im[n_impl].acl = acl;
					im[n_impl].acl_alg = acl->algs[a].alg;
					im[n_impl].build_ms = acl->build_ms;
					im[n_impl++].memory = mem;
				}
			}
		}
	}
#endif
	if (acl_note)
		printf("rte_acl: %s\n", acl_note);
	fflush(stdout);

	mism = verify(im, n_impl, ref, t.n);
	if (mism) {
		fprintf(stderr, "ncbench lookup: answers differ (%s); nothing timed\n",
			mism == SIZE_MAX ? "not verified" : "see MISMATCH lines");
		goto out;
	}

	printf("measuring %u implementations x %u repeats x %.2f s, round robin ...\n", n_impl,
	       o->repeat, o->seconds);
	fflush(stdout);
	measure_all(im, n_impl, t.n, o);
	printf("%-8s %-22s %-6s %11s %23s %10s %5s\n", "impl", "code", "mode", "Mlookups/s",
	       "[min..max]", "cyc/lookup", "cpu%");
	for (unsigned i = 0; i < n_impl; i++) {
		struct impl *m = &im[i];
		char range[40];

		snprintf(range, sizeof(range), "[%.2f..%.2f]", m->lps.min / 1e6, m->lps.max / 1e6);
		printf("%-8s %-22s %-6s %11.2f %23s %10.1f %5.0f\n", m->name, m->alg,
		       m->bulk ? "bulk" : "single", m->lps.median / 1e6, range, m->cyc.median,
		       m->cpu.median);
		if (!strcmp(m->name, "ours") && m->lps.median > best_ours) {
			best_ours = m->lps.median;
			bo = m;
		}
		if (!strcmp(m->name, "rte_acl") && m->lps.median > best_acl) {
			best_acl = m->lps.median;
			ba = m;
		}
		if (csv)
			fprintf(csv, "%s,%s,%zu,%s,%zu,%s,%s,%s,%u,%.0f,%.0f,%.0f,%.1f,%.3f,%" PRIu64
				",%.1f,%d,%u,%.2f,%.0f\n", br.name, br.family, br.rs->n,
				o->trace_path ? t.name : "generated", t.n, m->name, m->alg,
				m->bulk ? "bulk" : "single", o->burst, m->lps.median, m->lps.min,
				m->lps.max, m->cyc.median, m->build_ms, m->memory,
				(double)m->memory / (double)br.rs->n, o->core, o->repeat, o->seconds,
				m->cpu.median);
	}
	if (bo)
		printf("ours best: %.2f M/s (%s)\n", best_ours / 1e6, bo->bulk ? "bulk" : "single");
	if (ba) {
		printf("rte_acl best: %.2f M/s (%s %s)\n", best_acl / 1e6, ba->alg,
		       ba->bulk ? "bulk" : "single");
		printf("ratio_vs_rte_acl_best=%.2f\n", best_ours / best_acl);
	} else {
		printf("ratio_vs_rte_acl_best=n/a\n");
	}
	rc = BENCH_OK;
out:
	if (L.sink == 42) /* keeps the timed loops' results alive */
		fputc('\n', stderr);
#ifdef HAVE_RTE_ACL
	acl_peer_free(acl);
	free(akeys);
	free(L.aptr);
#endif
	free(L.kptr);
	cls_free(ours);
	cls_free(lin);
	trace_free(&t);
	bench_rules_free(&br);
	return rc;
}

static const char lookup_usage[] =
	"usage: ncbench lookup [--rules FILE | --gen acl|fw|ipc --size N --seed S]\n"
	"                      [--trace FILE | --trace-size N] [--burst N] [--seconds S]\n"
	"                      [--repeat N] [--core N] [--no-acl] [--no-linear | --linear]\n"
	"                      [--acl-mem MB] [--no-huge] [--csv FILE] [--svg FILE]\n"
	"  Single and bulk lookups/s of lib/classify, each rte_acl algorithm and (<= 10K\n"
	"  rules) the linear reference, after checking they all give the same answers.\n"
	"  Without --rules an acl set of 10000 rules is generated (seed 1); without\n"
	"  --trace keys are generated from the rules.  Defaults: burst 32, 5 repeats of\n"
	"  1 s each, core 1.  The last line is ratio_vs_rte_acl_best=X.XX.\n";

int ncbench_lookup(int argc, char **argv)
{
	struct bench_opts o;
	FILE *csv = NULL;
	int rc;

	bench_opts_init(&o);
	rc = bench_parse_opts(argc, argv, OPT_RULES | OPT_TRACE | OPT_TIMING | OPT_CSV | OPT_SVG |
						  OPT_PEER, lookup_usage, &o);
	if (rc)
		return rc < 0 ? BENCH_OK : rc;
	if (o.csv_path && !(csv = bench_csv_open(o.csv_path, LOOKUP_CSV_HEADER)))
		return BENCH_FAIL;
	if (!csv && o.svg_path) { /* the plot reads a CSV: keep this run's rows in one */
		csv = tmpfile();
		if (csv)
			fprintf(csv, "%s\n", LOOKUP_CSV_HEADER);
	}
	rc = lookup_run(&o, csv);
	if (rc == BENCH_OK && o.svg_path && csv) {
		fflush(csv);
		rc = plot_svg_stream(csv, o.svg_path, "ncbench lookup");
	}
	if (csv && fclose(csv) && rc == BENCH_OK) {
		fprintf(stderr, "ncbench lookup: %s: write error\n", o.csv_path);
		rc = BENCH_FAIL;
	}
	return rc;
}
