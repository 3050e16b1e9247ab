/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_SESSION_HT_H
#define NCNAT_NAT_SESSION_HT_H
/*
 * The session table's hash indexes (included through nat_session_int.h by
 * the table and its consistency check; functions a file does not use are
 * marked unused; the design is in nat_session.h): record indexes by key hash in bucketed cuckoo
 * hashing, 64-byte buckets of 10 slots with 16-bit signatures.  The keys
 * live in the caller's records: a lookup calls back to compare one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifndef NIL
#define NIL UINT32_MAX
#endif

/* ---- hash index: record indexes in bucketed cuckoo hashing ---- */

#define HT_SLOTS 10
#define HT_ALT 0x80000000u /* slot flag: the entry lives in its alternate bucket */
#define HT_KICKS 128       /* entries an insert may move before it overflows */
#define HT_SAT 15u         /* an alternate counter sticks here (then it is always read) */
#define HT_PER_BUCKET 8    /* capacity / buckets: at most 80% of the slots used */

/*
 * One cache line.  A slot is free when its signature is 0 (a key's
 * signature never is).  An entry in its primary bucket has its index as
 * is, one in its alternate bucket has HT_ALT set; with the signature that
 * says which bucket is its other one (ht_other), so entries move without
 * reading their records.
 */
struct ht_bucket {
	uint16_t sig[HT_SLOTS];
	uint32_t n_alt;         /* entries whose primary this is, in their alternate:
				 * 8 counters of 4 bits by signature group (sig >> 13) */
	uint32_t idx[HT_SLOTS]; /* record index, | HT_ALT */
};

_Static_assert(sizeof(struct ht_bucket) == 64, "a bucket is one cache line");

/* An entry no bucket had room for (forced collisions only). */
struct ht_over {
	uint32_t prim, idx;
	uint16_t sig;
};

struct ht {
	struct ht_bucket *b;
	uint32_t nb;            /* buckets, >= 2 */
	uint32_t n_over, cap_over;
	struct ht_over *over;
};

/* Low 16 bits: the signature; high 32 bits: the primary bucket. */
static inline uint16_t ht_sig(uint64_t hv)
{
	uint16_t s = (uint16_t)hv;

	return s ? s : 1;
}

static inline uint32_t ht_prim(const struct ht *h, uint64_t hv)
{
	return (uint32_t)(((hv >> 32) * h->nb) >> 32);
}

/* Distance from a primary bucket to its alternate: 1 .. nb-1, from the
 * signature only. */
static inline uint32_t ht_off(const struct ht *h, uint16_t sig)
{
	uint32_t x = (uint32_t)sig * 0x9e3779b1u;

	return 1 + (uint32_t)(((uint64_t)x * (h->nb - 1)) >> 32);
}

/* The other bucket of an entry with signature sig in bucket b; in_alt: b
 * is its alternate (so the result is its primary). */
static inline uint32_t ht_other(const struct ht *h, uint32_t b, uint16_t sig, bool in_alt)
{
	uint32_t off = ht_off(h, sig);

	if (in_alt)
		return b >= off ? b - off : b + h->nb - off;
	b += off;
	return b >= h->nb ? b - h->nb : b;
}

/* Bit k set: slot k has signature sig (0: free slots). */
static inline uint32_t bkt_match(const struct ht_bucket *b, uint16_t sig)
{
#ifdef __SSE2__
	__m128i k = _mm_set1_epi16((short)sig);
	__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)&b->sig[0]);
	__m128i hi = _mm_loadl_epi64((const __m128i *)(const void *)&b->sig[8]);
	__m128i eq = _mm_packs_epi16(_mm_cmpeq_epi16(lo, k), _mm_cmpeq_epi16(hi, k));

	return (uint32_t)_mm_movemask_epi8(eq) & ((1u << HT_SLOTS) - 1);
#else
	uint32_t m = 0;

	for (unsigned i = 0; i < HT_SLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << i;
	return m;
#endif
}

/* The alternate counter of a signature's group in a primary bucket. */
static inline unsigned nalt_shift(uint16_t sig)
{
	return (unsigned)(sig >> 13) * 4;
}

static inline uint32_t nalt_get(const struct ht_bucket *b, uint16_t sig)
{
	return (b->n_alt >> nalt_shift(sig)) & 15u;
}

static inline void nalt_inc(struct ht_bucket *b, uint16_t sig)
{
	if (nalt_get(b, sig) != HT_SAT)
		b->n_alt += 1u << nalt_shift(sig);
}

