/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLS_TRIE_H
#define CLS_TRIE_H

/*
 * The interval-trie backend's structures.
 *
 * Partition: a field order and a root "child".  A child is a tagged word:
 *   0                      nothing
 *   (struct bt *)          the interval tree of the next field (bit 0 clear)
 *   (struct tbox *) | 1    a chain of identical boxes (bit 0 set)
 *
 * struct bt is one node of a B+tree of disjoint intervals [lo, hi] of one
 * field, sorted by lo.  Leaves hold (lo, hi, child); inner nodes hold
 * (separator, kid).  Separator rule: key[0] of an inner node is 0 and for
 * j >= 1 maxhi(kid j-1) < key[j] <= minlo(kid j).  Any value in that gap
 * works, which is what lets a delete leave separators alone and an insert fix
 * one by a single store.  A point lookup descends to kid (#keys <= v) - 1 and
 * never needs to look left: an interval left of the separator ends before it.
 *
 * Changes copy the one leaf (and, on a split, the inner nodes) they touch and
 * publish it with one pointer store; replaced nodes are retired (reclaim.c).
 * Words that change in place while readers run — child pointers (release /
 * acquire), del_v, bounding boxes and separators (relaxed) — are single
 * aligned words, so a reader sees the old or the new value, never a mix.
 * The separators are read by vector loads in the lookup, which the C memory
 * model cannot annotate; a data-race checker will name them.
 */

#include <stdint.h>

#include "cls_internal.h"

enum {
	BT_FAN = 16,
	BT_MAXDEPTH = 12, /* 16^8 entries is more than any tree will hold */
};

struct bt {
	uint8_t leaf;
	uint8_t n;   /* entries (leaf) or kids (inner) */
	uint8_t cap; /* array capacity: 1, 2, 4, 8 or 16; inner nodes: 16 */
	uint8_t pad[5];
	uint32_t key[]; /* cap keys; leaf: then cap his; then cap child words */
};

static inline uint32_t *bt_hi(const struct bt *b)
{
	return (uint32_t *)b->key + b->cap;
}

static inline _Atomic uintptr_t *bt_ptr(const struct bt *b)
{
	return (_Atomic uintptr_t *)(void *)((uint32_t *)b->key + b->cap * (b->leaf ? 2u : 1u));
}

static inline size_t bt_size(unsigned leaf, unsigned cap)
{
	size_t sz = sizeof(struct bt) + cap * (leaf ? 8u : 4u) + cap * sizeof(uintptr_t);
	return sz > 64 ? (sz + 63) & ~(size_t)63 : sz; /* as allocated */
}

#define TC_BOX ((uintptr_t)1)

static inline int tc_is_box(uintptr_t c)
{
	return (int)(c & TC_BOX);
}

struct tpart;

/* One box of a rule.  The fields a lookup reads come first. */
struct tbox {
	uint64_t add_v, del_v;             /* copies of the rule's versions */
	void *udata;
	_Atomic(struct tbox *) dup_next;   /* next identical box, priority order */
	struct tpart *part;
	int32_t prio;
	uint32_t id;
	uint32_t r[];                      /* lo, hi per dimension (family order) */
};

static inline struct tbox *tc_box(uintptr_t c)
{
	return (struct tbox *)(c & ~TC_BOX);
}

static inline size_t tbox_size(unsigned nd)
{
	return (sizeof(struct tbox) + 8u * nd + 7u) & ~(size_t)7u;
}

struct tpart {
	/* Bounding box of every box placed here (it only grows): a key outside
	 * it skips the partition.  Written before the version publishing the
	 * box that widened it. */
	uint32_t bb_lo[CLS_MAXD], bb_hi[CLS_MAXD];
	_Atomic uintptr_t root;
	uint8_t order[CLS_MAXD]; /* order[level] = dimension */
	uint8_t nd;
	int32_t maxprio;         /* upper bound of the priorities inside */
	uint32_t nboxes;
	uint32_t seq;            /* creation order, breaks maxprio ties */
};

