/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table: see nc_flow.h for the contract.
 *
 * Layout
 * ------
 *   buckets[nb + ov]  64 bytes each: 10 x {16-bit signature, 32-bit unit
 *                 index + 1} and the index + 1 of an overflow bucket.
 *                 nb = ceil(capacity / 6) (not a power of two: the bucket is
 *                 (hash * nb) >> 32), so a full table holds 6 keys per
 *                 10-slot bucket on average (~1 % of keys then sit in an
 *                 overflow bucket; the bulk lookup prefetches it in a second
 *                 stage, so they cost no serial miss); the ov = nb / 4 + 64 overflow
 *                 buckets are linked where a bucket is full and unlinked
 *                 (after a grace period) when they empty again.
 *   entries       64-byte lines, each holding one wide entry or two compact
 *                 ones; a 32-byte half is a "unit" and a bucket slot names a
 *                 unit.  Lines live in segments of up to 16384 (1 MiB),
 *                 allocated as the table grows: memory follows the number of
 *                 lines ever in use, at most nents (= capacity + the grace
 *                 headroom).
 *
 *   compact (32 B, IPv4 keys):  meta | src,dst | value | last_seen:32 | timeout:32
 *   wide    (64 B, any key):    meta | src:128 | dst:128 | value | last_seen | timeout
 *   meta = sport | dport << 16 | zone << 32 | proto << 48 | tag << 56
 *
 * The tag tells a unit's kind and state: compact IPv4, wide IPv4, wide IPv6,
 * the same with DEAD (removed, awaiting its grace period), or FREE.  It is
 * part of the compared key word, so a reader can never match a dead or free
 * unit.  An IPv4 key is stored compact when its times fit (now < 2^32 and
 * timeout < 2^32 - 1 or UINT64_MAX, unless NC_FLOW_F_WIDE), wide otherwise;
 * a lookup of an IPv4 key accepts either.
 *
 * Units are allocated by lines: a compact entry takes a free half of a line
 * whose other half is used (the "singles" list, doubly linked through the
 * free halves), else a free line (its other half becomes a single), else a
 * new line; a wide entry takes a free line or a new one.  Freeing the second
 * half of a line turns it back into a free line, so lines in use never
 * exceed live + dead entries.  The free lists are kept inside the free
 * units, which no reader can reach.
 *
 * Concurrency (one writer at a time, lock-free readers)
 * -----------------------------------------------------
 * Insert: the writer fills a unit, then the slot's signature, then
 * publishes the slot's index with a release store; a reader loads the index
 * with acquire before it reads the entry.  A new overflow bucket is zeroed
 * before its index is published (release) in the last bucket of the chain.
 * Delete: the writer clears the slot's index (release) and stores the DEAD
 * tag in the entry's meta word; readers that loaded the index earlier may
 * still read the entry, so it is only reused (and its value handed to
 * free_value) after a grace period of cfg.qsbr.  Removed entries wait in a
 * FIFO linked through their address word (the word after meta), in batches
 * of up to 32 sharing one token of rte_rcu_qsbr_start(); that word is
 * written only after the DEAD tag and a release fence, and a reader checks
 * after its compare (acquire fence) that meta is unchanged, so a reader that
 * saw the link also sees DEAD and misses: no compare can mix a key with a
 * link.  Value, last_seen and timeout of a dead entry stay as they were
 * until it is reused.  Signatures are only a filter: a match always ends in
 * a full key compare on an entry reached through an acquire load, so a
 * reader racing with a slot's reuse may miss a key being added or removed,
 * never return a wrong one.
 *
 * Object flows (nc_flow_objects) have no unit: the slot's index is
 * SLOT_OBJ | object << 1 | which, the key is made by the caller's callback
 * and compared like an entry's (obj_match), and removal hands the object
 * to free_value at once (no QSBR: no reader can be comparing with it).
 * Expiry walks units only, so it never sees them; iteration walks the
 * buckets after the units.
 *
 * Memory at 10 M IPv4 keys: 32 B entry + 10.7 B primary buckets + 2.7 B
 * overflow pool + segment rounding: 46 B/key in ncbench flow, 45.5 B/key
 * (91 B per session of two keys) in ncbench nat before its keys became
 * object flows (13.4 B/key, 27 B/session); the all-64-byte layout before
 * took 99 B/key (198 B/session).
 * Load 7 (1.6 B/key less; before the overflow prefetch) measured 10-25 %
 * lower bulk lookup rates; load 4 (+7 B/key) was no faster than 6.
 */
