/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PIPELINE_INT_H
#define NCNAT_NAT_PIPELINE_INT_H

/*
 * Internals of the packet pipeline shared by nat_pipeline.c (set-up, the
 * netchannel engine and its callbacks, bursts in and out), nat_inout.c (IP:
 * sessions, translation, fragments, the session netchannels' keys) and
 * nat_l2.c (Ethernet: neighbours, next-hop MACs, ARP).  Not installed; no
 * stable API.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "nat_log.h"
#include "netchannel.h"
#include "nat_pipeline.h"
#include "nat_ports.h"
#include "nat_shard.h"
#include "nat_session.h"
#include "nat_tcp.h"

#define NEIGH_SIZE 1024 /* per side, power of two */
#define NEIGH_PROBE 8
#define REPLY_MAX 128
#define ARP_RL_SIZE 64 /* ARP requests: at most one per next hop and second */

/*
 * Fragments: a first fragment carries the ports and is translated like any
 * packet (its transport checksum covers the whole datagram, and the
 * incremental update is the same); the later ones carry no ports and follow
 * it by (side, src, dst, proto, IP id).  Later fragments that arrive before
 * their first one are dropped (no reassembly).
 */
#define FRAG_SIZE 256 /* power of two; a collision forgets the older datagram */
#define FRAG_LIFETIME 10 /* seconds */

enum frag_op { FRAG_SRC = 1, FRAG_DST, FRAG_BYPASS };

struct frag_ent {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t side;
	uint8_t op;        /* enum frag_op; 0: empty */
	uint32_t addr;     /* new source or destination */
	uint64_t until;
};

struct neigh {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t used;
};

#define NAT_ACT_NONE (-1) /* no rule matched (unclaimed packets) */
#define REPLY_QUEUE NC_BURST_MAX

/* nat_sess_nc.flags */
#define NAT_SN_GONE 0x1    /* the session went (expiry, delete) while packets
			    * of the burst still point here: they take the
			    * slow path; sess and sess2 are stale */
#define NAT_SN_HAIRPIN 0x2 /* a hairpin pair: sess2 is set, the copy unused */
#define NAT_SN_LOOP 0x4    /* the remote is one of our external endpoints (a
			    * hairpin across workers): inside packets take
			    * the slow path */

/*
 * Private state of a session netchannel (nat_session_ops): the session
 * records it translates for.  A normal session is found by two keys, its
 * inside key (zone INSIDE) and its outside key (zone OUTSIDE); a hairpin
 * pair by the inside keys of both of its sessions.  32 bytes, so that with
 * the 32-byte header the object is one line (nc_slab: 64-byte objects are
 * line aligned) and a packet of an established session touches one line
 * of it.  Hence sessions by 32-bit index in the session table
 * (nat_sess_at), not pointers, and no pipeline pointer: process() finds
 * the pipeline running the engine in a thread-local (nat_pipeline.c;
 * through the engine, nc_eng() -> its ctx, cost ~8 % of 1 M-session
 * throughput in ncbench nat).
 *
 * A normal session's two keys are made from this copy (nat_session_ops'
 * flow_key): they are keyed flows (nc_engine_add_keyed_flow), kept only
 * here, and a lookup compares them on this line — no flow entries (64
 * bytes a session less) and one cache miss less per packet.  A hairpin
 * pair's keys are ordinary flow entries.  No timeout copy: the record's
 * timeout is a function of protocol, TCP state and the configuration, and
 * tgen tells whether the record was last given it under the current one.
 */
struct nat_sess_nc {
	uint32_t sess;                 /* a: the session (nat_sess_at) */
	union {
		uint32_t rem_addr;     /* a session: its remote endpoint */
		uint32_t sess2;        /* hairpin: the other inside endpoint's session */
	};
	/* the fast path's copy of what it needs (kept equal: nat_sess_nc.c;
	 * not used by a hairpin pair) */
	uint32_t in_addr, out_addr;    /* the mapping's endpoints */
	uint16_t in_port, out_port;
	uint32_t last;                 /* >= s->last: the fast path refreshes only
					* this (seconds; UINT32_MAX: a clock past
					* 2^32, s->last is written instead) */
	uint16_t rem_port;
	uint16_t tgen;                 /* p->timeout_gen when s->timeout was last
					* set to the timeout of its protocol and
					* state */
	uint8_t tcp_state;             /* == s->tcp_state */
	uint8_t proto;
	uint8_t flags;                 /* NAT_SN_* */
	int8_t action;                 /* rule action that created it (enum
					* nat_action; NAT_ACT_NONE: a port forward) */
};
_Static_assert(sizeof(struct nat_sess_nc) == 32, "a session netchannel's state: 32 bytes");

/* Private state of a listener netchannel: the rule it stands for. */
struct nat_listener {
	struct nat_pipeline *p;
	struct nat_rule rule;
	uint32_t index;                /* position in cfg.rules */
};

