/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reference backend: every published version is an immutable array of
 * the rules alive in it, sorted by (priority desc, id asc); a lookup scans it
 * and returns the first rule that matches (cls_rule_matches, the definition).
 * Publishing builds the next array and swaps one pointer; the version travels
 * inside the array, so a reader's answer always comes from one version.
 * Simple on purpose: it is the oracle the tests compare everything with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cls_internal.h"

/* One rule of a published array, laid out for a tight scan (IPv4 ranges
 * inline; IPv6 rules are matched through their copy). */
struct lin_ent {
	uint32_t slo, shi, dlo, dhi;
	uint16_t splo, sphi, dplo, dphi;
	uint8_t family, proto, mask;
	const struct cls_rule *rule; /* the backend's copy (crule->be) */
	const struct crule *cr;      /* writer only: its versions */
};

struct lin_array {
	uint64_t version;
	size_t n;
	struct lin_ent e[];
};

struct lin {
	_Atomic(struct lin_array *) cur;
};

static int lin_init(struct cls *c)
{
	struct lin *l = calloc(1, sizeof(*l));
	struct lin_array *a = calloc(1, sizeof(*a));
	if (l == NULL || a == NULL) {
		free(l);
		free(a);
		return -ENOMEM;
	}
	atomic_init(&l->cur, a);
	c->be = l;
	cls_mem_add(c, sizeof(*l) + sizeof(*a));
	return 0;
}

static void lin_fini(struct cls *c)
{
	struct lin *l = c->be;
	free(atomic_load(&l->cur));
	free(l);
}

static int lin_link(struct cls *c, struct crule *r, const struct cls_rule *rule)
{
	struct cls_rule *copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return -ENOMEM;
	*copy = *rule;
	r->be = copy; /* joins the array at publish */
	cls_mem_add(c, sizeof(*copy));
	return 0;
}

static void lin_mark_deleted(struct cls *c, struct crule *r)
{
	(void)c;
	(void)r;
}

static int ent_order(const void *a, const void *b)
{
	const struct cls_rule *x = ((const struct lin_ent *)a)->rule;
	const struct cls_rule *y = ((const struct lin_ent *)b)->rule;
	if (cls_rule_beats(x->priority, x->id, y->priority, y->id))
		return -1;
	if (cls_rule_beats(y->priority, y->id, x->priority, x->id))
		return 1;
	return 0;
}

static void ent_fill(struct lin_ent *e, const struct crule *cr)
{
	const struct cls_rule *r = cr->be;

	memset(e, 0, sizeof(*e));
	e->family = r->family;
	e->proto = r->proto & r->proto_mask;
	e->mask = r->proto_mask;
	e->splo = r->sport_lo;
	e->sphi = r->sport_hi;
	e->dplo = r->dport_lo;
	e->dphi = r->dport_hi;
	if (r->family == CLS_IPV4) {
		e->slo = r->src_lo.v4;
		e->shi = r->src_hi.v4;
		e->dlo = r->dst_lo.v4;
		e->dhi = r->dst_hi.v4;
	}
	e->rule = r;
	e->cr = cr;
}

static void free_array(struct cls *c, void *p)
{
	struct lin_array *a = p;
	cls_mem_add(c, -(int64_t)(sizeof(*a) + a->n * sizeof(a->e[0])));
	free(p);
}

/* The next array: the rules of the current one still alive in v, plus the
 * added ones, sorted by (priority desc, id asc). */
