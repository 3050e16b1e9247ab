/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Object flows of the flow table (nc_flow.h, struct nc_flow_objects and
 * nc_flow_add_object): bad arguments, what an object flow reports (value =
 * the object's address, no time, never idle, freed at once), the slot
 * encoding at the limits (index up to 2^30 - 1, stride up to 2^24), keys
 * that share bucket and signature (so that only the full compare with the
 * object's key tells them apart), and a random run of entries and object
 * flows, IPv4 and IPv6, against a reference model (adds, deletes, single
 * and bulk lookups, get, set_timeout, expiry, iteration, free_value calls).
 * The entry-only tests are in test_flow.c.  Random tests print their seed;
 * NC_TEST_SEED=<n> replays one.
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

#include "nc_flow.h"

/* ---------------------------------------------------------------- fixture */

static void eal_up(void)
{
	char prefix[64];
	char *argv[] = {"test_flow_objects", "--no-huge", "--no-pci", "--no-shconf", prefix, "-m",
			"256", "--log-level=error", "--no-telemetry", "-l", "0", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=nc_test_fobj_%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0)
		cr_assert_fail("EAL init failed: %s", rte_strerror(rte_errno));
}

static void eal_down(void)
{
	rte_eal_cleanup();
}

TestSuite(fobj_args, .init = eal_up, .fini = eal_down);
TestSuite(fobj, .init = eal_up, .fini = eal_down);
TestSuite(fobj_random, .init = eal_up, .fini = eal_down);

static unsigned long test_seed(const char *what)
{
	const char *s = getenv("NC_TEST_SEED");
	unsigned long seed =
		s ? strtoul(s, NULL, 0) : (unsigned long)time(NULL) ^ (unsigned long)clock();

	fprintf(stderr, "test_flow_objects %s: seed %lu (replay with NC_TEST_SEED=%lu)\n", what,
		seed, seed);
	return seed;
}

/* IPv4 key number i (distinct for distinct i). */
static void key_v4(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s = {.v4 = 0x0a000000u + i}, d = {.v4 = 0xc6120000u + (i * 2654435761u >> 8)};

	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV4, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), (uint16_t)(i % 7 ? 443 : 53));
}

/* IPv6 key number i. */
static void key_v6(struct nc_flow_key *k, unsigned i)
{
	union cls_addr s, d;

	s.v6.hi = 0x20010db800000000ULL | i;
	s.v6.lo = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	d.v6.hi = 0x2a00145000000000ULL;
	d.v6.lo = i ^ 0x5555;
	nc_flow_key_set(k, (uint16_t)(i % 3), CLS_IPV6, i & 1 ? 6 : 17, &s, &d,
			(uint16_t)(1024 + i % 50000), 443);
}

/* An IPv6 key whose 40 key bytes equal those of the IPv4 key but for the
 * family: the two are different keys. */
static void key_v6_twin(struct nc_flow_key *k6, const struct nc_flow_key *k4)
{
	*k6 = *k4;
	k6->family = CLS_IPV6;
}

static bool key_eq(const struct nc_flow_key *a, const struct nc_flow_key *b)
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
static uint32_t ref_hash(const struct nc_flow_key *k)
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
static uint64_t ref_place(const struct nc_flow_key *k, uint32_t entries)
{
	uint32_t h = ref_hash(k), nb = (entries + 5) / 6;
	uint16_t sig = (uint16_t)((h * 0x9e3779b1u) >> 16);

	return ((uint64_t)h * nb) >> 32 << 16 | (sig ? sig : 1);
}

/* Candidate key number c of the collision search: IPv4 and IPv6 by turns. */
static void key_cand(struct nc_flow_key *k, unsigned c)
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

static int cand_cmp(const void *a, const void *b)
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
static unsigned collision_groups(uint32_t entries, unsigned ngroups, unsigned gsize,
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

static void tobj_key(const void *obj, unsigned which, struct nc_flow_key *key)
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

static void count_free(void *v, void *ctx)
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

static void objs_alloc(uint32_t n)
{
	objs = rte_zmalloc("fobj", n * sizeof(*objs), 64);
	obj_freed = calloc(n, sizeof(*obj_freed));
	cr_assert(objs != NULL && obj_freed != NULL);
	nobjs = n;
	entry_freed = 0;
	key_calls = 0;
}

static void objs_release(void)
{
	rte_free(objs);
	free(obj_freed);
	objs = NULL;
	obj_freed = NULL;
	nobjs = 0;
}

static struct nc_flow *make_table(uint32_t entries, uint32_t flags)
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

#define V(i) ((void *)(uintptr_t)(0x1000 + (i)))

/* ---------------------------------------------------------------- bad args */

static void key_any(const void *obj, unsigned which, struct nc_flow_key *key)
{
	(void)obj;
	key_v4(key, which);
}

Test(fobj_args, create)
{
	char dummy[64];
	struct nc_flow_config cfg = {
		.entries = 16,
		.socket_id = -1,
		.objects = {.base = dummy, .count = 1, .shift = 6, .key = key_any},
	};
	struct nc_flow *t = NULL;

	cfg.objects.key = NULL;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "objects without a key callback");
	cfg.objects.key = key_any;
	cfg.objects.count = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "objects.count 0");
	cfg.objects.count = (1u << 30) + 1;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "objects.count > 1 << 30");
	cfg.objects.count = UINT32_MAX;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	cfg.objects.count = 1;
	cfg.objects.shift = 25;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "shift > 24");
	cfg.objects.shift = 255;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	/* the limits themselves */
	cfg.objects.count = 1u << 30;
	cfg.objects.shift = 24;
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	nc_flow_free(t);
	cfg.objects.count = 1;
	cfg.objects.shift = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	nc_flow_free(t);
	/* no base: no object flows, and the rest of objects is not looked at */
	cfg.objects = (struct nc_flow_objects){.base = NULL, .count = 0, .shift = 99, .key = NULL};
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_eq(nc_flow_add_object(t, 0, 0), -EOPNOTSUPP, "a table without objects");
	nc_flow_free(t);
}

