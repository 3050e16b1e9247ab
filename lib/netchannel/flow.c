/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table: see nc_flow.h for the contract.
 *
 * Layout
 * ------
 *   buckets[nb + ov]  64 bytes each: 10 x {16-bit signature, 32-bit unit
 *                 index + 1} and the index + 1 of an overflow bucket.
 *                 nb = ceil(capacity / 6) (not a power of two: the bucket is
 *                 (hash * nb) >> 32), so a full table holds 6 keys per
 *                 10-slot bucket on average (~1 % of keys then sit in an
 *                 overflow bucket; the bulk lookup prefetches it in a second
 *                 stage, so they cost no serial miss); the ov = nb / 4 + 64 overflow
 *                 buckets are linked where a bucket is full and unlinked
 *                 (after a grace period) when they empty again.
 *   entries       64-byte lines, each holding one wide entry or two compact
 *                 ones; a 32-byte half is a "unit" and a bucket slot names a
 *                 unit.  Lines live in segments of up to 16384 (1 MiB),
 *                 allocated as the table grows: memory follows the number of
 *                 lines ever in use, at most nents (= capacity + the grace
 *                 headroom).
 *
 *   compact (32 B, IPv4 keys):  meta | src,dst | value | last_seen:32 | timeout:32
 *   wide    (64 B, any key):    meta | src:128 | dst:128 | value | last_seen | timeout
 *   meta = sport | dport << 16 | zone << 32 | proto << 48 | tag << 56
 *
 * The tag tells a unit's kind and state: compact IPv4, wide IPv4, wide IPv6,
 * the same with DEAD (removed, awaiting its grace period), or FREE.  It is
 * part of the compared key word, so a reader can never match a dead or free
 * unit.  An IPv4 key is stored compact when its times fit (now < 2^32 and
 * timeout < 2^32 - 1 or UINT64_MAX, unless NC_FLOW_F_WIDE), wide otherwise;
 * a lookup of an IPv4 key accepts either.
 *
 * Units are allocated by lines: a compact entry takes a free half of a line
 * whose other half is used (the "singles" list, doubly linked through the
 * free halves), else a free line (its other half becomes a single), else a
 * new line; a wide entry takes a free line or a new one.  Freeing the second
 * half of a line turns it back into a free line, so lines in use never
 * exceed live + dead entries.  The free lists are kept inside the free
 * units, which no reader can reach.
 *
 * Concurrency (one writer at a time, lock-free readers)
 * -----------------------------------------------------
 * Insert: the writer fills a unit, then the slot's signature, then
 * publishes the slot's index with a release store; a reader loads the index
 * with acquire before it reads the entry.  A new overflow bucket is zeroed
 * before its index is published (release) in the last bucket of the chain.
 * Delete: the writer clears the slot's index (release) and stores the DEAD
 * tag in the entry's meta word; readers that loaded the index earlier may
 * still read the entry, so it is only reused (and its value handed to
 * free_value) after a grace period of cfg.qsbr.  Removed entries wait in a
 * FIFO linked through their address word (the word after meta), in batches
 * of up to 32 sharing one token of rte_rcu_qsbr_start(); that word is
 * written only after the DEAD tag and a release fence, and a reader checks
 * after its compare (acquire fence) that meta is unchanged, so a reader that
 * saw the link also sees DEAD and misses: no compare can mix a key with a
 * link.  Value, last_seen and timeout of a dead entry stay as they were
 * until it is reused.  Signatures are only a filter: a match always ends in
 * a full key compare on an entry reached through an acquire load, so a
 * reader racing with a slot's reuse may miss a key being added or removed,
 * never return a wrong one.
 *
 * Object flows (nc_flow_objects) have no unit: the slot's index is
 * SLOT_OBJ | object << 1 | which, the key is made by the caller's callback
 * and compared like an entry's (obj_match), and removal hands the object
 * to free_value at once (no QSBR: no reader can be comparing with it).
 * Expiry walks units only, so it never sees them; iteration walks the
 * buckets after the units.
 *
 * Memory at 10 M IPv4 keys: 32 B entry + 10.7 B primary buckets + 2.7 B
 * overflow pool + segment rounding: 46 B/key in ncbench flow, 45.5 B/key
 * (91 B per session of two keys) in ncbench nat before its keys became
 * object flows (13.4 B/key, 27 B/session); the all-64-byte layout before
 * took 99 B/key (198 B/session).
 * Load 7 (1.6 B/key less; before the overflow prefetch) measured 10-25 %
 * lower bulk lookup rates; load 4 (+7 B/key) was no faster than 6.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nc_flow.h"

_Static_assert(sizeof(struct nc_flow_key) == 48, "nc_flow_key must be 48 bytes");

#define KEY_BYTES 40 /* nc_flow_key up to its padding */
_Static_assert(offsetof(struct nc_flow_key, pad) == KEY_BYTES, "key layout");
_Static_assert(offsetof(struct nc_flow_key, sport) == 32 &&
		       offsetof(struct nc_flow_key, family) == 38 &&
		       offsetof(struct nc_flow_key, proto) == 39,
	       "key word 4 is sport | dport | zone | family | proto");

#define BUCKET_SLOTS 10
#define BUCKET_LOAD 6     /* keys per 10-slot bucket at capacity */
#define NO_ENT 0u         /* slot index 0: empty; otherwise unit + 1, or: */
#define SLOT_OBJ 0x80000000u /* an object flow: SLOT_OBJ | index << 1 | which */
#define NIL 0u            /* list links: unit/line/bucket + 1, 0 = end */
#define SEG_LINES_MAX 16384u
#define RBATCH 32u        /* removed entries per grace-period token */

struct bucket {
	uint16_t sig[BUCKET_SLOTS];
	uint32_t idx[BUCKET_SLOTS];   /* acquire/release */
	uint32_t next;                /* overflow bucket + 1; acquire/release */
} __rte_cache_aligned;

/* Compact entry: IPv4 key, 32-bit times. */
struct cent {
	uint64_t meta;      /* relaxed atomics (the tag changes at removal) */
	uint64_t addrs;     /* src | dst << 32; FIFO link once dead; free-list links */
	void *value;
	uint32_t last_seen; /* relaxed atomics; saturates at UINT32_MAX */
	uint32_t timeout;   /* relaxed atomics; UINT32_MAX: never idle */
};

