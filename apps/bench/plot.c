/* SPDX-License-Identifier: BSD-3-Clause */
/* ncbench plot: lookups/s by rule count as an SVG, drawn by gnuplot. */
#include "plot.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "lookup.h"

#define MAX_POINTS 512

struct point {
	char family[16];
	unsigned long rules;
	double ours, acl; /* best lookups/s */
};

static int col_index(char *header, const char *name)
{
	int i = 0;

	for (char *save = NULL, *f = strtok_r(header, ",\n", &save); f;
	     f = strtok_r(NULL, ",\n", &save), i++)
		if (!strcmp(f, name))
			return i;
	return -1;
}

/* Split a CSV line (no quoting in our files) into at most max fields. */
static int split(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static int by_family_rules(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c ? c : (x->rules > y->rules) - (x->rules < y->rules);
}

static int read_points(FILE *csv, struct point *pt, size_t *n)
{
	char line[4096], hdr[4096], *f[64];
	int ci[4];
	static const char *const need[4] = { "family", "rules", "impl", "lookups_per_s" };

	rewind(csv);
	if (!fgets(hdr, sizeof(hdr), csv)) {
		fprintf(stderr, "ncbench plot: empty CSV\n");
		return BENCH_FAIL;
	}
	for (int i = 0; i < 4; i++) {
		char tmp[4096];

		memcpy(tmp, hdr, sizeof(tmp));
		ci[i] = col_index(tmp, need[i]);
		if (ci[i] < 0) {
			fprintf(stderr, "ncbench plot: CSV has no column %s (want ncbench lookup's)\n",
				need[i]);
			return BENCH_FAIL;
		}
	}
	*n = 0;
	while (fgets(line, sizeof(line), csv)) {
		int nf = split(line, f, 64);
		unsigned long rules;
		double lps;
		size_t j;
		bool ours;

		if (nf <= ci[0] || nf <= ci[1] || nf <= ci[2] || nf <= ci[3])
			continue;
		if (!strcmp(f[0], "set")) /* a header repeated by appending runs */
			continue;
		ours = !strcmp(f[ci[2]], "ours");
		if (!ours && strcmp(f[ci[2]], "rte_acl"))
			continue;
		rules = strtoul(f[ci[1]], NULL, 10);
		lps = strtod(f[ci[3]], NULL);
		for (j = 0; j < *n; j++)
			if (pt[j].rules == rules && !strcmp(pt[j].family, f[ci[0]]))
				break;
		if (j == *n) {
			if (*n == MAX_POINTS)
				continue;
			memset(&pt[j], 0, sizeof(pt[j]));
			snprintf(pt[j].family, sizeof(pt[j].family), "%s", f[ci[0]]);
			pt[j].rules = rules;
			(*n)++;
		}
		if (ours && lps > pt[j].ours)
			pt[j].ours = lps;
		if (!ours && lps > pt[j].acl)
			pt[j].acl = lps;
	}
	if (*n == 0) {
		fprintf(stderr, "ncbench plot: no ours/rte_acl rows in the CSV\n");
		return BENCH_FAIL;
	}
	qsort(pt, *n, sizeof(*pt), by_family_rules);
	return BENCH_OK;
}

struct series {
	const char *family;
	int which; /* 0 ours, 1 rte_acl */
	size_t points;
};

int plot_svg_stream(FILE *csv, const char *svg, const char *title)
{
	static struct point pt[MAX_POINTS];
	static struct series se[2 * MAX_POINTS];
	char data[] = "/tmp/ncbench-plot-XXXXXX";
	size_t n = 0, n_se = 0, plotted = 0;
	unsigned long lo = ULONG_MAX, hi = 0;
	FILE *d, *gp;
	int fd, st;

	if (read_points(csv, pt, &n))
		return BENCH_FAIL;
	fd = mkstemp(data);
	if (fd < 0 || !(d = fdopen(fd, "w"))) {
		fprintf(stderr, "ncbench plot: temporary file: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return BENCH_FAIL;
	}
	/* one gnuplot data block per (family, ours|rte_acl); points are sorted */
	for (size_t i = 0, j = 0; i < n; i = j) {
		for (int which = 0; which < 2; which++) {
			struct series *x = &se[n_se++];

			x->family = pt[i].family;
			x->which = which;
			x->points = 0;
			for (j = i; j < n && !strcmp(pt[j].family, pt[i].family); j++) {
				double v = which ? pt[j].acl : pt[j].ours;

				if (v > 0) {
					fprintf(d, "%lu %.4f\n", pt[j].rules, v / 1e6);
					x->points++;
					lo = pt[j].rules < lo ? pt[j].rules : lo;
					hi = pt[j].rules > hi ? pt[j].rules : hi;
				}
			}
			fprintf(d, "\n\n");
		}
	}
	fclose(d);

	fflush(stdout); /* gnuplot's messages come after ours */
	gp = popen("gnuplot", "w");
	if (!gp) {
		fprintf(stderr, "ncbench plot: cannot run gnuplot: %s\n", strerror(errno));
		unlink(data);
		return BENCH_FAIL;
	}
	fprintf(gp, "set terminal svg size 900,560 dynamic enhanced font 'sans,12' background rgb 'white'\n"
		    "set output '%s'\nset title '%s: lookups/s by rule count, one core'\n"
		    "set logscale x\nset xlabel 'rules'\nset ylabel 'million lookups/s'\n"
		    "set yrange [0:*]\nset grid\nset key outside right\n",
		svg, title);
	if (lo == hi) /* one rule count: give x some room */
		fprintf(gp, "set xrange [%lu:%lu]\n", lo / 2, hi * 2 + 1);
	fprintf(gp, "plot ");
	for (size_t b = 0; b < n_se; b++) {
		if (!se[b].points)
			continue;
		fprintf(gp, "%s'%s' index %zu with linespoints lw 2 dt %d pt %d lc %zu title '%s %s'",
			plotted++ ? ", " : "", data, b, se[b].which ? 2 : 1, se[b].which ? 5 : 7,
			b / 2 + 1, se[b].which ? "rte\\_acl best" : "ours", se[b].family);
	}
	fprintf(gp, "\n");
	st = pclose(gp);
	unlink(data);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "ncbench plot: gnuplot failed%s\n",
			WIFEXITED(st) && WEXITSTATUS(st) == 127
				? " (not installed? apt-get install gnuplot-nox)" : "");
		return BENCH_FAIL;
	}
	printf("plot: %s (%zu rule counts)\n", svg, n);
	return BENCH_OK;
}

