/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the flow table (lib/netchannel/nc_flow.h): random operations on
 * a small key space against a reference model, with wide IPv4 entries
 * (timeouts and a clock beyond 32 bits), the wide flag and the value
 * prefetch.  The seed is printed; NC_TEST_SEED=<n> replays.
 */
#include <criterion/criterion.h>

#include "flow_util.h"
#include "nc_flow.h"

TestSuite(flow_random, .init = eal_up, .fini = eal_down);

#define NKEYS 1024

struct model {
	bool present[NKEYS];
	uintptr_t value[NKEYS];
	uint64_t last_seen[NKEYS], timeout[NKEYS];
	unsigned count;
};

/* Random operations against the model.  now0: the clock's start (at 2^32
 * and beyond IPv4 keys get wide entries too); big_every: every big_every-th
 * add (0: none) has a timeout beyond 32 bits, so a wide IPv4 entry. */
static void model_run(const char *what, uint32_t flags, uint64_t now0, unsigned big_every)
{
	unsigned long seed = test_seed(what);
	const uint32_t cap = 600;
	struct nc_flow *t = make_table(cap, NULL, flags);
	static struct model m;
	struct nc_flow_key keys[NKEYS];
	uint64_t now = now0;
	unsigned removed_total = 0;

	srandom((unsigned)seed);
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < NKEYS; i++)
		key_n(&keys[i], i);
	for (int op = 0; op < 40000; op++) {
		unsigned i = (unsigned)random() % NKEYS;
		int r = (int)(random() % 100);
		void *v;

		now += (uint64_t)(random() % 3);
		if (r < 35) {
			uintptr_t val = 0x10000 + (uintptr_t)op;
			uint64_t to = 20 + (uint64_t)(random() % 200);

			if (big_every && random() % big_every == 0)
				to += 1ULL << 32;
			int rc = nc_flow_add(t, &keys[i], (void *)val, now, to);
			int want = m.present[i] ? -EEXIST : m.count >= cap ? -ENOSPC : 0;

			cr_assert_eq(rc, want, "op %d add key %u: %d want %d (seed %lu)", op, i, rc,
				     want, seed);
			if (rc == 0) {
				m.present[i] = true;
				m.value[i] = val;
				m.last_seen[i] = now;
				m.timeout[i] = to;
				m.count++;
			}
		} else if (r < 55) {
			int rc = nc_flow_delete(t, &keys[i], &v);

			cr_assert_eq(rc, m.present[i] ? 0 : -ENOENT, "op %d delete %u (seed %lu)", op,
				     i, seed);
			if (rc == 0) {
				cr_assert_eq((uintptr_t)v, m.value[i]);
				m.present[i] = false;
				m.count--;
				removed_total++;
			}
		} else if (r < 80) {
			int rc = nc_flow_lookup(t, &keys[i], now, &v);

			cr_assert_eq(rc, m.present[i] ? 0 : -ENOENT, "op %d lookup %u (seed %lu)", op,
				     i, seed);
			if (rc == 0) {
				cr_assert_eq((uintptr_t)v, m.value[i]);
				m.last_seen[i] = now;
			}
		} else if (r < 95) {
			const struct nc_flow_key *kp[32];
			void *vals[32];
			unsigned idx[32], n = 1 + (unsigned)random() % 32;
			uint64_t mask;
			int hits = 0;

			for (unsigned j = 0; j < n; j++) {
				idx[j] = (unsigned)random() % NKEYS;
				kp[j] = &keys[idx[j]];
			}
			int rc = nc_flow_lookup_bulk(t, kp, n, now, vals, &mask);
			for (unsigned j = 0; j < n; j++) {
				bool p = m.present[idx[j]];

				hits += p;
				cr_assert_eq(!!(mask & (1ULL << j)), p, "op %d bulk (seed %lu)", op, seed);
				cr_assert_eq((uintptr_t)vals[j], p ? m.value[idx[j]] : 0);
				if (p)
					m.last_seen[idx[j]] = now;
			}
			cr_assert_eq(rc, hits);
		} else {
			/* A full pass: every idle entry must go, no other. */
			unsigned want = 0;

			for (unsigned j = 0; j < NKEYS; j++) {
				if (m.present[j] && now - m.last_seen[j] >= m.timeout[j]) {
					m.present[j] = false;
					m.count--;
					want++;
				}
			}
			int rc = nc_flow_expire(t, now, cap + 16, NULL, NULL);
			cr_assert_eq(rc, (int)want, "op %d expire %d want %u (seed %lu)", op, rc, want,
				     seed);
			removed_total += want;
		}
		cr_assert_eq(nc_flow_count(t), m.count, "op %d count (seed %lu)", op, seed);
	}
	for (unsigned i = 0; i < NKEYS; i++) {
		void *v = NULL;
		struct nc_flow_entry_info info;

		cr_assert_eq(nc_flow_lookup(t, &keys[i], 0, &v), m.present[i] ? 0 : -ENOENT);
		if (m.present[i]) {
			cr_assert_eq(nc_flow_get(t, &keys[i], &info), 0);
			cr_assert_eq(info.last_seen, m.last_seen[i]);
		}
	}
	cr_assert_eq(freed_count, removed_total);
	nc_flow_free(t);
	cr_assert_eq(freed_count, removed_total + m.count);
}

Test(flow_random, against_reference_model)
{
	model_run("model", 0, 1, 0);
}

Test(flow_random, against_reference_model_wide_ipv4)
{
	model_run("model wide ipv4", 0, 1, 5);
	model_run("model clock beyond 32 bits", 0, 1ULL << 32, 0);
}

Test(flow_random, against_reference_model_wide_flag)
{
	model_run("model wide flag", NC_FLOW_F_WIDE, 1, 0);
}

/* The value prefetch is a hint: the same answers (the model's values are
 * not addresses; a prefetch never faults). */
Test(flow_random, against_reference_model_prefetch_values)
{
	model_run("model prefetch values", NC_FLOW_F_PREFETCH_VALUES, 1, 0);
}