Test(fobj_args, add_object)
{
	struct nc_flow *t;
	struct nc_flow_key k;
	void *v;

	objs_alloc(4);
	t = make_table(16, 0);
	key_v4(&objs[0].k[0], 1);
	key_v4(&objs[3].k[1], 2);
	cr_assert_eq(nc_flow_add_object(NULL, 0, 0), -EINVAL);
	cr_assert_eq(nc_flow_add_object(t, 0, 2), -EINVAL, "which 2");
	cr_assert_eq(nc_flow_add_object(t, 0, UINT32_MAX), -EINVAL);
	cr_assert_eq(nc_flow_add_object(t, 4, 0), -EINVAL, "index == count");
	cr_assert_eq(nc_flow_add_object(t, UINT32_MAX, 0), -EINVAL);
	cr_assert_eq(nc_flow_add_object(t, 1u << 31, 0), -EINVAL, "index with the slot's kind bit");
	cr_assert_eq(nc_flow_count(t), 0, "refused adds change nothing");
	cr_assert_eq(nc_flow_object_count(t), 0);
	cr_assert_eq(nc_flow_add_object(t, 0, 0), 0);
	cr_assert_eq(nc_flow_add_object(t, 3, 1), 0, "the last index");
	cr_assert_eq(nc_flow_object_count(t), 2);
	cr_assert_eq(nc_flow_object_count(NULL), 0);
	key_v4(&k, 2);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), 0);
	cr_assert_eq(v, &objs[3]);
	nc_flow_free(t);
	cr_assert_eq(obj_freed[0] + obj_freed[3], 2, "nc_flow_free frees the object flows");
	objs_release();
}

/* Object flows need the caller's promise that no reader runs during a
 * delete: not with QSBR. */
Test(fobj_args, not_with_qsbr)
{
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *q = rte_zmalloc(NULL, qsz, RTE_CACHE_LINE_SIZE);
	struct nc_flow_config cfg = {.entries = 16, .socket_id = -1, .qsbr = q};
	struct nc_flow *t = NULL;
	struct nc_flow_key k;

	cr_assert_not_null(q);
	cr_assert_eq(rte_rcu_qsbr_init(q, 1), 0);
	objs_alloc(2);
	key_v4(&objs[0].k[0], 1);
	cfg.objects = (struct nc_flow_objects){objs, 2, TOBJ_SHIFT, tobj_key};
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_eq(nc_flow_add_object(t, 0, 0), -EOPNOTSUPP);
	cr_assert_eq(nc_flow_count(t), 0);
	key_v4(&k, 1);
	cr_assert_eq(nc_flow_add(t, &k, V(1), 0, 10), 0, "entries still work");
	nc_flow_free(t);
	objs_release();
	rte_free(q);
}

/* ---------------------------------------------------------------- behaviour */

static unsigned cb_calls, cb_object_keys;
static bool expire_cb(const struct nc_flow_key *key, void *value, uint64_t last_seen, void *arg)
{
	(void)key;
	(void)last_seen;
	(void)arg;
	cb_calls++;
	if ((char *)value >= (char *)objs && (char *)value < (char *)(objs + nobjs))
		cb_object_keys++;
	return true;
}

/* An object flow's value is the object, it keeps no time, it never idles
 * out, deleting it hands the object to free_value at once; a key is in
 * the table once, as an entry or as an object flow. */
