/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_BENCH_H
#define NCBENCH_BENCH_H
/*
 * Shared by the ncbench commands: the common options, loading (or
 * generating) a rule set, and CSV output.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "classify.h"
#include "classify_parse.h"

/* Exit statuses of every command (see commands.h). */
#define BENCH_OK 0
#define BENCH_FAIL 1
#define BENCH_USAGE 2

#define BENCH_MAX_REPEAT 100

/* Which options a command accepts (bench_parse_opts' allowed mask). */
enum {
	OPT_RULES = 1u << 0,   /* --rules FILE | --gen FAMILY --size N --seed S */
	OPT_TRACE = 1u << 1,   /* --trace FILE --trace-size N */
	OPT_TIMING = 1u << 2,  /* --burst --seconds --repeat --core */
	OPT_CSV = 1u << 3,     /* --csv FILE */
	OPT_SVG = 1u << 4,     /* --svg FILE */
	OPT_IMPL = 1u << 5,    /* --impl NAME */
	OPT_PEER = 1u << 6,    /* --no-acl --no-linear --linear --acl-mem MB --no-huge */
	OPT_OUT = 1u << 7,     /* --out FILE --trace-out FILE */
	OPT_PLOT = 1u << 8,    /* --from CSV --sizes LIST --family */
};

struct bench_opts {
	const char *rules_path;  /**< NULL: generate */
	const char *family;      /**< generator family: acl, fw, ipc */
	uint32_t size;           /**< generator rule count */
	uint64_t seed;           /**< generator and trace seed */
	const char *trace_path;  /**< NULL: generate */
	size_t trace_size;       /**< generated trace keys; 0: chosen by rule count */
	unsigned burst;
	double seconds;          /**< per repeat of each measurement */
	unsigned repeat;
	int core;
	const char *csv_path;
	const char *svg_path;
	const char *impl;        /**< match: trie, linear, rte_acl */
	bool no_acl, no_linear, force_linear;
	unsigned acl_mem_mb;     /**< EAL memory when running without hugepages */
	bool no_huge;            /**< EAL without hugepages even if some are free */
	const char *out_path, *trace_out;
	const char *from_csv;    /**< plot: plot these results instead of measuring */
	const char *sizes;       /**< plot sweep: comma-separated rule counts */
	bool quiet;
};

/** Defaults for every field. */
void bench_opts_init(struct bench_opts *o);

/**
 * Parse argv[1..argc) (argv[0] is the command name) into o, accepting only
 * the options in allowed.  On a bad option prints the problem and usage to
 * stderr.  @return 0 or BENCH_USAGE.  "--help" prints usage to stdout and
 * returns -1 (the caller exits 0).
 */
int bench_parse_opts(int argc, char **argv, unsigned allowed, const char *usage,
		     struct bench_opts *o);

/** A loaded or generated rule set. */
struct bench_rules {
	struct cls_ruleset *rs;
	char name[256];     /**< file base name or "gen-acl-10000-s1" */
	char family[16];    /**< acl, fw, ipc or "custom" (from the name) */
	double parse_ms;    /**< read + parse (generation excluded) */
	size_t n_ipv4, n_ipv6;
};

/** Load o->rules_path or generate (o->family, o->size, o->seed).  Errors are
 *  printed ("file:line: what").  @return 0 or BENCH_FAIL. */
int bench_load_rules(const struct bench_opts *o, struct bench_rules *br);
void bench_rules_free(struct bench_rules *br);

/** Parse a number with range check; @return 0 or -EINVAL. */
int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/**
 * Open a CSV for appending; writes header (a line without newline) first if
 * the file is new or empty.  @return the stream or NULL (error printed).
 */
FILE *bench_csv_open(const char *path, const char *header);

/** Format an IPv4 address (host order) into buf (>= 16 bytes). */
const char *bench_ip4_str(uint32_t a, char *buf);
#endif
