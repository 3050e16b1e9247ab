/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat session netchannels: the netchannel a session's packets reach on
 * the fast path (struct nat_sess_nc, nat_pipeline_int.h), its copy of the
 * session, its keys (keyed flows) and its life: made when the slow path
 * creates or finds a session without one (nat_sess_attach), kept equal to
 * the session table (nat_sess_nc_sync), gone with the session
 * (nat_session_gone).  The fast path itself is in nat_inout.c.
 */
#include <stdlib.h>
#include <string.h>

#include "nat_pipeline_int.h"

/*
 * A session netchannel's private state (struct nat_sess_nc) carries a copy
 * of what the fast path needs from the session and its mapping, so that a
 * packet of an established session touches its flow-table bucket, its
 * netchannel (one line: header and this struct) and the packet; it
 * reads nothing of the session table, and writes a session's record only
 * when its TCP state or timeout changes.  The last use is the copy's: the
 * fast path refreshes only the copy, and the session table catches up
 * (nat_session_last) when a session looks idle to it or a walk shows it —
 * at 1 M sessions a busy session's refresh, once a second, was a write
 * miss on its record (7 % of in2out throughput in ncbench nat).  The TCP
 * state and timeout copies are exact: the session table sets them at
 * creation (before the session has a netchannel) and otherwise only
 * through nat_sess_nc_sync() (the slow path's TCP step and refresh) and the
 * fast path, which keep the copy equal.  A hairpin pair (NAT_SN_HAIRPIN) does not use the copy.
 */
/* The session netchannel of s, or NULL (none yet, or gone): s->user is
 * its id + 1 (32 bits in the session record; the flow table's references
 * keep it while s->user is set). */
static struct nat_sess_nc *sess_nc(const struct nat_pipeline *p, const struct nat_sess *s)
{
	if (s->user == 0)
		return NULL;
	return nc_priv(nc_engine_get(p->eng, s->user - 1));
}

/* f->tgen for session s: current if s's timeout is its protocol's and
 * state's under the current timeouts, else one behind (the fast path then
 * stores it). */
static inline uint16_t fast_tgen(const struct nat_pipeline *p, const struct nat_sess_nc *f,
				 const struct nat_sess *s)
{
	return s->timeout == nat_sess_nc_timeout(p, f) ? p->timeout_gen
						: (uint16_t)(p->timeout_gen - 1);
}

/* The session table changed s (state, refresh): its netchannel's copy
 * follows. */
void nat_sess_nc_sync(struct nat_pipeline *p, struct nat_sess *s)
{
	struct nat_sess_nc *f = sess_nc(p, s);
	uint64_t last;

	if (f == NULL || (f->flags & NAT_SN_HAIRPIN))
		return;
	f->tcp_state = s->tcp_state;
	f->tgen = fast_tgen(p, f, s);
	last = nat_sess_last(p->st, s);
	if (last >= UINT32_MAX)
		f->last = UINT32_MAX;
	else if (last > f->last)
		f->last = (uint32_t)last; /* never back: the copy may be later */
}

uint64_t nat_session_last(void *ctx, const struct nat_sess *s)
{
	const struct nat_pipeline *p = ctx;
	const struct nat_sess_nc *f = sess_nc(p, s);

	if (f == NULL || (f->flags & NAT_SN_HAIRPIN) || f->last == UINT32_MAX)
		return nat_sess_last(p->st, s); /* a hairpin pair; a clock past
						 * 2^32 writes s */
	return f->last;
}

void nat_sess_refresh_nc(struct nat_pipeline *p, struct nat_sess *s)
{
	nat_sess_refresh(p->st, s, p->now);
	nat_sess_nc_sync(p, s);
}

/* A session's inside and outside keys from its records (nat_sess_key). */
static void key_in(struct nc_flow_key *k, const struct nat_mapping *m, const struct nat_sess *s)
{
	nat_sess_key(k, NAT_SIDE_INSIDE, m->proto, m->in_addr, m->in_port, s->rem_addr,
		     s->rem_port);
}

static void key_out(struct nc_flow_key *k, const struct nat_mapping *m, const struct nat_sess *s)
{
	nat_sess_key(k, NAT_SIDE_OUTSIDE, m->proto, s->rem_addr, s->rem_port, m->out_addr,
		     m->out_port);
}

