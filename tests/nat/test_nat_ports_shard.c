/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ports with several workers, one shard each (nat_shard.h): the shard
 * must match the configuration, one worker answers as no shard at all,
 * preservation, low ports and ICMP ids within a worker's slice, exhausting
 * one slice, hold-down and reservation per slice, paired pooling by the
 * room in a slice.  NC_SEED=<n> replays the random comparison.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_ports.h"
#include "nat_ports_util.h"
#include "nat_test_util.h"

Test(nat_ports, shard_config)
{
	const uint32_t addrs[1] = {A1};
	struct nat_shard sh;
	struct nat_ports_config c = {.addrs = addrs, .n_addrs = 1, .port_lo = 2000,
				     .port_hi = 2999, .quota = 64, .block = 8,
				     .max_subscribers = 4, .shard = &sh};
	struct nat_ports *p = (void *)1;

	/* the shard must describe the allocator's range and block */
	cr_assert_eq(nat_shard_init(&sh, 1, 2, 2001, 2999, 8), 0);
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	cr_assert_null(p);
	cr_assert_eq(nat_shard_init(&sh, 1, 2, 2000, 2998, 8), 0);
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 1, 2, 2000, 2999, 4), 0);
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	cr_assert_eq(nat_shard_init(&sh, 1, 2, 2000, 2999, 8), 0);
	sh.index = 2; /* not from nat_shard_init */
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	sh.index = 1;
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	nat_ports_free(p);
	cr_assert_eq(nat_shard_init(&sh, 0, 1, 2000, 2999, 8), 0);
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	nat_ports_free(p);
}

/* One worker (count 1) answers exactly as no shard at all. */
static void same_as_unsharded(uint32_t block, uint64_t seed)
{
	const uint32_t addrs[2] = {A1, A2};
	struct nat_ports *p0 = mk(2, M_LO, M_HI, 12, block, 7, NULL, NULL);
	struct nat_ports *p1 = mk_shard(addrs, 2, M_LO, M_HI, 12, block, 7, 0, 1, NULL, NULL);
	static const uint8_t protos[3] = {6, 17, 1};
	uint64_t now = 1000;
	int it;

	for (it = 0; it < 20000; it++) {
		uint64_t r = nat_rand(&seed);
		uint8_t proto = protos[r % 3];
		uint32_t sub = IP4(10, 0, 1, 1 + (r >> 8) % 6), a0 = 0, a1 = 0;
		uint16_t in_port = (r >> 40) & 1 ? (uint16_t)(M_LO + (r >> 44) % 64)
						 : (uint16_t)(r >> 44), q0 = 0, q1 = 0;

		if (((r >> 16) & 15) == 0) {
			now += (r >> 20) % 4;
		} else if (((r >> 24) & 3) == 0) {
			uint16_t q = (uint16_t)((r >> 28) % 2 ? M_LO + (r >> 32) % 64 : (r >> 32));
			uint32_t a = (r >> 30) & 1 ? A2 : A1;

			cr_assert_eq(nat_ports_release(p0, proto, sub, a, q, now),
				     nat_ports_release(p1, proto, sub, a, q, now), "it %d", it);
		} else {
			cr_assert_eq(nat_ports_alloc(p0, proto, sub, in_port, now, &a0, &q0),
				     nat_ports_alloc(p1, proto, sub, in_port, now, &a1, &q1),
				     "it %d", it);
			cr_assert_eq(a0, a1, "it %d", it);
			cr_assert_eq(q0, q1, "it %d", it);
		}
	}
	nat_ports_free(p0);
	nat_ports_free(p1);
}

Test(nat_ports, shard_count_one_unchanged)
{
	uint64_t seed = nat_test_seed("nat_ports shard_count_one_unchanged");

	same_as_unsharded(1, seed);
	same_as_unsharded(4, seed);
}

