/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench flow — flow-table lookups/s: lib/netchannel nc_flow against
 * DPDK's rte_hash used directly, with the same keys, in the same run.
 *
 * For each size N (--sizes, default 1M and 10M) both tables are filled with
 * the same N unique IPv4 5-tuple keys (struct nc_flow_key, 48 bytes) and
 * configured alike (lock-free readers, extendable buckets, CRC hash).  A
 * trace of keys drawn uniformly from the N (all hits) is then looked up one
 * at a time and in bursts (--burst, default 32), round robin between the two
 * tables for --repeat rounds of --seconds each.  nc_flow also stores a
 * last-seen time on every hit (as the NAT does); rte_hash only returns its
 * data pointer.  Rates are per second of the thread's CPU time.
 *
 * Output: per size and mode, Mlookups/s median [min..max] for both, and
 * ratio=nc_flow/rte_hash.  --csv FILE appends rows:
 *   size,impl,mode,burst,mlps_median,mlps_min,mlps_max,insert_mps,bytes_per_entry,ratio
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "bench.h"
#include "commands.h"
#include "nc_flow.h"
#include "rng.h"
#include "stats.h"

#define FLOW_CSV_HEADER                                                                   \
	"size,impl,mode,burst,mlps_median,mlps_min,mlps_max,insert_mps,bytes_per_entry,ratio"
#define TRACE_KEYS (1u << 21)
#define MAX_SIZES 8
#define MAX_REPEAT 64

static const char usage_text[] =
	"usage: ncbench flow [--sizes N[,N...]] [--seconds S] [--repeat R] [--burst B]\n"
	"                    [--core C] [--seed S] [--mem MB] [--csv FILE]\n"
	"  flow-table lookups/s, nc_flow against rte_hash directly, same keys.\n"
	"  --sizes    table sizes (default 1000000,10000000; k/M suffixes allowed)\n"
	"  --seconds  per measurement (default 0.5)    --repeat  rounds (default 3)\n"
	"  --burst    keys per bulk lookup, 1..64 (default 32)\n"
	"  --core     CPU to pin to (default 0)         --seed    key seed (default 1)\n"
	"  --mem      EAL memory in MB without hugepages (default: from the sizes)\n"
	"  --csv      append result rows to FILE\n";

struct flow_opts {
	uint64_t sizes[MAX_SIZES];
	unsigned n_sizes;
	double seconds;
	unsigned repeat, burst;
	int core;
	uint64_t seed;
	unsigned mem_mb;
	const char *csv;
};

enum impl { IMPL_NC, IMPL_RTE, IMPL_COUNT };
static const char *const impl_name[IMPL_COUNT] = {"nc_flow", "rte_hash"};

struct tables {
	struct nc_flow *nc;
	struct rte_hash *rh;
	double insert_mps[IMPL_COUNT];
	double bytes_per_entry[IMPL_COUNT];
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 1)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6, end++;
	if (*end != '\0' || v > (double)(1u << 30))
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct flow_opts *o)
{
	static const struct option lo[] = {
		{"sizes", required_argument, NULL, 'n'}, {"seconds", required_argument, NULL, 's'},
		{"repeat", required_argument, NULL, 'r'}, {"burst", required_argument, NULL, 'b'},
		{"core", required_argument, NULL, 'c'},   {"seed", required_argument, NULL, 'S'},
		{"mem", required_argument, NULL, 'm'},    {"csv", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->sizes[0] = 1000000;
	o->sizes[1] = 10000000;
	o->n_sizes = 2;
	o->seconds = 0.5;
	o->repeat = 3;
	o->burst = 32;
	o->seed = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *list = strdup(optarg), *save = NULL, *tok;

			o->n_sizes = 0;
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (o->n_sizes == MAX_SIZES || parse_size(tok, &o->sizes[o->n_sizes]) != 0) {
					fprintf(stderr, "ncbench flow: bad --sizes '%s'\n", optarg);
					free(list);
					return BENCH_USAGE;
				}
				o->n_sizes++;
			}
			free(list);
			if (o->n_sizes == 0)
				goto bad;
			break;
		}
		case 's':
			o->seconds = strtod(optarg, NULL);
			if (!(o->seconds > 0 && o->seconds <= 60))
				goto bad;
			break;
		case 'r':
			if (bench_parse_u64(optarg, 1, MAX_REPEAT, &v) != 0)
				goto bad;
			o->repeat = (unsigned)v;
			break;
		case 'b':
			if (bench_parse_u64(optarg, 1, NC_FLOW_BULK_MAX, &v) != 0)
				goto bad;
			o->burst = (unsigned)v;
			break;
		case 'c':
			if (bench_parse_u64(optarg, 0, 4095, &v) != 0)
				goto bad;
			o->core = (int)v;
			break;
		case 'S':
			if (bench_parse_u64(optarg, 0, UINT64_MAX, &v) != 0)
				goto bad;
			o->seed = v;
			break;
		case 'm':
			if (bench_parse_u64(optarg, 64, 1u << 20, &v) != 0)
				goto bad;
			o->mem_mb = (unsigned)v;
			break;
		case 'o':
			o->csv = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return 0;
bad:
	fputs(usage_text, stderr);
	return BENCH_USAGE;
}

