/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if !(defined(__x86_64__) || defined(__i386__))
uint64_t bench_cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
#endif

double bench_cycles_hz(void)
{
	static double hz;

	if (hz == 0) {
		double t0 = bench_now(), t1;
		uint64_t c0 = bench_cycles(), c1;

		do {
			t1 = bench_now();
		} while (t1 - t0 < 0.05);
		c1 = bench_cycles();
		hz = (double)(c1 - c0) / (t1 - t0);
	}
	return hz;
}

int bench_pin(int cpu)
{
	cpu_set_t set;
	int rc;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return -rc;
}

int bench_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* sysfs first: glibc's cpuid-based answer is wrong in some VMs (10x here). */
size_t bench_llc_bytes(void)
{
	char path[96], unit = 0;
	unsigned long kb, level, best_level = 0;
	size_t best = 0;
	long v;
	FILE *f;

	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lu", &level) != 1)
			level = 0;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		unit = 0;
		if (fscanf(f, "%lu%c", &kb, &unit) >= 1 && level > best_level) {
			best_level = level;
			best = unit == 'M' ? (size_t)kb << 20 : unit == 'K' ? (size_t)kb << 10 : kb;
		}
		fclose(f);
	}
	if (best)
		return best;
	v = sysconf(_SC_LEVEL3_CACHE_SIZE);
	return v > 0 ? (size_t)v : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_summarize(double *v, size_t n, struct bench_summary *s)
{
	if (n == 0) {
		s->median = s->min = s->max = 0;
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	s->min = v[0];
	s->max = v[n - 1];
	s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void bench_sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t bench_percentile(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}
