/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat packet pipeline: set-up, the netchannel types and bursts (see nat_pipeline.h). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
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
		.shard = &p->shard,
	};
	return nat_ports_create(&pc, out);
}

/* ---- netchannel types ---- */

/* Where a packet's verdict takes it: the side's output list, or dropped;
 * a reply frame the step built joins the reply queue. */
static void finish(struct nat_pipeline *p, struct nc_pkt *pkt, enum nat_verdict v)
{
	if (v == NAT_DROP) {
		nc_pkt_drop(p->eng, pkt);
	} else if (v == NAT_HANDOFF) {
		p->ho[p->n_ho] = pkt->mbuf;
		p->ho_worker[p->n_ho++] = p->handoff_to;
	} else {
		unsigned side = v == NAT_TX_INSIDE ? NAT_SIDE_INSIDE : NAT_SIDE_OUTSIDE;

		p->out[side][p->n_out[side]++] = pkt->mbuf;
	}
	if (p->reply_len) {
		if (p->n_rq < REPLY_QUEUE) {
			memcpy(p->rq[p->n_rq], p->reply, p->reply_len);
			p->rq_len[p->n_rq] = p->reply_len;
			p->rq_side[p->n_rq] = (uint8_t)p->reply_side;
			p->n_rq++;
		}
		p->reply_len = 0;
	}
}

/*
 * The pipeline whose engine runs in this thread: set by the only calls
 * that run an engine (nat_pipeline_rx, nat_pipeline_rx_mbufs: every
 * process() call happens inside nc_engine_rx*), restored when they return,
 * so several pipelines take turns in one thread (tests, ncbench) and a
 * worker thread runs its own.  A session netchannel has no room for the
 * pointer in its one line (struct nat_sess_nc).
 */
static _Thread_local struct nat_pipeline *running;

/* The burst's packets of established sessions, each with its session
 * netchannel (nc_ops.process_many: one call a burst, not one per session). */