/* Wide entry: any key, 64-bit times; always at an even unit. */
struct went {
	uint64_t meta;
	uint64_t addr[4];   /* src hi, lo, dst hi, lo as in nc_flow_key; addr[0]: FIFO link */
	void *value;
	uint64_t last_seen;
	uint64_t timeout;
};

_Static_assert(sizeof(struct bucket) == 64 && sizeof(struct went) == 64 &&
		       sizeof(struct cent) == 32, "a bucket and a line are 64 bytes");
_Static_assert(offsetof(struct cent, addrs) == offsetof(struct went, addr),
	       "the FIFO link is the word after meta in both layouts");

enum {
	TAG_FREE = 0,
	TAG_C4 = 1,   /* compact IPv4 */
	TAG_W4 = 2,   /* wide IPv4 */
	TAG_W6 = 3,   /* wide IPv6 */
	TAG_DEAD = 0x80,
};
#define META_KEY_MASK 0x00ffffffffffffffULL
#define META_TAG(m) ((unsigned)((m) >> 56))
#define TAG_WIDE(tag) (((tag) & 0x7fu) >= TAG_W4)

/* A key in the table's words: meta without tag, addresses. */
struct kq {
	uint64_t meta;
	uint64_t addrs;     /* IPv4: src | dst << 32 */
	const uint64_t *w;  /* the key's 32 address bytes */
	bool v4;
};

struct batch {
	uint64_t token;
	uint32_t n;
};

struct ovret {
	uint64_t token;
	uint32_t b;
};

struct nc_flow {
	struct bucket *buckets;   /* nb primary, then the overflow pool */
	void **segs;              /* line segments, allocated on demand */
	uint32_t nb;
	uint32_t seg_ushift;      /* units per segment = 1 << seg_ushift */
	uint32_t nsegs;
	uint32_t capacity;
	uint32_t nents;           /* live + dead at most; also the line limit */
	uint32_t live;            /* written by the writer, read relaxed */
	uint32_t dead;            /* awaiting a grace period */
	uint32_t hw;              /* lines ever handed out (high water) */
	uint32_t free_lines;      /* line + 1, linked through unit 2l's addrs */
	uint32_t singles;         /* unit + 1, doubly linked through addrs */
	uint32_t cursor;          /* expiry, in lines */
	uint32_t flags;
	/* overflow buckets */
	uint32_t ov_next, ov_end; /* never used ones: next, end (bucket indexes) */
	uint32_t *ov_free;        /* stack of unlinked buckets past their grace period */
	uint32_t ov_free_top;
	struct ovret *ov_rq;      /* FIFO of unlinked buckets in their grace period */
	uint32_t ov_rq_head, ov_rq_n, ov_rq_size; /* first, count, size */
	/* removed entries: FIFO through the entries, tokens per batch */
	uint32_t rq_first, rq_last; /* unit + 1 */
	struct batch *bq;
	uint32_t bq_head, bq_n, bq_size;          /* first, count, size */
	int socket;
	bool locked;
	rte_spinlock_t lock;
	struct rte_rcu_qsbr *qsbr;
	void (*free_value)(void *value, void *ctx);
	void *free_ctx;
	/* object flows (nc_flow_objects) */
	char *obj_base;
	uint32_t obj_count;
	uint8_t obj_shift;
	uint32_t objs;            /* live object flows; read relaxed */
	void (*obj_key)(const void *obj, unsigned which, struct nc_flow_key *key);
};

/* ---------------------------------------------------------------- helpers */

/* IPv4 keys (family is part of the key, so a key always takes the same
 * branch) hash their two addresses and the ports/zone/family/protocol word:
 * the other 24 bytes are zero by construction (nc_flow_key_set). */
static inline uint32_t key_hash(const struct nc_flow_key *k)
{
	const uint64_t *w = (const uint64_t *)k;
	uint32_t h = 0x6a09e667u;

	if (likely(k->family == CLS_IPV4)) {
		uint64_t addrs = (uint64_t)k->src.v4 | (uint64_t)k->dst.v4 << 32;

		return rte_hash_crc_8byte(w[4], rte_hash_crc_8byte(addrs, h));
	}
	for (int i = 0; i < KEY_BYTES / 8; i++)
		h = rte_hash_crc_8byte(w[i], h);
	return h;
}

/* Never 0, the signature of empty slots. */
static inline uint16_t hash_sig(uint32_t h)
{
	uint16_t s = (uint16_t)((h * 0x9e3779b1u) >> 16);

	return s ? s : 1;
}

static inline uint32_t bucket_of(const struct nc_flow *t, uint32_t h)
{
	return (uint32_t)(((uint64_t)h * t->nb) >> 32);
}

static inline void key_query(struct kq *q, const struct nc_flow_key *k)
{
	const uint64_t *w = (const uint64_t *)k;

	/* w[4] = sport | dport | zone | family << 48 | proto << 56 */
	q->meta = (w[4] & 0xffffffffffffULL) | (w[4] >> 56) << 48;
	q->v4 = k->family == CLS_IPV4;
	q->addrs = (uint64_t)k->src.v4 | (uint64_t)k->dst.v4 << 32;
	q->w = w;
}

static inline void *unit_ptr(const struct nc_flow *t, uint32_t u)
{
	return (char *)t->segs[u >> t->seg_ushift] +
	       ((size_t)(u & ((1u << t->seg_ushift) - 1)) << 5);
}

static inline uint64_t meta_load(const void *e)
{
	return __atomic_load_n(&((const struct cent *)e)->meta, __ATOMIC_RELAXED);
}

