/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Front end: rule validation and copies, the id index, versions, staged
 * changes and the hand-off to a backend.  See classify.h for the design.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cls_internal.h"

enum { PUBLISH_RECLAIM_BUDGET = 32 };

/* ---------------------------------------------------------------- rules */

static int ip6_cmp(struct cls_ip6 a, struct cls_ip6 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

int cls_rule_check(const struct cls_rule *r, const char **why)
{
	const char *w = NULL;

	if (r == NULL)
		w = "no rule";
	else if (r->family != CLS_IPV4 && r->family != CLS_IPV6)
		w = "unknown address family";
	else if (r->sport_lo > r->sport_hi)
		w = "source port range is empty (lo > hi)";
	else if (r->dport_lo > r->dport_hi)
		w = "destination port range is empty (lo > hi)";
	else if (r->id == CLS_NO_MATCH)
		w = "id 4294967295 is reserved";
	else if (r->family == CLS_IPV4 && r->src_lo.v4 > r->src_hi.v4)
		w = "source address range is empty (lo > hi)";
	else if (r->family == CLS_IPV4 && r->dst_lo.v4 > r->dst_hi.v4)
		w = "destination address range is empty (lo > hi)";
	else if (r->family == CLS_IPV6 && ip6_cmp(r->src_lo.v6, r->src_hi.v6) > 0)
		w = "source address range is empty (lo > hi)";
	else if (r->family == CLS_IPV6 && ip6_cmp(r->dst_lo.v6, r->dst_hi.v6) > 0)
		w = "destination address range is empty (lo > hi)";
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

bool cls_rule_matches(const struct cls_rule *r, const struct cls_key *k)
{
	if (r->family != k->family)
		return false;
	if (k->sport < r->sport_lo || k->sport > r->sport_hi)
		return false;
	if (k->dport < r->dport_lo || k->dport > r->dport_hi)
		return false;
	if ((k->proto & r->proto_mask) != (r->proto & r->proto_mask))
		return false;
	if (r->family == CLS_IPV4)
		return k->src.v4 >= r->src_lo.v4 && k->src.v4 <= r->src_hi.v4 &&
		       k->dst.v4 >= r->dst_lo.v4 && k->dst.v4 <= r->dst_hi.v4;
	return ip6_cmp(k->src.v6, r->src_lo.v6) >= 0 && ip6_cmp(k->src.v6, r->src_hi.v6) <= 0 &&
	       ip6_cmp(k->dst.v6, r->dst_lo.v6) >= 0 && ip6_cmp(k->dst.v6, r->dst_hi.v6) <= 0;
}

/* ------------------------------------------------------------ boxes */

/* A range of 128-bit values as boxes over four 32-bit words. */
struct w4box {
	uint32_t lo[4], hi[4];
};

static void w4_from(struct cls_ip6 a, uint32_t w[4])
{
	w[0] = (uint32_t)(a.hi >> 32);
	w[1] = (uint32_t)a.hi;
	w[2] = (uint32_t)(a.lo >> 32);
	w[3] = (uint32_t)a.lo;
}

static bool w_all(const uint32_t *w, unsigned n, uint32_t val)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i] != val)
			return false;
	return true;
}

/*
 * Boxes covering exactly the words lo[d..4) .. hi[d..4) (lexicographic),
 * with prefix words [0..d) given in `pre`.  Appends to out; at most 7 boxes
 * for a 4-word range, 1 for a prefix.
 */
static unsigned w4_decompose(const uint32_t *lo, const uint32_t *hi, unsigned d,
			     struct w4box pre, struct w4box *out)
{
	unsigned n = 0;

	if (d == 4) {
		out[0] = pre;
		return 1;
	}
	if (lo[d] == hi[d]) {
		pre.lo[d] = pre.hi[d] = lo[d];
		return w4_decompose(lo, hi, d + 1, pre, out);
	}
	bool lo_min = w_all(lo + d + 1, 3 - d, 0);
	bool hi_max = w_all(hi + d + 1, 3 - d, UINT32_MAX);
	uint32_t mid_lo = lo_min ? lo[d] : lo[d] + 1;
	uint32_t mid_hi = hi_max ? hi[d] : hi[d] - 1;

