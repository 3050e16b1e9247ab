/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat IP path: sessions and translation (the steps are described in
 * nat_pipeline.h).
 *
 * Two entries.  nat_session_path() is the fast path: the flow table found
 * the packet's session netchannel by one of its exact keys, so the packet
 * only needs its TCP state step, refresh, rewrite and MACs.
 * nat_slow_path() takes everything else (a rule's listener, or no listener
 * at all): checks, ICMP errors, fragments, rules, mappings, filtering and
 * session creation; a session it creates (or finds without a netchannel)
 * gets its session netchannel and keys here (nat_sess_attach), so the flow's
 * next packets take the fast path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_csum.h"
#include "nat_pipeline_int.h"
#include "nat_tcp.h"
#include "nat_translate.h"
#include "nc_parse.h"

/* ---- helpers ---- */

static bool icmp_is_request(uint8_t t)
{
	return t == 8 || t == 13 || t == 15 || t == 17;
}

static bool icmp_is_reply(uint8_t t)
{
	return t == 0 || t == 14 || t == 16 || t == 18;
}

/* The translated endpoint port of a packet: its port or ICMP id. */
static uint16_t src_port(const struct nc_pkt_info *pi)
{
	return pi->key.proto == 1 ? pi->icmp_id : pi->key.sport;
}

static uint16_t dst_port(const struct nc_pkt_info *pi)
{
	return pi->key.proto == 1 ? pi->icmp_id : pi->key.dport;
}

/* Remote endpoint port for a session: ICMP sessions have port 0. */
static uint16_t rem_port_of(uint8_t proto, uint16_t port)
{
	return proto == 1 ? 0 : port;
}

static uint8_t *pkt_data(struct nc_pkt *pkt)
{
	/* the engine hands frames as const; ncnat's frames are its own,
	 * writable buffers (mbufs or the caller's, see nat_pipeline_rx) */
	return (uint8_t *)(uintptr_t)pkt->data;
}

static void send_unreach(struct nat_pipeline *p, const uint8_t *pkt, uint32_t len,
			 const struct nc_pkt_info *pi)
{
	int n = nat_icmp_error_build(p->reply, sizeof(p->reply), pkt, len, pi, 3, 1,
				     p->cfg.inside.addr, p->cfg.inside.mac, pkt + 6);

	if (n > 0) {
		p->reply_len = (uint32_t)n;
		p->reply_side = NAT_SIDE_INSIDE;
		nat_count(&p->cnt, NAT_CNT_ICMP_UNREACH_SENT);
	}
}

/*
 * A packet whose TTL runs out here: ICMP time exceeded back to its sender
 * from the receiving port's address (RFC 1812 5.3.1), unless it is itself
 * an ICMP error or a later fragment; at most ICMP_TE_PER_SEC a second.
 */
#define ICMP_TE_PER_SEC 100

static void send_time_exceeded(struct nat_pipeline *p, const uint8_t *pkt, uint32_t len,
			       const struct nc_pkt_info *pi, enum nat_side side)
{
	const struct nat_port_config *pc = side == NAT_SIDE_INSIDE ? &p->cfg.inside : &p->cfg.outside;
	int n;

	if ((pi->flags & NC_PF_ICMP_ERROR) || pi->frag_off != 0)
		return;
	if (p->te_sec != p->now) {
		p->te_sec = p->now;
		p->te_sent = 0;
	}
	if (p->te_sent >= ICMP_TE_PER_SEC)
		return;
	n = nat_icmp_error_build(p->reply, sizeof(p->reply), pkt, len, pi, 11, 0, pc->addr, pc->mac,
				 pkt + 6);
	if (n > 0) {
		p->te_sent++;
		p->reply_len = (uint32_t)n;
		p->reply_side = side;
		nat_count(&p->cnt, NAT_CNT_ICMP_TIME_EXCEEDED_SENT);
	}
}

/*
 * Session of m with a remote endpoint for a packet entering from outside
 * (or hairpinned); creates it when the filtering allows.  *created tells.
 * Returns NULL with the drop counter bumped.
 */