static const char plot_usage[] =
	"usage: ncbench plot --from CSV [--svg FILE]\n"
	"       ncbench plot [--family acl|fw|ipc] [--sizes N,N,...] [--seed S] [--csv FILE]\n"
	"                    [--svg FILE] [lookup options: --burst --seconds --repeat --core\n"
	"                    --trace-size --no-acl --no-linear --acl-mem]\n"
	"  Draws lookups/s by rule count, ours against rte_acl's best, as an SVG\n"
	"  (default ncbench-lookup.svg).  With --from it plots ncbench lookup --csv rows;\n"
	"  otherwise it first runs ncbench lookup on generated sets of each size\n"
	"  (default 1000,10000,100000) and keeps the rows in --csv if given.\n";

int ncbench_plot(int argc, char **argv)
{
	struct bench_opts o;
	const char *svg;
	FILE *csv;
	int rc;

	bench_opts_init(&o);
	rc = bench_parse_opts(argc, argv, OPT_PLOT | OPT_CSV | OPT_SVG | OPT_TIMING | OPT_PEER |
						  OPT_TRACE | OPT_RULES, plot_usage, &o);
	if (rc)
		return rc < 0 ? BENCH_OK : rc;
	if (o.rules_path || o.trace_path) {
		fprintf(stderr, "ncbench plot: --rules/--trace: run ncbench lookup --csv per set, "
				"then ncbench plot --from\n%s", plot_usage);
		return BENCH_USAGE;
	}
	for (const char *p = o.sizes; *p;) { /* check every size before measuring any */
		char num[32];
		size_t len = strcspn(p, ",");
		uint64_t v;

		snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), p);
		if (bench_parse_u64(num, 1, 10000000, &v)) {
			fprintf(stderr, "ncbench plot: bad size in --sizes: %s\n%s", num, plot_usage);
			return BENCH_USAGE;
		}
		p += len;
		p += *p == ',';
	}
	svg = o.svg_path ? o.svg_path : "ncbench-lookup.svg";
	if (o.from_csv) {
		csv = fopen(o.from_csv, "r");
		if (!csv) {
			fprintf(stderr, "ncbench plot: %s: %s\n", o.from_csv, strerror(errno));
			return BENCH_FAIL;
		}
		rc = plot_svg_stream(csv, svg, o.from_csv);
		fclose(csv);
		return rc;
	}
	csv = o.csv_path ? bench_csv_open(o.csv_path, LOOKUP_CSV_HEADER) : tmpfile();
	if (!csv)
		return BENCH_FAIL;
	if (!o.csv_path)
		fprintf(csv, "%s\n", LOOKUP_CSV_HEADER);
	for (const char *p = o.sizes; *p;) {
		struct bench_opts one = o;
		char num[32];
		size_t len = strcspn(p, ",");
		uint64_t v;

		snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), p);
		(void)bench_parse_u64(num, 1, 10000000, &v); /* checked above */
		one.size = (uint32_t)v;
		rc = lookup_run(&one, csv);
		if (rc) {
			fclose(csv);
			return rc;
		}
		fflush(csv);
		p += len;
		p += *p == ',';
	}
	rc = plot_svg_stream(csv, svg, "ncbench (generated rules)");
	fclose(csv);
	return rc;
}