static int eal_up(int core, unsigned mem_mb)
{
	char lcores[16], mem[16], prefix[48];
	char *argv[] = {"ncbench", "-l", lcores, "--no-pci", "--no-huge", "-m", mem, prefix,
			"--no-shconf", "--no-telemetry", "--log-level=4", NULL};

	snprintf(lcores, sizeof(lcores), "%d", core);
	snprintf(mem, sizeof(mem), "%u", mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=ncbench-flow-%ld", (long)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "ncbench flow: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* Key i: a unique source address (an odd multiplier is a bijection of the
 * 32-bit space), the rest random. */
static void make_key(struct nc_flow_key *k, uint64_t i, struct rng *r)
{
	union cls_addr s, d;
	uint64_t x = rng_next(r);

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.v4 = (uint32_t)(i * 0x9e3779b1u);
	d.v4 = (uint32_t)x;
	nc_flow_key_set(k, 0, CLS_IPV4, (x >> 32) & 1 ? 6 : 17, &s, &d,
			(uint16_t)(x >> 33), (uint16_t)(x >> 49));
}

static size_t heap_used(void)
{
	struct rte_malloc_socket_stats st;
	size_t used = 0;

	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats((int)s, &st) == 0)
			used += st.heap_allocsz_bytes;
	return used;
}

static int build(uint64_t n, const struct nc_flow_key *keys, struct tables *tb)
{
	struct nc_flow_config cfg = {.entries = (uint32_t)n, .socket_id = -1};
	struct rte_hash_parameters hp;
	size_t before;
	double t0;
	int rc;

	memset(tb, 0, sizeof(*tb));
	before = heap_used();
	t0 = bench_thread_cpu();
	rc = nc_flow_create(&cfg, &tb->nc);
	if (rc != 0) {
		fprintf(stderr, "ncbench flow: nc_flow_create(%" PRIu64 "): %s\n", n, strerror(-rc));
		return -1;
	}
	for (uint64_t i = 0; i < n; i++) {
		rc = nc_flow_add(tb->nc, &keys[i], (void *)(uintptr_t)(i + 1), 1, 1000);
		if (rc != 0) {
			fprintf(stderr, "ncbench flow: nc_flow_add #%" PRIu64 ": %s\n", i, strerror(-rc));
			return -1;
		}
	}
	tb->insert_mps[IMPL_NC] = n / (bench_thread_cpu() - t0) / 1e6;
	tb->bytes_per_entry[IMPL_NC] = (double)(heap_used() - before) / n;

	/* The same rte_hash set-up nc_flow uses, data = a value pointer. */
	memset(&hp, 0, sizeof(hp));
	hp.name = "ncbench_flow_raw";
	hp.entries = (uint32_t)(n < 8 ? 8 : n);
	hp.key_len = sizeof(struct nc_flow_key);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = SOCKET_ID_ANY;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	before = heap_used();
	t0 = bench_thread_cpu();
	tb->rh = rte_hash_create(&hp);
	if (tb->rh == NULL) {
		fprintf(stderr, "ncbench flow: rte_hash_create(%" PRIu64 "): %s\n", n,
			rte_strerror(rte_errno));
		return -1;
	}
	for (uint64_t i = 0; i < n; i++) {
		rc = rte_hash_add_key_data(tb->rh, &keys[i], (void *)(uintptr_t)(i + 1));
		if (rc != 0) {
			fprintf(stderr, "ncbench flow: rte_hash_add_key_data #%" PRIu64 ": %s\n", i,
				strerror(-rc));
			return -1;
		}
	}
	tb->insert_mps[IMPL_RTE] = n / (bench_thread_cpu() - t0) / 1e6;
	tb->bytes_per_entry[IMPL_RTE] = (double)(heap_used() - before) / n;
	return 0;
}

static void unbuild(struct tables *tb)
{
	nc_flow_free(tb->nc);
	rte_hash_free(tb->rh);
	memset(tb, 0, sizeof(*tb));
}

/* One timed run; returns lookups per CPU second, or -1 on a wrong answer. */
static double run(enum impl im, bool bulk, unsigned burst, const struct tables *tb,
		  const struct nc_flow_key *trace, double seconds)
{
	const struct nc_flow_key *kp[NC_FLOW_BULK_MAX];
	void *vals[NC_FLOW_BULK_MAX];
	uint64_t done = 0, hits = 0, now = 2, mask;
	double c0 = bench_thread_cpu(), w0 = bench_now();
	size_t pos = 0;

	do {
		/* Check the clock every 64K lookups. */
		for (unsigned chunk = 0; chunk < 65536; chunk += burst) {
			if (pos + burst > TRACE_KEYS)
				pos = 0;
			if (!bulk) {
				for (unsigned j = 0; j < burst; j++) {
					void *v;

					if (im == IMPL_NC)
						hits += nc_flow_lookup(tb->nc, &trace[pos + j], now, &v) == 0;
					else
						hits += rte_hash_lookup_data(tb->rh, &trace[pos + j], &v) >= 0;
				}
			} else {
				for (unsigned j = 0; j < burst; j++)
					kp[j] = &trace[pos + j];
				if (im == IMPL_NC)
					hits += (uint64_t)nc_flow_lookup_bulk(tb->nc, kp, burst, now, vals,
									      &mask);
				else
					hits += (uint64_t)rte_hash_lookup_bulk_data(
						tb->rh, (const void **)kp, burst, &mask, vals);
			}
			pos += burst;
			done += burst;
		}
	} while (bench_now() - w0 < seconds);
	if (hits != done)
		return -1;
	return (double)done / (bench_thread_cpu() - c0);
}

static int bench_size(const struct flow_opts *o, uint64_t n, FILE *csv)
{
	struct nc_flow_key *keys = NULL, *trace = NULL;
	double lps[2][IMPL_COUNT][MAX_REPEAT];
	struct bench_summary sum[2][IMPL_COUNT];
	struct tables tb;
	struct rng r;
	int ret = BENCH_FAIL;

	keys = malloc(n * sizeof(*keys));
	trace = malloc((size_t)TRACE_KEYS * sizeof(*trace));
	if (keys == NULL || trace == NULL) {
		fprintf(stderr, "ncbench flow: out of memory for %" PRIu64 " keys\n", n);
		goto out;
	}
	rng_seed(&r, o->seed);
	for (uint64_t i = 0; i < n; i++)
		make_key(&keys[i], i, &r);
	for (size_t i = 0; i < TRACE_KEYS; i++)
		trace[i] = keys[rng_next(&r) % n];
	if (build(n, keys, &tb) != 0) {
		unbuild(&tb);
		goto out;
	}
	printf("size %" PRIu64 ": insert %.2f M/s nc_flow, %.2f M/s rte_hash; memory %.0f B/entry "
	       "nc_flow, %.0f B/entry rte_hash\n", n, tb.insert_mps[IMPL_NC],
	       tb.insert_mps[IMPL_RTE], tb.bytes_per_entry[IMPL_NC], tb.bytes_per_entry[IMPL_RTE]);
	fflush(stdout);
	for (unsigned rep = 0; rep < o->repeat; rep++)
		for (int bulk = 0; bulk < 2; bulk++)
			for (int im = 0; im < IMPL_COUNT; im++) {
				double v = run((enum impl)im, bulk, bulk ? o->burst : 1, &tb, trace,
					       o->seconds);

				if (v < 0) {
					fprintf(stderr, "ncbench flow: %s missed keys it holds\n",
						impl_name[im]);
					unbuild(&tb);
					goto out;
				}
				lps[bulk][im][rep] = v;
			}
	for (int bulk = 0; bulk < 2; bulk++) {
		for (int im = 0; im < IMPL_COUNT; im++)
			bench_summarize(lps[bulk][im], o->repeat, &sum[bulk][im]);
		double ratio = sum[bulk][IMPL_NC].median / sum[bulk][IMPL_RTE].median;

		for (int im = 0; im < IMPL_COUNT; im++) {
			const struct bench_summary *s = &sum[bulk][im];

			printf("%-10" PRIu64 " %-9s %-7s %11.2f  [%.2f..%.2f]\n", n, impl_name[im],
			       bulk ? "bulk" : "single", s->median / 1e6, s->min / 1e6, s->max / 1e6);
			if (csv)
				fprintf(csv, "%" PRIu64 ",%s,%s,%u,%.3f,%.3f,%.3f,%.3f,%.1f,%.3f\n", n,
					impl_name[im], bulk ? "bulk" : "single", bulk ? o->burst : 1,
					s->median / 1e6, s->min / 1e6, s->max / 1e6, tb.insert_mps[im],
					tb.bytes_per_entry[im], im == IMPL_NC ? ratio : 1.0);
		}
		printf("ratio_%s_%" PRIu64 "=%.2f (nc_flow / rte_hash)\n", bulk ? "bulk" : "single", n,
		       ratio);
	}
	fflush(stdout);
	unbuild(&tb);
	ret = BENCH_OK;
out:
	free(keys);
	free(trace);
	return ret;
}

int ncbench_flow(int argc, char **argv)
{
	struct flow_opts o;
	FILE *csv = NULL;
	uint64_t biggest = 0;
	int rc;

	rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? BENCH_OK : rc;
	for (unsigned i = 0; i < o.n_sizes; i++)
		biggest = o.sizes[i] > biggest ? o.sizes[i] : biggest;
	if (o.mem_mb == 0) /* both tables at once: ~120 B/entry each, and slack */
		o.mem_mb = (unsigned)(biggest * 300 / (1u << 20)) + 256;
	if (bench_pin(o.core) != 0)
		fprintf(stderr, "ncbench flow: cannot pin to CPU %d (running unpinned)\n", o.core);
	if (eal_up(o.core, o.mem_mb) != 0)
		return BENCH_FAIL;
	if (o.csv && !(csv = bench_csv_open(o.csv, FLOW_CSV_HEADER)))
		return BENCH_FAIL;
	printf("ncbench flow: core %d, EAL without hugepages (-m %u), %u repeats x %.2f s, burst %u, "
	       "trace %u keys (all hits), rates per CPU second\n", o.core, o.mem_mb, o.repeat,
	       o.seconds, o.burst, TRACE_KEYS);
	printf("%-10s %-9s %-7s %11s  %s\n", "size", "impl", "mode", "Mlookups/s", "[min..max]");
	for (unsigned i = 0; i < o.n_sizes && rc == 0; i++)
		rc = bench_size(&o, o.sizes[i], csv);
	if (csv)
		fclose(csv);
	rte_eal_cleanup();
	return rc;
}
