/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_session: bad arguments, mappings by both keys, sessions, the three
 * filtering modes, expiry (and the mapping-freed callback, and the
 * caller's later record of a session's use), times past 2^32, then random
 * operations against a simple list model; full tables of 1..40 entries; a
 * 200,000-entry table at full load with churn.  The differential test
 * against a reference model and the walks are in
 * test_nat_session_{differential,walks}.c.  NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_session.h"
#include "nat_tcp.h"
#include "nat_test_util.h"

static struct nat_mapping freed[64];
static int n_freed;

static void on_freed(void *ctx, const struct nat_mapping *m, uint64_t now)
{
	(void)ctx;
	(void)now;
	if (n_freed < 64)
		freed[n_freed] = *m;
	n_freed++;
}

static struct nat_session_table *mk(enum nat_filtering f, uint32_t n)
{
	struct nat_session_config c = {
		.max_mappings = n, .max_sessions = n, .filtering = f, .timeout_udp = 300,
		.timeout_tcp_est = 7440, .timeout_tcp_trans = 240, .timeout_icmp = 60,
		.mapping_freed = on_freed,
	};
	struct nat_session_table *t = NULL;

	n_freed = 0;
	cr_assert_eq(nat_session_create(&c, &t), 0);
	return t;
}

static const uint32_t IN = IP4(10, 0, 0, 5), OUT = IP4(198, 51, 100, 1),
		      R1 = IP4(192, 0, 2, 1), R2 = IP4(192, 0, 2, 2);

Test(nat_session, bad_arguments)
{
	struct nat_session_config c = {.max_mappings = 0, .max_sessions = 4};
	struct nat_session_table *t = (void *)1;
	struct nat_mapping *m;
	struct nat_sess *s;

	cr_assert_eq(nat_session_create(NULL, &t), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(nat_session_create(&c, &t), -EINVAL);
	c.max_mappings = 4;
	c.filtering = (enum nat_filtering)7;
	cr_assert_eq(nat_session_create(&c, &t), -EINVAL);
	t = mk(NAT_FILTER_EIF, 4);
	cr_assert_eq(nat_mapping_add(NULL, 17, IN, 1, OUT, 1, 0, 0, &m), -EINVAL);
	cr_assert_eq(nat_mapping_add(t, 17, IN, 1, OUT, 1, 0, 0, NULL), -EINVAL);
	cr_assert_eq(nat_sess_add(t, NULL, R1, 1, 0, &s), -EINVAL);
	cr_assert_eq(nat_mapping_delete(t, NULL, 0), -EINVAL);
	cr_assert_eq(nat_sess_delete(t, NULL, 0), -EINVAL);
	cr_assert_eq(nat_session_expire(t, 0, 0), -EINVAL);
	cr_assert_null(nat_mapping_find_in(NULL, 17, IN, 1));
	nat_session_free(t);
	nat_session_free(NULL);
}

Test(nat_session, mapping_both_keys_and_full)
{
	struct nat_session_table *t = mk(NAT_FILTER_APDF, 2);
	struct nat_mapping *m, *m2, *m3;

	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 5, &m), 0);
	cr_assert_eq(nat_mapping_find_in(t, 17, IN, 4000), m);
	cr_assert_eq(nat_mapping_find_out(t, 17, OUT, 4000), m);
	cr_assert_null(nat_mapping_find_in(t, 6, IN, 4000));
	cr_assert_null(nat_mapping_find_out(t, 17, OUT, 4001));
	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4002, 0, 5, &m2), -EEXIST);
	cr_assert_eq(nat_mapping_add(t, 17, IN, 4002, OUT, 4000, 0, 5, &m2), -EEXIST);
	cr_assert_eq(nat_mapping_add(t, 6, IN, 4000, OUT, 4000, 0, 5, &m2), 0);
	cr_assert_eq(nat_mapping_add(t, 1, IN, 7, OUT, 7, 0, 5, &m3), -ENOSPC);
	cr_assert_eq(nat_mapping_count(t), 2);
	cr_assert_eq(nat_mapping_delete(t, m, 9), 0);
	cr_assert_eq(n_freed, 1);
	cr_assert_eq(freed[0].in_port, 4000);
	cr_assert_null(nat_mapping_find_in(t, 17, IN, 4000));
	cr_assert_eq(nat_mapping_add(t, 1, IN, 7, OUT, 7, 0, 5, &m3), 0);
	nat_session_free(t);
}

