/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CSUM_H
#define NCNAT_NAT_CSUM_H

/*
 * ncnat checksums — incremental updates after RFC 1624
 * ====================================================
 *
 * A NAT changes a few 16-bit words of a packet (addresses, ports, ICMP ids,
 * TTL) and must fix every checksum covering them without re-reading the
 * packet.  RFC 1624 eqn. 3:  HC' = ~(~HC + ~m + m')  in one's complement
 * arithmetic, for each changed 16-bit word m -> m'.  A 32-bit field (an IPv4
 * address) is two words.  Which checksums cover what:
 *   - IPv4 header checksum: the IPv4 header (addresses, TTL...).
 *   - TCP and UDP: pseudo-header (addresses) + header + data, so an address
 *     change updates the IP and the TCP/UDP checksum, a port change only the
 *     TCP/UDP one.
 *   - UDP over IPv4 may carry checksum 0 = "none": it stays 0, and a
 *     computed 0 is sent as 0xffff (RFC 768).
 *   - ICMP: the ICMP message only (no pseudo-header): an id change updates
 *     it, an address change does not — except that every byte of an ICMP
 *     error's embedded packet, its checksums included, is covered by it.
 *
 * Conventions: checksum and field values are the 16-bit words as they are in
 * the packet, read big-endian into host integers (nat_get16); offsets are
 * from the start of the buffer.  Every function is pure; any thread.
 * nat_csum_full() computes a checksum from scratch (tests, ICMP messages
 * the NAT builds itself).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t nat_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void nat_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t nat_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void nat_put32(uint8_t *p, uint32_t v)
{
	nat_put16(p, (uint16_t)(v >> 16));
	nat_put16(p + 2, (uint16_t)v);
}

/** Fold a 32-bit one's complement sum to 16 bits (not complemented). */
static inline uint16_t nat_csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/** RFC 1624 eqn. 3 for one 16-bit word old -> new. */
static inline uint16_t nat_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~csum + (uint32_t)(uint16_t)~old + new_;

	return (uint16_t)~nat_csum_fold(s);
}

/** The same for a 32-bit field (two words). */
static inline uint16_t nat_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~(old >> 16);
	s += (uint16_t)~(old & 0xffff);
	s += new_ >> 16;
	s += new_ & 0xffff;
	return (uint16_t)~nat_csum_fold(s);
}

/** UDP flavour: a zero checksum (none) stays zero; a result of 0 becomes 0xffff. */
static inline uint16_t nat_csum_update16_udp(uint16_t csum, uint16_t old, uint16_t new_)
{
	if (csum == 0)
		return 0;
	csum = nat_csum_update16(csum, old, new_);
	return csum ? csum : 0xffff;
}

static inline uint16_t nat_csum_update32_udp(uint16_t csum, uint32_t old, uint32_t new_)
{
	if (csum == 0)
		return 0;
	csum = nat_csum_update32(csum, old, new_);
	return csum ? csum : 0xffff;
}

/**
 * One's complement sum (not folded, not complemented) of len bytes at p,
 * added to init; an odd last byte is padded with zero.
 */
uint32_t nat_csum_sum(const uint8_t *p, size_t len, uint32_t init);

/** Internet checksum of len bytes at p (the value to store). */
uint16_t nat_csum_full(const uint8_t *p, size_t len);

/**
 * TCP/UDP checksum over the IPv4 pseudo-header (src, dst, proto, l4len) and
 * l4len bytes at l4 (the checksum field included as it is; zero it first to
 * compute, or check that the result is 0 to verify).
 */
uint16_t nat_csum_l4_ipv4(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4,
			  size_t l4len);

/** Does the IPv4 header at ip (ihl*4 bytes) carry a valid checksum? */
bool nat_csum_ipv4_ok(const uint8_t *ip);

#endif /* NCNAT_NAT_CSUM_H */
