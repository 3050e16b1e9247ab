/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat session table; see nat_session.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_session_int.h"
#include "nat_tcp.h"

/*
 * Last-use times are kept in 32 bits, relative to t->base: 0 until a time
 * of 2^32 or more is stored, so exact for any clock below that (seconds:
 * until 2106).  A later time moves the base up to 2^31 behind it (rebase:
 * one pass over the records, once per 2^31 units of the clock); a record
 * older than the new base gets the base, which keeps it idle for every
 * timeout below 2^31 (the configuration's are at most a week).
 */
static inline uint64_t last_of(const struct nat_session_table *t, const struct nat_sess *s)
{
	return t->base + s->last_rel;
}

static void rebase(struct nat_session_table *t, uint64_t base)
{
	uint64_t d = base - t->base;

	for (uint32_t i = 0; i < t->cfg.max_sessions; i++) {
		struct nat_sess *s = &t->sess[i];

		if (s->live)
			s->last_rel = s->last_rel > d ? (uint32_t)(s->last_rel - d) : 0;
	}
	t->base = base;
}

static inline void set_last(struct nat_session_table *t, struct nat_sess *s, uint64_t v)
{
	if (v > t->base && v - t->base > UINT32_MAX)
		rebase(t, v - (1ull << 31));
	s->last_rel = v > t->base ? (uint32_t)(v - t->base) : 0;
}
/* ---- life cycle ---- */

int nat_session_create(const struct nat_session_config *cfg, struct nat_session_table **out)
{
	struct nat_session_table *t;
	uint32_t i;

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
	t->rng = 0x9e3779b97f4a7c15ull;
	t->maps = calloc(cfg->max_mappings, sizeof(*t->maps));
	t->sess = calloc(cfg->max_sessions, sizeof(*t->sess));
	if (!t->maps || !t->sess || ht_init(&t->h_in, cfg->max_mappings) != 0 ||
	    ht_init(&t->h_out, cfg->max_mappings) != 0 ||
	    ht_init(&t->h_sess, cfg->max_sessions) != 0) {
		nat_session_free(t);
		return -ENOMEM;
	}
	want_huge_pages(t->maps, (size_t)cfg->max_mappings * sizeof(*t->maps));
	want_huge_pages(t->sess, (size_t)cfg->max_sessions * sizeof(*t->sess));
	for (i = 0; i < cfg->max_mappings; i++)
		t->maps[i].sess_head = i + 1 < cfg->max_mappings ? i + 1 : NIL;
	for (i = 0; i < cfg->max_sessions; i++)
		t->sess[i].mnext = i + 1 < cfg->max_sessions ? i + 1 : NIL;
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
	ht_fini(&t->h_in);
	ht_fini(&t->h_out);
	ht_fini(&t->h_sess);
	free(t);
}

/* ---- mappings ---- */

static inline uint32_t find_in(const struct nat_session_table *t, uint64_t hv, uint8_t proto,
			       uint32_t addr, uint16_t port)
{
	struct ep_key k = {.addr = addr, .port = port, .proto = proto};

	return ht_find(t, &t->h_in, hv, eq_in, &k);
}

static inline uint32_t find_out(const struct nat_session_table *t, uint64_t hv, uint8_t proto,
				uint32_t addr, uint16_t port)
{
	struct ep_key k = {.addr = addr, .port = port, .proto = proto};

	return ht_find(t, &t->h_out, hv, eq_out, &k);
}

struct nat_mapping *nat_mapping_find_in(const struct nat_session_table *t, uint8_t proto,
					uint32_t in_addr, uint16_t in_port)
{
	uint32_t i;

	if (!t)
		return NULL;
	i = find_in(t, hash_ep(t, proto, in_addr, in_port), proto, in_addr, in_port);
	return i == NIL ? NULL : &t->maps[i];
}

struct nat_mapping *nat_mapping_find_out(const struct nat_session_table *t, uint8_t proto,
					 uint32_t out_addr, uint16_t out_port)
{
	uint32_t i;

	if (!t)
		return NULL;
	i = find_out(t, hash_ep(t, proto, out_addr, out_port), proto, out_addr, out_port);
	return i == NIL ? NULL : &t->maps[i];
}

