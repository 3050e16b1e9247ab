/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the ncnat tests: build Ethernet/IPv4 packets with
 * correct checksums, and verify every checksum of a packet by full
 * recomputation (outer IP and transport, and for ICMP errors the embedded
 * IP header and, when complete in the buffer, the embedded transport).
 */
#ifndef NCNAT_TEST_UTIL_H
#define NCNAT_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nat_csum.h"
#include "nc_parse.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static inline unsigned long nat_test_seed(const char *what)
{
	const char *s = getenv("NC_SEED");
	unsigned long seed = s ? strtoul(s, NULL, 0)
			       : ((unsigned long)time(NULL) ^ ((unsigned long)clock() << 12));

	fprintf(stderr, "%s: seed %lu (replay with NC_SEED=%lu)\n", what, seed, seed);
	return seed;
}

/* xorshift64*: deterministic per seed */
static inline uint64_t nat_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static const uint8_t nat_test_mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t nat_test_mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};

/*
 * Build Ethernet + IPv4 (20 bytes) + transport.  proto 6: TCP header 20 bytes
 * with flags; 17: UDP (udp_csum_zero: checksum 0); 1: ICMP echo (type from
 * sport's high byte? no: icmp_type given in flags, id = sport).
 * Payload bytes are pseudo-random from seed.  Returns the frame length.
 */
static inline size_t nat_build(uint8_t *b, uint8_t proto, uint32_t src, uint32_t dst,
			       uint16_t sport, uint16_t dport, uint8_t flags, size_t payload,
			       uint8_t ttl, bool udp_csum_zero, uint64_t seed)
{
	size_t l4len = (proto == 6 ? 20 : 8) + payload, i;
	uint8_t *ip = b + 14, *l4 = ip + 20;

	memcpy(b, nat_test_mac_a, 6);
	memcpy(b + 6, nat_test_mac_b, 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	nat_put16(ip + 2, (uint16_t)(20 + l4len));
	nat_put16(ip + 4, 0x1234);
	ip[8] = ttl;
	ip[9] = proto;
	nat_put32(ip + 12, src);
	nat_put32(ip + 16, dst);
	nat_put16(ip + 10, nat_csum_full(ip, 20));
	memset(l4, 0, proto == 6 ? 20 : 8);
	for (i = 0; i < payload; i++)
		l4[(proto == 6 ? 20 : 8) + i] = (uint8_t)nat_rand(&seed);
	if (proto == 6) {
		nat_put16(l4, sport);
		nat_put16(l4 + 2, dport);
		nat_put32(l4 + 4, 1000);
		l4[12] = 0x50;
		l4[13] = flags;
		nat_put16(l4 + 14, 65535);
		nat_put16(l4 + 16, nat_csum_l4_ipv4(src, dst, 6, l4, l4len));
	} else if (proto == 17) {
		nat_put16(l4, sport);
		nat_put16(l4 + 2, dport);
		nat_put16(l4 + 4, (uint16_t)l4len);
		if (!udp_csum_zero) {
			uint16_t c = nat_csum_l4_ipv4(src, dst, 17, l4, l4len);

			nat_put16(l4 + 6, c ? c : 0xffff);
		}
	} else {
		l4[0] = flags; /* ICMP type */
		nat_put16(l4 + 4, sport); /* id */
		nat_put16(l4 + 6, dport); /* sequence */
		nat_put16(l4 + 2, nat_csum_full(l4, l4len));
	}
	return 14 + 20 + l4len;
}

/*
 * Wrap the IP datagram of frame `inner` (inner_len bytes, Ethernet first)
 * into an ICMP error (type, code) from src to dst, quoting quote bytes of it.
 */
static inline size_t nat_build_icmp_error(uint8_t *b, uint8_t type, uint8_t code, uint32_t src,
					  uint32_t dst, const uint8_t *inner, size_t quote)
{
	uint8_t *ip = b + 14, *icmp = ip + 20;
	size_t total = 20 + 8 + quote;

	memcpy(b, nat_test_mac_a, 6);
	memcpy(b + 6, nat_test_mac_b, 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	nat_put16(ip + 2, (uint16_t)total);
	ip[8] = 64;
	ip[9] = 1;
	nat_put32(ip + 12, src);
	nat_put32(ip + 16, dst);
	nat_put16(ip + 10, nat_csum_full(ip, 20));
	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, inner + 14, quote);
	nat_put16(icmp + 2, nat_csum_full(icmp, 8 + quote));
	return 14 + total;
}

/* Verify the transport checksum of a complete transport segment. */
static inline bool nat_l4_ok(const uint8_t *ip, const uint8_t *l4, size_t l4len, uint8_t proto)
{
	if (proto == 1)
		return nat_csum_full(l4, l4len) == 0;
	if (proto == 17 && nat_get16(l4 + 6) == 0)
		return true;
	return nat_csum_l4_ipv4(nat_get32(ip + 12), nat_get32(ip + 16), proto, l4, l4len) == 0;
}

/*
 * Re-parse and verify every checksum; returns a static reason or NULL.
 */
static inline const char *nat_verify(const uint8_t *b, size_t len)
{
	struct nc_pkt_info pi;
	const uint8_t *ip;
	size_t iplen;

	if (nc_parse(b, len, 0, NC_LINK_ETHERNET, &pi) != 0)
		return "parse failed";
	if (pi.status != NC_PARSE_OK)
		return nc_parse_reason_str(pi.status);
	ip = b + pi.l3_off;
	if (!nat_csum_ipv4_ok(ip))
		return "bad IPv4 header checksum";
	iplen = pi.ip_len;
	if (!nat_l4_ok(ip, b + pi.l4_off, iplen - pi.l3_len, pi.key.proto))
		return "bad transport checksum";
	if (pi.flags & NC_PF_ICMP_ERROR) {
		const uint8_t *iip = b + pi.inner.l3_off;
		size_t itot = nat_get16(iip + 2), have = pi.l3_off + iplen - pi.inner.l3_off;

		if (!(pi.inner.layers & NC_LAYER_L3))
			return "embedded packet has no IP header";
		if (!nat_csum_ipv4_ok(iip))
			return "bad embedded IPv4 header checksum";
		if (have >= itot && pi.inner.l4_off &&
		    !nat_l4_ok(iip, b + pi.inner.l4_off, itot - (size_t)(iip[0] & 15) * 4,
			       pi.inner.key.proto))
			return "bad embedded transport checksum";
	}
	return NULL;
}

#endif /* NCNAT_TEST_UTIL_H */