/* Multi-worker dispatch: a static port forward's external endpoint and
 * the worker that owns it (its target's subscriber owner). */
struct dnat_owner {
	uint32_t addr;
	uint16_t port;
	uint8_t proto;                 /* 0: empty slot */
	uint8_t owner;
};

/* Multi-worker dispatch of later fragments: the owner of their first one. */
#define DFRAG_SIZE 256
struct dfrag_ent {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto, side;
	uint16_t owner;
	uint64_t until;                /* 0: empty */
};

struct nat_pipeline {
	struct nat_config cfg;         /* copy; rules owned */
	uint16_t timeout_gen;          /* + 1 per timeout change (nat_sess_nc.tgen) */
	struct nat_shard shard;        /* this worker's part (count 1: all) */
	struct dnat_owner *dnat_tab;   /* count > 1: open addressing, by endpoint */
	uint32_t dnat_mask;
	struct dfrag_ent dfrag[DFRAG_SIZE];
	struct nat_ports *pool;        /* snat */
	struct nat_ports *masq;        /* masquerade (outside address) */
	struct nc_engine *eng;         /* flow table of sessions + listeners of rules */
	struct netchannel **listeners; /* by rule index */
	struct netchannel **staged;    /* a new rule list's listeners (rule changes) */
	uint32_t id_base, staged_base; /* classifier ids: base + index */
	struct netchannel **ext_listeners; /* outside: pool ranges and the outside address */
	uint32_t n_ext;
	struct nat_session_table *st;
	uint64_t flow_add_failed;      /* session keys the flow table refused */
	uint64_t te_sec;               /* ICMP time exceeded: second and count */
	uint32_t te_sent;
	/* output of the rx call running: frames to send per side (cookies /
	 * mbufs), reply frames built */
	void *out[2][NC_BURST_MAX];
	uint32_t n_out[2];
	void *ho[NC_BURST_MAX];        /* handed to another worker (outside frames) */
	uint16_t ho_worker[NC_BURST_MAX];
	uint32_t n_ho;
	uint16_t handoff_to;           /* set by the slow path with NAT_HANDOFF */
	uint8_t rq[REPLY_QUEUE][REPLY_MAX];
	uint32_t rq_len[REPLY_QUEUE];
	uint8_t rq_side[REPLY_QUEUE];
	uint32_t n_rq;
	struct nat_counters cnt;
	struct nat_log log;
	struct neigh neigh[2][NEIGH_SIZE];
	uint8_t reply[REPLY_MAX];
	uint32_t reply_len;
	enum nat_side reply_side;
	uint64_t now;                  /* of the packet being processed */
	struct frag_ent frags[FRAG_SIZE]; /* first fragments seen, for the later ones */
	struct {
		uint32_t ip;
		uint64_t when;
	} arp_sent[2][ARP_RL_SIZE];    /* last ARP request per next hop */
};

static inline enum nat_verdict nat_drop(struct nat_pipeline *p, enum nat_counter c)
{
	nat_count(&p->cnt, c);
	return NAT_DROP;
}

static inline bool nat_on_subnet(const struct nat_port_config *pc, uint32_t a)
{
	uint32_t mask = pc->plen ? 0xffffffffu << (32 - pc->plen) : 0;

	return (a & mask) == (pc->addr & mask);
}

/* nat_dispatch.c */

/** The worker that owns outside packets to (proto, addr, port): a static
 *  port forward's owner, else the port's (nat_shard_port_owner). */
unsigned nat_outside_owner(const struct nat_pipeline *p, uint8_t proto, uint32_t addr,
			   uint16_t port);

/** The dispatch table of the static port forwards among rules (for a new
 *  rule list; *tab NULL with one worker).  @return 0; -ENOMEM. */
int nat_dnat_owners_build(const struct nat_pipeline *p, const struct nat_rule *rules,
			  uint32_t n_rules, struct dnat_owner **tab, uint32_t *mask);

/* nat_l2.c */

/** Learn ip -> mac on a side (unicast MACs only; a full bucket forgets). */
void nat_neigh_learn(struct nat_pipeline *p, enum nat_side side, uint32_t ip,
		     const uint8_t *mac);

/**
 * Set the frame's MACs for leaving on side towards dst (or its gateway);
 * false (drop_no_neigh counted, an ARP request queued as the reply) if the
 * next hop's MAC is unknown.
 */
bool nat_set_macs(struct nat_pipeline *p, uint8_t *pkt, enum nat_side side, uint32_t dst);

/** An ARP frame arrived on side: learn, answer for our addresses in place. */
enum nat_verdict nat_arp_input(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
			       enum nat_side side);

/** Learn from an ARP frame another worker received (no answer, no count). */
void nat_arp_learn(struct nat_pipeline *p, const uint8_t *pkt, uint32_t len,
		   enum nat_side side);

/* nat_inout.c */

