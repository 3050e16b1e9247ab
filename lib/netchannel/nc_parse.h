/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NC_PARSE_H
#define NETCHANNEL_NC_PARSE_H

/*
 * lib/netchannel parser — from a packet buffer to a classification key
 * ====================================================================
 *
 * What
 * ----
 * nc_parse() reads one packet from a memory buffer and fills a
 * struct nc_pkt_info: a verdict (status) with a reason text, the layers it
 * could parse, VLAN tags, header offsets and lengths, fragment fields, TCP
 * flags, ICMP type/code/id, and the 5-tuple key as lib/classify looks it up
 * (struct cls_key, embedded).  For ICMP and ICMPv6 error messages it also
 * parses the embedded ("inner") packet's header, which a NAT translates.
 * No DPDK: it takes a plain pointer and length (for an mbuf, pass
 * rte_pktmbuf_mtod() and rte_pktmbuf_data_len() of a contiguous segment).
 *
 * Link types: Ethernet (with up to two 802.1Q / 802.1ad / 0x9100 tags),
 * raw IP (the buffer starts at the IP header; the version nibble chooses
 * IPv4 or IPv6, or the link fixes it), Linux cooked capture v1 (SLL, 16-byte
 * header) and v2 (SLL2, 20-byte header).  nc_link_from_dlt() maps pcap link
 * types onto these.
 *
 * Network layer: IPv4 with options (skipped, flagged) and fragments; IPv6
 * with extension headers hop-by-hop (first only), routing, fragment,
 * destination options and AH, at most NC_PARSE_MAX_EXT of them; ESP and
 * "no next header" end the chain (status UNSUPPORTED_PROTO, key with ports 0).
 * Transport: TCP, UDP, ICMP, ICMPv6.  Checksums are not verified.
 *
 * Safety
 * ------
 * The parser never reads outside pkt[0..len) and never writes outside *out,
 * whatever the bytes are; it has no loops that are not bounded by constants.
 * Every strict prefix of a well-formed packet (cut anywhere before the end of
 * its IP datagram) gets a status other than NC_PARSE_OK.  Bytes after the end
 * of the IP datagram (Ethernet padding, trailers) are ignored and flagged
 * with NC_PF_TRAILER.
 *
 * Verdicts
 * --------
 * out->status is the first problem met (NC_PARSE_OK if none); parsing stops
 * there.  out->layers says which parts of the key are valid whatever the
 * status:
 *   NC_LAYER_L3  family, proto, addresses (ports are 0 until L4);
 *   NC_LAYER_L4  ports (or the ICMP query id) too.
 * So a later fragment (NC_PARSE_FRAGMENT) or an unknown protocol
 * (NC_PARSE_UNSUPPORTED_PROTO) is still classifiable by addresses and
 * protocol with ports 0, and a packet whose IP length runs past the buffer
 * (NC_PARSE_TRUNC_PAYLOAD, typical of pcap snaplen) still has a full key.
 * A packet a forwarding path may process as is has status NC_PARSE_OK.
 *
 * Two limits apply to every header: the end of the buffer and the end of the
 * IP datagram its length field declares.  A header crossing the buffer end is
 * "truncated" (TRUNC_*); a header crossing the declared datagram end while
 * the buffer still holds it is "bad IP length" (BAD_IP_LEN).
 *
 * Key conventions (host byte order, as in classify.h)
 * ---------------------------------------------------
 * - key.family is CLS_IPV4 or CLS_IPV6; IPv6 addresses: hi = first 8 bytes.
 * - key.proto is the transport protocol: for IPv6 the last next-header value
 *   of the extension chain (6, 17, 58, 50 for ESP, 59 for no next header...).
 * - TCP, UDP: sport and dport are the ports.
 * - ICMP / ICMPv6 query messages carry their identifier like a port, so that
 *   a reply's key is the exact reverse of its request's key and a NAT maps
 *   ids like ports:
 *     request (ICMP echo 8, timestamp 13, info 15, address mask 17;
 *              ICMPv6 echo request 128):  sport = id, dport = 0
 *     reply   (ICMP 0, 14, 16, 18; ICMPv6 129):  sport = 0, dport = id
 *   NC_PF_ICMP_QUERY is set; icmp_id holds the id in both cases.
 * - ICMP error messages (ICMP 3, 4, 5, 11, 12; ICMPv6 1, 2, 3, 4): ports 0,
 *   NC_PF_ICMP_ERROR set, and out->inner describes the embedded packet
 *   (its own key under the same conventions, its own status and layers;
 *   an embedded datagram whose length runs past the ICMP payload is normal
 *   and not an error there).  Other ICMP messages: ports 0.
 *   icmp_type and icmp_code always hold the outer type and code.
 *
 * Offsets are from pkt (byte 0 of the buffer), lengths in bytes.
 *
 * Thread safety: every function here is pure (no global state); any thread.
 * Errors: nc_parse() returns 0 or -EINVAL (bad arguments); per-packet
 * problems are never errors, they are the status.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

/** Link-layer framing of the buffer. */
enum nc_link {
	NC_LINK_ETHERNET = 0, /**< Ethernet II, optional VLAN tags */
	NC_LINK_RAW,          /**< IP header first; version nibble picks v4/v6 */
	NC_LINK_IPV4,         /**< IP header first, must be IPv4 */
	NC_LINK_IPV6,         /**< IP header first, must be IPv6 */
	NC_LINK_SLL,          /**< Linux cooked capture v1 (16-byte header) */
	NC_LINK_SLL2,         /**< Linux cooked capture v2 (20-byte header) */
	NC_LINK_COUNT
};