/* Does unit u hold the key?  Readers and writer alike; see "Concurrency". */
static inline bool ent_match(const void *e, const struct kq *q)
{
	uint64_t m = meta_load(e);
	unsigned tag = META_TAG(m);

	if ((m & META_KEY_MASK) != q->meta)
		return false;
	if (likely(tag == TAG_C4)) {
		if (!q->v4 || __atomic_load_n(&((const struct cent *)e)->addrs,
					      __ATOMIC_RELAXED) != q->addrs)
			return false;
	} else if (tag == (q->v4 ? TAG_W4 : TAG_W6)) {
		const struct went *w = e;

		if (((__atomic_load_n(&w->addr[0], __ATOMIC_RELAXED) ^ q->w[0]) |
		     (w->addr[1] ^ q->w[1]) | (w->addr[2] ^ q->w[2]) | (w->addr[3] ^ q->w[3])) != 0)
			return false;
	} else {
		return false;
	}
	/* Pairs with the release fence in retire(): had the compare read a
	 * FIFO link, meta now shows DEAD. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return meta_load(e) == m;
}

/* ---- object flows: a slot names (object, which); the key is the object's */

static inline bool slot_obj(uint32_t x)
{
	return (x & SLOT_OBJ) != 0;
}

static inline void *obj_at(const struct nc_flow *t, uint32_t x)
{
	return t->obj_base + ((size_t)((x & ~SLOT_OBJ) >> 1) << t->obj_shift);
}

/* Does the object flow of slot value x have the key?  Readers and writer
 * alike: the object's key does not change while the flow is in (the
 * caller's promise), and without QSBR no reader runs while one goes. */
static bool obj_match(const struct nc_flow *t, uint32_t x, const struct kq *q)
{
	struct nc_flow_key k;
	struct kq o;

	t->obj_key(obj_at(t, x), x & 1u, &k);
	key_query(&o, &k);
	if (o.meta != q->meta || o.v4 != q->v4)
		return false;
	if (q->v4)
		return o.addrs == q->addrs;
	return memcmp(o.w, q->w, 32) == 0;
}

/* The line a lookup reads for slot value x: the entry or the object. */
static inline const void *slot_line(const struct nc_flow *t, uint32_t x)
{
	return slot_obj(x) ? obj_at(t, x) : unit_ptr(t, x - 1);
}

static inline bool slot_match(const struct nc_flow *t, uint32_t x, const struct kq *q)
{
	return slot_obj(x) ? obj_match(t, x, q) : ent_match(unit_ptr(t, x - 1), q);
}

/* Bit i set where bucket slot i holds signature sig. */
static inline unsigned sig_match(const struct bucket *b, uint16_t sig)
{
#if defined(__SSE2__)
	__m128i s = _mm_set1_epi16((short)sig);
	__m128i lo = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)b->sig), s);
	__m128i hi = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(const void *)&b->sig[2]), s);
	/* Narrow the 16-bit lanes to bytes: slots 0-7, then 2-9. */
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(lo, hi));

	return (m & 0xffu) | (m >> 8) << 2;
#else
	unsigned m = 0;

	for (int i = 0; i < BUCKET_SLOTS; i++)
		m |= (unsigned)(b->sig[i] == sig) << i;
	return m;
#endif
}

static inline void wlock(struct nc_flow *t)
{
	if (t->locked)
		rte_spinlock_lock(&t->lock);
}

static inline void wunlock(struct nc_flow *t)
{
	if (t->locked)
		rte_spinlock_unlock(&t->lock);
}

/* Find the key in the chain of its bucket: its slot value (unit + 1 or an
 * object flow; NO_ENT if absent), bucket and slot.  Readers and writer
 * alike. */
static inline uint32_t find(const struct nc_flow *t, const struct kq *q, uint32_t h,
			    struct bucket **bp, unsigned *slotp)
{
	struct bucket *b = &t->buckets[bucket_of(t, h)];
	uint16_t sig = hash_sig(h);

	for (;;) {
		for (unsigned m = sig_match(b, sig); m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			uint32_t x = __atomic_load_n(&b->idx[i], __ATOMIC_ACQUIRE);

			if (x == NO_ENT)
				continue;
			if (slot_match(t, x, q)) {
				if (bp) {
					*bp = b;
					*slotp = i;
				}
				return x;
			}
		}
		uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

		if (nx == 0)
			return NO_ENT;
		b = &t->buckets[nx - 1];
	}
}

/* Entry accessors by layout (tag of a live entry). */
static inline bool ent_wide(const void *e)
{
	return TAG_WIDE(META_TAG(meta_load(e)));
}

static inline void *ent_value(const void *e, bool wide)
{
	return wide ? ((const struct went *)e)->value : ((const struct cent *)e)->value;
}

static inline uint64_t ent_last_seen(const void *e, bool wide)
{
	if (wide)
		return __atomic_load_n(&((const struct went *)e)->last_seen, __ATOMIC_RELAXED);
	return __atomic_load_n(&((const struct cent *)e)->last_seen, __ATOMIC_RELAXED);
}

static inline uint64_t ent_timeout(const void *e, bool wide)
{
	uint32_t to;

	if (wide)
		return __atomic_load_n(&((const struct went *)e)->timeout, __ATOMIC_RELAXED);
	to = __atomic_load_n(&((const struct cent *)e)->timeout, __ATOMIC_RELAXED);
	return to == UINT32_MAX ? UINT64_MAX : to;
}

static inline void ent_set_timeout(void *e, bool wide, uint64_t timeout)
{
	if (wide)
		__atomic_store_n(&((struct went *)e)->timeout, timeout, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&((struct cent *)e)->timeout,
				 timeout >= UINT32_MAX ? UINT32_MAX : (uint32_t)timeout,
				 __ATOMIC_RELAXED);
}

/* last_seen = now if later.  Racing readers may store slightly older
 * times; expiry tolerates that. */
static inline void touch_store(void *e, bool wide, uint64_t now)
{
	if (wide) {
		struct went *w = e;

		if (now > __atomic_load_n(&w->last_seen, __ATOMIC_RELAXED))
			__atomic_store_n(&w->last_seen, now, __ATOMIC_RELAXED);
	} else {
		struct cent *c = e;
		uint32_t n32 = now > UINT32_MAX ? UINT32_MAX : (uint32_t)now;

		if (n32 > __atomic_load_n(&c->last_seen, __ATOMIC_RELAXED))
			__atomic_store_n(&c->last_seen, n32, __ATOMIC_RELAXED);
	}
}

/* A lookup's hit.  Store only when time moved, so a steady flow in coarse
 * units does not dirty the line, and never for an entry that never idles
 * out: nobody reads its time (ncnat's sessions keep their own), and the
 * store was a dirty line to write back for ~40 % of the hits at 1 M
 * sessions (ncbench nat: 13 % more established packets/s without it). */
