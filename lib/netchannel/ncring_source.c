/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncring sources: edge- and level-triggered readiness and user marking
 * (see ncring.h).  One atomic state word per source in the shared table:
 * ACTIVE (registered), LEVEL (mode), READY (the owner's condition), QUEUED
 * (a level source has an event in the ring; commits clear it and re-post
 * while READY holds).
 */
#include <errno.h>

#include "ncring_int.h"

/* ---- sources ------------------------------------------------------------ */

static struct nc_src *src_get(struct nc_ring *r, uint32_t id, int *err)
{
	if (r == NULL || id >= r->max_sources) {
		*err = -EINVAL;
		return NULL;
	}
	struct nc_src *s = &r->src[id];
	if (!(atomic_load_explicit(&s->state, memory_order_acquire) & SRC_ACTIVE)) {
		*err = -ENOENT;
		return NULL;
	}
	return s;
}

/* Post one event for source id.  Returns 1 if queued, 0 if it overflowed. */
static int post_source(struct nc_ring *r, uint32_t id, uint16_t flags)
{
	struct nc_src *s = &r->src[id];
	struct nc_event ev = {
		.source = id,
		.kind = s->kind,
		.flags = flags,
		.data = atomic_load_explicit(&s->data, memory_order_relaxed),
		.udata = s->udata,
	};

	return (int)ncr_post(r, &ev, 1);
}

int nc_ring_source_add(struct nc_ring *r, uint32_t id, enum nc_src_mode mode, uint16_t kind,
		       uint64_t udata)
{
	if (r == NULL || id >= r->max_sources || (mode != NC_SRC_EDGE && mode != NC_SRC_LEVEL))
		return -EINVAL;
	/* Level sources are re-posted by the consumers' commits: a second
	 * producer, which an NC_RING_SP ring does not allow. */
	if (mode == NC_SRC_LEVEL && (r->flags & NC_RING_SP))
		return -EINVAL;
	struct nc_src *s = &r->src[id];
	if (atomic_load_explicit(&s->state, memory_order_acquire) & SRC_ACTIVE)
		return -EEXIST;
	s->kind = kind;
	s->udata = udata;
	atomic_store_explicit(&s->data, 0, memory_order_relaxed);
	if (mode == NC_SRC_LEVEL)
		atomic_fetch_add_explicit(&r->h->level_sources, 1, memory_order_relaxed);
	/* Release: kind and udata are visible to whoever sees ACTIVE. */
	atomic_store_explicit(&s->state, SRC_ACTIVE | (mode == NC_SRC_LEVEL ? SRC_LEVEL : 0),
			      memory_order_release);
	return 0;
}

int nc_ring_source_del(struct nc_ring *r, uint32_t id)
{
	int err = 0;
	struct nc_src *s = src_get(r, id, &err);

	if (s == NULL)
		return err;
	uint32_t old = atomic_exchange_explicit(&s->state, 0, memory_order_acq_rel);
	if (old & SRC_LEVEL)
		atomic_fetch_sub_explicit(&r->h->level_sources, 1, memory_order_relaxed);
	return 0;
}

int nc_ring_source_set(struct nc_ring *r, uint32_t id, bool ready, uint64_t data)
{
	int err = 0;
	struct nc_src *s = src_get(r, id, &err);

	if (s == NULL)
		return err;
	if (!ready) {
		atomic_fetch_and_explicit(&s->state, ~SRC_READY, memory_order_release);
		return 0;
	}
	atomic_store_explicit(&s->data, data, memory_order_relaxed);
	uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (!(st & SRC_LEVEL)) {
		/* Release: data is stored before READY is seen. */
		uint32_t old = atomic_fetch_or_explicit(&s->state, SRC_READY, memory_order_acq_rel);
		return (old & SRC_READY) ? 0 : post_source(r, id, NC_EV_EDGE);
	}
	uint32_t old = atomic_fetch_or_explicit(&s->state, SRC_READY | SRC_QUEUED,
						memory_order_acq_rel);
	if (old & SRC_QUEUED)
		return 0;
	if (post_source(r, id, NC_EV_LEVEL) == 1)
		return 1;
	/* Overflowed (counted): not queued, so the next set retries. */
	atomic_fetch_and_explicit(&s->state, ~SRC_QUEUED, memory_order_relaxed);
	return 0;
}

int nc_ring_mark_ready(struct nc_ring *r, uint32_t id, uint64_t data)
{
	int err = 0;
	struct nc_src *s = src_get(r, id, &err);

	if (s == NULL)
		return err;
	atomic_store_explicit(&s->data, data, memory_order_relaxed);
	uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (!(st & SRC_LEVEL))
		return post_source(r, id, NC_EV_EDGE | NC_EV_MARKED);
	uint32_t old = atomic_fetch_or_explicit(&s->state, SRC_QUEUED, memory_order_acq_rel);
	if (old & SRC_QUEUED)
		return 0;
	if (post_source(r, id, NC_EV_LEVEL | NC_EV_MARKED) == 1)
		return 1;
	atomic_fetch_and_explicit(&s->state, ~SRC_QUEUED, memory_order_relaxed);
	return 0;
}

/* A consumer committed an event of level source id: clear QUEUED and, if
 * the condition still holds, post it again. */
void ncr_rearm_level(struct nc_ring *r, uint32_t id)
{
	struct nc_src *s = &r->src[id];
	/* Acq_rel: the owner's READY update and data are seen. */
	uint32_t old = atomic_fetch_and_explicit(&s->state, ~SRC_QUEUED, memory_order_acq_rel);

	if ((old & (SRC_ACTIVE | SRC_LEVEL | SRC_READY)) != (SRC_ACTIVE | SRC_LEVEL | SRC_READY))
		return;
	old = atomic_fetch_or_explicit(&s->state, SRC_QUEUED, memory_order_acq_rel);
	if (!(old & SRC_QUEUED) && post_source(r, id, NC_EV_LEVEL) == 0)
		atomic_fetch_and_explicit(&s->state, ~SRC_QUEUED, memory_order_relaxed);
}
