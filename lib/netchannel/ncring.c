/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncring: the completion ring (see ncring.h for the design).  No DPDK here.
 *
 * Memory ordering summary (each barrier below repeats what it orders):
 *  - slot reuse: a consumer's commit is a release CAS on uidx after it read
 *    the slots; a producer reads uidx with acquire before writing the slots
 *    it reserved (directly or through uidx_cache, which is stored with
 *    release and loaded with acquire so the chain stays happens-before).
 *  - publication: the producer stores slot.seq = index + 1 with release
 *    after writing the record; the consumer loads seq with acquire before
 *    reading the record.
 *  - sleep/wake: a Dekker pair.  The waiter increments waiters (seq_cst RMW)
 *    and then re-checks the ring; the producer publishes and then reads
 *    waiters.  A full fence between the producer's two steps would drain
 *    its store buffer on every post, which, with the slot's cache line
 *    still in the consumer's cache, costs a cache-line round trip per
 *    event.  So the fence is asymmetric: the waiter, which is about to
 *    sleep anyway, issues membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), a
 *    full barrier on every running thread of every process registered for
 *    it (every process that creates or attaches a ring registers), and the
 *    producer needs only a compiler barrier.  If any process sharing the
 *    ring cannot register, it sets hdr.sym_fence and every producer falls
 *    back to a seq_cst fence (the waiters then skip membarrier).
 */
#define _GNU_SOURCE
#include "ncring_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NC_RING_MAGIC 0x474e495243434e4eULL /* "NNCCRING" */
#define NC_RING_VERSION 1u

#define NC_RING_MAX_SIZE (1u << 24)
#define NC_RING_MAX_SOURCES (1u << 20)
#define NC_RING_FLAGS (NC_RING_SP | NC_RING_TIMESTAMP | NC_RING_HUGEPAGE)

#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 8
#endif