static inline void touch(void *e, bool wide, uint64_t now)
{
	if (wide) {
		if (__atomic_load_n(&((struct went *)e)->timeout, __ATOMIC_RELAXED) == UINT64_MAX)
			return;
	} else if (__atomic_load_n(&((struct cent *)e)->timeout, __ATOMIC_RELAXED) ==
		   UINT32_MAX) {
		return;
	}
	touch_store(e, wide, now);
}

/* The nc_flow_key of a live entry. */
static void ent_key(const void *e, struct nc_flow_key *k)
{
	uint64_t m = meta_load(e);
	unsigned tag = META_TAG(m) & 0x7fu;

	memset(k, 0, sizeof(*k));
	if (tag == TAG_C4) {
		uint64_t a = ((const struct cent *)e)->addrs;

		k->src.v4 = (uint32_t)a;
		k->dst.v4 = (uint32_t)(a >> 32);
	} else {
		memcpy(k, ((const struct went *)e)->addr, 32);
	}
	k->sport = (uint16_t)m;
	k->dport = (uint16_t)(m >> 16);
	k->zone = (uint16_t)(m >> 32);
	k->proto = (uint8_t)(m >> 48);
	k->family = tag == TAG_W6 ? CLS_IPV6 : CLS_IPV4;
}

/* ---------------------------------------------------------------- units */

static inline struct cent *unit_c(const struct nc_flow *t, uint32_t u)
{
	return unit_ptr(t, u);
}

static void single_push(struct nc_flow *t, uint32_t u)
{
	struct cent *c = unit_c(t, u);

	c->meta = (uint64_t)TAG_FREE << 56;
	c->addrs = t->singles; /* next; prev (high half) NIL */
	if (t->singles != NIL) {
		struct cent *n = unit_c(t, t->singles - 1);

		n->addrs = (uint32_t)n->addrs | (uint64_t)(u + 1) << 32;
	}
	t->singles = u + 1;
}

static void single_unlink(struct nc_flow *t, uint32_t u)
{
	struct cent *c = unit_c(t, u);
	uint32_t next = (uint32_t)c->addrs, prev = (uint32_t)(c->addrs >> 32);

	if (prev != NIL) {
		struct cent *p = unit_c(t, prev - 1);

		p->addrs = (p->addrs & 0xffffffff00000000ULL) | next;
	} else {
		t->singles = next;
	}
	if (next != NIL) {
		struct cent *n = unit_c(t, next - 1);

		n->addrs = (uint32_t)n->addrs | (uint64_t)prev << 32;
	}
}

static void line_push(struct nc_flow *t, uint32_t l)
{
	struct cent *c = unit_c(t, 2 * l);

	c[0].meta = (uint64_t)TAG_FREE << 56;
	c[1].meta = (uint64_t)TAG_FREE << 56;
	c[0].addrs = t->free_lines;
	t->free_lines = l + 1;
}

/* A new line from the never-used part, allocating its segment if needed.
 * UINT32_MAX if none (line limit or no memory). */
static uint32_t line_new(struct nc_flow *t)
{
	uint32_t l = t->hw, s = (2 * l) >> t->seg_ushift;

	if (l >= t->nents)
		return UINT32_MAX;
	if (t->segs[s] == NULL) {
		size_t bytes = (size_t)32 << t->seg_ushift;
		void *m = rte_malloc_socket("nc_flow_e", bytes, RTE_CACHE_LINE_SIZE, t->socket);

		if (m == NULL)
			return UINT32_MAX;
		/* Readers reach it only through slots published later. */
		__atomic_store_n(&t->segs[s], m, __ATOMIC_RELEASE);
	}
	t->hw++;
	return l;
}

/* A unit for an entry of the given layout; UINT32_MAX if none. */
static uint32_t unit_alloc(struct nc_flow *t, bool wide)
{
	uint32_t l;

	/* Each pop prefetches what the next allocation will read: the list
	 * heads are freed units, long cold by the time they are reused. */
	if (!wide && t->singles != NIL) {
		uint32_t u = t->singles - 1;

		single_unlink(t, u);
		if (t->singles != NIL) { /* just written: its next is the one after */
			uint32_t nn = (uint32_t)unit_c(t, t->singles - 1)->addrs;

			if (nn != NIL)
				rte_prefetch0(unit_c(t, nn - 1));
		}
		return u;
	}
	if (t->free_lines != NIL) {
		l = t->free_lines - 1;
		t->free_lines = (uint32_t)unit_c(t, 2 * l)->addrs;
		if (t->free_lines != NIL)
			rte_prefetch0(unit_c(t, 2 * (t->free_lines - 1)));
	} else if ((l = line_new(t)) == UINT32_MAX) {
		return UINT32_MAX;
	}
	if (!wide)
		single_push(t, 2 * l + 1);
	return 2 * l;
}

/* Unit u (its entry dead, past its grace period or without readers) becomes
 * free; a line whose two halves are free goes back to the line list. */
static void unit_free(struct nc_flow *t, uint32_t u, bool wide)
{
	if (!wide) {
		uint32_t buddy = u ^ 1u;

		if (META_TAG(unit_c(t, buddy)->meta) != TAG_FREE) {
			single_push(t, u);
			return;
		}
		single_unlink(t, buddy);
	}
	line_push(t, u / 2);
}

/* ---------------------------------------------------------------- reclamation */

/* Ring positions (indexes stay below size, so counters never wrap). */
static inline uint32_t ring_next(uint32_t i, uint32_t size)
{
	return i + 1 == size ? 0 : i + 1;
}

static inline uint32_t ring_at(uint32_t head, uint32_t k, uint32_t size)
{
	uint64_t i = (uint64_t)head + k;

	return (uint32_t)(i >= size ? i - size : i);
}

static void ent_release(struct nc_flow *t, uint32_t u)
{
	void *e = unit_ptr(t, u);
	bool wide = ent_wide(e);

	if (t->free_value != NULL)
		t->free_value(ent_value(e, wide), t->free_ctx);
	t->dead--;
	unit_free(t, u, wide);
}

