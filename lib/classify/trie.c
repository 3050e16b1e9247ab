/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The interval-trie backend, writer side: partitions, placing boxes into
 * them and taking boxes out.  Lookups are in trie_lookup.c.
 *
 * Placing a box b in partition p walks p's trie along p's field order:
 *  - at a tree level, the interval of b on that field either equals an
 *    existing interval (descend into it), overlaps one without being equal
 *    (b does not fit in p), or touches none (add it here: done);
 *  - at a box chain e, find the first remaining field where b and e differ:
 *    if there is none, b joins e's chain; if their intervals there are
 *    disjoint, replace the chain by a small trie holding both; otherwise b
 *    does not fit.
 * Every decision is made before anything is changed, so a box that does not
 * fit leaves p untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trie.h"

static struct tfam *fam_of(struct trie *t, uint8_t family)
{
	return &t->fam[family == CLS_IPV6];
}

static inline bool overlap(uint32_t alo, uint32_t ahi, uint32_t blo, uint32_t bhi)
{
	return alo <= bhi && blo <= ahi;
}

static uintptr_t load_child(_Atomic uintptr_t *slot)
{
	return atomic_load_explicit(slot, memory_order_relaxed);
}

/* Insert b into the priority-ordered chain starting at *slot (tagged). */
static void chain_insert(_Atomic uintptr_t *slot, struct tbox *b)
{
	struct tbox *head = tc_box(load_child(slot));

	if (cls_rule_beats(b->prio, b->id, head->prio, head->id)) {
		atomic_store_explicit(&b->dup_next, head, memory_order_relaxed);
		/* Release: b's fields are set before readers can reach b. */
		atomic_store_explicit(slot, (uintptr_t)b | TC_BOX, memory_order_release);
		return;
	}
	struct tbox *prev = head, *next;
	while ((next = atomic_load_explicit(&prev->dup_next, memory_order_relaxed)) &&
	       !cls_rule_beats(b->prio, b->id, next->prio, next->id))
		prev = next;
	atomic_store_explicit(&b->dup_next, next, memory_order_relaxed);
	atomic_store_explicit(&prev->dup_next, b, memory_order_release); /* as above */
}

/*
 * A trie for levels [level, l] holding e and b, which are equal on the
 * fields of levels [level, l) and disjoint on the field of level l.
 * Returns it (not yet published) or NULL on ENOMEM.
 */
static struct bt *pair_trie(struct cls *c, const struct tpart *p, unsigned level, unsigned l,
			    struct tbox *e, struct tbox *b)
{
	unsigned d = p->order[l];
	struct bt *node;
	bool b_first = b->r[2 * d] < e->r[2 * d];
	struct tbox *x = b_first ? b : e, *y = b_first ? e : b;

	node = bt_new_single(c, x->r[2 * d], x->r[2 * d + 1], (uintptr_t)x | TC_BOX);
	if (node == NULL)
		return NULL;
	_Atomic uintptr_t tmp = (uintptr_t)node;
	if (bt_insert(c, &tmp, y->r[2 * d], y->r[2 * d + 1], (uintptr_t)y | TC_BOX) < 0) {
		bt_destroy_trie(c, load_child(&tmp));
		return NULL;
	}
	node = (struct bt *)load_child(&tmp);
	/* the unchanged single-entry leaf bt_insert replaced is unseen: nothing
	 * else to do (it went through the retire queue, harmless) */
	for (unsigned k = l; k-- > level;) {
		d = p->order[k];
		struct bt *up = bt_new_single(c, e->r[2 * d], e->r[2 * d + 1], (uintptr_t)node);
		if (up == NULL) {
			bt_destroy_trie(c, (uintptr_t)node);
			return NULL;
		}
		node = up;
	}
	return node;
}

