/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet parser: see nc_parse.h for the contract.
 *
 * Every read goes through a check of the form "lim - pos < need" where
 * pos <= lim holds by construction (pos only advances past headers that were
 * checked to fit), so no subtraction can wrap and no read passes lim, and
 * lim never exceeds the caller's len.  The only loops are the VLAN loop
 * (at most NC_PARSE_MAX_VLAN + 1 turns) and the IPv6 extension header loop
 * (at most NC_PARSE_MAX_EXT + 1 turns).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "classify_parse.h"
#include "nc_parse.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#define IPPROTO_HBH 0
#define IPPROTO_ICMP4 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMP6 58
#define IPPROTO_DSTOPTS_ 60

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t rd64(const uint8_t *p)
{
	return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

/* State shared by the IP and transport stages of one (outer or inner) packet. */
struct ctx {
	const uint8_t *pkt;
	size_t lim;        /* min(buffer end, declared datagram end) */
	bool fits;         /* the declared datagram ends within the buffer */
	bool inner;        /* parsing the packet embedded in an ICMP error */
	struct nc_pkt_info *o;
};

static void parse_ip(const uint8_t *pkt, size_t blim, size_t off, unsigned version,
		     bool inner, struct nc_pkt_info *o);

/* A header that does not fit: truncated if the buffer is what cut it,
 * a bad IP length if the declared datagram is. */
static inline uint8_t cut(const struct ctx *c, uint8_t trunc_status)
{
	return c->fits ? NC_PARSE_BAD_IP_LEN : trunc_status;
}

static bool icmp_is_query(bool v6, uint8_t type, bool *request)
{
	if (v6) {
		*request = type == 128;
		return type == 128 || type == 129;
	}
	switch (type) {
	case 8: case 13: case 15: case 17:
		*request = true;
		return true;
	case 0: case 14: case 16: case 18:
		*request = false;
		return true;
	default:
		return false;
	}
}

static bool icmp_is_error(bool v6, uint8_t type)
{
	if (v6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* Transport header at pos; the IP stage has set key.proto and layers L3. */
static void parse_l4(const struct ctx *c, size_t pos)
{
	struct nc_pkt_info *o = c->o;
	const uint8_t *p = c->pkt + pos;
	size_t avail = c->lim - pos;
	bool v6 = o->key.family == CLS_IPV6;

	o->l4_off = (uint16_t)pos;
	switch (o->key.proto) {
	case IPPROTO_TCP_: {
		/* An embedded header only promises its first 8 bytes. */
		if (avail < (c->inner ? 4u : 20u)) {
			o->status = cut(c, NC_PARSE_TRUNC_TCP);
			return;
		}
		o->key.sport = rd16(p);
		o->key.dport = rd16(p + 2);
		if (!c->inner) {
			unsigned doff = (unsigned)(p[12] >> 4) * 4;

			if (doff < 20) {
				o->status = NC_PARSE_BAD_TCP_OFF;
				return;
			}
			if (avail < doff) {
				o->status = cut(c, NC_PARSE_TRUNC_TCP);
				return;
			}
			o->l4_len = (uint16_t)doff;
			o->tcp_flags = p[13];
		} else if (avail >= 14) {
			o->tcp_flags = p[13];
		}
		break;
	}
	case IPPROTO_UDP_: {
		if (avail < (c->inner ? 4u : 8u)) {
			o->status = cut(c, NC_PARSE_TRUNC_UDP);
			return;
		}
		o->key.sport = rd16(p);
		o->key.dport = rd16(p + 2);
		if (!c->inner) {
			/* Declared IP payload, which may run past the buffer. */
			size_t ip_payload = (size_t)o->l3_off + o->ip_len - pos;
			unsigned ulen = rd16(p + 4);

			/* In a first fragment the UDP length covers the
			 * whole datagram, not this fragment. */
			if (ulen < 8 || (ulen > ip_payload && !(o->flags & NC_PF_FRAGMENT))) {
				o->status = NC_PARSE_BAD_UDP_LEN;
				return;
			}
			o->l4_len = 8;
		}
		break;
	}
	case IPPROTO_ICMP4:
	case IPPROTO_ICMP6: {
		bool request;

		if ((o->key.proto == IPPROTO_ICMP6) != v6) {
			o->status = NC_PARSE_UNSUPPORTED_PROTO;
			return;
		}
		if (avail < 4) {
			o->status = cut(c, NC_PARSE_TRUNC_ICMP);
			return;
		}
		o->icmp_type = p[0];
		o->icmp_code = p[1];
		o->l4_len = 4;
		if (icmp_is_query(v6, p[0], &request)) {
			if (avail < 8) {
				o->status = cut(c, NC_PARSE_TRUNC_ICMP);
				return;
			}
			o->l4_len = 8;
			o->icmp_id = rd16(p + 4);
			o->flags |= NC_PF_ICMP_QUERY;
			if (request)
				o->key.sport = o->icmp_id;
			else
				o->key.dport = o->icmp_id;
		} else if (icmp_is_error(v6, p[0])) {
			if (avail < 8) {
				o->status = cut(c, NC_PARSE_TRUNC_ICMP);
				return;
			}
			o->l4_len = 8;
			o->flags |= NC_PF_ICMP_ERROR;
			if (!c->inner) {
				/* The embedded packet ends where this datagram's
				 * bytes end (declared or captured). */
				struct nc_pkt_info in;

				memset(&in, 0, sizeof(in));
				parse_ip(c->pkt, c->lim, pos + 8, v6 ? 6 : 4, true, &in);
				o->inner.key = in.key;
				o->inner.l3_off = in.l3_off;
				o->inner.l4_off = in.l4_off;
				o->inner.status = in.status;
				o->inner.layers = in.layers;
				o->inner.flags = in.flags;
			}
		}
		break;
	}
	default:
		o->status = NC_PARSE_UNSUPPORTED_PROTO;
		return;
	}
	o->layers |= NC_LAYER_L4;
	if (!c->fits && !c->inner)
		o->status = NC_PARSE_TRUNC_PAYLOAD;
}

static void parse_ipv4(const uint8_t *pkt, size_t blim, size_t off, bool inner,
		       struct nc_pkt_info *o)
{
	const uint8_t *p = pkt + off;
	size_t avail = blim - off;
	unsigned ihl, tot, fo;
	struct ctx c;

	if (avail < 20) {
		o->status = NC_PARSE_TRUNC_IP;
		return;
	}
	ihl = (unsigned)(p[0] & 0x0f) * 4;
	if (ihl < 20) {
		o->status = NC_PARSE_BAD_IHL;
		return;
	}
	if (avail < ihl) {
		o->status = NC_PARSE_TRUNC_IP;
		return;
	}
	tot = rd16(p + 2);
	if (tot < ihl) {
		o->status = NC_PARSE_BAD_IP_LEN;
		return;
	}
	o->l3_len = (uint16_t)ihl;
	o->ip_len = tot;
	o->tos = p[1];
	o->ttl = p[8];
	o->key.family = CLS_IPV4;
	o->key.proto = p[9];
	o->key.src.v4 = rd32(p + 12);
	o->key.dst.v4 = rd32(p + 16);
	o->layers |= NC_LAYER_L3;
	if (ihl > 20)
		o->flags |= NC_PF_IP_OPTIONS;
	fo = rd16(p + 6);
	o->frag_id = rd16(p + 4);
	o->frag_off = (uint16_t)((fo & 0x1fff) * 8);
	if (fo & 0x4000)
		o->flags |= NC_PF_DONT_FRAG;
	if (fo & 0x2000)
		o->flags |= NC_PF_MORE_FRAGS;
	if (fo & 0x3fff)
		o->flags |= NC_PF_FRAGMENT;

	c.pkt = pkt;
	c.inner = inner;
	c.o = o;
	c.fits = tot <= avail;
	c.lim = c.fits ? off + tot : blim;
	if (!inner) {
		if (!c.fits)
			o->flags |= NC_PF_SNAPPED;
		else if (tot < avail)
			o->flags |= NC_PF_TRAILER;
	}
	if (o->frag_off != 0) {
		o->l4_off = (uint16_t)(off + ihl);
		o->status = NC_PARSE_FRAGMENT;
		return;
	}
	parse_l4(&c, off + ihl);
}

static void parse_ipv6(const uint8_t *pkt, size_t blim, size_t off, bool inner,
		       struct nc_pkt_info *o)
{
	const uint8_t *p = pkt + off;
	size_t avail = blim - off, pos;
	unsigned plen, n;
	uint8_t nh;
	struct ctx c;

	if (avail < 40) {
		o->status = NC_PARSE_TRUNC_IP;
		return;
	}
	plen = rd16(p + 4);
	o->ip_len = 40 + plen;
	o->tos = (uint8_t)(rd32(p) >> 20);
	o->ttl = p[7];
	o->key.family = CLS_IPV6;
	o->key.src.v6.hi = rd64(p + 8);
	o->key.src.v6.lo = rd64(p + 16);
	o->key.dst.v6.hi = rd64(p + 24);
	o->key.dst.v6.lo = rd64(p + 32);

	c.pkt = pkt;
	c.inner = inner;
	c.o = o;
	c.fits = o->ip_len <= avail;
	c.lim = c.fits ? off + o->ip_len : blim;
	if (!inner) {
		if (!c.fits)
			o->flags |= NC_PF_SNAPPED;
		else if (o->ip_len < avail)
			o->flags |= NC_PF_TRAILER;
	}

	nh = p[6];
	pos = off + 40;
	for (n = 0;; n++) {
		const uint8_t *h = pkt + pos;
		size_t hlen;

		if (nh != IPPROTO_HBH && nh != IPPROTO_ROUTING_ && nh != IPPROTO_FRAG_ &&
		    nh != IPPROTO_AH_ && nh != IPPROTO_DSTOPTS_)
			break;
		if (n == NC_PARSE_MAX_EXT) {
			o->status = NC_PARSE_EXT_DEPTH;
			return;
		}
		if (nh == IPPROTO_HBH && n != 0) {
			/* RFC 8200 4.1: hop-by-hop only right after the header. */
			o->status = NC_PARSE_BAD_EXT;
			return;
		}
		if (c.lim - pos < 8) {
			/* Every extension header is at least 8 bytes. */
			o->status = cut(&c, NC_PARSE_TRUNC_EXT);
			return;
		}
		if (nh == IPPROTO_FRAG_)
			hlen = 8;
		else if (nh == IPPROTO_AH_)
			hlen = ((size_t)h[1] + 2) * 4;
		else
			hlen = ((size_t)h[1] + 1) * 8;
		if (c.lim - pos < hlen) {
			o->status = cut(&c, NC_PARSE_TRUNC_EXT);
			return;
		}
		o->flags |= NC_PF_IPV6_EXT;
		if (nh == IPPROTO_FRAG_) {
			unsigned fo = rd16(h + 2);

			o->flags |= NC_PF_FRAGMENT;
			if (fo & 1)
				o->flags |= NC_PF_MORE_FRAGS;
			o->frag_off = (uint16_t)(fo & 0xfff8);
			o->frag_id = rd32(h + 4);
			if (o->frag_off != 0) {
				o->key.proto = h[0];
				o->l3_len = (uint16_t)(pos + hlen - off);
				o->l4_off = (uint16_t)(pos + hlen);
				o->layers |= NC_LAYER_L3;
				o->status = NC_PARSE_FRAGMENT;
				return;
			}
		}
		nh = h[0];
		pos += hlen;
	}
	o->key.proto = nh;
	o->l3_len = (uint16_t)(pos - off);
	o->layers |= NC_LAYER_L3;
	parse_l4(&c, pos);
}

/* version: 4 or 6 to require one, 0 to take it from the header. */
static void parse_ip(const uint8_t *pkt, size_t blim, size_t off, unsigned version,
		     bool inner, struct nc_pkt_info *o)
{
	unsigned v;

	o->l3_off = (uint16_t)off;
	if (blim <= off) {
		o->status = NC_PARSE_TRUNC_IP;
		return;
	}
	v = pkt[off] >> 4;
	if ((version != 0 && v != version) || (v != 4 && v != 6)) {
		o->status = NC_PARSE_BAD_VERSION;
		return;
	}
	if (o->ethertype == 0 && !inner)
		o->ethertype = v == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
	if (v == 4)
		parse_ipv4(pkt, blim, off, inner, o);
	else
		parse_ipv6(pkt, blim, off, inner, o);
}

static bool is_vlan_tpid(uint16_t et)
{
	return et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ || et == ETHERTYPE_QINQ_OLD;
}

int nc_parse(const uint8_t *pkt, size_t len, uint16_t in_port, enum nc_link link,
	     struct nc_pkt_info *out)
{
	size_t off;
	uint16_t et;

	if (out == NULL || (pkt == NULL && len > 0) || (unsigned)link >= NC_LINK_COUNT)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->in_port = in_port;
	out->link = (uint8_t)link;

	switch (link) {
	case NC_LINK_RAW:
	case NC_LINK_IPV4:
	case NC_LINK_IPV6:
		out->layers = NC_LAYER_L2;
		parse_ip(pkt, len, 0, link == NC_LINK_IPV4 ? 4 : link == NC_LINK_IPV6 ? 6 : 0,
			 false, out);
		return 0;
	case NC_LINK_ETHERNET:
		if (len < 14)
			goto trunc_l2;
		et = rd16(pkt + 12);
		off = 14;
		break;
	case NC_LINK_SLL:
		/* type(2) arphrd(2) addr_len(2) addr(8) protocol(2) */
		if (len < 16)
			goto trunc_l2;
		out->link_pkttype = (uint8_t)rd16(pkt);
		et = rd16(pkt + 14);
		off = 16;
		break;
	case NC_LINK_SLL2:
		/* protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1)
		 * addr_len(1) addr(8) */
		if (len < 20)
			goto trunc_l2;
		out->link_pkttype = pkt[10];
		et = rd16(pkt);
		off = 20;
		break;
	default:
		return -EINVAL;
	}

	while (is_vlan_tpid(et)) {
		if (out->vlan_count == NC_PARSE_MAX_VLAN) {
			out->status = NC_PARSE_VLAN_DEPTH;
			return 0;
		}
		if (len - off < 4) {
			out->status = NC_PARSE_TRUNC_VLAN;
			return 0;
		}
		out->vlan_tpid[out->vlan_count] = et;
		out->vlan_tci[out->vlan_count] = rd16(pkt + off);
		out->vlan_count++;
		et = rd16(pkt + off + 2);
		off += 4;
	}
	out->ethertype = et;
	out->l3_off = (uint16_t)off;
	out->layers = NC_LAYER_L2;
	if (et == ETHERTYPE_IPV4)
		parse_ip(pkt, len, off, 4, false, out);
	else if (et == ETHERTYPE_IPV6)
		parse_ip(pkt, len, off, 6, false, out);
	else
		out->status = NC_PARSE_NOT_IP;
	return 0;

trunc_l2:
	out->status = NC_PARSE_TRUNC_L2;
	return 0;
}

static const char *const status_text[] = {
#define NC_PARSE_X_TEXT(name, s, t) [NC_PARSE_##name] = t,
	NC_PARSE_STATUS_LIST(NC_PARSE_X_TEXT)
#undef NC_PARSE_X_TEXT
};

static const char *const status_short[] = {
#define NC_PARSE_X_SHORT(name, s, t) [NC_PARSE_##name] = s,
	NC_PARSE_STATUS_LIST(NC_PARSE_X_SHORT)
#undef NC_PARSE_X_SHORT
};

const char *nc_parse_reason_str(int status)
{
	if (status < 0 || status >= NC_PARSE_STATUS_COUNT)
		return "unknown status";
	return status_text[status];
}

const char *nc_parse_status_name(int status)
{
	if (status < 0 || status >= NC_PARSE_STATUS_COUNT)
		return "unknown";
	return status_short[status];
}

const char *nc_link_name(int link)
{
	static const char *const names[NC_LINK_COUNT] = {
		[NC_LINK_ETHERNET] = "ethernet", [NC_LINK_RAW] = "raw",
		[NC_LINK_IPV4] = "ipv4",         [NC_LINK_IPV6] = "ipv6",
		[NC_LINK_SLL] = "sll",           [NC_LINK_SLL2] = "sll2",
	};

	if (link < 0 || link >= NC_LINK_COUNT)
		return "unknown";
	return names[link];
}

int nc_link_from_dlt(int dlt, enum nc_link *out)
{
	if (out == NULL)
		return -EINVAL;
	switch (dlt) {
	case 1:
		*out = NC_LINK_ETHERNET;
		return 0;
	case 12: /* DLT_RAW on most systems */
	case 14: /* DLT_RAW on OpenBSD */
	case 101: /* LINKTYPE_RAW in files */
		*out = NC_LINK_RAW;
		return 0;
	case 228:
		*out = NC_LINK_IPV4;
		return 0;
	case 229:
		*out = NC_LINK_IPV6;
		return 0;
	case 113:
		*out = NC_LINK_SLL;
		return 0;
	case 276:
		*out = NC_LINK_SLL2;
		return 0;
	default:
		return -ENOTSUP;
	}
}


int nc_key_format(const struct cls_key *k, char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], pname[8];
	const char *proto;
	bool v6;

	if (k == NULL || (k->family != CLS_IPV4 && k->family != CLS_IPV6))
		return snprintf(buf, size, "(no key)");
	v6 = k->family == CLS_IPV6;
	cls_addr_format(k->family, &k->src, s, sizeof(s));
	cls_addr_format(k->family, &k->dst, d, sizeof(d));
	switch (k->proto) {
	case IPPROTO_TCP_: proto = "tcp"; break;
	case IPPROTO_UDP_: proto = "udp"; break;
	case IPPROTO_ICMP4: proto = "icmp"; break;
	case IPPROTO_ICMP6: proto = "icmp6"; break;
	default:
		snprintf(pname, sizeof(pname), "%u", k->proto);
		proto = pname;
		break;
	}
	return snprintf(buf, size, v6 ? "%s [%s]:%u > [%s]:%u" : "%s %s:%u > %s:%u", proto, s,
			k->sport, d, k->dport);
}