/** Deepest IPv6 extension header chain followed. */
#define NC_PARSE_MAX_EXT 8
/** Most VLAN tags followed (outer, inner). */
#define NC_PARSE_MAX_VLAN 2

/*
 * Parse verdicts: X(NAME, "short_name", "reason text").  The list is public
 * so that callers can build per-reason counters from it.
 */
#define NC_PARSE_STATUS_LIST(X)                                                   \
	X(OK, "ok", "ok")                                                          \
	X(TRUNC_L2, "trunc_l2", "truncated link-layer header")                     \
	X(TRUNC_VLAN, "trunc_vlan", "truncated VLAN tag")                          \
	X(VLAN_DEPTH, "vlan_depth", "more than two VLAN tags")                     \
	X(NOT_IP, "not_ip", "unsupported ethertype (not IPv4 or IPv6)")            \
	X(TRUNC_IP, "trunc_ip", "truncated IP header")                             \
	X(BAD_VERSION, "bad_version", "bad IP version")                            \
	X(BAD_IHL, "bad_ihl", "bad IPv4 header length (IHL below 5)")              \
	X(BAD_IP_LEN, "bad_ip_len", "bad IP length (shorter than its headers)")    \
	X(TRUNC_EXT, "trunc_ext", "truncated IPv6 extension header")               \
	X(BAD_EXT, "bad_ext", "bad IPv6 extension header chain")                   \
	X(EXT_DEPTH, "ext_depth", "too many IPv6 extension headers")               \
	X(FRAGMENT, "fragment", "later fragment (no transport header)")            \
	X(UNSUPPORTED_PROTO, "unsupported_proto", "transport protocol not parsed") \
	X(TRUNC_TCP, "trunc_tcp", "truncated TCP header")                          \
	X(BAD_TCP_OFF, "bad_tcp_off", "bad TCP data offset")                       \
	X(TRUNC_UDP, "trunc_udp", "truncated UDP header")                          \
	X(BAD_UDP_LEN, "bad_udp_len", "bad UDP length")                            \
	X(TRUNC_ICMP, "trunc_icmp", "truncated ICMP header")                       \
	X(TRUNC_PAYLOAD, "trunc_payload", "IP datagram longer than the buffer")