/** The IP path of one packet that no session netchannel took (a listener's
 *  or an unclaimed packet; action: the listener's rule or NAT_ACT_NONE):
 *  checks, rules, mappings and sessions (created here, with their session
 *  netchannel and keys), translation.  Returns the verdict. */
enum nat_verdict nat_slow_path(struct nat_pipeline *p, struct nc_pkt *pkt, int action);

/** Before a packet goes down the slow path: start the cache misses
 *  nat_slow_path(p, pkt, action) will meet (the mapping lookup, the session
 *  lookup or insert and, for a new mapping, its port allocation and outside
 *  index), so that a burst of new flows waits for them together.  Stages
 *  0 .. NAT_SLOW_PREFETCH_STAGES - 1 in order, each some time after the one
 *  before (it reads what that one loaded). */
#define NAT_SLOW_PREFETCH_STAGES 4
void nat_slow_path_prefetch(struct nat_pipeline *p, const struct nc_pkt *pkt, int action,
			    unsigned stage);

/** The fast path: a packet found in the flow table by one of sn's keys;
 *  p is the pipeline whose engine found it. */
enum nat_verdict nat_session_path(struct nat_pipeline *p, struct nat_sess_nc *sn,
				  struct nc_pkt *pkt);

/* ---- session netchannels (nat_sess_nc.c) ---- */

/* One of our external endpoints' addresses: the outside address or a pool
 * address. */
static inline bool nat_is_external(const struct nat_pipeline *p, uint32_t a)
{
	return a == p->cfg.outside.addr || nat_config_in_pool(&p->cfg, a);
}

/* The timeout of f's session by its protocol and TCP state under the
 * pipeline's timeouts (nat_session_timeout(); the pipeline's timeouts are
 * the session table's, nat_pipeline_set_timeout() sets both). */
static inline uint32_t nat_sess_nc_timeout(const struct nat_pipeline *p,
					   const struct nat_sess_nc *f)
{
	return f->proto == 6	? nat_tcp_timeout(f->tcp_state, p->cfg.timeout_tcp_est,
						  p->cfg.timeout_tcp_trans)
	       : f->proto == 17 ? p->cfg.timeout_udp
				: p->cfg.timeout_icmp;
}

/* A session's flow key (IPv4): its inside key is (NAT_SIDE_INSIDE, inside
 * endpoint -> remote endpoint), its outside key (NAT_SIDE_OUTSIDE, remote
 * -> external endpoint).  ICMP: the parser puts a request's id in sport
 * and 0 in dport, a reply's id in dport and 0 in sport (nc_parse.h), and a
 * session's remote port is 0.  Every key of a session is made here: the
 * keys a session's netchannel makes (keyed flows) and the ones its removal
 * deletes must be the same. */
static inline void nat_sess_key(struct nc_flow_key *k, uint16_t side, uint8_t proto,
				uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	union cls_addr a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.v4 = src;
	b.v4 = dst;
	nc_flow_key_set(k, side, CLS_IPV4, proto, &a, &b, sport, dport);
}

/* Give session s (and, for a hairpin pair, its partner s2) a session
 * netchannel and its keys, unless it has one; a failure only costs speed
 * (counted in flow_add_failed). */
void nat_sess_attach(struct nat_pipeline *p, struct nat_sess *s, struct nat_sess *s2);
/* The session table changed s (state, refresh): its netchannel's copy
 * follows. */
void nat_sess_nc_sync(struct nat_pipeline *p, struct nat_sess *s);
/* nat_sess_refresh() at p->now, and the copy follows. */
void nat_sess_refresh_nc(struct nat_pipeline *p, struct nat_sess *s);
/** The session table's session_freed callback: remove the keys of the
 *  session's netchannel (the table's references go with them). */
void nat_session_gone(void *ctx, struct nat_sess *s, const struct nat_mapping *m);
/* nat_session_ops.flow_key: a session's inside (0) and outside (1) keys
 * from its netchannel's copy (nat_sess_nc.c). */
void nat_session_flow_key(const struct netchannel *nc, unsigned which, struct nc_flow_key *k);
/* nat_session_ops.flow_match: the same keys compared without building them. */
bool nat_session_flow_match(const struct netchannel *nc, unsigned which,
			    const struct nc_flow_key *k);
/* Every live session's timeout set for the current timeouts and every
 * copy's tgen current: when p->timeout_gen wraps around (nat_sess_nc.c). */
void nat_session_retime_all(struct nat_pipeline *p);

/** The session table's session_last callback: the last use the fast path
 *  recorded in the session's netchannel (or s->last). */
uint64_t nat_session_last(void *ctx, const struct nat_sess *s);

/** The session table's session_prefetch (nat_session.h): before expiry
 *  removes s, start loading its netchannel, flow keys and port. */
void nat_session_gone_prefetch(void *ctx, const struct nat_sess *s, const struct nat_mapping *m,
			  unsigned stage);

/** The session netchannel type. */
extern const struct nc_ops nat_session_ops;

#endif /* NCNAT_NAT_PIPELINE_INT_H */