Test(nat_session, filtering_modes)
{
	enum nat_filtering f;

	for (f = NAT_FILTER_EIF; f <= NAT_FILTER_APDF; f++) {
		struct nat_session_table *t = mk(f, 16);
		struct nat_mapping *m;
		struct nat_sess *s;

		cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 0, &m), 0);
		cr_assert_eq(nat_sess_add(t, m, R1, 53, 0, &s), 0);
		cr_assert_eq(nat_sess_add(t, m, R1, 53, 0, &s), -EEXIST);
		/* same endpoint: always */
		cr_assert(nat_session_filter_allows(t, m, R1, 53));
		/* same address, other port: EIF and ADF */
		cr_assert_eq(nat_session_filter_allows(t, m, R1, 54), f != NAT_FILTER_APDF);
		/* other address: EIF only */
		cr_assert_eq(nat_session_filter_allows(t, m, R2, 53), f == NAT_FILTER_EIF);
		nat_session_free(t);
	}
}

/* A mapping's sessions are found on its list up to two, in the index
 * past that (nat_session.h); growing past two and back, in any order of
 * removal, every live session is found, every gone one is not, duplicates
 * are refused, and nat_session_check (which checks that a mapping with
 * more than two sessions has all of them indexed) holds at every step. */
Test(nat_session, sessions_of_a_mapping_growing_and_shrinking)
{
	struct nat_session_table *t = mk(NAT_FILTER_APDF, 64);
	struct nat_mapping *m;
	struct nat_sess *s[8], *dup;
	bool live[8] = {false};

	cr_assert_eq(nat_mapping_add(t, 17, IN, 5000, OUT, 6000, 0, 1, &m), 0);
	for (unsigned round = 0; round < 3; round++) {
		/* grow to 8, one by one */
		for (unsigned k = 0; k < 8; k++) {
			if (live[k])
				continue;
			cr_assert_eq(nat_sess_add(t, m, R1 + k, (uint16_t)(53 + k), 2, &s[k]), 0);
			live[k] = true;
			cr_assert_eq(nat_session_check(t), 0, "round %u, add %u", round, k);
			cr_assert_eq(nat_sess_add(t, m, R1 + k, (uint16_t)(53 + k), 2, &dup), -EEXIST);
		}
		for (unsigned k = 0; k < 8; k++)
			cr_assert_eq(nat_sess_find(t, m, R1 + k, (uint16_t)(53 + k)), s[k]);
		/* shrink to 1 in an order that differs per round */
		for (unsigned j = 0; j < 7; j++) {
			unsigned k = (j * (round * 2 + 3)) % 8;

			if (!live[k])
				k = (k + 1) % 8;
			cr_assert(live[k]);
			cr_assert_eq(nat_sess_delete(t, s[k], 3), 0);
			live[k] = false;
			cr_assert_eq(nat_session_check(t), 0, "round %u, delete %u", round, k);
			for (unsigned q = 0; q < 8; q++) {
				struct nat_sess *f = nat_sess_find(t, m, R1 + q, (uint16_t)(53 + q));

				cr_assert_eq(f, live[q] ? s[q] : NULL, "round %u, session %u", round, q);
				cr_assert_eq(nat_session_filter_allows(t, m, R1 + q, (uint16_t)(53 + q)),
					     live[q]);
			}
			/* the same remote address, another port: a different session */
			cr_assert_null(nat_sess_find(t, m, R1 + k, 9));
		}
	}
	cr_assert_eq(nat_session_count(t), 1);
	nat_session_free(t);
}

