/* SPDX-License-Identifier: BSD-3-Clause */
/* In-place IPv4 translation with incremental checksums; see nat_translate.h. */
#include <errno.h>
#include <string.h>

#include "nat_csum.h"
#include "nat_translate.h"

/* A checksum to keep right when a word changes; udp: zero means none. */
struct csum_ref {
	int off;  /* -1: none */
	bool udp;
};

/*
 * Set the 16-bit word at off to nv and update the checksums in c[0..n);
 * if wrap >= 0 it is a checksum covering the word and those checksums too
 * (the ICMP checksum of an error message around an embedded packet).
 */
static void word_set(uint8_t *pkt, size_t off, uint16_t nv, const struct csum_ref *c, int n,
		     int wrap)
{
	uint16_t old = nat_get16(pkt + off);
	int i;

	if (old == nv)
		return;
	for (i = 0; i < n; i++) {
		uint16_t oc, ncs;

		if (c[i].off < 0)
			continue;
		oc = nat_get16(pkt + c[i].off);
		ncs = c[i].udp ? nat_csum_update16_udp(oc, old, nv) : nat_csum_update16(oc, old, nv);
		nat_put16(pkt + c[i].off, ncs);
		if (wrap >= 0)
			nat_put16(pkt + wrap, nat_csum_update16(nat_get16(pkt + wrap), oc, ncs));
	}
	nat_put16(pkt + off, nv);
	if (wrap >= 0)
		nat_put16(pkt + wrap, nat_csum_update16(nat_get16(pkt + wrap), old, nv));
}

/* Offset of the port (or ICMP id) word for side src/dst; -1 if none. */
static int port_off(const uint8_t *pkt, size_t len, uint8_t proto, size_t l4, bool src)
{
	(void)pkt;
	switch (proto) {
	case 6:
	case 17:
		return l4 + 4 <= len ? (int)(l4 + (src ? 0 : 2)) : -1;
	case 1: {
		uint8_t type;

		if (l4 + 8 > len)
			return -1;
		type = pkt[l4];
		if (type == 0 || type == 8 || type == 13 || type == 14 || type == 15 ||
		    type == 16 || type == 17 || type == 18)
			return (int)(l4 + 4);
		return -1;
	}
	default:
		return -1;
	}
}

/* Transport checksum of a header at l4 of protocol proto, if in the buffer. */
static struct csum_ref l4_csum(size_t len, uint8_t proto, size_t l4)
{
	struct csum_ref r = {-1, false};

	if (proto == 6 && l4 + 18 <= len)
		r.off = (int)(l4 + 16);
	else if (proto == 17 && l4 + 8 <= len) {
		r.off = (int)(l4 + 6);
		r.udp = true;
	} else if (proto == 1 && l4 + 4 <= len)
		r.off = (int)(l4 + 2);
	return r;
}

static void xlate(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		  uint16_t port, bool port_too, bool src)
{
	size_t l3 = pi->l3_off;
	size_t aoff = l3 + (src ? 12 : 16);
	uint8_t proto = pi->key.proto;
	struct csum_ref c[2] = {{(int)(l3 + 10), false}, {-1, false}};
	int po;

	if (pi->layers & NC_LAYER_L4) {
		struct csum_ref l4c = l4_csum(len, proto, pi->l4_off);

		/* ICMP has no pseudo-header: addresses do not touch its checksum;
		 * neither do they for a later fragment (no L4 layer) */
		if (proto == 6 || proto == 17)
			c[1] = l4c;
		if (port_too) {
			po = port_off(pkt, len, proto, pi->l4_off, src);
			if (po >= 0)
				word_set(pkt, (size_t)po, port, &l4c, 1, -1);
		}
	}
	word_set(pkt, aoff, (uint16_t)(addr >> 16), c, 2, -1);
	word_set(pkt, aoff + 2, (uint16_t)addr, c, 2, -1);
}

void nat_xlate_src(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		   uint16_t port, bool port_too)
{
	xlate(pkt, len, pi, addr, port, port_too, true);
}

void nat_xlate_dst(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		   uint16_t port, bool port_too)
{
	xlate(pkt, len, pi, addr, port, port_too, false);
}

/*
 * The forwarding variant: the same words change (address halves, port,
 * TTL) and each checksum gets one RFC 1624 update with the sum of
 * ~old + new over the words that changed.  In one's complement arithmetic
 * that equals the word-by-word updates: both give the same residue mod
 * 0xffff, and the same representation of zero (0xffff only when the
 * complemented checksum and every term are zero, else 0x0000; UDP turns 0
 * into 0xffff either way).  Unchanged words add nothing, as word_set skips
 * them; a word going 0xffff -> 0 adds 0 but is still written.
 */
static inline void xlate_fwd(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi,
			     uint32_t addr, uint16_t port, bool src)
{
	size_t l3 = pi->l3_off, l4 = pi->l4_off;
	uint8_t proto = pi->key.proto;
	uint8_t *ip = pkt + l3, *pp;
	size_t aoff = src ? 12 : 16, coff;
	uint32_t old, ipsum = 0, l4sum = 0;
	uint16_t oldp, ttlw, c;
	bool udp = proto == 17;

	if (!(pi->layers & NC_LAYER_L4) || (proto != 6 && proto != 17) ||
	    l4 + (udp ? 8 : 18) > len) {
		xlate(pkt, len, pi, addr, port, true, src);
		(void)nat_ttl_dec(pkt, pi);
		return;
	}
	old = nat_get32(ip + aoff);
	pp = pkt + l4 + (src ? 0 : 2);
	oldp = nat_get16(pp);
	coff = l4 + (udp ? 6 : 16);
	if ((uint16_t)(old >> 16) != (uint16_t)(addr >> 16))
		ipsum += (uint16_t)~(old >> 16) + (addr >> 16);
	if ((uint16_t)old != (uint16_t)addr)
		ipsum += (uint16_t)~old + (addr & 0xffff);
	if (old != addr || oldp != port) {
		l4sum = ipsum + (oldp != port ? (uint16_t)~oldp + (uint32_t)port : 0);
		c = nat_get16(pkt + coff);
		if (!udp || c != 0) {
			c = (uint16_t)~nat_csum_fold((uint16_t)~c + l4sum);
			nat_put16(pkt + coff, udp && c == 0 ? 0xffff : c);
		}
		nat_put32(ip + aoff, addr);
		nat_put16(pp, port);
	}
	ttlw = nat_get16(ip + 8);
	ipsum += (uint16_t)~ttlw + (uint16_t)(ttlw - 0x100);
	ip[8]--;
	c = nat_get16(ip + 10);
	nat_put16(ip + 10, (uint16_t)~nat_csum_fold((uint16_t)~c + ipsum));
}