static inline void nalt_dec(struct ht_bucket *b, uint16_t sig)
{
	if (nalt_get(b, sig) != HT_SAT)
		b->n_alt -= 1u << nalt_shift(sig);
}

/*
 * Large arrays are read at random (one line per lookup): ask for
 * transparent huge pages, so that a lookup costs a cache miss and no TLB
 * miss (a page walk of its own at millions of entries).  Only the 2 MiB
 * pages inside the array are affected; the memory stays malloc's.
 */
static __attribute__((unused)) void want_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
	uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;

	if (bytes >= (4u << 20) && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only */
#else
	(void)p;
	(void)bytes;
#endif
}

static __attribute__((unused)) int ht_init(struct ht *h, uint32_t cap)
{
	size_t bytes;

	memset(h, 0, sizeof(*h));
	h->nb = cap / HT_PER_BUCKET + 1;
	if (h->nb < 2)
		h->nb = 2;
	bytes = (size_t)h->nb * sizeof(struct ht_bucket);
	h->b = aligned_alloc(64, bytes);
	if (!h->b)
		return -ENOMEM;
	want_huge_pages(h->b, bytes);
	memset(h->b, 0, bytes);
	return 0;
}

static __attribute__((unused)) void ht_fini(struct ht *h)
{
	free(h->b);
	free(h->over);
}

/* Does record i have this key?  ctx: the caller's (the table). */
typedef bool (*key_eq_fn)(const void *ctx, uint32_t i, const void *key);

static uint32_t __attribute__((noinline, unused))
over_find(const void *t, const struct ht *h, uint32_t p, uint16_t sig,
	  key_eq_fn eq, const void *key)
{
	for (uint32_t k = 0; k < h->n_over; k++)
		if (h->over[k].prim == p && h->over[k].sig == sig && eq(t, h->over[k].idx, key))
			return h->over[k].idx;
	return NIL;
}

/*
 * The record index of a key, or NIL.  An entry of the key's primary bucket
 * never has HT_ALT (its alternate is another bucket), and one of its
 * alternate with its signature and HT_ALT has the key's primary.
 */
static inline __attribute__((always_inline)) uint32_t
ht_find(const void *t, const struct ht *h, uint64_t hv, key_eq_fn eq,
	const void *key)
{
	uint16_t sig = ht_sig(hv);
	uint32_t p = ht_prim(h, hv), m, i;
	const struct ht_bucket *b = &h->b[p];

	for (m = bkt_match(b, sig); m; m &= m - 1) {
		i = b->idx[__builtin_ctz(m)];
		if (!(i & HT_ALT) && eq(t, i, key))
			return i;
	}
	if (nalt_get(b, sig)) {
		b = &h->b[ht_other(h, p, sig, false)];
		for (m = bkt_match(b, sig); m; m &= m - 1) {
			i = b->idx[__builtin_ctz(m)];
			if ((i & HT_ALT) && eq(t, i & ~HT_ALT, key))
				return i & ~HT_ALT;
		}
	}
	if (__builtin_expect(h->n_over != 0, 0))
		return over_find(t, h, p, sig, eq, key);
	return NIL;
}

static inline void ht_prefetch(const struct ht *h, uint64_t hv)
{
	__builtin_prefetch(&h->b[ht_prim(h, hv)], 1);
}

/* Before ht_remove(h, hv, idx), a pass after ht_prefetch(h, hv): start
 * loading the alternate bucket if the entry is not in its primary. */
static inline void ht_prefetch_remove(const struct ht *h, uint64_t hv, uint32_t idx)
{
	uint16_t sig = ht_sig(hv);
	uint32_t p = ht_prim(h, hv), m;
	const struct ht_bucket *b = &h->b[p];

	for (m = bkt_match(b, sig); m; m &= m - 1)
		if (b->idx[__builtin_ctz(m)] == idx)
			return;
	__builtin_prefetch(&h->b[ht_other(h, p, sig, false)], 1);
}

static inline void ht_put(struct ht *h, uint32_t b, unsigned k, uint16_t sig, uint32_t idx)
{
	h->b[b].sig[k] = sig;
	h->b[b].idx[k] = idx;
	if (idx & HT_ALT)
		nalt_inc(&h->b[ht_other(h, b, sig, true)], sig);
}

static inline uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Both buckets of (sig, idx) are full: move entries to their other bucket
 * along a random walk from one of them until one has room; the entry left
 * without a slot after HT_KICKS moves goes to the overflow list, which has
 * room (the caller made sure).
 */