Test(nat_session, expiry_frees_mapping_after_last_session)
{
	struct nat_session_table *t = mk(NAT_FILTER_APDF, 16);
	struct nat_mapping *m, *st;
	struct nat_sess *s1, *s2, *s3;

	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 0, &m), 0);
	cr_assert_eq(nat_sess_add(t, m, R1, 53, 100, &s1), 0);
	cr_assert_eq(nat_sess_add(t, m, R2, 53, 100, &s2), 0);
	cr_assert_eq(s1->timeout, 300);
	/* static mapping with a session: the mapping survives expiry */
	cr_assert_eq(nat_mapping_add(t, 6, IN, 80, OUT, 8080, NAT_MAP_STATIC, 0, &st), 0);
	cr_assert_eq(nat_sess_add(t, st, R1, 5555, 100, &s3), 0);
	cr_assert_eq(s3->timeout, 240); /* TCP CLOSED: transitory */
	s3->tcp_state = NAT_TCP_ESTABLISHED;
	nat_sess_refresh(t, s3, 100);
	cr_assert_eq(s3->timeout, 7440);
	nat_sess_refresh(t, s2, 250);
	cr_assert_eq(nat_session_expire(t, 399, 16), 0);
	cr_assert_eq(nat_session_expire(t, 400, 16), 1); /* s1 */
	cr_assert_eq(n_freed, 0);
	cr_assert_null(nat_sess_find(t, m, R1, 53));
	cr_assert_eq(nat_sess_find(t, m, R2, 53), s2);
	cr_assert_eq(nat_session_expire(t, 550, 16), 1); /* s2, and with it the mapping */
	cr_assert_eq(n_freed, 1);
	cr_assert_null(nat_mapping_find_out(t, 17, OUT, 4000));
	cr_assert_eq(nat_session_expire(t, 100 + 7440, 16), 1);
	cr_assert_eq(n_freed, 1); /* static: not freed */
	cr_assert_eq(nat_mapping_find_out(t, 6, OUT, 8080), st);
	cr_assert_eq(nat_session_count(t), 0);
	cr_assert_eq(nat_mapping_count(t), 1);
	nat_session_free(t);
}

/* session_last: the caller's later record of a session's use (ncnat's
 * session netchannel); user holds it here. */
static int n_last_calls;

static uint64_t user_last(void *ctx, const struct nat_sess *s)
{
	(void)ctx;
	n_last_calls++;
	return s->user;
}

static const struct nat_session_table *walk_table;

static int walk_last(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	(void)m;
	*(uint64_t *)arg = nat_sess_last(walk_table, s);
	return 0;
}

Test(nat_session, expiry_and_walks_catch_up_with_the_callers_last_use)
{
	struct nat_session_config c = {
		.max_mappings = 4, .max_sessions = 4, .filtering = NAT_FILTER_EIF,
		.timeout_udp = 300, .timeout_tcp_est = 7440, .timeout_tcp_trans = 240,
		.timeout_icmp = 60, .session_last = user_last,
	};
	struct nat_session_table *t = NULL;
	struct nat_mapping *m;
	struct nat_sess *s1, *s2;
	uint64_t cur = 0, seen = 0;

	cr_assert_eq(nat_session_create(&c, &t), 0);
	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 0, &m), 0);
	cr_assert_eq(nat_sess_add(t, m, R1, 53, 100, &s1), 0);
	cr_assert_eq(nat_sess_add(t, m, R2, 53, 100, &s2), 0);
	s1->user = 350; /* used at 350 */
	s2->user = 50;  /* the caller's record is older */
	n_last_calls = 0;
	cr_assert_eq(nat_session_expire(t, 399, 4), 0);
	cr_assert_eq(n_last_calls, 0, "asked although nothing looked idle");
	cr_assert_eq(nat_session_expire(t, 400, 4), 1); /* s2 only: s1 caught up */
	cr_assert_eq(n_last_calls, 2);
	cr_assert_null(nat_sess_find(t, m, R2, 53));
	cr_assert_eq(nat_sess_find(t, m, R1, 53), s1);
	cr_assert_eq(nat_sess_last(t, s1), 350);
	s1->user = 600;
	walk_table = t;
	cr_assert_eq(nat_session_walk(t, &cur, 4, walk_last, &seen), 1);
	cr_assert_eq(seen, 600, "a walk shows the caller's last use");
	cr_assert_eq(nat_session_expire(t, 899, 4), 0);
	cr_assert_eq(nat_session_expire(t, 900, 4), 1);
	cr_assert_eq(nat_session_count(t), 0);
	nat_session_free(t);
}