Test(fobj, object_flow_contract)
{
	struct nc_flow *t;
	struct nc_flow_key k0, k1, k2, k3, got;
	struct nc_flow_entry_info info;
	uint64_t cur = 0;
	void *v;

	objs_alloc(8);
	t = make_table(32, 0);
	key_v4(&k0, 10);
	key_v6(&k1, 11);
	key_v4(&k2, 12);
	key_v6(&k3, 13);
	objs[5].k[0] = k0;
	objs[5].k[1] = k1;
	cr_assert_eq(nc_flow_add_object(t, 5, 0), 0);
	cr_assert_eq(nc_flow_add_object(t, 5, 1), 0);
	cr_assert_eq(nc_flow_count(t), 2);
	cr_assert_eq(nc_flow_object_count(t), 2);
	/* the value is the object's address, for both keys */
	cr_assert_eq(nc_flow_lookup(t, &k0, 100, &v), 0);
	cr_assert_eq(v, &objs[5]);
	cr_assert_eq(nc_flow_lookup(t, &k1, 100, &v), 0);
	cr_assert_eq(v, &objs[5]);
	/* no time: nc_flow_get says never idle, lookups and set_timeout
	 * change nothing, expiry leaves it and never offers it */
	cr_assert_eq(nc_flow_get(t, &k0, &info), 0);
	cr_assert_eq(info.value, &objs[5]);
	cr_assert_eq(info.last_seen, 0);
	cr_assert_eq(info.timeout, UINT64_MAX);
	cr_assert_eq(nc_flow_set_timeout(t, &k1, 5, 1000), -EOPNOTSUPP);
	cr_assert_eq(nc_flow_get(t, &k1, &info), 0);
	cr_assert_eq(info.last_seen, 0);
	cr_assert_eq(info.timeout, UINT64_MAX);
	cr_assert_eq(nc_flow_add(t, &k2, V(2), 0, 1), 0);
	cb_calls = cb_object_keys = 0;
	cr_assert_eq(nc_flow_expire(t, UINT64_MAX - 1, 64, expire_cb, NULL), 1, "the entry only");
	cr_assert_eq(cb_calls, 1);
	cr_assert_eq(cb_object_keys, 0, "expiry offered an object flow");
	cr_assert_eq(nc_flow_expire(t, UINT64_MAX - 1, 64, NULL, NULL), 0);
	cr_assert_eq(nc_flow_count(t), 2);
	cr_assert_eq(entry_freed, 1);
	/* a key is present once, whichever kind holds it */
	objs[6].k[0] = k0;
	cr_assert_eq(nc_flow_add_object(t, 6, 0), -EEXIST, "key held by another object");
	cr_assert_eq(nc_flow_add_object(t, 5, 0), -EEXIST, "the same object flow again");
	cr_assert_eq(nc_flow_add(t, &k1, V(9), 0, 10), -EEXIST, "an entry for an object's key");
	cr_assert_eq(nc_flow_add(t, &k3, V(3), 0, 10), 0);
	objs[6].k[1] = k3;
	cr_assert_eq(nc_flow_add_object(t, 6, 1), -EEXIST, "an object flow for an entry's key");
	objs[7].k[0] = k2; /* expired above: free again */
	objs[7].k[1] = k2; /* both keys of an object the same */
	cr_assert_eq(nc_flow_add_object(t, 7, 0), 0);
	cr_assert_eq(nc_flow_add_object(t, 7, 1), -EEXIST);
	cr_assert_eq(nc_flow_count(t), 4);
	cr_assert_eq(nc_flow_object_count(t), 3);
	/* iteration: the entry first, then the three object flows */
	cr_assert_eq(nc_flow_iterate(t, &cur, &got, &v), 0);
	cr_assert(key_eq(&got, &k3) && v == V(3), "entries come first");
	unsigned seen = 0;
	while (nc_flow_iterate(t, &cur, &got, &v) == 0) {
		unsigned bit = key_eq(&got, &k0) ? 1 : key_eq(&got, &k1) ? 2 : key_eq(&got, &k2) ? 4 : 8;

		cr_assert_neq(bit, 8, "iterate: a key not in the table");
		cr_assert(!(seen & bit), "iterate: a flow twice");
		cr_assert_eq(v, bit == 4 ? (void *)&objs[7] : (void *)&objs[5], "iterate: value");
		seen |= bit;
	}
	cr_assert_eq(seen, 7, "two flows of object 5, one of object 7");
	cr_assert_eq(nc_flow_iterate(t, &cur, &got, &v), -ENOENT, "the end stays the end");
	/* delete by key: the value is the object, freed at once, once */
	cr_assert_eq(nc_flow_delete(t, &k1, &v), 0);
	cr_assert_eq(v, &objs[5]);
	cr_assert_eq(obj_freed[5], 1, "free_value at the delete");
	cr_assert_eq(nc_flow_lookup(t, &k1, 0, &v), -ENOENT);
	cr_assert_eq(nc_flow_lookup(t, &k0, 0, &v), 0, "the object's other key stays");
	cr_assert_eq(nc_flow_delete(t, &k1, NULL), -ENOENT);
	cr_assert_eq(nc_flow_object_count(t), 2);
	/* the key may be added again, as an entry this time */
	cr_assert_eq(nc_flow_add(t, &k1, V(1), 0, 10), 0);
	cr_assert_eq(nc_flow_lookup(t, &k1, 0, &v), 0);
	cr_assert_eq(v, V(1));
	cr_assert_eq(nc_flow_delete(t, &k3, NULL), 0);
	cr_assert_eq(entry_freed, 2);
	/* at free: object 5 (k0) and 7 once more, the entry k1 */
	nc_flow_free(t);
	cr_assert_eq(obj_freed[5], 2);
	cr_assert_eq(obj_freed[7], 1);
	cr_assert_eq(obj_freed[6], 0);
	cr_assert_eq(entry_freed, 3);
	objs_release();
}

