/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interval B+tree, writer side: predecessor search, insert and remove by
 * copying the touched nodes and publishing them with one pointer store.
 * Lookups are in trie_lookup.c.  See trie.h for the separator rule.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trie.h"

/* Keys are sorted: count until the first one above v. */
static unsigned cnt_le(const uint32_t *k, unsigned n, uint32_t v)
{
	unsigned c = 0;
	while (c < n && k[c] <= v)
		c++;
	return c;
}

static unsigned size_class(unsigned leaf, unsigned cap)
{
	if (!leaf)
		return BT_CLASSES - 1;
	return cap <= 1 ? 0 : cap <= 2 ? 1 : cap <= 4 ? 2 : cap <= 8 ? 3 : 4;
}

static struct bt_cache *cache_of(struct cls *c)
{
	return &((struct trie *)c->be)->cache;
}

static void bt_free_cb(struct cls *c, void *p)
{
	struct bt *b = p;
	struct bt_cache *k = cache_of(c);
	unsigned sc = size_class(b->leaf, b->cap);

	if (k->count[sc] < 64 + ((struct trie *)c->be)->nboxes / 64) {
		*(void **)p = k->head[sc]; /* still counted in mem_bytes: held */
		k->head[sc] = p;
		k->count[sc]++;
		return;
	}
	cls_mem_add(c, -(int64_t)bt_size(b->leaf, b->cap));
	free(b);
}

void bt_cache_fini(struct cls *c)
{
	struct bt_cache *k = cache_of(c);
	for (unsigned sc = 0; sc < BT_CLASSES; sc++) {
		void *p = k->head[sc], *next;
		/* the link overwrote the header: the class gives the size */
		size_t sz = sc == BT_CLASSES - 1 ? bt_size(0, BT_FAN) : bt_size(1, 1u << sc);
		for (; p; p = next) {
			next = *(void **)p;
			cls_mem_add(c, -(int64_t)sz);
			free(p);
		}
		k->head[sc] = NULL;
		k->count[sc] = 0;
	}
}

static struct bt *bt_alloc(struct cls *c, unsigned leaf, unsigned cap)
{
	struct bt_cache *k = cache_of(c);
	unsigned sc = size_class(leaf, cap);
	size_t sz = bt_size(leaf, cap);
	struct bt *b;

	if (k->head[sc]) {
		b = k->head[sc];
		k->head[sc] = *(void **)b;
		k->count[sc]--;
	} else {
		/* nodes larger than a line start on a line: fewer lines per visit */
		b = sz > 64 ? aligned_alloc(64, sz) : malloc(sz);
		if (b == NULL)
			return NULL;
		cls_mem_add(c, (int64_t)sz);
	}
	memset(b, 0, sizeof(*b));
	b->leaf = (uint8_t)leaf;
	b->cap = (uint8_t)cap;
	return b;
}

/* Free a node that no reader has seen. */
static void bt_drop(struct cls *c, struct bt *b)
{
	if (b)
		bt_free_cb(c, b);
}

/* Retire a node that readers may hold. */
void bt_retire_node(struct cls *c, struct bt *b)
{
	cls_retire(c, b, bt_size(b->leaf, b->cap), bt_free_cb);
}

static unsigned cap_for(unsigned n)
{
	unsigned cap = 1;
	while (cap < n)
		cap <<= 1;
	return cap;
}

/* Entry i of src (leaf or inner) copied to slot j of dst. */
static void copy_entry(struct bt *dst, unsigned j, const struct bt *src, unsigned i)
{
	dst->key[j] = src->key[i];
	if (src->leaf)
		bt_hi(dst)[j] = bt_hi(src)[i];
	atomic_store_explicit(&bt_ptr(dst)[j],
			      atomic_load_explicit(&bt_ptr(src)[i], memory_order_relaxed),
			      memory_order_relaxed);
}

static void set_entry(struct bt *dst, unsigned j, uint32_t key, uint32_t hi, uintptr_t p)
{
	dst->key[j] = key;
	if (dst->leaf)
		bt_hi(dst)[j] = hi;
	atomic_store_explicit(&bt_ptr(dst)[j], p, memory_order_relaxed);
}