static struct nat_sess *inbound_session(struct nat_pipeline *p, struct nat_mapping *m,
					uint32_t rem_addr, uint16_t rem_port, uint8_t tcp_flags,
					uint64_t now, bool *created)
{
	struct nat_sess *s = nat_sess_find(p->st, m, rem_addr, rem_port);

	*created = false;
	if (s)
		return s;
	if (m->proto == 6 && !(m->flags & NAT_MAP_STATIC)) {
		nat_count(&p->cnt, nat_tcp_flag_class(tcp_flags) == NAT_TF_SYN
					   ? NAT_CNT_DROP_TCP_UNSOLICITED_SYN
					   : NAT_CNT_DROP_FILTERED);
		return NULL;
	}
	if (!(m->flags & NAT_MAP_STATIC) && !nat_session_filter_allows(p->st, m, rem_addr, rem_port)) {
		nat_count(&p->cnt, NAT_CNT_DROP_FILTERED);
		return NULL;
	}
	if (nat_sess_add(p->st, m, rem_addr, rem_port, now, &s) != 0) {
		nat_count(&p->cnt, NAT_CNT_DROP_SESSIONS_FULL);
		return NULL;
	}
	*created = true;
	nat_count(&p->cnt, NAT_CNT_SESSIONS_CREATED);
	return s;
}

/* TCP state step; false (counted, new session removed) if invalid.  The
 * state table lets only the inside reopen a closed or reset connection; a
 * port forward (static mapping) is opened from outside, so there a SYN from
 * outside reopens it too, as a new connection from CLOSED. */
static uint8_t tcp_next(uint8_t state, enum nat_dir dir, uint8_t flags, bool is_static)
{
	uint8_t next = nat_tcp_transition(state, dir, flags);

	if (next == NAT_TCP_INVALID && is_static && dir == NAT_DIR_OUT2IN &&
	    (state == NAT_TCP_CLOSING || state == NAT_TCP_RESET) &&
	    nat_tcp_flag_class(flags) == NAT_TF_SYN)
		next = nat_tcp_transition(NAT_TCP_CLOSED, dir, flags);
	return next;
}

static bool tcp_step(struct nat_pipeline *p, struct nat_sess *s, bool created, enum nat_dir dir,
		     uint8_t flags, uint64_t now)
{
	uint8_t next = tcp_next(s->tcp_state, dir, flags,
				nat_sess_mapping(p->st, s)->flags & NAT_MAP_STATIC);

	if (next == NAT_TCP_INVALID) {
		if (created) {
			int rc = nat_sess_delete(p->st, s, now);

			(void)rc; /* cannot fail: s is live; a dynamic mapping left
				   * without sessions goes with it */
		}
		nat_count(&p->cnt, NAT_CNT_DROP_TCP_STATE);
		return false;
	}
	s->tcp_state = next;
	nat_sess_nc_sync(p, s);
	return true;
}

/* ---- fragments ---- */

static uint32_t frag_slot(uint8_t side, const struct nc_pkt_info *pi)
{
	uint32_t h = pi->key.src.v4 * 2654435761u ^ pi->key.dst.v4 * 40503u ^
		     (pi->frag_id << 8) ^ pi->key.proto ^ ((uint32_t)side << 31);

	return (h ^ (h >> 15)) & (FRAG_SIZE - 1);
}

/* A first fragment went through: remember what its later ones need. */
static void frag_note(struct nat_pipeline *p, uint8_t side, const struct nc_pkt_info *pi,
		      enum frag_op op, uint32_t addr)
{
	struct frag_ent *e;

	if (!(pi->flags & NC_PF_MORE_FRAGS) || pi->frag_off != 0)
		return;
	e = &p->frags[frag_slot(side, pi)];
	e->src = pi->key.src.v4;
	e->dst = pi->key.dst.v4;
	e->id = (uint16_t)pi->frag_id;
	e->proto = pi->key.proto;
	e->side = side;
	e->op = (uint8_t)op;
	e->addr = addr;
	e->until = p->now + FRAG_LIFETIME;
}

/* A later fragment: follows its first one, or is dropped. */
static enum nat_verdict later_fragment(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				       const struct nc_pkt_info *pi, enum nat_side side)
{
	const struct frag_ent *e = &p->frags[frag_slot((uint8_t)side, pi)];
	enum nat_side out;
	uint32_t dst = pi->key.dst.v4;

	if (!e->op || e->side != side || e->src != pi->key.src.v4 || e->dst != dst ||
	    e->id != (uint16_t)pi->frag_id || e->proto != pi->key.proto || p->now > e->until)
		return nat_drop(p, NAT_CNT_DROP_FRAGMENT);
	out = side == NAT_SIDE_INSIDE ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;
	if (e->op == FRAG_SRC) {
		nat_xlate_src(pkt, len, pi, e->addr, 0, false);
	} else if (e->op == FRAG_DST) {
		nat_xlate_dst(pkt, len, pi, e->addr, 0, false);
		dst = e->addr;
	}
	if (!nat_set_macs(p, pkt, out, dst))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	nat_count(&p->cnt, NAT_CNT_FRAGMENTS);
	return out == NAT_SIDE_OUTSIDE ? NAT_TX_OUTSIDE : NAT_TX_INSIDE;
}