/* The slot encoding at its limits: objects up to index 2^30 - 1, strides
 * up to 2^24.  The key callback derives the key from the object's address
 * and never reads it, so the array need not exist. */
#define FAR_BASE ((char *)(uintptr_t)0x100000000ULL)
static uint8_t far_shift;

static void far_key(const void *obj, unsigned which, struct nc_flow_key *key)
{
	size_t off = (size_t)((const char *)obj - FAR_BASE);
	uint64_t idx = off >> far_shift;
	union cls_addr s, d;

	cr_assert_eq(off & (((size_t)1 << far_shift) - 1), 0, "object at a stride multiple");
	s.v6.hi = 0x20010db800000000ULL;
	s.v6.lo = idx;
	d.v6.hi = 0x2a00145000000000ULL;
	d.v6.lo = which;
	if (idx % 2)
		nc_flow_key_set(key, 1, CLS_IPV6, 17, &s, &d, 7, (uint16_t)which);
	else {
		s.v4 = (uint32_t)idx;
		d.v4 = which;
		nc_flow_key_set(key, 1, CLS_IPV4, 17, &s, &d, 7, (uint16_t)which);
	}
}

static unsigned far_freed;
static void far_free(void *v, void *ctx)
{
	(void)v;
	(void)ctx;
	far_freed++;
}

Test(fobj, slot_encoding_limits)
{
	static const uint8_t shifts[] = {0, 6, 24};
	static const uint32_t idx[] = {0, 1, 2, 0x1234567, (1u << 29) - 1, 1u << 29,
				       (1u << 30) - 2, (1u << 30) - 1};
	enum { NI = sizeof(idx) / sizeof(idx[0]) };

	for (unsigned s = 0; s < sizeof(shifts); s++) {
		struct nc_flow_config cfg = {
			.entries = 64,
			.socket_id = -1,
			.free_value = far_free,
			.objects = {FAR_BASE, 1u << 30, shifts[s], far_key},
		};
		struct nc_flow *t = NULL;
		struct nc_flow_key k;
		const struct nc_flow_key *kp[2 * NI];
		struct nc_flow_key keys[2 * NI];
		void *vals[2 * NI], *v;
		uint64_t mask, cur = 0;
		unsigned n = 0;

		far_shift = shifts[s];
		far_freed = 0;
		cr_assert_eq(nc_flow_create(&cfg, &t), 0);
		for (unsigned i = 0; i < NI; i++)
			for (unsigned w = 0; w < 2; w++) {
				cr_assert_eq(nc_flow_add_object(t, idx[i], w), 0, "index %#x", idx[i]);
				far_key(FAR_BASE + ((size_t)idx[i] << far_shift), w, &keys[2 * i + w]);
				kp[2 * i + w] = &keys[2 * i + w];
			}
		cr_assert_eq(nc_flow_object_count(t), 2 * NI);
		for (unsigned i = 0; i < NI; i++)
			for (unsigned w = 0; w < 2; w++) {
				cr_assert_eq(nc_flow_lookup(t, &keys[2 * i + w], 0, &v), 0);
				cr_assert_eq(v, FAR_BASE + ((size_t)idx[i] << far_shift),
					     "shift %u index %#x which %u", far_shift, idx[i], w);
			}
		cr_assert_eq(nc_flow_lookup_bulk(t, kp, 2 * NI, 0, vals, &mask), (int)(2 * NI));
		for (unsigned j = 0; j < 2 * NI; j++)
			cr_assert_eq(vals[j], FAR_BASE + ((size_t)idx[j / 2] << far_shift));
		while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
			size_t off = (size_t)((char *)v - FAR_BASE);
			struct nc_flow_key want;

			far_key(v, k.dport, &want);
			cr_assert(key_eq(&k, &want), "iterate: key of object at %#zx", off);
			n++;
		}
		cr_assert_eq(n, 2 * NI);
		cr_assert_eq(nc_flow_delete(t, &keys[2 * NI - 1], &v), 0);
		cr_assert_eq(v, FAR_BASE + ((size_t)idx[NI - 1] << far_shift));
		cr_assert_eq(far_freed, 1);
		nc_flow_free(t);
		cr_assert_eq(far_freed, 2 * NI);
	}
}

/* Keys that share bucket and signature, both families, IPv4/IPv6 twins,
 * held as entries and object flows in every order: each lookup finds its
 * own, a member not in the table misses, and removing one leaves the rest. */
