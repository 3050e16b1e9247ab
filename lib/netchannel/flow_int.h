/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_FLOW_INT_H
#define NETCHANNEL_FLOW_INT_H
/*
 * Flow table internals shared by the writer (flow.c: units, reclamation,
 * life cycle, add/delete/expire/iterate) and the readers (flow_lookup.c):
 * the layout and the key compare.  The design is at the top of flow.c.
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
	bool (*obj_match)(const void *obj, unsigned which, const struct nc_flow_key *key);
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
static inline bool obj_match(const struct nc_flow *t, uint32_t x, const struct kq *q)
{
	struct nc_flow_key k;
	struct kq o;

	if (t->obj_match != NULL)
		return t->obj_match(obj_at(t, x), x & 1u, (const struct nc_flow_key *)q->w);
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
static inline void ent_key(const void *e, struct nc_flow_key *k)
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


#endif /* NETCHANNEL_FLOW_INT_H */
