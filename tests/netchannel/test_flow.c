/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the flow table (lib/netchannel/nc_flow.h): bad arguments, then
 * behaviour (key helpers, add, lookup and delete, touch and timeouts,
 * entries that never idle out, bounded expiry with its callback, bulk
 * lookups with mixed hits).  Random runs, concurrency and the entry
 * layouts are in test_flow_{model,concurrency,layouts}.c; the fixture is
 * flow_util.h.
 */
#include <criterion/criterion.h>

#include "flow_util.h"
#include "nc_flow.h"

TestSuite(flow_args, .init = eal_up, .fini = eal_down);
TestSuite(flow, .init = eal_up, .fini = eal_down);

/* ---------------------------------------------------------------- bad args */

Test(flow_args, create)
{
	struct nc_flow_config cfg = {.entries = 16, .socket_id = -1};
	struct nc_flow *t, *t2;

	cr_assert_eq(nc_flow_create(NULL, &t), -EINVAL);
	cr_assert_eq(nc_flow_create(&cfg, NULL), -EINVAL);
	cfg.entries = 0;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	cfg.entries = (1u << 30) + 1;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL);
	cfg.entries = 16;
	cfg.flags = 0x100;
	cr_assert_eq(nc_flow_create(&cfg, &t), -EINVAL, "unknown flags are refused");
	cfg.flags = 0;
	cfg.name = "same";
	cr_assert_eq(nc_flow_create(&cfg, &t), 0);
	cr_assert_eq(nc_flow_create(&cfg, &t2), 0, "names are labels, not identities");
	nc_flow_free(t);
	nc_flow_free(t2);
	nc_flow_free(NULL);
}

Test(flow_args, calls)
{
	struct nc_flow *t = make_table(16, NULL, 0);
	struct nc_flow_key k, *kp[NC_FLOW_BULK_MAX + 1];
	struct nc_flow_entry_info info;
	void *v, *vals[NC_FLOW_BULK_MAX + 1];
	uint64_t cur = 0;

	key_n(&k, 1);
	for (unsigned i = 0; i <= NC_FLOW_BULK_MAX; i++)
		kp[i] = &k;
	cr_assert_eq(nc_flow_add(NULL, &k, V(1), 0, 1), -EINVAL);
	cr_assert_eq(nc_flow_add(t, NULL, V(1), 0, 1), -EINVAL);
	cr_assert_eq(nc_flow_delete(NULL, &k, NULL), -EINVAL);
	cr_assert_eq(nc_flow_delete(t, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup(NULL, &k, 0, &v), -EINVAL);
	cr_assert_eq(nc_flow_lookup(t, NULL, 0, &v), -EINVAL);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp,
					 NC_FLOW_BULK_MAX + 1, 0, vals, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, NULL, 1, 0, vals, NULL), -EINVAL);
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 0, NULL,
					 NULL), -EINVAL);
	cr_assert_eq(nc_flow_get(t, &k, NULL), -EINVAL);
	cr_assert_eq(nc_flow_get(t, &k, &info), -ENOENT);
	cr_assert_eq(nc_flow_set_timeout(NULL, &k, 1, 0), -EINVAL);
	cr_assert_eq(nc_flow_set_timeout(t, &k, 1, 0), -ENOENT);
	cr_assert_eq(nc_flow_expire(NULL, 0, 1, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_expire(t, 0, 0, NULL, NULL), -EINVAL);
	cr_assert_eq(nc_flow_iterate(t, NULL, &k, &v), -EINVAL);
	cr_assert_eq(nc_flow_iterate(t, &cur, &k, &v), -ENOENT);
	cr_assert_eq(nc_flow_delete(t, &k, NULL), -ENOENT);
	cr_assert_eq(nc_flow_count(NULL), 0);
	cr_assert_eq(nc_flow_capacity(t), 16);
	nc_flow_free(t);
}

/* ---------------------------------------------------------------- behaviour */

