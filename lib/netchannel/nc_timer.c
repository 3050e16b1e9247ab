/* SPDX-License-Identifier: BSD-3-Clause */
/* nc_timer: a binary min-heap of intrusive timers posting to a ring. */
#include "nc_timer.h"

#include <errno.h>
#include <stdlib.h>

struct nc_timers {
	struct nc_ring *ring;
	struct nc_timer **heap;
	unsigned n, cap;
};

int nc_timers_create(struct nc_ring *ring, struct nc_timers **out)
{
	if (ring == NULL || out == NULL)
		return -EINVAL;
	struct nc_timers *ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return -ENOMEM;
	ts->ring = ring;
	*out = ts;
	return 0;
}

void nc_timers_free(struct nc_timers *ts)
{
	if (ts == NULL)
		return;
	for (unsigned i = 0; i < ts->n; i++)
		ts->heap[i]->heap_idx = UINT32_MAX;
	free(ts->heap);
	free(ts);
}

void nc_timer_init(struct nc_timer *t, uint32_t source, uint64_t udata)
{
	t->expires = 0;
	t->period = 0;
	t->udata = udata;
	t->source = source;
	t->heap_idx = UINT32_MAX;
}

bool nc_timer_pending(const struct nc_timer *t)
{
	return t != NULL && t->heap_idx != UINT32_MAX;
}

unsigned nc_timers_count(const struct nc_timers *ts)
{
	return ts ? ts->n : 0;
}

static void place(struct nc_timers *ts, unsigned i, struct nc_timer *t)
{
	ts->heap[i] = t;
	t->heap_idx = i;
}

static void sift_up(struct nc_timers *ts, unsigned i)
{
	struct nc_timer *t = ts->heap[i];

	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (ts->heap[p]->expires <= t->expires)
			break;
		place(ts, i, ts->heap[p]);
		i = p;
	}
	place(ts, i, t);
}

static void sift_down(struct nc_timers *ts, unsigned i)
{
	struct nc_timer *t = ts->heap[i];

	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= ts->n)
			break;
		if (c + 1 < ts->n && ts->heap[c + 1]->expires < ts->heap[c]->expires)
			c++;
		if (t->expires <= ts->heap[c]->expires)
			break;
		place(ts, i, ts->heap[c]);
		i = c;
	}
	place(ts, i, t);
}

static void heap_remove(struct nc_timers *ts, unsigned i)
{
	struct nc_timer *last = ts->heap[--ts->n];

	ts->heap[i]->heap_idx = UINT32_MAX;
	if (i == ts->n)
		return;
	place(ts, i, last);
	sift_down(ts, i);
	sift_up(ts, last->heap_idx);
}

int nc_timer_arm(struct nc_timers *ts, struct nc_timer *t, uint64_t expires_ns,
		 uint64_t period_ns)
{
	if (ts == NULL || t == NULL)
		return -EINVAL;
	if (t->heap_idx != UINT32_MAX) {
		if (t->heap_idx >= ts->n || ts->heap[t->heap_idx] != t)
			return -EINVAL;
		t->expires = expires_ns;
		t->period = period_ns;
		sift_down(ts, t->heap_idx);
		sift_up(ts, t->heap_idx);
		return 0;
	}
	if (ts->n == ts->cap) {
		unsigned cap = ts->cap ? ts->cap * 2 : 64;
		struct nc_timer **h = realloc(ts->heap, cap * sizeof(*h));
		if (h == NULL)
			return -ENOMEM;
		ts->heap = h;
		ts->cap = cap;
	}
	t->expires = expires_ns;
	t->period = period_ns;
	place(ts, ts->n++, t);
	sift_up(ts, ts->n - 1);
	return 0;
}

bool nc_timer_cancel(struct nc_timers *ts, struct nc_timer *t)
{
	if (ts == NULL || t == NULL || t->heap_idx == UINT32_MAX || t->heap_idx >= ts->n ||
	    ts->heap[t->heap_idx] != t)
		return false;
	heap_remove(ts, t->heap_idx);
	return true;
}

int nc_timers_poll(struct nc_timers *ts, uint64_t now_ns)
{
	int posted = 0;

	if (ts == NULL)
		return -EINVAL;
	while (ts->n > 0 && ts->heap[0]->expires <= now_ns) {
		struct nc_timer *t = ts->heap[0];
		uint64_t runs = 1;

		if (t->period > 0)
			runs += (now_ns - t->expires) / t->period;
		struct nc_event ev = {
			.source = t->source,
			.kind = NC_EV_TIMER,
			.data = runs,
			.udata = t->udata,
			.ts = t->expires,
		};
		if (nc_ring_post(ts->ring, &ev) != 1)
			break; /* ring full: counted as overflow, stays due */
		posted++;
		if (t->period > 0) {
			t->expires += runs * t->period;
			sift_down(ts, 0);
		} else {
			heap_remove(ts, 0);
		}
	}
	return posted;
}

int64_t nc_timers_next(const struct nc_timers *ts, uint64_t now_ns)
{
	if (ts == NULL || ts->n == 0)
		return -1;
	uint64_t e = ts->heap[0]->expires;
	return e <= now_ns ? 0 : (int64_t)(e - now_ns);
}
