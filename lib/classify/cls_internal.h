/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLS_INTERNAL_H
#define CLS_INTERNAL_H

/*
 * Internals shared by the front end (classify.c), the reclamation queue
 * (reclaim.c) and the backends (trie*.c, linear.c).
 *
 * The front end owns rules: their copies, the id index, versions and the
 * staged lists.  A backend owns its lookup structure and is told, through
 * struct cls_backend_ops, when a staged rule must be linked, when a version
 * is published and when a deleted rule may be unlinked (a grace period after
 * the version that deleted it was published).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "classify.h"

#define CLS_LIKELY(x) __builtin_expect(!!(x), 1)
#define CLS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Dimensions: IPv4 uses 5 (sip, dip, sport, dport, proto); IPv6 splits each
 * address into four 32-bit words: 11. */
enum {
	CLS_D4 = 5,
	CLS_D6 = 11,
	CLS_MAXD = CLS_D6,
	CLS_MAX_BOXES_PER_RULE = 4096,
};

#define CLS_VERSION_NEVER UINT64_MAX

/* A rule as the front end keeps it; the backend keeps what it needs to
 * match it (r->be), so the front end holds no copy of the ranges. */
struct crule {
	uint32_t id;
	int32_t priority;
	void *udata;
	uint64_t add_v;          /* first version it is visible in */
	uint64_t del_v;          /* first version it is not; NEVER while alive */
	struct crule *id_next;   /* id index chain */
	struct crule *list_next; /* staged / deleted list */
	void *be;                /* backend's per-rule data (trie: its boxes) */
	uint8_t family;
	bool indexed;            /* reachable by id */
};

/* A box: one product of ranges, in the uint32 dimensions of its family. */
struct cls_boxspec {
	uint32_t lo[CLS_MAXD];
	uint32_t hi[CLS_MAXD];
};

/* Cut a valid rule into boxes.  Returns the count (>= 1) and in *out the
 * boxes: buf if they fit in bufn, else an array to free(); or -ENOMEM /
 * -EINVAL (too many boxes). */
int cls_rule_boxes(const struct cls_rule *r, struct cls_boxspec *buf, size_t bufn,
		   struct cls_boxspec **out);

/* Key to dimension values; returns the number of dimensions (0: bad family). */
static inline unsigned cls_key_dims(const struct cls_key *k, uint32_t *v)
{
	if (k->family == CLS_IPV4) {
		v[0] = k->src.v4;
		v[1] = k->dst.v4;
		v[2] = k->sport;
		v[3] = k->dport;
		v[4] = k->proto;
		return CLS_D4;
	}
	if (k->family == CLS_IPV6) {
		v[0] = (uint32_t)(k->src.v6.hi >> 32);
		v[1] = (uint32_t)k->src.v6.hi;
		v[2] = (uint32_t)(k->src.v6.lo >> 32);
		v[3] = (uint32_t)k->src.v6.lo;
		v[4] = (uint32_t)(k->dst.v6.hi >> 32);
		v[5] = (uint32_t)k->dst.v6.hi;
		v[6] = (uint32_t)(k->dst.v6.lo >> 32);
		v[7] = (uint32_t)k->dst.v6.lo;
		v[8] = k->sport;
		v[9] = k->dport;
		v[10] = k->proto;
		return CLS_D6;
	}
	return 0;
}

/* ---- reclamation queue (reclaim.c) ---- */

struct cls;
typedef void (*cls_retire_fn)(struct cls *c, void *p);

struct cls_retired {
	void *p;
	cls_retire_fn fn;    /* NULL: free(p) */
	uint64_t bytes;
	uint64_t token;
};

struct cls_reclaimq {
	struct cls_retired *items; /* ring buffer */
	size_t cap, head, count;
	size_t unsealed;           /* the last `unsealed` items wait for a token */
	uint64_t bytes;
};

/* Retire p: fn(c, p) (or free) runs once no reader can hold it.  Cannot
 * fail: if the queue cannot grow, waits for a grace period instead. */
void cls_retire(struct cls *c, void *p, uint64_t bytes, cls_retire_fn fn);
/* Give every item retired since the last seal one grace-period token. */
void cls_retire_seal(struct cls *c);
/* Run up to budget items whose grace period ended; with wait, wait for
 * each of them in turn. */
void cls_retire_poll(struct cls *c, bool wait, size_t budget);
void cls_reclaimq_fini(struct cls *c);

/* ---- backends ---- */

struct cls_backend_ops {
	const char *name;
	int (*init)(struct cls *c);
	void (*fini)(struct cls *c);
	/* Link a staged rule (r->add_v is the next version); all or nothing. */
	int (*link)(struct cls *c, struct crule *r, const struct cls_rule *rule);
	/* r->del_v was just set (staged deletion). */
	void (*mark_deleted)(struct cls *c, struct crule *r);
	/* Version v is being published.  added/deleted: the staged lists. */
	void (*publish)(struct cls *c, uint64_t v, struct crule *added, struct crule *deleted);
	/* A grace period has passed since r's deletion was published: remove it
	 * from the structure (retiring what readers may hold).  Returns 0, or
	 * -ENOMEM to be called again later. */
	int (*unlink)(struct cls *c, struct crule *r);
	/* cls_reclaim: give cached memory back to the allocator. */
	void (*trim)(struct cls *c);
	/* cls_free: release r's backend data (no readers are left). */
	void (*rule_fini)(struct cls *c, struct crule *r);
	int (*lookup)(const struct cls *c, const struct cls_key *k, struct cls_match *m);
	unsigned (*lookup_bulk)(const struct cls *c, const struct cls_key *const keys[],
				unsigned n, struct cls_match *m);
	void (*stats)(const struct cls *c, struct cls_stats *st);
	const char *(*simd_name)(const struct cls *c);
};

extern const struct cls_backend_ops cls_trie_ops;
extern const struct cls_backend_ops cls_linear_ops;

struct cls {
	const struct cls_backend_ops *ops;
	void *be;                        /* backend state */
	struct cls_reclaim reclaim;      /* start == NULL: no concurrent readers */
	_Atomic uint64_t version;        /* published version */

	/* id index: chained hash, writer only */
	struct crule **idx;
	size_t idx_mask, idx_count;

	struct crule *staged_add;        /* linked, not yet published */
	struct crule *staged_del;        /* del_v set, not yet published */
	uint32_t n_staged;
	uint32_t n_rules;                /* alive in the published version */

	struct crule *unlink_ready;      /* grace passed, unlink failed (ENOMEM): retry */

	struct cls_reclaimq rq;
	_Atomic uint64_t mem_bytes;      /* bytes allocated by the classifier */
};

static inline void cls_mem_add(struct cls *c, int64_t bytes)
{
	atomic_fetch_add_explicit(&c->mem_bytes, (uint64_t)bytes, memory_order_relaxed);
}

static inline uint64_t cls_version_load(const struct cls *c)
{
	/* Acquire: a reader that sees version v also sees every structure change
	 * made before v was published (pairs with the release in cls_publish). */
	return atomic_load_explicit(&((struct cls *)c)->version, memory_order_acquire);
}

static inline void cls_match_none(struct cls_match *m)
{
	m->id = CLS_NO_MATCH;
	m->priority = 0;
	m->udata = NULL;
}

#endif /* CLS_INTERNAL_H */
