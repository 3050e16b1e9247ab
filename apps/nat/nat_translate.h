/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_TRANSLATE_H
#define NCNAT_NAT_TRANSLATE_H

/*
 * ncnat translation — rewrite an IPv4 packet in place
 * ===================================================
 *
 * What
 * ----
 * Given a packet buffer and its nc_parse() result, rewrite the fields a NAT
 * changes and fix every checksum incrementally (RFC 1624, nat_csum.h); the
 * buffer is never re-read as a whole, so a snapped packet (payload beyond
 * the buffer) is translated as correctly as a full one.
 *   - nat_xlate_src / nat_xlate_dst: the source or destination address and
 *     port (TCP, UDP) or query id (ICMP echo, timestamp...: the id field is
 *     rewritten whichever side it stands for).  IPv4 header checksum,
 *     TCP/UDP checksum (pseudo-header + port; a zero UDP checksum stays
 *     zero), ICMP checksum (id only).
 *   - nat_ttl_dec: TTL - 1 with the header checksum.
 *   - nat_xlate_icmp_error: an ICMP error carries the start of the packet
 *     that caused it.  The NAT rewrites the outer address and, inside the
 *     ICMP payload, the embedded IP header's address (with its header
 *     checksum), the embedded port or id (with the embedded TCP/UDP/ICMP
 *     checksum when it is within the buffer), and the ICMP checksum, which
 *     covers every one of those bytes, the embedded checksums included.
 *       out2in (error from outside about a packet the NAT sent out):
 *         outer dst, embedded src + sport  (external -> inside endpoint)
 *       in2out (error from inside about a packet the NAT sent in):
 *         outer src, embedded dst + dport  (inside -> external endpoint)
 *   - nat_icmp_error_build: an ICMP error from the NAT itself (host
 *     unreachable on port exhaustion, RFC 6888 REQ-?), full checksums.
 *
 * Preconditions (the pipeline checks them, these functions do not re-check
 * what nc_parse already established): IPv4, layers L3|L4 for xlate_src/dst
 * (L3 enough for addresses of other protocols: pass port_too = false), and
 * NC_PF_ICMP_ERROR with inner L3 for nat_xlate_icmp_error.  The functions
 * stay within pkt[0..len).
 *
 * Byte order: addresses and ports host order.  Pure; any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nc_parse.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

/** Rewrite the source address (and port / ICMP id if port_too). */
void nat_xlate_src(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		   uint16_t port, bool port_too);

/** Rewrite the destination address (and port / ICMP id if port_too). */
void nat_xlate_dst(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		   uint16_t port, bool port_too);

/**
 * What a forwarded packet of a known session needs, in one pass: the
 * rewrite of nat_xlate_src / nat_xlate_dst with port_too, then
 * nat_ttl_dec, with one update per checksum instead of one per changed word.
 * The bytes are those of the two calls: RFC 1624 eqn. 3 summed over the
 * changed words gives what the word-by-word updates give (also 0 / 0xffff,
 * and UDP's zero).  TCP and UDP only take that path; other packets get the
 * two calls.  Precondition as for both, and TTL > 1.
 */
void nat_xlate_src_fwd(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		       uint16_t port);
void nat_xlate_dst_fwd(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, uint32_t addr,
		       uint16_t port);

/** Decrement the TTL.  @return false (packet untouched) if TTL <= 1. */
bool nat_ttl_dec(uint8_t *pkt, const struct nc_pkt_info *pi);

/**
 * Translate an ICMP error.  outer_dst: rewrite the outer destination
 * (out2in) and the embedded source, else the outer source (in2out) and the
 * embedded destination.  The embedded port (or id) is rewritten if the
 * embedded transport header reaches it.
 * @return 0; -EINVAL if pi is not an ICMP error with an embedded IPv4 header
 *   inside the buffer.
 */
int nat_xlate_icmp_error(uint8_t *pkt, size_t len, const struct nc_pkt_info *pi, bool outer_dst,
			 uint32_t outer_addr, uint32_t inner_addr, uint16_t inner_port) NC_MUST_CHECK;

/**
 * Build an Ethernet + IPv4 + ICMP error (type, code) about the packet
 * `orig` (its IP header and the first 8 bytes after it), from src to the
 * original packet's source, TTL 64.
 * @return the frame length; -ENOSPC if cap is too small; -EINVAL.
 */
int nat_icmp_error_build(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
			 const struct nc_pkt_info *opi, uint8_t type, uint8_t code, uint32_t src,
			 const uint8_t src_mac[6], const uint8_t dst_mac[6]) NC_MUST_CHECK;

#endif /* NCNAT_NAT_TRANSLATE_H */