Test(fobj, colliding_keys_are_told_apart)
{
	enum { ENTRIES = 60, G = 12, GS = 4 };
	static struct nc_flow_key grp[G * GS];
	struct nc_flow_key twin4, twin6, k;
	unsigned ng = collision_groups(ENTRIES, G, GS, 400000, grp);
	struct nc_flow *t;
	void *v;

	cr_assert_eq(ng, G, "found %u groups of %u colliding keys", ng, GS);
	/* an IPv4 key and its IPv6 twin in the same bucket with the same
	 * signature */
	for (unsigned c = 0;; c++) {
		cr_assert_lt(c, 50000000u, "no colliding twins");
		key_v4(&twin4, 0x200000 + c);
		key_v6_twin(&twin6, &twin4);
		if (ref_place(&twin4, ENTRIES) == ref_place(&twin6, ENTRIES))
			break;
	}
	objs_alloc(G * GS + 2);
	t = make_table(ENTRIES, 0);
	/* group g: member m is an object flow if bit m of g says so, an
	 * entry otherwise; the last member stays out */
	for (unsigned g = 0; g < G; g++)
		for (unsigned m = 0; m + 1 < GS; m++) {
			unsigned i = g * GS + m;

			if (g >> m & 1) {
				objs[i].k[m & 1] = grp[i];
				cr_assert_eq(nc_flow_add_object(t, i, m & 1), 0, "group %u member %u", g, m);
			} else {
				cr_assert_eq(nc_flow_add(t, &grp[i], V(i), 0, UINT64_MAX), 0);
			}
		}
	objs[G * GS].k[0] = twin4;
	objs[G * GS + 1].k[1] = twin6;
	cr_assert_eq(nc_flow_add_object(t, G * GS, 0), 0);
	cr_assert_eq(nc_flow_get(t, &twin6, &(struct nc_flow_entry_info){0}), -ENOENT,
		     "an IPv6 key found through its IPv4 twin");
	cr_assert_eq(nc_flow_add_object(t, G * GS + 1, 1), 0, "the twins are different keys");

	for (unsigned round = 0; round < 2; round++) {
		const struct nc_flow_key *kp[NC_FLOW_BULK_MAX];
		void *vals[NC_FLOW_BULK_MAX];
		uint64_t mask;
		unsigned n = 0, hits = 0;

		for (unsigned g = 0; g < G; g++)
			for (unsigned m = 0; m < GS; m++) {
				unsigned i = g * GS + m;
				bool in = m + 1 < GS && !(round == 1 && m == 1);
				void *want = (g >> m & 1) ? (void *)&objs[i] : V(i);
				int rc = nc_flow_lookup(t, &grp[i], 0, &v);

				cr_assert_eq(rc, in ? 0 : -ENOENT, "round %u group %u member %u", round,
					     g, m);
				if (in)
					cr_assert_eq(v, want, "group %u member %u", g, m);
				kp[n++] = &grp[i]; /* G * GS <= NC_FLOW_BULK_MAX */
				hits += in;
			}
		cr_assert_eq(nc_flow_lookup_bulk(t, kp, n, 0, vals, &mask), (int)hits);
		for (unsigned j = 0; j < n; j++) {
			unsigned i = (unsigned)(kp[j] - grp), g = i / GS, m = i % GS;
			bool in = m + 1 < GS && !(round == 1 && m == 1);

			cr_assert_eq(!!(mask >> j & 1), in, "bulk: group %u member %u", g, m);
			cr_assert_eq(vals[j], in ? ((g >> m & 1) ? (void *)&objs[i] : V(i)) : NULL);
		}
		cr_assert_eq(nc_flow_lookup(t, &twin4, 0, &v), 0);
		cr_assert_eq(v, &objs[G * GS]);
		cr_assert_eq(nc_flow_lookup(t, &twin6, 0, &v), 0);
		cr_assert_eq(v, &objs[G * GS + 1]);
		/* the member never added is not found by a delete either */
		for (unsigned g = 0; g < G; g++) {
			k = grp[g * GS + GS - 1];
			cr_assert_eq(nc_flow_delete(t, &k, NULL), -ENOENT);
		}
		if (round == 0) /* remove member 1 of each group, kind by kind */
			for (unsigned g = 0; g < G; g++) {
				unsigned i = g * GS + 1;

				cr_assert_eq(nc_flow_delete(t, &grp[i], &v), 0);
				cr_assert_eq(v, (g >> 1 & 1) ? (void *)&objs[i] : V(i));
			}
	}
	/* a colliding key can be added next to the others, as either kind */
	for (unsigned g = 0; g < G; g++) {
		unsigned i = g * GS + GS - 1;

		objs[i].k[0] = grp[i];
		cr_assert_eq(nc_flow_add_object(t, i, 0), 0);
		cr_assert_eq(nc_flow_add(t, &grp[i], V(0), 0, 1), -EEXIST);
		cr_assert_eq(nc_flow_lookup(t, &grp[i], 0, &v), 0);
		cr_assert_eq(v, &objs[i]);
	}
	nc_flow_free(t);
	objs_release();
}

/* Iterating while deleting every flow it returns (a caller emptying the
 * table) visits each flow once, entries and object flows, even as
 * overflow buckets empty and are unlinked. */
