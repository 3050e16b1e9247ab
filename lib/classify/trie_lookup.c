/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interval-trie lookups.  This file is compiled twice: plainly (the scalar
 * code, trie_lookup_scalar) and with AVX-512 enabled (trie_lookup_avx512);
 * trie.c picks one at run time.  The only difference is how a node's keys
 * are counted: one masked 16-lane compare, or a loop.
 *
 * A lookup reads the published version once (acquire) and then walks each
 * partition of the key's family in search order: one predecessor search per
 * field until it reaches a box chain, whose first box alive in that version
 * is the partition's answer.  It stops when the best answer so far beats the
 * highest priority any remaining partition holds.
 *
 * The bulk lookup walks a burst through one partition at a time in lock
 * step: each round moves every key one node down and prefetches the node it
 * will read next, so the cache misses of different keys overlap.
 */
#include <stdatomic.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "trie.h"

#ifndef TRIE_LOOKUP_OPS
#define TRIE_LOOKUP_OPS trie_lookup_scalar
#define TRIE_LOOKUP_NAME "scalar"
#endif

/* Number of keys k[0..n) that are <= v (n <= 16). */
static inline unsigned cnt_le(const uint32_t *k, unsigned n, uint32_t v)
{
#ifdef __AVX512F__
	__mmask16 m = (__mmask16)((1u << n) - 1);
	__m512i keys = _mm512_maskz_loadu_epi32(m, k);
	__mmask16 le = _mm512_mask_cmple_epu32_mask(m, keys, _mm512_set1_epi32((int)v));
	return (unsigned)__builtin_popcount(le);
#else
	unsigned c = 0;
	for (unsigned i = 0; i < n; i++)
		c += k[i] <= v;
	return c;
#endif
}

/* Acquire on every pointer we follow: the node's contents were written
 * before the pointer was published with a release store. */
static inline uintptr_t load_ptr(const _Atomic uintptr_t *p)
{
	return atomic_load_explicit((_Atomic uintptr_t *)p, memory_order_acquire);
}

/* The whole node (up to 320 bytes) or box: one round trip instead of a
 * chain of dependent misses (keys, then his, then children). */
static inline void prefetch_child(uintptr_t ch)
{
	const char *p = (const char *)(ch & ~TC_BOX);
	__builtin_prefetch(p);
	__builtin_prefetch(p + 64);
	if (!tc_is_box(ch)) {
		__builtin_prefetch(p + 128);
		__builtin_prefetch(p + 192);
		__builtin_prefetch(p + 256);
	}
}

/* The first box of the chain alive in version ver, if the key is inside. */
static inline const struct tbox *chain_match(uintptr_t ch, const uint32_t *v, unsigned nd,
					     uint64_t ver)
{
	const struct tbox *b = tc_box(ch);
	bool in = true;

	if (nd == CLS_D4) { /* constant bound: unrolled */
		for (unsigned d = 0; d < CLS_D4; d++)
			in &= (v[d] >= b->r[2 * d]) & (v[d] <= b->r[2 * d + 1]);
	} else {
		for (unsigned d = 0; d < nd; d++)
			in &= (v[d] >= b->r[2 * d]) & (v[d] <= b->r[2 * d + 1]);
	}
	if (!in)
		return NULL; /* the chain's boxes are identical */
	/* del_v is set by a writer while readers run (cls_delete): relaxed
	 * loads; the version it names is published with a release later. */
	for (; b; b = atomic_load_explicit(&((struct tbox *)b)->dup_next, memory_order_acquire))
		if (b->add_v <= ver && ver < __atomic_load_n(&b->del_v, __ATOMIC_RELAXED))
			return b;
	return NULL;
}

/* One step down from tree node b for value x: the next word to follow
 * (an inner node's kid, or a leaf entry's child), or 0 for no match. */