/* Try to place b in p.  Returns 0 (placed), 1 (does not fit) or -ENOMEM. */
static int part_place(struct cls *c, struct tpart *p, struct tbox *b)
{
	_Atomic uintptr_t *slot = &p->root;
	unsigned level = 0;

	for (;;) {
		uintptr_t ch = load_child(slot);
		if (ch == 0) { /* an empty partition */
			atomic_store_explicit(slot, (uintptr_t)b | TC_BOX, memory_order_release);
			return 0;
		}
		if (tc_is_box(ch)) {
			struct tbox *e = tc_box(ch);
			unsigned l = level;
			for (; l < p->nd; l++) {
				unsigned d = p->order[l];
				if (e->r[2 * d] != b->r[2 * d] || e->r[2 * d + 1] != b->r[2 * d + 1])
					break;
			}
			if (l == p->nd) {
				chain_insert(slot, b);
				return 0;
			}
			unsigned d = p->order[l];
			if (overlap(e->r[2 * d], e->r[2 * d + 1], b->r[2 * d], b->r[2 * d + 1]))
				return 1;
			struct bt *t = pair_trie(c, p, level, l, e, b);
			if (t == NULL)
				return -ENOMEM;
			/* Release: the new trie is complete before it is reachable. */
			atomic_store_explicit(slot, (uintptr_t)t, memory_order_release);
			return 0;
		}
		unsigned d = p->order[level];
		uint32_t lo = b->r[2 * d], hi = b->r[2 * d + 1];
		struct bt_pos pos;
		if (bt_pred((const struct bt *)ch, hi, &pos) &&
		    bt_hi(pos.leaf)[pos.idx] >= lo) {
			if (pos.leaf->key[pos.idx] != lo || bt_hi(pos.leaf)[pos.idx] != hi)
				return 1; /* crosses an interval */
			slot = &bt_ptr(pos.leaf)[pos.idx];
			level++;
			continue;
		}
		return bt_insert(c, slot, lo, hi, (uintptr_t)b | TC_BOX);
	}
}

/* ---------------------------------------------------------- partitions */

static int plist_cmp(const void *a, const void *b)
{
	const struct plist_ent *x = a, *y = b;
	if (x->maxprio != y->maxprio)
		return x->maxprio > y->maxprio ? -1 : 1;
	return x->p->seq < y->p->seq ? -1 : x->p->seq > y->p->seq;
}

static void free_plist(struct cls *c, void *p)
{
	struct plist *l = p;
	cls_mem_add(c, -(int64_t)(sizeof(*l) + l->n * sizeof(l->e[0])));
	free(l);
}

static size_t plist_bytes(uint32_t n)
{
	return sizeof(struct plist) + n * sizeof(struct plist_ent);
}

/*
 * Publish a new search order for f into `l` (allocated by the caller with
 * room for every partition, so that this cannot fail): the current
 * partitions with their current maxprio, plus `add`, minus `drop`.
 */
static void plist_publish(struct cls *c, struct tfam *f, struct plist *l, struct tpart *add,
			  struct tpart *drop)
{
	struct plist *old = atomic_load_explicit(&f->parts, memory_order_relaxed);

	l->n = 0;
	for (uint32_t i = 0; old && i < old->n; i++)
		if (old->e[i].p != drop) {
			l->e[l->n].p = old->e[i].p;
			l->e[l->n++].maxprio = old->e[i].p->maxprio;
		}
	if (add) {
		l->e[l->n].p = add;
		l->e[l->n++].maxprio = add->maxprio;
	}
	qsort(l->e, l->n, sizeof(l->e[0]), plist_cmp);
	if (l->n == 0) { /* no partitions: no list */
		free(l);
		l = NULL;
	} else {
		cls_mem_add(c, (int64_t)plist_bytes(l->n));
	}
	/* Release: the list is complete before readers can load it. */
	atomic_store_explicit(&f->parts, l, memory_order_release);
	if (old)
		cls_retire(c, old, 0, free_plist);
}

static uint32_t plist_len(const struct tfam *f)
{
	const struct plist *l = atomic_load_explicit(&((struct tfam *)f)->parts,
						     memory_order_relaxed);
	return l ? l->n : 0;
}

/* Relative width of a box's range on dimension d: 0 exact .. 1 everything. */
static double width(const struct tbox *b, unsigned d, unsigned nd)
{
	double span = (double)(b->r[2 * d + 1] - b->r[2 * d]) + 1.0;
	double full = d == nd - 1 ? 256.0 : (nd == CLS_D4 && (d == 2 || d == 3)) ? 65536.0 :
		      (nd == CLS_D6 && (d == 8 || d == 9)) ? 65536.0 : 4294967296.0;
	return span / full;
}

/*
 * Field order of a new partition, from its first box: fields where the box is
 * narrowest first, so that later boxes are told apart early; the protocol
 * (few distinct values) and fields the box leaves open go last.
 */
