/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table readers: lock-free lookups (single, bulk), prefetch, get,
 * set_timeout and counts.  The design and the concurrency rules are at the
 * top of flow.c; the layout and the key compare are in flow_int.h.
 */
#include "flow_int.h"

/* ---------------------------------------------------------------- readers */

int nc_flow_lookup(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t now,
		   void **value)
{
	struct kq q;
	uint32_t x;
	void *e;
	bool wide;

	if (unlikely(t == NULL || key == NULL || value == NULL))
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x)) {
		*value = obj_at(t, x); /* never idle: nothing to touch */
		return 0;
	}
	e = unit_ptr(t, x - 1);
	wide = ent_wide(e);
	touch(e, wide, now);
	*value = ent_value(e, wide);
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
		rte_prefetch0(&t->buckets[bucket_of(t, h[i])]);
	}
	/* Stage 2: first signature match in the primary bucket; prefetch
	 * its entry.  Without a match in a chained bucket, prefetch the
	 * overflow bucket instead. */
	uint64_t ov = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct bucket *b = &t->buckets[bucket_of(t, h[i])];
		unsigned m = sig_match(b, hash_sig(h[i]));

		cand[i] = NO_ENT;
		if (m) {
			cand[i] = __atomic_load_n(&b->idx[__builtin_ctz(m)], __ATOMIC_ACQUIRE);
			if (cand[i] != NO_ENT)
				rte_prefetch0(slot_line(t, cand[i]));
		} else {
			uint32_t nx = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE);

			if (nx != 0) {
				rte_prefetch0(&t->buckets[nx - 1]);
				ov |= 1ULL << i;
			}
		}
	}
	/* Stage 2b (keys whose primary bucket overflowed): the same in the
	 * first overflow bucket. */
	for (uint64_t m = ov; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		const struct bucket *p = &t->buckets[bucket_of(t, h[i])];
		uint32_t nx = __atomic_load_n(&p->next, __ATOMIC_ACQUIRE);
		const struct bucket *b;
		unsigned sm;

		if (nx == 0)
			continue;
		b = &t->buckets[nx - 1];
		sm = sig_match(b, hash_sig(h[i]));
		if (sm) {
			cand[i] = __atomic_load_n(&b->idx[__builtin_ctz(sm)], __ATOMIC_ACQUIRE);
			if (cand[i] != NO_ENT)
				rte_prefetch0(slot_line(t, cand[i]));
		}
	}
	/* Stage 3: compare; anything else (other matches, overflow) takes the
	 * full path. */
	for (unsigned i = 0; i < n; i++) {
		uint32_t x;
		struct kq q;

		key_query(&q, keys[i]);
		if (cand[i] != NO_ENT && slot_match(t, cand[i], &q))
			x = cand[i];
		else
			x = find(t, &q, h[i], NULL, NULL);
		if (x != NO_ENT) {
			if (slot_obj(x)) {
				values[i] = obj_at(t, x); /* the line just compared */
			} else {
				void *e = unit_ptr(t, x - 1);
				bool wide = ent_wide(e);

				touch(e, wide, now);
				values[i] = ent_value(e, wide);
			}
			if (t->flags & NC_FLOW_F_PREFETCH_VALUES)
				rte_prefetch0(values[i]);
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

void nc_flow_prefetch(const struct nc_flow *t, const struct nc_flow_key *key)
{
	if (t != NULL && key != NULL)
		rte_prefetch0(&t->buckets[bucket_of(t, key_hash(key))]);
}

int nc_flow_get(const struct nc_flow *t, const struct nc_flow_key *key,
		struct nc_flow_entry_info *info)
{
	struct kq q;
	uint32_t x;
	void *e;
	bool wide;

	if (t == NULL || key == NULL || info == NULL)
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x)) {
		info->value = obj_at(t, x);
		info->last_seen = 0;
		info->timeout = UINT64_MAX;
		return 0;
	}
	e = unit_ptr(t, x - 1);
	wide = ent_wide(e);
	info->value = ent_value(e, wide);
	info->last_seen = ent_last_seen(e, wide);
	info->timeout = ent_timeout(e, wide);
	return 0;
}

int nc_flow_set_timeout(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t timeout,
			uint64_t now)
{
	struct kq q;
	uint32_t x;
	void *e;

	if (t == NULL || key == NULL)
		return -EINVAL;
	key_query(&q, key);
	x = find(t, &q, key_hash(key), NULL, NULL);
	if (x == NO_ENT)
		return -ENOENT;
	if (slot_obj(x))
		return -EOPNOTSUPP; /* object flows keep no time */
	e = unit_ptr(t, x - 1);
	/* a change is a use; for an entry that never idled out, its idle
	 * time starts here (lookups did not keep last_seen) */
	touch_store(e, ent_wide(e), now);
	ent_set_timeout(e, ent_wide(e), timeout);
	return 0;
}

uint32_t nc_flow_count(const struct nc_flow *t)
{
	return t ? __atomic_load_n(&t->live, __ATOMIC_RELAXED) : 0;
}

uint32_t nc_flow_object_count(const struct nc_flow *t)
{
	return t ? __atomic_load_n(&t->objs, __ATOMIC_RELAXED) : 0;
}

uint32_t nc_flow_capacity(const struct nc_flow *t)
{
	return t ? t->capacity : 0;
}
