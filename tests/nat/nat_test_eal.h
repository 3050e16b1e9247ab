/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL for the ncnat tests that build a pipeline (its flow table's memory
 * comes from rte_malloc): one EAL per test process, without hugepages,
 * PCI or shared files, under a file prefix of its own.
 *   NAT_TEST_EAL_SUITE(name);  declares the Criterion suite with it.
 */
#ifndef NCNAT_TEST_EAL_H
#define NCNAT_TEST_EAL_H

#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_eal.h>

static inline void nat_test_eal_setup(void)
{
	char prefix[64];
	char *argv[] = {"nat_test", "--no-huge", "--no-pci", "--no-shconf", prefix, "-m", "512",
			"-l", "0", "--no-telemetry", "--log-level=error", NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	snprintf(prefix, sizeof(prefix), "--file-prefix=nat_test_%d", (int)getpid());
	cr_assert_geq(rte_eal_init(argc, argv), 0, "rte_eal_init failed");
}

static inline void nat_test_eal_teardown(void)
{
	rte_eal_cleanup();
}

#define NAT_TEST_EAL_SUITE(name) \
	TestSuite(name, .init = nat_test_eal_setup, .fini = nat_test_eal_teardown)

#endif /* NCNAT_TEST_EAL_H */