Test(nat_ports, shard_preservation_low_icmp)
{
	const uint32_t addrs[1] = {A1};
	struct nat_shard sh;
	struct nat_ports *p[3];
	unsigned w, q;
	uint32_t a;
	uint16_t port, llo, lhi;

	cr_assert_eq(nat_shard_init(&sh, 0, 3, 2000, 2999, 1), 0);
	for (w = 0; w < 3; w++)
		p[w] = mk_shard(addrs, 1, 2000, 2999, 1000, 1, 60, w, 3, NULL, NULL);
	for (w = 0; w < 3; w++) {
		uint32_t s = sub_of(&sh, w, 0), s2 = sub_of(&sh, w, 1);

		/* dynamic: kept exactly when owned and free; else from the slice */
		for (q = 2000; q < 3000; q += 37) {
			bool own = nat_shard_port_owner(&sh, (uint16_t)q) == w &&
				   !nat_ports_in_use(p[w], 17, A1, (uint16_t)q);

			cr_assert_eq(nat_ports_alloc(p[w], 17, s, (uint16_t)q, 0, &a, &port), 0);
			cr_assert_eq(nat_shard_port_owner(&sh, port), w, "port %u", port);
			cr_assert_eq(port == q, own, "worker %u in %u out %u", w, q, port);
			cr_assert_eq(port & 1, q & 1);
			/* taken now: the next one for it is another port */
			cr_assert_eq(nat_ports_alloc(p[w], 17, s2, (uint16_t)q, 0, &a, &port), 0);
			cr_assert_neq(port, q);
			cr_assert_eq(nat_shard_port_owner(&sh, port), w, "port %u", port);
		}
		/* low ports: from the low slice, same parity, kept when owned */
		nat_shard_low_ports(&sh, w, &llo, &lhi);
		for (q = 0; q < 1024; q += 31) {
			bool own = q && nat_shard_port_owner(&sh, (uint16_t)q) == w &&
				   !nat_ports_in_use(p[w], 6, A1, (uint16_t)q);

			cr_assert_eq(nat_ports_alloc(p[w], 6, s, (uint16_t)q, 0, &a, &port), 0);
			cr_assert(port >= llo && port <= lhi, "worker %u in %u out %u", w, q, port);
			cr_assert_eq(port & 1, q & 1);
			cr_assert_eq(port == q, own, "worker %u in %u out %u", w, q, port);
		}
		/* ICMP ids: kept when free and owned, anywhere; else from the slice */
		for (q = 0; q < 65536; q += 997) {
			bool own = nat_shard_port_owner(&sh, (uint16_t)q) == w &&
				   !nat_ports_in_use(p[w], 1, A1, (uint16_t)q);

			cr_assert_eq(nat_ports_alloc(p[w], 1, s, (uint16_t)q, 0, &a, &port), 0);
			cr_assert_eq(nat_shard_port_owner(&sh, port), w, "id %u", port);
			cr_assert_eq(port == q, own, "worker %u in %u out %u", w, q, port);
			if (port != q)
				cr_assert(port >= 2000 && port <= 2999);
		}
	}
	for (w = 0; w < 3; w++)
		nat_ports_free(p[w]);
}