static struct bt *bt_kid(const struct bt *b, unsigned i)
{
	return (struct bt *)atomic_load_explicit(&bt_ptr(b)[i], memory_order_relaxed);
}

struct bt *bt_new_single(struct cls *c, uint32_t lo, uint32_t hi, uintptr_t child)
{
	struct bt *b = bt_alloc(c, 1, 1);
	if (b) {
		b->n = 1;
		set_entry(b, 0, lo, hi, child);
	}
	return b;
}

int bt_pred(const struct bt *root, uint32_t x, struct bt_pos *pos)
{
	const struct bt *path[BT_MAXDEPTH];
	unsigned idx[BT_MAXDEPTH], depth = 0;
	const struct bt *b = root;

	if (b == NULL)
		return 0;
	for (;;) {
		while (!b->leaf) { /* inner key[0] is 0: the count is >= 1 */
			path[depth] = b;
			idx[depth] = cnt_le(b->key, b->n, x) - 1;
			b = bt_kid(b, idx[depth++]);
		}
		unsigned c = cnt_le(b->key, b->n, x);
		if (c > 0) {
			pos->leaf = (struct bt *)b;
			pos->idx = c - 1;
			return 1;
		}
		/* nothing <= x here: the predecessor is the last entry of the
		 * nearest subtree to the left (rare: separators are loose) */
		while (depth > 0 && idx[depth - 1] == 0)
			depth--;
		if (depth == 0)
			return 0;
		b = bt_kid(path[depth - 1], --idx[depth - 1]);
		while (!b->leaf)
			b = bt_kid(b, b->n - 1u);
		pos->leaf = (struct bt *)b;
		pos->idx = b->n - 1u;
		return 1;
	}
}

/* Publish a replacement: into the parent's kid slot or the tree's slot.
 * Release: the new node's contents are visible before the node is. */
static void publish(_Atomic uintptr_t *where, const void *node)
{
	atomic_store_explicit(where, (uintptr_t)node, memory_order_release);
}

