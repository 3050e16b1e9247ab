/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_TEST_NAT_PORTS_UTIL_H
#define NCNAT_TEST_NAT_PORTS_UTIL_H
/*
 * Shared by the nat_ports tests (test_nat_ports.c: the individual rules;
 * test_nat_ports_model.c: random sequences against a model;
 * test_nat_ports_shard.c: several workers, one shard each;
 * test_nat_ports_workers.c: random sequences over several workers against
 * a model): the pool addresses, the port range of the random runs, the
 * allocator makers (without and with a shard) and a worker's subscribers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "nat_ports.h"
#include "nat_test_util.h"

static const uint32_t A1 = IP4(198, 51, 100, 1), A2 = IP4(198, 51, 100, 2);

/* The port range of the random runs against a model (and of the run that
 * compares one shard with none). */
#define M_LO 1024
#define M_HI 1087

static inline struct nat_ports *mk(uint32_t n_addrs, uint16_t lo, uint16_t hi, uint32_t quota,
				   uint32_t block, uint32_t hold,
				   void (*ev)(void *, const struct nat_ports_event *), void *ctx)
{
	const uint32_t addrs[2] = {A1, A2};
	struct nat_ports_config c = {
		.addrs = addrs, .n_addrs = n_addrs, .port_lo = lo, .port_hi = hi, .quota = quota,
		.block = block, .hold_down = hold, .max_subscribers = 64, .event = ev,
		.event_ctx = ctx,
	};
	struct nat_ports *p = NULL;

	cr_assert_eq(nat_ports_create(&c, &p), 0);
	return p;
}

/* Worker w's allocator of count; the shard is copied at create. */
static inline struct nat_ports *mk_shard(const uint32_t *addrs, uint32_t n_addrs, uint16_t lo,
					 uint16_t hi, uint32_t quota, uint32_t block, uint32_t hold,
					 unsigned w, unsigned count,
					 void (*ev)(void *, const struct nat_ports_event *),
					 void *ctx)
{
	struct nat_shard sh;
	struct nat_ports_config c = {
		.addrs = addrs, .n_addrs = n_addrs, .port_lo = lo, .port_hi = hi, .quota = quota,
		.block = block, .hold_down = hold, .max_subscribers = 256, .event = ev,
		.event_ctx = ctx, .shard = &sh,
	};
	struct nat_ports *p = NULL;

	cr_assert_eq(nat_shard_init(&sh, w, count, lo, hi, block), 0);
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	memset(&sh, 0xa5, sizeof(sh)); /* copied: the allocator must not look again */
	return p;
}

/* The n-th subscriber address (from 10.2.0.1 on) that worker w owns. */
static inline uint32_t sub_of(const struct nat_shard *sh, unsigned w, unsigned n)
{
	uint32_t a;

	for (a = IP4(10, 2, 0, 1);; a++)
		if (nat_shard_sub_owner(sh, a) == w && n-- == 0)
			return a;
}

#endif /* NCNAT_TEST_NAT_PORTS_UTIL_H */
