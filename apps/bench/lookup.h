/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_LOOKUP_H
#define NCBENCH_LOOKUP_H
#include <stdio.h>

#include "bench.h"

/* One row per implementation and mode; plot.c reads these columns by name. */
#define LOOKUP_CSV_HEADER                                                                  \
	"set,family,rules,trace,trace_keys,impl,code,mode,burst,lookups_per_s,"            \
	"lookups_per_s_min,lookups_per_s_max,cycles_per_lookup,build_ms,memory_bytes,"     \
	"bytes_per_rule,core,repeat,seconds,cpu_pct"

/** Run the lookup benchmark with o; rows go to csv if not NULL.
 *  @return BENCH_OK, BENCH_FAIL (also when answers differ). */
int lookup_run(const struct bench_opts *o, FILE *csv);
#endif