/* Free up to max removed entries (and unlinked overflow buckets) whose grace
 * period is over. */
static void reclaim(struct nc_flow *t, uint32_t max)
{
	while (t->ov_rq_n > 0) {
		struct ovret *r = &t->ov_rq[t->ov_rq_head];

		if (rte_rcu_qsbr_check(t->qsbr, r->token, false) != 1)
			break;
		t->ov_free[t->ov_free_top++] = r->b;
		t->ov_rq_head = ring_next(t->ov_rq_head, t->ov_rq_size);
		t->ov_rq_n--;
	}
	while (max > 0 && t->bq_n > 0) {
		struct batch *bt = &t->bq[t->bq_head];

		if (rte_rcu_qsbr_check(t->qsbr, bt->token, false) != 1)
			break;
		while (max > 0 && bt->n > 0) {
			uint32_t u = t->rq_first - 1;

			t->rq_first = (uint32_t)unit_c(t, u)->addrs;
			if (t->rq_first == NIL)
				t->rq_last = NIL;
			ent_release(t, u);
			bt->n--;
			max--;
		}
		if (bt->n == 0) {
			t->bq_head = ring_next(t->bq_head, t->bq_size);
			t->bq_n--;
		}
	}
}

/* Entry e at unit u leaves the table: DEAD tag, then the FIFO. */
static void retire(struct nc_flow *t, uint32_t u, void *e)
{
	uint64_t m = meta_load(e);

	__atomic_store_n(&((struct cent *)e)->meta, m | (uint64_t)TAG_DEAD << 56,
			 __ATOMIC_RELAXED);
	t->dead++;
	if (t->qsbr == NULL) {
		ent_release(t, u); /* the caller promised: no reader runs */
		return;
	}
	/* The DEAD tag is visible before any link overwrites the key's address
	 * word (ent_match() rechecks meta). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&((struct cent *)e)->addrs, (uint64_t)NIL, __ATOMIC_RELAXED);
	if (t->rq_last != NIL)
		__atomic_store_n(&unit_c(t, t->rq_last - 1)->addrs, (uint64_t)(u + 1),
				 __ATOMIC_RELAXED);
	else
		t->rq_first = u + 1;
	t->rq_last = u + 1;

	uint64_t token = rte_rcu_qsbr_start(t->qsbr);
	struct batch *last =
		t->bq_n > 0 ? &t->bq[ring_at(t->bq_head, t->bq_n - 1, t->bq_size)] : NULL;

	/* A later token also covers the batch's earlier entries. */
	if (last != NULL && last->n < RBATCH) {
		last->token = token;
		last->n++;
	} else {
		/* Batches but the first and last are full: bq_size suffices. */
		t->bq[ring_at(t->bq_head, t->bq_n, t->bq_size)] = (struct batch){token, 1};
		t->bq_n++;
	}
	reclaim(t, 8);
}

/* Overflow bucket b (index) emptied: unlink it from the chain of primary
 * bucket p; reuse after the grace period. */
static void ov_unlink(struct nc_flow *t, uint32_t p, uint32_t b)
{
	struct bucket *prev = &t->buckets[p];

	while (prev->next != b + 1)
		prev = &t->buckets[prev->next - 1];
	/* Readers inside b still follow its next, left as it is. */
	__atomic_store_n(&prev->next, t->buckets[b].next, __ATOMIC_RELEASE);
	if (t->qsbr == NULL) {
		t->ov_free[t->ov_free_top++] = b;
		return;
	}
	/* At most ov buckets are unlinked at a time. */
	t->ov_rq[ring_at(t->ov_rq_head, t->ov_rq_n, t->ov_rq_size)] =
		(struct ovret){rte_rcu_qsbr_start(t->qsbr), b};
	t->ov_rq_n++;
}

/* Unlink the entry found at slot i of bucket b (chain of hash h). */
static void remove_slot(struct nc_flow *t, uint32_t h, struct bucket *b, unsigned i)
{
	uint32_t x = b->idx[i];
	uint32_t bi = (uint32_t)(b - t->buckets);

	/* Readers that already loaded the index may still read the entry. */
	__atomic_store_n(&b->idx[i], NO_ENT, __ATOMIC_RELEASE);
	b->sig[i] = 0;
	__atomic_store_n(&t->live, t->live - 1, __ATOMIC_RELAXED);
	if (bi >= t->nb) {
		bool empty = true;

		for (unsigned s = 0; s < BUCKET_SLOTS; s++)
			empty &= b->idx[s] == NO_ENT;
		if (empty)
			ov_unlink(t, bucket_of(t, h), bi);
	}
	if (slot_obj(x)) {
		/* no entry to retire: without QSBR (nc_flow_add_object) no
		 * reader can still be comparing with the object */
		__atomic_store_n(&t->objs, t->objs - 1, __ATOMIC_RELAXED);
		if (t->free_value != NULL)
			t->free_value(obj_at(t, x), t->free_ctx);
		return;
	}
	retire(t, x - 1, unit_ptr(t, x - 1));
}

/* ---------------------------------------------------------------- life cycle */