static void choose_order(struct tpart *p, const struct tbox *b, unsigned nd)
{
	double w[CLS_MAXD];

	for (unsigned d = 0; d < nd; d++) {
		p->order[d] = (uint8_t)d;
		w[d] = width(b, d, nd);
		if (d == nd - 1)
			w[d] += 2.0; /* protocol after every address and port */
		if (width(b, d, nd) >= 1.0)
			w[d] += 4.0; /* wildcards last */
	}
	for (unsigned i = 1; i < nd; i++) /* insertion sort, stable */
		for (unsigned j = i; j > 0 && w[p->order[j]] < w[p->order[j - 1]]; j--) {
			uint8_t t = p->order[j];
			p->order[j] = p->order[j - 1];
			p->order[j - 1] = t;
		}
	p->nd = (uint8_t)nd;
}

static void free_part(struct cls *c, void *p)
{
	cls_mem_add(c, -(int64_t)sizeof(struct tpart));
	free(p);
}

static void bbox_grow(struct tpart *p, const struct tbox *b)
{
	for (unsigned d = 0; d < p->nd; d++) {
		if (b->r[2 * d] < p->bb_lo[d])
			__atomic_store_n(&p->bb_lo[d], b->r[2 * d], __ATOMIC_RELAXED);
		if (b->r[2 * d + 1] > p->bb_hi[d])
			__atomic_store_n(&p->bb_hi[d], b->r[2 * d + 1], __ATOMIC_RELAXED);
	}
}

/*
 * Place b in the first partition of f (in search order) it fits in, or in a
 * new one.  The next search order is allocated first, so nothing can fail
 * once b is placed.
 */
static int fam_place(struct cls *c, struct tfam *f, struct tbox *b)
{
	struct trie *t = c->be;
	const struct plist *l = atomic_load_explicit(&f->parts, memory_order_relaxed);
	struct plist *next = t->spare;

	/* the next search order, allocated before anything changes (and kept
	 * for the next call when unused: most placements need none) */
	if (next == NULL || t->spare_cap < plist_len(f) + 1) {
		uint32_t cap = plist_len(f) + 8;
		free(next);
		t->spare = NULL;
		next = malloc(plist_bytes(cap));
		if (next == NULL)
			return -ENOMEM;
		t->spare = next;
		t->spare_cap = cap;
	}
	for (uint32_t i = 0; l && i < l->n; i++) {
		struct tpart *p = (struct tpart *)l->e[i].p;
		int rc = part_place(c, p, b);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			b->part = p;
			p->nboxes++;
			bbox_grow(p, b);
			if (b->prio > p->maxprio) {
				/* the bound readers prune with must hold before the
				 * version publishing b: raise it and re-sort */
				p->maxprio = b->prio;
				t->spare = NULL;
				plist_publish(c, f, next, NULL, NULL);
			}
			return 0;
		}
	}
	struct tpart *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	choose_order(p, b, f->nd);
	for (unsigned d = 0; d < f->nd; d++) {
		p->bb_lo[d] = b->r[2 * d];
		p->bb_hi[d] = b->r[2 * d + 1];
	}
	p->maxprio = b->prio;
	p->seq = t->next_seq++;
	p->nboxes = 1;
	atomic_init(&p->root, (uintptr_t)b | TC_BOX);
	b->part = p;
	cls_mem_add(c, sizeof(*p));
	t->spare = NULL;
	plist_publish(c, f, next, p, NULL);
	return 0;
}

/* ------------------------------------------------------------ unlink */

struct upath {
	_Atomic uintptr_t *slot; /* the word holding this level's tree */
	uint32_t x;              /* the box's lo on this level's field */
};