void nat_xlate_src_fwd(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		       uint16_t port)
{
	xlate_fwd(pkt, len, pi, addr, port, true);
}

void nat_xlate_dst_fwd(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		       uint16_t port)
{
	xlate_fwd(pkt, len, pi, addr, port, false);
}

bool nat_ttl_dec(uint8_t *pkt, const struct nc_pkt_info *pi)
{
	size_t l3 = pi->l3_off;
	uint16_t old = nat_get16(pkt + l3 + 8), nv;

	if (pkt[l3 + 8] <= 1)
		return false;
	nv = (uint16_t)(old - 0x100);
	nat_put16(pkt + l3 + 8, nv);
	nat_put16(pkt + l3 + 10, nat_csum_update16(nat_get16(pkt + l3 + 10), old, nv));
	return true;
}

int nat_xlate_icmp_error(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, bool outer_dst,
			 uint32_t outer_addr, uint32_t inner_addr, uint16_t inner_port)
{
	const struct nc_pkt_inner *in = &pi->inner;
	size_t l3 = pi->l3_off, il3 = in->l3_off, ihl, ioff;
	int icmp_csum = (int)pi->l4_off + 2;
	uint8_t iproto = in->key.proto;
	struct csum_ref c[2];
	struct nc_pkt_info outer_only;

	if (!pkt || !pi || !(pi->flags & NC_PF_ICMP_ERROR) || !(in->layers & NC_LAYER_L3) ||
	    in->key.family != CLS_IPV4 || pi->key.family != CLS_IPV4 || pi->key.proto != 1 ||
	    il3 + 20 > len || (size_t)pi->l4_off + 8 > len)
		return -EINVAL;
	ihl = (size_t)(pkt[il3] & 0x0f) * 4;
	if (ihl < 20 || il3 + ihl > len)
		return -EINVAL;

	/* embedded packet: address (with its IP checksum and its L4 checksum),
	 * then port or id (with its L4 checksum); all under the ICMP checksum */
	c[0] = (struct csum_ref){(int)(il3 + 10), false};
	c[1] = (struct csum_ref){-1, false};
	if ((in->layers & NC_LAYER_L4) && in->l4_off) {
		struct csum_ref l4c = l4_csum(len, iproto, in->l4_off);
		int po;

		if (iproto == 6 || iproto == 17)
			c[1] = l4c;
		/* embedded src for out2in: its sport; embedded dst: its dport */
		po = port_off(pkt, len, iproto, in->l4_off, outer_dst);
		if (po >= 0)
			word_set(pkt, (size_t)po, inner_port, &l4c, 1, icmp_csum);
	}
	ioff = il3 + (outer_dst ? 12 : 16);
	word_set(pkt, ioff, (uint16_t)(inner_addr >> 16), c, 2, icmp_csum);
	word_set(pkt, ioff + 2, (uint16_t)inner_addr, c, 2, icmp_csum);

	/* outer header: address and IP checksum only (ICMP: no pseudo-header) */
	outer_only = *pi;
	outer_only.layers &= (uint8_t)~NC_LAYER_L4;
	(void)l3;
	xlate(pkt, len, &outer_only, outer_addr, 0, false, !outer_dst);
	return 0;
}

int nat_icmp_error_build(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
			 const struct nc_pkt_info *opi, uint8_t type, uint8_t code, uint32_t src,
			 const uint8_t src_mac[6], const uint8_t dst_mac[6])
{
	size_t quote, ihl, total;
	uint8_t *ip, *icmp;

	if (!out || !orig || !opi || !src_mac || !dst_mac || !(opi->layers & NC_LAYER_L3) ||
	    opi->key.family != CLS_IPV4)
		return -EINVAL;
	ihl = (size_t)opi->l3_len;
	if (opi->l3_off + ihl > orig_len)
		return -EINVAL;
	/* RFC 792: the IP header and the first 64 bits of the datagram */
	quote = ihl + 8;
	if (quote > opi->ip_len)
		quote = opi->ip_len;
	if (opi->l3_off + quote > orig_len)
		quote = orig_len - opi->l3_off;
	total = 20 + 8 + quote;
	if (14 + total > cap)
		return -ENOSPC;
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, src_mac, 6);
	out[12] = 0x08;
	out[13] = 0x00;
	ip = out + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	nat_put16(ip + 2, (uint16_t)total);
	ip[8] = 64;
	ip[9] = 1;
	nat_put32(ip + 12, src);
	nat_put32(ip + 16, opi->key.src.v4);
	nat_put16(ip + 10, nat_csum_full(ip, 20));
	icmp = ip + 20;
	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, orig + opi->l3_off, quote);
	nat_put16(icmp + 2, nat_csum_full(icmp, 8 + quote));
	return (int)(14 + total);
}