int nc_flow_create(const struct nc_flow_config *cfg, struct nc_flow **out)
{
	struct nc_flow *t;
	uint32_t nb, ov, seg_lines = 1;
	int socket;

	if (cfg == NULL || out == NULL || cfg->entries == 0 || cfg->entries > (1u << 30) ||
	    (cfg->flags & ~(uint32_t)(NC_FLOW_F_MULTI_WRITER | NC_FLOW_F_WIDE |
				      NC_FLOW_F_PREFETCH_VALUES)) != 0 ||
	    (cfg->objects.base != NULL &&
	     (cfg->objects.key == NULL || cfg->objects.count == 0 ||
	      cfg->objects.count > (1u << 30) || cfg->objects.shift > 24)))
		return -EINVAL;
	socket = cfg->socket_id < 0 ? SOCKET_ID_ANY : cfg->socket_id;
	nb = (cfg->entries + BUCKET_LOAD - 1) / BUCKET_LOAD;
	ov = nb / 4 + 64;

	/* cfg->name only labels the memory (rte_malloc type). */
	t = rte_zmalloc_socket(cfg->name ? cfg->name : "nc_flow", sizeof(*t), RTE_CACHE_LINE_SIZE,
			       socket);
	if (t == NULL)
		return -ENOMEM;
	t->capacity = cfg->entries;
	/* Headroom for removed entries that wait for their grace period. */
	t->nents = cfg->entries + (cfg->qsbr ? cfg->entries / 16 + 64 : 0);
	while (seg_lines < t->nents && seg_lines < SEG_LINES_MAX)
		seg_lines <<= 1;
	t->seg_ushift = (uint32_t)__builtin_ctz(seg_lines) + 1;
	t->nsegs = (uint32_t)(((uint64_t)t->nents + seg_lines - 1) / seg_lines);
	t->nb = nb;
	t->ov_next = nb;
	t->ov_end = nb + ov;
	t->ov_rq_size = ov;
	t->flags = cfg->flags;
	t->socket = socket;
	t->locked = (cfg->flags & NC_FLOW_F_MULTI_WRITER) != 0;
	rte_spinlock_init(&t->lock);
	t->qsbr = cfg->qsbr;
	t->free_value = cfg->free_value;
	t->free_ctx = cfg->free_ctx;
	if (cfg->objects.base != NULL) {
		t->obj_base = cfg->objects.base;
		t->obj_count = cfg->objects.count;
		t->obj_shift = cfg->objects.shift;
		t->obj_key = cfg->objects.key;
	}
	t->bq_size = t->nents / RBATCH + 4;
	t->buckets = rte_zmalloc_socket("nc_flow_b", (size_t)(nb + ov) * sizeof(struct bucket),
					RTE_CACHE_LINE_SIZE, socket);
	t->segs = rte_zmalloc_socket("nc_flow_s", (size_t)t->nsegs * sizeof(void *),
				     RTE_CACHE_LINE_SIZE, socket);
	t->ov_free = rte_malloc_socket("nc_flow_o", (size_t)ov * sizeof(uint32_t),
				       RTE_CACHE_LINE_SIZE, socket);
	if (cfg->qsbr != NULL) {
		t->ov_rq = rte_malloc_socket("nc_flow_r", (size_t)ov * sizeof(*t->ov_rq),
					     RTE_CACHE_LINE_SIZE, socket);
		t->bq = rte_malloc_socket("nc_flow_q", (size_t)t->bq_size * sizeof(*t->bq),
					  RTE_CACHE_LINE_SIZE, socket);
	}
	if (!t->buckets || !t->segs || !t->ov_free || (cfg->qsbr && (!t->ov_rq || !t->bq))) {
		nc_flow_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void nc_flow_free(struct nc_flow *t)
{
	if (t == NULL)
		return;
	/* Live and dead entries both still hold their values. */
	if (t->free_value != NULL) {
		for (uint32_t l = 0; l < t->hw; l++) {
			for (uint32_t u = 2 * l; u < 2 * l + 2; u++) {
				void *e = unit_ptr(t, u);
				unsigned tag = META_TAG(meta_load(e));

				if (tag != TAG_FREE)
					t->free_value(ent_value(e, TAG_WIDE(tag)), t->free_ctx);
				if (TAG_WIDE(tag))
					break;
			}
		}
		/* object flows; buckets past ov_next were never used */
		for (uint32_t b = 0; t->objs > 0 && t->buckets != NULL && b < t->ov_next; b++)
			for (unsigned i = 0; i < BUCKET_SLOTS; i++)
				if (slot_obj(t->buckets[b].idx[i]))
					t->free_value(obj_at(t, t->buckets[b].idx[i]), t->free_ctx);
	}
	for (uint32_t s = 0; t->segs != NULL && s < t->nsegs; s++)
		rte_free(t->segs[s]);
	rte_free(t->segs);
	rte_free(t->buckets);
	rte_free(t->ov_free);
	rte_free(t->ov_rq);
	rte_free(t->bq);
	rte_free(t);
}

/* ---------------------------------------------------------------- writer */

/* A free slot in the chain of bucket bi, adding an overflow bucket if
 * needed.  NULL if the overflow pool is exhausted. */
static struct bucket *free_slot(struct nc_flow *t, uint32_t h, unsigned *slotp)
{
	struct bucket *b = &t->buckets[bucket_of(t, h)];
	uint32_t nbi;

	for (;;) {
		for (unsigned i = 0; i < BUCKET_SLOTS; i++) {
			if (b->idx[i] == NO_ENT) {
				*slotp = i;
				return b;
			}
		}
		if (b->next == 0)
			break;
		b = &t->buckets[b->next - 1];
	}
	if (t->ov_free_top > 0)
		nbi = t->ov_free[--t->ov_free_top];
	else if (t->ov_next < t->ov_end)
		nbi = t->ov_next++;
	else
		return NULL;
	struct bucket *nb = &t->buckets[nbi];

	memset(nb, 0, sizeof(*nb));
	/* The new bucket is empty before readers can reach it. */
	__atomic_store_n(&b->next, nbi + 1, __ATOMIC_RELEASE);
	*slotp = 0;
	return nb;
}

static inline bool fits_compact(const struct nc_flow *t, const struct kq *q, uint64_t now,
				uint64_t timeout)
{
	return q->v4 && !(t->flags & NC_FLOW_F_WIDE) && now <= UINT32_MAX &&
	       (timeout < UINT32_MAX || timeout == UINT64_MAX);
}

int nc_flow_add(struct nc_flow *t, const struct nc_flow_key *key, void *value, uint64_t now,
		uint64_t timeout)
{
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, u;
	bool wide;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	h = key_hash(key);
	wide = !fits_compact(t, &q, now, timeout);
	wlock(t);
	if (find(t, &q, h, NULL, NULL) != NO_ENT) {
		rc = -EEXIST;
		goto out;
	}
	if (t->live >= t->capacity) {
		rc = -ENOSPC;
		goto out;
	}
	if (t->live + t->dead >= t->nents && t->qsbr != NULL)
		reclaim(t, UINT32_MAX);
	if (t->live + t->dead >= t->nents || (b = free_slot(t, h, &slot)) == NULL) {
		rc = -ENOSPC;
		goto out;
	}
	if ((u = unit_alloc(t, wide)) == UINT32_MAX) {
		rc = -ENOMEM; /* lines are bounded by live + dead: only a segment can fail */
		goto out;
	}
	if (wide) {
		struct went *w = unit_ptr(t, u);

		w->meta = q.meta | (uint64_t)(q.v4 ? TAG_W4 : TAG_W6) << 56;
		memcpy(w->addr, q.w, sizeof(w->addr));
		w->value = value;
		__atomic_store_n(&w->last_seen, now, __ATOMIC_RELAXED);
		__atomic_store_n(&w->timeout, timeout, __ATOMIC_RELAXED);
	} else {
		struct cent *c = unit_ptr(t, u);

		c->meta = q.meta | (uint64_t)TAG_C4 << 56;
		c->addrs = q.addrs;
		c->value = value;
		__atomic_store_n(&c->last_seen, (uint32_t)now, __ATOMIC_RELAXED);
		ent_set_timeout(c, false, timeout);
	}
	b->sig[slot] = hash_sig(h);
	/* Entry and signature are complete before the index is visible. */
	__atomic_store_n(&b->idx[slot], u + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);
out:
	wunlock(t);
	return rc;
}

int nc_flow_add_object(struct nc_flow *t, uint32_t index, unsigned which)
{
	struct nc_flow_key key;
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, x;
	int rc = 0;

	if (t == NULL || which > 1)
		return -EINVAL;
	if (t->obj_base == NULL || t->qsbr != NULL)
		return -EOPNOTSUPP;
	if (index >= t->obj_count)
		return -EINVAL;
	x = SLOT_OBJ | index << 1 | which;
	t->obj_key(obj_at(t, x), which, &key);
	key_query(&q, &key);
	h = key_hash(&key);
	wlock(t);
	if (find(t, &q, h, NULL, NULL) != NO_ENT)
		rc = -EEXIST;
	else if (t->live >= t->capacity || (b = free_slot(t, h, &slot)) == NULL)
		rc = -ENOSPC;
	if (rc == 0) {
		b->sig[slot] = hash_sig(h);
		/* the object's key is the caller's, complete before this */
		__atomic_store_n(&b->idx[slot], x, __ATOMIC_RELEASE);
		__atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&t->objs, t->objs + 1, __ATOMIC_RELAXED);
	}
	wunlock(t);
	return rc;
}

/* The value of a flow by slot value. */
static inline void *slot_value(const struct nc_flow *t, uint32_t x)
{
	const void *e;

	if (slot_obj(x))
		return obj_at(t, x);
	e = unit_ptr(t, x - 1);
	return ent_value(e, ent_wide(e));
}

int nc_flow_delete(struct nc_flow *t, const struct nc_flow_key *key, void **value)
{
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, x;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	h = key_hash(key);
	wlock(t);
	x = find(t, &q, h, &b, &slot);
	if (x == NO_ENT) {
		rc = -ENOENT;
		goto out;
	}
	if (value != NULL)
		*value = slot_value(t, x);
	remove_slot(t, h, b, slot);
out:
	wunlock(t);
	return rc;
}

/* Expire the live entry e if idle at now (and cb agrees); 1 if removed. */
static int expire_one(struct nc_flow *t, uint32_t u, uint64_t now, nc_flow_expire_cb cb,
		      void *arg)
{
	void *e = unit_ptr(t, u);
	bool wide = ent_wide(e);
	uint64_t ls = ent_last_seen(e, wide), to = ent_timeout(e, wide);
	struct nc_flow_key key;
	struct bucket *b = NULL;
	unsigned slot = 0;
	struct kq q;
	uint32_t h;

	if (now < ls || now - ls < to)
		return 0;
	ent_key(e, &key);
	if (cb != NULL && !cb(&key, ent_value(e, wide), ls, arg))
		return 0;
	key_query(&q, &key);
	h = key_hash(&key);
	if (find(t, &q, h, &b, &slot) != u + 1)
		return 0; /* cannot happen: a live entry is always linked */
	remove_slot(t, h, b, slot);
	return 1;
}

int nc_flow_expire(struct nc_flow *t, uint64_t now, uint32_t budget, nc_flow_expire_cb cb,
		   void *arg)
{
	int removed = 0;

	if (t == NULL || budget == 0)
		return -EINVAL;
	wlock(t);
	if (t->qsbr != NULL)
		reclaim(t, budget);
	for (uint32_t n = 0; n < budget && t->hw > 0; n++) {
		uint32_t l = t->cursor;

		if (++t->cursor >= t->hw)
			t->cursor = 0;
		for (uint32_t u = 2 * l; u < 2 * l + 2; u++) {
			void *e = unit_ptr(t, u);
			unsigned tag = META_TAG(meta_load(e));

			if (tag != TAG_FREE && !(tag & TAG_DEAD))
				removed += expire_one(t, u, now, cb, arg);
			if (TAG_WIDE(tag))
				break; /* unit 2l + 1 is the entry's second half */
		}
	}
	wunlock(t);
	return removed;
}

/* Iteration cursors from here on are positions among bucket slots. */
#define ITER_SLOTS (1ull << 32)

int nc_flow_iterate(struct nc_flow *t, uint64_t *cursor, struct nc_flow_key *key, void **value)
{
	int rc = -ENOENT;

	if (t == NULL || cursor == NULL || key == NULL)
		return -EINVAL;
	wlock(t);
	/* *cursor: the next unit to look at, then ITER_SLOTS + the next
	 * bucket slot (object flows). */
	for (uint64_t u = *cursor; u < 2 * (uint64_t)t->hw; u++) {
		if ((u & 1) && TAG_WIDE(META_TAG(meta_load(unit_ptr(t, u - 1)))))
			continue; /* second half of a wide entry */
		void *e = unit_ptr(t, u);
		unsigned tag = META_TAG(meta_load(e));

		if (tag == TAG_FREE || (tag & TAG_DEAD))
			continue;
		ent_key(e, key);
		if (value != NULL)
			*value = ent_value(e, TAG_WIDE(tag));
		*cursor = u + 1;
		rc = 0;
		break;
	}
	uint64_t end = ITER_SLOTS + (uint64_t)t->ov_next * BUCKET_SLOTS;

	for (uint64_t p = *cursor < ITER_SLOTS ? ITER_SLOTS : *cursor;
	     rc != 0 && t->objs > 0 && p < end; p++) {
		uint32_t x = t->buckets[(p - ITER_SLOTS) / BUCKET_SLOTS]
				     .idx[(p - ITER_SLOTS) % BUCKET_SLOTS];

		if (!slot_obj(x))
			continue;
		t->obj_key(obj_at(t, x), x & 1u, key);
		if (value != NULL)
			*value = obj_at(t, x);
		*cursor = p + 1;
		rc = 0;
	}
	if (rc != 0)
		*cursor = end;
	wunlock(t);
	return rc;
}

/* ---------------------------------------------------------------- readers */

int nc_flow_lookup(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t now,
		   void **value)
{
	struct kq q;
	uint32_t x;
	void *e;
	bool wide;

	if (unlikely(t == NULL || key == NULL || value == NULL))
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x)) {
		*value = obj_at(t, x); /* never idle: nothing to touch */
		return 0;
	}
	e = unit_ptr(t, x - 1);
	wide = ent_wide(e);
	touch(e, wide, now);
	*value = ent_value(e, wide);
	return 0;
}

