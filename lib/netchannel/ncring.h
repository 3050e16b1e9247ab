/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NCRING_H
#define NETCHANNEL_NCRING_H

/*
 * ncring — a kevent-style completion ring
 * =======================================
 *
 * What
 * ----
 * A ring of fixed-size (64-byte) event records in memory that can be shared
 * between threads and between processes.  Producers (the netchannel engine,
 * timers, a handler marking a source ready) post events; consumers peek at
 * the events from the user index and commit what they handled.  The ring
 * needs no DPDK: a consumer process links nc_core only.
 *
 * Design (after the kevent ring_buffer)
 * -------------------------------------
 * The memory is one memfd mapping: a header followed by 2^k slots.  The
 * header keeps every field that a different party writes on its own cache
 * line: the constants (magic, version, size, record size), the producers'
 * kernel index, the consumers' user index, the counters (overflow, posted),
 * the waiters' futex word, and the source table that follows the slots.
 * Indexes are free-running 64-bit counters; slot = index & (size - 1); they
 * never wrap in practice, so a stale index can never be mistaken for a
 * current one (no ABA).
 *
 * - Producers reserve slots by moving the kernel index forward (a plain
 *   store with NC_RING_SP, a compare-and-swap otherwise), after checking that
 *   kernel index + n - user index <= size.  Whatever does not fit is added to
 *   the overflow counter: post returns how many events it queued and nothing
 *   is dropped without being counted.
 * - Each slot carries a sequence word next to the record.  A producer writes
 *   the record and then stores seq = index + 1 with release order; a
 *   consumer reads a slot only once it sees that value with acquire order, so
 *   it never reads a half-written record, and producers that reserved slots
 *   concurrently may finish in any order (no producer waits for another).
 * - Consumers never write slots.  nc_ring_peek() copies the published events
 *   that start at the user index; nc_ring_commit(expected, n) moves the user
 *   index from expected to expected + n with one compare-and-swap, and fails
 *   with -EAGAIN if another consumer committed first.  Two consumers can
 *   therefore peek the same events but only one of them frees them: the
 *   loser must drop its copies (they may already be overwritten).
 * - Waiters sleep on a futex word in the shared header (a shared futex, so it
 *   works across processes).  A producer that published and sees waiters
 *   bumps the word and wakes one waiter, or all of them if an event carries
 *   NC_EV_WAKEALL.  nc_ring_wake() wakes waiters without an event.  The
 *   producer's check for waiters costs no fence: a waiter about to sleep
 *   issues membarrier() instead (processes that create or attach a ring
 *   register for it; where that is impossible, producers fence), so a post
 *   with nobody asleep is a few plain stores and loads.
 *
 * Sources: edge and level triggering
 * ----------------------------------
 * The ring holds a table of sources (cfg.max_sources).  A source has a mode
 * and a ready state set by its owner with nc_ring_source_set():
 * - edge-triggered: one event per not-ready -> ready transition;
 * - level-triggered: at most one event in the ring at a time; when a
 *   consumer commits it and the source is still ready, the commit posts it
 *   again (so the condition is reported until it goes away).
 * nc_ring_mark_ready() lets a handler in user space queue an event for any
 * source (as kevent_user_ready), whatever its condition.
 *
 * Timers deliver through the ring too: see nc_timer.h.
 *
 * Thread and process safety
 * -------------------------
 * - Posting (nc_ring_post*, nc_ring_source_set, nc_ring_mark_ready, and
 *   nc_timers_poll) is safe from any number of threads and processes unless
 *   the ring was created with NC_RING_SP: then every one of those calls must
 *   come from one thread at a time (a handler's nc_ring_mark_ready included),
 *   and level-triggered sources are refused (commits re-post them).
 *   nc_ring_wake() is safe from anywhere.
 * - Consuming (peek, commit, wait) is safe from any number of threads and
 *   processes.
 * - A producer that dies between reserving and publishing a slot stalls the
 *   consumers at that slot: processes sharing a ring must trust each other.
 *   A waiter killed while asleep leaves the waiter count raised: producers
 *   then make a futex call per post (still correct, slower).
 * - create/attach/free: one thread per handle.
 *
 * Errors
 * ------
 * Functions return 0 (or a count) or a negative errno value; those that can
 * fail are marked warn_unused_result.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

/** Event kinds (the kevent "filter"); values >= NC_EV_USER_BASE are free. */
enum nc_ev_kind {
	NC_EV_NONE = 0,
	NC_EV_READ = 1,     /**< a source became readable (packets queued) */
	NC_EV_WRITE = 2,    /**< a source became writable */
	NC_EV_TIMER = 3,    /**< a timer expired (nc_timer.h) */
	NC_EV_PACKET = 4,   /**< one packet handed to a handler (netchannel.h) */
	NC_EV_USER = 5,     /**< posted by nc_ring_mark_ready() */
	NC_EV_USER_BASE = 256,
};