	if (!lo_min) {
		/* word d == lo[d], rest in [lo.rest, max] */
		uint32_t maxw[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
		struct w4box p = pre;
		p.lo[d] = p.hi[d] = lo[d];
		n += w4_decompose(lo, maxw, d + 1, p, out + n);
	}
	if (mid_lo <= mid_hi) {
		struct w4box p = pre;
		p.lo[d] = mid_lo;
		p.hi[d] = mid_hi;
		for (unsigned i = d + 1; i < 4; i++) {
			p.lo[i] = 0;
			p.hi[i] = UINT32_MAX;
		}
		out[n++] = p;
	}
	if (!hi_max) {
		uint32_t minw[4] = {0, 0, 0, 0};
		struct w4box p = pre;
		p.lo[d] = p.hi[d] = hi[d];
		n += w4_decompose(minw, hi, d + 1, p, out + n);
	}
	return n;
}

/* Maximal runs of protocol values v with (v & mask) == (proto & mask). */
static unsigned proto_runs(uint8_t proto, uint8_t mask, uint32_t lo[128], uint32_t hi[128])
{
	unsigned n = 0;
	int start = -1;

	/* the usual masks: any, exact, or leading ones (one run) */
	if ((uint8_t)(mask | (mask - 1)) == 0xFF || mask == 0) {
		lo[0] = proto & mask;
		hi[0] = (uint32_t)(proto & mask) | (uint8_t)~mask;
		return 1;
	}
	for (int v = 0; v <= 256; v++) {
		bool in = v < 256 && ((v & mask) == (proto & mask));
		if (in && start < 0)
			start = v;
		if (!in && start >= 0) {
			lo[n] = (uint32_t)start;
			hi[n] = (uint32_t)v - 1;
			n++;
			start = -1;
		}
	}
	return n;
}

int cls_rule_boxes(const struct cls_rule *r, struct cls_boxspec *buf, size_t bufn,
		   struct cls_boxspec **out)
{
	struct w4box src[8], dst[8];
	unsigned ns = 1, nd = 1;
	uint32_t plo[128], phi[128];
	unsigned np = proto_runs(r->proto, r->proto_mask, plo, phi);