static void session_process(struct netchannel *const ncs[], struct nc_pkt *const pkts[],
			    unsigned n)
{
	struct nat_pipeline *p = running;

	assert(p != NULL && nc_engine_of(ncs[0]) == p->eng);
	if (__builtin_expect(p == NULL, 0)) { /* an entry point that forgot to set it: drop */
		for (unsigned i = 0; i < n; i++)
			nc_pkt_drop(nc_engine_of(ncs[i]), pkts[i]);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		finish(p, pkts[i], nat_session_path(p, nc_priv(ncs[i]), pkts[i]));
}

/* A session: found by two exact keys in the flow table (nat_inout.c). */
const struct nc_ops nat_session_ops = {
	.name = "nat_session",
	.priv_size = sizeof(struct nat_sess_nc),
	.process_many = session_process,
	.flow_key = nat_session_flow_key,
	.flow_match = nat_session_flow_match,
};

static int listener_init(struct netchannel *nc, const void *arg)
{
	memcpy(nc_priv(nc), arg, sizeof(struct nat_listener));
	return 0;
}

static int listener_action(const struct nat_listener *ls)
{
	return ls->rule.action == NAT_ACT_DNAT ? NAT_ACT_NONE : (int)ls->rule.action;
}

/* Sessions are created on the listener's slow path (nat_slow_path), which
 * also handles what never gets a session (bypass, drop, ICMP errors,
 * fragments, refusals): accept() hands every packet to it.  The engine
 * calls accept() for each missed packet of a burst before it calls any
 * process(), so the slow path's first prefetch stage starts here: the
 * first packets of the burst then find their first loads done, where
 * process()'s pipeline alone would wait for them (its prologue). */
static struct netchannel *listener_accept(struct netchannel *l, struct nc_pkt *pkt)
{
	const struct nat_listener *ls = nc_priv(l);

	nat_slow_path_prefetch(ls->p, pkt, listener_action(ls), 0);
	return l;
}

static void listener_process(struct netchannel *l, struct nc_pkt *const pkts[], unsigned n)
{
	struct nat_listener *ls = nc_priv(l);
	int action = listener_action(ls);
	/* the stages after the first (listener_accept ran it) */
	const int S = NAT_SLOW_PREFETCH_STAGES - 1;

	if (n == 1) {
		finish(ls->p, pkts[0], nat_slow_path(ls->p, pkts[0], action));
		return;
	}
	/*
	 * A software pipeline: packet j's prefetch stage 1 + k runs S + 1 - k
	 * packets before it is processed, one stage per packet processed, so
	 * a stage's loads have a packet's processing time to arrive before the
	 * next stage reads them, and the last stage's (the new mapping's
	 * outside bucket and flow key) two.  (Run as passes over the whole
	 * burst, the same stages measured no better than before in ncbench nat
	 * at 1 M sessions; as this pipeline, faster by a sixth.)
	 */
	for (int i = -S - 1; i < (int)n; i++) {
		for (int k = 0; k < S; k++) {
			int j = i + S + 1 - k;

			if (j >= 0 && j < (int)n)
				nat_slow_path_prefetch(ls->p, pkts[j], action, (unsigned)(1 + k));
		}
		if (i >= 0)
			finish(ls->p, pkts[i], nat_slow_path(ls->p, pkts[i], action));
	}
}

/* A rule (inside: snat, masquerade, bypass, drop; outside: dnat) or an
 * external address range (outside: the pool and the outside address). */
static const struct nc_ops nat_listener_ops = {
	.name = "nat_rule",
	.priv_size = sizeof(struct nat_listener),
	.init = listener_init,
	.accept = listener_accept,
	.process = listener_process,
};

/* No key (ARP, not IP, unparsable) or no listener: ARP, or the slow path
 * without a rule (it counts the reason). */
static void on_unclaimed(void *ctx, struct nc_pkt *const pkts[], unsigned n)
{
	struct nat_pipeline *p = ctx;

	for (unsigned i = 0; i < n; i++) {
		struct nc_pkt *pkt = pkts[i];
		enum nat_side side = pkt->in_port == NAT_SIDE_INSIDE ? NAT_SIDE_INSIDE
								      : NAT_SIDE_OUTSIDE;
		enum nat_verdict v;

		if (pkt->data && pkt->len >= 14 && nat_get16(pkt->data + 12) == 0x0806)
			v = nat_arp_input(p, (uint8_t *)(uintptr_t)pkt->data, pkt->len, side);
		else
			v = nat_slow_path(p, pkt, NAT_ACT_NONE);
		finish(p, pkt, v);
	}
}

/* ---- set-up ---- */

/* Inside rules: config order is priority order. */
static int32_t rule_priority(uint32_t index)
{
	return -(int32_t)index;
}

/* The listener of rule r at position index, classifier rule id id. */
static int listen_rule(struct nat_pipeline *p, const struct nat_rule *r, uint32_t index,
		       uint32_t id, struct netchannel **out)
{
	struct nat_listener ls = {.p = p, .rule = *r, .index = index};
	struct cls_rule cr = r->match;
	uint16_t zone = r->action == NAT_ACT_DNAT ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;

	cr.id = id;
	/* outside: port forwards before the address ranges */
	cr.priority = r->action == NAT_ACT_DNAT ? 1 : rule_priority(index);
	return nc_engine_listen_zone(p->eng, zone, &cr, &nat_listener_ops, &ls, out);
}

static int listen_external(struct nat_pipeline *p, uint32_t lo, uint32_t hi)
{
	struct nat_listener ls = {.p = p, .rule = {.action = NAT_ACT_DNAT}, .index = UINT32_MAX};
	struct cls_rule cr;

	memset(&cr, 0, sizeof(cr));
	cr.family = CLS_IPV4;
	cr.sport_hi = cr.dport_hi = 0xffff;
	cr.src_hi.v4 = 0xffffffffu;
	cr.dst_lo.v4 = lo;
	cr.dst_hi.v4 = hi;
	cr.id = NAT_CFG_MAX_RULES + p->n_ext; /* rule ids stay below */
	cr.priority = 0;
	ls.rule.match = cr;
	return nc_engine_listen_zone(p->eng, NAT_SIDE_OUTSIDE, &cr, &nat_listener_ops, &ls,
				     &p->ext_listeners[p->n_ext++]);
}

static int engine_build(struct nat_pipeline *p)
{
	uint64_t flows = 2ull * p->cfg.sessions + 64;
	struct nc_engine_config ec = {
		.flow_entries = flows > (1u << 30) ? 1u << 30 : (uint32_t)flows,
		/* sessions, and the rules twice over: a rule change stages a new
		 * list of listeners before it drops the old one */
		.max_channels = p->cfg.sessions + 2 * NAT_CFG_MAX_RULES + p->cfg.n_pool + 16,
		.link = NC_LINK_ETHERNET,
		.socket_id = -1,
		.unclaimed = on_unclaimed,
		.ctx = p,
	};
	uint32_t i;
	int rc;

	rc = nc_engine_create(&ec, &p->eng);
	if (rc)
		return rc;
	p->listeners = calloc(p->cfg.n_rules ? p->cfg.n_rules : 1, sizeof(*p->listeners));
	p->ext_listeners = calloc(p->cfg.n_pool + 1, sizeof(*p->ext_listeners));
	if (!p->listeners || !p->ext_listeners)
		return -ENOMEM;
	for (i = 0; i < p->cfg.n_rules; i++) {
		rc = listen_rule(p, &p->cfg.rules[i], i, i, &p->listeners[i]);
		if (rc)
			return rc;
	}
	for (i = 0; i < p->cfg.n_pool; i++) {
		rc = listen_external(p, p->cfg.pool[i].lo, p->cfg.pool[i].hi);
		if (rc)
			return rc;
	}
	return listen_external(p, p->cfg.outside.addr, p->cfg.outside.addr);
}

int nat_pipeline_create(const struct nat_config *cfg, FILE *log, struct nat_pipeline **out)
{
	return nat_pipeline_create_shard(cfg, log, 0, 1, out);
}

int nat_pipeline_create_shard(const struct nat_config *cfg, FILE *log, unsigned index,
			      unsigned count, struct nat_pipeline **out)
{
	struct nat_session_config sc;
	struct nat_shard shard;
	struct nat_pipeline *p;
	uint32_t i;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!cfg || !out ||
	    nat_shard_init(&shard, index, count, cfg->port_lo, cfg->port_hi,
			   cfg->port_block ? cfg->port_block : 1) != 0)
		return -EINVAL;
	if (count > shard.n_blocks)
		return -ERANGE; /* a worker without a slice of the dynamic range */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->shard = shard;
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
	memset(&sc, 0, sizeof(sc));
	sc.max_mappings = cfg->sessions;
	sc.max_sessions = cfg->sessions;
	sc.filtering = cfg->filtering;
	sc.timeout_udp = cfg->timeout_udp;
	sc.timeout_tcp_est = cfg->timeout_tcp_est;
	sc.timeout_tcp_trans = cfg->timeout_tcp_trans;
	sc.timeout_icmp = cfg->timeout_icmp;
	sc.mapping_freed = on_mapping_freed;
	sc.session_freed = nat_session_gone;
	sc.session_last = nat_session_last;
	sc.session_prefetch = nat_session_gone_prefetch;
	sc.ctx = p;
	rc = nat_session_create(&sc, &p->st);
	if (rc)
		goto fail;
	rc = engine_build(p);
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
		rc = 0;
		if (nat_shard_sub_owner(&p->shard, r->to_addr) != p->shard.index)
			continue; /* another worker's port forward */
		rc = nat_mapping_add(p->st, r->match.proto, r->to_addr, r->to_port, ext,
				     r->match.dport_lo,
				     NAT_MAP_STATIC | (ext == cfg->outside.addr ? NAT_MAP_MASQ : 0), 0,
				     &m);
		if (rc)
			goto fail;
	}
	rc = nat_dnat_owners_build(p, p->cfg.rules, p->cfg.n_rules, &p->dnat_tab, &p->dnat_mask);
	if (rc)
		goto fail;
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
	/* the netchannels point into the session table: engine first */
	nc_engine_free(p->eng);
	free(p->listeners);
	free(p->staged);
	free(p->ext_listeners);
	nat_session_free(p->st);
	nat_ports_free(p->pool);
	nat_ports_free(p->masq);
	free(p->cfg.rules);
	free(p->dnat_tab);
	free(p);
}