/* ---- translation of a packet of a known session (both paths) ---- */

/* A packet translated outside -> inside, by both paths: counted as inbound,
 * or, the second step of a hairpin across workers (its source is one of our
 * external endpoints), once as a hairpin. */
static inline void count_out2in(struct nat_pipeline *p, uint8_t proto, bool hairpin)
{
	if (hairpin) {
		nat_count(&p->cnt, NAT_CNT_HAIRPIN_PKTS);
		return;
	}
	nat_count(&p->cnt, NAT_CNT_OUT2IN_PKTS);
	nat_count(&p->cnt, proto == 6 ? NAT_CNT_OUT2IN_TCP : proto == 17 ? NAT_CNT_OUT2IN_UDP
								      : NAT_CNT_OUT2IN_ICMP);
}

static enum nat_verdict xlate_in2out(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				     const struct nc_pkt_info *pi, const struct nat_mapping *m,
				     struct nat_sess *s, bool created)
{
	uint8_t proto = pi->key.proto;

	if (proto == 6 && !tcp_step(p, s, created, NAT_DIR_IN2OUT, pi->tcp_flags, p->now))
		return NAT_DROP;
	nat_sess_refresh_nc(p, s); /* outbound packets refresh (RFC 4787 REQ-6) */
	/* translation and TTL in one checksum update (nat_slow_path let no
	 * TTL <= 1 through) */
	nat_xlate_src_fwd(pkt, len, pi, m->out_addr, m->out_port);
	if (!nat_set_macs(p, pkt, NAT_SIDE_OUTSIDE, pi->key.dst.v4))
		return NAT_DROP;
	frag_note(p, NAT_SIDE_INSIDE, pi, FRAG_SRC, m->out_addr);
	nat_count(&p->cnt, NAT_CNT_IN2OUT_PKTS);
	nat_count(&p->cnt, proto == 6 ? NAT_CNT_IN2OUT_TCP : proto == 17 ? NAT_CNT_IN2OUT_UDP
								      : NAT_CNT_IN2OUT_ICMP);
	return NAT_TX_OUTSIDE;
}

static enum nat_verdict xlate_out2in(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				     const struct nc_pkt_info *pi, const struct nat_mapping *m,
				     struct nat_sess *s, bool created)
{
	uint8_t proto = pi->key.proto;

	if (proto == 6) {
		if (!tcp_step(p, s, created, NAT_DIR_OUT2IN, pi->tcp_flags, p->now))
			return NAT_DROP;
		nat_sess_refresh_nc(p, s); /* TCP: both directions */
	}
	nat_xlate_dst_fwd(pkt, len, pi, m->in_addr, m->in_port); /* and the TTL */
	if (!nat_set_macs(p, pkt, NAT_SIDE_INSIDE, m->in_addr))
		return NAT_DROP;
	frag_note(p, NAT_SIDE_OUTSIDE, pi, FRAG_DST, m->in_addr);
	count_out2in(p, proto, nat_is_external(p, pi->key.src.v4));
	return NAT_TX_INSIDE;
}

/*
 * Hairpinning (RFC 4787 REQ-9): from the inside endpoint of m (session s
 * with the destination) to the external endpoint of m2 (session s2 with
 * m's external endpoint); the packet comes back inside, from the sender's
 * external endpoint.
 */
static enum nat_verdict xlate_hairpin(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				      const struct nc_pkt_info *pi, const struct nat_mapping *m,
				      struct nat_sess *s, bool c1, const struct nat_mapping *m2,
				      struct nat_sess *s2, bool c2)
{
	if (pi->key.proto == 6) {
		if (!tcp_step(p, s, c1, NAT_DIR_IN2OUT, pi->tcp_flags, p->now))
			return NAT_DROP;
		if (!tcp_step(p, s2, c2, NAT_DIR_OUT2IN, pi->tcp_flags, p->now))
			return NAT_DROP;
		nat_sess_refresh_nc(p, s2);
	}
	nat_sess_refresh_nc(p, s);
	nat_xlate_src(pkt, len, pi, m->out_addr, m->out_port, true);
	nat_xlate_dst(pkt, len, pi, m2->in_addr, m2->in_port, true);
	if (!nat_set_macs(p, pkt, NAT_SIDE_INSIDE, m2->in_addr))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	nat_count(&p->cnt, NAT_CNT_HAIRPIN_PKTS);
	return NAT_TX_INSIDE;
}

