/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Multi-worker dispatch: which worker owns a frame (nat_pipeline_owner) and
 * the table of static port forwards that overrides the port owner.  See
 * nat_pipeline.h ("Workers") and nat_shard.h.
 *
 * The frame is read just far enough to name its owner; anything that does
 * not parse stays with the receiving worker, whose pipeline counts and
 * drops it as it would with one worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_csum.h"
#include "nat_pipeline_int.h"

static inline uint32_t dnat_hash(uint8_t proto, uint32_t addr, uint16_t port)
{
	uint32_t h = (addr ^ ((uint32_t)port << 16 | proto)) * 0x9e3779b1u;

	return h ^ (h >> 15);
}

unsigned nat_outside_owner(const struct nat_pipeline *p, uint8_t proto, uint32_t addr,
			   uint16_t port)
{
	if (p->shard.count <= 1)
		return 0;
	if (p->dnat_tab) {
		uint32_t i = dnat_hash(proto, addr, port) & p->dnat_mask;

		for (; p->dnat_tab[i].proto; i = (i + 1) & p->dnat_mask) {
			const struct dnat_owner *d = &p->dnat_tab[i];

			if (d->addr == addr && d->port == port && d->proto == proto)
				return d->owner;
		}
	}
	return nat_shard_port_owner(&p->shard, port);
}

int nat_dnat_owners_build(const struct nat_pipeline *p, const struct nat_rule *rules,
			  uint32_t n_rules, struct dnat_owner **tab, uint32_t *mask)
{
	struct dnat_owner *t;
	uint32_t n = 0, size = 16, i;

	*tab = NULL;
	*mask = 0;
	if (p->shard.count <= 1)
		return 0;
	for (i = 0; i < n_rules; i++)
		n += rules[i].action == NAT_ACT_DNAT;
	while (size < 2 * n)
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n_rules; i++) {
		const struct nat_rule *r = &rules[i];
		uint32_t h;

		if (r->action != NAT_ACT_DNAT)
			continue;
		h = dnat_hash(r->match.proto, r->match.dst_lo.v4, r->match.dport_lo) & (size - 1);
		while (t[h].proto)
			h = (h + 1) & (size - 1);
		t[h].addr = r->match.dst_lo.v4;
		t[h].port = r->match.dport_lo;
		t[h].proto = r->match.proto;
		t[h].owner = (uint8_t)nat_shard_sub_owner(&p->shard, r->to_addr);
	}
	*tab = t;
	*mask = size - 1;
	return 0;
}

static inline bool icmp_type_is_error(uint8_t t)
{
	return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

/* Later fragments follow their first one to its owner. */
static struct dfrag_ent *dfrag_slot(struct nat_pipeline *p, enum nat_side side, uint32_t src,
				    uint32_t dst, uint16_t id, uint8_t proto)
{
	uint32_t h = (src * 0x9e3779b1u) ^ dst ^ ((uint32_t)id << 8) ^ proto ^ (uint32_t)side;

	h ^= h >> 16;
	return &p->dfrag[h & (DFRAG_SIZE - 1)];
}

/* The owner of an outside packet's embedded (inner) packet in an ICMP
 * error: it went in2out, so its source is our external endpoint. */
static int inner_outside_owner(const struct nat_pipeline *p, const uint8_t *ip, uint32_t avail)
{
	uint32_t ihl;
	uint8_t proto;

	if (avail < 20 || (ip[0] >> 4) != 4)
		return -1;
	ihl = (uint32_t)(ip[0] & 15) * 4;
	if (ihl < 20 || avail < ihl + 8)
		return -1;
	proto = ip[9];
	if (proto == 6 || proto == 17)
		return (int)nat_outside_owner(p, proto, nat_get32(ip + 12), nat_get16(ip + ihl));
	if (proto == 1)
		return (int)nat_outside_owner(p, 1, nat_get32(ip + 12), nat_get16(ip + ihl + 4));
	return -1;
}

int nat_pipeline_owner(struct nat_pipeline *p, enum nat_side side, const uint8_t *f, uint32_t len,
		       uint64_t now)
{
	const uint8_t *ip, *l4;
	uint32_t ihl, src, dst, l4len;
	uint16_t ethertype, frag, id;
	uint8_t proto;
	int self, o = -1;

	if (!p)
		return 0;
	self = p->shard.index;
	if (p->shard.count <= 1 || !f || len < 14)
		return self;
	ethertype = nat_get16(f + 12);
	if (ethertype == 0x0806)
		return NAT_OWNER_ALL;
	if (ethertype != 0x0800 || len < 34)
		return self; /* VLANs, IPv6, runts: dropped and counted here */
	ip = f + 14;
	ihl = (uint32_t)(ip[0] & 15) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < 14 + ihl)
		return self;
	src = nat_get32(ip + 12);
	dst = nat_get32(ip + 16);
	proto = ip[9];
	frag = nat_get16(ip + 6);
	id = nat_get16(ip + 4);
	if (frag & 0x1fff) { /* a later fragment: its first one's owner */
		struct dfrag_ent *e = dfrag_slot(p, side, src, dst, id, proto);

		if (e->until > now && e->src == src && e->dst == dst && e->id == id &&
		    e->proto == proto && e->side == side)
			return e->owner;
		return self;
	}
	l4 = ip + ihl;
	l4len = len - 14 - ihl;
	if (side == NAT_SIDE_INSIDE) {
		o = (int)nat_shard_sub_owner(&p->shard, src);
		/* an inside host's ICMP error about an out2in packet: the
		 * subscriber is the embedded packet's destination */
		if (proto == 1 && l4len >= 8 + 20 && icmp_type_is_error(l4[0]) &&
		    (l4[8] >> 4) == 4)
			o = (int)nat_shard_sub_owner(&p->shard, nat_get32(l4 + 8 + 16));
	} else if ((proto == 6 || proto == 17) && l4len >= 4) {
		o = (int)nat_outside_owner(p, proto, dst, nat_get16(l4 + 2));
	} else if (proto == 1 && l4len >= 8) {
		if (icmp_type_is_error(l4[0]))
			o = inner_outside_owner(p, l4 + 8, l4len - 8);
		else
			o = (int)nat_outside_owner(p, 1, dst, nat_get16(l4 + 4));
	}
	if (o < 0)
		o = self;
	if (frag & 0x2000) { /* a first fragment: remember where it went */
		struct dfrag_ent *e = dfrag_slot(p, side, src, dst, id, proto);

		e->src = src;
		e->dst = dst;
		e->id = id;
		e->proto = proto;
		e->side = (uint8_t)side;
		e->owner = (uint16_t)o;
		e->until = now + FRAG_LIFETIME;
	}
	return o;
}

void nat_pipeline_learn(struct nat_pipeline *p, enum nat_side side, const uint8_t *frame,
			uint32_t len)
{
	if (!p || !frame || len < 14 || nat_get16(frame + 12) != 0x0806 ||
	    (side != NAT_SIDE_INSIDE && side != NAT_SIDE_OUTSIDE))
		return;
	nat_arp_learn(p, frame, len, side);
}