int nc_flow_lookup_bulk(const struct nc_flow *t, const struct nc_flow_key *const keys[],
			unsigned n, uint64_t now, void *values[], uint64_t *hit_mask)
{
	uint32_t h[NC_FLOW_BULK_MAX], cand[NC_FLOW_BULK_MAX];
	uint64_t mask = 0;
	int hits = 0;

	if (unlikely(t == NULL || keys == NULL || values == NULL || n > NC_FLOW_BULK_MAX))
		return -EINVAL;
	/* Stage 1: hash every key and prefetch its bucket. */
	for (unsigned i = 0; i < n; i++) {
		h[i] = key_hash(keys[i]);
		rte_prefetch0(&t->buckets[bucket_of(t, h[i])]);
	}
	/* Stage 2: first signature match in the primary bucket; prefetch
	 * its entry.  Without a match in a chained bucket, prefetch the
	 * overflow bucket instead. */
	uint64_t ov = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct bucket *b = &t->buckets[bucket_of(t, h[i])];
		unsigned m = sig_match(b, hash_sig(h[i]));

		cand[i] = NO_ENT;
		if (m) {
			cand[i] = __atomic_load_n(&b->idx[__builtin_ctz(m)], __ATOMIC_ACQUIRE);
			if (cand[i] != NO_ENT)
				rte_prefetch0(slot_line(t, cand[i]));
		} else {
			uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

			if (nx != 0) {
				rte_prefetch0(&t->buckets[nx - 1]);
				ov |= 1ULL << i;
			}
		}
	}
	/* Stage 2b (keys whose primary bucket overflowed): the same in the
	 * first overflow bucket. */
	for (uint64_t m = ov; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		const struct bucket *p = &t->buckets[bucket_of(t, h[i])];
		uint32_t nx = __atomic_load_n(&p->next, __ATOMIC_ACQUIRE);
		const struct bucket *b;
		unsigned sm;

		if (nx == 0)
			continue;
		b = &t->buckets[nx - 1];
		sm = sig_match(b, hash_sig(h[i]));
		if (sm) {
			cand[i] = __atomic_load_n(&b->idx[__builtin_ctz(sm)], __ATOMIC_ACQUIRE);
			if (cand[i] != NO_ENT)
				rte_prefetch0(slot_line(t, cand[i]));
		}
	}
	/* Stage 3: compare; anything else (other matches, overflow) takes the
	 * full path. */
	for (unsigned i = 0; i < n; i++) {
		uint32_t x;
		struct kq q;

		key_query(&q, keys[i]);
		if (cand[i] != NO_ENT && slot_match(t, cand[i], &q))
			x = cand[i];
		else
			x = find(t, &q, h[i], NULL, NULL);
		if (x != NO_ENT) {
			if (slot_obj(x)) {
				values[i] = obj_at(t, x); /* the line just compared */
			} else {
				void *e = unit_ptr(t, x - 1);
				bool wide = ent_wide(e);

				touch(e, wide, now);
				values[i] = ent_value(e, wide);
			}
			if (t->flags & NC_FLOW_F_PREFETCH_VALUES)
				rte_prefetch0(values[i]);
			mask |= 1ULL << i;
			hits++;
		} else {
			values[i] = NULL;
		}
	}
	if (hit_mask != NULL)
		*hit_mask = mask;
	return hits;
}

