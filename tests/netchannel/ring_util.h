/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_RING_UTIL_H
#define NC_TEST_RING_UTIL_H
/*
 * Shared by the completion ring tests (test_ring.c: semantics, overflow,
 * sources, timers; test_ring_wait.c: waiters and wake-ups): the ring
 * maker, a user event and a sleep.
 */
#include <criterion/criterion.h>
#include <time.h>

#include "ncring.h"

/* A ring of size slots and sources sources; fails the test if it cannot. */
static inline struct nc_ring *mk(uint32_t size, uint32_t sources, uint32_t flags)
{
	struct nc_ring_config cfg = {.size = size, .max_sources = sources, .flags = flags};
	struct nc_ring *r = NULL;

	cr_assert_eq(nc_ring_create(&cfg, &r), 0);
	cr_assert_not_null(r);
	return r;
}

/* A user event without a source carrying data. */
static inline struct nc_event ev_of(uint64_t data)
{
	struct nc_event e = {.source = NC_SRC_NONE, .kind = NC_EV_USER_BASE, .data = data};
	return e;
}

static inline void msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

#endif