/*
 * Hairpinning to an external endpoint another worker owns (nat_pipeline.h,
 * "Workers"): the first of two steps.  The sender's session towards that
 * endpoint does what an outbound packet does (TCP state, refresh) and the
 * source is translated; the owner of the destination then takes the frame
 * as one from outside, and that step decrements the TTL and sets the MACs.
 * Later fragments cannot follow (they would need the same two steps): a
 * fragmented hairpin across workers is dropped.
 */
static enum nat_verdict hairpin_handoff(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
					const struct nc_pkt_info *pi, const struct nat_mapping *m,
					struct nat_sess *s, bool created)
{
	unsigned owner = nat_outside_owner(p, pi->key.proto, pi->key.dst.v4, dst_port(pi));

	if (owner == p->shard.index || (pi->flags & NC_PF_MORE_FRAGS))
		return nat_drop(p, NAT_CNT_DROP_HAIRPIN); /* ours, and no mapping */
	if (pi->key.proto == 6 && !tcp_step(p, s, created, NAT_DIR_IN2OUT, pi->tcp_flags, p->now))
		return NAT_DROP;
	nat_sess_refresh_nc(p, s);
	nat_xlate_src(pkt, len, pi, m->out_addr, m->out_port, true);
	p->handoff_to = (uint16_t)owner;
	nat_count(&p->cnt, NAT_CNT_HAIRPIN_HANDOFF); /* hairpin_pkts: the second step */
	if (s->live)
		nat_sess_attach(p, s, NULL);
	return NAT_HANDOFF;
}

/* ---- the fast path ---- */

/* The TCP step on the copy (the session is not new here). */
static inline bool fast_tcp_step(struct nat_pipeline *p, struct nat_sess_nc *f,
				 enum nat_dir dir, uint8_t flags)
{
	/* a session made by a port forward has no rule action (action_of) */
	uint8_t next = tcp_next(f->tcp_state, dir, flags, f->action == NAT_ACT_NONE);

	if (next == NAT_TCP_INVALID) {
		nat_count(&p->cnt, NAT_CNT_DROP_TCP_STATE);
		return false;
	}
	if (next != f->tcp_state) {
		struct nat_sess *s = nat_sess_at(p->st, f->sess);

		f->tcp_state = next;
		s->tcp_state = next;
		if (f->tgen == p->timeout_gen)
			s->timeout = nat_sess_nc_timeout(p, f); /* else fast_refresh() */
	}
	return true;
}

/*
 * nat_sess_refresh() from the copy: last = max(last, now), timeout from the
 * protocol and TCP state (nat_sess_nc_timeout()).  The last use goes to the copy
 * only; the session's record is stored to when the timeout changes (a TCP
 * state change: fast_tcp_step(); a new timeout setting: here, by tgen) and
 * never read.
 */
static inline void fast_refresh(struct nat_pipeline *p, struct nat_sess_nc *f)
{
	if (p->now > f->last) {
		if (p->now < UINT32_MAX) {
			f->last = (uint32_t)p->now; /* the table catches up lazily */
		} else {
			nat_sess_touch(p->st, nat_sess_at(p->st, f->sess), p->now);
			f->last = UINT32_MAX;
		}
	}
	if (__builtin_expect(f->tgen != p->timeout_gen, 0)) {
		nat_sess_at(p->st, f->sess)->timeout = nat_sess_nc_timeout(p, f);
		f->tgen = p->timeout_gen;
	}
}

static enum nat_verdict hairpin_path(struct nat_pipeline *p, struct nat_sess_nc *sn,
				     struct nc_pkt *pkt)
{
	const struct nc_pkt_info *pi = &pkt->info;
	struct nat_sess *s = nat_sess_at(p->st, sn->sess), *s2 = nat_sess_at(p->st, sn->sess2);
	const struct nat_mapping *m = nat_sess_mapping(p->st, s);
	const struct nat_mapping *m2 = nat_sess_mapping(p->st, s2);

	/* the sender is whichever inside endpoint sent it */
	if (pi->key.src.v4 != m->in_addr || src_port(pi) != m->in_port) {
		const struct nat_mapping *tm = m;
		struct nat_sess *ts = s;

		m = m2;
		s = s2;
		m2 = tm;
		s2 = ts;
	}
	return xlate_hairpin(p, pkt_data(pkt), pkt->len, pi, m, s, false, m2, s2, false);
}