/* Exhausting one worker's slice: -ENOSPC there, the others still allocate. */
static void exhaust(uint32_t block)
{
	const uint32_t addrs[1] = {A1};
	struct nat_shard sh;
	struct nat_ports *p[3];
	uint32_t a, first, n, k, j, got = 0;
	uint16_t port, mine[4];
	unsigned w;
	int rc = 0;

	/* 48 ports: 16 each, or 12 blocks of 4: 4 each */
	cr_assert_eq(nat_shard_init(&sh, 0, 3, 2000, 2047, block), 0);
	for (w = 0; w < 3; w++)
		p[w] = mk_shard(addrs, 1, 2000, 2047, 4, block, 60, w, 3, NULL, NULL);
	nat_shard_dyn_blocks(&sh, 0, &first, &n);
	cr_assert_eq(n * block, 16);
	/* subscribers take 2 even and 2 odd ports each (a block each) */
	for (k = 0; k < 64 && rc == 0; k++) {
		for (j = 0; j < 4; j++) {
			rc = nat_ports_alloc(p[0], 17, sub_of(&sh, 0, k), (uint16_t)(3000 + (j & 1)),
					     0, &a, &port);
			if (rc == -ENOSPC && j == 0)
				break;
			cr_assert_eq(rc, 0, "sub %u port %u", k, j);
			cr_assert_eq(nat_shard_port_owner(&sh, port), 0);
			cr_assert(port >= 2000 + first * block && port < 2000 + (first + n) * block);
			cr_assert_eq(port & 1, j & 1);
			if (k == 0)
				mine[j] = port;
			got++;
		}
	}
	cr_assert_eq(k, 5);
	cr_assert_eq(got, 16, "worker 0 handed out %u of its 16 ports", got);
	cr_assert_eq(nat_ports_alloc(p[0], 17, sub_of(&sh, 0, 99), 3000, 0, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p[0], 1, sub_of(&sh, 0, 99), 3000, 0, &a, &port), 0);
	for (w = 1; w < 3; w++) {
		cr_assert_eq(nat_ports_alloc(p[w], 17, sub_of(&sh, w, 0), 3000, 0, &a, &port), 0);
		cr_assert_eq(nat_shard_port_owner(&sh, port), w);
	}
	/* the others' ports stay free in worker 0 (its allocator never saw them) */
	cr_assert_not(nat_ports_in_use(p[0], 17, A1, port));
	/* releases in worker 0 make room there after the hold-down only */
	for (j = 0; j < 4; j++)
		cr_assert_eq(nat_ports_release(p[0], 17, sub_of(&sh, 0, 0), A1, mine[j], 100), 0);
	cr_assert_eq(nat_ports_alloc(p[0], 17, sub_of(&sh, 0, 99), 3000, 159, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p[0], 17, sub_of(&sh, 0, 99), 3000, 160, &a, &port), 0);
	cr_assert(port == mine[0] || port == mine[2], "%u", port);
	for (w = 0; w < 3; w++)
		nat_ports_free(p[w]);
}

Test(nat_ports, shard_exhaust)
{
	exhaust(1);
	exhaust(4);
}

Test(nat_ports, shard_holddown_reserve)
{
	const uint32_t addrs[1] = {A1};
	struct nat_shard sh;
	struct nat_ports *p0, *p1;
	uint32_t a, s0, s1;
	uint16_t port, e, o;

	/* 2000-2003: worker 0 owns 2000-2001, worker 1 2002-2003 */
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 2000, 2003, 1), 0);
	p0 = mk_shard(addrs, 1, 2000, 2003, 8, 1, 60, 0, 2, NULL, NULL);
	p1 = mk_shard(addrs, 1, 2000, 2003, 8, 1, 60, 1, 2, NULL, NULL);
	s0 = sub_of(&sh, 0, 0);
	s1 = sub_of(&sh, 1, 0);
	/* reserving another worker's ports takes no room from this one */
	cr_assert_eq(nat_ports_reserve(p0, 17, A1, 2002), 0);
	cr_assert_eq(nat_ports_reserve(p0, 17, A1, 2003), 0);
	cr_assert(nat_ports_in_use(p0, 17, A1, 2003));
	cr_assert_eq(nat_ports_reserve(p0, 17, A1, 2003), -EEXIST);
	cr_assert_eq(nat_ports_alloc(p0, 17, s0, 2002, 100, &a, &e), 0);
	cr_assert_eq(e, 2000);
	cr_assert_eq(nat_ports_alloc(p0, 17, s0, 2003, 100, &a, &o), 0);
	cr_assert_eq(o, 2001);
	cr_assert_eq(nat_ports_alloc(p0, 17, s0, 2003, 100, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p1, 17, s1, 2001, 100, &a, &port), 0);
	cr_assert_eq(port, 2003);
	/* hold-down within the slice */
	cr_assert_eq(nat_ports_release(p0, 17, s0, A1, e, 100), 0);
	cr_assert_eq(nat_ports_alloc(p0, 17, s0, 2000, 159, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p0, 17, sub_of(&sh, 0, 1), 2000, 159, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p0, 17, sub_of(&sh, 0, 1), 2000, 160, &a, &port), 0);
	cr_assert_eq(port, 2000);
	/* a reserved port of its own slice counts as taken */
	cr_assert_eq(nat_ports_release(p0, 17, s0, A1, o, 200), 0);
	cr_assert_eq(nat_ports_alloc(p0, 6, s0, 2001, 300, &a, &port), 0);
	cr_assert_eq(nat_ports_reserve(p0, 6, A1, 2000), 0);
	cr_assert_eq(nat_ports_alloc(p0, 6, sub_of(&sh, 0, 2), 2000, 300, &a, &port), -ENOSPC);
	nat_ports_free(p0);
	nat_ports_free(p1);
}

