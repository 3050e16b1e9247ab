/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the completion ring (ncring.h) and ring timers (nc_timer.h):
 * bad arguments, single-thread semantics, overflow accounting, stale commits,
 * edge/level sources, timers, the timer index (against a model), threads
 * and processes (waiters: test_ring_wait.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nc_timer.h"
#include "ncring.h"
#include "ring_util.h"

/* ---- bad arguments -------------------------------------------------- */

Test(ring_args, create_attach)
{
	struct nc_ring *r = NULL;
	struct nc_ring_config cfg = {.size = 8};

	cr_expect_eq(nc_ring_create(NULL, &r), -EINVAL);
	cr_expect_eq(nc_ring_create(&cfg, NULL), -EINVAL);
	uint32_t bad_sizes[] = {0, 1, 3, 12, 1u << 25};
	for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		cfg.size = bad_sizes[i];
		cr_expect_eq(nc_ring_create(&cfg, &r), -EINVAL, "size %u", bad_sizes[i]);
	}
	cfg.size = 8;
	cfg.flags = 0x80;
	cr_expect_eq(nc_ring_create(&cfg, &r), -EINVAL);
	cfg.flags = 0;
	cfg.max_sources = (1u << 20) + 1;
	cr_expect_eq(nc_ring_create(&cfg, &r), -EINVAL);
	cr_expect_null(r);

	cr_expect_eq(nc_ring_attach(-1, &r), -EINVAL);
	int fd = memfd_create("notaring", 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(nc_ring_attach(fd, NULL), -EINVAL);
	cr_expect_eq(nc_ring_attach(fd, &r), -EINVAL); /* empty */
	cr_assert_eq(ftruncate(fd, 65536), 0);
	cr_expect_eq(nc_ring_attach(fd, &r), -EINVAL); /* zeros: no magic */
	close(fd);
	nc_ring_free(NULL);
	cr_expect_eq(nc_ring_fd(NULL), -EINVAL);
	cr_expect_eq(nc_ring_size(NULL), 0u);
}

Test(ring_args, calls)
{
	struct nc_ring *r = mk(8, 4, 0);
	struct nc_event e = ev_of(1), out[4];
	uint64_t idx;

	cr_expect_eq(nc_ring_post(NULL, &e), -EINVAL);
	cr_expect_eq(nc_ring_post(r, NULL), -EINVAL);
	cr_expect_eq(nc_ring_post_burst(NULL, &e, 1), -EINVAL);
	cr_expect_eq(nc_ring_post_burst(r, NULL, 1), -EINVAL);
	cr_expect_eq(nc_ring_post_burst(r, NULL, 0), 0);
	cr_expect_eq(nc_ring_peek(NULL, &idx, out, 4), -EINVAL);
	cr_expect_eq(nc_ring_peek(r, NULL, out, 4), -EINVAL);
	cr_expect_eq(nc_ring_peek(r, &idx, NULL, 4), -EINVAL);
	cr_expect_eq(nc_ring_commit(NULL, 0, 1), -EINVAL);
	cr_expect_eq(nc_ring_commit(r, 0, 1), -EINVAL); /* nothing published */
	cr_expect_eq(nc_ring_commit(r, 0, 9), -EINVAL); /* more than the ring */
	cr_expect_eq(nc_ring_commit(r, 0, 0), 0);
	cr_expect_eq(nc_ring_consume(NULL, out, 4), -EINVAL);
	cr_expect_eq(nc_ring_wait(NULL, 0), -EINVAL);
	cr_expect_eq(nc_ring_wake(NULL, 1), -EINVAL);
	cr_expect_eq(nc_ring_source_add(NULL, 0, NC_SRC_EDGE, 1, 0), -EINVAL);
	cr_expect_eq(nc_ring_source_add(r, 4, NC_SRC_EDGE, 1, 0), -EINVAL);
	cr_expect_eq(nc_ring_source_add(r, 0, (enum nc_src_mode)7, 1, 0), -EINVAL);
	cr_expect_eq(nc_ring_source_set(r, 0, true, 0), -ENOENT);
	cr_expect_eq(nc_ring_source_set(r, 9, true, 0), -EINVAL);
	cr_expect_eq(nc_ring_mark_ready(r, 1, 0), -ENOENT);
	cr_expect_eq(nc_ring_source_del(r, 1), -ENOENT);
	cr_expect_eq(nc_ring_source_add(r, 1, NC_SRC_LEVEL, 1, 0), 0);
	cr_expect_eq(nc_ring_source_add(r, 1, NC_SRC_EDGE, 1, 0), -EEXIST);
	cr_expect_eq(nc_ring_source_del(r, 1), 0);
	struct nc_ring *sp = mk(8, 4, NC_RING_SP);
	cr_expect_eq(nc_ring_source_add(sp, 1, NC_SRC_LEVEL, 1, 0), -EINVAL);
	cr_expect_eq(nc_ring_source_add(sp, 1, NC_SRC_EDGE, 1, 0), 0);
	nc_ring_free(sp);

	struct nc_timers *ts = NULL;
	cr_expect_eq(nc_timers_create(NULL, &ts), -EINVAL);
	cr_expect_eq(nc_timers_create(r, NULL), -EINVAL);
	cr_expect_eq(nc_timers_poll(NULL, 0), -EINVAL);
	cr_expect_eq(nc_timer_arm(NULL, NULL, 0, 0), -EINVAL);
	cr_expect_eq(nc_timers_next(NULL, 0), -1);
	nc_timers_free(NULL);
	nc_ring_free(r);
}

/* ---- single thread -------------------------------------------------- */

Test(ring_basic, post_peek_commit_wrap)
{
	struct nc_ring *r = mk(16, 0, NC_RING_TIMESTAMP);
	struct nc_event out[16];
	uint64_t idx, next = 0, expect = 0;

	cr_expect_eq(nc_ring_size(r), 16u);
	cr_expect_eq(nc_ring_peek(r, &idx, out, 16), 0);
	/* 100 rounds of uneven bursts wrap the ring many times. */
	for (unsigned round = 0; round < 100; round++) {
		struct nc_event in[7];
		unsigned n = 1 + round % 7;
		for (unsigned i = 0; i < n; i++)
			in[i] = ev_of(next++);
		cr_assert_eq(nc_ring_post_burst(r, in, n), (int)n);
		cr_assert_eq(nc_ring_count(r), n);
		int got = nc_ring_peek(r, &idx, out, 16);
		cr_assert_eq(got, (int)n);
		for (int i = 0; i < got; i++) {
			cr_assert_eq(out[i].data, expect + (uint64_t)i);
			cr_assert_eq(out[i].source, NC_SRC_NONE);
			cr_assert_neq(out[i].ts, 0u);
		}
		/* Commit in two parts: a partial commit leaves the rest. */
		cr_assert_eq(nc_ring_commit(r, idx, 1), 0);
		cr_assert_eq(nc_ring_commit(r, idx + 1, (unsigned)got - 1), 0);
		expect += (uint64_t)got;
	}
	struct nc_ring_stats st;
	nc_ring_stats(r, &st);
	cr_expect_eq(st.kidx, next);
	cr_expect_eq(st.uidx, next);
	cr_expect_eq(st.overflow, 0u);
	cr_expect_eq(nc_ring_wait(r, 0), -ETIMEDOUT);
	nc_ring_free(r);
}

Test(ring_basic, overflow_exact)
{
	struct nc_ring *r = mk(8, 0, NC_RING_SP);
	struct nc_event in[10], out[8];
	struct nc_ring_stats st;

	for (unsigned i = 0; i < 10; i++)
		in[i] = ev_of(i);
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(nc_ring_post(r, &in[i]), 1);
	/* 3 slots left: a burst of 10 queues 3, overflows 7. */
	cr_expect_eq(nc_ring_post_burst(r, in, 10), 3);
	nc_ring_stats(r, &st);
	cr_expect_eq(st.overflow, 7u);
	for (unsigned i = 0; i < 12; i++)
		cr_assert_eq(nc_ring_post(r, &in[0]), 0);
	nc_ring_stats(r, &st);
	cr_expect_eq(st.overflow, 19u);
	cr_expect_eq(st.posted, 8u);
	/* Nothing queued was lost: exactly 8 come out, in order. */
	cr_assert_eq(nc_ring_consume(r, out, 8), 8);
	for (unsigned i = 0; i < 5; i++)
		cr_expect_eq(out[i].data, i);
	for (unsigned i = 0; i < 3; i++)
		cr_expect_eq(out[5 + i].data, i);
	cr_expect_eq(nc_ring_post_burst(r, in, 10), 8); /* room again */
	nc_ring_stats(r, &st);
	cr_expect_eq(st.overflow, 21u);
	nc_ring_free(r);
}

Test(ring_basic, stale_commit_eagain)
{
	struct nc_ring *r = mk(8, 0, 0);
	struct nc_event in[4] = {ev_of(1), ev_of(2), ev_of(3), ev_of(4)}, a[4], b[4];
	uint64_t ia, ib;

	cr_assert_eq(nc_ring_post_burst(r, in, 4), 4);
	cr_assert_eq(nc_ring_peek(r, &ia, a, 4), 4);
	cr_assert_eq(nc_ring_peek(r, &ib, b, 2), 2);
	cr_assert_eq(ia, ib);
	cr_expect_eq(nc_ring_commit(r, ib, 2), 0);
	/* Consumer a still holds index ia: its commit must fail. */
	cr_expect_eq(nc_ring_commit(r, ia, 4), -EAGAIN);
	cr_expect_eq(nc_ring_commit(r, ia, 1), -EAGAIN);
	cr_assert_eq(nc_ring_peek(r, &ia, a, 4), 2);
	cr_expect_eq(a[0].data, 3u);
	cr_expect_eq(nc_ring_commit(r, ia, 3), -EINVAL); /* beyond what was posted */
	cr_expect_eq(nc_ring_commit(r, ia, 2), 0);
	cr_expect_eq(nc_ring_commit(r, ia, 2), -EAGAIN);
	nc_ring_free(r);
}

/* ---- sources -------------------------------------------------------- */

Test(ring_sources, edge_triggered)
{
	struct nc_ring *r = mk(16, 8, 0);
	struct nc_event out[8];

	cr_assert_eq(nc_ring_source_add(r, 3, NC_SRC_EDGE, NC_EV_READ, 0xabc), 0);
	cr_expect_eq(nc_ring_source_set(r, 3, true, 10), 1);
	cr_expect_eq(nc_ring_source_set(r, 3, true, 11), 0); /* still ready: no edge */
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect_eq(out[0].source, 3u);
	cr_expect_eq(out[0].kind, NC_EV_READ);
	cr_expect_eq(out[0].udata, 0xabcu);
	cr_expect_eq(out[0].data, 10u);
	cr_expect(out[0].flags & NC_EV_EDGE);
	cr_expect_eq(nc_ring_count(r), 0u); /* commit does not re-post an edge source */
	cr_expect_eq(nc_ring_source_set(r, 3, false, 0), 0);
	cr_expect_eq(nc_ring_source_set(r, 3, true, 12), 1); /* new edge */
	cr_expect_eq(nc_ring_source_set(r, 3, false, 0), 0);
	cr_expect_eq(nc_ring_source_set(r, 3, true, 13), 1); /* one per transition */
	cr_assert_eq(nc_ring_consume(r, out, 8), 2);
	cr_expect_eq(out[1].data, 13u);
	/* A handler may mark it ready whatever its state. */
	cr_expect_eq(nc_ring_mark_ready(r, 3, 99), 1);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect(out[0].flags & NC_EV_MARKED);
	cr_expect_eq(out[0].data, 99u);
	nc_ring_free(r);
}

Test(ring_sources, level_triggered)
{
	struct nc_ring *r = mk(16, 8, 0);
	struct nc_event out[8];
	uint64_t idx;

	cr_assert_eq(nc_ring_source_add(r, 5, NC_SRC_LEVEL, NC_EV_READ, 7), 0);
	cr_assert_eq(nc_ring_source_add(r, 6, NC_SRC_EDGE, NC_EV_READ, 8), 0);
	cr_expect_eq(nc_ring_source_set(r, 5, true, 1), 1);
	cr_expect_eq(nc_ring_source_set(r, 5, true, 2), 0); /* one queued at a time */
	/* While the condition holds, every commit re-posts it. */
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(nc_ring_peek(r, &idx, out, 8), 1);
		cr_expect_eq(out[0].source, 5u);
		cr_expect(out[0].flags & NC_EV_LEVEL);
		cr_assert_eq(nc_ring_commit(r, idx, 1), 0);
		cr_expect_eq(nc_ring_count(r), 1u);
	}
	/* A lost commit race does not re-post twice. */
	cr_assert_eq(nc_ring_peek(r, &idx, out, 8), 1);
	cr_assert_eq(nc_ring_commit(r, idx, 1), 0);
	cr_expect_eq(nc_ring_commit(r, idx, 1), -EAGAIN);
	cr_expect_eq(nc_ring_count(r), 1u);
	/* Condition gone: the queued event is still delivered, then no more. */
	cr_expect_eq(nc_ring_source_set(r, 5, false, 0), 0);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect_eq(nc_ring_count(r), 0u);
	/* mark_ready on a level source: once while queued. */
	cr_expect_eq(nc_ring_mark_ready(r, 5, 3), 1);
	cr_expect_eq(nc_ring_mark_ready(r, 5, 4), 0);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect(out[0].flags & NC_EV_MARKED);
	cr_expect_eq(nc_ring_count(r), 0u); /* not ready: not re-posted */
	/* Mixed with plain and edge events in one commit. */
	struct nc_event plain = ev_of(42);
	cr_assert_eq(nc_ring_post(r, &plain), 1);
	cr_expect_eq(nc_ring_source_set(r, 5, true, 5), 1);
	cr_expect_eq(nc_ring_source_set(r, 6, true, 6), 1);
	cr_assert_eq(nc_ring_consume(r, out, 8), 3);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect_eq(out[0].source, 5u);
	cr_expect_eq(nc_ring_source_del(r, 5), 0);
	cr_expect_eq(nc_ring_count(r), 1u);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1); /* deleted: not re-posted */
	cr_expect_eq(nc_ring_count(r), 0u);
	nc_ring_free(r);
}

