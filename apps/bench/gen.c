/* SPDX-License-Identifier: BSD-3-Clause */
/* ncbench gen: ClassBench-like rule sets without data files (see gen.h). */
#include "gen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "rng.h"
#include "trace.h"

enum port_class { PC_WC, PC_HI, PC_LO, PC_EM, PC_AR, PC_N };
enum proto_class { PR_TCP, PR_UDP, PR_ICMP, PR_ANY, PR_OTHER, PR_N };

/* A prefix length and its weight. */
struct len_w {
	unsigned len;
	double w;
};

#define N_LENS 10

struct family {
	const char *name;
	struct len_w src[N_LENS], dst[N_LENS];
	double sport[PC_N], dport[PC_N];
	double proto[PR_N];
	unsigned sites_div; /* hot addresses per address field = n / sites_div + 4 */
	double p_exact;     /* share of rules using a hot address itself */
};

/*
 * Shares (percent) measured on the ClassBench sets made from the published
 * seeds (acl1, fw1, ipc1 at 10K rules): ACLs name hosts (/32, /31) and exact
 * destination ports over TCP; firewalls mix very short prefixes (/0, /1)
 * with host ones and use UDP and GRE more; IP chains spread prefix lengths
 * over /22../32 and have many any-protocol rules.
 */
static const struct family families[] = {
	{ "acl",
	  { { 32, 69 }, { 31, 19 }, { 23, 4 }, { 30, 3 }, { 24, 2 }, { 22, 1 }, { 29, 0.5 },
	    { 25, 0.5 }, { 0, 0.5 }, { 21, 0.5 } },
	  { { 32, 68 }, { 31, 15 }, { 22, 4 }, { 30, 2 }, { 24, 2 }, { 23, 2 }, { 25, 2 },
	    { 21, 1 }, { 16, 1 }, { 26, 0.5 } },
	  { [PC_WC] = 100 },
	  { [PC_WC] = 32, [PC_EM] = 57, [PC_AR] = 11 },
	  { [PR_TCP] = 87, [PR_UDP] = 1, [PR_ICMP] = 3, [PR_ANY] = 8, [PR_OTHER] = 1 },
	  4, 0.6 },
	{ "fw",
	  { { 0, 28 }, { 1, 25 }, { 32, 19 }, { 31, 10 }, { 2, 6 }, { 30, 3 }, { 29, 2 },
	    { 28, 2 }, { 27, 1 }, { 26, 1 } },
	  { { 32, 45 }, { 31, 21 }, { 0, 13 }, { 1, 10 }, { 30, 4 }, { 2, 2 }, { 21, 1 },
	    { 28, 1 }, { 29, 1 }, { 22, 1 } },
	  { [PC_WC] = 78, [PC_HI] = 8, [PC_EM] = 13, [PC_AR] = 1 },
	  { [PC_WC] = 32, [PC_HI] = 8, [PC_EM] = 60, [PC_AR] = 0.5 },
	  { [PR_TCP] = 58, [PR_UDP] = 32, [PR_ICMP] = 4, [PR_ANY] = 1, [PR_OTHER] = 6 },
	  2, 0.5 },
	{ "ipc",
	  { { 32, 27 }, { 24, 14 }, { 23, 11 }, { 31, 10 }, { 25, 9 }, { 26, 5 }, { 22, 4 },
	    { 0, 3 }, { 27, 3 }, { 1, 2 } },
	  { { 32, 34 }, { 24, 12 }, { 25, 11 }, { 31, 10 }, { 23, 7 }, { 26, 7 }, { 27, 4 },
	    { 28, 3 }, { 0, 2 }, { 16, 2 } },
	  { [PC_WC] = 83, [PC_EM] = 15, [PC_AR] = 2 },
	  { [PC_WC] = 55, [PC_HI] = 6, [PC_EM] = 36, [PC_AR] = 3 },
	  { [PR_TCP] = 27, [PR_UDP] = 38, [PR_ICMP] = 1, [PR_ANY] = 33, [PR_OTHER] = 1 },
	  8, 0.7 },
};

/* Well-known ports, most popular first (drawn with a skew). */
static const uint16_t popular_ports[] = {
	80, 443, 53, 25, 22, 21, 23, 110, 143, 135, 137, 139, 445, 123, 161, 162, 389, 1433,
	1521, 3306, 3389, 5060, 8080, 8443, 1723, 500, 4500, 179, 5900, 6000, 1494, 119,
};
#define N_POPULAR (sizeof(popular_ports) / sizeof(popular_ports[0]))