Test(nat_session, expire_budget_bounded)
{
	struct nat_session_table *t = mk(NAT_FILTER_EIF, 64);
	struct nat_mapping *m;
	struct nat_sess *s;
	int i, total = 0, calls = 0;

	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 0, &m), 0);
	for (i = 0; i < 64; i++)
		cr_assert_eq(nat_sess_add(t, m, R1, (uint16_t)i, 0, &s), 0);
	while (total < 64) {
		int n = nat_session_expire(t, 1000, 8);

		cr_assert_leq(n, 8);
		total += n;
		calls++;
	}
	cr_assert_eq(calls, 8);
	cr_assert_eq(nat_mapping_count(t), 0);
	nat_session_free(t);
}

/* random add/delete/find against an array model */
Test(nat_session, random_vs_model)
{
	uint64_t seed = nat_test_seed("nat_session random_vs_model");
	struct nat_session_table *t = mk(NAT_FILTER_APDF, 256);
	static struct {
		bool live;
		uint32_t nsess;
		bool sess[8];
	} mm[32];
	int it;

	memset(mm, 0, sizeof(mm));
	for (it = 0; it < 20000; it++) {
		uint64_t r = nat_rand(&seed);
		int k = (int)(r % 32), j = (int)((r >> 8) % 8);
		struct nat_mapping *m = nat_mapping_find_in(t, 17, IN + (uint32_t)k, 1000);
		struct nat_sess *s;

		cr_assert_eq(m != NULL, mm[k].live, "it %d", it);
		if (m)
			cr_assert_eq(nat_mapping_find_out(t, 17, OUT, (uint16_t)(2000 + k)), m);
		switch ((r >> 16) % 3) {
		case 0:
			if (!m) {
				cr_assert_eq(nat_mapping_add(t, 17, IN + (uint32_t)k, 1000, OUT,
							     (uint16_t)(2000 + k), 0, 0, &m), 0);
				mm[k].live = true;
			}
			if (mm[k].sess[j]) {
				cr_assert_eq(nat_sess_add(t, m, R1, (uint16_t)j, 0, &s), -EEXIST);
			} else {
				cr_assert_eq(nat_sess_add(t, m, R1, (uint16_t)j, 0, &s), 0);
				mm[k].sess[j] = true;
				mm[k].nsess++;
			}
			break;
		case 1:
			if (!m)
				break;
			s = nat_sess_find(t, m, R1, (uint16_t)j);
			cr_assert_eq(s != NULL, mm[k].sess[j]);
			if (s) {
				cr_assert_eq(nat_sess_delete(t, s, 0), 0);
				mm[k].sess[j] = false;
				if (--mm[k].nsess == 0)
					mm[k].live = false;
			}
			break;
		default:
			if (m) {
				cr_assert_eq(m->n_sessions, mm[k].nsess);
				if (((r >> 24) & 7) == 0) {
					cr_assert_eq(nat_mapping_delete(t, m, 0), 0);
					memset(&mm[k], 0, sizeof(mm[k]));
				}
			}
			break;
		}
	}
	nat_session_free(t);
}

/* Times past 2^32: exact after the base moves; a session older than the
 * new base reads the base, idle for any timeout below 2^31, and expires. */