int bt_insert(struct cls *c, _Atomic uintptr_t *slot, uint32_t lo, uint32_t hi,
	      uintptr_t child)
{
	struct bt *root = (struct bt *)atomic_load_explicit(slot, memory_order_relaxed);
	struct bt *path[BT_MAXDEPTH];
	unsigned pidx[BT_MAXDEPTH];
	unsigned depth = 0;

	if (root == NULL) {
		struct bt *b = bt_new_single(c, lo, hi, child);
		if (b == NULL)
			return -ENOMEM;
		publish(slot, b);
		return 0;
	}
	struct bt *b = root;
	while (!b->leaf) {
		unsigned i = cnt_le(b->key, b->n, lo) - 1;
		path[depth] = b;
		pidx[depth++] = i;
		b = bt_kid(b, i);
	}
	struct bt *leaf = b;
	unsigned pos = cnt_le(leaf->key, leaf->n, lo);

	if (c->reclaim.start == NULL && leaf->n < leaf->cap) {
		/* No hook: no reader runs during writer calls (classify.h), so a
		 * leaf with room takes the entry in place: no copy, no retire. */
		for (unsigned j = leaf->n; j > pos; j--)
			copy_entry(leaf, j, leaf, j - 1);
		set_entry(leaf, pos, lo, hi, child);
		leaf->n++;
		goto separators;
	}

	struct bt *fresh[2 * BT_MAXDEPTH + 2];
	unsigned nfresh = 0;

	/* New node(s) replacing `leaf`: one (room) or two (split). */
	struct bt *repl_l, *repl_r = NULL;
	uint32_t sep = 0;
	if (leaf->n < BT_FAN) {
		unsigned n = leaf->n + 1u;
		repl_l = bt_alloc(c, 1, n <= leaf->cap ? leaf->cap : cap_for(n));
		if (repl_l == NULL)
			return -ENOMEM;
		fresh[nfresh++] = repl_l;
		for (unsigned i = 0, j = 0; j < n; j++)
			if (j == pos)
				set_entry(repl_l, j, lo, hi, child);
			else
				copy_entry(repl_l, j, leaf, i++);
		repl_l->n = (uint8_t)n;
	} else {
		repl_l = bt_alloc(c, 1, BT_FAN);
		repl_r = bt_alloc(c, 1, BT_FAN);
		if (repl_l == NULL || repl_r == NULL) {
			bt_drop(c, repl_l);
			bt_drop(c, repl_r);
			return -ENOMEM;
		}
		fresh[nfresh++] = repl_l;
		fresh[nfresh++] = repl_r;
		unsigned n = BT_FAN + 1, half = n / 2;
		for (unsigned i = 0, j = 0; j < n; j++) {
			struct bt *dst = j < half ? repl_l : repl_r;
			unsigned k = j < half ? j : j - half;
			if (j == pos)
				set_entry(dst, k, lo, hi, child);
			else
				copy_entry(dst, k, leaf, i++);
		}
		repl_l->n = (uint8_t)half;
		repl_r->n = (uint8_t)(n - half);
		sep = repl_r->key[0];
	}

	/* Walk up while nodes split.  Invariant: repl_l (and repl_r with sep)
	 * replace the node at level `depth` (the leaf first). */
	struct bt *old = leaf;
	struct bt *retire_list[BT_MAXDEPTH + 1];
	unsigned nretire = 0;
	retire_list[nretire++] = leaf;
	while (repl_r != NULL && depth > 0) {
		struct bt *p = path[--depth];
		unsigned i = pidx[depth];
		unsigned n = p->n + 1u;
		struct bt *nl, *nr = NULL;
		if (n <= BT_FAN) {
			nl = bt_alloc(c, 0, BT_FAN);
			if (nl == NULL)
				goto nomem;
			fresh[nfresh++] = nl;
		} else {
			nl = bt_alloc(c, 0, BT_FAN);
			nr = bt_alloc(c, 0, BT_FAN);
			if (nl == NULL || nr == NULL) {
				bt_drop(c, nl);
				bt_drop(c, nr);
				goto nomem;
			}
			fresh[nfresh++] = nl;
			fresh[nfresh++] = nr;
		}
		/* the parent's kids with kid i replaced by repl_l and (sep, repl_r)
		 * inserted after it */
		uint32_t keys[BT_FAN + 1];
		uintptr_t kids[BT_FAN + 1];
		for (unsigned s = 0, d = 0; s < p->n; s++) {
			keys[d] = p->key[s];
			kids[d++] = s == i ? (uintptr_t)repl_l : (uintptr_t)bt_kid(p, s);
			if (s == i) {
				keys[d] = sep;
				kids[d++] = (uintptr_t)repl_r;
			}
		}
		if (nr == NULL) {
			for (unsigned j = 0; j < n; j++)
				set_entry(nl, j, keys[j], 0, kids[j]);
			nl->n = (uint8_t)n;
		} else {
			unsigned half = n / 2;
			for (unsigned j = 0; j < n; j++) {
				if (j < half)
					set_entry(nl, j, keys[j], 0, kids[j]);
				else
					set_entry(nr, j - half, keys[j], 0, kids[j]);
			}
			nl->n = (uint8_t)half;
			nr->n = (uint8_t)(n - half);
			sep = nr->key[0];
			nr->key[0] = 0; /* first kid of an inner node: sentinel */
		}
		retire_list[nretire++] = p;
		old = p;
		repl_l = nl;
		repl_r = nr;
	}
	if (repl_r != NULL) {
		/* the root split: a new root over the two halves */
		struct bt *nroot = bt_alloc(c, 0, BT_FAN);
		if (nroot == NULL)
			goto nomem;
		fresh[nfresh++] = nroot;
		set_entry(nroot, 0, 0, 0, (uintptr_t)repl_l);
		set_entry(nroot, 1, sep, 0, (uintptr_t)repl_r);
		nroot->n = 2;
		repl_l = nroot;
		depth = 0;
	}
	(void)old;
	if (depth == 0)
		publish(slot, repl_l);
	else
		publish(&bt_ptr(path[depth - 1])[pidx[depth - 1]], repl_l);
	for (unsigned i = 0; i < nretire; i++)
		bt_retire_node(c, retire_list[i]);

separators:
	/* Separators: the new interval may end at or past the separator to the
	 * right of the kid it went into; move that separator to hi + 1, which
	 * is still <= the next kid's smallest lo (no overlap).  One store per
	 * level; the new entry is not visible to lookups before cls_publish. */
	b = (struct bt *)atomic_load_explicit(slot, memory_order_relaxed);
	while (!b->leaf) {
		unsigned i = cnt_le(b->key, b->n, lo) - 1;
		if (i + 1 < b->n && b->key[i + 1] <= hi)
			__atomic_store_n(&b->key[i + 1], hi + 1, __ATOMIC_RELAXED);
		b = bt_kid(b, i);
	}
	return 0;

nomem:
	for (unsigned i = 0; i < nfresh; i++)
		bt_drop(c, fresh[i]);
	return -ENOMEM;
}

