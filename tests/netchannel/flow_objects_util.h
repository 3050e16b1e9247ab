/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_FLOW_OBJECTS_UTIL_H
#define NC_TEST_FLOW_OBJECTS_UTIL_H
/*
 * Shared by the object-flow tests (test_flow_objects.c: arguments, the
 * contract, encoding limits, collisions; test_flow_objects_model.c: the
 * random runs against a reference model): EAL, seeds, keys (colliding ones
 * found with the table's own hash), the test objects and their key
 * callback, free_value counting and the table maker.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "flow_fixture.h"
#include "nc_flow.h"

/* ---------------------------------------------------------------- fixture */

/* eal_up, eal_down, test_seed, key_v4, key_v6 and V(): flow_fixture.h */

/* An IPv6 key whose 40 key bytes equal those of the IPv4 key but for the
 * family: the two are different keys. */
static inline void key_v6_twin(struct nc_flow_key *k6, const struct nc_flow_key *k4)
{
	*k6 = *k4;
	k6->family = CLS_IPV6;
}

static inline bool key_eq(const struct nc_flow_key *a, const struct nc_flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/*
 * Where a key lands: a copy of flow.c's hash, signature and bucket choice,
 * used only to build keys that share a bucket and a signature with others
 * (white box: if flow.c changes its hash, these keys merely stop colliding
 * and the tests no longer prove the full compare; with this hash, making
 * obj_match() always true or dropping its family check fails them).
 */
static inline uint32_t ref_hash(const struct nc_flow_key *k)
{
	const uint64_t *w = (const uint64_t *)(const void *)k;
	uint32_t h = 0x6a09e667u;

	if (k->family == CLS_IPV4) {
		uint64_t addrs = (uint64_t)k->src.v4 | (uint64_t)k->dst.v4 << 32;

		return rte_hash_crc_8byte(w[4], rte_hash_crc_8byte(addrs, h));
	}
	for (int i = 0; i < 5; i++)
		h = rte_hash_crc_8byte(w[i], h);
	return h;
}

/* bucket << 16 | signature, for a table of the given capacity. */
static inline uint64_t ref_place(const struct nc_flow_key *k, uint32_t entries)
{
	uint32_t h = ref_hash(k), nb = (entries + 5) / 6;
	uint16_t sig = (uint16_t)((h * 0x9e3779b1u) >> 16);

	return ((uint64_t)h * nb) >> 32 << 16 | (sig ? sig : 1);
}

/* Candidate key number c of the collision search: IPv4 and IPv6 by turns. */
static inline void key_cand(struct nc_flow_key *k, unsigned c)
{
	if (c & 1)
		key_v6(k, 0x100000 + c);
	else
		key_v4(k, 0x100000 + c);
}

struct cand {
	uint64_t place;
	unsigned c;
};

static inline int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->place != y->place)
		return x->place < y->place ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

/*
 * Up to ngroups groups of gsize keys that share bucket and signature in a
 * table of the given capacity, the groups' keys in out[g * gsize + j];
 * returns the number of groups found (a birthday search among ncand keys).
 */
static inline unsigned collision_groups(uint32_t entries, unsigned ngroups, unsigned gsize,
				 unsigned ncand, struct nc_flow_key *out)
{
	struct cand *cs = malloc(ncand * sizeof(*cs));
	unsigned found = 0;

	cr_assert_not_null(cs);
	for (unsigned c = 0; c < ncand; c++) {
		struct nc_flow_key k;

		key_cand(&k, c);
		cs[c].place = ref_place(&k, entries);
		cs[c].c = c;
	}
	qsort(cs, ncand, sizeof(*cs), cand_cmp);
	for (unsigned i = 0; i < ncand && found < ngroups;) {
		unsigned j = i;

		while (j < ncand && cs[j].place == cs[i].place)
			j++;
		if (j - i >= gsize) {
			for (unsigned m = 0; m < gsize; m++)
				key_cand(&out[found * gsize + m], cs[i + m].c);
			found++;
		}
		i = j;
	}
	free(cs);
	return found;
}

/* ---------------------------------------------------------------- objects */

/* A caller's object: two keys (the session's two directions). */
struct tobj {
	struct nc_flow_key k[2];
	uint64_t pad[4];
};
#define TOBJ_SHIFT 7
_Static_assert(sizeof(struct tobj) == 1u << TOBJ_SHIFT, "object stride");

static struct tobj *objs;     /* the table's object array */
static uint32_t nobjs;
static unsigned key_calls;    /* calls of the key callback */

static inline void tobj_key(const void *obj, unsigned which, struct nc_flow_key *key)
{
	const struct tobj *o = obj;
	size_t off = (size_t)((const char *)obj - (const char *)objs);

	cr_assert((const char *)obj >= (const char *)objs && off % sizeof(*o) == 0 &&
			  off / sizeof(*o) < nobjs,
		  "key callback for an object outside the array (offset %zu)", off);
	cr_assert_leq(which, 1u);
	key_calls++;
	*key = o->k[which];
}

/* free_value: counts per object (by address) and for entry values. */
static unsigned *obj_freed;   /* [nobjs] */
static unsigned entry_freed;
static int free_ctx_tag;

static inline void count_free(void *v, void *ctx)
{
	cr_assert_eq(ctx, &free_ctx_tag, "free_value gets cfg.free_ctx");
	if ((char *)v >= (char *)objs && (char *)v < (char *)(objs + nobjs)) {
		size_t off = (size_t)((char *)v - (char *)objs);

		cr_assert_eq(off % sizeof(struct tobj), 0, "an object flow's value is its address");
		obj_freed[off / sizeof(struct tobj)]++;
	} else {
		entry_freed++;
	}
}

static inline void objs_alloc(uint32_t n)
{
	objs = rte_zmalloc("fobj", n * sizeof(*objs), 64);
	obj_freed = calloc(n, sizeof(*obj_freed));
	cr_assert(objs != NULL && obj_freed != NULL);
	nobjs = n;
	entry_freed = 0;
	key_calls = 0;
}

static inline void objs_release(void)
{
	rte_free(objs);
	free(obj_freed);
	objs = NULL;
	obj_freed = NULL;
	nobjs = 0;
}

static inline struct nc_flow *make_table(uint32_t entries, uint32_t flags)
{
	struct nc_flow_config cfg = {
		.entries = entries,
		.socket_id = -1,
		.flags = flags,
		.free_value = count_free,
		.free_ctx = &free_ctx_tag,
		.objects = {.base = objs, .count = nobjs, .shift = TOBJ_SHIFT, .key = tobj_key},
	};
	struct nc_flow *t = NULL;

	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_not_null(t);
	return t;
}


/* An expiry callback that counts its calls and the object keys offered. */
static unsigned cb_calls, cb_object_keys;
static inline bool expire_cb(const struct nc_flow_key *key, void *value, uint64_t last_seen,
			     void *arg)
{
	(void)key;
	(void)last_seen;
	(void)arg;
	cb_calls++;
	if ((char *)value >= (char *)objs && (char *)value < (char *)(objs + nobjs))
		cb_object_keys++;
	return true;
}

#endif /* NC_TEST_FLOW_OBJECTS_UTIL_H */
