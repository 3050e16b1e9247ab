/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL for the harnesses that build an ncnat pipeline (its flow table's
 * memory comes from rte_malloc): started once per fuzzing process, without
 * hugepages, PCI or shared files, under a file prefix of its own.
 */
#ifndef NC_FUZZ_EAL_H
#define NC_FUZZ_EAL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

static inline void fuzz_eal_init(const char *name)
{
	char prefix[64];
	char *argv[] = {(char *)name, "--no-huge", "--no-pci", "--no-shconf", prefix, "-m", "512",
			"-l", "0", "--no-telemetry", "--log-level=error", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s_%d", name, (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "%s: rte_eal_init failed\n", name);
		abort();
	}
}

#endif /* NC_FUZZ_EAL_H */