int nat_mapping_add(struct nat_session_table *t, uint8_t proto, uint32_t in_addr,
		    uint16_t in_port, uint32_t out_addr, uint16_t out_port, uint8_t flags,
		    uint64_t now, struct nat_mapping **out)
{
	struct nat_mapping *m;
	uint64_t hi, ho;
	uint32_t i;
	int rc;

	if (!t || !out)
		return -EINVAL;
	hi = hash_ep(t, proto, in_addr, in_port);
	ho = hash_ep(t, proto, out_addr, out_port);
	ht_prefetch(&t->h_out, ho); /* (the caller usually just looked the inside key up) */
	if (find_in(t, hi, proto, in_addr, in_port) != NIL ||
	    find_out(t, ho, proto, out_addr, out_port) != NIL)
		return -EEXIST;
	if (t->free_map == NIL)
		return -ENOSPC;
	i = t->free_map;
	m = &t->maps[i];
	t->free_map = m->sess_head;
	if (t->free_map != NIL) /* the next add's record */
		__builtin_prefetch(&t->maps[t->free_map], 1);
	rc = ht_insert(&t->h_in, &t->rng, hi, i);
	if (rc == 0) {
		rc = ht_insert(&t->h_out, &t->rng, ho, i);
		if (rc != 0)
			ht_remove(&t->h_in, hi, i);
	}
	if (rc != 0) {
		t->free_map = i;
		return rc;
	}
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
	t->n_maps++;
	*out = m;
	return 0;
}

static void map_remove(struct nat_session_table *t, struct nat_mapping *m, uint64_t now)
{
	uint32_t i = (uint32_t)(m - t->maps);

	ht_remove(&t->h_in, hash_ep(t, m->proto, m->in_addr, m->in_port), i);
	ht_remove(&t->h_out, hash_ep(t, m->proto, m->out_addr, m->out_port), i);
	m->live = 0;
	t->n_maps--;
	if (!(m->flags & NAT_MAP_STATIC) && t->cfg.mapping_freed)
		t->cfg.mapping_freed(t->cfg.ctx, m, now);
	m->sess_head = t->free_map;
	t->free_map = i;
}

/* Unlink a session; returns its mapping (which may now have none). */
static struct nat_mapping *sess_remove(struct nat_session_table *t, struct nat_sess *s)
{
	uint32_t i = (uint32_t)(s - t->sess);
	struct nat_mapping *m = &t->maps[s->map];