static inline uintptr_t node_step(const struct bt *b, uint32_t x, bool *down_a_level)
{
	unsigned c = cnt_le(b->key, b->n, x);
	if (!b->leaf) {
		*down_a_level = false;
		return load_ptr(&bt_ptr(b)[c - 1]); /* key[0] == 0: c >= 1 */
	}
	*down_a_level = true;
	if (c == 0 || x > bt_hi(b)[c - 1])
		return 0;
	return load_ptr(&bt_ptr(b)[c - 1]);
}

#ifdef CLS_PROFILE
unsigned long cls_prof_parts, cls_prof_nodes, cls_prof_lookups, cls_prof_boxes;
#define PROF(x) (x)++
#else
#define PROF(x) ((void)0)
#endif

/* Is the key inside the partition's bounding box? */
static inline bool in_bbox(const struct tpart *p, const uint32_t *v, unsigned nd)
{
	bool in = true;
	/* the box grows while readers run: relaxed loads (see bbox_grow) */
	for (unsigned d = 0; d < nd; d++)
		in &= (v[d] >= __atomic_load_n(&p->bb_lo[d], __ATOMIC_RELAXED)) &
		      (v[d] <= __atomic_load_n(&p->bb_hi[d], __ATOMIC_RELAXED));
	return in;
}

static const struct tbox *part_find(const struct tpart *p, const uint32_t *v, unsigned nd,
				    uint64_t ver)
{
	uintptr_t ch = load_ptr(&p->root);
	unsigned level = 0;

	if (!in_bbox(p, v, nd))
		return NULL;

	PROF(cls_prof_parts);
	while (ch != 0 && !tc_is_box(ch)) {
		PROF(cls_prof_nodes);
		bool down;
		ch = node_step((const struct bt *)ch, v[p->order[level]], &down);
		level += down;
	}
	if (ch)
		PROF(cls_prof_boxes);
	return ch ? chain_match(ch, v, nd, ver) : NULL;
}

static inline void set_match(struct cls_match *m, const struct tbox *b)
{
	m->id = b->id;
	m->priority = b->prio;
	m->udata = b->udata;
}

/* One key against one snapshot: the version and the family's search order
 * a lookup (or a whole burst) read once. */
static int lookup_at(const struct plist *const lists[2], uint64_t ver, const struct cls_key *k,
		     struct cls_match *m)
{
	uint32_t v[CLS_MAXD];
	unsigned nd = cls_key_dims(k, v);

	if (nd == 0) {
		cls_match_none(m);
		return 0;
	}
	const struct plist *l = lists[nd == CLS_D6];
	const struct tbox *best = NULL;

	PROF(cls_prof_lookups);
	for (uint32_t i = 0; l && i < l->n; i++) {
		if (best && best->prio > l->e[i].maxprio)
			break; /* sorted: nothing further can win */
		const struct tbox *b = part_find(l->e[i].p, v, nd, ver);
		if (b && (!best || cls_rule_beats(b->prio, b->id, best->prio, best->id)))
			best = b;
	}
	if (!best) {
		cls_match_none(m);
		return 0;
	}
	set_match(m, best);
	return 1;
}

/* Read the published version, then the search orders it covers. */
static uint64_t snapshot(const struct cls *c, const struct plist *lists[2])
{
	struct trie *t = c->be;
	uint64_t ver = cls_version_load(c);
	lists[0] = atomic_load_explicit(&t->fam[0].parts, memory_order_acquire);
	lists[1] = atomic_load_explicit(&t->fam[1].parts, memory_order_acquire);
	return ver;
}

static int lookup_one(const struct cls *c, const struct cls_key *k, struct cls_match *m)
{
	const struct plist *lists[2];
	uint64_t ver = snapshot(c, lists);
	return lookup_at(lists, ver, k, m);
}

enum { CHUNK = 32 };

/* Walk the keys listed in act[0..na) through partition p in lock step.
 * Inlined per family so that the dimension count is a constant. */