/* ---- bursts ---- */

static void out_reset(struct nat_pipeline *p, uint64_t now)
{
	p->n_out[0] = p->n_out[1] = 0;
	p->n_ho = 0;
	p->n_rq = 0;
	p->reply_len = 0;
	p->now = now;
}

int nat_pipeline_rx(struct nat_pipeline *p, enum nat_side side, uint8_t *const frames[],
		    const uint32_t lens[], void *const cookies[], unsigned n, uint64_t now)
{
	struct nat_pipeline *outer = running; /* restored on return */
	int rc;

	if (!p || (side != NAT_SIDE_INSIDE && side != NAT_SIDE_OUTSIDE) || n > NAT_RX_MAX ||
	    (n && (!frames || !lens)))
		return -EINVAL;
	out_reset(p, now);
	running = p;
	rc = nc_engine_rx(p->eng, (const uint8_t *const *)frames, lens, cookies, n,
			  (uint16_t)side, now);
	running = outer;
	return rc < 0 ? rc : 0;
}

int nat_pipeline_rx_mbufs(struct nat_pipeline *p, enum nat_side side,
			  struct rte_mbuf *const mbufs[], unsigned n, uint64_t now)
{
	struct nat_pipeline *outer = running;
	int rc;

	if (!p || (side != NAT_SIDE_INSIDE && side != NAT_SIDE_OUTSIDE) || n > NAT_RX_MAX ||
	    (n && !mbufs))
		return -EINVAL;
	out_reset(p, now);
	running = p;
	rc = nc_engine_rx_mbufs(p->eng, mbufs, n, (uint16_t)side, now);
	running = outer;
	return rc < 0 ? rc : 0;
}