/*
 * What xlate_in2out / xlate_out2in do for a session that exists, from the
 * netchannel's copy: TCP state, refresh, MACs, then rewrite and TTL in one
 * pass (one update per checksum).  The session's state, the counters and
 * the bytes of every frame sent are the same as the slow path's; a frame
 * dropped for want of a next-hop MAC is left untranslated (its buffer is
 * the caller's or freed).  Fragments never get here (first ones carry
 * NC_PF_MORE_FRAGS), so there is nothing to note for later ones.
 */
enum nat_verdict nat_session_path(struct nat_pipeline *p, struct nat_sess_nc *sn,
				  struct nc_pkt *pkt)
{
	struct nat_sess_nc *f = sn;
	const struct nc_pkt_info *pi = &pkt->info;
	uint8_t *data = pkt_data(pkt);
	uint8_t proto = pi->key.proto;

	/* anything unusual goes the long way: a session that went during
	 * this burst, errors, fragments' bookkeeping, VLANs, TTL */
	if ((sn->flags & NAT_SN_GONE) || pi->status != NC_PARSE_OK || pi->vlan_count ||
	    pi->ttl <= 1 || (pi->flags & (NC_PF_ICMP_ERROR | NC_PF_MORE_FRAGS)) ||
	    pi->key.family != CLS_IPV4 ||
	    ((sn->flags & NAT_SN_LOOP) && pkt->in_port == NAT_SIDE_INSIDE))
		return nat_slow_path(p, pkt, sn->action);
	if (sn->flags & NAT_SN_HAIRPIN)
		return hairpin_path(p, sn, pkt);
	if (pkt->in_port == NAT_SIDE_INSIDE) {
		if (proto == 1 && !icmp_is_request(pi->icmp_type))
			return nat_slow_path(p, pkt, sn->action);
		if (proto == 6 && !fast_tcp_step(p, f, NAT_DIR_IN2OUT, pi->tcp_flags))
			return NAT_DROP;
		fast_refresh(p, f); /* outbound packets refresh (RFC 4787 REQ-6) */
		if (!nat_set_macs(p, data, NAT_SIDE_OUTSIDE, pi->key.dst.v4))
			return NAT_DROP;
		nat_xlate_src_fwd(data, pkt->len, pi, f->out_addr, f->out_port);
		nat_count(&p->cnt, NAT_CNT_IN2OUT_PKTS);
		nat_count(&p->cnt, proto == 6	 ? NAT_CNT_IN2OUT_TCP
				   : proto == 17 ? NAT_CNT_IN2OUT_UDP
						 : NAT_CNT_IN2OUT_ICMP);
		return NAT_TX_OUTSIDE;
	}
	if (proto == 1 && !icmp_is_reply(pi->icmp_type))
		return nat_slow_path(p, pkt, sn->action);
	if (proto == 6) {
		if (!fast_tcp_step(p, f, NAT_DIR_OUT2IN, pi->tcp_flags))
			return NAT_DROP;
		fast_refresh(p, f); /* TCP: both directions */
	}
	if (!nat_set_macs(p, data, NAT_SIDE_INSIDE, f->in_addr))
		return NAT_DROP;
	nat_xlate_dst_fwd(data, pkt->len, pi, f->in_addr, f->in_port);
	count_out2in(p, proto, f->flags & NAT_SN_LOOP);
	return NAT_TX_INSIDE;
}

/* ---- inside -> outside ---- */

static enum nat_verdict icmp_error_in2out(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
					  const struct nc_pkt_info *pi)
{
	const struct nc_pkt_inner *in = &pi->inner;
	struct nat_mapping *m;

	if (!(in->layers & NC_LAYER_L4) || in->key.family != CLS_IPV4)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_BAD_INNER);
	/* the embedded packet went out2in: its destination is the inside endpoint */
	m = nat_mapping_find_in(p->st, in->key.proto, in->key.dst.v4,
				in->key.proto == 1 ? in->key.sport | in->key.dport : in->key.dport);
	if (!m)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_NO_SESSION);
	if (nat_xlate_icmp_error(pkt, len, pi, false, m->out_addr, m->out_addr, m->out_port) != 0)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_BAD_INNER);
	if (!nat_set_macs(p, pkt, NAT_SIDE_OUTSIDE, pi->key.dst.v4))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	nat_count(&p->cnt, NAT_CNT_IN2OUT_ICMP_ERR);
	return NAT_TX_OUTSIDE;
}

/* A new mapping (external endpoint oa:op) is about to get its first session
 * with the packet's remote: start the cache misses of the mapping and its
 * outside flow key together rather than one after another (at 1 M
 * sessions each is a miss to memory). */
