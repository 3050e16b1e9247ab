/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_session: bad arguments, mappings by both keys, sessions, the three
 * filtering modes, expiry (and the mapping-freed callback), then random
 * operations against a simple list model; a differential test against a
 * reference model with the table run full and collisions forced (one
 * primary bucket, one signature, few of both, one hash for every key;
 * expiry removes exactly the idle sessions of its budget's slots, in slot
 * order, whatever its batches, and its prefetch hints see live sessions);
 * walks resumed while the table changes; full tables of 1..40 entries; a
 * 200,000-entry table at full load with churn.  NC_SEED replays.
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

/*
 * ---- differential test against a reference model ----
 *
 * The model keeps mappings and sessions in arrays indexed by their keys
 * (small key domains, so adds collide with live keys and the table runs
 * full); every operation's result, every callback and the counts are
 * compared, and nat_session_check() checks the indexes.  hash_filter forces
 * collisions: all keys in one primary bucket, one signature, a handful of
 * buckets and signatures, or a single hash (everything in the overflow
 * list).  NC_SEED replays.
 */
#define RM_PROTOS 3
#define RM_ADDRS 40
#define RM_PORTS 24
#define RM_EP (RM_PROTOS * RM_ADDRS * RM_PORTS) /* endpoint keys per side */
#define RM_REM 48                               /* remote endpoints: 8 addrs x 6 ports */
#define RM_IN_BASE IP4(10, 1, 0, 0)
#define RM_OUT_BASE IP4(100, 64, 0, 0)
#define RM_REM_BASE IP4(203, 0, 113, 0)

static const uint8_t rm_proto[RM_PROTOS] = {6, 17, 1};

struct rm_map {
	bool live;
	uint8_t flags;
	uint32_t in_key, out_key;
	uint64_t created;
	struct nat_mapping *ptr;
	uint32_t nsess;
};

struct rm_sess {
	bool live;
	uint32_t map; /* model mapping */
	uint32_t rem;
	uint64_t last;
	uint32_t timeout;
	uint8_t tcp_state;
	struct nat_sess *ptr;
};

struct rm {
	struct nat_session_table *t;
	enum nat_filtering filt;
	uint32_t cap_m, cap_s;
	struct rm_map *maps;
	struct rm_sess *sess;
	int32_t by_in[RM_EP], by_out[RM_EP];
	int32_t *by_sess; /* [map * RM_REM + rem] */
	uint32_t n_maps, n_sess;
	uint32_t to[4];   /* udp, tcp_est, tcp_trans, icmp */
	uint64_t now;
	/* what the callbacks may do during the current call */
	bool expiring;
	int32_t want_sess; /* a delete: this session (or -1: any of want_map's) */
	int32_t want_map;
	uint32_t n_sess_freed, n_map_freed;
	/* expiry visits the slots from a cursor: the model's copy of it, and
	 * the slots the current expiry removed, in order */
	uint32_t cursor;
	uint32_t *gone;
	uint32_t n_gone;
	uint32_t n_prefetch[3]; /* session_prefetch calls by stage */
};

static int rm_mode;

static uint64_t rm_filter(uint64_t h)
{
	switch (rm_mode) {
	case 1: return h & 0xffffull;                        /* one primary bucket */
	case 2: return 0x123456789abcull;                    /* one hash */
	case 3: return (h & 0xffffffff00000000ull) | 7;      /* one signature */
	default: return h & 0xf000000000000003ull;           /* 16 buckets x 3 signatures */
	}
}

static uint8_t ep_proto(uint32_t k)
{
	return rm_proto[k / (RM_ADDRS * RM_PORTS)];
}

static uint32_t ep_addr(uint32_t base, uint32_t k)
{
	return base + (k / RM_PORTS) % RM_ADDRS;
}

static uint16_t ep_port(uint32_t k)
{
	return (uint16_t)(1000 + k % RM_PORTS);
}

static uint32_t ep_key(uint8_t proto, uint32_t base, uint32_t addr, uint16_t port)
{
	uint32_t pi = proto == 6 ? 0 : proto == 17 ? 1 : 2;

	return (pi * RM_ADDRS + (addr - base)) * RM_PORTS + (uint32_t)(port - 1000);
}

