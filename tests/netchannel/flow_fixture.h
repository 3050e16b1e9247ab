/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_FLOW_FIXTURE_H
#define NC_TEST_FLOW_FIXTURE_H
/*
 * The fixture every flow-table test shares (flow_util.h for the entry
 * tests, flow_objects_util.h for the object-flow tests): an EAL of its own
 * per test process (no hugepages, PCI or shared files, so tests never
 * collide), seeds that print themselves (NC_TEST_SEED=<n> replays one),
 * numbered IPv4 and IPv6 keys and the test values V(i).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "nc_flow.h"

static inline void eal_up(void)
{
	/* --in-memory does not combine with --no-huge: no shared config and a
	 * per-process prefix instead. */
	char prefix[64];
	char *argv[] = {"test_flow", "--no-huge", "--no-pci", "--no-shconf", prefix, "-m", "512",
			"--log-level=error", "--no-telemetry", "-l", "0", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=nc_test_flow_%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0)
		cr_assert_fail("EAL init failed: %s", rte_strerror(rte_errno));
}

static inline void eal_down(void)
{
	rte_eal_cleanup();
}

static inline unsigned long test_seed(const char *what)
{
	const char *s = getenv("NC_TEST_SEED");
	unsigned long seed = s ? strtoul(s, NULL, 0) : (unsigned long)time(NULL) ^ (unsigned long)clock();

	fprintf(stderr, "%s: seed %lu (replay with NC_TEST_SEED=%lu)\n", what, seed, seed);
	return seed;
}

/* IPv4 key number i (distinct for distinct i). */
static inline void key_v4(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s = {.v4 = 0x0a000000u + i}, d = {.v4 = 0xc6120000u + (i * 2654435761u >> 8)};

	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV4, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), (uint16_t)(i % 7 ? 443 : 53));
}

/* IPv6 key number i. */
static inline void key_v6(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s, d;

	s.v6.hi = 0x20010db800000000ULL | i;
	s.v6.lo = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	d.v6.hi = 0x2a00145000000000ULL;
	d.v6.lo = i ^ 0x5555;
	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV6, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), 443);
}

#define V(i) ((void *)(uintptr_t)(0x1000 + (i)))

#endif /* NC_TEST_FLOW_FIXTURE_H */