enum nc_parse_status {
#define NC_PARSE_X_ENUM(name, s, t) NC_PARSE_##name,
	NC_PARSE_STATUS_LIST(NC_PARSE_X_ENUM)
#undef NC_PARSE_X_ENUM
	NC_PARSE_STATUS_COUNT
};

/** Bits of nc_pkt_info.layers: which parts of the key are valid. */
#define NC_LAYER_L2 0x01 /**< link layer (and VLAN tags) parsed */
#define NC_LAYER_L3 0x02 /**< key.family, proto, src, dst valid */
#define NC_LAYER_L4 0x04 /**< key.sport, dport valid (transport header parsed) */

/** Bits of nc_pkt_info.flags. */
#define NC_PF_IP_OPTIONS 0x0001  /**< IPv4 header has options (IHL > 5) */
#define NC_PF_IPV6_EXT 0x0002    /**< IPv6 extension headers present */
#define NC_PF_FRAGMENT 0x0004    /**< a fragment (MF set, offset != 0, or v6 fragment header) */
#define NC_PF_MORE_FRAGS 0x0008  /**< MF / M flag set */
#define NC_PF_DONT_FRAG 0x0010   /**< IPv4 DF set */
#define NC_PF_ICMP_QUERY 0x0020  /**< ICMP(v6) query: id is in the key's ports */
#define NC_PF_ICMP_ERROR 0x0040  /**< ICMP(v6) error: see inner */
#define NC_PF_TRAILER 0x0080     /**< bytes after the IP datagram (padding) */
#define NC_PF_SNAPPED 0x0100     /**< IP datagram runs past the buffer */

/** The packet embedded in an ICMP / ICMPv6 error message. */
struct nc_pkt_inner {
	struct cls_key key;  /**< embedded header's key (same conventions) */
	uint16_t l3_off;     /**< offset of the embedded IP header */
	uint16_t l4_off;     /**< end of its IP headers (0 if not reached) */
	uint8_t status;      /**< enum nc_parse_status for the embedded packet */
	uint8_t layers;      /**< NC_LAYER_L3 / NC_LAYER_L4 */
	uint16_t flags;      /**< NC_PF_* of the embedded packet */
};

/** What nc_parse() found.  Fields of layers not reached are 0, except that a
 *  stage that fails may have filled some of its own fields: trust layers. */
struct nc_pkt_info {
	struct cls_key key;     /**< 5-tuple, host order; see layers */
	uint16_t in_port;       /**< copied from the call */
	uint8_t status;         /**< enum nc_parse_status */
	uint8_t layers;         /**< NC_LAYER_* */
	uint16_t flags;         /**< NC_PF_* */
	uint16_t ethertype;     /**< after VLAN tags; SLL protocol; raw: 0x0800/0x86dd */
	uint8_t link;           /**< enum nc_link given */
	uint8_t link_pkttype;   /**< SLL/SLL2 packet type (0 host .. 4 outgoing), else 0 */
	uint8_t vlan_count;     /**< 0..2 */
	uint8_t tcp_flags;      /**< TCP flags byte (FIN 0x01 .. CWR 0x80) */
	uint16_t vlan_tpid[NC_PARSE_MAX_VLAN]; /**< [0] outer, [1] inner */
	uint16_t vlan_tci[NC_PARSE_MAX_VLAN];  /**< PCP/DEI/VID */
	uint16_t l3_off;        /**< offset of the network header: after the link header
				     and VLAN tags (also for non-IP, e.g. ARP) */
	uint16_t l3_len;        /**< IP header length: IHL*4, or 40 + extension headers */
	uint16_t l4_off;        /**< end of the IP headers = start of the transport header
				     (set once L3 is parsed, also for fragments and
				     unparsed protocols; 0 before) */
	uint16_t l4_len;        /**< transport header length (TCP incl. options, UDP 8, ICMP 8 or 4) */
	uint32_t ip_len;        /**< declared datagram length: v4 total length, v6 40 + payload length */
	uint32_t frag_id;       /**< IPv4 id or IPv6 fragment header id (if NC_PF_FRAGMENT) */
	uint16_t frag_off;      /**< fragment offset in bytes */
	uint8_t ttl;            /**< IPv4 TTL / IPv6 hop limit */
	uint8_t tos;            /**< IPv4 TOS / IPv6 traffic class */
	uint8_t icmp_type;      /**< ICMP or ICMPv6 type (if proto is ICMP/ICMPv6 and L4) */
	uint8_t icmp_code;
	uint16_t icmp_id;       /**< query id (NC_PF_ICMP_QUERY), host order */
	struct nc_pkt_inner inner; /**< valid if flags has NC_PF_ICMP_ERROR */
};

