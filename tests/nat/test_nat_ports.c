/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ports: bad arguments and the individual rules (preservation, parity,
 * low ports, quota, hold-down, reservation and its end, blocks, paired
 * pooling).  The random runs against a model, the shards and the workers
 * are in test_nat_ports_{model,shard,workers}.c.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_ports.h"
#include "nat_ports_util.h"
#include "nat_test_util.h"

Test(nat_ports, bad_arguments)
{
	const uint32_t addrs[2] = {A1, A1};
	struct nat_ports_config c = {.addrs = addrs, .n_addrs = 1, .port_lo = 1024,
				     .port_hi = 2047, .quota = 10, .block = 1,
				     .max_subscribers = 4};
	struct nat_ports *p = (void *)1;
	uint32_t a;
	uint16_t port;

	cr_assert_eq(nat_ports_create(NULL, &p), -EINVAL);
	cr_assert_null(p);
	cr_assert_eq(nat_ports_create(&c, NULL), -EINVAL);
	c.port_lo = 1000;
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	c.port_lo = 1024;
	c.block = 11;
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	c.block = 1;
	c.quota = 0;
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	c.quota = 10;
	c.n_addrs = 2; /* duplicate address */
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	c.n_addrs = 0;
	cr_assert_eq(nat_ports_create(&c, &p), -EINVAL);
	c.n_addrs = 1;
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	cr_assert_eq(nat_ports_alloc(NULL, 17, 1, 1, 0, &a, &port), -EINVAL);
	cr_assert_eq(nat_ports_alloc(p, 47, 1, 1, 0, &a, &port), -EINVAL);
	cr_assert_eq(nat_ports_alloc(p, 17, 1, 1, 0, NULL, &port), -EINVAL);
	cr_assert_eq(nat_ports_release(p, 47, 1, A1, 1, 0), -EINVAL);
	cr_assert_eq(nat_ports_release(p, 17, 1, A1, 1024, 0), -ENOENT);
	cr_assert_eq(nat_ports_release(p, 17, 1, A2, 1024, 0), -ENOENT);
	cr_assert_eq(nat_ports_reserve(p, 17, A2, 1024), -ENOENT);
	nat_ports_free(p);
	nat_ports_free(NULL);
}

Test(nat_ports, preservation_parity_low)
{
	struct nat_ports *p = mk(1, 1024, 65535, 100, 1, 120, NULL, NULL);
	const uint32_t s1 = IP4(10, 0, 0, 1), s2 = IP4(10, 0, 0, 2);
	uint32_t a;
	uint16_t port;

	cr_assert_eq(nat_ports_alloc(p, 17, s1, 5000, 0, &a, &port), 0);
	cr_assert_eq(a, A1);
	cr_assert_eq(port, 5000); /* preserved */
	cr_assert_eq(nat_ports_alloc(p, 17, s2, 5000, 0, &a, &port), 0);
	cr_assert_neq(port, 5000);
	cr_assert_eq(port & 1, 0); /* parity */
	cr_assert_eq(nat_ports_alloc(p, 17, s2, 5001, 0, &a, &port), 0);
	cr_assert_eq(port, 5001);
	cr_assert_eq(nat_ports_alloc(p, 17, s1, 5001, 0, &a, &port), 0);
	cr_assert_eq(port & 1, 1);
	/* below 1024 stays below 1024 */
	cr_assert_eq(nat_ports_alloc(p, 6, s1, 123, 0, &a, &port), 0);
	cr_assert_eq(port, 123);
	cr_assert_eq(nat_ports_alloc(p, 6, s2, 123, 0, &a, &port), 0);
	cr_assert(port < 1024 && port >= 1 && (port & 1) == 1, "%u", port);
	/* the protocols have separate spaces */
	cr_assert_eq(nat_ports_alloc(p, 6, s2, 5000, 0, &a, &port), 0);
	cr_assert_eq(port, 5000);
	/* ICMP ids: kept when free, any parity; else from the dynamic range */
	cr_assert_eq(nat_ports_alloc(p, 1, s1, 7, 0, &a, &port), 0);
	cr_assert_eq(port, 7);
	cr_assert_eq(nat_ports_alloc(p, 1, s2, 7, 0, &a, &port), 0);
	cr_assert(port >= 1024);
	cr_assert_eq(nat_ports_sub_used(p, 17, s1), 2);
	cr_assert_eq(nat_ports_subscribers(p), 2);
	nat_ports_free(p);
}

