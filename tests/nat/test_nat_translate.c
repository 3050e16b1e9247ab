/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_translate: random packets translated in place, then re-parsed with
 * nc_parse and every checksum recomputed from scratch; ICMP errors with
 * whole and truncated embedded packets; the NAT's own ICMP errors.
 * NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_test_util.h"
#include "nat_translate.h"

static void parse_ok(const uint8_t *b, size_t n, struct nc_pkt_info *pi)
{
	cr_assert_eq(nc_parse(b, n, 0, NC_LINK_ETHERNET, pi), 0);
	cr_assert_eq(pi->status, NC_PARSE_OK, "%s", nc_parse_reason_str(pi->status));
}

Test(nat_translate, bad_arguments)
{
	uint8_t b[128];
	struct nc_pkt_info pi;
	size_t n = nat_build(b, 17, IP4(10, 0, 0, 1), IP4(192, 0, 2, 1), 1, 2, 0, 4, 64, false, 1);

	parse_ok(b, n, &pi);
	/* not an ICMP error */
	cr_assert_eq(nat_xlate_icmp_error(b, n, &pi, true, 1, 2, 3), -EINVAL);
	cr_assert_eq(nat_xlate_icmp_error(NULL, n, &pi, true, 1, 2, 3), -EINVAL);
	cr_assert_eq(nat_icmp_error_build(NULL, 100, b, n, &pi, 3, 1, 1, b, b), -EINVAL);
	cr_assert_eq(nat_icmp_error_build(b, 20, b, n, &pi, 3, 1, 1, b, b), -ENOSPC);
}

Test(nat_translate, ttl)
{
	uint8_t b[128];
	struct nc_pkt_info pi;
	size_t n = nat_build(b, 17, IP4(10, 0, 0, 1), IP4(192, 0, 2, 1), 1, 2, 0, 4, 2, false, 1);

	parse_ok(b, n, &pi);
	cr_assert(nat_ttl_dec(b, &pi));
	cr_assert_eq(b[14 + 8], 1);
	cr_assert_null(nat_verify(b, n));
	parse_ok(b, n, &pi);
	cr_assert_not(nat_ttl_dec(b, &pi));
	cr_assert_eq(b[14 + 8], 1);
}

Test(nat_translate, random_src_dst)
{
	uint64_t seed = nat_test_seed("nat_translate random_src_dst");
	static const uint8_t protos[4] = {6, 17, 17, 1};
	uint8_t b[1600];
	int it;

	for (it = 0; it < 5000; it++) {
		uint64_t r = nat_rand(&seed);
		uint8_t proto = protos[r & 3];
		bool zero = (r & 3) == 2 && ((r >> 2) & 1);
		uint32_t src = (uint32_t)nat_rand(&seed), dst = (uint32_t)nat_rand(&seed);
		uint32_t na = (uint32_t)nat_rand(&seed);
		uint16_t sp = (uint16_t)(r >> 8), dp = (uint16_t)(r >> 24), np = (uint16_t)(r >> 40);
		uint8_t flags = proto == 1 ? ((r >> 56) & 1 ? 8 : 0) : 0x18;
		size_t n = nat_build(b, proto, src, dst, sp, dp, flags, (r >> 3) % 300, 64, zero,
				     r);
		struct nc_pkt_info pi;
		bool do_src = (r >> 60) & 1;
		const char *why;

		if (src >> 28 == 0xe || dst >> 28 == 0xe || src == 0 || dst == 0)
			continue;
		parse_ok(b, n, &pi);
		if (do_src)
			nat_xlate_src(b, n, &pi, na, np, true);
		else
			nat_xlate_dst(b, n, &pi, na, np, true);
		cr_assert(nat_ttl_dec(b, &pi));
		why = nat_verify(b, n);
		cr_assert_null(why, "it %d proto %u: %s", it, proto, why);
		parse_ok(b, n, &pi);
		if (do_src)
			cr_assert_eq(pi.key.src.v4, na);
		else
			cr_assert_eq(pi.key.dst.v4, na);
		if (proto == 1)
			cr_assert_eq(pi.icmp_id, np);
		else if (do_src)
			cr_assert_eq(pi.key.sport, np);
		else
			cr_assert_eq(pi.key.dport, np);
		if (zero)
			cr_assert_eq(nat_get16(b + pi.l4_off + 6), 0, "UDP zero checksum changed");
		cr_assert_eq(pi.ttl, 63);
	}
}

/*
 * An ICMP error about a packet the NAT sent out (OUT:op -> R), arriving from
 * outside, translated back (IN:ip); quote bytes of the embedded datagram.
 */