unsigned nat_pipeline_tx(const struct nat_pipeline *p, enum nat_side side, void *const **out)
{
	if (!p || (side != NAT_SIDE_INSIDE && side != NAT_SIDE_OUTSIDE)) {
		if (out)
			*out = NULL;
		return 0;
	}
	if (out)
		*out = p->out[side];
	return p->n_out[side];
}

unsigned nat_pipeline_handoffs(const struct nat_pipeline *p, void *const **cookies,
			       const uint16_t **workers)
{
	if (cookies)
		*cookies = p ? p->ho : NULL;
	if (workers)
		*workers = p ? p->ho_worker : NULL;
	return p ? p->n_ho : 0;
}

unsigned nat_pipeline_replies(const struct nat_pipeline *p)
{
	return p ? p->n_rq : 0;
}

const uint8_t *nat_pipeline_reply_at(const struct nat_pipeline *p, unsigned i, uint32_t *len,
				     enum nat_side *side)
{
	if (!p || i >= p->n_rq)
		return NULL;
	if (len)
		*len = p->rq_len[i];
	if (side)
		*side = (enum nat_side)p->rq_side[i];
	return p->rq[i];
}

enum nat_verdict nat_pipeline_process(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				      enum nat_side side, uint64_t now)
{
	void *cookie = pkt;

	if (!p)
		return NAT_DROP;
	if (nat_pipeline_rx(p, side, &pkt, &len, &cookie, 1, now) != 0)
		return nat_drop(p, NAT_CNT_DROP_PARSE);
	if (p->n_out[NAT_SIDE_INSIDE])
		return NAT_TX_INSIDE;
	if (p->n_out[NAT_SIDE_OUTSIDE])
		return NAT_TX_OUTSIDE;
	if (p->n_ho)
		return NAT_HANDOFF;
	return NAT_DROP;
}