static uint32_t rem_addr_of(uint32_t r)
{
	return RM_REM_BASE + r / 6;
}

static uint16_t rem_port_of(const struct rm *M, uint32_t map, uint32_t r)
{
	return ep_proto(M->maps[map].in_key) == 1 ? 0 : (uint16_t)(5000 + r % 6);
}

static uint32_t rm_timeout(const struct rm *M, uint8_t proto, uint8_t st)
{
	switch (proto) {
	case 6: return st == NAT_TCP_ESTABLISHED ? M->to[1] : M->to[2];
	case 17: return M->to[0];
	default: return M->to[3];
	}
}

static bool rm_idle(const struct rm *M, const struct rm_sess *s)
{
	return M->now >= s->last && M->now - s->last >= s->timeout;
}

static void rm_drop_sess(struct rm *M, uint32_t i)
{
	struct rm_sess *s = &M->sess[i];

	M->by_sess[s->map * RM_REM + s->rem] = -1;
	M->maps[s->map].nsess--;
	s->live = false;
	M->n_sess--;
}

static void rm_drop_map(struct rm *M, uint32_t i)
{
	struct rm_map *m = &M->maps[i];

	M->by_in[m->in_key] = -1;
	M->by_out[m->out_key] = -1;
	m->live = false;
	M->n_maps--;
}

static void rm_sess_freed(void *ctx, struct nat_sess *s, const struct nat_mapping *m)
{
	struct rm *M = ctx;
	uint32_t i = s->user - 1;

	cr_assert_lt(i, M->cap_s, "a session the model does not know");
	cr_assert(M->sess[i].live && M->sess[i].ptr == s);
	cr_assert_eq(M->maps[M->sess[i].map].ptr, m, "session_freed: wrong mapping");
	if (M->expiring)
		cr_assert(rm_idle(M, &M->sess[i]), "expiry removed a session that is not idle");
	else if (M->want_sess >= 0)
		cr_assert_eq((int32_t)i, M->want_sess, "delete removed another session");
	else
		cr_assert_eq((int32_t)M->sess[i].map, M->want_map, "mapping delete: foreign session");
	if (M->expiring)
		M->gone[M->n_gone++] = nat_sess_index(M->t, s);
	rm_drop_sess(M, i);
	M->n_sess_freed++;
}

/* A hint only: during expiry, for a live session, with its mapping from
 * stage 1 on; it must change nothing (the rest of the test checks that). */
static void rm_sess_prefetch(void *ctx, const struct nat_sess *s, const struct nat_mapping *m,
			     unsigned stage)
{
	struct rm *M = ctx;
	uint32_t i = s->user - 1;

	cr_assert(M->expiring, "session_prefetch outside expiry");
	cr_assert_lt(stage, 3);
	cr_assert_lt(i, M->cap_s, "session_prefetch: a session the model does not know");
	cr_assert(M->sess[i].live && M->sess[i].ptr == s, "session_prefetch: not a live session");
	if (stage > 0)
		cr_assert_eq(M->maps[M->sess[i].map].ptr, m, "session_prefetch: wrong mapping");
	M->n_prefetch[stage]++;
}

static void rm_map_freed(void *ctx, const struct nat_mapping *m, uint64_t now)
{
	struct rm *M = ctx;
	int32_t i = M->by_in[ep_key(m->proto, RM_IN_BASE, m->in_addr, m->in_port)];

	cr_assert_geq(i, 0, "mapping_freed: unknown mapping");
	cr_assert_eq(M->maps[i].ptr, m);
	cr_assert_eq(now, M->now);
	cr_assert(!(M->maps[i].flags & NAT_MAP_STATIC), "a static mapping was freed");
	cr_assert_eq(M->maps[i].nsess, 0, "mapping freed with sessions");
	cr_assert_eq(m->n_sessions, 0);
	/* the external key is still in the table (the pipeline releases the port) */
	rm_drop_map(M, (uint32_t)i);
	M->n_map_freed++;
}

