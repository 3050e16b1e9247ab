/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_PLOT_H
#define NCBENCH_PLOT_H
#include <stdio.h>

/**
 * Draw lookups/s by rule count, ours (best of single and bulk) against
 * rte_acl (best algorithm and mode), one pair of lines per rule family, from
 * the lookup CSV in csv (read from its start) into svg with gnuplot.
 * @return BENCH_OK or BENCH_FAIL (message printed).
 */
int plot_svg_stream(FILE *csv, const char *svg, const char *title);
#endif
