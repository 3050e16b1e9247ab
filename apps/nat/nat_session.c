/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat session table; see nat_session.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_session.h"
#include "nat_tcp.h"

#define NIL UINT32_MAX

struct nat_session_table {
	struct nat_session_config cfg;
	struct nat_mapping *maps;
	struct nat_sess *sess;
	uint32_t *h_in, *h_out, *h_sess;
	uint32_t mmask, smask;
	uint32_t free_map, free_sess;
	uint32_t n_maps, n_sess;
	uint32_t cursor;
	uint32_t n_sess_proto[4];      /* live sessions: [0] TCP, [1] UDP, [2] ICMP, [3] other */
};

/* index into n_sess_proto */
static inline unsigned proto_slot(uint8_t proto)
{
	return proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : 3;
}

static inline uint32_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static inline uint32_t hkey(uint8_t proto, uint32_t addr, uint16_t port)
{
	return mix64((uint64_t)proto << 48 | (uint64_t)addr << 16 | port);
}

static inline uint32_t hsess(uint32_t map, uint32_t addr, uint16_t port)
{
	return mix64(((uint64_t)map << 32 | addr) ^ ((uint64_t)port << 47) ^ port);
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int nat_session_create(const struct nat_session_config *cfg, struct nat_session_table **out)
{
	struct nat_session_table *t;
	uint32_t i, nm, ns;

	if (out)
		*out = NULL;
	if (!cfg || !out || cfg->max_mappings == 0 || cfg->max_sessions == 0 ||
	    cfg->max_mappings > (1u << 26) || cfg->max_sessions > (1u << 26) ||
	    (unsigned)cfg->filtering > NAT_FILTER_APDF)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	nm = pow2_at_least(cfg->max_mappings);
	ns = pow2_at_least(cfg->max_sessions);
	t->mmask = nm - 1;
	t->smask = ns - 1;
	t->maps = calloc(cfg->max_mappings, sizeof(*t->maps));
	t->sess = calloc(cfg->max_sessions, sizeof(*t->sess));
	t->h_in = malloc(nm * sizeof(uint32_t));
	t->h_out = malloc(nm * sizeof(uint32_t));
	t->h_sess = malloc(ns * sizeof(uint32_t));
	if (!t->maps || !t->sess || !t->h_in || !t->h_out || !t->h_sess) {
		nat_session_free(t);
		return -ENOMEM;
	}
	memset(t->h_in, 0xff, nm * sizeof(uint32_t));
	memset(t->h_out, 0xff, nm * sizeof(uint32_t));
	memset(t->h_sess, 0xff, ns * sizeof(uint32_t));
	for (i = 0; i < cfg->max_mappings; i++)
		t->maps[i].next_in = i + 1 < cfg->max_mappings ? i + 1 : NIL;
	for (i = 0; i < cfg->max_sessions; i++)
		t->sess[i].next_hash = i + 1 < cfg->max_sessions ? i + 1 : NIL;
	t->free_map = 0;
	t->free_sess = 0;
	*out = t;
	return 0;
}

void nat_session_free(struct nat_session_table *t)
{
	if (!t)
		return;
	free(t->maps);
	free(t->sess);
	free(t->h_in);
	free(t->h_out);
	free(t->h_sess);
	free(t);
}

struct nat_mapping *nat_mapping_find_in(const struct nat_session_table *t, uint8_t proto,
					uint32_t in_addr, uint16_t in_port)
{
	uint32_t i;

	if (!t)
		return NULL;
	for (i = t->h_in[hkey(proto, in_addr, in_port) & t->mmask]; i != NIL;
	     i = t->maps[i].next_in) {
		struct nat_mapping *m = &t->maps[i];

		if (m->proto == proto && m->in_addr == in_addr && m->in_port == in_port)
			return m;
	}
	return NULL;
}

struct nat_mapping *nat_mapping_find_out(const struct nat_session_table *t, uint8_t proto,
					 uint32_t out_addr, uint16_t out_port)
{
	uint32_t i;

	if (!t)
		return NULL;
	for (i = t->h_out[hkey(proto, out_addr, out_port) & t->mmask]; i != NIL;
	     i = t->maps[i].next_out) {
		struct nat_mapping *m = &t->maps[i];

		if (m->proto == proto && m->out_addr == out_addr && m->out_port == out_port)
			return m;
	}
	return NULL;
}

int nat_mapping_add(struct nat_session_table *t, uint8_t proto, uint32_t in_addr,
		    uint16_t in_port, uint32_t out_addr, uint16_t out_port, uint8_t flags,
		    uint64_t now, struct nat_mapping **out)
{
	struct nat_mapping *m;
	uint32_t i, hi, ho;

	if (!t || !out)
		return -EINVAL;
	if (nat_mapping_find_in(t, proto, in_addr, in_port) ||
	    nat_mapping_find_out(t, proto, out_addr, out_port))
		return -EEXIST;
	if (t->free_map == NIL)
		return -ENOSPC;
	i = t->free_map;
	m = &t->maps[i];
	t->free_map = m->next_in;
	memset(m, 0, sizeof(*m));
	m->in_addr = in_addr;
	m->out_addr = out_addr;
	m->in_port = in_port;
	m->out_port = out_port;
	m->proto = proto;
	m->flags = flags;
	m->live = 1;
	m->sess_head = NIL;
	m->created = now;
	hi = hkey(proto, in_addr, in_port) & t->mmask;
	ho = hkey(proto, out_addr, out_port) & t->mmask;
	m->next_in = t->h_in[hi];
	t->h_in[hi] = i;
	m->next_out = t->h_out[ho];
	t->h_out[ho] = i;
	t->n_maps++;
	*out = m;
	return 0;
}

static void unlink_chain(struct nat_session_table *t, uint32_t *head, uint32_t i, bool in)
{
	while (*head != i)
		head = in ? &t->maps[*head].next_in : &t->maps[*head].next_out;
	*head = in ? t->maps[i].next_in : t->maps[i].next_out;
}

static void map_remove(struct nat_session_table *t, struct nat_mapping *m, uint64_t now)
{
	uint32_t i = (uint32_t)(m - t->maps);

	unlink_chain(t, &t->h_in[hkey(m->proto, m->in_addr, m->in_port) & t->mmask], i, true);
	unlink_chain(t, &t->h_out[hkey(m->proto, m->out_addr, m->out_port) & t->mmask], i, false);
	m->live = 0;
	t->n_maps--;
	if (!(m->flags & NAT_MAP_STATIC) && t->cfg.mapping_freed)
		t->cfg.mapping_freed(t->cfg.ctx, m, now);
	m->next_in = t->free_map;
	t->free_map = i;
}

/* Unlink a session; returns its mapping (which may now have none). */
static struct nat_mapping *sess_remove(struct nat_session_table *t, struct nat_sess *s)
{
	uint32_t i = (uint32_t)(s - t->sess);
	struct nat_mapping *m = &t->maps[s->map];
	uint32_t *pp = &t->h_sess[hsess(s->map, s->rem_addr, s->rem_port) & t->smask];

	if (t->cfg.session_freed)
		t->cfg.session_freed(t->cfg.ctx, s, m);
	while (*pp != i)
		pp = &t->sess[*pp].next_hash;
	*pp = s->next_hash;
	if (s->mprev == NIL)
		m->sess_head = s->mnext;
	else
		t->sess[s->mprev].mnext = s->mnext;
	if (s->mnext != NIL)
		t->sess[s->mnext].mprev = s->mprev;
	m->n_sessions--;
	t->n_sess_proto[proto_slot(m->proto)]--;
	s->live = 0;
	s->next_hash = t->free_sess;
	t->free_sess = i;
	t->n_sess--;
	return m;
}

int nat_mapping_delete(struct nat_session_table *t, struct nat_mapping *m, uint64_t now)
{
	if (!t || !m || m < t->maps || m >= t->maps + t->cfg.max_mappings || !m->live)
		return -EINVAL;
	while (m->sess_head != NIL)
		sess_remove(t, &t->sess[m->sess_head]);
	map_remove(t, m, now);
	return 0;
}

struct nat_sess *nat_sess_find(const struct nat_session_table *t, const struct nat_mapping *m,
			       uint32_t rem_addr, uint16_t rem_port)
{
	uint32_t mi, i;

	if (!t || !m)
		return NULL;
	mi = (uint32_t)(m - t->maps);
	for (i = t->h_sess[hsess(mi, rem_addr, rem_port) & t->smask]; i != NIL;
	     i = t->sess[i].next_hash) {
		struct nat_sess *s = &t->sess[i];

		if (s->map == mi && s->rem_addr == rem_addr && s->rem_port == rem_port)
			return s;
	}
	return NULL;
}

uint32_t nat_session_timeout(const struct nat_session_table *t, uint8_t proto,
			     uint8_t tcp_state)
{
	switch (proto) {
	case 6: return nat_tcp_timeout(tcp_state, t->cfg.timeout_tcp_est, t->cfg.timeout_tcp_trans);
	case 17: return t->cfg.timeout_udp;
	default: return t->cfg.timeout_icmp;
	}
}

int nat_sess_add(struct nat_session_table *t, struct nat_mapping *m, uint32_t rem_addr,
		 uint16_t rem_port, uint64_t now, struct nat_sess **out)
{
	struct nat_sess *s;
	uint32_t i, mi, h;

	if (!t || !m || !out || m < t->maps || m >= t->maps + t->cfg.max_mappings || !m->live)
		return -EINVAL;
	if (nat_sess_find(t, m, rem_addr, rem_port))
		return -EEXIST;
	if (t->free_sess == NIL)
		return -ENOSPC;
	mi = (uint32_t)(m - t->maps);
	i = t->free_sess;
	s = &t->sess[i];
	t->free_sess = s->next_hash;
	memset(s, 0, sizeof(*s));
	s->map = mi;
	s->rem_addr = rem_addr;
	s->rem_port = rem_port;
	s->tcp_state = NAT_TCP_CLOSED;
	s->live = 1;
	s->last = now;
	s->timeout = nat_session_timeout(t, m->proto, NAT_TCP_CLOSED);
	h = hsess(mi, rem_addr, rem_port) & t->smask;
	s->next_hash = t->h_sess[h];
	t->h_sess[h] = i;
	s->mprev = NIL;
	s->mnext = m->sess_head;
	if (m->sess_head != NIL)
		t->sess[m->sess_head].mprev = i;
	m->sess_head = i;
	m->n_sessions++;
	t->n_sess++;
	t->n_sess_proto[proto_slot(m->proto)]++;
	*out = s;
	return 0;
}

int nat_sess_delete(struct nat_session_table *t, struct nat_sess *s, uint64_t now)
{
	struct nat_mapping *m;

	if (!t || !s || s < t->sess || s >= t->sess + t->cfg.max_sessions || !s->live)
		return -EINVAL;
	m = sess_remove(t, s);
	if (m->n_sessions == 0 && !(m->flags & NAT_MAP_STATIC))
		map_remove(t, m, now);
	return 0;
}

struct nat_mapping *nat_sess_mapping(const struct nat_session_table *t, const struct nat_sess *s)
{
	return &t->maps[s->map];
}

void nat_sess_refresh(struct nat_session_table *t, struct nat_sess *s, uint64_t now)
{
	if (now > s->last)
		s->last = now;
	s->timeout = nat_session_timeout(t, t->maps[s->map].proto, s->tcp_state);
}

bool nat_session_filter_allows(const struct nat_session_table *t, const struct nat_mapping *m,
			       uint32_t rem_addr, uint16_t rem_port)
{
	uint32_t i;

	if (!t || !m)
		return false;
	switch (t->cfg.filtering) {
	case NAT_FILTER_EIF:
		return true;
	case NAT_FILTER_ADF:
		for (i = m->sess_head; i != NIL; i = t->sess[i].mnext)
			if (t->sess[i].rem_addr == rem_addr)
				return true;
		return false;
	case NAT_FILTER_APDF:
		return nat_sess_find(t, m, rem_addr, rem_port) != NULL;
	}
	return false;
}

int nat_session_expire(struct nat_session_table *t, uint64_t now, uint32_t budget)
{
	int removed = 0;

	if (!t || budget == 0)
		return -EINVAL;
	while (budget--) {
		struct nat_sess *s = &t->sess[t->cursor];

		t->cursor = t->cursor + 1 < t->cfg.max_sessions ? t->cursor + 1 : 0;
		if (!s->live || now < s->last || now - s->last < s->timeout)
			continue;
		if (nat_sess_delete(t, s, now) == 0)
			removed++;
	}
	return removed;
}

uint32_t nat_session_count(const struct nat_session_table *t)
{
	return t ? t->n_sess : 0;
}

uint32_t nat_mapping_count(const struct nat_session_table *t)
{
	return t ? t->n_maps : 0;
}

/* ---- inspection and run-time changes (the control socket) ---- */

uint32_t nat_session_count_proto(const struct nat_session_table *t, uint8_t proto)
{
	return t ? t->n_sess_proto[proto_slot(proto)] : 0;
}

int nat_session_walk(const struct nat_session_table *t, uint64_t *cursor, uint32_t budget,
		     int (*fn)(void *arg, const struct nat_mapping *m, const struct nat_sess *s),
		     void *arg)
{
	if (!t || !cursor || !fn)
		return -EINVAL;
	while (budget-- && *cursor < t->cfg.max_sessions) {
		const struct nat_sess *s = &t->sess[(*cursor)++];

		if (s->live && fn(arg, &t->maps[s->map], s))
			break;
	}
	return *cursor >= t->cfg.max_sessions;
}

int nat_mapping_walk(const struct nat_session_table *t, uint64_t *cursor, uint32_t budget,
		     int (*fn)(void *arg, const struct nat_mapping *m), void *arg)
{
	if (!t || !cursor || !fn)
		return -EINVAL;
	while (budget-- && *cursor < t->cfg.max_mappings) {
		const struct nat_mapping *m = &t->maps[(*cursor)++];

		if (m->live && fn(arg, m))
			break;
	}
	return *cursor >= t->cfg.max_mappings;
}

void nat_session_set_timeouts(struct nat_session_table *t, uint32_t udp, uint32_t tcp_est,
			      uint32_t tcp_trans, uint32_t icmp)
{
	if (!t)
		return;
	t->cfg.timeout_udp = udp;
	t->cfg.timeout_tcp_est = tcp_est;
	t->cfg.timeout_tcp_trans = tcp_trans;
	t->cfg.timeout_icmp = icmp;
}