Test(flow, key_helpers)
{
	static const uint8_t pkt[] = {
		/* Ethernet */ 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
		/* IPv4 10.0.0.2 -> 198.51.100.7 UDP */
		0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 198, 51, 100, 7,
		/* UDP 5353 -> 53 len 8 */ 0x14, 0xe9, 0, 53, 0, 8, 0, 0};
	struct nc_pkt_info pi;
	struct nc_flow_key a, b, r, rr, zero;
	union cls_addr s = {.v4 = 0x0a000002}, d = {.v4 = 0xc6336407};

	cr_assert_eq(nc_parse(pkt, sizeof(pkt), 3, NC_LINK_ETHERNET, &pi), 0);
	cr_assert_eq(pi.status, NC_PARSE_OK);
	cr_assert(nc_flow_key_from_pkt(&a, &pi, pi.in_port));
	memset(&b, 0xff, sizeof(b));
	nc_flow_key_set(&b, 3, CLS_IPV4, 17, &s, &d, 5353, 53);
	cr_assert(!memcmp(&a, &b, sizeof(a)), "from_pkt and set agree, padding zero");
	cr_assert_eq(b.sport, 5353);
	cr_assert_eq(b.dport, 53);
	cr_assert_eq(b.zone, 3);
	cr_assert_eq(b.family, CLS_IPV4);
	cr_assert_eq(b.proto, 17);
	for (size_t i = 0; i < sizeof(b.pad); i++)
		cr_assert_eq(b.pad[i], 0);
	nc_flow_key_set(&b, 0xbeef, CLS_IPV6, 0xfe, &s, &d, 0xfffe, 0x8001);
	cr_assert(b.sport == 0xfffe && b.dport == 0x8001 && b.zone == 0xbeef &&
		  b.family == CLS_IPV6 && b.proto == 0xfe, "every field where it belongs");
	nc_flow_key_reverse(&r, &a);
	cr_assert_eq(r.sport, 53);
	cr_assert_eq(r.dst.v4, 0x0a000002);
	nc_flow_key_reverse(&rr, &r);
	cr_assert(!memcmp(&rr, &a, sizeof(a)));
	memset(&pi, 0, sizeof(pi));
	memset(&zero, 0, sizeof(zero));
	cr_assert(!nc_flow_key_from_pkt(&a, &pi, 0));
	cr_assert(!memcmp(&a, &zero, sizeof(a)));
}

Test(flow, add_lookup_delete)
{
	struct nc_flow *t = make_table(64, NULL, 0);
	struct nc_flow_key k;
	struct nc_flow_entry_info info;
	void *v = NULL;

	for (unsigned i = 0; i < 64; i++) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_add(t, &k, V(i), 10, 100), 0, "add %u", i);
	}
	cr_assert_eq(nc_flow_count(t), 64);
	key_n(&k, 5);
	cr_assert_eq(nc_flow_add(t, &k, V(99), 10, 100), -EEXIST);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), 0);
	cr_assert_eq(v, V(5), "-EEXIST left the value alone");
	key_n(&k, 64);
	cr_assert_eq(nc_flow_add(t, &k, V(64), 10, 100), -ENOSPC);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	key_n(&k, 7);
	cr_assert_eq(nc_flow_delete(t, &k, &v), 0);
	cr_assert_eq(v, V(7));
	cr_assert_eq(freed_count, 1, "no qsbr: freed at once");
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	cr_assert_eq(nc_flow_delete(t, &k, &v), -ENOENT);
	key_n(&k, 64);
	cr_assert_eq(nc_flow_add(t, &k, V(64), 10, 100), 0, "room again after a delete");
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.value, V(64));
	cr_assert_eq(info.last_seen, 10);
	cr_assert_eq(info.timeout, 100);
	nc_flow_free(t);
	cr_assert_eq(freed_count, 1 + 64, "free hands back every value");
}

Test(flow, touch_and_timeout)
{
	struct nc_flow *t = make_table(16, NULL, 0);
	struct nc_flow_key k, *kp[1] = {&k};
	struct nc_flow_entry_info info;
	void *v, *vals[1];
	uint64_t mask;

	key_n(&k, 3);
	cr_assert_eq(nc_flow_add(t, &k, V(3), 100, 50), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, 100, "now = 0 does not touch");
	cr_assert_eq(nc_flow_lookup(t, &k, 120, &v), 0);
	cr_assert_eq(nc_flow_lookup(t, &k, 110, &v), 0);
	cr_assert_eq(nc_flow_get(t, &k, &info), 0);
	cr_assert_eq(info.last_seen, 120, "never moves back");
	cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 130, vals,
					 &mask), 1);
	cr_assert_eq(mask, 1);
	cr_assert_eq(vals[0], V(3));
	cr_assert_eq(nc_flow_expire(t, 179, 100, NULL, NULL), 0, "idle 49 < 50");
	cr_assert_eq(nc_flow_set_timeout(t, &k, 10, 0), 0);
	cr_assert_eq(nc_flow_expire(t, 139, 100, NULL, NULL), 0, "idle 9 < 10");
	cr_assert_eq(nc_flow_expire(t, 140, 100, NULL, NULL), 1, "idle 10 >= 10");
	cr_assert_eq(nc_flow_lookup(t, &k, 0, &v), -ENOENT);
	cr_assert_eq(freed_count, 1);
	nc_flow_free(t);
}

/* An entry that never idles out keeps last_seen from its add (a hit writes
 * nothing to its line), in both layouts; giving it a finite timeout counts
 * as a use, so its idle time starts at the change, not at the add. */