/* Common arbitrary ranges (ClassBench's AR class is mostly a few of these). */
static const uint16_t common_ranges[][2] = {
	{ 1024, 5000 }, { 6000, 6063 }, { 20, 21 }, { 137, 139 }, { 5000, 5100 },
	{ 8000, 8100 }, { 33434, 33534 }, { 49152, 65535 }, { 10000, 20000 }, { 1, 1023 },
};
#define N_RANGES (sizeof(common_ranges) / sizeof(common_ranges[0]))

/* A set's shared pools: hot addresses (sites) and the few port values a real
 * policy uses (the 10K ClassBench sets have 13..34 distinct source and
 * 43..108 distinct destination port values). */
#define N_PORT_POOL 128
#define N_RANGE_POOL 6

struct gctx {
	struct rng r;
	const struct family *f;
	uint32_t *ssites, *dsites, n_sites;
	uint16_t ports[2][N_PORT_POOL]; /* source, destination: exact values in use */
	unsigned n_ports[2];
	uint16_t ranges[N_RANGE_POOL][2];
};

struct grule {
	uint32_t src, dst;
	uint8_t slen, dlen, proto, pmask;
	uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
	uint32_t order; /* generation order: ties keep it */
	int score;      /* specificity: larger first */
};

static unsigned pick_len(struct rng *r, const struct len_w *t)
{
	double w[N_LENS];

	for (int i = 0; i < N_LENS; i++)
		w[i] = t[i].w;
	return t[rng_pick(r, w, N_LENS)].len;
}

/* Skewed index in [0, n): small indices far more often (popular sites/ports). */
static uint32_t skewed(struct rng *r, uint32_t n)
{
	double u = rng_unit(r);

	return (uint32_t)(u * u * u * n) % n;
}

static uint32_t mask_of(unsigned len)
{
	return len ? ~0u << (32 - len) : 0;
}

static void gen_port(struct gctx *x, int dst, uint16_t *lo, uint16_t *hi)
{
	struct rng *r = &x->r;

	switch (rng_pick(r, dst ? x->f->dport : x->f->sport, PC_N)) {
	case PC_WC: *lo = 0; *hi = 65535; break;
	case PC_HI: *lo = 1024; *hi = 65535; break;
	case PC_LO: *lo = 0; *hi = 1023; break;
	case PC_EM:
		*lo = *hi = x->ports[dst][skewed(r, x->n_ports[dst])];
		break;
	default: {
		const uint16_t *cr = rng_unit(r) < 0.7 ? common_ranges[skewed(r, N_RANGES)]
						       : x->ranges[skewed(r, N_RANGE_POOL)];

		*lo = cr[0];
		*hi = cr[1];
	}
	}
}

static int port_bits(uint16_t lo, uint16_t hi)
{
	uint32_t span = (uint32_t)hi - lo + 1;
	int b = 16;

	while (span > 1) {
		span >>= 1;
		b--;
	}
	return b;
}

static int cmp_grule(const void *a, const void *b)
{
	const struct grule *x = a, *y = b;

	if (x->score != y->score)
		return y->score - x->score;
	return (x->order > y->order) - (x->order < y->order);
}

/* 64-bit fingerprint of a rule's fields, for duplicate removal. */
static uint64_t fp(const struct grule *g)
{
	uint64_t s = ((uint64_t)g->src << 32) ^ g->dst, h;

	h = rng_splitmix(&s);
	s = h ^ ((uint64_t)g->slen << 56 | (uint64_t)g->dlen << 48 | (uint64_t)g->proto << 40 |
		 (uint64_t)g->pmask << 32 | (uint64_t)g->sp_lo << 16 | g->sp_hi);
	h = rng_splitmix(&s);
	s = h ^ ((uint64_t)g->dp_lo << 16 | g->dp_hi);
	return rng_splitmix(&s) | 1; /* 0 marks an empty slot */
}

/* A hot address (skewed over the sites), often itself, else a neighbour in
 * its /24 or /16; cut to len. */
static uint32_t gen_addr(struct gctx *x, const uint32_t *sites, unsigned len)
{
	uint32_t a = sites[skewed(&x->r, x->n_sites)];
	double u = rng_unit(&x->r);

	if (u < x->f->p_exact)
		;
	else if (u < x->f->p_exact + (1 - x->f->p_exact) / 2)
		a = (a & 0xffffff00u) | ((uint32_t)rng_next(&x->r) & 0xffu);
	else
		a = (a & 0xffff0000u) | ((uint32_t)rng_next(&x->r) & 0xffffu);
	return a & mask_of(len);
}

