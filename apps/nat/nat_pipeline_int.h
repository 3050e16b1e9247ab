/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PIPELINE_INT_H
#define NCNAT_NAT_PIPELINE_INT_H

/*
 * Internals of the packet pipeline shared by nat_pipeline.c (IP: rules,
 * sessions, translation, fragments) and nat_l2.c (Ethernet: neighbours,
 * next-hop MACs, ARP).  Not installed; no stable API.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "classify.h"
#include "nat_log.h"
#include "nat_pipeline.h"
#include "nat_ports.h"
#include "nat_session.h"

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

struct nat_pipeline {
	struct nat_config cfg;         /* copy; rules owned */
	struct nat_ports *pool;        /* snat */
	struct nat_ports *masq;        /* masquerade (outside address) */
	struct cls *rules;             /* inside rules (lib/classify); udata: nat_rule */
	struct nat_session_table *st;
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

#endif /* NCNAT_NAT_PIPELINE_INT_H */
