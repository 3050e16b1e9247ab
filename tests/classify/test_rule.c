/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The classifier's API: bad arguments first, then behaviour on hand-built
 * rules, for both backends (the same test runs on each).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "testutil.h"

static struct cls_rule v4rule(uint32_t id, int32_t prio, uint32_t slo, uint32_t shi,
			      uint16_t dplo, uint16_t dphi, uint8_t proto, uint8_t mask)
{
	struct cls_rule r;
	memset(&r, 0, sizeof(r));
	r.family = CLS_IPV4;
	r.id = id;
	r.priority = prio;
	r.src_lo.v4 = slo;
	r.src_hi.v4 = shi;
	r.dst_hi.v4 = UINT32_MAX;
	r.sport_hi = 65535;
	r.dport_lo = dplo;
	r.dport_hi = dphi;
	r.proto = proto;
	r.proto_mask = mask;
	r.udata = (void *)(uintptr_t)(id + 1000);
	return r;
}

static struct cls_key v4key(uint32_t src, uint16_t dport, uint8_t proto)
{
	struct cls_key k;
	memset(&k, 0, sizeof(k));
	k.family = CLS_IPV4;
	k.src.v4 = src;
	k.dst.v4 = 0x01020304;
	k.sport = 1234;
	k.dport = dport;
	k.proto = proto;
	return k;
}

static uint32_t answer(const struct cls *c, struct cls_key k)
{
	struct cls_match m;
	int hit = cls_lookup(c, &k, &m);
	cr_assert_eq(hit, m.id != CLS_NO_MATCH);
	if (!hit)
		cr_assert_null(m.udata);
	return m.id;
}

/* ---- bad arguments ---- */

Test(rule_args, create)
{
	struct cls *c = NULL;
	struct cls_config cfg = {.backend = CLS_BACKEND_TRIE};
	cr_assert_eq(cls_create(NULL, &c), -EINVAL);
	cr_assert_eq(cls_create(&cfg, NULL), -EINVAL);
	cfg.backend = (enum cls_backend)7;
	cr_assert_eq(cls_create(&cfg, &c), -EINVAL);
	struct cls_reclaim half = {.start = NULL, .done = NULL};
	cfg.backend = CLS_BACKEND_TRIE;
	cfg.reclaim = &half;
	cr_assert_eq(cls_create(&cfg, &c), -EINVAL);
	cr_assert_null(c);
	cls_free(NULL); /* NULL-safe */
}

static const enum cls_backend backends[] = {CLS_BACKEND_TRIE, CLS_BACKEND_LINEAR};

ParameterizedTestParameters(rule_args, bad_rules)
{
	return cr_make_param_array(enum cls_backend, backends, 2);
}