/** Event flags. */
#define NC_EV_WAKEALL  0x0001u /**< wake every waiter, not one */
#define NC_EV_LEVEL    0x0002u /**< posted for a level-triggered source */
#define NC_EV_EDGE     0x0004u /**< posted for an edge-triggered source */
#define NC_EV_MARKED   0x0008u /**< posted by nc_ring_mark_ready() */
#define NC_EV_NOWAKE   0x0010u /**< do not wake anyone (batch producers) */

/** No source: a plain event posted with nc_ring_post(). */
#define NC_SRC_NONE UINT32_MAX

/**
 * One event record, 56 bytes; a slot is this plus an 8-byte sequence word.
 * The ring never interprets data, udata or aux.
 */
struct nc_event {
	uint32_t source;  /**< source id, or NC_SRC_NONE */
	uint16_t kind;    /**< enum nc_ev_kind or a user value */
	uint16_t flags;   /**< NC_EV_* */
	uint64_t data;    /**< kind-specific (bytes readable, timer overruns...) */
	uint64_t udata;   /**< caller's cookie (source udata for source events) */
	uint64_t ts;      /**< producer's timestamp (CLOCK_MONOTONIC ns) or 0 */
	uint64_t aux[3];  /**< free for the producer */
};

/** Ring creation flags. */
#define NC_RING_SP        0x1u /**< one producer at a time: no CAS on post */
#define NC_RING_TIMESTAMP 0x2u /**< post fills ts with CLOCK_MONOTONIC when 0 */
#define NC_RING_HUGEPAGE  0x4u /**< back the memfd with huge pages (MFD_HUGETLB) */

/*
 * Environment: NC_RING_NO_MEMBARRIER (any value) makes this process fall back
 * to a fence per post (see the waiters paragraph above), for rings it creates
 * or attaches.
 */
struct nc_ring_config {
	uint32_t size;        /**< slots, a power of two, 2..2^24 */
	uint32_t max_sources; /**< size of the source table, 0..2^20 */
	uint32_t flags;       /**< NC_RING_* */
	const char *name;     /**< memfd name (debugging), may be NULL */
};

/** Counters, read without locks (each value is exact, the set may be torn). */
struct nc_ring_stats {
	uint64_t kidx;      /**< kernel index: slots reserved by producers */
	uint64_t uidx;      /**< user index: slots committed by consumers */
	uint64_t posted;    /**< events queued */
	uint64_t overflow;  /**< events that did not fit and were not queued */
	uint64_t wakeups;   /**< futex wake calls made */
	uint32_t waiters;   /**< threads sleeping in nc_ring_wait() now */
	uint32_t size;
};

struct nc_ring;

/**
 * Create a ring in a new memfd mapping.
 * @return 0; -EINVAL (NULL args, size not a power of two or out of range,
 *   max_sources too big, unknown flags); -ENOMEM; -errno of memfd/mmap.
 * Thread safety: any thread.
 */
int nc_ring_create(const struct nc_ring_config *cfg, struct nc_ring **out) NC_MUST_CHECK;

/**
 * Map a ring created elsewhere (another process received the fd, e.g. over
 * a unix socket or through fork()).  The fd is dup'ed; the caller keeps its
 * own.
 * @return 0; -EINVAL (NULL out, fd < 0, not a ring or another version or
 *   record size); -errno of fstat/mmap/dup.
 */
int nc_ring_attach(int fd, struct nc_ring **out) NC_MUST_CHECK;

/** Unmap and close this handle's mapping.  NULL is a no-op.  Other handles
 *  (other processes) keep the memory alive. */
void nc_ring_free(struct nc_ring *r);

/** The memfd of the ring (owned by the handle; dup it to keep it). */
int nc_ring_fd(const struct nc_ring *r);

/** Number of slots. */
uint32_t nc_ring_size(const struct nc_ring *r);

/* ---- producers ------------------------------------------------------ */

/**
 * Queue n events (copied) in order, as far as they fit; the rest is added to
 * the overflow counter.  Wakes one waiter (all if any event has
 * NC_EV_WAKEALL; none if every event has NC_EV_NOWAKE; the flags of every
 * event given count, queued or not).
 * @return the number queued (0..n); -EINVAL if r or ev is NULL.
 * Thread safety: see the header comment (MP unless NC_RING_SP).
 */
int nc_ring_post_burst(struct nc_ring *r, const struct nc_event *ev, unsigned n) NC_MUST_CHECK;