#include "flow_int.h"

/* ---------------------------------------------------------------- units */

static inline struct cent *unit_c(const struct nc_flow *t, uint32_t u)
{
	return unit_ptr(t, u);
}

static void single_push(struct nc_flow *t, uint32_t u)
{
	struct cent *c = unit_c(t, u);

	c->meta = (uint64_t)TAG_FREE << 56;
	c->addrs = t->singles; /* next; prev (high half) NIL */
	if (t->singles != NIL) {
		struct cent *n = unit_c(t, t->singles - 1);

		n->addrs = (uint32_t)n->addrs | (uint64_t)(u + 1) << 32;
	}
	t->singles = u + 1;
}

static void single_unlink(struct nc_flow *t, uint32_t u)
{
	struct cent *c = unit_c(t, u);
	uint32_t next = (uint32_t)c->addrs, prev = (uint32_t)(c->addrs >> 32);

	if (prev != NIL) {
		struct cent *p = unit_c(t, prev - 1);

		p->addrs = (p->addrs & 0xffffffff00000000ULL) | next;
	} else {
		t->singles = next;
	}
	if (next != NIL) {
		struct cent *n = unit_c(t, next - 1);

		n->addrs = (uint32_t)n->addrs | (uint64_t)prev << 32;
	}
}

static void line_push(struct nc_flow *t, uint32_t l)
{
	struct cent *c = unit_c(t, 2 * l);

	c[0].meta = (uint64_t)TAG_FREE << 56;
	c[1].meta = (uint64_t)TAG_FREE << 56;
	c[0].addrs = t->free_lines;
	t->free_lines = l + 1;
}

/* A new line from the never-used part, allocating its segment if needed.
 * UINT32_MAX if none (line limit or no memory). */
static uint32_t line_new(struct nc_flow *t)
{
	uint32_t l = t->hw, s = (2 * l) >> t->seg_ushift;

	if (l >= t->nents)
		return UINT32_MAX;
	if (t->segs[s] == NULL) {
		size_t bytes = (size_t)32 << t->seg_ushift;
		void *m = rte_malloc_socket("nc_flow_e", bytes, RTE_CACHE_LINE_SIZE, t->socket);

		if (m == NULL)
			return UINT32_MAX;
		/* Readers reach it only through slots published later. */
		__atomic_store_n(&t->segs[s], m, __ATOMIC_RELEASE);
	}
	t->hw++;
	return l;
}

/* A unit for an entry of the given layout; UINT32_MAX if none. */
static uint32_t unit_alloc(struct nc_flow *t, bool wide)
{
	uint32_t l;

	/* Each pop prefetches what the next allocation will read: the list
	 * heads are freed units, long cold by the time they are reused. */
	if (!wide && t->singles != NIL) {
		uint32_t u = t->singles - 1;

		single_unlink(t, u);
		if (t->singles != NIL) { /* just written: its next is the one after */
			uint32_t nn = (uint32_t)unit_c(t, t->singles - 1)->addrs;

			if (nn != NIL)
				rte_prefetch0(unit_c(t, nn - 1));
		}
		return u;
	}
	if (t->free_lines != NIL) {
		l = t->free_lines - 1;
		t->free_lines = (uint32_t)unit_c(t, 2 * l)->addrs;
		if (t->free_lines != NIL)
			rte_prefetch0(unit_c(t, 2 * (t->free_lines - 1)));
	} else if ((l = line_new(t)) == UINT32_MAX) {
		return UINT32_MAX;
	}
	if (!wide)
		single_push(t, 2 * l + 1);
	return 2 * l;
}