static void lin_publish(struct cls *c, uint64_t v, struct crule *added, struct crule *deleted)
{
	struct lin *l = c->be;
	struct lin_array *old = atomic_load_explicit(&l->cur, memory_order_relaxed);
	size_t n = 0;

	(void)deleted;
	for (struct crule *r = added; r; r = r->list_next)
		n++;
	for (size_t i = 0; i < old->n; i++)
		n += old->e[i].cr->del_v > v;
	struct lin_array *a = malloc(sizeof(*a) + n * sizeof(a->e[0]));
	while (a == NULL) /* publishing cannot fail: wait for memory */
		a = malloc(sizeof(*a) + n * sizeof(a->e[0]));
	a->version = v;
	a->n = 0;
	for (size_t i = 0; i < old->n; i++)
		if (old->e[i].cr->del_v > v)
			a->e[a->n++] = old->e[i];
	for (struct crule *r = added; r; r = r->list_next)
		ent_fill(&a->e[a->n++], r);
	qsort(a->e, a->n, sizeof(a->e[0]), ent_order);
	cls_mem_add(c, (int64_t)(sizeof(*a) + a->n * sizeof(a->e[0])));
	/* Release: the array's contents are complete before readers see it. */
	atomic_store_explicit(&l->cur, a, memory_order_release);
	cls_retire(c, old, 0, free_array);
}

static void free_copy(struct cls *c, void *p)
{
	cls_mem_add(c, -(int64_t)sizeof(struct cls_rule));
	free(p);
}

static int lin_unlink(struct cls *c, struct crule *r)
{
	/* left the array when its deletion was published; readers of older
	 * arrays may still read the copy */
	cls_retire(c, r->be, 0, free_copy);
	r->be = NULL;
	return 0;
}

static void lin_trim(struct cls *c)
{
	(void)c;
}

static void lin_rule_fini(struct cls *c, struct crule *r)
{
	(void)c;
	free(r->be);
	r->be = NULL;
}

/* The first rule of array a (one published version) matching k. */
static int lin_lookup_in(const struct lin_array *a, const struct cls_key *k, struct cls_match *m)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct lin_ent *e = &a->e[i];
		bool hit;
		if (k->family != e->family)
			continue;
		if (k->family == CLS_IPV4)
			hit = k->src.v4 >= e->slo && k->src.v4 <= e->shi && k->dst.v4 >= e->dlo &&
			      k->dst.v4 <= e->dhi && k->sport >= e->splo && k->sport <= e->sphi &&
			      k->dport >= e->dplo && k->dport <= e->dphi &&
			      (k->proto & e->mask) == e->proto;
		else
			hit = cls_rule_matches(e->rule, k);
		if (hit) {
			m->id = e->rule->id;
			m->priority = e->rule->priority;
			m->udata = e->rule->udata;
			return 1;
		}
	}
	cls_match_none(m);
	return 0;
}

static const struct lin_array *lin_current(const struct cls *c)
{
	/* Acquire: pairs with the release in lin_publish. */
	return atomic_load_explicit(&((struct lin *)c->be)->cur, memory_order_acquire);
}

static int lin_lookup(const struct cls *c, const struct cls_key *k, struct cls_match *m)
{
	return lin_lookup_in(lin_current(c), k, m);
}

static unsigned lin_lookup_bulk(const struct cls *c, const struct cls_key *const keys[],
				unsigned n, struct cls_match *m)
{
	const struct lin_array *a = lin_current(c); /* one version for the burst */
	unsigned hits = 0;
	for (unsigned i = 0; i < n; i++)
		hits += (unsigned)lin_lookup_in(a, keys[i], &m[i]);
	return hits;
}

static void lin_stats(const struct cls *c, struct cls_stats *st)
{
	(void)c;
	st->boxes = st->rules;
}

static const char *lin_simd(const struct cls *c)
{
	(void)c;
	return "scalar";
}

const struct cls_backend_ops cls_linear_ops = {
	.name = "linear",
	.init = lin_init,
	.fini = lin_fini,
	.link = lin_link,
	.mark_deleted = lin_mark_deleted,
	.publish = lin_publish,
	.unlink = lin_unlink,
	.rule_fini = lin_rule_fini,
	.trim = lin_trim,
	.lookup = lin_lookup,
	.lookup_bulk = lin_lookup_bulk,
	.stats = lin_stats,
	.simd_name = lin_simd,
};
