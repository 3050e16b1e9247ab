/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_shard: bad arguments, then for many (workers, block, range) the port
 * owner against the slices, the slices as a partition of the range, their
 * sizes, and the spread of subscribers over the workers.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_shard.h"

Test(nat_shard, init_errors)
{
	struct nat_shard sh;

	cr_assert_eq(nat_shard_init(NULL, 0, 1, 1024, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, 0, 1024, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, NAT_SHARD_MAX + 1, 1024, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 2, 2, 1024, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 5, 2, 1024, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 1023, 65535, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 3000, 2999, 1), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 1024, 65535, 0), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 2000, 2009, 11), -EINVAL);
	/* the limits themselves are fine */
	cr_assert_eq(nat_shard_init(&sh, NAT_SHARD_MAX - 1, NAT_SHARD_MAX, 1024, 65535, 1), 0);
	cr_assert_eq(sh.index, NAT_SHARD_MAX - 1);
	cr_assert_eq(sh.count, NAT_SHARD_MAX);
	cr_assert_eq(sh.n_blocks, 64512);
	cr_assert_eq(nat_shard_init(&sh, 0, 1, 2000, 2009, 10), 0);
	cr_assert_eq(sh.n_blocks, 1);
	cr_assert_eq(nat_shard_init(&sh, 1, 3, 65535, 65535, 1), 0);
	cr_assert_eq(sh.n_blocks, 1);
	cr_assert_eq(sh.port_lo, 65535);
	cr_assert_eq(sh.port_hi, 65535);
	cr_assert_eq(sh.block, 1);
}

static void check_partition(unsigned count, uint16_t lo, uint16_t hi, uint32_t block)
{
	struct nat_shard sh;
	uint32_t first[NAT_SHARD_MAX], n[NAT_SHARD_MAX], nmin = UINT32_MAX, nmax = 0, k;
	uint16_t llo[NAT_SHARD_MAX], lhi[NAT_SHARD_MAX];
	uint32_t lmin = UINT32_MAX, lmax = 0, range = (uint32_t)hi - lo + 1, nb, next;
	static uint8_t cover[65536];
	unsigned w, x;
	uint32_t q;

	cr_assert_eq(nat_shard_init(&sh, count - 1, count, lo, hi, block), 0);
	nb = sh.n_blocks;
	cr_assert_eq(nb, range / block);
	/* dynamic slices: contiguous, in worker order, covering [0, nb) */
	next = 0;
	memset(cover, 0, sizeof(cover));
	for (w = 0; w < count; w++) {
		nat_shard_dyn_blocks(&sh, w, &first[w], &n[w]);
		cr_assert_eq(first[w], next, "count %u block %u %u-%u: worker %u starts at %u", count,
			     block, lo, hi, w, first[w]);
		next += n[w];
		for (k = first[w]; k < first[w] + n[w]; k++)
			cover[k]++;
		nmin = n[w] < nmin ? n[w] : nmin;
		nmax = n[w] > nmax ? n[w] : nmax;
	}
	cr_assert_eq(next, nb);
	for (k = 0; k < nb; k++)
		cr_assert_eq(cover[k], 1, "block %u covered %u times", k, cover[k]);
	cr_assert_leq(nmax - nmin, 1, "count %u block %u %u-%u: slices %u..%u", count, block, lo,
		      hi, nmin, nmax);
	/* low slices: contiguous, covering 1..1023 */
	next = 1;
	for (w = 0; w < count; w++) {
		nat_shard_low_ports(&sh, w, &llo[w], &lhi[w]);
		cr_assert_eq(llo[w], next);
		cr_assert_geq(lhi[w] + 1u, llo[w]);
		next = lhi[w] + 1u;
		lmin = lhi[w] + 1u - llo[w] < lmin ? lhi[w] + 1u - llo[w] : lmin;
		lmax = lhi[w] + 1u - llo[w] > lmax ? lhi[w] + 1u - llo[w] : lmax;
	}
	cr_assert_eq(next, 1024);
	cr_assert_leq(lmax - lmin, 1);
	/* the owner of every value agrees with the slices */
	for (q = 0; q < 65536; q++) {
		unsigned own = nat_shard_port_owner(&sh, (uint16_t)q), want;

		if (q >= lo && q <= hi) {
			uint32_t b = (q - lo) / block;

			if (b >= nb) {
				want = count - 1; /* after the last whole block */
			} else {
				for (want = 0; want < count; want++)
					if (b >= first[want] && b < first[want] + n[want])
						break;
			}
		} else if (q >= 1 && q <= 1023) {
			for (want = 0; want < count; want++)
				if (q >= llo[want] && q <= lhi[want])
					break;
		} else {
			want = q % count;
		}
		cr_assert_lt(want, count);
		cr_assert_eq(own, want, "count %u block %u %u-%u: port %u owner %u, slices say %u",
			     count, block, lo, hi, q, own, want);
		/* the owner is the same whatever worker asks */
		for (x = 0; (q & 255) == 0 && x < count; x += count > 8 ? 13 : 1) {
			struct nat_shard o;

			cr_assert_eq(nat_shard_init(&o, x, count, lo, hi, block), 0);
			cr_assert_eq(nat_shard_port_owner(&o, (uint16_t)q), own);
		}
	}
	/* the ports after the last whole block go to the last worker */
	for (q = lo + nb * block; q <= hi; q++)
		cr_assert_eq(nat_shard_port_owner(&sh, (uint16_t)q), count - 1);
}