/* Unit u (its entry dead, past its grace period or without readers) becomes
 * free; a line whose two halves are free goes back to the line list. */
static void unit_free(struct nc_flow *t, uint32_t u, bool wide)
{
	if (!wide) {
		uint32_t buddy = u ^ 1u;

		if (META_TAG(unit_c(t, buddy)->meta) != TAG_FREE) {
			single_push(t, u);
			return;
		}
		single_unlink(t, buddy);
	}
	line_push(t, u / 2);
}

/* ---------------------------------------------------------------- reclamation */

/* Ring positions (indexes stay below size, so counters never wrap). */
static inline uint32_t ring_next(uint32_t i, uint32_t size)
{
	return i + 1 == size ? 0 : i + 1;
}

static inline uint32_t ring_at(uint32_t head, uint32_t k, uint32_t size)
{
	uint64_t i = (uint64_t)head + k;

	return (uint32_t)(i >= size ? i - size : i);
}

static void ent_release(struct nc_flow *t, uint32_t u)
{
	void *e = unit_ptr(t, u);
	bool wide = ent_wide(e);

	if (t->free_value != NULL)
		t->free_value(ent_value(e, wide), t->free_ctx);
	t->dead--;
	unit_free(t, u, wide);
}

/* Free up to max removed entries (and unlinked overflow buckets) whose grace
 * period is over. */
static void reclaim(struct nc_flow *t, uint32_t max)
{
	while (t->ov_rq_n > 0) {
		struct ovret *r = &t->ov_rq[t->ov_rq_head];

		if (rte_rcu_qsbr_check(t->qsbr, r->token, false) != 1)
			break;
		t->ov_free[t->ov_free_top++] = r->b;
		t->ov_rq_head = ring_next(t->ov_rq_head, t->ov_rq_size);
		t->ov_rq_n--;
	}
	while (max > 0 && t->bq_n > 0) {
		struct batch *bt = &t->bq[t->bq_head];

		if (rte_rcu_qsbr_check(t->qsbr, bt->token, false) != 1)
			break;
		while (max > 0 && bt->n > 0) {
			uint32_t u = t->rq_first - 1;

			t->rq_first = (uint32_t)unit_c(t, u)->addrs;
			if (t->rq_first == NIL)
				t->rq_last = NIL;
			ent_release(t, u);
			bt->n--;
			max--;
		}
		if (bt->n == 0) {
			t->bq_head = ring_next(t->bq_head, t->bq_size);
			t->bq_n--;
		}
	}
}

/* Entry e at unit u leaves the table: DEAD tag, then the FIFO. */
static void retire(struct nc_flow *t, uint32_t u, void *e)
{
	uint64_t m = meta_load(e);

	__atomic_store_n(&((struct cent *)e)->meta, m | (uint64_t)TAG_DEAD << 56,
			 __ATOMIC_RELAXED);
	t->dead++;
	if (t->qsbr == NULL) {
		ent_release(t, u); /* the caller promised: no reader runs */
		return;
	}
	/* The DEAD tag is visible before any link overwrites the key's address
	 * word (ent_match() rechecks meta). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&((struct cent *)e)->addrs, (uint64_t)NIL, __ATOMIC_RELAXED);
	if (t->rq_last != NIL)
		__atomic_store_n(&unit_c(t, t->rq_last - 1)->addrs, (uint64_t)(u + 1),
				 __ATOMIC_RELAXED);
	else
		t->rq_first = u + 1;
	t->rq_last = u + 1;

	uint64_t token = rte_rcu_qsbr_start(t->qsbr);
	struct batch *last =
		t->bq_n > 0 ? &t->bq[ring_at(t->bq_head, t->bq_n - 1, t->bq_size)] : NULL;

	/* A later token also covers the batch's earlier entries. */
	if (last != NULL && last->n < RBATCH) {
		last->token = token;
		last->n++;
	} else {
		/* Batches but the first and last are full: bq_size suffices. */
		t->bq[ring_at(t->bq_head, t->bq_n, t->bq_size)] = (struct batch){token, 1};
		t->bq_n++;
	}
	reclaim(t, 8);
}

