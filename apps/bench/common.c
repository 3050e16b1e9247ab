/* SPDX-License-Identifier: BSD-3-Clause */
/* Options, rule loading and CSV output shared by the ncbench commands. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen.h"
#include "stats.h"

void bench_opts_init(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->family = "acl";
	o->size = 10000;
	o->seed = 1;
	o->burst = 32;
	o->seconds = 1.0;
	o->repeat = 5;
	o->core = 1;
	o->acl_mem_mb = 4096;
	o->sizes = "1000,10000,100000";
}

int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	K_RULES = 256, K_GEN, K_SIZE, K_SEED, K_TRACE, K_TRACE_SIZE, K_BURST, K_SECONDS,
	K_REPEAT, K_CORE, K_CSV, K_SVG, K_IMPL, K_NO_ACL, K_NO_LINEAR, K_LINEAR,
	K_ACL_MEM, K_NO_HUGE, K_OUT, K_TRACE_OUT, K_FROM, K_SIZES, K_FAMILY, K_QUIET, K_HELP,
};

static const struct {
	struct option opt;
	unsigned group;
} table[] = {
	{ { "rules", required_argument, NULL, K_RULES }, OPT_RULES },
	{ { "gen", required_argument, NULL, K_GEN }, OPT_RULES },
	{ { "family", required_argument, NULL, K_FAMILY }, OPT_RULES | OPT_PLOT },
	{ { "size", required_argument, NULL, K_SIZE }, OPT_RULES },
	{ { "seed", required_argument, NULL, K_SEED }, OPT_RULES | OPT_TRACE },
	{ { "trace", required_argument, NULL, K_TRACE }, OPT_TRACE },
	{ { "trace-size", required_argument, NULL, K_TRACE_SIZE }, OPT_TRACE | OPT_OUT },
	{ { "burst", required_argument, NULL, K_BURST }, OPT_TIMING | OPT_IMPL },
	{ { "seconds", required_argument, NULL, K_SECONDS }, OPT_TIMING },
	{ { "repeat", required_argument, NULL, K_REPEAT }, OPT_TIMING },
	{ { "core", required_argument, NULL, K_CORE }, OPT_TIMING },
	{ { "csv", required_argument, NULL, K_CSV }, OPT_CSV },
	{ { "svg", required_argument, NULL, K_SVG }, OPT_SVG },
	{ { "impl", required_argument, NULL, K_IMPL }, OPT_IMPL },
	{ { "no-acl", no_argument, NULL, K_NO_ACL }, OPT_PEER },
	{ { "no-linear", no_argument, NULL, K_NO_LINEAR }, OPT_PEER },
	{ { "linear", no_argument, NULL, K_LINEAR }, OPT_PEER },
	{ { "acl-mem", required_argument, NULL, K_ACL_MEM }, OPT_PEER },
	{ { "no-huge", no_argument, NULL, K_NO_HUGE }, OPT_PEER },
	{ { "out", required_argument, NULL, K_OUT }, OPT_OUT },
	{ { "trace-out", required_argument, NULL, K_TRACE_OUT }, OPT_OUT },
	{ { "from", required_argument, NULL, K_FROM }, OPT_PLOT },
	{ { "sizes", required_argument, NULL, K_SIZES }, OPT_PLOT },
	{ { "quiet", no_argument, NULL, K_QUIET }, OPT_CSV },
	{ { "help", no_argument, NULL, K_HELP }, ~0u },
};
#define N_OPTS (sizeof(table) / sizeof(table[0]))

static int bad(const char *cmd, const char *usage, const char *what, const char *arg)
{
	fprintf(stderr, "ncbench %s: %s%s%s\n%s", cmd, what, arg ? ": " : "", arg ? arg : "",
		usage);
	return BENCH_USAGE;
}

int bench_parse_opts(int argc, char **argv, unsigned allowed, const char *usage,
		     struct bench_opts *o)
{
	struct option longopts[N_OPTS + 1];
	unsigned n = 0;
	uint64_t v;
	int c;

	for (unsigned i = 0; i < N_OPTS; i++)
		if (table[i].group & allowed)
			longopts[n++] = table[i].opt;
	memset(&longopts[n], 0, sizeof(longopts[n]));

	optind = 0; /* full re-initialisation (glibc): commands may run twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case K_RULES: o->rules_path = a; break;
		case K_GEN:
		case K_FAMILY:
			if (strcmp(a, "acl") && strcmp(a, "fw") && strcmp(a, "ipc"))
				return bad(argv[0], usage, "family must be acl, fw or ipc", a);
			o->family = a;
			break;
		case K_SIZE:
			if (bench_parse_u64(a, 1, 10000000, &v))
				return bad(argv[0], usage, "--size must be 1..10000000", a);
			o->size = (uint32_t)v;
			break;
		case K_SEED:
			if (bench_parse_u64(a, 0, UINT64_MAX, &v))
				return bad(argv[0], usage, "bad --seed", a);
			o->seed = v;
			break;
		case K_TRACE: o->trace_path = a; break;
		case K_TRACE_SIZE:
			if (bench_parse_u64(a, 1, 100000000, &v))
				return bad(argv[0], usage, "--trace-size must be 1..100000000", a);
			o->trace_size = v;
			break;
		case K_BURST:
			if (bench_parse_u64(a, 1, 256, &v))
				return bad(argv[0], usage, "--burst must be 1..256", a);
			o->burst = (unsigned)v;
			break;
		case K_SECONDS:
			if (parse_double(a, 0.01, 3600, &o->seconds))
				return bad(argv[0], usage, "--seconds must be 0.01..3600", a);
			break;
		case K_REPEAT:
			if (bench_parse_u64(a, 1, BENCH_MAX_REPEAT, &v))
				return bad(argv[0], usage, "--repeat must be 1..100", a);
			o->repeat = (unsigned)v;
			break;
		case K_CORE:
			if (bench_parse_u64(a, 0, (uint64_t)bench_ncpus() - 1, &v))
				return bad(argv[0], usage, "--core must be an online CPU number", a);
			o->core = (int)v;
			break;
		case K_CSV: o->csv_path = a; break;
		case K_SVG: o->svg_path = a; break;
		case K_IMPL:
			if (strcmp(a, "trie") && strcmp(a, "linear") && strcmp(a, "rte_acl"))
				return bad(argv[0], usage, "--impl must be trie, linear or rte_acl", a);
			o->impl = a;
			break;
		case K_NO_ACL: o->no_acl = true; break;
		case K_NO_LINEAR: o->no_linear = true; break;
		case K_LINEAR: o->force_linear = true; break;
		case K_ACL_MEM:
			if (bench_parse_u64(a, 64, 1 << 20, &v))
				return bad(argv[0], usage, "--acl-mem must be 64..1048576 (MB)", a);
			o->acl_mem_mb = (unsigned)v;
			break;
		case K_NO_HUGE: o->no_huge = true; break;
		case K_OUT: o->out_path = a; break;
		case K_TRACE_OUT: o->trace_out = a; break;
		case K_FROM: o->from_csv = a; break;
		case K_SIZES: o->sizes = a; break;
		case K_QUIET: o->quiet = true; break;
		case 'h':
		case K_HELP:
			fputs(usage, stdout);
			return -1;
		case ':':
			return bad(argv[0], usage, "option needs a value", argv[optind - 1]);
		default:
			return bad(argv[0], usage, "unknown option",
				   optopt ? NULL : argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad(argv[0], usage, "unexpected argument", argv[optind]);
	if (o->rules_path && (allowed & OPT_RULES)) {
		/* --gen/--size next to --rules would be silently ignored */
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--gen") || !strcmp(argv[i], "--size") ||
			    !strncmp(argv[i], "--gen=", 6) || !strncmp(argv[i], "--size=", 7))
				return bad(argv[0], usage, "--rules excludes --gen and --size", NULL);
	}
	return 0;
}