Test(flow, never_idle_entries_are_not_touched)
{
	for (int wide = 0; wide < 2; wide++) {
		struct nc_flow *t = make_table(16, NULL, wide ? NC_FLOW_F_WIDE : 0);
		struct nc_flow_key k, *kp[1] = {&k};
		struct nc_flow_entry_info info;
		void *v, *vals[1];
		uint64_t mask;

		key_n(&k, 9);
		cr_assert_eq(nc_flow_add(t, &k, V(9), 100, UINT64_MAX), 0);
		cr_assert_eq(nc_flow_lookup(t, &k, 500, &v), 0);
		cr_assert_eq(v, V(9));
		cr_assert_eq(nc_flow_lookup_bulk(t, (const struct nc_flow_key *const *)kp, 1, 600,
						 vals, &mask), 1);
		cr_assert_eq(vals[0], V(9));
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 100, "wide %d: not touched", wide);
		cr_assert_eq(nc_flow_set_timeout(t, &k, 50, 1000), 0);
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 1000, "wide %d: the change is a use", wide);
		cr_assert_eq(nc_flow_expire(t, 1049, 16, NULL, NULL), 0, "idle 49 < 50 since the change");
		cr_assert_eq(nc_flow_lookup(t, &k, 1040, &v), 0);
		cr_assert_eq(nc_flow_get(t, &k, &info), 0);
		cr_assert_eq(info.last_seen, 1040, "wide %d: finite again: touched", wide);
		cr_assert_eq(nc_flow_expire(t, 1090, 16, NULL, NULL), 1);
		nc_flow_free(t);
	}
}

static bool veto_odd(const struct nc_flow_key *key, void *value, uint64_t last_seen, void *arg)
{
	(void)key;
	(void)last_seen;
	(*(unsigned *)arg)++;
	return (((uintptr_t)value) & 1) == 0;
}

Test(flow, expire_bounded_with_callback)
{
	struct nc_flow *t = make_table(1000, NULL, 0);
	struct nc_flow_key k;
	unsigned calls = 0, removed = 0, passes = 0;
	uint64_t cur = 0;
	void *v;
	int rc;

	for (unsigned i = 0; i < 1000; i++) {
		key_n(&k, i);
		/* even i idle at now = 1000, odd i have a long timeout */
		cr_assert_eq(nc_flow_add(t, &k, V(i), 0, (i & 1) ? 5000 : 1000), 0);
	}
	for (unsigned i = 0; i < 1000; i += 3) {
		key_n(&k, i);
		cr_assert_eq(nc_flow_set_timeout(t, &k, 1000, 0), 0);
	}
	/* Budget 64 per call: each call does bounded work; a pass of the
	 * whole table takes about capacity / 64 calls. */
	while (passes++ < 1000 / 64 + 2) {
		rc = nc_flow_expire(t, 1000, 64, veto_odd, &calls);
		cr_assert_geq(rc, 0);
		cr_assert_leq(rc, 64);
		removed += (unsigned)rc;
	}
	/* Idle: even i, and odd i that are multiples of 3 (timeout 1000), of
	 * which the callback keeps the odd values (V(i) is odd for odd i). */
	unsigned idle = 0, want_removed = 0;
	for (unsigned i = 0; i < 1000; i++) {
		bool is_idle = !(i & 1) || i % 3 == 0;

		idle += is_idle;
		want_removed += is_idle && !(i & 1);
	}
	cr_assert_eq(removed, want_removed);
	/* Every idle entry offered once; kept ones again when the cursor
	 * comes round. */
	cr_assert_geq(calls, idle);
	cr_assert_leq(calls, idle + (idle - want_removed), "calls %u", calls);
	cr_assert_eq(nc_flow_count(t), 1000 - want_removed);
	unsigned seen = 0;
	while (nc_flow_iterate(t, &cur, &k, &v) == 0) {
		seen++;
		cr_assert(((uintptr_t)v - 0x1000) & 1, "only odd values left");
	}
	cr_assert_eq(seen, 1000 - want_removed);
	cr_assert_eq(nc_flow_iterate(t, &cur, &k, &v), -ENOENT);
	nc_flow_free(t);
}

Test(flow, bulk_mixed_hits)
{
	struct nc_flow *t = make_table(256, NULL, 0);
	struct nc_flow_key keys[NC_FLOW_BULK_MAX];
	const struct nc_flow_key *kp[NC_FLOW_BULK_MAX];
	void *vals[NC_FLOW_BULK_MAX];
	uint64_t mask;

	for (unsigned i = 0; i < NC_FLOW_BULK_MAX; i++) {
		key_n(&keys[i], i);
		kp[i] = &keys[i];
		if (i % 3 == 0)
			cr_assert_eq(nc_flow_add(t, &keys[i], V(i), 0, 1), 0);
	}
	cr_assert_eq(nc_flow_lookup_bulk(t, kp, NC_FLOW_BULK_MAX, 0, vals, &mask), 22);
	for (unsigned i = 0; i < NC_FLOW_BULK_MAX; i++) {
		cr_assert_eq(!!(mask & (1ULL << i)), i % 3 == 0);
		cr_assert_eq(vals[i], i % 3 == 0 ? V(i) : NULL);
	}
	cr_assert_eq(nc_flow_lookup_bulk(t, kp, 0, 0, vals, &mask), 0);
	cr_assert_eq(mask, 0);
	nc_flow_free(t);
}
