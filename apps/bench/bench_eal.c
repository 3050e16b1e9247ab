/* SPDX-License-Identifier: BSD-3-Clause */
/* DPDK EAL start-up shared by ncbench's commands (bench_eal.h). */
#include "bench_eal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

static unsigned long read_ul(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

unsigned long bench_eal_free_hugepages(unsigned long page_kb)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
		 page_kb);
	return read_ul(path);
}

bool bench_eal_hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, " hugetlbfs ") != NULL;
	if (f)
		fclose(f);
	return found;
}

int bench_eal_init(const struct bench_eal_cfg *c)
{
	char mem[16], prefix[64];
	char *argv[16];
	int argc = 0;

	snprintf(mem, sizeof(mem), "%u", c->mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s-%ld", c->prefix, (long)getpid());
	argv[argc++] = "ncbench";
	argv[argc++] = (char *)c->lcore_opt;
	argv[argc++] = (char *)c->lcores;
	argv[argc++] = "--no-pci";
	if (c->huge) {
		argv[argc++] = "--in-memory";
	} else {
		argv[argc++] = prefix;
		argv[argc++] = "--no-shconf";
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = mem;
	}
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--log-level=4"; /* errors only */
	if (c->extra)
		argv[argc++] = (char *)c->extra;
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}
