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

/* ---- timers by key --------------------------------------------------- */

static inline uint32_t ix_key(const struct nc_timer *t)
{
	return (uint32_t)t->udata;
}

static inline uint32_t ix_home(const struct nc_timer_index *ix, uint32_t key)
{
	return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) & ix->mask;
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t ix_probe(const struct nc_timer_index *ix, uint32_t key)
{
	uint32_t i = ix_home(ix, key);

	while (ix->slot[i] != NULL && ix_key(ix->slot[i]) != key)
		i = (i + 1) & ix->mask;
	return i;
}

static int ix_grow(struct nc_timer_index *ix)
{
	uint32_t slots = ix->slot ? 2 * (ix->mask + 1) : 16;
	struct nc_timer_index nx = {.mask = slots - 1, .n = ix->n};

	if (slots == 0 || (nx.slot = calloc(slots, sizeof(*nx.slot))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; ix->slot != NULL && i <= ix->mask; i++)
		if (ix->slot[i] != NULL)
			nx.slot[ix_probe(&nx, ix_key(ix->slot[i]))] = ix->slot[i];
	free(ix->slot);
	*ix = nx;
	return 0;
}

int nc_timer_index_add(struct nc_timer_index *ix, struct nc_timer *t)
{
	uint32_t i;

	if (ix == NULL || t == NULL)
		return -EINVAL;
	if (ix->slot == NULL || 2 * ((uint64_t)ix->n + 1) > (uint64_t)ix->mask + 1) {
		int rc = ix_grow(ix);
		if (rc != 0)
			return rc;
	}
	i = ix_probe(ix, ix_key(t));
	if (ix->slot[i] != NULL)
		return -EEXIST;
	ix->slot[i] = t;
	ix->n++;
	return 0;
}

struct nc_timer *nc_timer_index_find(const struct nc_timer_index *ix, uint32_t key)
{
	if (ix == NULL || ix->slot == NULL)
		return NULL;
	return ix->slot[ix_probe(ix, key)];
}

struct nc_timer *nc_timer_index_remove(struct nc_timer_index *ix, uint32_t key)
{
	struct nc_timer *t;
	uint32_t i, j;

	if (ix == NULL || ix->slot == NULL)
		return NULL;
	i = ix_probe(ix, key);
	t = ix->slot[i];
	if (t == NULL)
		return NULL;
	ix->slot[i] = NULL;
	ix->n--;
	/* Backward shift: move up every later timer of the run whose home is
	 * not cyclically in (i, j], so that probes never stop early. */
	for (j = (i + 1) & ix->mask; ix->slot[j] != NULL; j = (j + 1) & ix->mask) {
		uint32_t h = ix_home(ix, ix_key(ix->slot[j]));

		if (((j - h) & ix->mask) >= ((j - i) & ix->mask)) {
			ix->slot[i] = ix->slot[j];
			ix->slot[j] = NULL;
			i = j;
		}
	}
	return t;
}

void nc_timer_index_fini(struct nc_timer_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slot);
	ix->slot = NULL;
	ix->mask = 0;
	ix->n = 0;
}
