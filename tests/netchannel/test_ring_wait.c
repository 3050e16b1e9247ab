/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the completion ring's waiters (ncring.h): no lost wake-up
 * (ping-pong between threads and between processes, with and without
 * membarrier), wake-one counted with N waiters, wake-all, wake without an
 * event, timeouts.
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

/* ---- lost wake-ups: ping-pong with sleeping waiters ---------------- */

#define PINGS 20000

struct pingpong {
	struct nc_ring *a, *b;
	int timeouts;
};

static int pong_loop(struct nc_ring *in, struct nc_ring *out, int n)
{
	struct nc_event e;
	int timeouts = 0;

	for (int i = 0; i < n; i++) {
		int k;
		while ((k = nc_ring_consume(in, &e, 1)) == 0) {
			int w = nc_ring_wait(in, 5000);
			if (w == -ETIMEDOUT)
				return -1; /* a lost wake-up would stall here */
		}
		if (k != 1 || e.data != (uint64_t)i)
			return -2;
		if (nc_ring_post(out, &e) != 1)
			return -3;
	}
	return timeouts;
}

static void *pong_main(void *arg)
{
	struct pingpong *p = arg;

	p->timeouts = pong_loop(p->a, p->b, PINGS);
	return NULL;
}

static int ping_loop(struct nc_ring *out, struct nc_ring *in, int n)
{
	struct nc_event e = ev_of(0), back;

	for (int i = 0; i < n; i++) {
		e.data = (uint64_t)i;
		if (nc_ring_post(out, &e) != 1)
			return -3;
		int k;
		while ((k = nc_ring_consume(in, &back, 1)) == 0)
			if (nc_ring_wait(in, 5000) == -ETIMEDOUT)
				return -1;
		if (k != 1 || back.data != (uint64_t)i)
			return -2;
	}
	return 0;
}

static void pingpong_threads(void)
{
	struct pingpong p = {.a = mk(8, 0, NC_RING_SP), .b = mk(8, 0, NC_RING_SP)};
	pthread_t th;

	pthread_create(&th, NULL, pong_main, &p);
	cr_expect_eq(ping_loop(p.a, p.b, PINGS), 0);
	pthread_join(th, NULL);
	cr_expect_eq(p.timeouts, 0);
	nc_ring_free(p.a);
	nc_ring_free(p.b);
}

Test(ring_wakeup, pingpong_threads, .timeout = 60) { pingpong_threads(); }

Test(ring_wakeup, pingpong_threads_fenced, .timeout = 60)
{
	setenv("NC_RING_NO_MEMBARRIER", "1", 1);
	pingpong_threads();
}

Test(ring_wakeup, pingpong_processes, .timeout = 60)
{
	struct nc_ring *a = mk(8, 0, NC_RING_SP), *b = mk(8, 0, NC_RING_SP);
	int fa = nc_ring_fd(a), fb = nc_ring_fd(b);
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct nc_ring *ca = NULL, *cb = NULL;
		if (nc_ring_attach(fa, &ca) != 0 || nc_ring_attach(fb, &cb) != 0)
			_exit(2);
		int rc = pong_loop(ca, cb, PINGS);
		_exit(rc == 0 ? 0 : 3);
	}
	cr_expect_eq(ping_loop(a, b, PINGS), 0);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	nc_ring_free(a);
	nc_ring_free(b);
}

/* ---- waiters -------------------------------------------------------- */

#define NWAIT 5

struct waiter {
	struct nc_ring *r;
	int timeout_ms;
	_Atomic int returned;
	_Atomic int ret_pos, ret_zero, ret_timeout;
	_Atomic int ntid;
	pid_t tid[NWAIT];
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->tid[atomic_fetch_add(&w->ntid, 1)] = gettid();
	int rc = nc_ring_wait(w->r, w->timeout_ms);

	if (rc > 0)
		atomic_fetch_add(&w->ret_pos, 1);
	else if (rc == 0)
		atomic_fetch_add(&w->ret_zero, 1);
	else if (rc == -ETIMEDOUT)
		atomic_fetch_add(&w->ret_timeout, 1);
	atomic_fetch_add(&w->returned, 1);
	return NULL;
}

/* Is thread tid asleep in a futex wait?  -1 if the kernel does not say. */
static int in_futex(pid_t tid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (n == 0 || strcmp(buf, "0") == 0)
		return -1;
	return strstr(buf, "futex") != NULL;
}