Test(nat_session, last_use_past_2_32)
{
	struct nat_session_config c = {
		.max_mappings = 4, .max_sessions = 4, .filtering = NAT_FILTER_EIF,
		.timeout_udp = 300, .timeout_tcp_est = 7440, .timeout_tcp_trans = 240,
		.timeout_icmp = 60,
	};
	const uint64_t big = 3ull << 32;
	struct nat_session_table *t = NULL;
	struct nat_mapping *m;
	struct nat_sess *s1, *s2, *s3;

	cr_assert_eq(sizeof(struct nat_sess), 32);
	cr_assert_eq(nat_session_create(&c, &t), 0);
	cr_assert_eq(nat_mapping_add(t, 17, IN, 4000, OUT, 4000, 0, 0, &m), 0);
	cr_assert_eq(nat_sess_add(t, m, R1, 53, 100, &s1), 0);
	cr_assert_eq(nat_sess_add(t, m, R2, 53, UINT32_MAX, &s2), 0);
	cr_assert_eq(nat_sess_last(t, s1), 100);
	cr_assert_eq(nat_sess_last(t, s2), UINT32_MAX, "below 2^32: no base yet");
	nat_sess_touch(t, s2, (1ull << 32) + 5);
	cr_assert_eq(nat_sess_last(t, s2), (1ull << 32) + 5);
	cr_assert_eq(nat_sess_last(t, s1), (1ull << 31) + 5,
		     "older than the new base (2^31 behind the new time): the base");
	cr_assert_eq(nat_sess_add(t, m, IP4(192, 0, 2, 3), 53, big, &s3), 0);
	cr_assert_eq(nat_sess_last(t, s3), big);
	cr_assert_eq(nat_sess_last(t, s2), big - (1ull << 31), "older than the base: the base");
	cr_assert_eq(nat_sess_last(t, s1), big - (1ull << 31));
	nat_sess_touch(t, s1, big - 7); /* touch never goes back */
	cr_assert_eq(nat_sess_last(t, s1), big - 7);
	nat_sess_touch(t, s1, big - 9);
	cr_assert_eq(nat_sess_last(t, s1), big - 7);
	nat_sess_refresh(t, s3, big + 10);
	cr_assert_eq(nat_sess_last(t, s3), big + 10);
	/* s2 went idle long ago; s1 at big + 293, s3 at big + 310 */
	cr_assert_eq(nat_session_expire(t, big, 4), 1);
	cr_assert_null(nat_sess_find(t, m, R2, 53));
	cr_assert_not_null(nat_sess_find(t, m, R1, 53));
	cr_assert_eq(nat_session_expire(t, big + 292, 4), 0);
	cr_assert_eq(nat_session_expire(t, big + 293, 4), 1);
	cr_assert_eq(nat_session_expire(t, big + 309, 4), 0);
	cr_assert_eq(nat_session_expire(t, big + 310, 4), 1);
	cr_assert_eq(nat_session_count(t), 0);
	cr_assert_geq(nat_session_check(t), 0);
	nat_session_free(t);
}

/* ---- edge cases of the indexes ---- */

/* Tables of 1 .. 40 entries (one bucket's worth and around it): fill to
 * the last record, -ENOSPC, empty in a random order, refill. */
