/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_STATS_H
#define NCBENCH_STATS_H
/*
 * Time, cycles, pinning and summaries shared by the ncbench commands.
 * Cycles are TSC ticks (rdtsc); on CPUs without a TSC they are nanoseconds.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t bench_cycles(void)
{
	return __rdtsc();
}
#else
uint64_t bench_cycles(void);
#endif

/** Monotonic time in seconds. */
double bench_now(void);

/**
 * CPU time of the calling thread in seconds (CLOCK_THREAD_CPUTIME_ID).  On a
 * shared machine rates are computed against it, so that time other
 * processes take from our core does not count; wall time is reported beside.
 */
double bench_thread_cpu(void);

/** TSC ticks per second, calibrated once against CLOCK_MONOTONIC (~50 ms). */
double bench_cycles_hz(void);

/** Pin the calling thread to one CPU. @return 0 or -errno. */
int bench_pin(int cpu);

/** Number of online CPUs. */
int bench_ncpus(void);

/** Size of the last-level cache in bytes (0 if unknown). */
size_t bench_llc_bytes(void);

struct bench_summary {
	double median, min, max;
};

/** Median, min and max of v[0..n) (v is sorted in place). */
void bench_summarize(double *v, size_t n, struct bench_summary *s);

/** Sort u64 samples ascending. */
void bench_sort_u64(uint64_t *v, size_t n);

/** The p-th percentile (p in [0,100], nearest rank) of sorted v[0..n). */
uint64_t bench_percentile(const uint64_t *v, size_t n, double p);
#endif