const uint8_t *nat_pipeline_reply(const struct nat_pipeline *p, uint32_t *len,
				  enum nat_side *side)
{
	return nat_pipeline_reply_at(p, 0, len, side);
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

void nat_pipeline_engine_stats(const struct nat_pipeline *p, struct nc_engine_stats *st)
{
	nc_engine_stats(p->eng, st);
}

uint64_t nat_pipeline_log_lines(const struct nat_pipeline *p)
{
	return p->log.lines;
}

/* ---- inspection and run-time changes (the control socket) ---- */

const struct nat_config *nat_pipeline_config(const struct nat_pipeline *p)
{
	return &p->cfg;
}

uint32_t nat_pipeline_sessions_proto(const struct nat_pipeline *p, uint8_t proto)
{
	return nat_session_count_proto(p->st, proto);
}

uint64_t nat_pipeline_sess_last(const struct nat_pipeline *p, const struct nat_sess *s)
{
	return nat_sess_last(p->st, s);
}

int nat_pipeline_session_walk(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			      int (*fn)(void *arg, const struct nat_mapping *m,
					const struct nat_sess *s),
			      void *arg)
{
	return p ? nat_session_walk(p->st, cursor, budget, fn, arg) : -EINVAL;
}

int nat_pipeline_mapping_walk(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			      int (*fn)(void *arg, const struct nat_mapping *m), void *arg)
{
	return p ? nat_mapping_walk(p->st, cursor, budget, fn, arg) : -EINVAL;
}

int nat_pipeline_set_timeout(struct nat_pipeline *p, enum nat_timeout_kind k, uint32_t secs)
{
	struct nat_config *c;

	if (!p || (unsigned)k >= NAT_TIMEOUT_KINDS || secs < nat_timeout_min(k) ||
	    secs > NAT_CFG_MAX_TIMEOUT)
		return -EINVAL;
	c = &p->cfg;
	if (k == NAT_TIMEOUT_UDP)
		c->timeout_udp = secs;
	else if (k == NAT_TIMEOUT_TCP_EST)
		c->timeout_tcp_est = secs;
	else if (k == NAT_TIMEOUT_TCP_TRANS)
		c->timeout_tcp_trans = secs;
	else
		c->timeout_icmp = secs;
	nat_session_set_timeouts(p->st, c->timeout_udp, c->timeout_tcp_est, c->timeout_tcp_trans,
				 c->timeout_icmp);
	/* sessions' copies with another tgen store their new timeout at their
	 * next packet; a tgen seen 2^16 changes ago must not pass for this */
	if (++p->timeout_gen == 0)
		nat_session_retime_all(p);
	return 0;
}

static int rule_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rule_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

#define IP4_FMT "%u.%u.%u.%u"
#define IP4_ARGS(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff

/*
 * Run-time rule changes.  Every rule is a listener netchannel (its
 * classifier rule in the inside zone, dnat rules in the outside zone).  The
 * new list nr[0..n) gets listeners of its own under new ids (the half of
 * the id space the current rules do not use, so old and new never collide)
 * with priorities in list order; rules_commit() then removes the old
 * listeners.  Both steps run on the packet thread between bursts (the
 * control socket is polled there), so no lookup sees a mix.  Sessions do
 * not point at listeners and live on.  rules_unstage() cancels a stage.
 * Cost: O(rules).
 */
static void rules_unstage(struct nat_pipeline *p, struct nat_rule *nr, uint32_t n)
{
	uint32_t i;

	(void)nr;
	for (i = 0; i < n && p->staged; i++) {
		if (p->staged[i] != NULL) {
			int rc = nc_engine_unlisten(p->eng, p->staged[i]);

			(void)rc; /* cannot fail: listening */
		}
	}
	free(p->staged);
	p->staged = NULL;
}

static int rules_stage(struct nat_pipeline *p, struct nat_rule *nr, uint32_t n)
{
	uint32_t i, base = NAT_CFG_MAX_RULES / 2;
	int rc = 0;

	if (p->id_base == base)
		base = 0;
	p->staged = calloc(n ? n : 1, sizeof(*p->staged));
	if (!p->staged)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rc = listen_rule(p, &nr[i], i, base + i, &p->staged[i]);
		if (rc) {
			rules_unstage(p, nr, i); /* cancel nr[0..i) */
			return rc;
		}
	}
	p->staged_base = base;
	return 0;
}

static void rules_commit(struct nat_pipeline *p, struct nat_rule *nr, uint32_t n,
			 struct dnat_owner *dtab, uint32_t dmask)
{
	uint32_t i;