static void rm_init(struct rm *M, uint32_t cap_m, uint32_t cap_s, enum nat_filtering f,
		    bool filter)
{
	struct nat_session_config c = {
		.max_mappings = cap_m, .max_sessions = cap_s, .filtering = f, .timeout_udp = 30,
		.timeout_tcp_est = 200, .timeout_tcp_trans = 20, .timeout_icmp = 10,
		.mapping_freed = rm_map_freed, .session_freed = rm_sess_freed,
		.session_prefetch = rm_sess_prefetch, .ctx = M,
		.hash_filter = filter ? rm_filter : NULL,
	};

	memset(M, 0, sizeof(*M));
	M->filt = f;
	M->cap_m = cap_m;
	M->cap_s = cap_s;
	M->maps = calloc(cap_m, sizeof(*M->maps));
	M->sess = calloc(cap_s, sizeof(*M->sess));
	M->by_sess = malloc((size_t)cap_m * RM_REM * sizeof(*M->by_sess));
	M->gone = malloc(cap_s * sizeof(*M->gone));
	cr_assert(M->maps && M->sess && M->by_sess && M->gone);
	memset(M->by_in, 0xff, sizeof(M->by_in));
	memset(M->by_out, 0xff, sizeof(M->by_out));
	memset(M->by_sess, 0xff, (size_t)cap_m * RM_REM * sizeof(*M->by_sess));
	M->to[0] = 30;
	M->to[1] = 200;
	M->to[2] = 20;
	M->to[3] = 10;
	M->now = 1000;
	M->want_sess = -1;
	M->want_map = -1;
	cr_assert_eq(nat_session_create(&c, &M->t), 0);
}

static void rm_fini(struct rm *M)
{
	nat_session_free(M->t);
	free(M->maps);
	free(M->sess);
	free(M->by_sess);
	free(M->gone);
}

static int32_t rm_free_slot(const bool *live, size_t stride, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!*(const bool *)((const char *)live + i * stride))
			return (int32_t)i;
	return -1;
}

/* Everything the model knows is in the table, and the table has nothing more. */
static void rm_compare_all(struct rm *M)
{
	uint32_t per[3] = {0, 0, 0};

	cr_assert_geq(nat_session_check(M->t), 0, "nat_session_check");
	for (uint32_t k = 0; k < RM_EP; k++) {
		struct nat_mapping *m = nat_mapping_find_in(M->t, ep_proto(k),
							     ep_addr(RM_IN_BASE, k), ep_port(k));
		struct nat_mapping *o = nat_mapping_find_out(M->t, ep_proto(k),
							     ep_addr(RM_OUT_BASE, k), ep_port(k));

		cr_assert_eq(m, M->by_in[k] < 0 ? NULL : M->maps[M->by_in[k]].ptr, "find_in %u", k);
		cr_assert_eq(o, M->by_out[k] < 0 ? NULL : M->maps[M->by_out[k]].ptr,
			     "find_out %u", k);
	}
	for (uint32_t i = 0; i < M->cap_m; i++) {
		const struct rm_map *mm = &M->maps[i];

		if (!mm->live)
			continue;
		cr_assert_eq(mm->ptr->n_sessions, mm->nsess);
		cr_assert_eq(mm->ptr->created, mm->created);
		cr_assert_eq(mm->ptr->flags, mm->flags);
		cr_assert_eq(mm->ptr->out_addr, ep_addr(RM_OUT_BASE, mm->out_key));
		for (uint32_t r = 0; r < RM_REM; r++) {
			int32_t si = M->by_sess[i * RM_REM + r];
			struct nat_sess *s = nat_sess_find(M->t, mm->ptr, rem_addr_of(r),
							   rem_port_of(M, i, r));

			if (ep_proto(mm->in_key) == 1 && r % 6)
				continue; /* ICMP: remote port 0 for every r of an address */
			cr_assert_eq(s, si < 0 ? NULL : M->sess[si].ptr, "sess_find");
			if (s) {
				cr_assert_eq(nat_sess_last(M->t, s), M->sess[si].last);
				cr_assert_eq(s->timeout, M->sess[si].timeout);
				cr_assert_eq(s->tcp_state, M->sess[si].tcp_state);
				per[ep_proto(mm->in_key) == 6 ? 0 : ep_proto(mm->in_key) == 17 ? 1 : 2]++;
			}
		}
	}
	cr_assert_eq(nat_session_count(M->t), M->n_sess);
	cr_assert_eq(nat_mapping_count(M->t), M->n_maps);
	cr_assert_eq(nat_session_count_proto(M->t, 6), per[0]);
	cr_assert_eq(nat_session_count_proto(M->t, 17), per[1]);
	cr_assert_eq(nat_session_count_proto(M->t, 1), per[2]);
}