Test(nat_ports, quota_holddown_never_evict)
{
	struct nat_ports *p = mk(1, 2000, 2009, 4, 1, 120, NULL, NULL);
	const uint32_t s1 = IP4(10, 0, 0, 1), s2 = IP4(10, 0, 0, 2);
	uint32_t a;
	uint16_t port, got[4];
	int i;

	for (i = 0; i < 4; i++)
		cr_assert_eq(nat_ports_alloc(p, 17, s1, 2000, 10, &a, &got[i]), 0);
	cr_assert_eq(nat_ports_alloc(p, 17, s1, 2000, 10, &a, &port), -EDQUOT);
	/* 5 even ports in range: s2 gets the last even one, then nothing */
	cr_assert_eq(nat_ports_alloc(p, 17, s2, 2000, 10, &a, &port), 0);
	cr_assert_eq(nat_ports_alloc(p, 17, s2, 2000, 10, &a, &port), -ENOSPC);
	for (i = 0; i < 4; i++)
		cr_assert(nat_ports_in_use(p, 17, A1, got[i]));
	/* release: held for 120 s */
	cr_assert_eq(nat_ports_release(p, 17, s1, A1, got[0], 100), 0);
	cr_assert_not(nat_ports_in_use(p, 17, A1, got[0]));
	cr_assert_eq(nat_ports_release(p, 17, s1, A1, got[0], 100), -ENOENT);
	cr_assert_eq(nat_ports_alloc(p, 17, s2, 2000, 219, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p, 17, s2, got[0], 220, &a, &port), 0);
	cr_assert_eq(port, got[0]);
	/* releasing for a subscriber that holds nothing fails */
	cr_assert_eq(nat_ports_release(p, 17, IP4(10, 0, 0, 3), A1, got[1], 300), -ENOENT);
	nat_ports_free(p);
}

Test(nat_ports, reserve)
{
	struct nat_ports *p = mk(1, 1024, 2047, 10, 1, 0, NULL, NULL);
	uint32_t a;
	uint16_t port;

	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1500), 0);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1500), -EEXIST);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 80), 0);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 1), 1500, 0, &a, &port), 0);
	cr_assert_neq(port, 1500);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 1), 80, 0, &a, &port), 0);
	cr_assert_neq(port, 80);
	nat_ports_free(p);
}

/* A reservation ends (a port forward deleted at run time): the port is held
 * for hold-down like a freed one, then handed out again. */
Test(nat_ports, unreserve)
{
	struct nat_ports *p = mk(1, 1024, 1031, 10, 1, 100, NULL, NULL);
	uint32_t a, i;
	uint16_t port, got[8];

	cr_assert_eq(nat_ports_unreserve(p, 17, A1, 1026, 0), -ENOENT); /* not reserved */
	cr_assert_eq(nat_ports_unreserve(p, 17, A2, 1026, 0), -ENOENT); /* not ours */
	cr_assert_eq(nat_ports_unreserve(p, 99, A1, 1026, 0), -EINVAL);
	cr_assert_eq(nat_ports_reserve(p, 17, A1, 1026), 0);
	/* even inside ports get even ports (parity): three of the four go to
	 * subscribers, 1026 never */
	for (i = 0; i < 3; i++) {
		cr_assert_eq(nat_ports_alloc(p, 17, IP4(10, 0, 0, 1 + i), 1026, 10, &a, &got[i]), 0);
		cr_assert_neq(got[i], 1026);
	}
	cr_assert_eq(nat_ports_alloc(p, 17, IP4(10, 0, 0, 9), 1026, 10, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_unreserve(p, 17, A1, 1026, 50), 0);
	cr_assert(!nat_ports_in_use(p, 17, A1, 1026));
	cr_assert_eq(nat_ports_unreserve(p, 17, A1, 1026, 50), -ENOENT); /* once */
	/* held until 150 */
	cr_assert_eq(nat_ports_alloc(p, 17, IP4(10, 0, 0, 9), 1026, 149, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p, 17, IP4(10, 0, 0, 9), 1026, 150, &a, &port), 0);
	cr_assert_eq(port, 1026);
	/* and it can be reserved again once free */
	cr_assert_eq(nat_ports_release(p, 17, IP4(10, 0, 0, 9), A1, 1026, 200), 0);
	cr_assert_eq(nat_ports_reserve(p, 17, A1, 1026), 0);
	nat_ports_free(p);
}

Test(nat_ports, unreserve_blocks)
{
	struct nat_ports *p = mk(1, 1024, 1151, 64, 32, 100, NULL, NULL); /* 4 blocks of 32 */
	uint32_t a, i;
	uint16_t port;

	/* two port forwards in block 1, one in block 2 */
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1056), 0);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1060), 0);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1090), 0);
	/* two subscribers take the two free blocks; a third finds none */
	for (i = 0; i < 2; i++)
		cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 1 + i), 5000, 10, &a, &port), 0);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 3), 5000, 10, &a, &port), -ENOSPC);
	/* a subscriber's port is not a reservation */
	cr_assert_eq(nat_ports_unreserve(p, 6, A1, port, 10), -ENOENT);
	/* block 1 is free only when both of its reservations ended */
	cr_assert_eq(nat_ports_unreserve(p, 6, A1, 1056, 20), 0);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 3), 5000, 500, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_unreserve(p, 6, A1, 1060, 30), 0);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 3), 5000, 129, &a, &port), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p, 6, IP4(10, 0, 0, 3), 5000, 130, &a, &port), 0);
	cr_assert(port >= 1056 && port < 1088, "port %u not from block 1", port);
	nat_ports_free(p);
}