void nc_flow_prefetch(const struct nc_flow *t, const struct nc_flow_key *key)
{
	if (t != NULL && key != NULL)
		rte_prefetch0(&t->buckets[bucket_of(t, key_hash(key))]);
}

int nc_flow_get(const struct nc_flow *t, const struct nc_flow_key *key,
		struct nc_flow_entry_info *info)
{
	struct kq q;
	uint32_t x;
	void *e;
	bool wide;

	if (t == NULL || key == NULL || info == NULL)
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x)) {
		info->value = obj_at(t, x);
		info->last_seen = 0;
		info->timeout = UINT64_MAX;
		return 0;
	}
	e = unit_ptr(t, x - 1);
	wide = ent_wide(e);
	info->value = ent_value(e, wide);
	info->last_seen = ent_last_seen(e, wide);
	info->timeout = ent_timeout(e, wide);
	return 0;
}

int nc_flow_set_timeout(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t timeout,
			uint64_t now)
{
	struct kq q;
	uint32_t x;
	void *e;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x))
		return -EOPNOTSUPP; /* object flows keep no time */
	e = unit_ptr(t, x - 1);
	/* a change is a use; for an entry that never idled out, its idle
	 * time starts here (lookups did not keep last_seen) */
	touch_store(e, ent_wide(e), now);
	ent_set_timeout(e, ent_wide(e), timeout);
	return 0;
}

uint32_t nc_flow_count(const struct nc_flow *t)
{
	return t ? __atomic_load_n(&t->live, __ATOMIC_RELAXED) : 0;
}

uint32_t nc_flow_object_count(const struct nc_flow *t)
{
	return t ? __atomic_load_n(&t->objs, __ATOMIC_RELAXED) : 0;
}

uint32_t nc_flow_capacity(const struct nc_flow *t)
{
	return t ? t->capacity : 0;
}