Test(fobj, iterate_while_deleting)
{
	enum { ENTRIES = 30, N = 30 };
	static struct nc_flow_key keys[N];
	static bool seen[N];
	struct nc_flow *t;
	struct nc_flow_key k;
	uint64_t cur = 0;
	unsigned got = 0;
	void *v;

	/* all in one bucket: the primary and two overflow buckets */
	for (unsigned c = 0, n = 0; n < N; c++) {
		key_cand(&keys[n], c);
		n += ref_place(&keys[n], ENTRIES) >> 16 == 0;
	}
	objs_alloc(N);
	t = make_table(ENTRIES, 0);
	for (unsigned i = 0; i < N; i++) {
		if (i % 3 == 0) {
			cr_assert_eq(nc_flow_add(t, &keys[i], V(i), 0, 10), 0);
		} else {
			objs[i].k[i & 1] = keys[i];
			cr_assert_eq(nc_flow_add_object(t, i, i & 1), 0);
		}
	}
	while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
		unsigned i = v >= (void *)objs && v < (void *)(objs + N)
				     ? (unsigned)((struct tobj *)v - objs)
				     : (unsigned)((uintptr_t)v - 0x1000);

		cr_assert_lt(i, N);
		cr_assert(!seen[i], "flow %u twice", i);
		seen[i] = true;
		cr_assert(key_eq(&k, &keys[i]));
		cr_assert_eq(nc_flow_delete(t, &k, NULL), 0);
		got++;
	}
	cr_assert_eq(got, N);
	cr_assert_eq(nc_flow_count(t), 0);
	cr_assert_eq(nc_flow_object_count(t), 0);
	nc_flow_free(t);
	cr_assert_eq(entry_freed, N / 3);
	objs_release();
}

/* ---------------------------------------------------------------- model */

#define NKEYS 512
#define NOBJS 96

/* Where a key is: nowhere, an entry (value, times), or an object flow. */
enum { M_OUT, M_ENTRY, M_OBJ };

struct model {
	unsigned kind[NKEYS];
	uintptr_t value[NKEYS];           /* M_ENTRY */
	uint64_t last_seen[NKEYS], timeout[NKEYS];
	unsigned obj[NKEYS], which[NKEYS]; /* M_OBJ */
	int slot_key[NOBJS][2];           /* key of object flow (o, w), or -1 */
	unsigned count, objs;
	unsigned freed[NOBJS];            /* free_value calls expected per object */
	unsigned entry_freed;
};

static struct model m;
static struct nc_flow_key mkeys[NKEYS];

static void *model_value(unsigned i)
{
	return m.kind[i] == M_OBJ ? (void *)&objs[m.obj[i]] : (void *)m.value[i];
}

static void model_remove(unsigned i)
{
	if (m.kind[i] == M_OBJ) {
		m.slot_key[m.obj[i]][m.which[i]] = -1;
		m.freed[m.obj[i]]++;
		m.objs--;
	} else {
		m.entry_freed++;
	}
	m.kind[i] = M_OUT;
	m.count--;
}

/* The key pool: small-space IPv4 and IPv6 keys, keys sharing bucket and
 * signature in groups of three, and IPv4/IPv6 twins. */
static void model_keys(uint32_t cap)
{
	enum { G = 40, GS = 3 };
	static struct nc_flow_key grp[G * GS];
	unsigned ng = collision_groups(cap, G, GS, 300000, grp), n = 0;

	cr_assert_geq(ng, G / 2, "collision groups: %u", ng);
	for (unsigned i = 0; i < ng * GS; i++)
		mkeys[n++] = grp[i];
	for (unsigned i = 0; n + 1 < NKEYS && i < 40; i++) {
		key_v4(&mkeys[n++], 0x300000 + i);
		key_v6_twin(&mkeys[n], &mkeys[n - 1]);
		n++;
	}
	for (unsigned i = 0; n < NKEYS; i++) {
		if (i & 1)
			key_v6(&mkeys[n++], i);
		else
			key_v4(&mkeys[n++], i);
	}
}

/* Everything iterate returns against the model: each present key once,
 * with its value; entries before object flows. */
static void model_iterate(int op, unsigned long seed, struct nc_flow *t)
{
	static bool seen[NKEYS];
	struct nc_flow_key k;
	uint64_t cur = 0;
	unsigned n = 0;
	bool in_objects = false;
	void *v;

	memset(seen, 0, sizeof(seen));
	while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
		unsigned i = NKEYS;

		/* the value names the key: an entry's encodes it, an object's
		 * flows are in m.slot_key */
		if ((char *)v >= (char *)objs && (char *)v < (char *)(objs + NOBJS)) {
			unsigned o = (unsigned)((struct tobj *)v - objs);

			for (unsigned w = 0; w < 2; w++)
				if (m.slot_key[o][w] >= 0 && key_eq(&k, &mkeys[m.slot_key[o][w]]))
					i = (unsigned)m.slot_key[o][w];
		} else if ((uintptr_t)v >= 0x10000) {
			i = (unsigned)(((uintptr_t)v - 0x10000) % NKEYS);
			if (!key_eq(&k, &mkeys[i]))
				i = NKEYS;
		}
		cr_assert_lt(i, NKEYS, "op %d iterate: key and value %p do not match the model (seed %lu)",
			     op, v, seed);
		cr_assert_neq(m.kind[i], M_OUT, "op %d iterate: key %u is not present (seed %lu)", op,
			      i, seed);
		cr_assert(!seen[i], "op %d iterate: key %u twice (seed %lu)", op, i, seed);
		seen[i] = true;
		cr_assert_eq(v, model_value(i), "op %d iterate: value of key %u (seed %lu)", op, i,
			     seed);
		if (m.kind[i] == M_OBJ)
			in_objects = true;
		else
			cr_assert(!in_objects, "op %d iterate: entry %u after object flows (seed %lu)",
				  op, i, seed);
		n++;
	}
	cr_assert_eq(n, m.count, "op %d iterate: %u flows, model %u (seed %lu)", op, n, m.count,
		     seed);
}