static void name_family(struct bench_rules *br, const char *path)
{
	const char *base = strrchr(path, '/');
	char *dot;

	base = base ? base + 1 : path;
	snprintf(br->name, sizeof(br->name), "%s", base);
	dot = strrchr(br->name, '.');
	if (dot && dot != br->name)
		*dot = '\0';
	if (!strncmp(base, "acl", 3))
		strcpy(br->family, "acl");
	else if (!strncmp(base, "fw", 2))
		strcpy(br->family, "fw");
	else if (!strncmp(base, "ipc", 3))
		strcpy(br->family, "ipc");
	else
		strcpy(br->family, "custom");
}

int bench_load_rules(const struct bench_opts *o, struct bench_rules *br)
{
	char err[512] = "";
	double t0;
	int rc;

	memset(br, 0, sizeof(*br));
	if (o->rules_path) {
		name_family(br, o->rules_path);
		t0 = bench_now();
		rc = cls_parse_file(o->rules_path, CLS_FMT_AUTO, &br->rs, err, sizeof(err));
		br->parse_ms = (bench_now() - t0) * 1e3;
	} else {
		char *text = NULL;
		size_t len = 0;

		snprintf(br->name, sizeof(br->name), "gen-%s-%" PRIu32 "-s%" PRIu64, o->family,
			 o->size, o->seed);
		snprintf(br->family, sizeof(br->family), "%s", o->family);
		rc = gen_rules_text(o->family, o->size, o->seed, &text, &len);
		if (rc) {
			fprintf(stderr, "ncbench: generating %s: %s\n", br->name, strerror(-rc));
			return BENCH_FAIL;
		}
		t0 = bench_now();
		rc = cls_parse_buffer(text, len, br->name, CLS_FMT_CLASSBENCH, &br->rs, err,
				      sizeof(err));
		br->parse_ms = (bench_now() - t0) * 1e3;
		free(text);
	}
	if (rc) {
		fprintf(stderr, "ncbench: %s\n", err[0] ? err : strerror(-rc));
		br->rs = NULL;
		return BENCH_FAIL;
	}
	if (br->rs->n == 0) {
		fprintf(stderr, "ncbench: %s: no rules\n", br->name);
		bench_rules_free(br);
		return BENCH_FAIL;
	}
	for (size_t i = 0; i < br->rs->n; i++) {
		if (br->rs->rules[i].family == CLS_IPV4)
			br->n_ipv4++;
		else
			br->n_ipv6++;
	}
	return 0;
}

void bench_rules_free(struct bench_rules *br)
{
	cls_ruleset_free(br->rs);
	br->rs = NULL;
}

FILE *bench_csv_open(const char *path, const char *header)
{
	struct stat st;
	bool fresh = stat(path, &st) != 0 || st.st_size == 0;
	FILE *f = fopen(path, "a+"); /* readable: --svg plots it */

	if (!f) {
		fprintf(stderr, "ncbench: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fresh)
		fprintf(f, "%s\n", header);
	return f;
}

const char *bench_ip4_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}