ParameterizedTest(const enum cls_backend *be, rule_args, bad_rules)
{
	struct cls *c = tu_create(*be, NULL);
	struct cls_rule r = v4rule(1, 0, 0, 10, 0, 65535, 0, 0);
	const char *why = NULL;

	cr_assert_eq(cls_insert(NULL, &r), -EINVAL);
	cr_assert_eq(cls_insert(c, NULL), -EINVAL);
	struct cls_rule bad = r;
	bad.family = 5;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	cr_assert_eq(cls_rule_check(&bad, &why), -EINVAL);
	cr_assert_str_eq(why, "unknown address family");
	bad = r;
	bad.src_lo.v4 = 11;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	bad = r;
	bad.sport_lo = 2;
	bad.sport_hi = 1;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	bad = r;
	bad.dport_lo = 9;
	bad.dport_hi = 8;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	bad = r;
	bad.id = CLS_NO_MATCH;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	bad = r;
	bad.family = CLS_IPV6;
	bad.src_lo.v6.hi = 2;
	bad.src_hi.v6.hi = 1;
	cr_assert_eq(cls_insert(c, &bad), -EINVAL);
	cr_assert_eq(cls_rule_check(&r, &why), 0);
	cr_assert_null(why);

	cr_assert_eq(cls_insert(c, &r), 0);
	cr_assert_eq(cls_insert(c, &r), -EEXIST, "same id while staged");
	cls_publish(c);
	cr_assert_eq(cls_insert(c, &r), -EEXIST, "same id once published");
	cr_assert_eq(cls_delete(c, 99), -ENOENT);
	cr_assert_eq(cls_delete(NULL, 1), -EINVAL);
	cr_assert_eq(cls_delete(c, 1), 0);
	cr_assert_eq(cls_delete(c, 1), -ENOENT, "deletion already staged");
	cls_publish(c);

	/* a batch with a bad rule applies nothing */
	struct cls_rule batch[3] = {v4rule(10, 0, 0, 5, 0, 65535, 0, 0),
				    v4rule(11, 0, 0, 5, 0, 65535, 0, 0),
				    v4rule(10, 0, 6, 9, 0, 65535, 0, 0)};
	size_t failed = 99;
	cr_assert_eq(cls_insert_batch(c, batch, 3, &failed), -EEXIST);
	cr_assert_eq(failed, 2);
	struct cls_stats st;
	cls_stats(c, &st);
	cr_assert_eq(st.rules, 0);
	cr_assert_eq(st.staged, 0);
	cr_assert_eq(answer(c, v4key(3, 80, 6)), CLS_NO_MATCH);
	batch[2].src_lo.v4 = 9;
	batch[2].src_hi.v4 = 6;
	cr_assert_eq(cls_insert_batch(c, batch, 3, &failed), -EINVAL);
	cr_assert_eq(failed, 2);
	cr_assert_eq(cls_insert_batch(c, NULL, 1, NULL), -EINVAL);
	/* a batch needs nothing else staged */
	cr_assert_eq(cls_insert(c, &r), 0);
	cr_assert_eq(cls_insert_batch(c, batch, 2, NULL), -EBUSY);
	cls_publish(c);
	cr_assert_eq(cls_insert_batch(c, batch, 2, NULL), 0);
	cls_stats(c, &st);
	cr_assert_eq(st.rules, 3);
	cls_free(c);
}

/* ---- behaviour ---- */

ParameterizedTestParameters(rule, behaviour)
{
	return cr_make_param_array(enum cls_backend, backends, 2);
}