/* Random operations on entries and object flows against the model. */
static void model_run(const char *what, uint32_t cap, uint32_t flags)
{
	unsigned long seed = test_seed(what);
	struct nc_flow *t;
	uint64_t now = 1;

	objs_alloc(NOBJS);
	t = make_table(cap, flags);
	srandom((unsigned)seed);
	memset(&m, 0, sizeof(m));
	memset(m.slot_key, 0xff, sizeof(m.slot_key));
	model_keys(cap);
	for (int op = 0; op < 60000; op++) {
		unsigned i = (unsigned)random() % NKEYS;
		int r = (int)(random() % 100);
		void *v;

		now += (uint64_t)(random() % 3);
		if (r < 18) { /* an entry; some wide, some never idle */
			uintptr_t val = 0x10000 + (uintptr_t)op * NKEYS + i; /* names key i */
			uint64_t to = 20 + (uint64_t)(random() % 200);

			if (random() % 8 == 0)
				to = UINT64_MAX;
			else if (random() % 8 == 0)
				to += 1ULL << 32;
			int rc = nc_flow_add(t, &mkeys[i], (void *)val, now, to);
			int want = m.kind[i] != M_OUT ? -EEXIST : m.count >= cap ? -ENOSPC : 0;

			cr_assert_eq(rc, want, "op %d add key %u: %d want %d (seed %lu)", op, i, rc,
				     want, seed);
			if (rc == 0) {
				m.kind[i] = M_ENTRY;
				m.value[i] = val;
				m.last_seen[i] = now;
				m.timeout[i] = to;
				m.count++;
			}
		} else if (r < 36) { /* an object flow: a free (object, which) gets key i */
			unsigned o = (unsigned)random() % NOBJS, w = (unsigned)random() % 2;
			int rc, want;

			if (m.slot_key[o][w] >= 0) {
				/* already in: its key is present */
				rc = nc_flow_add_object(t, o, w);
				cr_assert_eq(rc, -EEXIST, "op %d re-add object %u/%u: %d (seed %lu)", op,
					     o, w, rc, seed);
				continue;
			}
			objs[o].k[w] = mkeys[i];
			rc = nc_flow_add_object(t, o, w);
			want = m.kind[i] != M_OUT ? -EEXIST : m.count >= cap ? -ENOSPC : 0;
			cr_assert_eq(rc, want, "op %d add object %u/%u key %u: %d want %d (seed %lu)",
				     op, o, w, i, rc, want, seed);
			if (rc == 0) {
				m.kind[i] = M_OBJ;
				m.obj[i] = o;
				m.which[i] = w;
				m.slot_key[o][w] = (int)i;
				m.count++;
				m.objs++;
			}
		} else if (r < 56) {
			void *want = m.kind[i] != M_OUT ? model_value(i) : NULL;
			int rc = nc_flow_delete(t, &mkeys[i], &v);

			cr_assert_eq(rc, want ? 0 : -ENOENT, "op %d delete %u (seed %lu)", op, i, seed);
			if (rc == 0) {
				cr_assert_eq(v, want, "op %d delete %u: value (seed %lu)", op, i, seed);
				model_remove(i);
			}
		} else if (r < 70) {
			int rc = nc_flow_lookup(t, &mkeys[i], now, &v);

			cr_assert_eq(rc, m.kind[i] != M_OUT ? 0 : -ENOENT, "op %d lookup %u (seed %lu)",
				     op, i, seed);
			if (rc == 0) {
				cr_assert_eq(v, model_value(i), "op %d lookup %u: value (seed %lu)", op, i,
					     seed);
				if (m.kind[i] == M_ENTRY && m.timeout[i] != UINT64_MAX &&
				    now > m.last_seen[i])
					m.last_seen[i] = now;
			}
		} else if (r < 86) {
			const struct nc_flow_key *kp[NC_FLOW_BULK_MAX];
			void *vals[NC_FLOW_BULK_MAX];
			unsigned idx[NC_FLOW_BULK_MAX], n = 1 + (unsigned)random() % NC_FLOW_BULK_MAX;
			uint64_t mask;
			int hits = 0;

			for (unsigned j = 0; j < n; j++) {
				idx[j] = (unsigned)random() % NKEYS;
				kp[j] = &mkeys[idx[j]];
			}
			int rc = nc_flow_lookup_bulk(t, kp, n, now, vals, &mask);
			for (unsigned j = 0; j < n; j++) {
				unsigned x = idx[j];
				bool p = m.kind[x] != M_OUT;

				hits += p;
				cr_assert_eq(!!(mask & (1ULL << j)), p,
					     "op %d bulk [%u] key %u (seed %lu)", op, j, x, seed);
				cr_assert_eq(vals[j], p ? model_value(x) : NULL,
					     "op %d bulk [%u] key %u: value (seed %lu)", op, j, x, seed);
				if (p && m.kind[x] == M_ENTRY && m.timeout[x] != UINT64_MAX &&
				    now > m.last_seen[x])
					m.last_seen[x] = now;
			}
			cr_assert_eq(rc, hits, "op %d bulk hits (seed %lu)", op, seed);
		} else if (r < 92) {
			struct nc_flow_entry_info info;
			int rc = nc_flow_get(t, &mkeys[i], &info);

			cr_assert_eq(rc, m.kind[i] != M_OUT ? 0 : -ENOENT, "op %d get %u (seed %lu)", op,
				     i, seed);
			if (rc == 0) {
				bool o = m.kind[i] == M_OBJ;

				cr_assert_eq(info.value, model_value(i));
				cr_assert_eq(info.last_seen, o ? 0 : m.last_seen[i],
					     "op %d get %u: last_seen (seed %lu)", op, i, seed);
				cr_assert_eq(info.timeout, o ? UINT64_MAX : m.timeout[i],
					     "op %d get %u: timeout (seed %lu)", op, i, seed);
			}
		} else if (r < 96) {
			uint64_t to = 20 + (uint64_t)(random() % 200);
			int rc = nc_flow_set_timeout(t, &mkeys[i], to, now);
			int want = m.kind[i] == M_OUT ? -ENOENT : m.kind[i] == M_OBJ ? -EOPNOTSUPP : 0;

			cr_assert_eq(rc, want, "op %d set_timeout %u: %d want %d (seed %lu)", op, i, rc,
				     want, seed);
			if (rc == 0) {
				if (now > m.last_seen[i])
					m.last_seen[i] = now;
				m.timeout[i] = to;
			}
		} else if (r < 98) {
			/* a full expiry pass: every idle entry goes, no object flow */
			unsigned want = 0;

			cb_calls = cb_object_keys = 0;
			for (unsigned j = 0; j < NKEYS; j++) {
				if (m.kind[j] == M_ENTRY && now - m.last_seen[j] >= m.timeout[j]) {
					model_remove(j);
					want++;
				}
			}
			int rc = nc_flow_expire(t, now, cap + 16, expire_cb, NULL);
			cr_assert_eq(rc, (int)want, "op %d expire %d want %u (seed %lu)", op, rc, want,
				     seed);
			cr_assert_eq(cb_object_keys, 0, "op %d expire offered an object flow (seed %lu)",
				     op, seed);
		} else {
			model_iterate(op, seed, t);
		}
		cr_assert_eq(nc_flow_count(t), m.count, "op %d count (seed %lu)", op, seed);
		cr_assert_eq(nc_flow_object_count(t), m.objs, "op %d object count (seed %lu)", op,
			     seed);
		cr_assert_eq(entry_freed, m.entry_freed, "op %d entry frees (seed %lu)", op, seed);
		if (op % 64 == 0)
			for (unsigned o = 0; o < NOBJS; o++)
				cr_assert_eq(obj_freed[o], m.freed[o],
					     "op %d object %u freed %u times, want %u (seed %lu)", op,
					     o, obj_freed[o], m.freed[o], seed);
	}
	model_iterate(-1, seed, t);
	for (unsigned o = 0; o < NOBJS; o++)
		cr_assert_eq(obj_freed[o], m.freed[o], "object %u freed %u times, want %u (seed %lu)",
			     o, obj_freed[o], m.freed[o], seed);
	/* at free: every flow still present, once */
	for (unsigned i = 0; i < NKEYS; i++)
		if (m.kind[i] != M_OUT)
			model_remove(i);
	nc_flow_free(t);
	for (unsigned o = 0; o < NOBJS; o++)
		cr_assert_eq(obj_freed[o], m.freed[o], "at free: object %u freed %u, want %u", o,
			     obj_freed[o], m.freed[o]);
	cr_assert_eq(entry_freed, m.entry_freed);
	cr_assert_gt(key_calls, 0);
	objs_release();
}

/* Capacity 120: 20 buckets, so overflow chains are common. */
Test(fobj_random, against_reference_model)
{
	model_run("model", 120, 0);
}

Test(fobj_random, against_reference_model_larger)
{
	model_run("model 600", 600, 0);
}

Test(fobj_random, against_reference_model_wide)
{
	model_run("model wide", 120, NC_FLOW_F_WIDE);
}

Test(fobj_random, against_reference_model_prefetch_values_multi_writer)
{
	model_run("model prefetch+mw", 120, NC_FLOW_F_PREFETCH_VALUES | NC_FLOW_F_MULTI_WRITER);
}