/**
 * Parse one packet.
 * @param pkt      the buffer (may be NULL only if len is 0)
 * @param len      bytes readable at pkt
 * @param in_port  copied to out->in_port
 * @param link     framing of the buffer
 * @param out      result, fully overwritten
 * @return 0 (the verdict is out->status); -EINVAL if out is NULL, pkt is
 *   NULL with len > 0, or link is unknown (out is then left untouched).
 * Thread safety: any thread.
 */
int nc_parse(const uint8_t *pkt, size_t len, uint16_t in_port, enum nc_link link,
	     struct nc_pkt_info *out) NC_MUST_CHECK;

/**
 * Reason text of a status ("truncated TCP header"); "unknown status" for a
 * value out of range.  Static storage.  Any thread.
 */
const char *nc_parse_reason_str(int status);

/** Short identifier of a status ("trunc_tcp"), for counters; "unknown". */
const char *nc_parse_status_name(int status);

/** Name of a link type ("ethernet", "raw", "ipv4", "ipv6", "sll", "sll2"). */
const char *nc_link_name(int link);

/**
 * Map a pcap link type (pcap_datalink() value or LINKTYPE_ from a file
 * header) to a link: 1 Ethernet; 12, 14, 101 raw IP; 228 IPv4; 229 IPv6;
 * 113 SLL; 276 SLL2.
 * @return 0; -ENOTSUP for other types; -EINVAL if out is NULL.
 * Thread safety: any thread.
 */
int nc_link_from_dlt(int dlt, enum nc_link *out) NC_MUST_CHECK;

/** Is the key classifiable (addresses and protocol valid)? */
static inline bool nc_pkt_has_key(const struct nc_pkt_info *pi)
{
	return (pi->layers & NC_LAYER_L3) != 0;
}

/**
 * Offset of the transport checksum a NAT rewrites: TCP l4_off + 16, UDP
 * l4_off + 6 (0 there means "no checksum" in IPv4), ICMP/ICMPv6 l4_off + 2;
 * -1 if the transport header was not parsed or has no checksum we know.
 */
static inline int nc_pkt_l4_csum_off(const struct nc_pkt_info *pi)
{
	if (!(pi->layers & NC_LAYER_L4))
		return -1;
	switch (pi->key.proto) {
	case 6: return pi->l4_off + 16;
	case 17: return pi->l4_off + 6;
	case 1: case 58: return pi->l4_off + 2;
	default: return -1;
	}
}

/**
 * Copy the key into a struct cls_key for lib/classify (same as pi->key;
 * provided so callers do not depend on the embedding).
 */
static inline void nc_key_to_cls(const struct nc_pkt_info *pi, struct cls_key *k)
{
	*k = pi->key;
}

/**
 * Format a key as "tcp 10.0.0.1:1234 > 192.0.2.1:80" (IPv6 addresses in
 * brackets, protocol numbers for unknown protocols) into buf (always
 * NUL-terminated if size > 0).
 * @return the length the full text has, as snprintf.
 * Thread safety: any thread.
 */
int nc_key_format(const struct cls_key *k, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_NC_PARSE_H */