Test(nat_session, full_tables_of_every_small_size)
{
	uint64_t seed = nat_test_seed("nat_session full_tables_of_every_small_size");

	for (uint32_t n = 1; n <= 40; n++) {
		struct nat_session_table *t = mk(NAT_FILTER_APDF, n);
		struct nat_mapping *m[40], *x;
		struct nat_sess *s[40], *y;
		uint32_t order[40];

		for (int pass = 0; pass < 3; pass++) {
			for (uint32_t i = 0; i < n; i++) {
				cr_assert_eq(nat_mapping_add(t, 17, IN + i, 7, OUT, (uint16_t)(100 + i), 0, 0,
							     &m[i]), 0, "n %u i %u", n, i);
				cr_assert_eq(nat_sess_add(t, m[i], R1, (uint16_t)i, 0, &s[i]), 0);
			}
			cr_assert_eq(nat_mapping_add(t, 17, IN + n, 7, OUT, 99, 0, 0, &x), -ENOSPC);
			cr_assert_eq(nat_sess_add(t, m[0], R2, 1, 0, &y), -ENOSPC);
			cr_assert_eq(nat_mapping_add(t, 17, IN, 7, OUT, 99, 0, 0, &x), -EEXIST);
			cr_assert_eq(nat_session_check(t), 0);
			for (uint32_t i = 0; i < n; i++) {
				cr_assert_eq(nat_mapping_find_in(t, 17, IN + i, 7), m[i]);
				cr_assert_eq(nat_mapping_find_out(t, 17, OUT, (uint16_t)(100 + i)), m[i]);
				cr_assert_eq(nat_sess_find(t, m[i], R1, (uint16_t)i), s[i]);
				order[i] = i;
			}
			for (uint32_t i = n; i > 1; i--) {
				uint32_t j = (uint32_t)(nat_rand(&seed) % i), tmp = order[i - 1];

				order[i - 1] = order[j];
				order[j] = tmp;
			}
			for (uint32_t i = 0; i < n; i++) {
				cr_assert_eq(nat_sess_delete(t, s[order[i]], 0), 0);
				cr_assert_null(nat_mapping_find_in(t, 17, IN + order[i], 7));
				if (i % 4 == 0)
					cr_assert_eq(nat_session_check(t), 0);
			}
			cr_assert_eq(nat_mapping_count(t), 0);
			cr_assert_eq(nat_session_count(t), 0);
		}
		nat_session_free(t);
	}
}

/* The hash in full: 200,000 sessions (90% of the buckets' slots), half of
 * them deleted at random and added again, then a second table's worth of
 * churn; every key found, nothing in the overflow lists. */
Test(nat_session, large_table_full_churn)
{
	uint64_t seed = nat_test_seed("nat_session large_table_full_churn");
	const uint32_t N = 200000;
	struct nat_session_table *t = mk(NAT_FILTER_APDF, N);
	struct nat_mapping **m = calloc(N, sizeof(*m));
	struct nat_sess **s = calloc(N, sizeof(*s));
	uint32_t *key = calloc(N, sizeof(*key)), next = N;

	cr_assert(m && s && key);
	for (uint32_t i = 0; i < N; i++) {
		key[i] = i;
		cr_assert_eq(nat_mapping_add(t, 17, IP4(10, 0, 0, 0) + i / 64, (uint16_t)(1024 + i % 64),
					     OUT + i / 60000, (uint16_t)(1024 + i % 60000), 0, 0, &m[i]), 0);
		cr_assert_eq(nat_sess_add(t, m[i], R1 + i, 53, 0, &s[i]), 0);
	}
	cr_assert_eq(nat_session_check(t), 0);
	for (uint32_t round = 0; round < 4; round++) {
		for (uint32_t k = 0; k < N / 2; k++) {
			uint32_t i = (uint32_t)(nat_rand(&seed) % N), j = next++;

			cr_assert_eq(nat_sess_delete(t, s[i], 0), 0); /* the mapping goes with it */
			key[i] = j;
			cr_assert_eq(nat_mapping_add(t, 17, IP4(11, 0, 0, 0) + j / 64,
						     (uint16_t)(1024 + j % 64), OUT + 100 + j / 60000,
						     (uint16_t)(1024 + j % 60000), 0, 0, &m[i]), 0);
			cr_assert_eq(nat_sess_add(t, m[i], R2 + j, 53, 0, &s[i]), 0);
		}
		cr_assert_eq(nat_session_check(t), 0, "overflow entries or an inconsistency");
	}
	for (uint32_t i = 0; i < N; i++) {
		uint32_t j = key[i];
		bool old = j < N;
		uint32_t in = old ? IP4(10, 0, 0, 0) + j / 64 : IP4(11, 0, 0, 0) + j / 64;

		cr_assert_eq(nat_mapping_find_in(t, 17, in, (uint16_t)(1024 + j % 64)), m[i]);
		cr_assert_eq(nat_sess_find(t, m[i], (old ? R1 : R2) + j, 53), s[i]);
		cr_assert_null(nat_sess_find(t, m[i], (old ? R1 : R2) + j, 54));
	}
	nat_session_free(t);
	free(m);
	free(s);
	free(key);
}