static void prefetch_new_session(struct nat_pipeline *p, const struct nc_pkt_info *pi,
				 uint32_t oa, uint16_t op)
{
	uint8_t proto = pi->key.proto;
	struct nc_flow_key ko; /* the new session's outside key */

	nat_session_prefetch_add(p->st, proto, oa, op);
	nat_sess_key(&ko, NAT_SIDE_OUTSIDE, proto, pi->key.dst.v4, rem_port_of(proto, pi->key.dport),
		     oa, op);
	nc_flow_prefetch(nc_engine_flows(p->eng), &ko);
}

/* A new mapping for the inside endpoint of a packet under an snat or
 * masquerade rule; NULL with the drop counted (and ICMP host unreachable
 * queued on exhaustion, RFC 6888 REQ-8). */
static struct nat_mapping *new_mapping(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				       const struct nc_pkt_info *pi, int action, uint16_t sport)
{
	struct nat_ports *a = action == NAT_ACT_MASQUERADE ? p->masq : p->pool;
	uint8_t proto = pi->key.proto;
	struct nat_mapping *m;
	uint32_t oa;
	uint16_t op;
	int rc;

	if (proto == 6 && nat_tcp_flag_class(pi->tcp_flags) != NAT_TF_SYN) {
		nat_count(&p->cnt, NAT_CNT_DROP_TCP_NO_SYN);
		return NULL;
	}
	rc = a ? nat_ports_alloc(a, proto, pi->key.src.v4, sport, p->now, &oa, &op) : -ENOSPC;
	if (rc) {
		send_unreach(p, pkt, len, pi);
		nat_count(&p->cnt, rc == -EDQUOT ? NAT_CNT_DROP_QUOTA : NAT_CNT_DROP_PORTS_EXHAUSTED);
		return NULL;
	}
	/* (its index bucket and outside flow key were prefetched from the
	 * predicted port, nat_slow_path_prefetch: right 98 % of the time) */
	rc = nat_mapping_add(p->st, proto, pi->key.src.v4, sport, oa, op,
			     action == NAT_ACT_MASQUERADE ? NAT_MAP_MASQ : 0, p->now, &m);
	if (rc) {
		int rc2 = nat_ports_release(a, proto, pi->key.src.v4, oa, op, p->now);

		(void)rc2; /* cannot fail: just allocated */
		nat_count(&p->cnt, NAT_CNT_DROP_SESSIONS_FULL);
		return NULL;
	}
	nat_count(&p->cnt, NAT_CNT_MAPPINGS_CREATED);
	if (p->cfg.log && p->cfg.port_block <= 1)
		nat_log_mapping(&p->log, NAT_LOG_MAP_CREATE, m, p->now);
	return m;
}

static enum nat_verdict in2out(struct nat_pipeline *p, struct nc_pkt *pkt, int action)
{
	const struct nc_pkt_info *pi = &pkt->info;
	uint8_t *data = pkt_data(pkt);
	uint32_t len = pkt->len;
	uint8_t proto = pi->key.proto;
	uint32_t dst = pi->key.dst.v4;
	struct nat_mapping *m = NULL;
	struct nat_sess *s;
	enum nat_verdict v;
	bool created = false, looked = false;
	uint16_t sport, rport;