static inline void prefetchw(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

uint64_t nc_ring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Register this process for global expedited membarrier (idempotent).
 * Returns true if waiters may rely on it for this process's producers. */
static bool membarrier_register(void)
{
	/* For tests and for debugging a suspected lost wake-up. */
	if (getenv("NC_RING_NO_MEMBARRIER") != NULL)
		return false;
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (q < 0 || !(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED))
		return false;
	return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

static long futex_op(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *to)
{
	/* Shared (not FUTEX_PRIVATE_FLAG): waiters may be in other processes. */
	return syscall(SYS_futex, (uint32_t *)addr, op, val, to, NULL, 0);
}

static size_t map_size_for(uint32_t size, uint32_t max_sources, bool huge, uint64_t *src_off)
{
	size_t sz = sizeof(struct nc_ring_hdr) + (size_t)size * sizeof(struct nc_slot);
	size_t align = huge ? (2u << 20) : (size_t)sysconf(_SC_PAGESIZE);

	*src_off = sz;
	sz += (size_t)max_sources * sizeof(struct nc_src);
	return (sz + align - 1) & ~(align - 1);
}

static void handle_init(struct nc_ring *r, void *mem, size_t len, int fd)
{
	r->h = mem;
	r->slots = (struct nc_slot *)((char *)mem + sizeof(struct nc_ring_hdr));
	r->src = (struct nc_src *)((char *)mem + r->h->src_off);
	r->size = r->h->size;
	r->mask = r->h->size - 1;
	r->max_sources = r->h->max_sources;
	r->flags = r->h->flags;
	r->fd = fd;
	r->map_len = len;
}

int nc_ring_create(const struct nc_ring_config *cfg, struct nc_ring **out)
{
	struct nc_ring *r = NULL;
	void *mem = MAP_FAILED;
	uint64_t src_off;
	size_t len;
	int fd = -1, rc;

	if (cfg == NULL || out == NULL || cfg->size < 2 || cfg->size > NC_RING_MAX_SIZE ||
	    (cfg->size & (cfg->size - 1)) != 0 || cfg->max_sources > NC_RING_MAX_SOURCES ||
	    (cfg->flags & ~NC_RING_FLAGS) != 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	len = map_size_for(cfg->size, cfg->max_sources, cfg->flags & NC_RING_HUGEPAGE, &src_off);
	fd = memfd_create(cfg->name ? cfg->name : "ncring",
			  MFD_CLOEXEC | ((cfg->flags & NC_RING_HUGEPAGE) ? MFD_HUGETLB : 0));
	if (fd < 0 || ftruncate(fd, (off_t)len) != 0) {
		rc = -errno;
		goto fail;
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (mem == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	/* A fresh memfd reads as zeros: only non-zero fields are written. */
	struct nc_ring_hdr *h = mem;
	h->version = NC_RING_VERSION;
	h->rec_size = sizeof(struct nc_slot);
	h->size = cfg->size;
	h->max_sources = cfg->max_sources;
	h->flags = cfg->flags;
	h->map_size = len;
	h->src_off = src_off;
	struct nc_slot *slots = (struct nc_slot *)(h + 1);
	for (uint32_t i = 0; i < cfg->size; i++)
		atomic_init(&slots[i].seq, i); /* slot i is free for index i */
	if (!membarrier_register())
		atomic_store_explicit(&h->sym_fence, 1, memory_order_seq_cst);
	/* Release: an attacher that sees the magic sees the whole header. */
	__atomic_store_n(&h->magic, NC_RING_MAGIC, __ATOMIC_RELEASE);
	handle_init(r, mem, len, fd);
	*out = r;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(r);
	return rc;
}

int nc_ring_attach(int fd, struct nc_ring **out)
{
	struct nc_ring_hdr *h;
	struct nc_ring *r;
	struct stat st;
	size_t len;
	uint64_t src_off;
	void *mem;
	int nfd, rc = -EINVAL;

	if (out == NULL || fd < 0)
		return -EINVAL;
	if (fstat(fd, &st) != 0)
		return -errno;
	if ((size_t)st.st_size < sizeof(struct nc_ring_hdr))
		return -EINVAL;
	len = (size_t)st.st_size;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	h = mem;
	/* Acquire: pairs with the creator's release store of the magic. */
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != NC_RING_MAGIC ||
	    h->version != NC_RING_VERSION || h->rec_size != sizeof(struct nc_slot) ||
	    h->size < 2 || h->size > NC_RING_MAX_SIZE || (h->size & (h->size - 1)) != 0 ||
	    h->max_sources > NC_RING_MAX_SOURCES || h->map_size > len ||
	    h->map_size != map_size_for(h->size, h->max_sources, h->flags & NC_RING_HUGEPAGE,
					&src_off) ||
	    h->src_off != src_off)
		goto fail;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0) {
		rc = -errno;
		free(r);
		goto fail;
	}
	/* Seq_cst, before this process posts anything: see the ordering
	 * summary at the top (sleep/wake). */
	if (!membarrier_register())
		atomic_store_explicit(&h->sym_fence, 1, memory_order_seq_cst);
	handle_init(r, mem, len, nfd);
	*out = r;
	return 0;
fail:
	munmap(mem, len);
	return rc;
}

void nc_ring_free(struct nc_ring *r)
{
	if (r == NULL)
		return;
	munmap(r->h, r->map_len);
	close(r->fd);
	free(r);
}

int nc_ring_fd(const struct nc_ring *r)
{
	return r ? r->fd : -EINVAL;
}

uint32_t nc_ring_size(const struct nc_ring *r)
{
	return r ? r->size : 0;
}

/* ---- producers ---------------------------------------------------------- */

/* Reserve up to n slots; returns the first index in *pos and the count. */
static unsigned reserve(struct nc_ring *r, unsigned n, uint64_t *pos)
{
	struct nc_ring_hdr *h = r->h;
	uint64_t head = atomic_load_explicit(&h->kidx, memory_order_relaxed);

	for (;;) {
		/* Acquire: pairs with the release that stored the cache (which
		 * itself loaded uidx with acquire), so the consumers' reads of
		 * the freed slots happen before our writes to them. */
		uint64_t tail = atomic_load_explicit(&h->uidx_cache, memory_order_acquire);
		int64_t used = (int64_t)(head - tail);

		if (used < 0 || (uint64_t)used + n > r->size) {
			/* Acquire: pairs with the consumers' release CAS. */
			tail = atomic_load_explicit(&h->uidx, memory_order_acquire);
			/* Release: passes the happens-before on to producers
			 * that use the cache (see above). */
			atomic_store_explicit(&h->uidx_cache, tail, memory_order_release);
			used = (int64_t)(head - tail);
			if (used < 0) { /* our head is stale: reload it */
				head = atomic_load_explicit(&h->kidx, memory_order_relaxed);
				continue;
			}
		}
		uint64_t room = r->size - (uint64_t)used;
		unsigned m = room < n ? (unsigned)room : n;

		if (m == 0)
			return 0;
		if (r->flags & NC_RING_SP) {
			/* Relaxed: kidx orders nothing; records are published
			 * through the per-slot sequence words. */
			atomic_store_explicit(&h->kidx, head + m, memory_order_relaxed);
			*pos = head;
			return m;
		}
		/* Relaxed: the CAS only arbitrates between producers. */
		if (atomic_compare_exchange_weak_explicit(&h->kidx, &head, head + m,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			*pos = head;
			return m;
		}
	}
}

static void wake_waiters(struct nc_ring *r, bool all)
{
	struct nc_ring_hdr *h = r->h;

	/* Orders our slot publications (seq stores) before the read of
	 * waiters; pairs with the waiter's seq_cst increment of waiters, its
	 * membarrier and its re-check of the ring (asymmetric Dekker, see the
	 * top of the file).  Without membarrier everywhere: a seq_cst fence. */
	if (atomic_load_explicit(&h->sym_fence, memory_order_relaxed))
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst); /* compiler barrier */
	if (atomic_load_explicit(&h->waiters, memory_order_relaxed) == 0)
		return;
	/* Release: a waiter that reads the new futex value sees our events. */
	atomic_fetch_add_explicit(&h->futex, 1, memory_order_release);
	futex_op(&h->futex, FUTEX_WAKE, all ? INT_MAX : 1, NULL);
	atomic_fetch_add_explicit(&h->wakeups, 1, memory_order_relaxed);
}

/* Post n events as far as they fit.  Returns the number queued. */
unsigned ncr_post(struct nc_ring *r, const struct nc_event *ev, unsigned n)
{
	uint64_t pos = 0;
	unsigned m = reserve(r, n, &pos);
	uint16_t any = 0, all = NC_EV_NOWAKE;

	/* Wake flags come from every event given, queued or not, so that a
	 * burst whose waking event overflowed still wakes. */
	for (unsigned i = 0; i < n; i++) {
		any |= ev[i].flags;
		all &= ev[i].flags;
	}

	if (m < n)
		atomic_fetch_add_explicit(&r->h->overflow, n - m, memory_order_relaxed);
	if (m == 0)
		return 0;
	uint64_t now = (r->flags & NC_RING_TIMESTAMP) ? nc_ring_now_ns() : 0;
#ifndef NC_RING_NO_PREFETCHW
	/* Ask for ownership of the slots a little ahead: the consumer read
	 * them a lap ago, so each write needs the line back from its cache;
	 * prefetching lets those transfers overlap instead of draining the
	 * store buffer one line at a time. */
	if (r->size >= 8 * PREFETCH_AHEAD)
		for (unsigned i = 0; i < m; i++)
			prefetchw(&r->slots[(pos + i + PREFETCH_AHEAD) & r->mask]);
#endif
	for (unsigned i = 0; i < m; i++) {
		struct nc_slot *s = &r->slots[(pos + i) & r->mask];

		s->ev = ev[i];
		if (now && s->ev.ts == 0)
			s->ev.ts = now;
		/* Release: the record written above is visible to a consumer
		 * that loads seq == index + 1 with acquire. */
		atomic_store_explicit(&s->seq, pos + i + 1, memory_order_release);
	}
	if (!(all & NC_EV_NOWAKE) && m > 0)
		wake_waiters(r, any & NC_EV_WAKEALL);
	return m;
}

int nc_ring_post_burst(struct nc_ring *r, const struct nc_event *ev, unsigned n)
{
	if (r == NULL || (ev == NULL && n > 0))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > INT_MAX)
		n = INT_MAX;
	return (int)ncr_post(r, ev, n);
}

int nc_ring_post(struct nc_ring *r, const struct nc_event *ev)
{
	if (r == NULL || ev == NULL)
		return -EINVAL;
	return (int)ncr_post(r, ev, 1);
}

/* ---- consumers ---------------------------------------------------------- */

int nc_ring_peek(struct nc_ring *r, uint64_t *idx, struct nc_event *ev, unsigned max)
{
	if (r == NULL || idx == NULL || (ev == NULL && max > 0))
		return -EINVAL;
	/* At most one lap: with other consumers committing and producers
	 * refilling while we read, a slot of the next lap can already carry
	 * the seq we look for past the ring's size, and a commit of more
	 * than the size is refused (-EINVAL), not retried. */
	if (max > r->size)
		max = r->size;
	/* Acquire: pairs with other consumers' release CAS (not strictly
	 * needed for the records, which are ordered by seq). */
	uint64_t u = atomic_load_explicit(&r->h->uidx, memory_order_acquire);
	unsigned i;

	*idx = u;
	for (i = 0; i < max; i++) {
		struct nc_slot *s = &r->slots[(u + i) & r->mask];

		/* Acquire: pairs with the producer's release store of seq. */
		if (atomic_load_explicit(&s->seq, memory_order_acquire) != u + i + 1)
			break;
		/* If another consumer commits this slot meanwhile, a producer
		 * may overwrite it while we copy; our commit then fails with
		 * -EAGAIN and the copy is dropped (seqlock-style read). */
		ev[i] = s->ev;
	}
	return (int)i;
}

unsigned nc_ring_count(const struct nc_ring *r)
{
	if (r == NULL)
		return 0;
	uint64_t u = atomic_load_explicit(&r->h->uidx, memory_order_acquire);
	uint64_t k = atomic_load_explicit(&r->h->kidx, memory_order_relaxed);
	unsigned n = 0;

	/* Reserved slots may be published out of order: count the prefix. */
	while (u + n < k && n < r->size &&
	       atomic_load_explicit(&r->slots[(u + n) & r->mask].seq, memory_order_acquire) ==
		       u + n + 1)
		n++;
	return n;
}

static bool has_events(struct nc_ring *r)
{
	uint64_t u = atomic_load_explicit(&r->h->uidx, memory_order_acquire);

	return atomic_load_explicit(&r->slots[u & r->mask].seq, memory_order_acquire) == u + 1;
}

/* Re-post the level sources among slots [u, u+n) once they are committed. */
#define REARM_STACK 64
static int commit_level(struct nc_ring *r, uint64_t u, unsigned n)
{
	uint32_t stack_ids[REARM_STACK], *ids = stack_ids;
	unsigned cnt = 0;
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct nc_event *e = &r->slots[(u + i) & r->mask].ev;

		if (!(e->flags & NC_EV_LEVEL) || e->source >= r->max_sources)
			continue;
		if (cnt == REARM_STACK && ids == stack_ids) {
			ids = malloc((size_t)n * sizeof(*ids));
			if (ids == NULL)
				return -ENOMEM;
			memcpy(ids, stack_ids, sizeof(stack_ids));
		}
		ids[cnt++] = e->source;
	}
	uint64_t exp = u;
	/* Release: our reads of the slots (peek and the scan above) happen
	 * before a producer that acquires the new uidx reuses them. */
	if (!atomic_compare_exchange_strong_explicit(&r->h->uidx, &exp, u + n,
						     memory_order_acq_rel, memory_order_relaxed)) {
		rc = -EAGAIN;
		goto out;
	}
	for (unsigned i = 0; i < cnt; i++)
		ncr_rearm_level(r, ids[i]);
out:
	if (ids != stack_ids)
		free(ids);
	return rc;
}

int nc_ring_commit(struct nc_ring *r, uint64_t expected, unsigned n)
{
	if (r == NULL)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > r->size)
		return -EINVAL;
	/* The last slot must hold the record of index expected + n - 1; if it
	 * does not, either someone committed first (-EAGAIN) or the caller
	 * asks for more than was published (-EINVAL). */
	uint64_t last = expected + n - 1;
	if (atomic_load_explicit(&r->slots[last & r->mask].seq, memory_order_acquire) != last + 1)
		return atomic_load_explicit(&r->h->uidx, memory_order_relaxed) != expected ? -EAGAIN
											   : -EINVAL;
	if (atomic_load_explicit(&r->h->level_sources, memory_order_relaxed) != 0)
		return commit_level(r, expected, n);
	uint64_t exp = expected;
	/* Release: our reads of the slots happen before a producer that
	 * acquires the new uidx reuses them. */
	if (!atomic_compare_exchange_strong_explicit(&r->h->uidx, &exp, expected + n,
						     memory_order_release, memory_order_relaxed))
		return -EAGAIN;
	return 0;
}