	if (t->cfg.session_freed)
		t->cfg.session_freed(t->cfg.ctx, s, m);
	if (s->live & NAT_SESS_INDEXED)
		ht_remove(&t->h_sess, hash_sess_of(t, m, s->rem_addr, s->rem_port), i);
	if (s->mprev == NIL)
		m->sess_head = s->mnext;
	else
		t->sess[s->mprev].mnext = s->mnext;
	if (s->mnext != NIL)
		t->sess[s->mnext].mprev = s->mprev;
	m->n_sessions--;
	t->n_sess_proto[proto_slot(m->proto)]--;
	s->live = 0;
	s->mnext = t->free_sess;
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

/* ---- sessions ---- */

static inline uint32_t find_sess(const struct nat_session_table *t, uint64_t hv, uint32_t mi,
				 uint32_t addr, uint16_t port)
{
	struct sess_key k = {.map = mi, .addr = addr, .port = port};

	return ht_find(t, &t->h_sess, hv, eq_sess, &k);
}

/* The session of m (index mi) with the remote endpoint, or NIL: its list
 * up to LIST_MAX sessions, else the index (see LIST_MAX). */
static uint32_t sess_lookup(const struct nat_session_table *t, const struct nat_mapping *m,
			    uint32_t mi, uint32_t rem_addr, uint16_t rem_port)
{
	if (m->n_sessions <= LIST_MAX) {
		for (uint32_t i = m->sess_head; i != NIL; i = t->sess[i].mnext)
			if (t->sess[i].rem_addr == rem_addr && t->sess[i].rem_port == rem_port)
				return i;
		return NIL;
	}
	return find_sess(t, hash_sess_of(t, m, rem_addr, rem_port), mi, rem_addr, rem_port);
}

struct nat_sess *nat_sess_find(const struct nat_session_table *t, const struct nat_mapping *m,
			       uint32_t rem_addr, uint16_t rem_port)
{
	uint32_t i;

	if (!t || !m || m->n_sessions == 0)
		return NULL;
	i = sess_lookup(t, m, (uint32_t)(m - t->maps), rem_addr, rem_port);
	return i == NIL ? NULL : &t->sess[i];
}

/* Index session i of m; 0 or -ENOMEM. */
static int sess_index(struct nat_session_table *t, const struct nat_mapping *m, uint32_t i)
{
	struct nat_sess *s = &t->sess[i];
	int rc = ht_insert(&t->h_sess, &t->rng, hash_sess_of(t, m, s->rem_addr, s->rem_port), i);

	if (rc == 0)
		s->live |= NAT_SESS_INDEXED;
	return rc;
}

static void sess_unindex(struct nat_session_table *t, const struct nat_mapping *m, uint32_t i)
{
	struct nat_sess *s = &t->sess[i];

	ht_remove(&t->h_sess, hash_sess_of(t, m, s->rem_addr, s->rem_port), i);
	s->live &= (uint8_t)~NAT_SESS_INDEXED;
}

/* m is about to get its (LIST_MAX + 1)th session: index those of its
 * sessions that are not; 0, or -ENOMEM with none of them indexed. */
static int index_mapping(struct nat_session_table *t, const struct nat_mapping *m)
{
	uint32_t done[LIST_MAX], n = 0;

	for (uint32_t i = m->sess_head; i != NIL; i = t->sess[i].mnext) {
		if (t->sess[i].live & NAT_SESS_INDEXED)
			continue;
		if (sess_index(t, m, i) != 0) {
			while (n > 0)
				sess_unindex(t, m, done[--n]);
			return -ENOMEM;
		}
		done[n++] = i;
	}
	return 0;
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
	uint32_t i, mi;
	uint64_t hv;
	bool indexed;
	int rc;

	if (!t || !m || !out || m < t->maps || m >= t->maps + t->cfg.max_mappings || !m->live)
		return -EINVAL;
	mi = (uint32_t)(m - t->maps);
	/* a mapping without sessions has none to find: no lookup */
	if (m->n_sessions != 0 && sess_lookup(t, m, mi, rem_addr, rem_port) != NIL)
		return -EEXIST;
	if (t->free_sess == NIL)
		return -ENOSPC;
	i = t->free_sess;
	s = &t->sess[i];
	indexed = m->n_sessions >= LIST_MAX;
	if (indexed) {
		if (m->n_sessions == LIST_MAX && index_mapping(t, m) != 0)
			return -ENOMEM;
		hv = hash_sess_of(t, m, rem_addr, rem_port);
		rc = ht_insert(&t->h_sess, &t->rng, hv, i);
		if (rc != 0) {
			if (m->n_sessions == LIST_MAX) /* back as it was: unindexed */
				for (uint32_t k = m->sess_head; k != NIL; k = t->sess[k].mnext)
					if (t->sess[k].live & NAT_SESS_INDEXED)
						sess_unindex(t, m, k);
			return rc;
		}
	}
	t->free_sess = s->mnext;
	if (t->free_sess != NIL) /* the next add's record */
		__builtin_prefetch(&t->sess[t->free_sess], 1);
	memset(s, 0, sizeof(*s));
	s->map = mi;
	s->rem_addr = rem_addr;
	s->rem_port = rem_port;
	s->tcp_state = NAT_TCP_CLOSED;
	s->live = indexed ? NAT_SESS_LIVE | NAT_SESS_INDEXED : NAT_SESS_LIVE;
	set_last(t, s, now);
	s->timeout = nat_session_timeout(t, m->proto, NAT_TCP_CLOSED);
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

void nat_mapping_prefetch_find(const struct nat_session_table *t, bool inside, uint8_t proto,
			       uint32_t addr, uint16_t port)
{
	if (t)
		ht_prefetch(inside ? &t->h_in : &t->h_out, hash_ep(t, proto, addr, port));
}

void nat_session_prefetch_add(const struct nat_session_table *t, uint8_t proto,
			      uint32_t out_addr, uint16_t out_port)
{
	if (!t)
		return;
	ht_prefetch(&t->h_out, hash_ep(t, proto, out_addr, out_port));
	if (t->free_map != NIL) /* the mapping record nat_mapping_add will take */
		__builtin_prefetch(&t->maps[t->free_map], 1);
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

uint32_t nat_sess_index(const struct nat_session_table *t, const struct nat_sess *s)
{
	return (uint32_t)(s - t->sess);
}

struct nat_sess *nat_sess_at(const struct nat_session_table *t, uint32_t i)
{
	return i < t->cfg.max_sessions ? &t->sess[i] : NULL;
}

uint64_t nat_sess_last(const struct nat_session_table *t, const struct nat_sess *s)
{
	return last_of(t, s);
}

void nat_sess_touch(struct nat_session_table *t, struct nat_sess *s, uint64_t now)
{
	if (now > last_of(t, s))
		set_last(t, s, now);
}

void nat_sess_refresh(struct nat_session_table *t, struct nat_sess *s, uint64_t now)
{
	nat_sess_touch(t, s, now);
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

/* s's last use := the caller's later one (cfg.session_last); true if it
 * moved.  The table's own arrays are written even from a const walk: the
 * record only catches up with what the caller already knows. */
static bool catch_up(const struct nat_session_table *t, struct nat_sess *s)
{
	uint64_t l;

	if (t->cfg.session_last == NULL)
		return false;
	l = t->cfg.session_last(t->cfg.ctx, s);
	if (l <= last_of(t, s))
		return false;
	set_last((struct nat_session_table *)(uintptr_t)t, s, l);
	return true;
}

/* Does s look idle at now by its own record?  (The caller's record may
 * still say otherwise: catch_up.) */
static inline bool looks_idle(const struct nat_session_table *t, const struct nat_sess *s,
			      uint64_t now)
{
	return s->live && now >= last_of(t, s) && now - last_of(t, s) >= s->timeout;
}

/*
 * Expiry works in batches of the sessions that look idle in up to
 * EXPIRE_BATCH slots: at millions of sessions, each removal misses on its
 * mapping, up to three index buckets (inside, outside, and the session's
 * if it is indexed) and the caller's
 * state (its netchannel, flow keys, port bitmaps), one after another.  A
 * batch first starts all of those loads, in stages that each read what the
 * one before loaded, and then removes its sessions in slot order, each
 * checked again exactly as without the batch (the records are the same;
 * removing one session changes no other's idleness), so what is removed
 * and in which order does not change.
 */
#define EXPIRE_BATCH 32

static void expire_prefetch(const struct nat_session_table *t, const uint32_t *cand, unsigned n)
{
	void (*pf)(void *, const struct nat_sess *, const struct nat_mapping *, unsigned) =
		t->cfg.session_prefetch;

	for (unsigned k = 0; k < n; k++) {
		const struct nat_sess *s = &t->sess[cand[k]];

		__builtin_prefetch(&t->maps[s->map], 1);
		if (pf)
			pf(t->cfg.ctx, s, NULL, 0);
	}
	for (unsigned stage = 1; stage < 3; stage++) {
		for (unsigned k = 0; k < n; k++) {
			const struct nat_sess *s = &t->sess[cand[k]];
			const struct nat_mapping *m = &t->maps[s->map];
			/* the mapping goes with its last session */
			bool map_too = m->n_sessions == 1 && !(m->flags & NAT_MAP_STATIC);
			/* (most sessions are not in the session index: LIST_MAX) */
			bool indexed = s->live & NAT_SESS_INDEXED;
			uint64_t hs = 0, hi = 0, ho = 0;

			if (indexed)
				hs = hash_sess_of(t, m, s->rem_addr, s->rem_port);
			if (map_too) {
				hi = hash_ep(t, m->proto, m->in_addr, m->in_port);
				ho = hash_ep(t, m->proto, m->out_addr, m->out_port);
			}

			if (stage == 1) {
				if (indexed)
					ht_prefetch(&t->h_sess, hs);
				if (map_too) {
					ht_prefetch(&t->h_in, hi);
					ht_prefetch(&t->h_out, ho);
				}
			} else {
				if (indexed)
					ht_prefetch_remove(&t->h_sess, hs, cand[k]);
				if (map_too) {
					ht_prefetch_remove(&t->h_in, hi, s->map);
					ht_prefetch_remove(&t->h_out, ho, s->map);
				}
			}
			if (pf)
				pf(t->cfg.ctx, s, m, stage);
		}
	}
}

int nat_session_expire(struct nat_session_table *t, uint64_t now, uint32_t budget)
{
	uint32_t cand[EXPIRE_BATCH];
	int removed = 0;

	if (!t || budget == 0)
		return -EINVAL;
	while (budget) {
		unsigned n = 0;

		for (; budget && n < EXPIRE_BATCH; budget--) {
			uint32_t i = t->cursor;

			t->cursor = t->cursor + 1 < t->cfg.max_sessions ? t->cursor + 1 : 0;
			if (looks_idle(t, &t->sess[i], now))
				cand[n++] = i;
		}
		if (n > 1)
			expire_prefetch(t, cand, n);
		for (unsigned k = 0; k < n; k++) {
			struct nat_sess *s = &t->sess[cand[k]];

			if (!looks_idle(t, s, now))
				continue;
			if (catch_up(t, s) && (now < last_of(t, s) || now - last_of(t, s) < s->timeout))
				continue; /* the caller saw it in use since */
			if (nat_sess_delete(t, s, now) == 0)
				removed++;
		}
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
		struct nat_sess *s = &t->sess[(*cursor)++];

		if (s->live)
			(void)catch_up(t, s);
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
