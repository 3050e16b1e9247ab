/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table: see nc_flow.h for the contract.
 *
 * Layout
 * ------
 *   buckets[nb]   64 bytes each: 8 x {16-bit signature, 32-bit entry index + 1}
 *                 and the index of an overflow bucket (0: none).
 *   ents[ne]      64 bytes each, one cache line: the 40 significant key bytes,
 *                 the idle timeout, the value and the last-seen time.
 * A lookup costs one bucket line and one entry line, the same two misses as
 * a bare rte_hash lookup (bucket, key store), but value and timestamp come
 * with the key, so nc_flow adds no third miss for them.  nb is a power of two
 * >= capacity / 4, so a full table averages 2-4 keys per 8-slot bucket and
 * overflow buckets are rare; they are taken from a pool and stay linked (a
 * later insert reuses their slots).
 *
 * Concurrency (one writer at a time, lock-free readers)
 * -----------------------------------------------------
 * Insert: the writer fills an entry, then the slot's signature, then
 * publishes the slot's index with a release store; a reader loads the index
 * with acquire before it reads the entry.  A new overflow bucket is zeroed
 * before its index is published (release) in the last bucket of the chain.
 * Delete: the writer clears the slot's index (release); readers that loaded
 * it earlier may still read the entry, so the entry is only reused (and its
 * value handed to free_value) after a grace period of cfg.qsbr: the writer
 * queues {token = rte_rcu_qsbr_start(), entry} and frees queued entries once
 * rte_rcu_qsbr_check(token) says every reader has since been quiescent.
 * Signatures are only a filter: a match always ends in a full key compare
 * on an entry reached through an acquire load, so a reader racing with a
 * slot's reuse may miss a key being added or removed, never return a wrong
 * one.
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

#define BUCKET_SLOTS 8
#define NO_ENT 0u /* slot index 0: empty; otherwise entry index + 1 */

struct bucket {
	uint16_t sig[BUCKET_SLOTS];
	uint32_t idx[BUCKET_SLOTS];   /* acquire/release */
	uint32_t next;                /* overflow bucket + 1; acquire/release */
	uint32_t pad[3];
} __rte_cache_aligned;

struct ent {
	uint64_t key[KEY_BYTES / 8];
	uint64_t timeout;    /* relaxed atomics */
	void *value;
	uint64_t last_seen;  /* relaxed atomics */
} __rte_cache_aligned;

_Static_assert(sizeof(struct bucket) == 64 && sizeof(struct ent) == 64, "one line each");

enum { ENT_FREE = 0, ENT_LIVE, ENT_DEAD };

struct retired {
	uint64_t token;
	uint32_t ent;
};