	if (r->family == CLS_IPV6) {
		uint32_t lo[4], hi[4];
		struct w4box pre = {{0}, {0}};
		w4_from(r->src_lo.v6, lo);
		w4_from(r->src_hi.v6, hi);
		ns = w4_decompose(lo, hi, 0, pre, src);
		w4_from(r->dst_lo.v6, lo);
		w4_from(r->dst_hi.v6, hi);
		nd = w4_decompose(lo, hi, 0, pre, dst);
	}
	size_t total = (size_t)ns * nd * np;
	if (total > CLS_MAX_BOXES_PER_RULE)
		return -EINVAL;
	struct cls_boxspec *b = total <= bufn ? buf : malloc(total * sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	size_t k = 0;
	for (unsigned i = 0; i < ns; i++)
		for (unsigned j = 0; j < nd; j++)
			for (unsigned p = 0; p < np; p++, k++) {
				struct cls_boxspec *x = &b[k];
				if (r->family == CLS_IPV4) {
					x->lo[0] = r->src_lo.v4;
					x->hi[0] = r->src_hi.v4;
					x->lo[1] = r->dst_lo.v4;
					x->hi[1] = r->dst_hi.v4;
					x->lo[2] = r->sport_lo;
					x->hi[2] = r->sport_hi;
					x->lo[3] = r->dport_lo;
					x->hi[3] = r->dport_hi;
					x->lo[4] = plo[p];
					x->hi[4] = phi[p];
				} else {
					memcpy(x->lo, src[i].lo, 16);
					memcpy(x->hi, src[i].hi, 16);
					memcpy(x->lo + 4, dst[j].lo, 16);
					memcpy(x->hi + 4, dst[j].hi, 16);
					x->lo[8] = r->sport_lo;
					x->hi[8] = r->sport_hi;
					x->lo[9] = r->dport_lo;
					x->hi[9] = r->dport_hi;
					x->lo[10] = plo[p];
					x->hi[10] = phi[p];
				}
			}
	*out = b;
	return (int)total;
}

/* ------------------------------------------------------------ id index */

static size_t id_hash(uint32_t id, size_t mask)
{
	return (size_t)((id * 0x9E3779B1u) >> 7) & mask;
}

static struct crule *idx_find(const struct cls *c, uint32_t id)
{
	for (struct crule *r = c->idx[id_hash(id, c->idx_mask)]; r; r = r->id_next)
		if (r->id == id)
			return r;
	return NULL;
}

static int idx_grow(struct cls *c)
{
	size_t n = (c->idx_mask + 1) * 2;
	struct crule **t = calloc(n, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= c->idx_mask; i++) {
		struct crule *r = c->idx[i], *next;
		for (; r; r = next) {
			next = r->id_next;
			size_t h = id_hash(r->id, n - 1);
			r->id_next = t[h];
			t[h] = r;
		}
	}
	cls_mem_add(c, (int64_t)((n - c->idx_mask - 1) * sizeof(*t)));
	free(c->idx);
	c->idx = t;
	c->idx_mask = n - 1;
	return 0;
}

static void idx_add(struct cls *c, struct crule *r)
{
	size_t h = id_hash(r->id, c->idx_mask);
	r->id_next = c->idx[h];
	c->idx[h] = r;
	r->indexed = true;
	c->idx_count++;
}

static void idx_remove(struct cls *c, struct crule *r)
{
	struct crule **pp = &c->idx[id_hash(r->id, c->idx_mask)];
	while (*pp != r)
		pp = &(*pp)->id_next;
	*pp = r->id_next;
	r->indexed = false;
	c->idx_count--;
}

/* ------------------------------------------------------------ life cycle */

int cls_create(const struct cls_config *cfg, struct cls **out)
{
	if (cfg == NULL || out == NULL)
		return -EINVAL;
	const struct cls_backend_ops *ops;
	switch (cfg->backend) {
	case CLS_BACKEND_TRIE:
		ops = &cls_trie_ops;
		break;
	case CLS_BACKEND_LINEAR:
		ops = &cls_linear_ops;
		break;
	default:
		return -EINVAL;
	}
	if (cfg->reclaim && (cfg->reclaim->start == NULL || cfg->reclaim->done == NULL))
		return -EINVAL;
	struct cls *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->ops = ops;
	if (cfg->reclaim)
		c->reclaim = *cfg->reclaim;
	c->idx_mask = 1023;
	c->idx = calloc(c->idx_mask + 1, sizeof(*c->idx));
	if (c->idx == NULL) {
		free(c);
		return -ENOMEM;
	}
	cls_mem_add(c, (int64_t)(sizeof(*c) + (c->idx_mask + 1) * sizeof(*c->idx)));
	int rc = ops->init(c);
	if (rc < 0) {
		free(c->idx);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void free_rule(struct cls *c, void *p)
{
	(void)c;
	free(p);
}

void cls_free(struct cls *c)
{
	if (c == NULL)
		return;
	/* No reader is left: run every retired item now, unlinking the deleted
	 * rules still linked, before the structures go. */
	cls_reclaimq_fini(c);
	c->ops->fini(c); /* frees backend structures */
	for (size_t i = 0; i <= c->idx_mask; i++) {
		struct crule *r = c->idx[i], *next;
		for (; r; r = next) {
			next = r->id_next;
			c->ops->rule_fini(c, r);
			free(r);
		}
	}
	/* deleted rules not yet freed are on these lists, never in the index */
	struct crule *lists[] = {c->staged_del, c->unlink_ready};
	for (unsigned l = 0; l < 2; l++) {
		struct crule *r = lists[l], *next;
		for (; r; r = next) {
			next = r->list_next;
			if (!r->indexed) {
				c->ops->rule_fini(c, r);
				free(r);
			}
		}
	}
	free(c->idx);
	free(c);
}

/* ------------------------------------------------------------ writers */

static int stage_insert(struct cls *c, const struct cls_rule *rule)
{
	int rc = cls_rule_check(rule, NULL);
	if (rc < 0)
		return rc;
	if (idx_find(c, rule->id))
		return -EEXIST;
	if (c->idx_count >= c->idx_mask && (rc = idx_grow(c)) < 0)
		return rc;
	struct crule *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->id = rule->id;
	r->priority = rule->priority;
	r->udata = rule->udata;
	r->family = rule->family;
	r->add_v = atomic_load_explicit(&c->version, memory_order_relaxed) + 1;
	r->del_v = CLS_VERSION_NEVER;
	rc = c->ops->link(c, r, rule);
	if (rc < 0) {
		free(r);
		return rc;
	}
	cls_mem_add(c, sizeof(*r));
	idx_add(c, r);
	r->list_next = c->staged_add;
	c->staged_add = r;
	c->n_staged++;
	return 0;
}

int cls_insert(struct cls *c, const struct cls_rule *rule)
{
	if (c == NULL || rule == NULL)
		return -EINVAL;
	int rc = stage_insert(c, rule);
	cls_retire_seal(c);
	return rc;
}

/* Unlink r from a singly linked staged list. */
static void list_remove(struct crule **head, struct crule *r)
{
	while (*head != r)
		head = &(*head)->list_next;
	*head = r->list_next;
}

int cls_delete(struct cls *c, uint32_t id)
{
	if (c == NULL)
		return -EINVAL;
	struct crule *r = idx_find(c, id);
	if (r == NULL)
		return -ENOENT;
	uint64_t next = atomic_load_explicit(&c->version, memory_order_relaxed) + 1;
	idx_remove(c, r);
	if (r->add_v == next) {
		/* never published: cancel; it is invisible at every version */
		list_remove(&c->staged_add, r);
		c->n_staged--;
		r->del_v = r->add_v;
	} else {
		r->del_v = next;
		c->n_staged++;
	}
	c->ops->mark_deleted(c, r);
	r->list_next = c->staged_del;
	c->staged_del = r;
	return 0;
}

/*
 * A deleted rule is unlinked from the backend once a grace period has passed
 * since the version that deleted it was published: it rides the retire
 * queue (cls_retire in cls_publish, after the version store), so every batch
 * keeps its own grace-period token.  Unlinking retires what readers may still
 * hold, and finally the rule itself.  If the backend runs out of memory, the
 * rule waits on unlink_ready for the next writer call.
 */
static void unlink_rule(struct cls *c, struct crule *r)
{
	if (c->ops->unlink(c, r) < 0) {
		r->list_next = c->unlink_ready;
		c->unlink_ready = r;
		return;
	}
	cls_mem_add(c, -(int64_t)sizeof(*r));
	cls_retire(c, r, 0, free_rule);
}

static void unlink_cb(struct cls *c, void *p)
{
	unlink_rule(c, p);
}

static void retry_unlinks(struct cls *c)
{
	struct crule *r = c->unlink_ready, *next;
	c->unlink_ready = NULL;
	for (; r; r = next) {
		next = r->list_next;
		unlink_rule(c, r);
	}
}

/* Hand every rule of the list to the retire queue for unlinking. */
static void retire_deleted(struct cls *c, struct crule *list)
{
	struct crule *next;
	for (; list; list = next) {
		next = list->list_next;
		list->list_next = NULL;
		cls_retire(c, list, 0, unlink_cb);
	}
}

int cls_publish(struct cls *c)
{
	if (c == NULL)
		return -EINVAL;
	uint64_t v = atomic_load_explicit(&c->version, memory_order_relaxed) + 1;
	unsigned added = 0, deleted = 0;

	for (struct crule *r = c->staged_add; r; r = r->list_next)
		added++;
	for (struct crule *r = c->staged_del; r; r = r->list_next)
		deleted += r->add_v != r->del_v;
	c->ops->publish(c, v, c->staged_add, c->staged_del);
	/* Release: every link made for this version (and every del_v) is
	 * visible to a reader that reads version >= v (cls_version_load). */
	atomic_store_explicit(&c->version, v, memory_order_release);
	c->n_rules += added;
	c->n_rules -= deleted;
	c->staged_add = NULL;
	c->n_staged = 0;
	/* the seal below takes the grace token after the version store */
	retire_deleted(c, c->staged_del);
	c->staged_del = NULL;
	retry_unlinks(c);
	cls_retire_seal(c);
	/* Bounded: when a reader's quiescent report ends many grace periods at
	 * once, the backlog is spread over the next calls instead of landing on
	 * one (p99 latency).  Each call runs more items than one update
	 * retires, so the queue still drains. */
	cls_retire_poll(c, false, PUBLISH_RECLAIM_BUDGET);
	cls_retire_seal(c); /* what the unlinks just retired */
	return 0;
}

int cls_insert_batch(struct cls *c, const struct cls_rule *rules, size_t n, size_t *failed)
{
	if (c == NULL || (rules == NULL && n > 0))
		return -EINVAL;
	if (c->staged_add || c->staged_del)
		return -EBUSY;
	for (size_t i = 0; i < n; i++) {
		int rc = stage_insert(c, &rules[i]);
		if (rc < 0) {
			if (failed)
				*failed = i;
			/* cancel what this batch staged; nothing was published */
			while (c->staged_add) {
				int drc = cls_delete(c, c->staged_add->id);
				(void)drc; /* staged rules are indexed: cannot fail */
			}
			/* the cancelled rules are invisible at every version: unlink
			 * them after a grace period like any deleted rule */
			retire_deleted(c, c->staged_del);
			c->staged_del = NULL;
			c->n_staged = 0;
			cls_retire_seal(c);
			return rc;
		}
	}
	int rc = cls_publish(c);
	/* A build leaves replaced nodes behind: run what the grace periods
	 * allow now (a batch is not latency bound) and give the cache back. */
	cls_retire_poll(c, false, SIZE_MAX);
	cls_retire_seal(c);
	c->ops->trim(c);
	return rc;
}

uint64_t cls_reclaim(struct cls *c, bool wait)
{
	if (c == NULL)
		return 0;
	retry_unlinks(c);
	cls_retire_seal(c);
	do {
		cls_retire_poll(c, wait, SIZE_MAX);
		cls_retire_seal(c); /* unlinking retires more */
	} while (wait && c->rq.count > 0);
	if (wait)
		c->ops->trim(c); /* everything retired is gone: give caches back */
	return c->rq.bytes;
}

/* ------------------------------------------------------------ readers */

int cls_lookup(const struct cls *c, const struct cls_key *key, struct cls_match *m)
{
	return c->ops->lookup(c, key, m);
}

unsigned cls_lookup_bulk(const struct cls *c, const struct cls_key *const keys[], unsigned n,
			 struct cls_match *m)
{
	return c->ops->lookup_bulk(c, keys, n, m);
}

void cls_stats(const struct cls *c, struct cls_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->rules = c->n_rules;
	st->staged = c->n_staged;
	st->memory_bytes = atomic_load_explicit(&((struct cls *)c)->mem_bytes,
						memory_order_relaxed);
	st->retired_bytes = c->rq.bytes;
	st->version = cls_version_load(c);
	c->ops->stats(c, st);
}

const char *cls_backend_name(const struct cls *c)
{
	return c->ops->name;
}

const char *cls_simd_name(const struct cls *c)
{
	return c->ops->simd_name(c);
}