/* nat_session_ops.flow_key: the same keys from the netchannel's copy
 * (hairpin pairs do not use it: their keys are flow entries). */
void nat_session_flow_key(const struct netchannel *nc, unsigned which, struct nc_flow_key *k)
{
	const struct nat_sess_nc *f = nc_priv((struct netchannel *)(uintptr_t)nc);

	if (which == 0)
		nat_sess_key(k, NAT_SIDE_INSIDE, f->proto, f->in_addr, f->in_port, f->rem_addr,
			     f->rem_port);
	else
		nat_sess_key(k, NAT_SIDE_OUTSIDE, f->proto, f->rem_addr, f->rem_port, f->out_addr,
			     f->out_port);
}

/* nat_session_ops.flow_match: nat_session_flow_key() compared with k
 * (nc_flow_key_equal) field by field, without building it: the lookup of
 * every packet that reaches a session compares one key. */
bool nat_session_flow_match(const struct netchannel *nc, unsigned which,
			    const struct nc_flow_key *k)
{
	const struct nat_sess_nc *f = nc_priv((struct netchannel *)(uintptr_t)nc);

	if (k->family != CLS_IPV4 || k->proto != f->proto)
		return false;
	if (which == 0)
		return k->zone == NAT_SIDE_INSIDE && k->src.v4 == f->in_addr &&
		       k->sport == f->in_port && k->dst.v4 == f->rem_addr &&
		       k->dport == f->rem_port;
	return k->zone == NAT_SIDE_OUTSIDE && k->src.v4 == f->rem_addr &&
	       k->sport == f->rem_port && k->dst.v4 == f->out_addr && k->dport == f->out_port;
}

/* After 2^16 timeout changes f->tgen values repeat: give every session its
 * timeout under the current ones, and mark every copy current. */
void nat_session_retime_all(struct nat_pipeline *p)
{
	for (uint32_t i = 0; i < p->cfg.sessions; i++) {
		struct nat_sess *s = nat_sess_at(p->st, i);
		struct nat_sess_nc *f;

		if (s == NULL || !s->live)
			continue;
		s->timeout = nat_session_timeout(p->st, nat_sess_mapping(p->st, s)->proto,
						 s->tcp_state);
		f = sess_nc(p, s);
		if (f != NULL && !(f->flags & NAT_SN_HAIRPIN))
			f->tgen = p->timeout_gen;
	}
}

static int8_t action_of(const struct nat_mapping *m)
{
	if (m->flags & NAT_MAP_STATIC)
		return NAT_ACT_NONE;
	return (m->flags & NAT_MAP_MASQ) ? NAT_ACT_MASQUERADE : NAT_ACT_SNAT;
}

/* A session's two keyed flows (its keys live in the netchannel); 0 or
 * -errno with neither added. */
static int attach_keyed_flows(struct nat_pipeline *p, struct netchannel *nc,
			      const struct nat_mapping *m, const struct nat_sess *s)
{
	struct nc_flow_key k1;
	int rc = nc_engine_add_keyed_flow(p->eng, nc, 0, p->now), rc2;

	if (rc != 0)
		return rc;
	rc = nc_engine_add_keyed_flow(p->eng, nc, 1, p->now);
	if (rc != 0) {
		key_in(&k1, m, s);
		rc2 = nc_engine_del_flow(p->eng, &k1);
		(void)rc2; /* cannot fail: just added */
	}
	return rc;
}

/* A hairpin pair's two flows, entries with the keys of both inside
 * endpoints; 0 or -errno with neither added. */
static int attach_pair_flows(struct nat_pipeline *p, struct netchannel *nc,
			     const struct nat_mapping *m, const struct nat_sess *s,
			     const struct nat_sess *s2)
{
	struct nc_flow_key k1, k2;
	int rc;

	key_in(&k1, m, s);
	key_in(&k2, nat_sess_mapping(p->st, s2), s2);
	rc = nc_engine_add_flow(p->eng, &k1, nc, p->now, UINT64_MAX);
	if (rc != 0)
		return rc;
	rc = nc_engine_add_flow(p->eng, &k2, nc, p->now, UINT64_MAX);
	if (rc != 0) {
		int rc2 = nc_engine_del_flow(p->eng, &k1);

		(void)rc2; /* cannot fail: just added */
	}
	return rc;
}