	if (nat_on_subnet(&p->cfg.inside, pi->key.src.v4))
		nat_neigh_learn(p, NAT_SIDE_INSIDE, pi->key.src.v4, data + 6);
	if (dst == p->cfg.inside.addr)
		return nat_drop(p, NAT_CNT_DROP_TO_SELF);
	if (pi->flags & NC_PF_ICMP_ERROR)
		return icmp_error_in2out(p, data, len, pi);
	if (proto == 6 || proto == 17) {
		/* a dnat server answering: its static mapping, whatever the rules */
		m = nat_mapping_find_in(p->st, proto, pi->key.src.v4, pi->key.sport);
		looked = true; /* the lookup below would be the same (sport) */
		if (m && (m->flags & NAT_MAP_STATIC)) {
			sport = pi->key.sport;
			rport = pi->key.dport;
			goto have_mapping;
		}
	}
	if (action == NAT_ACT_NONE)
		return nat_drop(p, NAT_CNT_DROP_NO_RULE);
	if (action == NAT_ACT_DROP)
		return nat_drop(p, NAT_CNT_DROP_RULE);
	if (action == NAT_ACT_BYPASS) {
		if (!nat_set_macs(p, data, NAT_SIDE_OUTSIDE, dst))
			return NAT_DROP;
		(void)nat_ttl_dec(data, pi);
		frag_note(p, NAT_SIDE_INSIDE, pi, FRAG_BYPASS, 0);
		nat_count(&p->cnt, NAT_CNT_BYPASS_PKTS);
		return NAT_TX_OUTSIDE;
	}
	if (proto != 6 && proto != 17 && proto != 1)
		return nat_drop(p, NAT_CNT_DROP_PROTO);
	if (proto == 1 && !icmp_is_request(pi->icmp_type))
		return nat_drop(p, NAT_CNT_DROP_ICMP_TYPE);
	sport = src_port(pi);
	rport = rem_port_of(proto, pi->key.dport);
	if (!looked)
		m = nat_mapping_find_in(p->st, proto, pi->key.src.v4, sport);
	if (!m) {
		m = new_mapping(p, data, len, pi, action, sport);
		if (!m)
			return NAT_DROP;
	}
have_mapping:
	/* (a mapping without sessions, e.g. one just made, has none to find) */
	s = m->n_sessions ? nat_sess_find(p->st, m, dst, rport) : NULL;
	if (!s) {
		if (nat_sess_add(p->st, m, dst, rport, p->now, &s) != 0) {
			if (m->n_sessions == 0 && !(m->flags & NAT_MAP_STATIC)) {
				int rc = nat_mapping_delete(p->st, m, p->now);

				(void)rc; /* cannot fail: m is live */
			}
			return nat_drop(p, NAT_CNT_DROP_SESSIONS_FULL);
		}
		created = true;
		nat_count(&p->cnt, NAT_CNT_SESSIONS_CREATED);
	}
	if (nat_is_external(p, dst)) {
		uint16_t dport = dst_port(pi);
		struct nat_mapping *m2 = nat_mapping_find_out(p->st, proto, dst,
							      proto == 1 ? sport : dport);
		struct nat_sess *s2;
		bool c2;

		if (!m2 && proto != 1 && p->shard.count > 1)
			return hairpin_handoff(p, data, len, pi, m, s, created);
		if (!m2 || proto == 1)
			return nat_drop(p, NAT_CNT_DROP_HAIRPIN);
		s2 = inbound_session(p, m2, m->out_addr, m->out_port, pi->tcp_flags, p->now, &c2);
		if (!s2)
			return NAT_DROP;
		v = xlate_hairpin(p, data, len, pi, m, s, created, m2, s2, c2);
		if (s->live && s2->live && s->user == 0 && s2->user == 0)
			nat_sess_attach(p, s, s2);
		return v;
	}
	v = xlate_in2out(p, data, len, pi, m, s, created);
	if (s->live)
		nat_sess_attach(p, s, NULL);
	return v;
}

/* ---- outside -> inside ---- */

static enum nat_verdict icmp_error_out2in(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
					  const struct nc_pkt_info *pi)
{
	const struct nc_pkt_inner *in = &pi->inner;
	struct nat_mapping *m;

	if (!(in->layers & NC_LAYER_L4) || in->key.family != CLS_IPV4)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_BAD_INNER);
	/* the embedded packet went in2out: its source is the external endpoint */
	m = nat_mapping_find_out(p->st, in->key.proto, in->key.src.v4,
				 in->key.proto == 1 ? in->key.sport | in->key.dport : in->key.sport);
	if (!m || m->out_addr != pi->key.dst.v4)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_NO_SESSION);
	if (nat_xlate_icmp_error(pkt, len, pi, true, m->in_addr, m->in_addr, m->in_port) != 0)
		return nat_drop(p, NAT_CNT_DROP_ICMP_ERR_BAD_INNER);
	if (!nat_set_macs(p, pkt, NAT_SIDE_INSIDE, m->in_addr))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	nat_count(&p->cnt, NAT_CNT_OUT2IN_ICMP_ERR);
	return NAT_TX_INSIDE;
}

static enum nat_verdict out2in(struct nat_pipeline *p, struct nc_pkt *pkt)
{
	const struct nc_pkt_info *pi = &pkt->info;
	uint8_t *data = pkt_data(pkt);
	uint8_t proto = pi->key.proto;
	struct nat_mapping *m;
	struct nat_sess *s;
	enum nat_verdict v;
	bool created;