ParameterizedTest(const enum cls_backend *be, rule, behaviour)
{
	struct cls *c = tu_create(*be, NULL);

	/* the architecture note's example: two nested ranges, three intervals */
	struct cls_rule wide = v4rule(1, 10, 0x0A000000, 0x0A0000FF, 0, 65535, 6, 0xFF);
	struct cls_rule narrow = v4rule(2, 20, 0x0A00000A, 0x0A000014, 0, 65535, 6, 0xFF);
	cr_assert_eq(cls_insert(c, &wide), 0);
	cr_assert_eq(cls_insert(c, &narrow), 0);
	cr_assert_eq(answer(c, v4key(0x0A00000B, 80, 6)), CLS_NO_MATCH, "staged: invisible");
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0A000009, 80, 6)), 1);
	cr_assert_eq(answer(c, v4key(0x0A00000A, 80, 6)), 2, "range start is inclusive");
	cr_assert_eq(answer(c, v4key(0x0A000014, 80, 6)), 2, "range end is inclusive");
	cr_assert_eq(answer(c, v4key(0x0A000015, 80, 6)), 1);
	cr_assert_eq(answer(c, v4key(0x0A000100, 80, 6)), CLS_NO_MATCH);
	cr_assert_eq(answer(c, v4key(0x0A00000B, 80, 17)), CLS_NO_MATCH, "protocol");

	/* equal priority: the lowest id wins, whatever the insertion order */
	struct cls_rule tie_hi = v4rule(9, 20, 0x0A000000, 0x0A0000FF, 0, 65535, 0, 0);
	struct cls_rule tie_lo = v4rule(3, 20, 0x0A000010, 0x0A000010, 0, 65535, 0, 0);
	cr_assert_eq(cls_insert(c, &tie_hi), 0);
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0A000012, 80, 6)), 2, "id 2 < id 9 at priority 20");
	cr_assert_eq(answer(c, v4key(0x0A000030, 80, 17)), 9);
	cr_assert_eq(cls_insert(c, &tie_lo), 0);
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0A000010, 80, 6)), 2);
	cr_assert_eq(answer(c, v4key(0x0A000010, 80, 17)), 3);

	/* user data comes back */
	struct cls_match m;
	struct cls_key k = v4key(0x0A000010, 80, 17);
	cr_assert_eq(cls_lookup(c, &k, &m), 1);
	cr_assert_eq(m.udata, (void *)(uintptr_t)1003);
	cr_assert_eq(m.priority, 20);

	/* a deletion shows at publish; a batch is atomic */
	cr_assert_eq(cls_delete(c, 2), 0);
	cr_assert_eq(answer(c, v4key(0x0A00000B, 80, 6)), 2, "deletion staged only");
	struct cls_rule repl = v4rule(4, 30, 0x0A00000B, 0x0A00000B, 0, 65535, 6, 0xFF);
	cr_assert_eq(cls_insert(c, &repl), 0);
	cr_assert_eq(answer(c, v4key(0x0A00000B, 80, 6)), 2);
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0A00000B, 80, 6)), 4);
	cr_assert_eq(answer(c, v4key(0x0A00000C, 80, 6)), 9);

	/* deleting a staged insert cancels it; the id is free again */
	struct cls_rule tmp = v4rule(50, 100, 0, UINT32_MAX, 0, 65535, 0, 0);
	cr_assert_eq(cls_insert(c, &tmp), 0);
	cr_assert_eq(cls_delete(c, 50), 0);
	cr_assert_eq(cls_insert(c, &tmp), 0);
	cr_assert_eq(cls_delete(c, 50), 0);
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x7F000001, 80, 6)), CLS_NO_MATCH);

	/* ports and protocol masks */
	struct cls_rule ports = v4rule(60, 5, 0x0B000000, 0x0BFFFFFF, 1000, 2000, 0x10, 0xF0);
	cr_assert_eq(cls_insert(c, &ports), 0);
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0B000001, 999, 17)), CLS_NO_MATCH);
	cr_assert_eq(answer(c, v4key(0x0B000001, 1000, 17)), 60, "17 & 0xf0 == 0x10");
	cr_assert_eq(answer(c, v4key(0x0B000001, 2000, 0x1F)), 60);
	cr_assert_eq(answer(c, v4key(0x0B000001, 2001, 17)), CLS_NO_MATCH);
	cr_assert_eq(answer(c, v4key(0x0B000001, 1500, 6)), CLS_NO_MATCH);
	struct cls_rule odd = v4rule(61, 5, 0x0C000000, 0x0C000000, 0, 65535, 0x01, 0x01);
	cr_assert_eq(cls_insert(c, &odd), 0); /* odd protocols: 128 boxes */
	cls_publish(c);
	cr_assert_eq(answer(c, v4key(0x0C000000, 1, 17)), 61);
	cr_assert_eq(answer(c, v4key(0x0C000000, 1, 6)), CLS_NO_MATCH);
	cr_assert_eq(answer(c, v4key(0x0C000000, 1, 255)), 61);

	/* an unknown family matches nothing */
	k.family = 9;
	cr_assert_eq(cls_lookup(c, &k, &m), 0);
	cr_assert_eq(m.id, CLS_NO_MATCH);
	cls_free(c);
}

ParameterizedTestParameters(rule, ipv6_and_both_families)
{
	return cr_make_param_array(enum cls_backend, backends, 2);
}

ParameterizedTest(const enum cls_backend *be, rule, ipv6_and_both_families)
{
	struct cls *c = tu_create(*be, NULL);
	struct cls_rule r6;
	memset(&r6, 0, sizeof(r6));
	r6.family = CLS_IPV6;
	r6.id = 1;
	r6.priority = 1;
	r6.src_lo.v6 = (struct cls_ip6){0x20010db800000000ull, 0};          /* 2001:db8::/32 */
	r6.src_hi.v6 = (struct cls_ip6){0x20010db8ffffffffull, UINT64_MAX};
	r6.dst_hi.v6 = (struct cls_ip6){UINT64_MAX, UINT64_MAX};
	r6.sport_hi = r6.dport_hi = 65535;
	struct cls_rule range6 = r6; /* an arbitrary range across words: several boxes */
	range6.id = 2;
	range6.priority = 2;
	range6.src_lo.v6 = (struct cls_ip6){0x20010db800000001ull, 0x8000000000000005ull};
	range6.src_hi.v6 = (struct cls_ip6){0x20010db800000003ull, 0x0000000000000007ull};
	struct cls_rule any4 = v4rule(3, 0, 0, UINT32_MAX, 0, 65535, 0, 0);
	cr_assert_eq(cls_insert(c, &r6), 0);
	cr_assert_eq(cls_insert(c, &range6), 0);
	cr_assert_eq(cls_insert(c, &any4), 0);
	cls_publish(c);

	struct cls_key k;
	memset(&k, 0, sizeof(k));
	k.family = CLS_IPV6;
	k.src.v6 = (struct cls_ip6){0x20010db812345678ull, 1};
	cr_assert_eq(answer(c, k), 1);
	k.src.v6 = (struct cls_ip6){0x20010db800000001ull, 0x8000000000000004ull};
	cr_assert_eq(answer(c, k), 1, "just below the range");
	k.src.v6.lo++;
	cr_assert_eq(answer(c, k), 2, "range start");
	k.src.v6 = (struct cls_ip6){0x20010db800000002ull, 0};
	cr_assert_eq(answer(c, k), 2, "middle word");
	k.src.v6 = (struct cls_ip6){0x20010db800000003ull, 7};
	cr_assert_eq(answer(c, k), 2, "range end");
	k.src.v6.lo++;
	cr_assert_eq(answer(c, k), 1);
	k.src.v6 = (struct cls_ip6){0x20010db900000000ull, 0};
	cr_assert_eq(answer(c, k), CLS_NO_MATCH, "an IPv4 wildcard never matches IPv6");
	cr_assert_eq(answer(c, v4key(0x01020304, 80, 6)), 3);
	cls_free(c);
}