/* Take b out of its partition.  Returns 0 or -ENOMEM (nothing changed). */
static int part_unlink(struct cls *c, struct tfam *f, struct tbox *b)
{
	struct tpart *p = b->part;
	struct upath path[CLS_MAXD];
	unsigned depth = 0;
	_Atomic uintptr_t *slot = &p->root;

	for (;;) {
		uintptr_t ch = load_child(slot);
		if (ch == 0 || tc_is_box(ch))
			break; /* 0: an earlier attempt emptied this level (ENOMEM above) */
		unsigned d = p->order[depth];
		struct bt_pos pos;
		int found = bt_pred((const struct bt *)ch, b->r[2 * d], &pos);
		(void)found; /* b is in p: its interval is there */
		path[depth].slot = slot;
		path[depth].x = b->r[2 * d];
		depth++;
		slot = &bt_ptr(pos.leaf)[pos.idx];
	}
	struct tbox *head = tc_box(load_child(slot));
	struct tbox *next = atomic_load_explicit(&b->dup_next, memory_order_relaxed);
	if (head != NULL && (head != b || next != NULL)) {
		/* others share the chain: unlink b from it */
		if (head == b) {
			atomic_store_explicit(slot, (uintptr_t)next | TC_BOX, memory_order_release);
		} else {
			struct tbox *prev = head;
			while (atomic_load_explicit(&prev->dup_next, memory_order_relaxed) != b)
				prev = atomic_load_explicit(&prev->dup_next, memory_order_relaxed);
			atomic_store_explicit(&prev->dup_next, next, memory_order_release);
		}
	} else if (depth == 0) {
		/* b was the whole partition */
		atomic_store_explicit(&p->root, 0, memory_order_release);
	} else {
		/* b was alone: remove its interval, and every tree that empties */
		while (depth > 0) {
			depth--;
			int rc = bt_remove(c, path[depth].slot, path[depth].x);
			if (rc < 0)
				return rc; /* only the first removal can fail before a
					    * change: deeper ones emptied their leaf */
			if (load_child(path[depth].slot) != 0)
				break;
		}
		/* A tree left with one entry that leads to a box chain is the chain:
		 * collapse it, level by level upwards, to keep lookups short. */
		while (true) {
			uintptr_t ch = load_child(path[depth].slot);
			if (ch == 0 || tc_is_box(ch))
				break;
			struct bt *t = (struct bt *)ch;
			if (!t->leaf || t->n != 1)
				break;
			uintptr_t only = atomic_load_explicit(&bt_ptr(t)[0], memory_order_relaxed);
			if (!tc_is_box(only))
				break;
			atomic_store_explicit(path[depth].slot, only, memory_order_release);
			bt_retire_node(c, t);
			if (depth == 0)
				break;
			depth--;
		}
	}
	p->nboxes--;
	if (p->nboxes == 0) {
		struct plist *nl = malloc(plist_bytes(plist_len(f)));
		if (nl != NULL) {
			plist_publish(c, f, nl, NULL, p);
			cls_retire(c, p, 0, free_part);
		}
		/* on ENOMEM the empty partition stays listed: harmless, and a
		 * later box may fill it */
	}
	return 0;
}

/* ------------------------------------------------------------ backend ops */

static int trie_init(struct cls *c)
{
	struct trie *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->fam[0].nd = CLS_D4;
	t->fam[1].nd = CLS_D6;
	t->lk = &trie_lookup_scalar;
#ifdef CLS_HAVE_AVX512
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && getenv("NC_CLS_SCALAR") == NULL)
		t->lk = &trie_lookup_avx512;
#endif
	c->be = t;
	cls_mem_add(c, sizeof(*t));
	return 0;
}

static void trie_fini(struct cls *c)
{
	struct trie *t = c->be;
	free(t->spare);
	for (unsigned i = 0; i < 2; i++) {
		struct plist *l = atomic_load(&t->fam[i].parts);
		for (uint32_t j = 0; l && j < l->n; j++) {
			struct tpart *p = (struct tpart *)l->e[j].p;
			bt_destroy_trie(c, atomic_load(&p->root));
			free(p);
		}
		free(l);
	}
	bt_cache_fini(c);
	free(t);
}

static void free_trule(struct trule *tr)
{
	free(tr);
}

