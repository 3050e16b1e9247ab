/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_BENCH_EAL_H
#define NCBENCH_BENCH_EAL_H
/*
 * DPDK EAL start-up shared by the ncbench commands that need it (the
 * rte_acl peer, ncbench nat): what the host offers in hugepages, and one
 * argument vector for rte_eal_init().
 *
 * Each command decides for itself whether hugepages are worth using (its
 * own memory need) and prints its own messages; this file only probes and
 * builds the arguments, so the EAL runs the same way for all of them:
 * no PCI, no telemetry, errors-only logging; on hugepages --in-memory,
 * else --no-huge -m MB with a per-process --file-prefix and --no-shconf
 * (--no-huge means legacy memory, which --in-memory refuses).
 *
 * Thread safety: call from the main thread, once per process (rte_eal_init).
 */
#include <stdbool.h>

/** Free hugepages of page_kb kB (2048, 1048576); 0 if none or unknown. */
unsigned long bench_eal_free_hugepages(unsigned long page_kb);

/** Is a hugetlbfs mounted (/proc/mounts)? */
bool bench_eal_hugetlbfs_mounted(void);

struct bench_eal_cfg {
	const char *lcore_opt;  /**< "-l" or "--lcores" */
	const char *lcores;     /**< its value */
	bool huge;              /**< --in-memory on hugepages; else --no-huge */
	unsigned mem_mb;        /**< -m, without hugepages */
	const char *prefix;     /**< --file-prefix=PREFIX-PID, without hugepages */
	const char *extra;      /**< one more EAL argument, or NULL */
};

/**
 * rte_eal_init() with the arguments above.
 * @return what rte_eal_init() returns (< 0: failed, rte_errno says why).
 */
int bench_eal_init(const struct bench_eal_cfg *c);

#endif /* NCBENCH_BENCH_EAL_H */