int bt_remove(struct cls *c, _Atomic uintptr_t *slot, uint32_t x)
{
	struct bt *root = (struct bt *)atomic_load_explicit(slot, memory_order_relaxed);
	struct bt *path[BT_MAXDEPTH];
	unsigned pidx[BT_MAXDEPTH];
	unsigned depth = 0;
	struct bt *b = root;

	while (!b->leaf) {
		unsigned i = cnt_le(b->key, b->n, x) - 1;
		path[depth] = b;
		pidx[depth++] = i;
		b = bt_kid(b, i);
	}
	unsigned idx = cnt_le(b->key, b->n, x) - 1; /* the caller knows it exists */
	struct bt *retire_list[BT_MAXDEPTH + 1];
	unsigned nretire = 0;
	struct bt *repl = NULL;

	retire_list[nretire++] = b;
	if (b->n > 1) {
		unsigned n = b->n - 1u;
		repl = bt_alloc(c, 1, cap_for(n));
		if (repl == NULL)
			return -ENOMEM;
		for (unsigned i = 0, j = 0; i < b->n; i++)
			if (i != idx)
				copy_entry(repl, j++, b, i);
		repl->n = (uint8_t)n;
	} else {
		/* the leaf empties: remove it from its parent, and so on up */
		while (depth > 0) {
			struct bt *p = path[--depth];
			unsigned i = pidx[depth];
			retire_list[nretire++] = p;
			if (p->n == 1)
				continue; /* empties too */
			if (p->n == 2 && depth == 0) {
				/* a root with one kid left: the kid is the root */
				repl = bt_kid(p, 1 - i);
				break;
			}
			repl = bt_alloc(c, 0, BT_FAN);
			if (repl == NULL)
				return -ENOMEM;
			for (unsigned s = 0, d = 0; s < p->n; s++)
				if (s != i)
					copy_entry(repl, d++, p, s);
			repl->n = (uint8_t)(p->n - 1);
			repl->key[0] = 0;
			break;
		}
	}
	if (depth == 0)
		publish(slot, repl);
	else
		publish(&bt_ptr(path[depth - 1])[pidx[depth - 1]], repl);
	for (unsigned i = 0; i < nretire; i++)
		bt_retire_node(c, retire_list[i]);
	return 0;
}

unsigned bt_entries(const struct bt *b)
{
	if (b->leaf)
		return b->n;
	unsigned n = 0;
	for (unsigned i = 0; i < b->n; i++)
		n += bt_entries(bt_kid(b, i));
	return n;
}

static void destroy_tree(struct cls *c, struct bt *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		uintptr_t p = atomic_load_explicit(&bt_ptr(b)[i], memory_order_relaxed);
		if (b->leaf)
			bt_destroy_trie(c, p);
		else
			destroy_tree(c, (struct bt *)p);
	}
	bt_free_cb(c, b);
}

void bt_destroy_trie(struct cls *c, uintptr_t child)
{
	if (child == 0 || tc_is_box(child))
		return;
	destroy_tree(c, (struct bt *)child);
}

static void count_tree(const struct bt *b, uint64_t *nodes, uint64_t *bytes)
{
	*nodes += 1;
	*bytes += bt_size(b->leaf, b->cap);
	for (unsigned i = 0; i < b->n; i++) {
		uintptr_t p = atomic_load_explicit(&bt_ptr(b)[i], memory_order_relaxed);
		if (b->leaf)
			bt_count(p, nodes, bytes);
		else
			count_tree((const struct bt *)p, nodes, bytes);
	}
}

void bt_count(uintptr_t child, uint64_t *nodes, uint64_t *bytes)
{
	if (child == 0 || tc_is_box(child))
		return;
	count_tree((const struct bt *)child, nodes, bytes);
}