Test(ring_sources, level_overflow_retries)
{
	struct nc_ring *r = mk(2, 2, 0);
	struct nc_event fill[2] = {ev_of(1), ev_of(2)}, out[4];
	struct nc_ring_stats st;

	cr_assert_eq(nc_ring_source_add(r, 0, NC_SRC_LEVEL, NC_EV_READ, 0), 0);
	cr_assert_eq(nc_ring_post_burst(r, fill, 2), 2);
	cr_expect_eq(nc_ring_source_set(r, 0, true, 1), 0); /* full */
	nc_ring_stats(r, &st);
	cr_expect_eq(st.overflow, 1u);
	cr_assert_eq(nc_ring_consume(r, out, 4), 2);
	cr_expect_eq(nc_ring_source_set(r, 0, true, 1), 1); /* retried */
	nc_ring_free(r);
}

/* ---- timers --------------------------------------------------------- */

Test(ring_timers, order_period_cancel)
{
	struct nc_ring *r = mk(4, 0, 0);
	struct nc_timers *ts = NULL;
	struct nc_timer t[4];
	struct nc_event out[8];

	cr_assert_eq(nc_timers_create(r, &ts), 0);
	for (unsigned i = 0; i < 4; i++)
		nc_timer_init(&t[i], i, 100 + i);
	cr_assert_eq(nc_timer_arm(ts, &t[0], 1000, 0), 0);
	cr_assert_eq(nc_timer_arm(ts, &t[1], 500, 0), 0);
	cr_assert_eq(nc_timer_arm(ts, &t[2], 2000, 0), 0);
	cr_assert_eq(nc_timer_arm(ts, &t[3], 700, 300), 0); /* periodic */
	cr_expect_eq(nc_timers_count(ts), 4u);
	cr_expect_eq(nc_timers_next(ts, 0), 500);
	cr_expect_eq(nc_timers_poll(ts, 499), 0);
	cr_expect_eq(nc_timers_poll(ts, 1000), 3); /* t1@500, t3@700+1000, t0@1000 */
	cr_assert_eq(nc_ring_consume(r, out, 8), 3);
	cr_expect_eq(out[0].udata, 101u);
	cr_expect_eq(out[1].udata, 103u);
	cr_expect_eq(out[1].data, 2u); /* 700 and 1000 both covered */
	cr_expect_eq(out[1].ts, 700u);
	cr_expect_eq(out[2].udata, 100u);
	cr_expect_eq(out[2].kind, NC_EV_TIMER);
	cr_expect(!nc_timer_pending(&t[0]));
	cr_expect(nc_timer_pending(&t[3]));
	cr_expect(nc_timer_cancel(ts, &t[2]));
	cr_expect(!nc_timer_cancel(ts, &t[2]));
	/* t3 next at 1300; polled at 1650: 1300, 1600 -> one event with
	 * data 2, next expiry 1900. */
	cr_expect_eq(nc_timers_next(ts, 1000), 300);
	cr_expect_eq(nc_timers_poll(ts, 1650), 1);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect_eq(out[0].data, 2u);
	cr_expect_eq(nc_timers_next(ts, 1650), 250);
	/* Re-arm moves it. */
	cr_assert_eq(nc_timer_arm(ts, &t[3], 5000, 0), 0);
	cr_expect_eq(nc_timers_next(ts, 1650), 3350);
	/* Ring full: the expiry stays due and is counted as overflow. */
	struct nc_event fill[4] = {ev_of(0), ev_of(1), ev_of(2), ev_of(3)};
	cr_assert_eq(nc_ring_post_burst(r, fill, 4), 4);
	cr_expect_eq(nc_timers_poll(ts, 6000), 0);
	cr_expect(nc_timer_pending(&t[3]));
	cr_assert_eq(nc_ring_consume(r, out, 8), 4);
	cr_expect_eq(nc_timers_poll(ts, 6000), 1);
	cr_assert_eq(nc_ring_consume(r, out, 8), 1);
	cr_expect_eq(out[0].ts, 5000u);
	cr_expect_eq(nc_timers_count(ts), 0u);
	/* Many timers: heap order holds. */
	struct nc_timer many[64];
	for (unsigned i = 0; i < 64; i++) {
		nc_timer_init(&many[i], 0, i);
		cr_assert_eq(nc_timer_arm(ts, &many[i], (i * 37) % 64, 0), 0);
	}
	uint64_t last = 0;
	for (unsigned k = 0; k < 64; k++) {
		cr_assert_eq(nc_timers_poll(ts, k), 1);
		cr_assert_eq(nc_ring_consume(r, out, 8), 1);
		cr_assert_geq(out[0].ts, last);
		cr_assert_eq(out[0].ts, k);
		last = out[0].ts;
	}
	nc_timers_free(ts);
	nc_ring_free(r);
}

