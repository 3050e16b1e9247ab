/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Object flows of the flow table against a reference model: random runs
 * of entries and object flows, IPv4 and IPv6, colliding keys and family
 * twins (adds, deletes, single and bulk lookups, get, set_timeout, expiry,
 * iteration, free_value calls), with several table shapes.  Random tests
 * print their seed; NC_TEST_SEED=<n> replays one.
 */
#include "flow_objects_util.h"

TestSuite(fobj_random, .init = eal_up, .fini = eal_down);

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
