/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_FLOW_UTIL_H
#define NC_TEST_FLOW_UTIL_H
/*
 * Shared by the flow table tests (test_flow.c: arguments and behaviour;
 * test_flow_model.c: random runs against a reference model;
 * test_flow_concurrency.c: readers under RCU while writers change the
 * table; test_flow_layouts.c: the compact and wide entry layouts): keys of
 * a small key space, free_value counting and the table maker.  The EAL,
 * seeds and numbered keys are flow_fixture.h's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "flow_fixture.h"
#include "nc_flow.h"

/* Key number i of a small key space (so random ops collide often). */
static inline void key_n(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s, d;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (i & 1) {
		s.v6.hi = 0x20010db800000000ULL;
		s.v6.lo = i >> 3;
		d.v6.hi = 0x20010db8ffff0000ULL;
		d.v6.lo = (i >> 6) + 1;
	} else {
		s.v4 = 0x0a000000u + (i >> 3);
		d.v4 = 0xc6336400u + (i >> 6);
	}
	nc_flow_key_set(k, (uint16_t)((i >> 1) & 1), (i & 1) ? CLS_IPV6 : CLS_IPV4,
			(i >> 2) & 1 ? 6 : 17, &s, &d, (uint16_t)(1000 + (i >> 3) % 7),
			(uint16_t)(80 + (i >> 4) % 3));
}

static unsigned freed_count;
static inline void count_free(void *v, void *ctx)
{
	(void)v;
	(void)ctx;
	__atomic_fetch_add(&freed_count, 1, __ATOMIC_RELAXED);
}

static inline struct nc_flow *make_table(uint32_t entries, struct rte_rcu_qsbr *q, uint32_t flags)
{
	struct nc_flow_config cfg = {.entries = entries, .socket_id = -1, .qsbr = q,
				     .flags = flags, .free_value = count_free};
	struct nc_flow *t = NULL;

	freed_count = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_not_null(t);
	return t;
}


#endif /* NC_TEST_FLOW_UTIL_H */
