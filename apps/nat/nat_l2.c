/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat pipeline, Ethernet side: neighbour table, next-hop MACs, ARP
 * replies for our addresses and ARP requests for unknown next hops.
 */
#include <string.h>

#include "nat_csum.h"
#include "nat_pipeline_int.h"

/* ---- neighbours ---- */

static uint32_t nhash(uint32_t ip)
{
	return (ip * 2654435761u) >> 22; /* 10 bits */
}

void nat_neigh_learn(struct nat_pipeline *p, enum nat_side side, uint32_t ip,
		     const uint8_t *mac)
{
	struct neigh *t = p->neigh[side];
	uint32_t h = nhash(ip), i, victim = h;

	if (ip == 0 || (mac[0] & 1))
		return;
	for (i = 0; i < NEIGH_PROBE; i++) {
		struct neigh *n = &t[(h + i) & (NEIGH_SIZE - 1)];

		if (n->used && n->ip == ip) {
			memcpy(n->mac, mac, 6);
			return;
		}
		if (!n->used) {
			victim = (h + i) & (NEIGH_SIZE - 1);
			break;
		}
	}
	t[victim & (NEIGH_SIZE - 1)].ip = ip;
	memcpy(t[victim & (NEIGH_SIZE - 1)].mac, mac, 6);
	t[victim & (NEIGH_SIZE - 1)].used = 1;
}

static const uint8_t *neigh_find(const struct nat_pipeline *p, enum nat_side side, uint32_t ip)
{
	const struct neigh *t = p->neigh[side];
	uint32_t h = nhash(ip), i;

	for (i = 0; i < NEIGH_PROBE; i++) {
		const struct neigh *n = &t[(h + i) & (NEIGH_SIZE - 1)];

		if (n->used && n->ip == ip)
			return n->mac;
	}
	return NULL;
}

/* Next-hop MAC for dst on a side, or NULL with *hop the address to resolve. */
static const uint8_t *next_hop_mac(const struct nat_pipeline *p, enum nat_side side, uint32_t dst,
				   uint32_t *hop)
{
	const struct nat_port_config *pc = side == NAT_SIDE_INSIDE ? &p->cfg.inside : &p->cfg.outside;

	if (!nat_on_subnet(pc, dst) && pc->has_gateway) {
		if (pc->has_gateway_mac)
			return pc->gateway_mac;
		dst = pc->gateway;
	}
	*hop = dst;
	return neigh_find(p, side, dst);
}

/*
 * Ask for an unknown next hop: an ARP request as the reply frame, at most
 * one per next hop and second.  Only for next hops on the port's subnet.
 */
static void arp_request(struct nat_pipeline *p, enum nat_side side, uint32_t hop)
{
	const struct nat_port_config *pc = side == NAT_SIDE_INSIDE ? &p->cfg.inside : &p->cfg.outside;
	uint32_t slot = nhash(hop) & (ARP_RL_SIZE - 1);
	uint8_t *b = p->reply, *a = b + 14;

	if (!nat_on_subnet(pc, hop) || hop == pc->addr ||
	    (p->arp_sent[side][slot].ip == hop && p->arp_sent[side][slot].when == p->now))
		return;
	p->arp_sent[side][slot].ip = hop;
	p->arp_sent[side][slot].when = p->now;
	memset(b, 0, 60);
	memset(b, 0xff, 6);
	memcpy(b + 6, pc->mac, 6);
	nat_put16(b + 12, 0x0806);
	nat_put16(a, 1);
	nat_put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	nat_put16(a + 6, 1);
	memcpy(a + 8, pc->mac, 6);
	nat_put32(a + 14, pc->addr);
	nat_put32(a + 24, hop);
	p->reply_len = 60;
	p->reply_side = side;
	nat_count(&p->cnt, NAT_CNT_ARP_REQUESTS);
}

/* Set the MACs for leaving on side; false (and counted) if unknown. */
bool nat_set_macs(struct nat_pipeline *p, uint8_t *pkt, enum nat_side side, uint32_t dst)
{
	uint32_t hop = 0;
	const uint8_t *mac = next_hop_mac(p, side, dst, &hop);

	if (!mac) {
		arp_request(p, side, hop);
		nat_count(&p->cnt, NAT_CNT_DROP_NO_NEIGH);
		return false;
	}
	memcpy(pkt, mac, 6);
	memcpy(pkt + 6, side == NAT_SIDE_INSIDE ? p->cfg.inside.mac : p->cfg.outside.mac, 6);
	return true;
}


/* ---- ARP ---- */

void nat_arp_learn(struct nat_pipeline *p, const uint8_t *pkt, uint32_t len,
		   enum nat_side side)
{
	const struct nat_port_config *pc = side == NAT_SIDE_INSIDE ? &p->cfg.inside : &p->cfg.outside;
	const uint8_t *a = pkt + 14;
	uint32_t spa;

	if (len < 42 || nat_get16(a) != 1 || nat_get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return;
	spa = nat_get32(a + 14);
	if (nat_on_subnet(pc, spa))
		nat_neigh_learn(p, side, spa, a + 8);
}

enum nat_verdict nat_arp_input(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
			       enum nat_side side)
{
	const struct nat_port_config *pc = side == NAT_SIDE_INSIDE ? &p->cfg.inside : &p->cfg.outside;
	uint8_t *a = pkt + 14;
	uint32_t spa, tpa;
	bool ours;

	if (len < 42 || nat_get16(a) != 1 || nat_get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return nat_drop(p, NAT_CNT_DROP_ARP);
	spa = nat_get32(a + 14);
	tpa = nat_get32(a + 24);
	if (nat_on_subnet(pc, spa))
		nat_neigh_learn(p, side, spa, a + 8);
	ours = tpa == pc->addr ||
	       (side == NAT_SIDE_OUTSIDE && nat_config_in_pool(&p->cfg, tpa));
	if (nat_get16(a + 6) != 1 || !ours)
		return nat_drop(p, NAT_CNT_DROP_ARP);
	/* request for one of our addresses: answer in place */
	nat_put16(a + 6, 2);
	memcpy(a + 18, a + 8, 6);     /* tha = sha */
	nat_put32(a + 24, spa);       /* tpa = spa */
	memcpy(a + 8, pc->mac, 6);    /* sha = ours */
	nat_put32(a + 14, tpa);       /* spa = requested address */
	memcpy(pkt, pkt + 6, 6);
	memcpy(pkt + 6, pc->mac, 6);
	nat_count(&p->cnt, NAT_CNT_ARP_REPLIES);
	return side == NAT_SIDE_INSIDE ? NAT_TX_INSIDE : NAT_TX_OUTSIDE;
}