/* With workers, every allocator reserves a port forward's port, also in a
 * block of another worker's slice (where it is simply never handed out). */
Test(nat_ports, reserve_in_another_workers_block)
{
	const uint32_t addrs[1] = {A1};
	struct nat_shard sh;
	struct nat_ports_config c = {
		.addrs = addrs, .n_addrs = 1, .port_lo = 1024, .port_hi = 1151, .quota = 64,
		.block = 32, .hold_down = 10, .max_subscribers = 8, .shard = &sh,
	};
	struct nat_ports *p = NULL;

	cr_assert_eq(nat_shard_init(&sh, 0, 2, 1024, 1151, 32), 0);
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	cr_assert_eq(nat_shard_port_owner(&sh, 1120), 1);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1120), 0);
	cr_assert_eq(nat_ports_reserve(p, 6, A1, 1121), 0);
	cr_assert(nat_ports_in_use(p, 6, A1, 1120));
	cr_assert_eq(nat_ports_unreserve(p, 6, A1, 1120, 5), 0);
	cr_assert_eq(nat_ports_unreserve(p, 6, A1, 1121, 5), 0);
	nat_ports_free(p);
}

struct evlog {
	struct nat_ports_event ev[64];
	int n;
};

static void rec(void *ctx, const struct nat_ports_event *ev)
{
	struct evlog *l = ctx;

	if (l->n < 64)
		l->ev[l->n++] = *ev;
}

Test(nat_ports, blocks)
{
	struct evlog l = {.n = 0};
	struct nat_ports *p = mk(1, 1024, 1024 + 16 * 8 - 1, 16, 8, 60, rec, &l);
	const uint32_t s1 = IP4(10, 0, 0, 1);
	uint32_t a;
	uint16_t port[17];
	int i;

	cr_assert_eq(nat_ports_alloc(p, 17, s1, 1030, 0, &a, &port[0]), 0);
	cr_assert_eq(port[0], 1030); /* its own block 1024-1031 */
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.ev[0].type, NAT_PORTS_BLOCK_ALLOC);
	cr_assert_eq(l.ev[0].port_lo, 1024);
	cr_assert_eq(l.ev[0].port_hi, 1031);
	cr_assert_eq(l.ev[0].in_addr, s1);
	/* the next even ports come from the same block */
	for (i = 1; i < 4; i++) {
		cr_assert_eq(nat_ports_alloc(p, 17, s1, 3000, 0, &a, &port[i]), 0);
		cr_assert(port[i] >= 1024 && port[i] <= 1031 && !(port[i] & 1), "%u", port[i]);
	}
	cr_assert_eq(l.n, 1);
	/* a fifth even port needs a second block; quota 16 / 8 = 2 blocks */
	cr_assert_eq(nat_ports_alloc(p, 17, s1, 3000, 0, &a, &port[4]), 0);
	cr_assert_eq(l.n, 2);
	for (i = 5; i < 8; i++)
		cr_assert_eq(nat_ports_alloc(p, 17, s1, 3000, 0, &a, &port[i]), 0);
	/* no third block: even ports exhausted for this subscriber */
	cr_assert_eq(nat_ports_alloc(p, 17, s1, 3000, 0, &a, &port[8]), -ENOSPC);
	cr_assert_eq(nat_ports_alloc(p, 17, s1, 3001, 0, &a, &port[8]), 0);
	/* freeing a block's last port frees the block (logged) */
	cr_assert(port[8] >= 1024 && port[8] <= 1031, "%u", port[8]);
	for (i = 0; i < 4; i++)
		cr_assert_eq(nat_ports_release(p, 17, s1, A1, port[i], 10), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_eq(nat_ports_release(p, 17, s1, A1, port[8], 10), 0);
	cr_assert_eq(l.n, 3);
	cr_assert_eq(l.ev[2].type, NAT_PORTS_BLOCK_FREE);
	cr_assert_eq(l.ev[2].port_lo, 1024);
	/* held: another subscriber does not get that block before 70 s */
	cr_assert_eq(nat_ports_alloc(p, 17, IP4(10, 0, 0, 2), 1024, 20, &a, &port[9]), 0);
	cr_assert(port[9] >= 1032, "%u", port[9]);
	nat_ports_free(p);
}

Test(nat_ports, paired_pooling)
{
	struct nat_ports *p = mk(2, 1024, 1025, 2, 1, 0, NULL, NULL);
	uint32_t a, first, pinned;
	uint16_t port;
	unsigned sub;

	/* whatever address a subscriber gets first, it keeps */
	for (sub = 1; sub <= 3; sub++) {
		uint32_t s = IP4(10, 0, 0, sub);

		if (nat_ports_alloc(p, 17, s, 1024, 0, &first, &port) != 0)
			continue;
		cr_assert(nat_ports_sub_addr(p, s, &pinned));
		cr_assert_eq(pinned, first);
		if (nat_ports_alloc(p, 6, s, 1024, 0, &a, &port) == 0)
			cr_assert_eq(a, first);
	}
	nat_ports_free(p);
}