/*
 * Give session s (and, for a hairpin pair, its partner s2) a session
 * netchannel found by two keys, unless it has one.  A failure (no ids, the
 * flow table full) only costs speed: the flow's packets keep taking the
 * slow path, which finds the session in the session table.
 */
void nat_sess_attach(struct nat_pipeline *p, struct nat_sess *s, struct nat_sess *s2)
{
	const struct nat_mapping *m = nat_sess_mapping(p->st, s);
	struct nat_sess_nc *f;
	struct netchannel *nc;
	uint64_t last;

	if (s->user != 0)
		return;
	if (nc_create(p->eng, &nat_session_ops, NULL, &nc) != 0) {
		p->flow_add_failed++;
		return;
	}
	f = nc_priv(nc);
	f->sess = nat_sess_index(p->st, s);
	if (s2) {
		f->sess2 = nat_sess_index(p->st, s2);
	} else {
		f->rem_addr = s->rem_addr;
		f->rem_port = s->rem_port;
	}
	f->flags = s2 ? NAT_SN_HAIRPIN : 0;
	f->action = action_of(m);
	f->in_addr = m->in_addr;
	f->out_addr = m->out_addr;
	f->in_port = m->in_port;
	f->out_port = m->out_port;
	f->proto = m->proto;
	f->tcp_state = s->tcp_state;
	f->tgen = fast_tgen(p, f, s);
	last = nat_sess_last(p->st, s);
	f->last = last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last;
	if (s2 == NULL && nat_is_external(p, s->rem_addr))
		f->flags |= NAT_SN_LOOP;
	if (s2 ? attach_pair_flows(p, nc, m, s, s2) : attach_keyed_flows(p, nc, m, s)) {
		nc_unref(nc);
		p->flow_add_failed++;
		return;
	}
	s->user = nc_id(nc) + 1;
	if (s2)
		s2->user = s->user;
	nc_unref(nc); /* the flow table's two references keep it */
}

void nat_session_gone(void *ctx, struct nat_sess *s, const struct nat_mapping *m)
{
	struct nat_pipeline *p = ctx;
	struct nat_sess_nc *sn = sess_nc(p, s);
	struct nc_flow_key k1, k2;
	int rc;

	if (sn == NULL)
		return;
	if (sn->flags & NAT_SN_HAIRPIN) {
		struct nat_sess *a = nat_sess_at(p->st, sn->sess);
		struct nat_sess *b = nat_sess_at(p->st, sn->sess2);

		key_in(&k1, nat_sess_mapping(p->st, a), a);
		key_in(&k2, nat_sess_mapping(p->st, b), b);
		a->user = 0;
		b->user = 0;
	} else {
		key_in(&k1, m, s);
		key_out(&k2, m, s);
		s->user = 0;
	}
	/* packets of this burst still pointing here take the slow path */
	sn->flags |= NAT_SN_GONE;
	rc = nc_engine_del_flow(p->eng, &k1);
	rc |= nc_engine_del_flow(p->eng, &k2);
	(void)rc; /* both were added by nat_sess_attach; the last one frees nc */
}

/* Expiry is about to look at s and probably remove it (nat_session_gone,
 * then, with its last session, the mapping's port): start loading its
 * netchannel (stage 0), its two flow keys' buckets and the port's bitmap
 * words (1; the keys come from s and m, in cache by then), the
 * subscriber's record (2).  A hairpin pair's second key is the partner's
 * inside key: the outside key's prefetch is wasted then (rare). */
void nat_session_gone_prefetch(void *ctx, const struct nat_sess *s, const struct nat_mapping *m,
			  unsigned stage)
{
	struct nat_pipeline *p = ctx;
	struct nat_ports *a = NULL;
	struct nc_flow_key k;

	if (stage == 0) {
		if (s->user != 0)
			__builtin_prefetch(nc_engine_get(p->eng, s->user - 1), 1);
		return;
	}
	if (m->n_sessions == 1 && !(m->flags & NAT_MAP_STATIC))
		a = (m->flags & NAT_MAP_MASQ) ? p->masq : p->pool;
	if (a)
		nat_ports_prefetch_release(a, m->proto, m->in_addr, m->out_addr, m->out_port,
					   stage - 1);
	if (stage != 1 || s->user == 0)
		return;
	key_in(&k, m, s);
	nc_flow_prefetch(nc_engine_flows(p->eng), &k);
	key_out(&k, m, s);
	nc_flow_prefetch(nc_engine_flows(p->eng), &k);
}
