/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NC_TIMER_H
#define NETCHANNEL_NC_TIMER_H

/*
 * nc_timer — timers that deliver through a completion ring
 * ========================================================
 *
 * A timer set belongs to one thread (the one that polls it, typically the
 * producer's lcore loop).  Timers are intrusive (struct nc_timer lives in the
 * caller's object, e.g. a netchannel), kept in a binary min-heap by expiry, so
 * arm, re-arm and cancel are O(log n) and never allocate once the heap has
 * grown.  nc_timers_poll(now) posts one NC_EV_TIMER event per expired timer
 * to the ring:
 *     source = timer's source id, udata = timer's udata, ts = its expiry,
 *     data = expirations covered by this event (> 1 if a periodic timer was
 *     polled late).
 * Periodic timers are re-armed at expiry + k * period; one-shot timers become
 * idle.  If the ring is full the expiry is counted in the ring's overflow
 * counter and the timer stays due: the next poll tries again, so no expiry
 * is lost.  No DPDK: a consumer process can run its own timers too.
 *
 * Thread safety: none; every call on a set and its timers from one thread.
 * Times are CLOCK_MONOTONIC nanoseconds (nc_ring_now_ns()).
 */

#include <stdbool.h>
#include <stdint.h>

#include "ncring.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Caller-owned timer; fields are private (initialise with nc_timer_init). */
struct nc_timer {
	uint64_t expires;
	uint64_t period;
	uint64_t udata;
	uint32_t source;
	uint32_t heap_idx; /* UINT32_MAX when not armed */
};

struct nc_timers;

/** @return 0; -EINVAL (NULL ring or out); -ENOMEM. */
int nc_timers_create(struct nc_ring *ring, struct nc_timers **out) NC_MUST_CHECK;

/** Free the set; armed timers are simply forgotten.  NULL is a no-op. */
void nc_timers_free(struct nc_timers *ts);

/** Initialise an idle timer whose events carry source and udata. */
void nc_timer_init(struct nc_timer *t, uint32_t source, uint64_t udata);

/**
 * Arm (or re-arm, if already armed) t to expire at expires_ns, then every
 * period_ns if period_ns > 0.
 * @return 0; -EINVAL (NULL args, or t armed in another set is not detected:
 *   don't); -ENOMEM growing the heap.
 */
int nc_timer_arm(struct nc_timers *ts, struct nc_timer *t, uint64_t expires_ns,
		 uint64_t period_ns) NC_MUST_CHECK;

/** Disarm; returns true if t was armed. */
bool nc_timer_cancel(struct nc_timers *ts, struct nc_timer *t);

/** Is t armed? */
bool nc_timer_pending(const struct nc_timer *t);

/**
 * Post an event for every timer due at now_ns.
 * @return the number of events posted (>= 0); -EINVAL.  Stops early (the
 *   rest stays due) if the ring is full.
 */
int nc_timers_poll(struct nc_timers *ts, uint64_t now_ns) NC_MUST_CHECK;

/** Nanoseconds from now_ns to the next expiry (0 if one is due), or -1 if
 *  no timer is armed.  Handy as a wait timeout. */
int64_t nc_timers_next(const struct nc_timers *ts, uint64_t now_ns);

/** Armed timers. */
unsigned nc_timers_count(const struct nc_timers *ts);

/*
 * A timer index: timers found by a 32-bit key, the low half of their udata
 * (unique within an index), for owners that keep their timers out of their
 * objects (the engine: most netchannels never arm one, so the object has no
 * timer pointer).  Open addressing on the timer pointers, at most half
 * full: 8 to 16 bytes per timer.  Zero-initialise; the index does not own
 * the timers.  Same thread rule as the timers.
 */
struct nc_timer_index {
	struct nc_timer **slot; /* NULL: empty */
	uint32_t mask;          /* slots - 1; 0 before the first add */
	uint32_t n;
};

/** Add t under key (uint32_t)t->udata.
 *  @return 0; -EEXIST (the key is there); -EINVAL; -ENOMEM. */
int nc_timer_index_add(struct nc_timer_index *ix, struct nc_timer *t) NC_MUST_CHECK;
/** The timer of key, or NULL. */
struct nc_timer *nc_timer_index_find(const struct nc_timer_index *ix, uint32_t key);
/** Remove and return the timer of key (NULL if none). */
struct nc_timer *nc_timer_index_remove(struct nc_timer_index *ix, uint32_t key);
/** Free the index's table (not the timers) and zero it. */
void nc_timer_index_fini(struct nc_timer_index *ix);

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_NC_TIMER_H */