Test(rule, bulk_equals_single_any_n)
{
	struct cls *c = tu_create(CLS_BACKEND_TRIE, NULL);
	for (uint32_t i = 0; i < 200; i++) {
		struct cls_rule r = v4rule(i, (int32_t)i, i * 16, i * 16 + 7, 0, 65535, 0, 0);
		cr_assert_eq(cls_insert(c, &r), 0);
	}
	cls_publish(c);
	struct cls_key keys[100];
	const struct cls_key *kp[100];
	struct cls_match m[100];
	for (unsigned i = 0; i < 100; i++) {
		keys[i] = v4key(i * 37, 1, 6);
		kp[i] = &keys[i];
	}
	for (unsigned n = 0; n <= 100; n += 7) {
		unsigned hits = cls_lookup_bulk(c, kp, n, m), want = 0;
		for (unsigned i = 0; i < n; i++) {
			uint32_t a = answer(c, keys[i]);
			cr_assert_eq(m[i].id, a);
			want += a != CLS_NO_MATCH;
		}
		cr_assert_eq(hits, want);
	}
	cr_assert_str_eq(cls_backend_name(c), "trie");
	cr_assert(strcmp(cls_simd_name(c), "scalar") == 0 || strcmp(cls_simd_name(c), "avx512") == 0);
	cls_free(c);
}

Test(rule, stats_and_memory_return_to_zero_garbage)
{
	struct tu_qsbr q;
	tu_qsbr_init(&q, 1);
	struct cls_reclaim h = tu_qsbr_hook(&q);
	struct cls *c = tu_create(CLS_BACKEND_TRIE, &h);
	struct cls_stats st0, st;
	cls_stats(c, &st0);
	for (uint32_t i = 0; i < 100; i++) {
		struct cls_rule r = v4rule(i, 0, i * 1000, i * 1000 + 500, 0, 65535, 6, 0xFF);
		cr_assert_eq(cls_insert(c, &r), 0);
	}
	cls_publish(c);
	for (uint32_t i = 0; i < 100; i++)
		cr_assert_eq(cls_delete(c, i), 0);
	cls_publish(c);
	/* the reader has not passed a quiescent state: memory stays retired */
	cr_assert_eq(cls_reclaim(c, false) > 0 || q.seen[0] != 0, true);
	cls_stats(c, &st);
	cr_assert_gt(st.memory_bytes, st0.memory_bytes);
	tu_qsbr_quiescent(&q, 0);
	cls_reclaim(c, false);   /* unlinks (grace over), retires the nodes */
	tu_qsbr_quiescent(&q, 0);
	cr_assert_eq(cls_reclaim(c, false), 0, "everything freed once readers moved on");
	cls_reclaim(c, true); /* and the node cache given back */
	cls_stats(c, &st);
	cr_assert_eq(st.memory_bytes, st0.memory_bytes, "%llu != %llu",
		     (unsigned long long)st.memory_bytes, (unsigned long long)st0.memory_bytes);
	cr_assert_eq(st.partitions, 0);
	cls_free(c);
}