struct plist_ent {
	const struct tpart *p;
	int32_t maxprio;
};

/* The search order of one family's partitions, replaced as a whole. */
struct plist {
	uint32_t n;
	struct plist_ent e[];
};

struct tfam {
	_Atomic(struct plist *) parts;
	unsigned nd;
};

/* Recycled tree nodes by size class (leaf caps 1..16, inner): churn would
 * otherwise spend a third of its time in malloc and free.  Each class holds
 * at most 64 + boxes / 64 nodes, so the cache stays small beside the trie. */
enum { BT_CLASSES = 6 };
struct bt_cache {
	void *head[BT_CLASSES];
	uint32_t count[BT_CLASSES];
};

struct trie {
	struct tfam fam[2]; /* [0] IPv4, [1] IPv6 */
	struct bt_cache cache;
	struct plist *spare; /* a search-order list ready to fill: see fam_place */
	uint32_t spare_cap;
	uint32_t nboxes;
	uint32_t next_seq;
	const struct trie_lookup_ops *lk;
};

/* Per rule: its boxes, stored right after the struct crule. */
struct trule {
	uint32_t nboxes;
	uint32_t stride;
	unsigned char boxes[]; /* nboxes * stride bytes of struct tbox */
};

static inline struct tbox *trule_box(struct trule *t, unsigned i)
{
	return (struct tbox *)(void *)(t->boxes + (size_t)i * t->stride);
}

/* Lookup code, compiled once per instruction set (trie_lookup.c). */
struct trie_lookup_ops {
	const char *name;
	int (*lookup)(const struct cls *c, const struct cls_key *k, struct cls_match *m);
	unsigned (*bulk)(const struct cls *c, const struct cls_key *const keys[], unsigned n,
			 struct cls_match *m);
};

extern const struct trie_lookup_ops trie_lookup_scalar;
#ifdef CLS_HAVE_AVX512
extern const struct trie_lookup_ops trie_lookup_avx512;
#endif

/* ---- interval B+tree, writer side (itree.c) ---- */

/* Where an entry lives: its leaf and index; slot is the entry's child word. */
struct bt_pos {
	struct bt *leaf;
	unsigned idx;
};

/* The entry with the largest lo <= x (exact, looking left if needed).
 * Returns 1 and *pos, or 0 if none. */
int bt_pred(const struct bt *root, uint32_t x, struct bt_pos *pos);

/* Insert [lo, hi] -> child into the tree in *slot (which may be 0: a new
 * tree).  The caller guarantees no entry overlaps.  Publishes with one
 * store-release into *slot or into an inner node.  All or nothing:
 * returns 0 or -ENOMEM. */
int bt_insert(struct cls *c, _Atomic uintptr_t *slot, uint32_t lo, uint32_t hi,
	      uintptr_t child);

/* Remove the entry whose interval contains x.  The tree in *slot becomes the
 * new tree, 0 if it is now empty.  Returns 0 or -ENOMEM (nothing changed). */
int bt_remove(struct cls *c, _Atomic uintptr_t *slot, uint32_t x);

/* Retire one node (readers may still hold it). */
void bt_retire_node(struct cls *c, struct bt *b);

/* Build a one-entry leaf; NULL on ENOMEM. */
struct bt *bt_new_single(struct cls *c, uint32_t lo, uint32_t hi, uintptr_t child);

/* Release the node cache (cls_free). */
void bt_cache_fini(struct cls *c);

/* Free a whole (sub)trie now (no readers): trees and nothing else. */
void bt_destroy_trie(struct cls *c, uintptr_t child);

/* Counting for stats. */
void bt_count(uintptr_t child, uint64_t *nodes, uint64_t *bytes);

/* Total number of entries of a tree (walks it). */
unsigned bt_entries(const struct bt *b);

#endif /* CLS_TRIE_H */