static inline __attribute__((always_inline)) void part_walk_bulk(const struct tpart *p, uint32_t (*v)[CLS_MAXD], unsigned nd,
			   uint64_t ver, uint8_t *act, unsigned na,
			   const struct tbox **best)
{
	uintptr_t cur[CHUNK];
	uint8_t level[CHUNK];
	uintptr_t root = load_ptr(&p->root);

	if (root == 0)
		return;
	for (unsigned a = 0; a < na; a++) {
		cur[act[a]] = root;
		level[act[a]] = 0;
	}
	while (na > 0) {
		unsigned k = 0;
		for (unsigned a = 0; a < na; a++) {
			unsigned j = act[a];
			uintptr_t ch = cur[j];
			if (tc_is_box(ch)) {
				const struct tbox *b = chain_match(ch, v[j], nd, ver);
				if (b && (!best[j] || cls_rule_beats(b->prio, b->id, best[j]->prio,
								      best[j]->id)))
					best[j] = b;
				continue;
			}
			bool down;
			uintptr_t nx = node_step((const struct bt *)ch, v[j][p->order[level[j]]],
						 &down);
			if (nx == 0)
				continue;
			prefetch_child(nx);
			cur[j] = nx;
			level[j] = (uint8_t)(level[j] + down);
			act[k++] = (uint8_t)j;
		}
		na = k;
	}
}

static unsigned bulk_chunk(const struct plist *const lists[2], uint64_t ver,
			   const struct cls_key *const keys[], unsigned n, struct cls_match *m)
{
	uint32_t v[CHUNK][CLS_MAXD];
	uint8_t fam[CHUNK];
	const struct tbox *best[CHUNK];
	uint8_t act[CHUNK];
	unsigned hits = 0;

	for (unsigned j = 0; j < n; j++) {
		unsigned nd = cls_key_dims(keys[j], v[j]);
		fam[j] = nd == CLS_D4 ? 0 : nd == CLS_D6 ? 1 : 2;
		best[j] = NULL;
	}
	for (unsigned f = 0; f < 2; f++) {
		const struct plist *l = lists[f];
		for (uint32_t i = 0; l && i < l->n; i++) {
			unsigned na = 0, alive = 0;
			const struct tpart *p = l->e[i].p;
			for (unsigned j = 0; j < n; j++)
				if (fam[j] == f && (!best[j] || best[j]->prio <= l->e[i].maxprio)) {
					alive++;
					if (in_bbox(p, v[j], f ? CLS_D6 : CLS_D4))
						act[na++] = (uint8_t)j;
				}
			if (alive == 0)
				break; /* sorted: every key is decided */
			if (na == 0)
				continue;
			if (f == 0)
				part_walk_bulk(l->e[i].p, v, CLS_D4, ver, act, na, best);
			else
				part_walk_bulk(l->e[i].p, v, CLS_D6, ver, act, na, best);
		}
	}
	for (unsigned j = 0; j < n; j++) {
		if (best[j]) {
			set_match(&m[j], best[j]);
			hits++;
		} else {
			cls_match_none(&m[j]);
		}
	}
	return hits;
}

/* Below this size the trie stays in a core's L2: there are no misses to
 * overlap, and the lock-step walk's bookkeeping only costs. */
enum { BULK_MIN_BYTES = 1 << 20 };

/* A burst reads one snapshot, so that a published batch is seen by all of
 * its keys or by none. */
static unsigned lookup_bulk(const struct cls *c, const struct cls_key *const keys[], unsigned n,
			    struct cls_match *m)
{
	const struct plist *lists[2];
	uint64_t ver = snapshot(c, lists);
	unsigned hits = 0;

	if (atomic_load_explicit(&((struct cls *)c)->mem_bytes, memory_order_relaxed) <
	    BULK_MIN_BYTES) {
		for (unsigned i = 0; i < n; i++)
			hits += (unsigned)lookup_at(lists, ver, keys[i], &m[i]);
		return hits;
	}
	for (unsigned off = 0; off < n; off += CHUNK)
		hits += bulk_chunk(lists, ver, keys + off, n - off < CHUNK ? n - off : CHUNK,
				   m + off);
	return hits;
}

const struct trie_lookup_ops TRIE_LOOKUP_OPS = {
	.name = TRIE_LOOKUP_NAME,
	.lookup = lookup_one,
	.bulk = lookup_bulk,
};