	free(p->dnat_tab);
	p->dnat_tab = dtab;
	p->dnat_mask = dmask;
	for (i = 0; i < p->cfg.n_rules; i++) {
		if (p->listeners[i] != NULL) {
			int rc = nc_engine_unlisten(p->eng, p->listeners[i]);

			(void)rc; /* cannot fail: every rule is listening */
		}
	}
	free(p->listeners);
	p->listeners = p->staged;
	p->staged = NULL;
	p->id_base = p->staged_base;
	free(p->cfg.rules);
	p->cfg.rules = nr;
	p->cfg.n_rules = n;
}

int nat_pipeline_rule_add(struct nat_pipeline *p, uint32_t at, const struct nat_rule *r,
			  uint64_t now, char *err, size_t errlen)
{
	struct nat_ports *newmasq = NULL, *a = NULL;
	struct dnat_owner *dtab = NULL;
	struct nat_mapping *m;
	struct nat_rule *nr;
	uint32_t n, i, ext = 0, dmask = 0;
	uint16_t port = 0;
	uint8_t proto = 0;
	bool reserve = false, owner = true;
	int rc;

	if (!p || !r || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	n = p->cfg.n_rules;
	if (n >= NAT_CFG_MAX_RULES)
		return rule_err(err, errlen, -ENOSPC, "too many rules (at most %u)", NAT_CFG_MAX_RULES);
	if (at > n)
		return rule_err(err, errlen, -ERANGE, "no position %u (there are %u rules)", at + 1, n);
	rc = nat_config_check_rule(&p->cfg, r, err, errlen);
	if (rc)
		return rc;
	if (r->action == NAT_ACT_DNAT) {
		/* a static mapping: both endpoints free, room in the table */
		ext = r->match.dst_lo.v4;
		port = r->match.dport_lo;
		proto = r->match.proto;
		m = nat_mapping_find_out(p->st, proto, ext, port);
		if (m)
			return rule_err(err, errlen, -EBUSY,
					IP4_FMT ":%u is in use by the mapping of " IP4_FMT ":%u",
					IP4_ARGS(ext), port, IP4_ARGS(m->in_addr), m->in_port);
		/* the static mapping lives with its target's worker only */
		owner = nat_shard_sub_owner(&p->shard, r->to_addr) == p->shard.index;
		m = owner ? nat_mapping_find_in(p->st, proto, r->to_addr, r->to_port) : NULL;
		if (m)
			return rule_err(err, errlen, -EBUSY,
					"target " IP4_FMT ":%u has a mapping (to " IP4_FMT ":%u)",
					IP4_ARGS(r->to_addr), r->to_port, IP4_ARGS(m->out_addr),
					m->out_port);
		if (owner && nat_mapping_count(p->st) >= p->cfg.sessions)
			return rule_err(err, errlen, -ENOSPC, "mapping table full");
		a = ext == p->cfg.outside.addr ? p->masq : p->pool;
		/* in use without a mapping here: reserved already (another
		 * worker's port forward target, or held by a subscriber) */
		reserve = a && !nat_ports_in_use(a, proto, ext, port);
	}
	if (r->action == NAT_ACT_MASQUERADE && !p->masq) {
		/* the first masquerade rule: an allocator for the outside
		 * address, with the ports of its dnat rules reserved */
		rc = make_ports(p, &p->cfg.outside.addr, 1, &newmasq);
		for (i = 0; rc == 0 && i < n; i++) {
			const struct nat_rule *q = &p->cfg.rules[i];

			if (q->action == NAT_ACT_DNAT && q->match.dst_lo.v4 == p->cfg.outside.addr) {
				rc = nat_ports_reserve(newmasq, q->match.proto, q->match.dst_lo.v4,
						       q->match.dport_lo);
				if (rc == -EEXIST)
					rc = 0;
			}
		}
		if (rc) {
			nat_ports_free(newmasq);
			return rule_err(err, errlen, rc, "cannot set up masquerade ports: %s",
					strerror(-rc));
		}
	}
	nr = malloc((n + 1) * sizeof(*nr));
	if (!nr) {
		nat_ports_free(newmasq);
		return rule_err(err, errlen, -ENOMEM, "out of memory");
	}
	if (at)
		memcpy(nr, p->cfg.rules, at * sizeof(*nr));
	nr[at] = *r;
	nr[at].line = 0; /* not from the file */
	if (n > at)
		memcpy(nr + at + 1, p->cfg.rules + at, (n - at) * sizeof(*nr));
	rc = nat_dnat_owners_build(p, nr, n + 1, &dtab, &dmask);
	if (rc == 0) {
		rc = rules_stage(p, nr, n + 1);
		if (rc)
			free(dtab);
	}
	if (rc == 0 && reserve) {
		/* last step that can fail: a reservation cannot be undone */
		rc = nat_ports_reserve(a, proto, ext, port);
		if (rc == -ENOENT)
			rc = 0;
		if (rc) {
			rules_unstage(p, nr, n + 1);
			free(dtab);
		}
	}
	if (rc) {
		free(nr);
		nat_ports_free(newmasq);
		if (rc == -EEXIST)
			return rule_err(err, errlen, -EBUSY,
					IP4_FMT ":%u is in a port block held by a subscriber",
					IP4_ARGS(ext), port);
		return rule_err(err, errlen, rc, "cannot add the rule: %s", strerror(-rc));
	}
	if (r->action == NAT_ACT_DNAT && owner) {
		rc = nat_mapping_add(p->st, proto, r->to_addr, r->to_port, ext, port,
				     NAT_MAP_STATIC | (ext == p->cfg.outside.addr ? NAT_MAP_MASQ : 0),
				     now, &m);
		if (rc) { /* cannot happen: both keys free and room checked */
			rules_unstage(p, nr, n + 1);
			free(dtab);
			free(nr);
			return rule_err(err, errlen, rc, "cannot add the static mapping: %s",
					strerror(-rc));
		}
	}
	rules_commit(p, nr, n + 1, dtab, dmask);
	if (newmasq)
		p->masq = newmasq;
	return 0;
}

int nat_pipeline_rule_delete(struct nat_pipeline *p, uint32_t idx, uint64_t now, char *err,
			     size_t errlen)
{
	const struct nat_rule *r;
	struct nat_mapping *m = NULL;
	struct nat_rule *nr = NULL;
	struct dnat_owner *dtab = NULL;
	uint32_t n, dmask = 0;
	int rc;

	if (!p || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	n = p->cfg.n_rules;
	if (idx >= n)
		return rule_err(err, errlen, -ENOENT, "no rule %u (there are %u)", idx + 1, n);
	r = &p->cfg.rules[idx];
	if (n > 1) {
		nr = malloc((n - 1) * sizeof(*nr));
		if (!nr)
			return rule_err(err, errlen, -ENOMEM, "out of memory");
		memcpy(nr, p->cfg.rules, idx * sizeof(*nr));
		memcpy(nr + idx, p->cfg.rules + idx + 1, (n - 1 - idx) * sizeof(*nr));
	}
	rc = nat_dnat_owners_build(p, nr, n - 1, &dtab, &dmask);
	if (rc == 0) {
		rc = rules_stage(p, nr, n - 1);
		if (rc)
			free(dtab);
	}
	if (rc) {
		free(nr);
		return rule_err(err, errlen, rc, "cannot delete the rule: %s", strerror(-rc));
	}
	if (r->action == NAT_ACT_DNAT)
		m = nat_mapping_find_out(p->st, r->match.proto, r->match.dst_lo.v4,
					 r->match.dport_lo);
	if (m && (m->flags & NAT_MAP_STATIC)) {
		/* its sessions go with it */
		rc = nat_mapping_delete(p->st, m, now);
		(void)rc; /* cannot fail: m is live */
	}
	if (r->action == NAT_ACT_DNAT) {
		/* the external port leaves its reservation through hold-down,
		 * in every worker's allocator (each reserved it) */
		struct nat_ports *a = r->match.dst_lo.v4 == p->cfg.outside.addr ? p->masq : p->pool;

		if (a) {
			rc = nat_ports_unreserve(a, r->match.proto, r->match.dst_lo.v4,
						 r->match.dport_lo, now);
			(void)rc; /* -ENOENT: never reserved (no allocator had it) */
		}
	}
	rules_commit(p, nr, n - 1, dtab, dmask);
	return 0;
}