/* Overflow bucket b (index) emptied: unlink it from the chain of primary
 * bucket p; reuse after the grace period. */
static void ov_unlink(struct nc_flow *t, uint32_t p, uint32_t b)
{
	struct bucket *prev = &t->buckets[p];

	while (prev->next != b + 1)
		prev = &t->buckets[prev->next - 1];
	/* Readers inside b still follow its next, left as it is. */
	__atomic_store_n(&prev->next, t->buckets[b].next, __ATOMIC_RELEASE);
	if (t->qsbr == NULL) {
		t->ov_free[t->ov_free_top++] = b;
		return;
	}
	/* At most ov buckets are unlinked at a time. */
	t->ov_rq[ring_at(t->ov_rq_head, t->ov_rq_n, t->ov_rq_size)] =
		(struct ovret){rte_rcu_qsbr_start(t->qsbr), b};
	t->ov_rq_n++;
}

/* Unlink the entry found at slot i of bucket b (chain of hash h). */
static void remove_slot(struct nc_flow *t, uint32_t h, struct bucket *b, unsigned i)
{
	uint32_t x = b->idx[i];
	uint32_t bi = (uint32_t)(b - t->buckets);

	/* Readers that already loaded the index may still read the entry. */
	__atomic_store_n(&b->idx[i], NO_ENT, __ATOMIC_RELEASE);
	b->sig[i] = 0;
	__atomic_store_n(&t->live, t->live - 1, __ATOMIC_RELAXED);
	if (bi >= t->nb) {
		bool empty = true;

		for (unsigned s = 0; s < BUCKET_SLOTS; s++)
			empty &= b->idx[s] == NO_ENT;
		if (empty)
			ov_unlink(t, bucket_of(t, h), bi);
	}
	if (slot_obj(x)) {
		/* no entry to retire: without QSBR (nc_flow_add_object) no
		 * reader can still be comparing with the object */
		__atomic_store_n(&t->objs, t->objs - 1, __ATOMIC_RELAXED);
		if (t->free_value != NULL)
			t->free_value(obj_at(t, x), t->free_ctx);
		return;
	}
	retire(t, x - 1, unit_ptr(t, x - 1));
}

/* ---------------------------------------------------------------- life cycle */

