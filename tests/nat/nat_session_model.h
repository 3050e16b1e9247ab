/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_TEST_NAT_SESSION_MODEL_H
#define NCNAT_TEST_NAT_SESSION_MODEL_H
/*
 * The reference model of the session table, shared by the differential
 * test (test_nat_session_differential.c) and the walks while the table
 * changes (test_nat_session_walks.c): its records, the table's callbacks
 * checked against it, the forced collisions, the full comparison and one
 * random step.
 *
 * The model keeps mappings and sessions in arrays indexed by their keys
 * (small key domains, so adds collide with live keys and the table runs
 * full); every operation's result, every callback and the counts are
 * compared, and nat_session_check() checks the indexes.  hash_filter forces
 * collisions: all keys in one primary bucket, one signature, a handful of
 * buckets and signatures, or a single hash (everything in the overflow
 * list).  NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_session.h"
#include "nat_tcp.h"
#include "nat_test_util.h"

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

static inline uint64_t rm_filter(uint64_t h)
{
	switch (rm_mode) {
	case 1: return h & 0xffffull;                        /* one primary bucket */
	case 2: return 0x123456789abcull;                    /* one hash */
	case 3: return (h & 0xffffffff00000000ull) | 7;      /* one signature */
	default: return h & 0xf000000000000003ull;           /* 16 buckets x 3 signatures */
	}
}

static inline uint8_t ep_proto(uint32_t k)
{
	return rm_proto[k / (RM_ADDRS * RM_PORTS)];
}

static inline uint32_t ep_addr(uint32_t base, uint32_t k)
{
	return base + (k / RM_PORTS) % RM_ADDRS;
}

static inline uint16_t ep_port(uint32_t k)
{
	return (uint16_t)(1000 + k % RM_PORTS);
}

static inline uint32_t ep_key(uint8_t proto, uint32_t base, uint32_t addr, uint16_t port)
{
	uint32_t pi = proto == 6 ? 0 : proto == 17 ? 1 : 2;

	return (pi * RM_ADDRS + (addr - base)) * RM_PORTS + (uint32_t)(port - 1000);
}

static inline uint32_t rem_addr_of(uint32_t r)
{
	return RM_REM_BASE + r / 6;
}

static inline uint16_t rem_port_of(const struct rm *M, uint32_t map, uint32_t r)
{
	return ep_proto(M->maps[map].in_key) == 1 ? 0 : (uint16_t)(5000 + r % 6);
}

static inline uint32_t rm_timeout(const struct rm *M, uint8_t proto, uint8_t st)
{
	switch (proto) {
	case 6: return st == NAT_TCP_ESTABLISHED ? M->to[1] : M->to[2];
	case 17: return M->to[0];
	default: return M->to[3];
	}
}

static inline bool rm_idle(const struct rm *M, const struct rm_sess *s)
{
	return M->now >= s->last && M->now - s->last >= s->timeout;
}

static inline void rm_drop_sess(struct rm *M, uint32_t i)
{
	struct rm_sess *s = &M->sess[i];

	M->by_sess[s->map * RM_REM + s->rem] = -1;
	M->maps[s->map].nsess--;
	s->live = false;
	M->n_sess--;
}

static inline void rm_drop_map(struct rm *M, uint32_t i)
{
	struct rm_map *m = &M->maps[i];

	M->by_in[m->in_key] = -1;
	M->by_out[m->out_key] = -1;
	m->live = false;
	M->n_maps--;
}

static inline void rm_sess_freed(void *ctx, struct nat_sess *s, const struct nat_mapping *m)
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
static inline void rm_sess_prefetch(void *ctx, const struct nat_sess *s,
				    const struct nat_mapping *m, unsigned stage)
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

static inline void rm_map_freed(void *ctx, const struct nat_mapping *m, uint64_t now)
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

static inline void rm_init(struct rm *M, uint32_t cap_m, uint32_t cap_s, enum nat_filtering f,
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

static inline void rm_fini(struct rm *M)
{
	nat_session_free(M->t);
	free(M->maps);
	free(M->sess);
	free(M->by_sess);
	free(M->gone);
}

static inline int32_t rm_free_slot(const bool *live, size_t stride, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!*(const bool *)((const char *)live + i * stride))
			return (int32_t)i;
	return -1;
}

/* Everything the model knows is in the table, and the table has nothing more. */
static inline void rm_compare_all(struct rm *M)
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

static inline void rm_step(struct rm *M, uint64_t *seed)
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

#endif /* NCNAT_TEST_NAT_SESSION_MODEL_H */