int nc_ring_consume(struct nc_ring *r, struct nc_event *ev, unsigned max)
{
	uint64_t idx;
	int n, rc;

	if (r == NULL || (ev == NULL && max > 0))
		return -EINVAL;
	do {
		n = nc_ring_peek(r, &idx, ev, max);
		if (n <= 0)
			return n;
		rc = nc_ring_commit(r, idx, (unsigned)n);
	} while (rc == -EAGAIN);
	return rc < 0 ? rc : n;
}

static bool take_token(struct nc_ring_hdr *h)
{
	uint32_t t = atomic_load_explicit(&h->wake_tokens, memory_order_relaxed);

	while (t > 0)
		if (atomic_compare_exchange_weak_explicit(&h->wake_tokens, &t, t - 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

int nc_ring_wait(struct nc_ring *r, int timeout_ms)
{
	struct nc_ring_hdr *h;
	uint64_t deadline = 0;

	if (r == NULL)
		return -EINVAL;
	h = r->h;
	if (timeout_ms > 0)
		deadline = nc_ring_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (has_events(r)) {
			/* A hint: reserved but uncommitted slots (cheap). */
			uint64_t c = atomic_load_explicit(&h->kidx, memory_order_relaxed) -
				     atomic_load_explicit(&h->uidx, memory_order_relaxed);
			return c == 0 ? 1 : c > INT_MAX ? INT_MAX : (int)c;
		}
		if (take_token(h))
			return 0;
		if (timeout_ms == 0)
			return -ETIMEDOUT;

		struct timespec ts, *tp = NULL;
		if (timeout_ms > 0) {
			uint64_t now = nc_ring_now_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
			ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
			tp = &ts;
		}
		/* Acquire: pairs with the producer's release increment. */
		uint32_t seq = atomic_load_explicit(&h->futex, memory_order_acquire);
		/* Seq_cst RMW, a full barrier on every producer thread
		 * (membarrier), then re-check: pairs with the producer's
		 * publish-then-read-waiters (asymmetric Dekker). */
		atomic_fetch_add_explicit(&h->waiters, 1, memory_order_seq_cst);
		if (!atomic_load_explicit(&h->sym_fence, memory_order_seq_cst) &&
		    syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0) {
			/* Should not happen once registered; from now on every
			 * producer fences.  This round may have raced with a
			 * producer that did not: sleep briefly only. */
			atomic_store_explicit(&h->sym_fence, 1, memory_order_seq_cst);
			if (tp == NULL || ts.tv_sec > 0 || ts.tv_nsec > 1000000) {
				ts.tv_sec = 0;
				ts.tv_nsec = 1000000;
				tp = &ts;
			}
		}
		if (has_events(r) ||
		    atomic_load_explicit(&h->wake_tokens, memory_order_seq_cst) != 0) {
			atomic_fetch_sub_explicit(&h->waiters, 1, memory_order_relaxed);
			continue;
		}
		long rc = futex_op(&h->futex, FUTEX_WAIT, seq, tp);
		int err = rc < 0 ? errno : 0;

		atomic_fetch_sub_explicit(&h->waiters, 1, memory_order_relaxed);
		if (err == EINTR)
			return -EINTR;
		/* EAGAIN (value changed), ETIMEDOUT, or a wake: loop re-checks. */
	}
}

int nc_ring_wake(struct nc_ring *r, uint32_t n)
{
	struct nc_ring_hdr *h;

	if (r == NULL)
		return -EINVAL;
	h = r->h;
	if (n == 0)
		return 0;
	uint32_t tokens = n;
	if (n == UINT32_MAX) {
		tokens = atomic_load_explicit(&h->waiters, memory_order_seq_cst);
		if (tokens == 0)
			tokens = 1;
	}
	/* Release: tokens are visible before the futex word changes. */
	atomic_fetch_add_explicit(&h->wake_tokens, tokens, memory_order_release);
	atomic_fetch_add_explicit(&h->futex, 1, memory_order_release);
	long woken = futex_op(&h->futex, FUTEX_WAKE, n > INT_MAX ? INT_MAX : (int)n, NULL);
	atomic_fetch_add_explicit(&h->wakeups, 1, memory_order_relaxed);
	return woken < 0 ? -errno : (int)woken;
}

void nc_ring_stats(const struct nc_ring *r, struct nc_ring_stats *st)
{
	if (r == NULL || st == NULL)
		return;
	const struct nc_ring_hdr *h = r->h;

	st->kidx = atomic_load_explicit(&h->kidx, memory_order_relaxed);
	st->uidx = atomic_load_explicit(&h->uidx, memory_order_relaxed);
	st->posted = st->kidx;
	st->overflow = atomic_load_explicit(&h->overflow, memory_order_relaxed);
	st->wakeups = atomic_load_explicit(&h->wakeups, memory_order_relaxed);
	st->waiters = atomic_load_explicit(&h->waiters, memory_order_relaxed);
	st->size = r->size;
}