int nc_flow_create(const struct nc_flow_config *cfg, struct nc_flow **out)
{
	struct nc_flow *t;
	uint32_t nb, ov, seg_lines = 1;
	int socket;

	if (cfg == NULL || out == NULL || cfg->entries == 0 || cfg->entries > (1u << 30) ||
	    (cfg->flags & ~(uint32_t)(NC_FLOW_F_MULTI_WRITER | NC_FLOW_F_WIDE |
				      NC_FLOW_F_PREFETCH_VALUES)) != 0 ||
	    (cfg->objects.base != NULL &&
	     (cfg->objects.key == NULL || cfg->objects.count == 0 ||
	      cfg->objects.count > (1u << 30) || cfg->objects.shift > 24)))
		return -EINVAL;
	socket = cfg->socket_id < 0 ? SOCKET_ID_ANY : cfg->socket_id;
	nb = (cfg->entries + BUCKET_LOAD - 1) / BUCKET_LOAD;
	ov = nb / 4 + 64;

	/* cfg->name only labels the memory (rte_malloc type). */
	t = rte_zmalloc_socket(cfg->name ? cfg->name : "nc_flow", sizeof(*t), RTE_CACHE_LINE_SIZE,
			       socket);
	if (t == NULL)
		return -ENOMEM;
	t->capacity = cfg->entries;
	/* Headroom for removed entries that wait for their grace period. */
	t->nents = cfg->entries + (cfg->qsbr ? cfg->entries / 16 + 64 : 0);
	while (seg_lines < t->nents && seg_lines < SEG_LINES_MAX)
		seg_lines <<= 1;
	t->seg_ushift = (uint32_t)__builtin_ctz(seg_lines) + 1;
	t->nsegs = (uint32_t)(((uint64_t)t->nents + seg_lines - 1) / seg_lines);
	t->nb = nb;
	t->ov_next = nb;
	t->ov_end = nb + ov;
	t->ov_rq_size = ov;
	t->flags = cfg->flags;
	t->socket = socket;
	t->locked = (cfg->flags & NC_FLOW_F_MULTI_WRITER) != 0;
	rte_spinlock_init(&t->lock);
	t->qsbr = cfg->qsbr;
	t->free_value = cfg->free_value;
	t->free_ctx = cfg->free_ctx;
	if (cfg->objects.base != NULL) {
		t->obj_base = cfg->objects.base;
		t->obj_count = cfg->objects.count;
		t->obj_shift = cfg->objects.shift;
		t->obj_key = cfg->objects.key;
		t->obj_match = cfg->objects.match;
	}
	t->bq_size = t->nents / RBATCH + 4;
	t->buckets = rte_zmalloc_socket("nc_flow_b", (size_t)(nb + ov) * sizeof(struct bucket),
					RTE_CACHE_LINE_SIZE, socket);
	t->segs = rte_zmalloc_socket("nc_flow_s", (size_t)t->nsegs * sizeof(void *),
				     RTE_CACHE_LINE_SIZE, socket);
	t->ov_free = rte_malloc_socket("nc_flow_o", (size_t)ov * sizeof(uint32_t),
				       RTE_CACHE_LINE_SIZE, socket);
	if (cfg->qsbr != NULL) {
		t->ov_rq = rte_malloc_socket("nc_flow_r", (size_t)ov * sizeof(*t->ov_rq),
					     RTE_CACHE_LINE_SIZE, socket);
		t->bq = rte_malloc_socket("nc_flow_q", (size_t)t->bq_size * sizeof(*t->bq),
					  RTE_CACHE_LINE_SIZE, socket);
	}
	if (!t->buckets || !t->segs || !t->ov_free || (cfg->qsbr && (!t->ov_rq || !t->bq))) {
		nc_flow_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void nc_flow_free(struct nc_flow *t)
{
	if (t == NULL)
		return;
	/* Live and dead entries both still hold their values. */
	if (t->free_value != NULL) {
		for (uint32_t l = 0; l < t->hw; l++) {
			for (uint32_t u = 2 * l; u < 2 * l + 2; u++) {
				void *e = unit_ptr(t, u);
				unsigned tag = META_TAG(meta_load(e));

				if (tag != TAG_FREE)
					t->free_value(ent_value(e, TAG_WIDE(tag)), t->free_ctx);
				if (TAG_WIDE(tag))
					break;
			}
		}
		/* object flows; buckets past ov_next were never used */
		for (uint32_t b = 0; t->objs > 0 && t->buckets != NULL && b < t->ov_next; b++)
			for (unsigned i = 0; i < BUCKET_SLOTS; i++)
				if (slot_obj(t->buckets[b].idx[i]))
					t->free_value(obj_at(t, t->buckets[b].idx[i]), t->free_ctx);
	}
	for (uint32_t s = 0; t->segs != NULL && s < t->nsegs; s++)
		rte_free(t->segs[s]);
	rte_free(t->segs);
	rte_free(t->buckets);
	rte_free(t->ov_free);
	rte_free(t->ov_rq);
	rte_free(t->bq);
	rte_free(t);
}

/* ---------------------------------------------------------------- writer */

/* A free slot in the chain of bucket bi, adding an overflow bucket if
 * needed.  NULL if the overflow pool is exhausted. */
static struct bucket *free_slot(struct nc_flow *t, uint32_t h, unsigned *slotp)
{
	struct bucket *b = &t->buckets[bucket_of(t, h)];
	uint32_t nbi;

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
	if (t->ov_free_top > 0)
		nbi = t->ov_free[--t->ov_free_top];
	else if (t->ov_next < t->ov_end)
		nbi = t->ov_next++;
	else
		return NULL;
	struct bucket *nb = &t->buckets[nbi];

	memset(nb, 0, sizeof(*nb));
	/* The new bucket is empty before readers can reach it. */
	__atomic_store_n(&b->next, nbi + 1, __ATOMIC_RELEASE);
	*slotp = 0;
	return nb;
}

static inline bool fits_compact(const struct nc_flow *t, const struct kq *q, uint64_t now,
				uint64_t timeout)
{
	return q->v4 && !(t->flags & NC_FLOW_F_WIDE) && now <= UINT32_MAX &&
	       (timeout < UINT32_MAX || timeout == UINT64_MAX);
}

int nc_flow_add(struct nc_flow *t, const struct nc_flow_key *key, void *value, uint64_t now,
		uint64_t timeout)
{
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, u;
	bool wide;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	h = key_hash(key);
	wide = !fits_compact(t, &q, now, timeout);
	wlock(t);
	if (find(t, &q, h, NULL, NULL) != NO_ENT) {
		rc = -EEXIST;
		goto out;
	}
	if (t->live >= t->capacity) {
		rc = -ENOSPC;
		goto out;
	}
	if (t->live + t->dead >= t->nents && t->qsbr != NULL)
		reclaim(t, UINT32_MAX);
	if (t->live + t->dead >= t->nents || (b = free_slot(t, h, &slot)) == NULL) {
		rc = -ENOSPC;
		goto out;
	}
	if ((u = unit_alloc(t, wide)) == UINT32_MAX) {
		rc = -ENOMEM; /* lines are bounded by live + dead: only a segment can fail */
		goto out;
	}
	if (wide) {
		struct went *w = unit_ptr(t, u);

		w->meta = q.meta | (uint64_t)(q.v4 ? TAG_W4 : TAG_W6) << 56;
		memcpy(w->addr, q.w, sizeof(w->addr));
		w->value = value;
		__atomic_store_n(&w->last_seen, now, __ATOMIC_RELAXED);
		__atomic_store_n(&w->timeout, timeout, __ATOMIC_RELAXED);
	} else {
		struct cent *c = unit_ptr(t, u);

		c->meta = q.meta | (uint64_t)TAG_C4 << 56;
		c->addrs = q.addrs;
		c->value = value;
		__atomic_store_n(&c->last_seen, (uint32_t)now, __ATOMIC_RELAXED);
		ent_set_timeout(c, false, timeout);
	}
	b->sig[slot] = hash_sig(h);
	/* Entry and signature are complete before the index is visible. */
	__atomic_store_n(&b->idx[slot], u + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);
out:
	wunlock(t);
	return rc;
}

int nc_flow_add_object(struct nc_flow *t, uint32_t index, unsigned which)
{
	struct nc_flow_key key;
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, x;
	int rc = 0;

	if (t == NULL || which > 1)
		return -EINVAL;
	if (t->obj_base == NULL || t->qsbr != NULL)
		return -EOPNOTSUPP;
	if (index >= t->obj_count)
		return -EINVAL;
	x = SLOT_OBJ | index << 1 | which;
	t->obj_key(obj_at(t, x), which, &key);
	key_query(&q, &key);
	h = key_hash(&key);
	wlock(t);
	if (find(t, &q, h, NULL, NULL) != NO_ENT)
		rc = -EEXIST;
	else if (t->live >= t->capacity || (b = free_slot(t, h, &slot)) == NULL)
		rc = -ENOSPC;
	if (rc == 0) {
		b->sig[slot] = hash_sig(h);
		/* the object's key is the caller's, complete before this */
		__atomic_store_n(&b->idx[slot], x, __ATOMIC_RELEASE);
		__atomic_store_n(&t->live, t->live + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&t->objs, t->objs + 1, __ATOMIC_RELAXED);
	}
	wunlock(t);
	return rc;
}

/* The value of a flow by slot value. */
static inline void *slot_value(const struct nc_flow *t, uint32_t x)
{
	const void *e;

	if (slot_obj(x))
		return obj_at(t, x);
	e = unit_ptr(t, x - 1);
	return ent_value(e, ent_wide(e));
}

int nc_flow_delete(struct nc_flow *t, const struct nc_flow_key *key, void **value)
{
	struct bucket *b;
	struct kq q;
	unsigned slot;
	uint32_t h, x;
	int rc = 0;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	h = key_hash(key);
	wlock(t);
	x = find(t, &q, h, &b, &slot);
	if (x == NO_ENT) {
		rc = -ENOENT;
		goto out;
	}
	if (value != NULL)
		*value = slot_value(t, x);
	remove_slot(t, h, b, slot);
out:
	wunlock(t);
	return rc;
}

/* Expire the live entry e if idle at now (and cb agrees); 1 if removed. */
static int expire_one(struct nc_flow *t, uint32_t u, uint64_t now, nc_flow_expire_cb cb,
		      void *arg)
{
	void *e = unit_ptr(t, u);
	bool wide = ent_wide(e);
	uint64_t ls = ent_last_seen(e, wide), to = ent_timeout(e, wide);
	struct nc_flow_key key;
	struct bucket *b = NULL;
	unsigned slot = 0;
	struct kq q;
	uint32_t h;

	if (now < ls || now - ls < to)
		return 0;
	ent_key(e, &key);
	if (cb != NULL && !cb(&key, ent_value(e, wide), ls, arg))
		return 0;
	key_query(&q, &key);
	h = key_hash(&key);
	if (find(t, &q, h, &b, &slot) != u + 1)
		return 0; /* cannot happen: a live entry is always linked */
	remove_slot(t, h, b, slot);
	return 1;
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
	for (uint32_t n = 0; n < budget && t->hw > 0; n++) {
		uint32_t l = t->cursor;

		if (++t->cursor >= t->hw)
			t->cursor = 0;
		for (uint32_t u = 2 * l; u < 2 * l + 2; u++) {
			void *e = unit_ptr(t, u);
			unsigned tag = META_TAG(meta_load(e));

			if (tag != TAG_FREE && !(tag & TAG_DEAD))
				removed += expire_one(t, u, now, cb, arg);
			if (TAG_WIDE(tag))
				break; /* unit 2l + 1 is the entry's second half */
		}
	}
	wunlock(t);
	return removed;
}

/* Iteration cursors from here on are positions among bucket slots. */
#define ITER_SLOTS (1ull << 32)

int nc_flow_iterate(struct nc_flow *t, uint64_t *cursor, struct nc_flow_key *key, void **value)
{
	int rc = -ENOENT;

	if (t == NULL || cursor == NULL || key == NULL)
		return -EINVAL;
	wlock(t);
	/* *cursor: the next unit to look at, then ITER_SLOTS + the next
	 * bucket slot (object flows). */
	for (uint64_t u = *cursor; u < 2 * (uint64_t)t->hw; u++) {
		if ((u & 1) && TAG_WIDE(META_TAG(meta_load(unit_ptr(t, u - 1)))))
			continue; /* second half of a wide entry */
		void *e = unit_ptr(t, u);
		unsigned tag = META_TAG(meta_load(e));

		if (tag == TAG_FREE || (tag & TAG_DEAD))
			continue;
		ent_key(e, key);
		if (value != NULL)
			*value = ent_value(e, TAG_WIDE(tag));
		*cursor = u + 1;
		rc = 0;
		break;
	}
	uint64_t end = ITER_SLOTS + (uint64_t)t->ov_next * BUCKET_SLOTS;

	for (uint64_t p = *cursor < ITER_SLOTS ? ITER_SLOTS : *cursor;
	     rc != 0 && t->objs > 0 && p < end; p++) {
		uint32_t x = t->buckets[(p - ITER_SLOTS) / BUCKET_SLOTS]
				     .idx[(p - ITER_SLOTS) % BUCKET_SLOTS];

		if (!slot_obj(x))
			continue;
		t->obj_key(obj_at(t, x), x & 1u, key);
		if (value != NULL)
			*value = obj_at(t, x);
		*cursor = p + 1;
		rc = 0;
	}
	if (rc != 0)
		*cursor = end;
	wunlock(t);
	return rc;
}