Test(nat_ports, shard_paired_pooling_room)
{
	const uint32_t addrs[2] = {A1, A2};
	struct nat_shard sh;
	struct nat_ports *p0, *p1;
	uint32_t a, full, first = 0, sa;
	uint16_t port;
	unsigned i;

	/* worker 0 owns 2000-2001 of 2000-2003 on each address; hold-down 1 s */
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 2000, 2003, 1), 0);
	p0 = mk_shard(addrs, 2, 2000, 2003, 8, 1, 1, 0, 2, NULL, NULL);
	p1 = mk_shard(addrs, 2, 2000, 2003, 8, 1, 1, 1, 2, NULL, NULL);
	sa = sub_of(&sh, 0, 0);
	cr_assert_eq(nat_ports_alloc(p0, 17, sa, 2000, 0, &full, &port), 0);
	cr_assert_eq(nat_ports_alloc(p0, 17, sa, 2001, 0, &a, &port), 0);
	cr_assert_eq(a, full);
	/* a low port and an ICMP id held and let go take nothing from the slice */
	cr_assert_eq(nat_ports_alloc(p0, 17, sa, 80, 0, &a, &port), 0);
	cr_assert_eq(port, 80);
	cr_assert_eq(nat_ports_release(p0, 17, sa, full, 80, 1), 0);
	cr_assert_eq(nat_ports_alloc(p0, 17, sa, 81, 2, &a, &port), 0);
	cr_assert_eq(nat_ports_release(p0, 17, sa, full, port, 3), 0);
	/* worker 1 still has its ports there */
	cr_assert_eq(nat_ports_alloc(p1, 17, sub_of(&sh, 1, 0), 2000, 0, &a, &port), 0);
	cr_assert_eq(port, 2002);
	/* its slice of `full` is used up: every new subscriber of worker 0 is
	 * pinned to the other address, whatever its hash prefers */
	for (i = 1; i < 24; i++) {
		uint32_t s = sub_of(&sh, 0, i);

		cr_assert_eq(nat_ports_alloc(p0, 17, s, 2000, 10 + i, &a, &port), 0, "sub %u", i);
		cr_assert_neq(a, full);
		cr_assert_eq(port, 2000);
		first = first ? first : a;
		cr_assert_eq(nat_ports_release(p0, 17, s, a, port, 10 + i), 0);
		cr_assert_eq(nat_ports_subscribers(p0), 1);
	}
	/* room means dynamic room, even for a low port (as without shards) */
	cr_assert_eq(nat_ports_alloc(p0, 17, sub_of(&sh, 0, 30), 80, 100, &a, &port), 0);
	cr_assert_eq(a, first);
	cr_assert_eq(port, 80);
	nat_ports_free(p0);
	nat_ports_free(p1);
}