static void __attribute__((noinline, unused))
ht_walk(struct ht *h, uint64_t *rng, uint32_t p, uint32_t a, uint16_t sig, uint32_t idx)
{
	uint64_t r = rng_next(rng);
	uint32_t b = (r & 1) ? a : p, cur = (r & 1) ? idx | HT_ALT : idx;
	uint16_t csig = sig;

	for (unsigned step = 0; step < HT_KICKS; step++) {
		struct ht_bucket *bk = &h->b[b];
		uint32_t m = bkt_match(bk, 0), vidx;
		uint16_t vsig;
		unsigned k;

		if (m) {
			ht_put(h, b, (unsigned)__builtin_ctz(m), csig, cur);
			return;
		}
		k = (unsigned)(rng_next(rng) % HT_SLOTS);
		vsig = bk->sig[k];
		vidx = bk->idx[k];
		if (vidx & HT_ALT)
			nalt_dec(&h->b[ht_other(h, b, vsig, true)], vsig);
		ht_put(h, b, k, csig, cur);
		b = ht_other(h, b, vsig, vidx & HT_ALT);
		csig = vsig;
		cur = vidx ^ HT_ALT;
	}
	h->over[h->n_over++] = (struct ht_over){
		.prim = (cur & HT_ALT) ? ht_other(h, b, csig, true) : b,
		.idx = cur & ~HT_ALT,
		.sig = csig,
	};
}

/* Insert a key known to be absent.  @return 0; -ENOMEM (an overflow list
 * could not grow). */
static __attribute__((unused)) int ht_insert(struct ht *h, uint64_t *rng, uint64_t hv, uint32_t idx)
{
	uint16_t sig = ht_sig(hv);
	uint32_t p = ht_prim(h, hv), a, m;

	m = bkt_match(&h->b[p], 0);
	if (__builtin_expect(m != 0, 1)) {
		ht_put(h, p, (unsigned)__builtin_ctz(m), sig, idx);
		return 0;
	}
	a = ht_other(h, p, sig, false);
	m = bkt_match(&h->b[a], 0);
	if (m) {
		ht_put(h, a, (unsigned)__builtin_ctz(m), sig, idx | HT_ALT);
		return 0;
	}
	if (h->n_over == h->cap_over) {
		uint32_t cap = h->cap_over ? h->cap_over * 2 : 16;
		struct ht_over *n = realloc(h->over, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->over = n;
		h->cap_over = cap;
	}
	ht_walk(h, rng, p, a, sig, idx);
	return 0;
}

/* Bucket b got a free slot: an overflowed entry that may live there takes it. */
static void __attribute__((noinline, unused)) over_refill(struct ht *h, uint32_t b)
{
	for (uint32_t k = 0; k < h->n_over; k++) {
		struct ht_over e = h->over[k];
		uint32_t m = bkt_match(&h->b[b], 0);
		bool alt = e.prim != b;

		if (alt && ht_other(h, e.prim, e.sig, false) != b)
			continue;
		ht_put(h, b, (unsigned)__builtin_ctz(m), e.sig, alt ? e.idx | HT_ALT : e.idx);
		h->over[k] = h->over[--h->n_over];
		return;
	}
}

/* Remove the entry of record idx, whose key hashes to hv. */
static __attribute__((unused)) void ht_remove(struct ht *h, uint64_t hv, uint32_t idx)
{
	uint16_t sig = ht_sig(hv);
	uint32_t p = ht_prim(h, hv), b = p, m;
	struct ht_bucket *bk = &h->b[p];

	for (m = bkt_match(bk, sig); m; m &= m - 1)
		if (bk->idx[__builtin_ctz(m)] == idx)
			goto found;
	b = ht_other(h, p, sig, false);
	bk = &h->b[b];
	idx |= HT_ALT;
	for (m = bkt_match(bk, sig); m; m &= m - 1)
		if (bk->idx[__builtin_ctz(m)] == idx)
			goto found;
	idx &= ~HT_ALT;
	for (uint32_t k = 0; k < h->n_over; k++) {
		if (h->over[k].idx == idx) {
			h->over[k] = h->over[--h->n_over];
			return;
		}
	}
	return; /* not reached: every record is indexed */
found:
	bk->sig[__builtin_ctz(m)] = 0;
	if (idx & HT_ALT)
		nalt_dec(&h->b[p], sig);
	if (__builtin_expect(h->n_over != 0, 0))
		over_refill(h, b);
}

#endif /* NCNAT_NAT_SESSION_HT_H */