	if (!nat_is_external(p, pi->key.dst.v4))
		return nat_drop(p, NAT_CNT_DROP_NOT_FOR_US);
	if (pi->flags & NC_PF_ICMP_ERROR)
		return icmp_error_out2in(p, data, pkt->len, pi);
	if (proto != 6 && proto != 17 && proto != 1)
		return nat_drop(p, NAT_CNT_DROP_PROTO);
	if (proto == 1 && !icmp_is_reply(pi->icmp_type))
		return nat_drop(p, NAT_CNT_DROP_ICMP_TYPE);
	m = nat_mapping_find_out(p->st, proto, pi->key.dst.v4, dst_port(pi));
	if (!m) /* (a hairpin handed over from another worker: its target) */
		return nat_drop(p, nat_is_external(p, pi->key.src.v4) ? NAT_CNT_DROP_HAIRPIN
								   : NAT_CNT_DROP_NO_SESSION);
	s = inbound_session(p, m, pi->key.src.v4, rem_port_of(proto, pi->key.sport), pi->tcp_flags,
			    p->now, &created);
	if (!s)
		return NAT_DROP;
	v = xlate_out2in(p, data, pkt->len, pi, m, s, created);
	if (s->live)
		nat_sess_attach(p, s, NULL);
	return v;
}

/* ---- entry of the slow path ---- */

void nat_slow_path_prefetch(struct nat_pipeline *p, const struct nc_pkt *pkt, int action,
			    unsigned stage)
{
	const struct nc_pkt_info *pi = &pkt->info;
	uint8_t proto = pi->key.proto;
	struct nat_ports *a;

	/* in2out looks its source up (a new flow: to find or make its
	 * mapping, which takes a port), then its session; out2in its
	 * destination; an ICMP error looks up its embedded packet, rarely
	 * worth a prefetch.  Only primary buckets: loading the alternates
	 * too, even just when a lookup or insert would read them, measured
	 * slower (the lines cost more than the misses they saved). */
	if (pi->status != NC_PARSE_OK || pi->key.family != CLS_IPV4 ||
	    (pi->flags & NC_PF_ICMP_ERROR))
		return;
	if (pkt->in_port != NAT_SIDE_INSIDE) {
		if (stage == 0)
			nat_mapping_prefetch_find(p->st, false, proto, pi->key.dst.v4, dst_port(pi));
		return;
	}
	/* (no session index bucket: most mappings' sessions are not in it,
	 * nat_session.c LIST_MAX) */
	if (stage == 0)
		nat_mapping_prefetch_find(p->st, true, proto, pi->key.src.v4, src_port(pi));
	a = action == NAT_ACT_MASQUERADE ? p->masq : action == NAT_ACT_SNAT ? p->pool : NULL;
	if (!a)
		return;
	if (stage < 3) {
		nat_ports_prefetch(a, proto, pi->key.src.v4, src_port(pi), stage);
	} else {
		/* the port the allocator will give: the new mapping's index
		 * bucket and outside flow key can start loading now (for an
		 * existing mapping this is a wasted prefetch) */
		uint32_t oa;
		uint16_t op;

		if (nat_ports_predict(a, proto, pi->key.src.v4, src_port(pi), p->now, &oa, &op))
			prefetch_new_session(p, pi, oa, op);
	}
}

enum nat_verdict nat_slow_path(struct nat_pipeline *p, struct nc_pkt *pkt, int action)
{
	const struct nc_pkt_info *pi = &pkt->info;
	enum nat_side side = pkt->in_port == NAT_SIDE_INSIDE ? NAT_SIDE_INSIDE : NAT_SIDE_OUTSIDE;

	if (pkt->len < 14 || !pkt->data)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (pi->vlan_count || !(pi->layers & NC_LAYER_L3) || pi->key.family != CLS_IPV4)
		return nat_drop(p, pi->status == NC_PARSE_OK || (pi->layers & NC_LAYER_L3)
				       ? NAT_CNT_DROP_NOT_IPV4
				       : (pi->status == NC_PARSE_NOT_IP ? NAT_CNT_DROP_NOT_IPV4
									: NAT_CNT_DROP_PARSE));
	if (pi->status != NC_PARSE_OK && pi->status != NC_PARSE_UNSUPPORTED_PROTO &&
	    pi->status != NC_PARSE_FRAGMENT)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (pi->ttl <= 1) {
		send_time_exceeded(p, pkt_data(pkt), pkt->len, pi, side);
		return nat_drop(p, NAT_CNT_DROP_TTL);
	}
	if (pi->status == NC_PARSE_FRAGMENT)
		return later_fragment(p, pkt_data(pkt), pkt->len, pi, side);
	if (side == NAT_SIDE_INSIDE)
		return in2out(p, pkt, action);
	return out2in(p, pkt);
}