/* ---- threads -------------------------------------------------------- */

#define MT_EVENTS 200000u

struct mt {
	struct nc_ring *r;
	unsigned producers, consumers;
	_Atomic uint64_t consumed, sum, xsum, failed;
	_Atomic uint8_t *seen;
	_Atomic unsigned dup;
	unsigned pid_next;
	pthread_mutex_t lock;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void *mt_producer(void *arg)
{
	struct mt *m = arg;
	pthread_mutex_lock(&m->lock);
	uint64_t p = m->pid_next++;
	pthread_mutex_unlock(&m->lock);
	uint64_t failed = 0;
	struct nc_event b[8];

	for (uint64_t i = 0; i < MT_EVENTS;) {
		unsigned n = 1 + (unsigned)(i % 8);
		if (i + n > MT_EVENTS)
			n = (unsigned)(MT_EVENTS - i);
		for (unsigned k = 0; k < n; k++)
			b[k] = ev_of(p * MT_EVENTS + i + k);
		int q = nc_ring_post_burst(m->r, b, n);
		cr_assert_geq(q, 0);
		failed += n - (unsigned)q;
		i += (unsigned)q;
		if ((unsigned)q < n)
			sched_yield();
	}
	atomic_fetch_add(&m->failed, failed);
	return NULL;
}

static void *mt_consumer(void *arg)
{
	struct mt *m = arg;
	uint64_t total = (uint64_t)m->producers * MT_EVENTS;
	struct nc_event out[16];

	while (atomic_load(&m->consumed) < total) {
		int n = nc_ring_consume(m->r, out, 1 + (unsigned)(mix((uint64_t)pthread_self()) % 16));
		cr_assert_geq(n, 0);
		if (n == 0) {
			int w = nc_ring_wait(m->r, 10);
			cr_assert(w >= 0 || w == -ETIMEDOUT, "wait %d", w);
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint64_t d = out[i].data;
			if (d >= total || atomic_exchange(&m->seen[d], 1))
				atomic_fetch_add(&m->dup, 1);
			atomic_fetch_add(&m->sum, d);
			atomic_fetch_xor(&m->xsum, mix(d));
		}
		if (atomic_fetch_add(&m->consumed, (uint64_t)n) + (uint64_t)n == total)
			(void)nc_ring_wake(m->r, UINT32_MAX);
	}
	return NULL;
}

static void run_mt(unsigned producers, unsigned consumers, uint32_t size)
{
	struct mt m = {.producers = producers, .consumers = consumers};
	uint64_t total = (uint64_t)producers * MT_EVENTS, sum = 0, xsum = 0;
	pthread_t th[16];

	pthread_mutex_init(&m.lock, NULL);
	m.r = mk(size, 0, producers == 1 ? NC_RING_SP : 0);
	m.seen = calloc(total, 1);
	cr_assert_not_null(m.seen);
	for (unsigned i = 0; i < consumers; i++)
		pthread_create(&th[i], NULL, mt_consumer, &m);
	for (unsigned i = 0; i < producers; i++)
		pthread_create(&th[consumers + i], NULL, mt_producer, &m);
	for (unsigned i = 0; i < producers + consumers; i++)
		pthread_join(th[i], NULL);
	for (uint64_t d = 0; d < total; d++) {
		sum += d;
		xsum ^= mix(d);
	}
	struct nc_ring_stats st;
	nc_ring_stats(m.r, &st);
	cr_expect_eq(atomic_load(&m.consumed), total);
	cr_expect_eq(atomic_load(&m.dup), 0u);
	cr_expect_eq(atomic_load(&m.sum), sum);
	cr_expect_eq(atomic_load(&m.xsum), xsum);
	cr_expect_eq(st.posted, total);
	cr_expect_eq(st.uidx, total);
	/* Every failed attempt, and nothing else, is in the overflow count. */
	cr_expect_eq(st.overflow, atomic_load(&m.failed));
	free((void *)m.seen);
	nc_ring_free(m.r);
}

Test(ring_mt, spsc) { run_mt(1, 1, 256); }
Test(ring_mt, two_by_two) { run_mt(2, 2, 64); }
Test(ring_mt, three_by_three_small) { run_mt(3, 3, 8); }

/* ---- processes ------------------------------------------------------ */

Test(ring_proc, fork_producer_consumer)
{
	struct nc_ring *r = mk(64, 0, 0);
	const uint64_t n = 100000;
	int fd = nc_ring_fd(r);
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Child: a separate mapping of the same memfd. */
		struct nc_ring *c = NULL;
		if (nc_ring_attach(fd, &c) != 0)
			_exit(2);
		msleep(50); /* let the parent sleep in nc_ring_wait */
		for (uint64_t i = 0; i < n;) {
			struct nc_event e = ev_of(i);
			int q = nc_ring_post(c, &e);
			if (q < 0)
				_exit(3);
			if (q == 1)
				i++;
			else
				sched_yield();
		}
		nc_ring_free(c);
		_exit(0);
	}
	uint64_t got = 0, sum = 0, expect_sum = n * (n - 1) / 2;
	struct nc_event out[32];
	int waits = 0;
	while (got < n) {
		int k = nc_ring_consume(r, out, 32);
		cr_assert_geq(k, 0);
		if (k == 0) {
			int w = nc_ring_wait(r, 5000);
			cr_assert(w > 0, "cross-process wait %d", w);
			waits++;
			continue;
		}
		for (int i = 0; i < k; i++) {
			cr_assert_eq(out[i].data, got + (uint64_t)i); /* in order: one producer */
			sum += out[i].data;
		}
		got += (uint64_t)k;
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_eq(sum, expect_sum);
	cr_expect_geq(waits, 1);
	struct nc_ring_stats st;
	nc_ring_stats(r, &st);
	cr_expect_eq(st.posted, n);
	nc_ring_free(r);
}

Test(ring_proc, two_consumer_processes)
{
	/* The parent produces; two child consumers race on commit. */
	struct nc_ring *r = mk(32, 0, NC_RING_SP);
	const uint64_t n = 60000;
	int fd = nc_ring_fd(r);
	/* Result area shared with the children. */
	_Atomic uint64_t *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(res, MAP_FAILED);
	pid_t pids[2];

	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		cr_assert_geq(pids[c], 0);
		if (pids[c] == 0) {
			struct nc_ring *cr = NULL;
			struct nc_event out[8];
			if (nc_ring_attach(fd, &cr) != 0)
				_exit(2);
			while (atomic_load(&res[0]) < n) {
				int k = nc_ring_consume(cr, out, 1 + (unsigned)c * 7);
				if (k < 0)
					_exit(3);
				if (k == 0) {
					if (nc_ring_wait(cr, 10) == -EINVAL)
						_exit(4);
					continue;
				}
				for (int i = 0; i < k; i++) {
					atomic_fetch_add(&res[1], out[i].data);
					atomic_fetch_xor(&res[2], mix(out[i].data));
				}
				atomic_fetch_add(&res[3 + c], (uint64_t)k);
				atomic_fetch_add(&res[0], (uint64_t)k);
			}
			(void)nc_ring_wake(cr, UINT32_MAX);
			nc_ring_free(cr);
			_exit(0);
		}
	}
	uint64_t xs = 0, failed = 0;
	for (uint64_t i = 0; i < n;) {
		struct nc_event e = ev_of(i);
		int q = nc_ring_post(r, &e);
		cr_assert_geq(q, 0);
		if (q == 1) {
			xs ^= mix(i);
			i++;
		} else {
			failed++;
			sched_yield();
		}
	}
	for (int c = 0; c < 2; c++) {
		int status;
		cr_assert_eq(waitpid(pids[c], &status, 0), pids[c]);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	cr_expect_eq(atomic_load(&res[0]), n);
	cr_expect_eq(atomic_load(&res[1]), n * (n - 1) / 2);
	cr_expect_eq(atomic_load(&res[2]), xs);
	struct nc_ring_stats st;
	nc_ring_stats(r, &st);
	cr_expect_eq(st.overflow, failed);
	cr_log_info("consumer split %lu / %lu", (unsigned long)atomic_load(&res[3]),
		    (unsigned long)atomic_load(&res[4]));
	munmap((void *)res, 4096);
	nc_ring_free(r);
}

/* The timer index against a direct map: random adds and removes over a key
 * space small enough for long probe runs and many removals inside them
 * (keys chosen to collide: multiples of a power of two), across growths. */
Test(ring_timers, index_against_model)
{
	enum { KEYS = 4096, OPS = 200000 };
	struct nc_timer_index ix = {0};
	struct nc_timer *t = calloc(KEYS, sizeof(*t));
	bool *in = calloc(KEYS, sizeof(*in));
	uint64_t rng = 0x2545f4914f6cdd1dull;
	unsigned n = 0;

	cr_assert(t != NULL && in != NULL);
	cr_expect_null(nc_timer_index_find(&ix, 1));
	cr_expect_null(nc_timer_index_remove(&ix, 1));
	cr_expect_eq(nc_timer_index_add(&ix, NULL), -EINVAL);
	for (unsigned k = 0; k < KEYS; k++)
		nc_timer_init(&t[k], 7, (uint64_t)k << 32 | (k * 64u)); /* key: low half */
	for (unsigned op = 0; op < OPS; op++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		/* a few hundred live: grow to 1024 slots, then churn */
		unsigned k = (unsigned)(rng % (op < OPS / 2 ? 600 : KEYS));
		uint32_t key = k * 64u;

		if (in[k]) {
			cr_assert_eq(nc_timer_index_find(&ix, key), &t[k]);
			if ((rng >> 32) % 3 == 0) {
				cr_assert_eq(nc_timer_index_add(&ix, &t[k]), -EEXIST);
				continue;
			}
			cr_assert_eq(nc_timer_index_remove(&ix, key), &t[k]);
			in[k] = false;
			n--;
		} else {
			cr_assert_null(nc_timer_index_find(&ix, key));
			cr_assert_eq(nc_timer_index_add(&ix, &t[k]), 0);
			in[k] = true;
			n++;
		}
		cr_assert_eq(ix.n, n);
		cr_assert_leq(2 * ix.n, ix.mask + 1, "at most half full");
		if (op % 5000 == 0)
			for (unsigned j = 0; j < KEYS; j++)
				cr_assert_eq(nc_timer_index_find(&ix, j * 64u), in[j] ? &t[j] : NULL,
					     "key %u after %u ops", j * 64u, op);
	}
	for (unsigned j = 0; j < KEYS; j++)
		cr_assert_eq(nc_timer_index_find(&ix, j * 64u), in[j] ? &t[j] : NULL);
	nc_timer_index_fini(&ix);
	cr_expect_null(ix.slot);
	nc_timer_index_fini(&ix);
	free(t);
	free(in);
}