static void rm_step(struct rm *M, uint64_t *seed)
{
	uint64_t r = nat_rand(seed), r2 = nat_rand(seed);
	uint32_t kin = (uint32_t)(r2 % RM_EP), kout = (uint32_t)((r2 >> 20) % RM_EP);
	uint32_t rem = (uint32_t)((r2 >> 40) % RM_REM);
	int32_t mi = M->by_in[kin];
	struct nat_mapping *m;
	struct nat_sess *s;
	int rc;

	/* session operations mostly on live mappings (the table fills up) */
	if (mi < 0 && (r % 16) >= 3 && (r % 16) <= 12 && M->n_maps) {
		uint32_t j = (uint32_t)((r2 >> 46) % M->cap_m);

		if (M->maps[j].live) {
			mi = (int32_t)j;
			kin = M->maps[j].in_key;
		}
	}
	switch (r % 16) {
	case 0: case 1: case 2: { /* add a mapping (the out key of the same protocol) */
		uint8_t proto = ep_proto(kin), flags = 0;
		int32_t want;

		kout = kout % (RM_ADDRS * RM_PORTS) + (kin / (RM_ADDRS * RM_PORTS)) * (RM_ADDRS * RM_PORTS);
		if (((r >> 8) & 7) == 0)
			flags |= NAT_MAP_STATIC;
		if (((r >> 11) & 3) == 0)
			flags |= NAT_MAP_MASQ;
		want = M->by_in[kin] >= 0 || M->by_out[kout] >= 0 ? -EEXIST
		       : M->n_maps == M->cap_m			  ? -ENOSPC
								  : 0;
		rc = nat_mapping_add(M->t, proto, ep_addr(RM_IN_BASE, kin), ep_port(kin),
				     ep_addr(RM_OUT_BASE, kout), ep_port(kout), flags, M->now, &m);
		cr_assert_eq(rc, want, "mapping_add");
		if (rc == 0) {
			int32_t i = rm_free_slot(&M->maps[0].live, sizeof(M->maps[0]), M->cap_m);

			cr_assert_geq(i, 0);
			M->maps[i] = (struct rm_map){.live = true, .flags = flags, .in_key = kin,
						     .out_key = kout, .created = M->now, .ptr = m};
			M->by_in[kin] = i;
			M->by_out[kout] = i;
			M->n_maps++;
			cr_assert_eq(m->n_sessions, 0);
			cr_assert_eq(m->live, 1);
		}
		break;
	}
	case 3: case 4: case 5: case 6: { /* add a session */
		int32_t want;

		if (mi < 0)
			break;
		if (ep_proto(kin) == 1)
			rem -= rem % 6;
		want = M->by_sess[mi * RM_REM + rem] >= 0 ? -EEXIST
		       : M->n_sess == M->cap_s		   ? -ENOSPC
							   : 0;
		rc = nat_sess_add(M->t, M->maps[mi].ptr, rem_addr_of(rem), rem_port_of(M, (uint32_t)mi, rem),
				  M->now, &s);
		cr_assert_eq(rc, want, "sess_add");
		if (rc == 0) {
			int32_t i = rm_free_slot(&M->sess[0].live, sizeof(M->sess[0]), M->cap_s);
			uint8_t proto = ep_proto(kin);

			cr_assert_geq(i, 0);
			cr_assert_eq(s->user, 0);
			cr_assert_eq(s->tcp_state, NAT_TCP_CLOSED);
			cr_assert_eq(nat_sess_last(M->t, s), M->now);
			cr_assert_eq(s->timeout, rm_timeout(M, proto, NAT_TCP_CLOSED));
			cr_assert_eq(nat_sess_mapping(M->t, s), M->maps[mi].ptr);
			s->user = (uint32_t)(i + 1);
			M->sess[i] = (struct rm_sess){.live = true, .map = (uint32_t)mi, .rem = rem,
						      .last = M->now, .timeout = s->timeout,
						      .tcp_state = NAT_TCP_CLOSED, .ptr = s};
			M->by_sess[mi * RM_REM + rem] = i;
			M->maps[mi].nsess++;
			M->n_sess++;
		}
		break;
	}
	case 7: { /* delete a session */
		int32_t si;

		if (mi < 0)
			break;
		if (ep_proto(kin) == 1)
			rem -= rem % 6;
		si = M->by_sess[mi * RM_REM + rem];
		s = nat_sess_find(M->t, M->maps[mi].ptr, rem_addr_of(rem), rem_port_of(M, (uint32_t)mi, rem));
		cr_assert_eq(s, si < 0 ? NULL : M->sess[si].ptr);
		if (!s)
			break;
		M->want_sess = si;
		M->want_map = -1;
		{
			bool last_dyn = M->maps[mi].nsess == 1 && !(M->maps[mi].flags & NAT_MAP_STATIC);
			uint32_t mf = M->n_map_freed;

			cr_assert_eq(nat_sess_delete(M->t, s, M->now), 0);
			cr_assert_eq(M->n_map_freed - mf, last_dyn ? 1u : 0u);
			cr_assert_eq(M->maps[mi].live, !last_dyn);
		}
		M->want_sess = -1;
		cr_assert_eq(nat_sess_delete(M->t, s, M->now), -EINVAL); /* no longer live */
		break;
	}
	case 8: { /* delete a mapping */
		uint32_t n, sf = M->n_sess_freed, mf = M->n_map_freed;
		bool dyn;

		if (mi < 0 || ((r >> 8) & 1))
			break;
		n = M->maps[mi].nsess;
		dyn = !(M->maps[mi].flags & NAT_MAP_STATIC);
		M->want_map = mi;
		m = M->maps[mi].ptr;
		cr_assert_eq(nat_mapping_delete(M->t, m, M->now), 0);
		cr_assert_eq(M->n_sess_freed - sf, n);
		cr_assert_eq(M->n_map_freed - mf, dyn ? 1u : 0u);
		if (!dyn)
			rm_drop_map(M, (uint32_t)mi);
		M->want_map = -1;
		cr_assert_eq(nat_mapping_delete(M->t, m, M->now), -EINVAL);
		break;
	}
	case 9: { /* refresh, maybe with a new TCP state */
		int32_t si;

		if (mi < 0)
			break;
		if (ep_proto(kin) == 1)
			rem -= rem % 6;
		si = M->by_sess[mi * RM_REM + rem];
		if (si < 0)
			break;
		s = M->sess[si].ptr;
		if (ep_proto(kin) == 6 && (r >> 8) & 1) {
			s->tcp_state = (r >> 9) & 1 ? NAT_TCP_ESTABLISHED : NAT_TCP_FIN_IN;
			M->sess[si].tcp_state = s->tcp_state;
		}
		{
			uint64_t at = M->now - (r >> 10) % 3; /* sometimes in the past */

			nat_sess_refresh(M->t, s, at);
			if (at > M->sess[si].last)
				M->sess[si].last = at;
		}
		M->sess[si].timeout = rm_timeout(M, ep_proto(kin), M->sess[si].tcp_state);
		cr_assert_eq(s->timeout, M->sess[si].timeout);
		cr_assert_eq(nat_sess_last(M->t, s), M->sess[si].last);
		break;
	}
	case 10: { /* expire: a part of the table, or all of it */
		uint32_t budget = (r >> 8) & 1 ? M->cap_s : 1 + (uint32_t)((r >> 9) % (M->cap_s / 3 + 1));
		uint32_t sf = M->n_sess_freed;
		int n;

		uint32_t want = 0;

		/* exactly the idle sessions of the budget's slots from the
		 * cursor go, in slot order, however expiry batches them */
		for (uint32_t k = 0; k < budget; k++) {
			uint32_t slot = (M->cursor + k) % M->cap_s;
			const struct nat_sess *q = nat_sess_at(M->t, slot);

			if (q->live && rm_idle(M, &M->sess[q->user - 1]))
				want++;
		}
		M->n_gone = 0;
		M->expiring = true;
		n = nat_session_expire(M->t, M->now, budget);
		M->expiring = false;
		cr_assert_eq((uint32_t)n, M->n_sess_freed - sf);
		cr_assert_leq((uint32_t)n, budget);
		cr_assert_eq((uint32_t)n, want, "expiry removed %d of the %u idle sessions", n, want);
		for (uint32_t k = 0; k < M->n_gone; k++) {
			uint32_t pos = (M->gone[k] + M->cap_s - M->cursor) % M->cap_s;

			cr_assert_lt(pos, budget, "expiry went past its budget");
			if (k > 0)
				cr_assert_gt(pos, (M->gone[k - 1] + M->cap_s - M->cursor) % M->cap_s,
					     "expiry out of slot order");
		}
		/* a batch announces each session it looked at in every stage */
		cr_assert_eq(M->n_prefetch[0], M->n_prefetch[1]);
		cr_assert_eq(M->n_prefetch[1], M->n_prefetch[2]);
		M->cursor = (uint32_t)((M->cursor + (uint64_t)budget) % M->cap_s);
		if (budget == M->cap_s) /* a full pass: nothing idle is left */
			for (uint32_t i = 0; i < M->cap_s; i++)
				cr_assert(!M->sess[i].live || !rm_idle(M, &M->sess[i]),
					  "a full expiry pass left an idle session");
		break;
	}
	case 11: /* time */
		if (((r >> 8) & 31) == 0)
			M->now += 1 + (r >> 13) % 3;
		break;
	case 12: { /* filtering */
		bool want = false;

		if (mi < 0)
			break;
		if (ep_proto(kin) == 1)
			rem -= rem % 6;
		if (M->filt == NAT_FILTER_EIF)
			want = true;
		else if (M->filt == NAT_FILTER_APDF)
			want = M->by_sess[mi * RM_REM + rem] >= 0;
		else
			for (uint32_t q = 0; q < RM_REM; q++)
				want |= M->by_sess[mi * RM_REM + q] >= 0 && q / 6 == rem / 6;
		cr_assert_eq(nat_session_filter_allows(M->t, M->maps[mi].ptr, rem_addr_of(rem),
						       rem_port_of(M, (uint32_t)mi, rem)),
			     want, "filter_allows");
		break;
	}
	case 13: /* new timeouts, now and then */
		if (((r >> 8) & 63) == 0) {
			M->to[0] = 5 + (uint32_t)((r >> 16) % 40);
			M->to[1] = 50 + (uint32_t)((r >> 24) % 200);
			M->to[2] = 5 + (uint32_t)((r >> 32) % 30);
			M->to[3] = 1 + (uint32_t)((r >> 40) % 20);
			nat_session_set_timeouts(M->t, M->to[0], M->to[1], M->to[2], M->to[3]);
		}
		break;
	default: { /* lookups by both keys */
		m = nat_mapping_find_in(M->t, ep_proto(kin), ep_addr(RM_IN_BASE, kin), ep_port(kin));
		cr_assert_eq(m, mi < 0 ? NULL : M->maps[mi].ptr, "find_in");
		m = nat_mapping_find_out(M->t, ep_proto(kout), ep_addr(RM_OUT_BASE, kout), ep_port(kout));
		cr_assert_eq(m, M->by_out[kout] < 0 ? NULL : M->maps[M->by_out[kout]].ptr, "find_out");
		break;
	}
	}
}

