/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_csum: RFC 1624 incremental updates against full recomputation on
 * random buffers; UDP zero checksum; known vectors.  NC_SEED replays.
 */
#include <criterion/criterion.h>

#include "nat_csum.h"
#include "nat_test_util.h"

Test(nat_csum, known_vector)
{
	/* RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2 */
	const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	cr_assert_eq(nat_csum_fold(nat_csum_sum(b, 8, 0)), 0xddf2);
	cr_assert_eq(nat_csum_full(b, 8), (uint16_t)~0xddf2);
	/* odd length pads with zero */
	cr_assert_eq(nat_csum_sum(b, 1, 0), 0x0000 + 0);
	cr_assert_eq(nat_csum_sum(b + 2, 1, 0), 0xf200);
}

Test(nat_csum, ipv4_header)
{
	/* a textbook header: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 */
	const uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint8_t c[20];

	cr_assert(nat_csum_ipv4_ok(h));
	memcpy(c, h, 20);
	c[10] = c[11] = 0;
	cr_assert_eq(nat_csum_full(c, 20), 0xb861);
}

Test(nat_csum, update_matches_recompute)
{
	uint64_t s = nat_test_seed("nat_csum update_matches_recompute");
	uint8_t buf[64];
	int it;

	for (it = 0; it < 20000; it++) {
		size_t len = 2 + (nat_rand(&s) % 31) * 2, off, i;
		uint16_t c0, c1, full;

		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)nat_rand(&s);
		c0 = nat_csum_full(buf, len);
		if (nat_rand(&s) & 1) {
			uint16_t old, nv = (uint16_t)nat_rand(&s);

			off = (nat_rand(&s) % (len / 2)) * 2;
			old = nat_get16(buf + off);
			nat_put16(buf + off, nv);
			c1 = nat_csum_update16(c0, old, nv);
		} else {
			uint32_t old, nv = (uint32_t)nat_rand(&s);

			if (len < 4)
				continue;
			off = (nat_rand(&s) % (len / 2 - 1)) * 2;
			old = nat_get32(buf + off);
			nat_put32(buf + off, nv);
			c1 = nat_csum_update32(c0, old, nv);
		}
		full = nat_csum_full(buf, len);
		/* equal as one's complement numbers (0 and 0xffff are both zero) */
		if (c1 != full)
			cr_assert((c1 == 0 && full == 0xffff) || (c1 == 0xffff && full == 0),
				  "it %d: incremental %04x, full %04x", it, c1, full);
	}
}

Test(nat_csum, udp_zero_stays_zero)
{
	cr_assert_eq(nat_csum_update16_udp(0, 0x1234, 0x4321), 0);
	cr_assert_eq(nat_csum_update32_udp(0, 0x0a000001, 0xcb00710a), 0);
	/* a result of 0 is sent as 0xffff: csum 0xffff with a word 0 -> 0 */
	cr_assert_eq(nat_csum_update16(0xfffe, 0x0000, 0x0001), 0xfffd);
	cr_assert_neq(nat_csum_update16_udp(0x0001, 0x0000, 0x0001), 0);
}

Test(nat_csum, l4_pseudo_header)
{
	uint8_t b[128];
	size_t n = nat_build(b, 17, IP4(10, 0, 0, 5), IP4(192, 0, 2, 1), 4000, 53, 0, 21, 64,
			     false, 7);
	const char *why = nat_verify(b, n);

	cr_assert_null(why, "%s", why);
	n = nat_build(b, 6, IP4(10, 0, 0, 5), IP4(192, 0, 2, 1), 4000, 80, 0x02, 13, 64, false, 9);
	why = nat_verify(b, n);
	cr_assert_null(why, "%s", why);
	b[60] ^= 1;
	cr_assert_not_null(nat_verify(b, n));
}