struct nc_flow {
	struct bucket *buckets;   /* nb primary, then the overflow pool */
	struct ent *ents;
	uint32_t nb_mask;
	uint32_t ov_next, ov_end; /* overflow pool: next unused, end (bucket indexes) */
	uint32_t capacity;
	uint32_t nents;
	uint32_t live;            /* written by the writer, read relaxed */
	uint8_t *state;           /* ENT_*, writer only */
	uint32_t *free_stack;
	uint32_t free_top;
	uint32_t cursor;          /* expiry */
	struct retired *rq;       /* FIFO of removed entries awaiting a grace period */
	uint32_t rq_head, rq_tail, rq_size;
	bool locked;
	rte_spinlock_t lock;
	struct rte_rcu_qsbr *qsbr;
	void (*free_value)(void *value, void *ctx);
	void *free_ctx;
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

static inline bool key_eq(const struct ent *e, const struct nc_flow_key *k)
{
	const uint64_t *w = (const uint64_t *)k;

	return ((e->key[0] ^ w[0]) | (e->key[1] ^ w[1]) | (e->key[2] ^ w[2]) |
		(e->key[3] ^ w[3]) | (e->key[4] ^ w[4])) == 0;
}

/* Bit i set where bucket slot i holds signature sig. */
static inline unsigned sig_match(const struct bucket *b, uint16_t sig)
{
#if defined(__SSE2__)
	__m128i s = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i m = _mm_cmpeq_epi16(s, _mm_set1_epi16((short)sig));

	/* Narrow the 16-bit lanes to bytes: one mask bit per slot. */
	return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(m, _mm_setzero_si128())) & 0xffu;
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

/* Find key in the chain of bucket bi.  Readers and writer alike. */
static inline struct ent *find(const struct nc_flow *t, const struct nc_flow_key *key,
			       uint32_t h, struct bucket **bp, unsigned *slotp)
{
	struct bucket *b = &t->buckets[h & t->nb_mask];
	uint16_t sig = hash_sig(h);

	for (;;) {
		for (unsigned m = sig_match(b, sig); m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			uint32_t x = __atomic_load_n(&b->idx[i], __ATOMIC_ACQUIRE);

			if (x != NO_ENT && key_eq(&t->ents[x - 1], key)) {
				if (bp) {
					*bp = b;
					*slotp = i;
				}
				return &t->ents[x - 1];
			}
		}
		uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

		if (nx == 0)
			return NULL;
		b = &t->buckets[nx - 1];
	}
}

static inline void touch(struct ent *e, uint64_t now)
{
	/* Store only when time moved: a steady flow in coarse units does not
	 * dirty the line.  Racing readers may store slightly older times;
	 * expiry tolerates that. */
	if (now > __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED))
		__atomic_store_n(&e->last_seen, now, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- reclamation */

static void ent_release(struct nc_flow *t, uint32_t ei)
{
	struct ent *e = &t->ents[ei];

	if (t->free_value != NULL)
		t->free_value(e->value, t->free_ctx);
	e->value = NULL;
	t->state[ei] = ENT_FREE;
	t->free_stack[t->free_top++] = ei;
}

/* Free up to max retired entries whose grace period is over. */
static void reclaim(struct nc_flow *t, uint32_t max)
{
	while (max-- && t->rq_head != t->rq_tail) {
		struct retired *r = &t->rq[t->rq_head % t->rq_size];

		if (rte_rcu_qsbr_check(t->qsbr, r->token, false) != 1)
			break;
		ent_release(t, r->ent);
		t->rq_head++;
	}
}

/* Unlink the entry found at slot i of bucket b; free it now or after the
 * grace period. */
static void remove_slot(struct nc_flow *t, struct bucket *b, unsigned i)
{
	uint32_t ei = b->idx[i] - 1;

	/* Readers that already loaded the index may still read the entry. */
	__atomic_store_n(&b->idx[i], NO_ENT, __ATOMIC_RELEASE);
	b->sig[i] = 0;
	t->state[ei] = ENT_DEAD;
	__atomic_store_n(&t->live, t->live - 1, __ATOMIC_RELAXED);
	if (t->qsbr == NULL) {
		ent_release(t, ei); /* the caller promised: no reader runs */
		return;
	}
	/* rq has room for every entry, so it cannot overflow. */
	t->rq[t->rq_tail % t->rq_size] = (struct retired){rte_rcu_qsbr_start(t->qsbr), ei};
	t->rq_tail++;
	reclaim(t, 8);
}

/* ---------------------------------------------------------------- life cycle */

int nc_flow_create(const struct nc_flow_config *cfg, struct nc_flow **out)
{
	struct nc_flow *t;
	uint32_t nb = 8, ov;
	int socket;

	if (cfg == NULL || out == NULL || cfg->entries == 0 || cfg->entries > (1u << 30) ||
	    (cfg->flags & ~(uint32_t)NC_FLOW_F_MULTI_WRITER) != 0)
		return -EINVAL;
	socket = cfg->socket_id < 0 ? SOCKET_ID_ANY : cfg->socket_id;
	while (nb < cfg->entries / 4)
		nb <<= 1;
	ov = nb / 8 + 64;

	/* cfg->name only labels the memory (rte_malloc type). */
	t = rte_zmalloc_socket(cfg->name ? cfg->name : "nc_flow", sizeof(*t), RTE_CACHE_LINE_SIZE,
			       socket);
	if (t == NULL)
		return -ENOMEM;
	t->capacity = cfg->entries;
	/* Headroom for removed entries that wait for their grace period. */
	t->nents = cfg->entries + (cfg->qsbr ? cfg->entries / 16 + 64 : 0);
	t->nb_mask = nb - 1;
	t->ov_next = nb;
	t->ov_end = nb + ov;
	t->locked = (cfg->flags & NC_FLOW_F_MULTI_WRITER) != 0;
	rte_spinlock_init(&t->lock);
	t->qsbr = cfg->qsbr;
	t->free_value = cfg->free_value;
	t->free_ctx = cfg->free_ctx;
	t->rq_size = t->nents;
	t->buckets = rte_zmalloc_socket("nc_flow_b", (size_t)(nb + ov) * sizeof(struct bucket),
					RTE_CACHE_LINE_SIZE, socket);
	t->ents = rte_malloc_socket("nc_flow_e", (size_t)t->nents * sizeof(struct ent),
				    RTE_CACHE_LINE_SIZE, socket);
	t->state = rte_zmalloc_socket("nc_flow_s", t->nents, RTE_CACHE_LINE_SIZE, socket);
	t->free_stack = rte_malloc_socket("nc_flow_f", (size_t)t->nents * sizeof(uint32_t),
					  RTE_CACHE_LINE_SIZE, socket);
	t->rq = cfg->qsbr ? rte_malloc_socket("nc_flow_r", (size_t)t->rq_size * sizeof(*t->rq),
					      RTE_CACHE_LINE_SIZE, socket) : NULL;
	if (!t->buckets || !t->ents || !t->state || !t->free_stack || (cfg->qsbr && !t->rq)) {
		nc_flow_free(t);
		return -ENOMEM;
	}
	/* Pop order 0, 1, 2...: entries fill the array from the start. */
	for (uint32_t i = 0; i < t->nents; i++)
		t->free_stack[i] = t->nents - 1 - i;
	t->free_top = t->nents;
	*out = t;
	return 0;
}

void nc_flow_free(struct nc_flow *t)
{
	if (t == NULL)
		return;
	if (t->state != NULL && t->free_value != NULL)
		for (uint32_t i = 0; i < t->nents; i++)
			if (t->state[i] != ENT_FREE)
				t->free_value(t->ents[i].value, t->free_ctx);
	rte_free(t->buckets);
	rte_free(t->ents);
	rte_free(t->state);
	rte_free(t->free_stack);
	rte_free(t->rq);
	rte_free(t);
}

/* ---------------------------------------------------------------- writer */

/* A free slot in the chain of bucket bi, adding an overflow bucket if
 * needed.  NULL if the overflow pool is exhausted. */
static struct bucket *free_slot(struct nc_flow *t, uint32_t h, unsigned *slotp)
{
	struct bucket *b = &t->buckets[h & t->nb_mask];

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
	if (t->ov_next == t->ov_end)
		return NULL;
	struct bucket *nb = &t->buckets[t->ov_next];

	memset(nb, 0, sizeof(*nb));
	/* The new bucket is empty before readers can reach it. */
	__atomic_store_n(&b->next, ++t->ov_next, __ATOMIC_RELEASE);
	*slotp = 0;
	return nb;
}

int nc_flow_add(struct nc_flow *t, const struct nc_flow_key *key, void *value, uint64_t now,
		uint64_t timeout)
{
	struct bucket *b;
	struct ent *e;
	unsigned slot;
	uint32_t h, ei;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	h = key_hash(key);
	wlock(t);
	if (find(t, key, h, NULL, NULL) != NULL) {
		rc = -EEXIST;
		goto out;
	}
	if (t->free_top == 0 && t->qsbr != NULL)
		reclaim(t, UINT32_MAX);
	if (t->live >= t->capacity || t->free_top == 0 || (b = free_slot(t, h, &slot)) == NULL) {
		rc = -ENOSPC;
		goto out;
	}
	ei = t->free_stack[--t->free_top];
	e = &t->ents[ei];
	memcpy(e->key, key, KEY_BYTES);
	e->value = value;
	__atomic_store_n(&e->timeout, timeout, __ATOMIC_RELAXED);
	__atomic_store_n(&e->last_seen, now, __ATOMIC_RELAXED);
	t->state[ei] = ENT_LIVE;
	b->sig[slot] = hash_sig(h);
	/* Entry and signature are complete before the index is visible. */
	__atomic_store_n(&b->idx[slot], ei + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);
out:
	wunlock(t);
	return rc;
}

int nc_flow_delete(struct nc_flow *t, const struct nc_flow_key *key, void **value)
{
	struct bucket *b;
	struct ent *e;
	unsigned slot;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	wlock(t);
	e = find(t, key, key_hash(key), &b, &slot);
	if (e == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (value != NULL)
		*value = e->value;
	remove_slot(t, b, slot);
out:
	wunlock(t);
	return rc;
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
	for (uint32_t n = 0; n < budget; n++) {
		uint32_t ei = t->cursor;
		struct ent *e = &t->ents[ei];
		struct nc_flow_key key;
		struct bucket *b = NULL;
		unsigned slot = 0;
		uint64_t ls, to;

		if (++t->cursor == t->nents)
			t->cursor = 0;
		if (t->state[ei] != ENT_LIVE)
			continue;
		ls = __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED);
		to = __atomic_load_n(&e->timeout, __ATOMIC_RELAXED);
		if (now < ls || now - ls < to)
			continue;
		memset(&key, 0, sizeof(key));
		memcpy(&key, e->key, KEY_BYTES);
		if (cb != NULL && !cb(&key, e->value, ls, arg))
			continue;
		if (find(t, &key, key_hash(&key), &b, &slot) != e)
			continue; /* cannot happen: a live entry is always linked */
		remove_slot(t, b, slot);
		removed++;
	}
	wunlock(t);
	return removed;
}

int nc_flow_iterate(struct nc_flow *t, uint32_t *cursor, struct nc_flow_key *key, void **value)
{
	int rc = -ENOENT;

	if (t == NULL || cursor == NULL || key == NULL)
		return -EINVAL;
	wlock(t);
	for (uint32_t i = *cursor; i < t->nents; i++) {
		if (t->state[i] != ENT_LIVE)
			continue;
		memset(key, 0, sizeof(*key));
		memcpy(key, t->ents[i].key, KEY_BYTES);
		if (value != NULL)
			*value = t->ents[i].value;
		*cursor = i + 1;
		rc = 0;
		break;
	}
	if (rc != 0)
		*cursor = t->nents;
	wunlock(t);
	return rc;
}

/* ---------------------------------------------------------------- readers */

int nc_flow_lookup(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t now,
		   void **value)
{
	struct ent *e;

	if (unlikely(t == NULL || key == NULL || value == NULL))
		return -EINVAL;
	e = find(t, key, key_hash(key), NULL, NULL);
	if (e == NULL)
		return -ENOENT;
	touch(e, now);
	*value = e->value;
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
		rte_prefetch0(&t->buckets[h[i] & t->nb_mask]);
	}
	/* Stage 2: first signature match in the primary bucket; prefetch
	 * its entry. */
	for (unsigned i = 0; i < n; i++) {
		const struct bucket *b = &t->buckets[h[i] & t->nb_mask];
		unsigned m = sig_match(b, hash_sig(h[i]));

		cand[i] = NO_ENT;
		if (m) {
			cand[i] = __atomic_load_n(&b->idx[__builtin_ctz(m)], __ATOMIC_ACQUIRE);
			if (cand[i] != NO_ENT)
				rte_prefetch0(&t->ents[cand[i] - 1]);
		}
	}
	/* Stage 3: compare; anything else (other matches, overflow) takes the
	 * full path. */
	for (unsigned i = 0; i < n; i++) {
		struct ent *e = NULL;

		if (cand[i] != NO_ENT && key_eq(&t->ents[cand[i] - 1], keys[i]))
			e = &t->ents[cand[i] - 1];
		else
			e = find(t, keys[i], h[i], NULL, NULL);
		if (e != NULL) {
			touch(e, now);
			values[i] = e->value;
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

int nc_flow_get(const struct nc_flow *t, const struct nc_flow_key *key,
		struct nc_flow_entry_info *info)
{
	struct ent *e;

	if (t == NULL || key == NULL || info == NULL)
		return -EINVAL;
	e = find(t, key, key_hash(key), NULL, NULL);
	if (e == NULL)
		return -ENOENT;
	info->value = e->value;
	info->last_seen = __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED);
	info->timeout = __atomic_load_n(&e->timeout, __ATOMIC_RELAXED);
	return 0;
}

int nc_flow_set_timeout(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t timeout)
{
	struct ent *e;

	if (t == NULL || key == NULL)
		return -EINVAL;
	e = find(t, key, key_hash(key), NULL, NULL);
	if (e == NULL)
		return -ENOENT;
	__atomic_store_n(&e->timeout, timeout, __ATOMIC_RELAXED);
	return 0;
}

uint32_t nc_flow_count(const struct nc_flow *t)
{
	return t ? __atomic_load_n(&t->live, __ATOMIC_RELAXED) : 0;
}

uint32_t nc_flow_capacity(const struct nc_flow *t)
{
	return t ? t->capacity : 0;
}