/* Returns the model's clock at the end. */
static uint64_t rm_run_from(const char *what, int mode, uint32_t cap_m, uint32_t cap_s,
			    uint32_t ops, uint64_t start)
{
	uint64_t end;

	uint64_t seed = nat_test_seed(what);
	enum nat_filtering f = (enum nat_filtering)(seed % 3);
	struct rm *M = malloc(sizeof(*M));
	uint32_t max_over = 0, max_sess = 0;

	cr_assert_not_null(M);
	rm_mode = mode;
	rm_init(M, cap_m, cap_s, f, mode != 0);
	M->now = start;
	for (uint32_t it = 0; it < ops; it++) {
		rm_step(M, &seed);
		if (M->n_sess > max_sess)
			max_sess = M->n_sess;
		if (it % 4096 == 0) {
			int over = nat_session_check(M->t);

			cr_assert_geq(over, 0, "nat_session_check at op %u", it);
			if ((uint32_t)over > max_over)
				max_over = (uint32_t)over;
		}
		if (it % 65536 == 0)
			rm_compare_all(M);
	}
	rm_compare_all(M);
	fprintf(stderr, "%s: %u ops, %u mappings and %u sessions at the end (of %u, %u; "
		"sessions up to %u), overflow entries up to %u\n", what, ops, M->n_maps, M->n_sess,
		cap_m, cap_s, max_sess, max_over);
	cr_assert_eq(max_sess, cap_s, "the session table never ran full");
	cr_assert_gt(M->n_prefetch[0], 0, "expiry never batched");
	if (mode == 2)
		cr_assert_gt(max_over, 0, "the overflow lists were never used");
	/* empty it: every record goes, the indexes end empty */
	for (uint32_t i = 0; i < cap_m; i++) {
		if (M->maps[i].live) {
			M->want_map = (int32_t)i;
			cr_assert_eq(nat_mapping_delete(M->t, M->maps[i].ptr, M->now), 0);
			if (M->maps[i].live)
				rm_drop_map(M, i);
		}
	}
	cr_assert_eq(nat_session_count(M->t), 0);
	cr_assert_eq(nat_mapping_count(M->t), 0);
	{
		int rc = nat_session_check(M->t);

		cr_assert_eq(rc, 0, "nat_session_check of the empty table: %d", rc);
	}
	end = M->now;
	rm_fini(M);
	free(M);
	return end;
}