Test(nat_shard, partition)
{
	static const unsigned counts[] = {1, 2, 3, 5, 7, 64};
	static const uint32_t blocks[] = {1, 64};
	static const uint16_t ranges[][2] = {{1024, 65535}, {2000, 2999}, {1024, 1100}};
	unsigned c, b, r;

	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
		for (b = 0; b < 2; b++)
			for (r = 0; r < 3; r++)
				check_partition(counts[c], ranges[r][0], ranges[r][1], blocks[b]);
}

Test(nat_shard, odd_sizes)
{
	/* leftovers of every size, more workers than blocks, one-port range */
	check_partition(7, 1024, 1024 + 10 * 64 + 63, 64);
	check_partition(64, 2000, 2000 + 5 * 8 + 3, 8);
	check_partition(3, 65535, 65535, 1);
	check_partition(2, 1024, 65535, 65535 - 1024 + 1);
}

Test(nat_shard, count_one)
{
	struct nat_shard sh;
	uint32_t first, n, q;
	uint16_t lo, hi;

	cr_assert_eq(nat_shard_init(&sh, 0, 1, 1024, 65535, 64), 0);
	for (q = 0; q < 65536; q++)
		cr_assert_eq(nat_shard_port_owner(&sh, (uint16_t)q), 0);
	for (q = 0; q < 100000; q++)
		cr_assert_eq(nat_shard_sub_owner(&sh, q * 7919u), 0);
	nat_shard_dyn_blocks(&sh, 0, &first, &n);
	cr_assert_eq(first, 0);
	cr_assert_eq(n, sh.n_blocks);
	nat_shard_low_ports(&sh, 0, &lo, &hi);
	cr_assert_eq(lo, 1);
	cr_assert_eq(hi, 1023);
}

Test(nat_shard, sub_owner_spread)
{
	static const uint32_t bases[] = {0x0a000000u, 0x64400000u, 0xc0a80001u, 0};
	unsigned count, w, i;
	uint32_t a;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		for (count = 2; count <= 8; count++) {
			struct nat_shard sh;
			uint32_t hits[8] = {0};
			double mean = 100000.0 / count;

			cr_assert_eq(nat_shard_init(&sh, 0, count, 1024, 65535, 1), 0);
			for (a = 0; a < 100000; a++) {
				unsigned o = nat_shard_sub_owner(&sh, bases[i] + a);

				cr_assert_lt(o, count);
				hits[o]++;
			}
			for (w = 0; w < count; w++)
				cr_assert(hits[w] >= mean * 0.9 && hits[w] <= mean * 1.1,
					  "base %08x count %u: worker %u has %u of 100000", bases[i],
					  count, w, hits[w]);
		}
	}
}
