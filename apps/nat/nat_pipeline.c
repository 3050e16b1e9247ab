/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat packet pipeline, IP side; the steps are described in nat_pipeline.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_csum.h"
#include "nat_pipeline_int.h"
#include "nat_tcp.h"
#include "nat_translate.h"
#include "nc_parse.h"

/* ---- callbacks from the allocator and the session table ---- */

static void on_block(void *ctx, const struct nat_ports_event *ev)
{
	struct nat_pipeline *p = ctx;

	if (p->cfg.log)
		nat_log_block(&p->log, ev);
}

static void on_mapping_freed(void *ctx, const struct nat_mapping *m, uint64_t now)
{
	struct nat_pipeline *p = ctx;
	struct nat_ports *a = (m->flags & NAT_MAP_MASQ) ? p->masq : p->pool;

	if (a && nat_ports_release(a, m->proto, m->in_addr, m->out_addr, m->out_port, now) != 0)
		return; /* cannot happen: every dynamic mapping holds its port */
	nat_count(&p->cnt, NAT_CNT_MAPPINGS_FREED);
	if (p->cfg.log && p->cfg.port_block <= 1)
		nat_log_mapping(&p->log, NAT_LOG_MAP_DELETE, m, now);
}

/* ---- set-up ---- */

static int make_ports(struct nat_pipeline *p, const uint32_t *addrs, uint32_t n,
		      struct nat_ports **out)
{
	struct nat_ports_config pc = {
		.addrs = addrs,
		.n_addrs = n,
		.port_lo = p->cfg.port_lo,
		.port_hi = p->cfg.port_hi,
		.quota = p->cfg.quota,
		.block = p->cfg.port_block,
		.hold_down = p->cfg.hold_down,
		.max_subscribers = 65536,
		.event = on_block,
		.event_ctx = p,
	};
	return nat_ports_create(&pc, out);
}

/* The inside rules into a classifier: config order is priority order. */
static int rules_build(struct nat_pipeline *p)
{
	struct cls_config cc = {.backend = CLS_BACKEND_TRIE, .reclaim = NULL};
	struct cls_rule *v;
	size_t n = 0, failed;
	uint32_t i;
	int rc;

	rc = cls_create(&cc, &p->rules);
	if (rc)
		return rc;
	v = calloc(p->cfg.n_rules ? p->cfg.n_rules : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->cfg.n_rules; i++) {
		if (p->cfg.rules[i].action == NAT_ACT_DNAT)
			continue;
		v[n] = p->cfg.rules[i].match;
		v[n].udata = &p->cfg.rules[i];
		n++;
	}
	rc = n ? cls_insert_batch(p->rules, v, n, &failed) : 0;
	free(v);
	return rc;
}