static void rm_run(const char *what, int mode, uint32_t cap_m, uint32_t cap_s, uint32_t ops)
{
	(void)rm_run_from(what, mode, cap_m, cap_s, ops, 1000);
}

/* The clock crosses 2^32 during the run: the records' 32-bit times move to
 * a new base once, and the table still agrees with the model's 64-bit
 * times. */
Test(nat_session, differential_clock_past_2_32)
{
	uint64_t end = rm_run_from("nat_session differential_clock_past_2_32", 0, 1024, 1536,
				   1000000, (1ull << 32) - 2000);

	cr_assert_gt(end, 1ull << 32, "the clock stayed below 2^32: %llu",
		     (unsigned long long)end);
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

Test(nat_session, differential_plain)
{
	rm_run("nat_session differential_plain", 0, 1024, 1536, 2000000);
}

Test(nat_session, differential_one_primary_bucket)
{
	rm_run("nat_session differential_one_primary_bucket", 1, 700, 900, 400000);
}

Test(nat_session, differential_one_signature)
{
	rm_run("nat_session differential_one_signature", 3, 1024, 1536, 1000000);
}

Test(nat_session, differential_few_buckets_and_signatures)
{
	rm_run("nat_session differential_few_buckets_and_signatures", 4, 400, 500, 300000);
}

Test(nat_session, differential_one_hash)
{
	rm_run("nat_session differential_one_hash", 2, 120, 160, 150000);
}

/* ---- walks with resumable cursors while the table changes ---- */

struct walk_seen {
	const void **p;
	uint32_t n, cap;
};

static int walk_sess_fn(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	struct walk_seen *w = arg;

	cr_assert(s->live && m->live);
	cr_assert_lt(w->n, w->cap);
	w->p[w->n++] = s;
	return (((uintptr_t)s >> 4) % 7) == 0; /* stop now and then */
}

static int walk_map_fn(void *arg, const struct nat_mapping *m)
{
	struct walk_seen *w = arg;

	cr_assert(m->live);
	cr_assert_lt(w->n, w->cap);
	w->p[w->n++] = m;
	return (((uintptr_t)m >> 4) % 5) == 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;

	return x < y ? -1 : x > y;
}

static bool seen_has(const struct walk_seen *w, const void *p)
{
	return bsearch(&p, w->p, w->n, sizeof(*w->p), cmp_ptr) != NULL;
}

Test(nat_session, walks_resume_while_the_table_changes)
{
	uint64_t seed = nat_test_seed("nat_session walks_resume_while_the_table_changes");
	struct rm *M = malloc(sizeof(*M));
	int round;

	cr_assert_not_null(M);
	rm_init(M, 512, 768, NAT_FILTER_APDF, false);
	for (round = 0; round < 40; round++) {
		struct walk_seen ws = {.cap = 1u << 16}, wm = {.cap = 1u << 16};
		bool *surv_s = calloc(M->cap_s, 1), *surv_m = calloc(M->cap_m, 1);
		struct nat_sess **sp = calloc(M->cap_s, sizeof(*sp));
		struct nat_mapping **mp = calloc(M->cap_m, sizeof(*mp));
		uint64_t cs = 0, cm = 0;
		int ds = 0, dm = 0;

		ws.p = calloc(ws.cap, sizeof(*ws.p));
		wm.p = calloc(wm.cap, sizeof(*wm.p));
		for (int k = 0; k < 20000; k++)
			rm_step(M, &seed);
		for (uint32_t i = 0; i < M->cap_s; i++)
			if ((surv_s[i] = M->sess[i].live))
				sp[i] = M->sess[i].ptr;
		for (uint32_t i = 0; i < M->cap_m; i++)
			if ((surv_m[i] = M->maps[i].live))
				mp[i] = M->maps[i].ptr;
		while (!ds || !dm) {
			uint32_t budget = 1 + (uint32_t)(nat_rand(&seed) % 40);

			if (!ds) {
				ds = nat_session_walk(M->t, &cs, budget, walk_sess_fn, &ws);
				cr_assert_geq(ds, 0);
			}
			if (!dm) {
				dm = nat_mapping_walk(M->t, &cm, budget, walk_map_fn, &wm);
				cr_assert_geq(dm, 0);
			}
			/* change the table between the calls; forget what went */
			for (int k = 0; k < 30; k++) {
				rm_step(M, &seed);
				for (uint32_t i = 0; i < M->cap_s; i++)
					surv_s[i] &= M->sess[i].live && M->sess[i].ptr == sp[i];
				for (uint32_t i = 0; i < M->cap_m; i++)
					surv_m[i] &= M->maps[i].live && M->maps[i].ptr == mp[i];
			}
		}
		qsort(ws.p, ws.n, sizeof(*ws.p), cmp_ptr);
		qsort(wm.p, wm.n, sizeof(*wm.p), cmp_ptr);
		for (uint32_t i = 1; i < ws.n; i++)
			cr_assert_neq(ws.p[i], ws.p[i - 1], "a session slot visited twice");
		for (uint32_t i = 1; i < wm.n; i++)
			cr_assert_neq(wm.p[i], wm.p[i - 1], "a mapping slot visited twice");
		for (uint32_t i = 0; i < M->cap_s; i++)
			cr_assert(!surv_s[i] || seen_has(&ws, sp[i]), "a surviving session not shown");
		for (uint32_t i = 0; i < M->cap_m; i++)
			cr_assert(!surv_m[i] || seen_has(&wm, mp[i]), "a surviving mapping not shown");
		free(ws.p);
		free(wm.p);
		free(surv_s);
		free(surv_m);
		free(sp);
		free(mp);
	}
	rm_fini(M);
	free(M);
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