/** One event: 1 queued, 0 overflowed (counted), -EINVAL. */
int nc_ring_post(struct nc_ring *r, const struct nc_event *ev) NC_MUST_CHECK;

/* ---- consumers ------------------------------------------------------ */

/**
 * Copy up to max published events starting at the user index into ev and
 * store that index in *idx.  Does not consume: commit them afterwards.
 * @return the number copied (0 if none); -EINVAL (NULL args).
 * Thread safety: any thread; the copies are valid only if the commit that
 *   follows succeeds.
 */
int nc_ring_peek(struct nc_ring *r, uint64_t *idx, struct nc_event *ev, unsigned max) NC_MUST_CHECK;

/**
 * Free n events starting at expected (the index nc_ring_peek gave, n at most
 * what it returned).  Level-triggered sources among them whose condition
 * still holds are posted again.
 * @return 0; -EAGAIN if the user index is no longer expected (another
 *   consumer committed: drop the copies and peek again); -EINVAL (NULL r, or
 *   expected + n beyond the kernel index).
 * Thread safety: any thread.
 */
int nc_ring_commit(struct nc_ring *r, uint64_t expected, unsigned n) NC_MUST_CHECK;

/**
 * peek + commit in a loop until a commit succeeds (the usual one-call
 * consumer).  @return events taken (0 if none); -EINVAL.
 */
int nc_ring_consume(struct nc_ring *r, struct nc_event *ev, unsigned max) NC_MUST_CHECK;

/** Published events at the user index right now (a hint; walks them, so
 *  O(events pending)). */
unsigned nc_ring_count(const struct nc_ring *r);

/**
 * Sleep until events are available, nc_ring_wake() is called, or timeout_ms
 * passes (-1: forever, 0: just check).  Returns at once if events are
 * already available.  Waiters are woken one at a time unless an event asks
 * for all.
 * @return > 0: events available (a hint: reserved and not yet committed
 *   slots, some maybe still being written); 0: woken by
 *   nc_ring_wake() with no event; -ETIMEDOUT; -EINTR (a signal);
 *   -EINVAL.
 * Thread safety: any thread or process.
 */
int nc_ring_wait(struct nc_ring *r, int timeout_ms) NC_MUST_CHECK;

/**
 * Wake up to n waiters without posting an event (n = UINT32_MAX: all); each
 * woken waiter returns 0 from nc_ring_wait().  Wake tokens not taken by a
 * sleeping waiter make the next waits return 0 at once.
 * @return the number of waiters woken by the kernel (>= 0); -EINVAL.
 */
int nc_ring_wake(struct nc_ring *r, uint32_t n);

/* ---- sources -------------------------------------------------------- */

enum nc_src_mode {
	NC_SRC_EDGE = 0,
	NC_SRC_LEVEL = 1,
};

/**
 * Register source id (0 <= id < max_sources) with a mode and the udata and
 * kind its events carry; it starts not ready.
 * @return 0; -EINVAL (bad id/mode, or NC_SRC_LEVEL on an NC_RING_SP ring);
 *   -EEXIST (already registered).
 * Thread safety: any thread; not concurrently with set/mark of the same id.
 */
int nc_ring_source_add(struct nc_ring *r, uint32_t id, enum nc_src_mode mode, uint16_t kind,
		       uint64_t udata) NC_MUST_CHECK;

/** Unregister a source; an event of it already queued stays in the ring.
 *  @return 0; -EINVAL; -ENOENT. */
int nc_ring_source_del(struct nc_ring *r, uint32_t id) NC_MUST_CHECK;

/**
 * The owner reports the source's condition (ready or not) with the value
 * the event's data field should carry.  Edge: posts on a not-ready -> ready
 * transition.  Level: posts when ready and no event of it is queued.
 * @return 1 if an event was posted, 0 if none was due or it overflowed
 *   (counted); -EINVAL; -ENOENT.
 * Thread safety: any thread; one owner per source.
 */
int nc_ring_source_set(struct nc_ring *r, uint32_t id, bool ready, uint64_t data) NC_MUST_CHECK;

/**
 * A handler marks a source ready from user space: queue an event for it now
 * (flag NC_EV_MARKED), whatever its condition; a level source that already
 * has an event queued gets no second one.
 * @return 1 posted, 0 not (already queued or overflow); -EINVAL; -ENOENT.
 */
int nc_ring_mark_ready(struct nc_ring *r, uint32_t id, uint64_t data) NC_MUST_CHECK;

/* ---- statistics ----------------------------------------------------- */

/** Fill *st.  Thread safety: any thread. */
void nc_ring_stats(const struct nc_ring *r, struct nc_ring_stats *st);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t nc_ring_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_NCRING_H */