int nat_pipeline_create(const struct nat_config *cfg, FILE *log, struct nat_pipeline **out)
{
	struct nat_session_config sc;
	struct nat_pipeline *p;
	uint32_t i;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!cfg || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->cfg.rules = NULL;
	if (cfg->n_rules) {
		p->cfg.rules = malloc(cfg->n_rules * sizeof(*cfg->rules));
		if (!p->cfg.rules) {
			free(p);
			return -ENOMEM;
		}
		memcpy(p->cfg.rules, cfg->rules, cfg->n_rules * sizeof(*cfg->rules));
	}
	p->log.f = log;
	if (cfg->pool_addrs) {
		uint32_t *a = malloc(cfg->pool_addrs * sizeof(*a));

		if (!a) {
			rc = -ENOMEM;
			goto fail;
		}
		for (i = 0; i < cfg->pool_addrs; i++)
			a[i] = nat_config_pool_addr(cfg, i);
		rc = make_ports(p, a, cfg->pool_addrs, &p->pool);
		free(a);
		if (rc)
			goto fail;
	}
	for (i = 0; i < cfg->n_rules; i++) {
		if (cfg->rules[i].action == NAT_ACT_MASQUERADE) {
			rc = make_ports(p, &cfg->outside.addr, 1, &p->masq);
			if (rc)
				goto fail;
			break;
		}
	}
	rc = rules_build(p);
	if (rc)
		goto fail;
	memset(&sc, 0, sizeof(sc));
	sc.max_mappings = cfg->sessions;
	sc.max_sessions = cfg->sessions;
	sc.filtering = cfg->filtering;
	sc.timeout_udp = cfg->timeout_udp;
	sc.timeout_tcp_est = cfg->timeout_tcp_est;
	sc.timeout_tcp_trans = cfg->timeout_tcp_trans;
	sc.timeout_icmp = cfg->timeout_icmp;
	sc.mapping_freed = on_mapping_freed;
	sc.ctx = p;
	rc = nat_session_create(&sc, &p->st);
	if (rc)
		goto fail;
	/* static mappings: their external ports are never allocated */
	for (i = 0; i < cfg->n_rules; i++) {
		const struct nat_rule *r = &cfg->rules[i];
		uint32_t ext = r->match.dst_lo.v4;
		struct nat_ports *a = ext == cfg->outside.addr ? p->masq : p->pool;
		struct nat_mapping *m;

		if (r->action != NAT_ACT_DNAT)
			continue;
		if (a) {
			rc = nat_ports_reserve(a, r->match.proto, ext, r->match.dport_lo);
			if (rc && rc != -ENOENT)
				goto fail;
		}
		rc = nat_mapping_add(p->st, r->match.proto, r->to_addr, r->to_port, ext,
				     r->match.dport_lo,
				     NAT_MAP_STATIC | (ext == cfg->outside.addr ? NAT_MAP_MASQ : 0), 0,
				     &m);
		if (rc)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	nat_pipeline_free(p);
	return rc;
}

void nat_pipeline_free(struct nat_pipeline *p)
{
	if (!p)
		return;
	nat_session_free(p->st);
	cls_free(p->rules);
	nat_ports_free(p->pool);
	nat_ports_free(p->masq);
	free(p->cfg.rules);
	free(p);
}

/* ---- helpers ---- */

static bool is_external(const struct nat_pipeline *p, uint32_t a)
{
	return a == p->cfg.outside.addr || nat_config_in_pool(&p->cfg, a);
}

/* First inside rule (config order) matching the key; NULL if none. */
static const struct nat_rule *rule_find(const struct nat_pipeline *p, const struct cls_key *k)
{
	struct cls_match m;

	if (cls_lookup(p->rules, k, &m) != 1)
		return NULL;
	return m.udata;
}

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

/* TCP state step; false (counted, new session removed) if invalid. */
static bool tcp_step(struct nat_pipeline *p, struct nat_sess *s, bool created, enum nat_dir dir,
		     uint8_t flags, uint64_t now)
{
	uint8_t next = nat_tcp_transition(s->tcp_state, dir, flags);

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
	return true;
}

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

static enum nat_verdict in2out(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
			       const struct nc_pkt_info *pi, uint64_t now)
{
	uint8_t proto = pi->key.proto;
	uint32_t dst = pi->key.dst.v4;
	const struct nat_rule *r;
	struct nat_mapping *m;
	struct nat_sess *s;
	bool created = false;
	uint16_t sport, rport;

	if (nat_on_subnet(&p->cfg.inside, pi->key.src.v4))
		nat_neigh_learn(p, NAT_SIDE_INSIDE, pi->key.src.v4, pkt + 6);
	if (dst == p->cfg.inside.addr)
		return nat_drop(p, NAT_CNT_DROP_TO_SELF);
	if (pi->flags & NC_PF_ICMP_ERROR)
		return icmp_error_in2out(p, pkt, len, pi);
	if (proto == 6 || proto == 17) {
		/* a dnat server answering: its static mapping, whatever the rules */
		m = nat_mapping_find_in(p->st, proto, pi->key.src.v4, pi->key.sport);
		if (m && (m->flags & NAT_MAP_STATIC)) {
			sport = pi->key.sport;
			rport = pi->key.dport;
			goto have_mapping;
		}
	}
	r = rule_find(p, &pi->key);
	if (!r)
		return nat_drop(p, NAT_CNT_DROP_NO_RULE);
	if (r->action == NAT_ACT_DROP)
		return nat_drop(p, NAT_CNT_DROP_RULE);
	if (r->action == NAT_ACT_BYPASS) {
		if (!nat_set_macs(p, pkt, NAT_SIDE_OUTSIDE, dst))
			return NAT_DROP;
		(void)nat_ttl_dec(pkt, pi);
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

	m = nat_mapping_find_in(p->st, proto, pi->key.src.v4, sport);
	if (!m) {
		struct nat_ports *a = r->action == NAT_ACT_MASQUERADE ? p->masq : p->pool;
		uint32_t oa;
		uint16_t op;
		int rc;

		if (proto == 6 && nat_tcp_flag_class(pi->tcp_flags) != NAT_TF_SYN)
			return nat_drop(p, NAT_CNT_DROP_TCP_NO_SYN);
		rc = a ? nat_ports_alloc(a, proto, pi->key.src.v4, sport, now, &oa, &op) : -ENOSPC;
		if (rc) {
			send_unreach(p, pkt, len, pi);
			return nat_drop(p, rc == -EDQUOT ? NAT_CNT_DROP_QUOTA : NAT_CNT_DROP_PORTS_EXHAUSTED);
		}
		rc = nat_mapping_add(p->st, proto, pi->key.src.v4, sport, oa, op,
				     r->action == NAT_ACT_MASQUERADE ? NAT_MAP_MASQ : 0, now, &m);
		if (rc) {
			int rc2 = nat_ports_release(a, proto, pi->key.src.v4, oa, op, now);

			(void)rc2; /* cannot fail: just allocated */
			return nat_drop(p, NAT_CNT_DROP_SESSIONS_FULL);
		}
		nat_count(&p->cnt, NAT_CNT_MAPPINGS_CREATED);
		if (p->cfg.log && p->cfg.port_block <= 1)
			nat_log_mapping(&p->log, NAT_LOG_MAP_CREATE, m, now);
	}
have_mapping:
	s = nat_sess_find(p->st, m, dst, rport);
	if (!s) {
		if (nat_sess_add(p->st, m, dst, rport, now, &s) != 0) {
			if (m->n_sessions == 0 && !(m->flags & NAT_MAP_STATIC)) {
				int rc = nat_mapping_delete(p->st, m, now);

				(void)rc; /* cannot fail: m is live */
			}
			return nat_drop(p, NAT_CNT_DROP_SESSIONS_FULL);
		}
		created = true;
		nat_count(&p->cnt, NAT_CNT_SESSIONS_CREATED);
	}
	if (proto == 6 && !tcp_step(p, s, created, NAT_DIR_IN2OUT, pi->tcp_flags, now))
		return NAT_DROP;
	nat_sess_refresh(p->st, s, now); /* outbound packets refresh (RFC 4787 REQ-6) */

	if (is_external(p, dst)) {
		/* hairpinning (RFC 4787 REQ-9): to another mapping's external
		 * endpoint; the source appears as the sender's external endpoint */
		uint16_t dport = dst_port(pi);
		struct nat_mapping *m2 = nat_mapping_find_out(p->st, proto, dst,
							      proto == 1 ? sport : dport);
		struct nat_sess *s2;
		bool c2;

		if (!m2 || proto == 1)
			return nat_drop(p, NAT_CNT_DROP_HAIRPIN);
		s2 = inbound_session(p, m2, m->out_addr, m->out_port, pi->tcp_flags, now, &c2);
		if (!s2)
			return NAT_DROP;
		if (proto == 6) {
			if (!tcp_step(p, s2, c2, NAT_DIR_OUT2IN, pi->tcp_flags, now))
				return NAT_DROP;
			nat_sess_refresh(p->st, s2, now);
		}
		nat_xlate_src(pkt, len, pi, m->out_addr, m->out_port, true);
		nat_xlate_dst(pkt, len, pi, m2->in_addr, m2->in_port, true);
		if (!nat_set_macs(p, pkt, NAT_SIDE_INSIDE, m2->in_addr))
			return NAT_DROP;
		(void)nat_ttl_dec(pkt, pi);
		nat_count(&p->cnt, NAT_CNT_HAIRPIN_PKTS);
		return NAT_TX_INSIDE;
	}
	nat_xlate_src(pkt, len, pi, m->out_addr, m->out_port, true);
	if (!nat_set_macs(p, pkt, NAT_SIDE_OUTSIDE, dst))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	frag_note(p, NAT_SIDE_INSIDE, pi, FRAG_SRC, m->out_addr);
	nat_count(&p->cnt, NAT_CNT_IN2OUT_PKTS);
	nat_count(&p->cnt, proto == 6 ? NAT_CNT_IN2OUT_TCP : proto == 17 ? NAT_CNT_IN2OUT_UDP
								      : NAT_CNT_IN2OUT_ICMP);
	return NAT_TX_OUTSIDE;
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

static enum nat_verdict out2in(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
			       const struct nc_pkt_info *pi, uint64_t now)
{
	uint8_t proto = pi->key.proto;
	struct nat_mapping *m;
	struct nat_sess *s;
	bool created;

	if (!is_external(p, pi->key.dst.v4))
		return nat_drop(p, NAT_CNT_DROP_NOT_FOR_US);
	if (pi->flags & NC_PF_ICMP_ERROR)
		return icmp_error_out2in(p, pkt, len, pi);
	if (proto != 6 && proto != 17 && proto != 1)
		return nat_drop(p, NAT_CNT_DROP_PROTO);
	if (proto == 1 && !icmp_is_reply(pi->icmp_type))
		return nat_drop(p, NAT_CNT_DROP_ICMP_TYPE);
	m = nat_mapping_find_out(p->st, proto, pi->key.dst.v4, dst_port(pi));
	if (!m)
		return nat_drop(p, NAT_CNT_DROP_NO_SESSION);
	s = inbound_session(p, m, pi->key.src.v4, rem_port_of(proto, pi->key.sport), pi->tcp_flags,
			    now, &created);
	if (!s)
		return NAT_DROP;
	if (proto == 6) {
		if (!tcp_step(p, s, created, NAT_DIR_OUT2IN, pi->tcp_flags, now))
			return NAT_DROP;
		nat_sess_refresh(p->st, s, now); /* TCP: both directions */
	}
	nat_xlate_dst(pkt, len, pi, m->in_addr, m->in_port, true);
	if (!nat_set_macs(p, pkt, NAT_SIDE_INSIDE, m->in_addr))
		return NAT_DROP;
	(void)nat_ttl_dec(pkt, pi);
	frag_note(p, NAT_SIDE_OUTSIDE, pi, FRAG_DST, m->in_addr);
	nat_count(&p->cnt, NAT_CNT_OUT2IN_PKTS);
	nat_count(&p->cnt, proto == 6 ? NAT_CNT_OUT2IN_TCP : proto == 17 ? NAT_CNT_OUT2IN_UDP
								      : NAT_CNT_OUT2IN_ICMP);
	return NAT_TX_INSIDE;
}

/* ---- entry ---- */

enum nat_verdict nat_pipeline_process(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				      enum nat_side side, uint64_t now)
{
	struct nc_pkt_info pi;

	p->reply_len = 0;
	p->now = now;
	if (!pkt || len < 14)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (nat_get16(pkt + 12) == 0x0806)
		return nat_arp_input(p, pkt, len, side);
	if (nc_parse(pkt, len, (uint16_t)side, NC_LINK_ETHERNET, &pi) != 0)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (pi.vlan_count || !(pi.layers & NC_LAYER_L3) || pi.key.family != CLS_IPV4)
		return nat_drop(p, pi.status == NC_PARSE_OK || (pi.layers & NC_LAYER_L3)
				       ? NAT_CNT_DROP_NOT_IPV4
				       : (pi.status == NC_PARSE_NOT_IP ? NAT_CNT_DROP_NOT_IPV4
								       : NAT_CNT_DROP_PARSE));
	if (pi.status != NC_PARSE_OK && pi.status != NC_PARSE_UNSUPPORTED_PROTO &&
	    pi.status != NC_PARSE_FRAGMENT)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (pi.ttl <= 1)
		return nat_drop(p, NAT_CNT_DROP_TTL);
	if (pi.status == NC_PARSE_FRAGMENT)
		return later_fragment(p, pkt, len, &pi, side);
	if (side == NAT_SIDE_INSIDE)
		return in2out(p, pkt, len, &pi, now);
	return out2in(p, pkt, len, &pi, now);
}

const uint8_t *nat_pipeline_reply(const struct nat_pipeline *p, uint32_t *len,
				  enum nat_side *side)
{
	if (!p || !p->reply_len)
		return NULL;
	if (len)
		*len = p->reply_len;
	if (side)
		*side = p->reply_side;
	return p->reply;
}

int nat_pipeline_expire(struct nat_pipeline *p, uint64_t now, uint32_t budget)
{
	int n;

	if (!p)
		return -EINVAL;
	n = nat_session_expire(p->st, now, budget);
	if (n > 0)
		p->cnt.v[NAT_CNT_SESSIONS_EXPIRED] += (uint64_t)n;
	return n;
}

const struct nat_counters *nat_pipeline_counters(const struct nat_pipeline *p)
{
	return &p->cnt;
}

uint32_t nat_pipeline_sessions(const struct nat_pipeline *p)
{
	return nat_session_count(p->st);
}

uint32_t nat_pipeline_mappings(const struct nat_pipeline *p)
{
	return nat_mapping_count(p->st);
}

uint64_t nat_pipeline_log_lines(const struct nat_pipeline *p)
{
	return p->log.lines;
}