static void err_case(uint8_t proto, size_t payload, size_t quote, bool out2in, uint64_t seed)
{
	const uint32_t IN = IP4(10, 0, 0, 5), OUT = IP4(198, 51, 100, 1), R = IP4(192, 0, 2, 9),
		       RTR = IP4(192, 0, 2, 254);
	const uint16_t ip = 4000, op = 61000, rp = 53;
	uint8_t inner[600], b[700], full[700];
	struct nc_pkt_info pi, fpi;
	size_t ni, n, nf, dlen;
	const char *why;

	if (out2in)
		ni = nat_build(inner, proto, OUT, R, op, rp, proto == 1 ? 8 : 0x18, payload, 60,
			       false, seed);
	else /* error from an inside host about a packet that came in: R -> IN */
		ni = nat_build(inner, proto, R, IN, rp, ip, proto == 1 ? 0 : 0x18, payload, 60, false,
			       seed);
	dlen = ni - 14;
	if (quote > dlen)
		quote = dlen;
	if (out2in) {
		n = nat_build_icmp_error(b, 3, 3, RTR, OUT, inner, quote);
		nf = nat_build_icmp_error(full, 3, 3, RTR, OUT, inner, dlen);
	} else {
		n = nat_build_icmp_error(b, 3, 3, IN, R, inner, quote);
		nf = nat_build_icmp_error(full, 3, 3, IN, R, inner, dlen);
	}
	parse_ok(b, n, &pi);
	cr_assert(pi.flags & NC_PF_ICMP_ERROR);
	parse_ok(full, nf, &fpi);
	if (out2in) {
		cr_assert_eq(nat_xlate_icmp_error(b, n, &pi, true, IN, IN, ip), 0);
		cr_assert_eq(nat_xlate_icmp_error(full, nf, &fpi, true, IN, IN, ip), 0);
	} else {
		cr_assert_eq(nat_xlate_icmp_error(b, n, &pi, false, OUT, OUT, op), 0);
		cr_assert_eq(nat_xlate_icmp_error(full, nf, &fpi, false, OUT, OUT, op), 0);
	}
	/* all checksums right, by full recomputation */
	why = nat_verify(full, nf);
	cr_assert_null(why, "full: %s", why);
	why = nat_verify(b, n);
	cr_assert_null(why, "quote %zu: %s", quote, why);
	/* the truncated copy's embedded bytes equal the full one's */
	cr_assert_eq(memcmp(b + 14 + 28, full + 14 + 28, quote), 0, "embedded bytes differ");
	parse_ok(full, nf, &fpi);
	if (out2in) {
		cr_assert_eq(fpi.key.dst.v4, IN);
		cr_assert_eq(fpi.key.src.v4, RTR);
		cr_assert_eq(fpi.inner.key.src.v4, IN);
		cr_assert_eq(fpi.inner.key.dst.v4, R);
		if (proto != 1)
			cr_assert_eq(fpi.inner.key.sport, ip);
		else
			cr_assert_eq(nat_get16(full + fpi.inner.l4_off + 4), ip);
	} else {
		cr_assert_eq(fpi.key.src.v4, OUT);
		cr_assert_eq(fpi.inner.key.dst.v4, OUT);
		if (proto != 1)
			cr_assert_eq(fpi.inner.key.dport, op);
	}
}

Test(nat_translate, icmp_error_out2in_full_and_truncated)
{
	uint64_t seed = nat_test_seed("nat_translate icmp_error_out2in");
	static const uint8_t protos[3] = {6, 17, 1};
	static const size_t quotes[5] = {20, 28, 36, 48, 1000};
	int p, q, it;

	for (it = 0; it < 40; it++)
		for (p = 0; p < 3; p++)
			for (q = 0; q < 5; q++)
				err_case(protos[p], nat_rand(&seed) % 200, quotes[q], true,
					 nat_rand(&seed));
}

Test(nat_translate, icmp_error_in2out)
{
	uint64_t seed = nat_test_seed("nat_translate icmp_error_in2out");
	static const uint8_t protos[2] = {6, 17};
	static const size_t quotes[4] = {20, 28, 40, 1000};
	int p, q, it;

	for (it = 0; it < 40; it++)
		for (p = 0; p < 2; p++)
			for (q = 0; q < 4; q++)
				err_case(protos[p], nat_rand(&seed) % 200, quotes[q], false,
					 nat_rand(&seed));
}

Test(nat_translate, build_host_unreachable)
{
	uint8_t b[200], out[200];
	struct nc_pkt_info pi, epi;
	size_t n = nat_build(b, 17, IP4(10, 0, 0, 7), IP4(192, 0, 2, 1), 5000, 53, 0, 40, 64,
			     false, 3);
	const uint8_t mac[6] = {2, 0, 0, 0, 1, 1};
	int len;

	parse_ok(b, n, &pi);
	len = nat_icmp_error_build(out, sizeof(out), b, n, &pi, 3, 1, IP4(10, 0, 0, 1), mac, b + 6);
	cr_assert_eq(len, 14 + 20 + 8 + 28);
	cr_assert_null(nat_verify(out, (size_t)len));
	parse_ok(out, (size_t)len, &epi);
	cr_assert(epi.flags & NC_PF_ICMP_ERROR);
	cr_assert_eq(epi.icmp_type, 3);
	cr_assert_eq(epi.icmp_code, 1);
	cr_assert_eq(epi.key.dst.v4, IP4(10, 0, 0, 7));
	cr_assert_eq(epi.inner.key.sport, 5000);
	cr_assert_eq(memcmp(out, b + 6, 6), 0);
}