static int trie_link(struct cls *c, struct crule *r, const struct cls_rule *rule)
{
	struct trie *t = c->be;
	struct tfam *f = fam_of(t, rule->family);
	struct cls_boxspec one, *specs;
	int n = cls_rule_boxes(rule, &one, 1, &specs);

	if (n < 0)
		return n;
	size_t stride = tbox_size(f->nd);
	size_t sz = sizeof(struct trule) + (size_t)n * stride;
	struct trule *tr = malloc(sz);
	if (tr == NULL) {
		if (specs != &one)
			free(specs);
		return -ENOMEM;
	}
	memset(tr, 0, sz);
	tr->nboxes = (uint32_t)n;
	tr->stride = (uint32_t)stride;
	for (int i = 0; i < n; i++) {
		struct tbox *b = trule_box(tr, (unsigned)i);
		b->add_v = r->add_v;
		b->del_v = r->del_v;
		b->udata = r->udata;
		b->prio = r->priority;
		b->id = r->id;
		for (unsigned d = 0; d < f->nd; d++) {
			b->r[2 * d] = specs[i].lo[d];
			b->r[2 * d + 1] = specs[i].hi[d];
		}
	}
	if (specs != &one)
		free(specs);
	for (int i = 0; i < n; i++) {
		int rc = fam_place(c, f, trule_box(tr, (unsigned)i));
		if (rc < 0) {
			/* take back the boxes placed so far; they are invisible */
			while (i-- > 0) {
				int urc = part_unlink(c, f, trule_box(tr, (unsigned)i));
				(void)urc; /* see cls_trie_unlink's retry: rare, and the
					    * box stays invisible if it fails */
			}
			free_trule(tr);
			return rc;
		}
	}
	r->be = tr;
	t->nboxes += (uint32_t)n;
	cls_mem_add(c, (int64_t)sz);
	return 0;
}

static void trie_mark_deleted(struct cls *c, struct crule *r)
{
	struct trule *tr = r->be;
	(void)c;
	for (unsigned i = 0; i < tr->nboxes; i++)
		/* Readers compare del_v with the version they read; the value
		 * only matters once cls_publish releases the new version. */
		__atomic_store_n(&trule_box(tr, i)->del_v, r->del_v, __ATOMIC_RELAXED);
}

static void trie_publish(struct cls *c, uint64_t v, struct crule *added, struct crule *deleted)
{
	(void)c;
	(void)v;
	(void)added;
	(void)deleted;
}

static void trule_free_cb(struct cls *c, void *p)
{
	struct trule *tr = p;
	cls_mem_add(c, -(int64_t)(sizeof(*tr) + (size_t)tr->nboxes * tr->stride));
	free_trule(tr);
}

static int trie_unlink(struct cls *c, struct crule *r)
{
	struct trie *t = c->be;
	struct tfam *f = fam_of(t, r->family);
	struct trule *tr = r->be;

	/* boxes already unlinked (an earlier attempt ran out of memory) have
	 * part == NULL */
	for (unsigned i = 0; i < tr->nboxes; i++) {
		struct tbox *b = trule_box(tr, i);
		if (b->part == NULL)
			continue;
		int rc = part_unlink(c, f, b);
		if (rc < 0)
			return rc;
		b->part = NULL;
		t->nboxes--;
	}
	cls_retire(c, tr, 0, trule_free_cb);
	r->be = NULL;
	return 0;
}

static void trie_rule_fini(struct cls *c, struct crule *r)
{
	(void)c;
	free_trule(r->be);
	r->be = NULL;
}

static void trie_trim(struct cls *c)
{
	bt_cache_fini(c); /* counted memory goes with it */
}

static void trie_stats(const struct cls *c, struct cls_stats *st)
{
	const struct trie *t = c->be;
	for (unsigned i = 0; i < 2; i++) {
		const struct plist *l = atomic_load_explicit(&((struct trie *)t)->fam[i].parts,
							     memory_order_acquire);
		st->partitions += l ? l->n : 0;
	}
	st->boxes = t->nboxes;
}

static int trie_lookup(const struct cls *c, const struct cls_key *k, struct cls_match *m)
{
	return ((const struct trie *)c->be)->lk->lookup(c, k, m);
}

static unsigned trie_bulk(const struct cls *c, const struct cls_key *const keys[], unsigned n,
			  struct cls_match *m)
{
	return ((const struct trie *)c->be)->lk->bulk(c, keys, n, m);
}

static const char *trie_simd(const struct cls *c)
{
	return ((const struct trie *)c->be)->lk->name;
}

const struct cls_backend_ops cls_trie_ops = {
	.name = "trie",
	.init = trie_init,
	.fini = trie_fini,
	.link = trie_link,
	.mark_deleted = trie_mark_deleted,
	.publish = trie_publish,
	.unlink = trie_unlink,
	.rule_fini = trie_rule_fini,
	.trim = trie_trim,
	.lookup = trie_lookup,
	.lookup_bulk = trie_bulk,
	.stats = trie_stats,
	.simd_name = trie_simd,
};
