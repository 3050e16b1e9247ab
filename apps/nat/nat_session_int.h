/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_SESSION_INT_H
#define NCNAT_NAT_SESSION_INT_H
/*
 * Session table internals shared by the table (nat_session.c) and its
 * consistency check (nat_session_check.c): the table, its hashes and the
 * key compares of its three indexes (nat_session_ht.h).
 */
#include <stdbool.h>
#include <stdint.h>

#include "nat_session.h"
#include "nat_session_ht.h"

struct nat_session_table {
	struct nat_session_config cfg;
	struct nat_mapping *maps;
	struct nat_sess *sess;
	struct ht h_in, h_out, h_sess;
	uint32_t free_map, free_sess;  /* lists through sess_head / mnext */
	uint32_t n_maps, n_sess;
	uint32_t cursor;
	uint32_t n_sess_proto[4];      /* live sessions: [0] TCP, [1] UDP, [2] ICMP, [3] other */
	uint64_t rng;                  /* cuckoo walk victims */
	uint64_t base;                 /* of the sessions' last-use times (last_rel) */
};

_Static_assert(sizeof(struct nat_sess) == 32, "a session record: 32 bytes, two a line");

/*
 * The (mapping, remote) index holds only the sessions of mappings that have
 * had more than LIST_MAX sessions at once: up to LIST_MAX, a session is
 * found by walking its mapping's list, whose records the walk reads
 * anyway.  Most mappings of a client NAT have one session (a DNS query,
 * an HTTPS connection), so most sessions never cost an index insert and
 * remove (a cache miss each at millions of sessions).  Invariant: every
 * session of a mapping with more than LIST_MAX sessions is indexed
 * (NAT_SESS_INDEXED), so nat_sess_find walks at most LIST_MAX records or
 * reads the index; a session stays indexed until it goes.
 */
#define LIST_MAX 2u

/* index into n_sess_proto */
static inline unsigned proto_slot(uint8_t proto)
{
	return proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : 3;
}

static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t filtered(const struct nat_session_table *t, uint64_t h)
{
	return t->cfg.hash_filter ? t->cfg.hash_filter(h) : h;
}

/* Hash of an endpoint key (inside or external). */
static inline uint64_t hash_ep(const struct nat_session_table *t, uint8_t proto, uint32_t addr,
			       uint16_t port)
{
	return filtered(t, fmix64((uint64_t)proto << 48 | (uint64_t)addr << 16 | port));
}

/*
 * Hash of a session key (mapping, remote endpoint).  The mapping enters by
 * its inside endpoint, not its record index, so that the bucket of a
 * session not yet made is known from its packet alone (the slow path once
 * prefetched it; since most sessions are not indexed, LIST_MAX, it no
 * longer does).  A mapping's inside endpoint is fixed for its life, so the
 * hash of a key never changes; the key compared stays the index (eq_sess).
 */
static inline uint64_t hash_sess(const struct nat_session_table *t, uint8_t proto,
				 uint32_t in_addr, uint16_t in_port, uint32_t addr, uint16_t port)
{
	uint64_t a = fmix64((uint64_t)proto << 48 | (uint64_t)in_addr << 16 | in_port);

	return filtered(t, fmix64(a ^ ((uint64_t)addr << 16 | port)));
}

static inline uint64_t hash_sess_of(const struct nat_session_table *t,
				    const struct nat_mapping *m, uint32_t addr, uint16_t port)
{
	return hash_sess(t, m->proto, m->in_addr, m->in_port, addr, port);
}

/* ---- keys ---- */

struct ep_key {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;
};

struct sess_key {
	uint32_t map, addr;
	uint16_t port;
};

static inline bool eq_in(const void *ctx, uint32_t i, const void *key)
{
	const struct nat_session_table *t = ctx;
	const struct ep_key *k = key;
	const struct nat_mapping *m = &t->maps[i];

	return m->in_addr == k->addr && m->in_port == k->port && m->proto == k->proto;
}

static inline bool eq_out(const void *ctx, uint32_t i, const void *key)
{
	const struct nat_session_table *t = ctx;
	const struct ep_key *k = key;
	const struct nat_mapping *m = &t->maps[i];

	return m->out_addr == k->addr && m->out_port == k->port && m->proto == k->proto;
}

static inline bool eq_sess(const void *ctx, uint32_t i, const void *key)
{
	const struct nat_session_table *t = ctx;
	const struct sess_key *k = key;
	const struct nat_sess *s = &t->sess[i];

	return s->rem_addr == k->addr && s->rem_port == k->port && s->map == k->map;
}

#endif /* NCNAT_NAT_SESSION_INT_H */