static void gen_one(struct gctx *x, struct grule *g)
{
	static const uint8_t others[] = { 47, 50, 51, 89, 132 };
	const struct family *f = x->f;
	struct rng *r = &x->r;

	g->slen = (uint8_t)pick_len(r, f->src);
	g->src = gen_addr(x, x->ssites, g->slen);
	g->dlen = (uint8_t)pick_len(r, f->dst);
	g->dst = gen_addr(x, x->dsites, g->dlen);

	g->pmask = 0xff;
	switch (rng_pick(r, f->proto, PR_N)) {
	case PR_TCP: g->proto = 6; break;
	case PR_UDP: g->proto = 17; break;
	case PR_ICMP: g->proto = 1; break;
	case PR_ANY: g->proto = 0; g->pmask = 0; break;
	default: /* GRE mostly, as in fw1 */
		g->proto = rng_unit(r) < 0.8 ? 47 : others[rng_range(r, 0, sizeof(others) - 1)];
	}
	if (g->proto == 6 || g->proto == 17 || g->pmask == 0) {
		gen_port(x, 0, &g->sp_lo, &g->sp_hi);
		gen_port(x, 1, &g->dp_lo, &g->dp_hi);
	} else { /* ICMP, GRE ...: no ports */
		g->sp_lo = g->dp_lo = 0;
		g->sp_hi = g->dp_hi = 65535;
	}
	g->score = g->slen + g->dlen + port_bits(g->sp_lo, g->sp_hi) +
		   port_bits(g->dp_lo, g->dp_hi) + (g->pmask ? 8 : 0);
}

int gen_rules_text(const char *family, uint32_t n, uint64_t seed, char **text, size_t *len)
{
	const struct family *f = NULL;
	struct grule *rules = NULL;
	uint64_t *set = NULL;
	uint32_t *sites = NULL, n_sites, got = 0, order = 0, cube = 1;
	size_t set_size = 1, cap, off = 0;
	char *out = NULL;
	struct gctx x;
	int rc = -ENOMEM;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (family && !strcmp(families[i].name, family))
			f = &families[i];
	if (!f || n == 0)
		return -EINVAL;
	rng_seed(&x.r, seed ^ ((uint64_t)f->name[0] << 56));
	n_sites = n / f->sites_div + 4;
	while (set_size < 2 * (size_t)n)
		set_size <<= 1;
	sites = malloc(sizeof(*sites) * n_sites * 2); /* source, then destination sites */
	rules = malloc(sizeof(*rules) * n);
	set = calloc(set_size, sizeof(*set));
	cap = (size_t)n * 96 + 1;
	out = malloc(cap);
	if (!sites || !rules || !set || !out)
		goto out;
	for (uint32_t i = 0; i < 2 * n_sites; i++) /* unicast-looking, no 0/8, no 224/3 */
		sites[i] = (uint32_t)rng_range(&x.r, 0x01000000u, 0xdfffffffu);
	/* exact port values in use: grow slowly with n; every other one well known */
	while ((uint64_t)(cube + 1) * (cube + 1) * (cube + 1) <= n)
		cube++;
	x.n_ports[0] = 8 + cube / 2;
	x.n_ports[1] = 20 + cube * 6 / 5;
	for (int d = 0; d < 2; d++) {
		if (x.n_ports[d] > N_PORT_POOL)
			x.n_ports[d] = N_PORT_POOL;
		for (unsigned i = 0; i < x.n_ports[d]; i++)
			x.ports[d][i] = i % 2 == 0 && i / 2 < N_POPULAR
						? popular_ports[i / 2]
						: (uint16_t)rng_range(&x.r, 1, 10000);
	}
	for (unsigned i = 0; i < N_RANGE_POOL; i++) {
		x.ranges[i][0] = (uint16_t)rng_range(&x.r, 1, 60000);
		x.ranges[i][1] = (uint16_t)(x.ranges[i][0] + rng_range(&x.r, 1, 5000));
	}
	x.f = f;
	x.ssites = sites;
	x.dsites = sites + n_sites;
	x.n_sites = n_sites;

	while (got < n) {
		struct grule *g = &rules[got];
		uint64_t h, i;

		if (order > 64u * n + 1000) { /* the family cannot give n distinct rules */
			rc = -ERANGE;
			goto out;
		}
		gen_one(&x, g);
		g->order = order++;
		h = fp(g);
		for (i = h & (set_size - 1); set[i] && set[i] != h; i = (i + 1) & (set_size - 1))
			;
		if (set[i] == h)
			continue; /* duplicate (or a 2^-64 collision): draw again */
		set[i] = h;
		got++;
	}
	qsort(rules, n, sizeof(*rules), cmp_grule);
	for (uint32_t i = 0; i < n; i++) {
		const struct grule *g = &rules[i];
		char a[16], b[16];

		off += (size_t)snprintf(out + off, cap - off,
					"@%s/%u\t%s/%u\t%u : %u\t%u : %u\t0x%02X/0x%02X\t0x0000/0x0000\n",
					bench_ip4_str(g->src, a), g->slen,
					bench_ip4_str(g->dst, b), g->dlen, g->sp_lo, g->sp_hi,
					g->dp_lo, g->dp_hi, g->proto, g->pmask);
	}
	*text = out;
	*len = off;
	out = NULL;
	rc = 0;
out:
	free(out);
	free(set);
	free(rules);
	free(sites);
	return rc;
}