static void start_waiters(struct waiter *w, pthread_t *th, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pthread_create(&th[i], NULL, waiter_main, w);
	struct nc_ring_stats st;
	do {
		msleep(5);
		nc_ring_stats(w->r, &st);
	} while (st.waiters < n || (unsigned)atomic_load(&w->ntid) < n);
	/* Every waiter must be asleep in the kernel, past its re-check, or a
	 * post could find one between its re-check and the futex call (it
	 * would then return by itself and the wake would go to another). */
	for (int tries = 0; tries < 2000; tries++) {
		unsigned asleep = 0;
		bool unknown = false;
		for (unsigned i = 0; i < n; i++) {
			int f = in_futex(w->tid[i]);
			unknown |= f < 0;
			asleep += f == 1;
		}
		if (unknown) {
			msleep(100);
			return;
		}
		if (asleep == n)
			return;
		msleep(2);
	}
	cr_assert_fail("waiters did not fall asleep");
}

static void settle(void)
{
	msleep(100);
}

/* Wait (up to 10 s, for loaded machines) until at least k waiters returned,
 * then a little more so that any extra wake-up would show. */
static void await_returned(struct waiter *w, int k)
{
	for (int i = 0; i < 5000 && atomic_load(&w->returned) < k; i++)
		msleep(2);
	settle();
}

Test(ring_wait, wake_one_per_event)
{
	struct waiter w = {.r = mk(16, 0, 0), .timeout_ms = 20000};
	pthread_t th[NWAIT];
	const int k = 3;

	start_waiters(&w, th, NWAIT);
	for (int i = 0; i < k; i++) {
		struct nc_event e = ev_of((uint64_t)i);
		cr_assert_eq(nc_ring_post(w.r, &e), 1);
		await_returned(&w, i + 1);
		/* Exactly one more waiter woke for each event, not all of them. */
		cr_assert_eq(atomic_load(&w.returned), i + 1);
	}
	struct nc_ring_stats st;
	nc_ring_stats(w.r, &st);
	cr_expect_eq(st.waiters, (uint32_t)(NWAIT - k));
	cr_expect_eq(st.wakeups, (uint64_t)k);
	cr_expect_eq(atomic_load(&w.ret_pos), k);
	/* Release the rest; they see the events still queued. */
	cr_assert_geq(nc_ring_wake(w.r, UINT32_MAX), 0);
	for (int i = 0; i < NWAIT; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&w.returned), NWAIT);
	nc_ring_free(w.r);
}

Test(ring_wait, wake_all_flag)
{
	struct waiter w = {.r = mk(16, 0, 0), .timeout_ms = 20000};
	pthread_t th[NWAIT];
	struct nc_event e = ev_of(1);

	start_waiters(&w, th, NWAIT);
	e.flags = NC_EV_WAKEALL;
	cr_assert_eq(nc_ring_post(w.r, &e), 1);
	for (int i = 0; i < NWAIT; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&w.ret_pos), NWAIT);
	nc_ring_free(w.r);
}

Test(ring_wait, nowake_flag_and_wake_without_event)
{
	struct waiter w = {.r = mk(16, 0, 0), .timeout_ms = 20000};
	pthread_t th[NWAIT];
	struct nc_event e = ev_of(1);

	start_waiters(&w, th, NWAIT);
	e.flags = NC_EV_NOWAKE;
	cr_assert_eq(nc_ring_post(w.r, &e), 1);
	settle();
	cr_expect_eq(atomic_load(&w.returned), 0); /* posted silently */
	struct nc_event out[4];
	cr_assert_eq(nc_ring_consume(w.r, out, 4), 1);
	/* Wake two without an event: exactly two return 0. */
	cr_assert_eq(nc_ring_wake(w.r, 2), 2);
	await_returned(&w, 2);
	cr_expect_eq(atomic_load(&w.returned), 2);
	cr_expect_eq(atomic_load(&w.ret_zero), 2);
	/* Wake all. */
	cr_assert_eq(nc_ring_wake(w.r, UINT32_MAX), NWAIT - 2);
	for (int i = 0; i < NWAIT; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&w.ret_zero), NWAIT);
	/* A token with no sleeper makes the next wait return 0 at once. */
	cr_assert_eq(nc_ring_wake(w.r, 1), 0);
	cr_expect_eq(nc_ring_wait(w.r, 1000), 0);
	cr_expect_eq(nc_ring_wait(w.r, 0), -ETIMEDOUT);
	nc_ring_free(w.r);
}

Test(ring_wait, timeout)
{
	struct nc_ring *r = mk(16, 0, 0);
	uint64_t t0 = nc_ring_now_ns();

	cr_expect_eq(nc_ring_wait(r, 60), -ETIMEDOUT);
	uint64_t dt = nc_ring_now_ns() - t0;
	cr_expect_geq(dt, 55000000u);
	cr_expect_lt(dt, 2000000000u);
	struct nc_event e = ev_of(1);
	cr_assert_eq(nc_ring_post(r, &e), 1);
	cr_expect_eq(nc_ring_wait(r, 60), 1);
	cr_expect_eq(nc_ring_wait(r, -1), 1);
	nc_ring_free(r);
}
