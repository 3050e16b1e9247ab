/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Object flows of the flow table (nc_flow.h, struct nc_flow_objects and
 * nc_flow_add_object): bad arguments, what an object flow reports (value =
 * the object's address, no time, never idle, freed at once), the slot
 * encoding at the limits (index up to 2^30 - 1, stride up to 2^24), and
 * keys that share bucket and signature (so that only the full compare with
 * the object's key tells them apart).  The random runs against a reference
 * model are in test_flow_objects_model.c; the entry-only tests in
 * test_flow.c.
 */
#include "flow_objects_util.h"

TestSuite(fobj_args, .init = eal_up, .fini = eal_down);
TestSuite(fobj, .init = eal_up, .fini = eal_down);

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