static const char gen_usage[] =
	"usage: ncbench gen [--family acl|fw|ipc] [--size N] [--seed S] [--out FILE]\n"
	"                   [--trace-out FILE [--trace-size N]] [--csv FILE]\n"
	"  Writes N distinct ClassBench rules (default acl, 10000, seed 1) to FILE or\n"
	"  stdout; --trace-out also writes a ClassBench trace generated from them.\n"
	"  --csv FILE appends one row per rule.\n";

int ncbench_gen(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_rules br;
	char *text = NULL;
	size_t len = 0;
	FILE *f = stdout;
	int rc;

	bench_opts_init(&o);
	rc = bench_parse_opts(argc, argv, OPT_RULES | OPT_OUT | OPT_CSV, gen_usage, &o);
	if (rc)
		return rc < 0 ? BENCH_OK : rc;
	if (o.rules_path) {
		fprintf(stderr, "ncbench gen: --rules is not an option of gen\n%s", gen_usage);
		return BENCH_USAGE;
	}
	rc = gen_rules_text(o.family, o.size, o.seed, &text, &len);
	if (rc) {
		fprintf(stderr, "ncbench gen: %s\n", strerror(-rc));
		return BENCH_FAIL;
	}
	if (o.out_path && !(f = fopen(o.out_path, "w"))) {
		fprintf(stderr, "ncbench gen: %s: %s\n", o.out_path, strerror(errno));
		free(text);
		return BENCH_FAIL;
	}
	rc = fwrite(text, 1, len, f) == len ? 0 : -EIO;
	if (f != stdout)
		rc = fclose(f) ? -errno : rc;
	else
		rc = fflush(f) ? -errno : rc;
	free(text);
	if (rc) {
		fprintf(stderr, "ncbench gen: write: %s\n", strerror(-rc));
		return BENCH_FAIL;
	}
	if (!o.trace_out && !o.csv_path)
		return BENCH_OK;

	/* trace and CSV work on the parsed rules, exactly as the benchmark sees them */
	if (bench_load_rules(&o, &br))
		return BENCH_FAIL;
	rc = BENCH_OK;
	if (o.trace_out) {
		struct trace t;
		size_t keys = o.trace_size ? o.trace_size : trace_default_size(br.rs->n);

		if (trace_generate(br.rs, keys, o.seed, &t) ||
		    trace_write(&t, br.rs, o.trace_out))
			rc = BENCH_FAIL;
		trace_free(&t);
	}
	if (o.csv_path) {
		FILE *csv = bench_csv_open(o.csv_path, "id,src,src_len,dst,dst_len,sport_lo,"
						       "sport_hi,dport_lo,dport_hi,proto,proto_mask");

		if (!csv)
			rc = BENCH_FAIL;
		for (size_t i = 0; csv && i < br.rs->n; i++) {
			const struct cls_rule *x = &br.rs->rules[i];
			char a[16], b[16];

			fprintf(csv, "%" PRIu32 ",%s,%d,%s,%d,%u,%u,%u,%u,%u,%u\n", x->id,
				bench_ip4_str(x->src_lo.v4, a),
				32 - __builtin_popcount(x->src_hi.v4 ^ x->src_lo.v4),
				bench_ip4_str(x->dst_lo.v4, b),
				32 - __builtin_popcount(x->dst_hi.v4 ^ x->dst_lo.v4), x->sport_lo,
				x->sport_hi, x->dport_lo, x->dport_hi, x->proto, x->proto_mask);
		}
		if (csv && fclose(csv))
			rc = BENCH_FAIL;
	}
	bench_rules_free(&br);
	return rc;
}
