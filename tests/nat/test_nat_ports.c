/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ports: bad arguments, the individual rules (preservation, parity, low
 * ports, quota, blocks, hold-down, reservation, paired pooling), then random
 * sequences against a reference model that checks every answer.  The seed
 * is printed; NC_SEED=<n> replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_ports.h"
#include "nat_test_util.h"

static const uint32_t A1 = IP4(198, 51, 100, 1), A2 = IP4(198, 51, 100, 2);

static struct nat_ports *mk(uint32_t n_addrs, uint16_t lo, uint16_t hi, uint32_t quota,
			    uint32_t block, uint32_t hold,
			    void (*ev)(void *, const struct nat_ports_event *), void *ctx)
{
	const uint32_t addrs[2] = {A1, A2};
	struct nat_ports_config c = {
		.addrs = addrs, .n_addrs = n_addrs, .port_lo = lo, .port_hi = hi, .quota = quota,
		.block = block, .hold_down = hold, .max_subscribers = 64, .event = ev,
		.event_ctx = ctx,
	};
	struct nat_ports *p = NULL;

	cr_assert_eq(nat_ports_create(&c, &p), 0);
	return p;
}

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

/* ---------- random sequences against a model ---------- */

#define M_SUBS 6
#define M_LO 1024
#define M_HI 1087

struct model {
	uint32_t owner[2][3][65536];     /* sub index + 1, 0 free */
	uint64_t held[2][3][65536];      /* held until */
	uint32_t count[M_SUBS][3];
	int pin[M_SUBS];                 /* address index or -1 */
	uint32_t blk_owner[2][3][64];    /* block mode: sub + 1 */
	uint32_t block;
};

static struct model M;
static uint64_t g_now;

static int aidx(uint32_t a)
{
	return a == A1 ? 0 : a == A2 ? 1 : -1;
}

static uint32_t sub_addr(int s)
{
	return IP4(10, 0, 1, s + 1);
}

static void mrec(void *ctx, const struct nat_ports_event *ev)
{
	int ai = aidx(ev->out_addr), pi = nat_proto_idx(ev->proto), s = (int)(ev->in_addr & 0xff) - 1;
	uint32_t b = (ev->port_lo - M_LO) / M.block;

	(void)ctx;
	cr_assert(ai >= 0 && pi >= 0 && s >= 0 && s < M_SUBS);
	cr_assert_eq(ev->port_hi - ev->port_lo + 1, M.block);
	if (ev->type == NAT_PORTS_BLOCK_ALLOC) {
		cr_assert_eq(M.blk_owner[ai][pi][b], 0, "block %u taken twice", b);
		M.blk_owner[ai][pi][b] = (uint32_t)s + 1;
	} else {
		uint32_t q;

		cr_assert_eq(M.blk_owner[ai][pi][b], (uint32_t)s + 1);
		for (q = ev->port_lo; q <= ev->port_hi; q++)
			cr_assert_eq(M.owner[ai][pi][q], 0, "block freed with port %u in use", q);
		M.blk_owner[ai][pi][b] = 0;
	}
}

static bool m_free(int ai, int pi, uint32_t port)
{
	return M.owner[ai][pi][port] == 0 && M.held[ai][pi][port] <= g_now;
}

/* Is there an eligible free port for (sub, pi, in_port) on address ai? */
static bool m_any_free(int ai, int pi, uint16_t in_port)
{
	uint32_t lo = M_LO, hi = M_HI, q;
	bool low = pi != NAT_PI_ICMP && in_port < 1024;

	if (low) {
		lo = 1;
		hi = 1023;
	}
	if (pi == NAT_PI_ICMP && m_free(ai, pi, in_port))
		return true;
	for (q = lo; q <= hi; q++) {
		if (pi != NAT_PI_ICMP && (q & 1) != (in_port & 1u))
			continue;
		if (m_free(ai, pi, q))
			return true;
	}
	return false;
}

static void random_run(uint32_t block, uint64_t seed)
{
	struct nat_ports *p;
	static const uint8_t protos[3] = {6, 17, 1};
	unsigned n_predicted = 0, n_past = 0;
	int it, s;

	memset(&M, 0, sizeof(M));
	M.block = block;
	for (s = 0; s < M_SUBS; s++)
		M.pin[s] = -1;
	g_now = 1000;
	p = mk(2, M_LO, M_HI, 12, block, 7, mrec, NULL);
	for (it = 0; it < 20000; it++) {
		uint64_t r = nat_rand(&seed);
		int pi = (int)(r % 3);
		uint8_t proto = protos[pi];

		s = (int)((r >> 8) % M_SUBS);
		if (((r >> 16) & 15) == 0) {
			g_now += (r >> 20) % 4;
			continue;
		}
		if (((r >> 24) & 3) == 0) {
			/* release a random port of this subscriber */
			int ai;
			uint32_t q;

			for (ai = 0; ai < 2; ai++)
				for (q = (uint32_t)(r >> 32) & 0x3ff; q < 65536; q++)
					if (M.owner[ai][pi][q] == (uint32_t)s + 1)
						goto found;
			/* releasing a free port is refused (a port of another
			 * subscriber on the same address is not detectable in
			 * per-port mode: the session table guarantees it) */
			if (M.owner[0][pi][1050] == 0)
				cr_assert_eq(nat_ports_release(p, proto, sub_addr(s), A1, 1050, g_now),
					     -ENOENT, "it %d", it);
			continue;
found:
			M.owner[ai][pi][q] = 0; /* before: the block event checks it */
			cr_assert_eq(nat_ports_release(p, proto, sub_addr(s), ai ? A2 : A1,
						       (uint16_t)q, g_now), 0, "it %d", it);
			M.held[ai][pi][q] = g_now + 7;
			M.count[s][pi]--;
			if (!M.count[s][0] && !M.count[s][1] && !M.count[s][2])
				M.pin[s] = -1;
		} else {
			uint16_t in_port, port, pp;
			uint32_t a, pa;
			int rc, ai, k;
			bool predicted;

			switch ((r >> 40) & 3) {
			case 0: in_port = (uint16_t)(M_LO + ((r >> 44) % 64)); break;
			case 1: in_port = (uint16_t)((r >> 44) % 1024); break;
			case 2: in_port = (uint16_t)(r >> 44); break;
			default: in_port = (uint16_t)(M_LO + 2 * s); break;
			}
			for (unsigned st = 0; st < 3; st++) /* hints: no effect */
				nat_ports_prefetch(p, proto, sub_addr(s), in_port, st);
			predicted = nat_ports_predict(p, proto, sub_addr(s), in_port, g_now, &pa, &pp);
			rc = nat_ports_alloc(p, proto, sub_addr(s), in_port, g_now, &a, &port);
			if (predicted) {
				cr_assert_eq(rc, 0, "it %d: predicted, then rc %d", it, rc);
				cr_assert(a == pa && port == pp, "it %d: predicted %u, got %u", it,
					  pp, port);
				n_predicted++;
				/* and by the model: the first free port of the inside
				 * port's parity from the inside port on */
				if (block == 1 && in_port >= M_LO && in_port <= M_HI) {
					int pai = aidx(pa);

					cr_assert_geq(pp, in_port, "it %d", it);
					for (uint32_t q = in_port; q < pp; q++)
						cr_assert(!m_free(pai, pi, q) ||
							  (pi != NAT_PI_ICMP && (q & 1) != (in_port & 1u)),
							  "it %d: predicted %u past free port %u", it, pp, q);
					n_past += pp != in_port;
				}
			}
			if (rc == -EDQUOT) {
				cr_assert_geq(M.count[s][pi], 12, "it %d", it);
				continue;
			}
			cr_assert_lt(M.count[s][pi], 12, "it %d: quota not enforced", it);
			if (rc == -ENOSPC) {
				/* per-port mode: really nothing eligible */
				if (block == 1) {
					if (M.pin[s] >= 0)
						cr_assert_not(m_any_free(M.pin[s], pi, in_port),
							      "it %d: ENOSPC with a free port", it);
					else
						for (k = 0; k < 2; k++)
							cr_assert_not(m_any_free(k, pi, in_port) &&
									      !(pi != NAT_PI_ICMP && in_port < 1024),
								      "it %d", it);
				}
				continue;
			}
			cr_assert_eq(rc, 0, "it %d: rc %d", it, rc);
			ai = aidx(a);
			cr_assert_geq(ai, 0);
			if (M.pin[s] >= 0)
				cr_assert_eq(ai, M.pin[s], "it %d: paired pooling broken", it);
			cr_assert(m_free(ai, pi, port), "it %d: port %u in use or held", it, port);
			if (pi != NAT_PI_ICMP) {
				cr_assert_eq(port & 1, in_port & 1, "it %d: parity", it);
				if (in_port < 1024)
					cr_assert(port >= 1 && port < 1024, "it %d", it);
				else
					cr_assert(port >= M_LO && port <= M_HI, "it %d", it);
			} else {
				cr_assert(port == in_port || (port >= M_LO && port <= M_HI), "it %d", it);
			}
			if (block == 1 && m_free(ai, pi, in_port) &&
			    ((pi != NAT_PI_ICMP && in_port < 1024 && in_port > 0) || pi == NAT_PI_ICMP ||
			     (in_port >= M_LO && in_port <= M_HI)))
				cr_assert_eq(port, in_port, "it %d: not preserved", it);
			if (block > 1 && port >= M_LO && port <= M_HI)
				cr_assert_eq(M.blk_owner[ai][pi][(port - M_LO) / block], (uint32_t)s + 1,
					     "it %d: port %u outside the subscriber's blocks", it, port);
			M.owner[ai][pi][port] = (uint32_t)s + 1;
			M.count[s][pi]++;
			M.pin[s] = ai;
		}
		/* never evicts: everything the model holds is still in use */
		if ((it & 255) == 0) {
			int ai, k;
			uint32_t q;

			for (ai = 0; ai < 2; ai++)
				for (k = 0; k < 3; k++)
					for (q = 0; q < 65536; q++)
						cr_assert_eq(nat_ports_in_use(p, protos[k], ai ? A2 : A1,
									      (uint16_t)q),
							     M.owner[ai][k][q] != 0);
		}
	}
	for (s = 0; s < M_SUBS; s++)
		cr_assert_eq(nat_ports_sub_used(p, 17, sub_addr(s)), M.count[s][1]);
	cr_assert_gt(n_predicted, 20, "the prediction was tried (%u)", n_predicted);
	if (block == 1) /* past a busy or held inside port */
		cr_assert_gt(n_past, 5, "predictions past the inside port: %u", n_past);
	nat_ports_free(p);
}

Test(nat_ports, random_vs_model_per_port)
{
	random_run(1, nat_test_seed("nat_ports random_vs_model_per_port"));
}

Test(nat_ports, random_vs_model_blocks)
{
	random_run(4, nat_test_seed("nat_ports random_vs_model_blocks"));
}

/* ---------- several workers, one shard each (nat_shard.h) ---------- */

/* Worker w's allocator of count; the shard is copied at create. */
static struct nat_ports *mk_shard(const uint32_t *addrs, uint32_t n_addrs, uint16_t lo,
				  uint16_t hi, uint32_t quota, uint32_t block, uint32_t hold,
				  unsigned w, unsigned count,
				  void (*ev)(void *, const struct nat_ports_event *), void *ctx)
{
	struct nat_shard sh;
	struct nat_ports_config c = {
		.addrs = addrs, .n_addrs = n_addrs, .port_lo = lo, .port_hi = hi, .quota = quota,
		.block = block, .hold_down = hold, .max_subscribers = 256, .event = ev,
		.event_ctx = ctx, .shard = &sh,
	};
	struct nat_ports *p = NULL;

	cr_assert_eq(nat_shard_init(&sh, w, count, lo, hi, block), 0);
	cr_assert_eq(nat_ports_create(&c, &p), 0);
	memset(&sh, 0xa5, sizeof(sh)); /* copied: the allocator must not look again */
	return p;
}

/* The n-th subscriber address (from 10.2.0.1 on) that worker w owns. */
static uint32_t sub_of(const struct nat_shard *sh, unsigned w, unsigned n)
{
	uint32_t a;

	for (a = IP4(10, 2, 0, 1);; a++)
		if (nat_shard_sub_owner(sh, a) == w && n-- == 0)
			return a;
}

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

/* ---------- random sequences over W workers against a model ---------- */

#define WM_ADDRS 3
#define WM_PER 16                 /* subscribers per worker */
#define WM_SUBS (WM_PER * 7)
#define WM_LO 2000
#define WM_HI_MAX 2191            /* 192 ports, 48 blocks of 4 */
#define WM_QUOTA 16
#define WM_HOLD 5

static const uint32_t WA[WM_ADDRS] = {IP4(198, 51, 100, 1), IP4(198, 51, 100, 2),
				      IP4(203, 0, 113, 9)};

struct wmodel {
	uint8_t owner_w[WM_ADDRS][3][65536];  /* worker + 1 holding it, 0 free */
	uint8_t ever_w[WM_ADDRS][3][65536];   /* worker + 1 that ever handed it out */
	uint8_t owner_s[WM_ADDRS][3][65536];  /* subscriber + 1 holding it */
	uint64_t held[WM_ADDRS][3][65536];    /* held until */
	uint8_t blk[WM_ADDRS][3][48];         /* subscriber + 1 */
	uint64_t blk_held[WM_ADDRS][3][48];
	uint32_t sub_blocks[WM_SUBS][3];
	uint32_t count[WM_SUBS][3];
	int pin[WM_SUBS];
	uint32_t sub[WM_SUBS];
	unsigned sub_w[WM_SUBS];
	unsigned n_subs, W;
	uint32_t block;
	uint16_t hi;                          /* the range is WM_LO..hi */
	struct nat_shard sh;
	uint64_t now;
	unsigned ctx_w[7];
};

static struct wmodel WMd;

static int wm_aidx(uint32_t a)
{
	int i;

	for (i = 0; i < WM_ADDRS; i++)
		if (WA[i] == a)
			return i;
	return -1;
}

static int wm_sidx(uint32_t in_addr)
{
	unsigned i;

	for (i = 0; i < WMd.n_subs; i++)
		if (WMd.sub[i] == in_addr)
			return (int)i;
	return -1;
}

static void wm_ev(void *ctx, const struct nat_ports_event *ev)
{
	unsigned w = *(const unsigned *)ctx;
	int ai = wm_aidx(ev->out_addr), pi = nat_proto_idx(ev->proto), s = wm_sidx(ev->in_addr);
	uint32_t b = (ev->port_lo - WM_LO) / WMd.block, q;

	cr_assert(ai >= 0 && pi >= 0 && s >= 0);
	cr_assert_eq(WMd.sub_w[s], w, "event of worker %u for another's subscriber", w);
	cr_assert_eq(ev->port_hi - ev->port_lo + 1, WMd.block);
	cr_assert_eq(nat_shard_port_owner(&WMd.sh, ev->port_lo), w, "block %u not owned", b);
	if (ev->type == NAT_PORTS_BLOCK_ALLOC) {
		cr_assert_eq(WMd.blk[ai][pi][b], 0, "block %u taken twice", b);
		cr_assert_leq(WMd.blk_held[ai][pi][b], WMd.now, "block %u taken while held", b);
		WMd.blk[ai][pi][b] = (uint8_t)(s + 1);
		WMd.sub_blocks[s][pi]++;
	} else {
		cr_assert_eq(WMd.blk[ai][pi][b], s + 1);
		for (q = ev->port_lo; q <= ev->port_hi; q++)
			cr_assert_eq(WMd.owner_w[ai][pi][q], 0, "block freed with port %u in use", q);
		WMd.blk[ai][pi][b] = 0;
		WMd.blk_held[ai][pi][b] = WMd.now + WM_HOLD;
		WMd.sub_blocks[s][pi]--;
	}
}

static bool wm_free(int ai, int pi, uint32_t q)
{
	return WMd.owner_w[ai][pi][q] == 0 && WMd.held[ai][pi][q] <= WMd.now;
}

static bool wm_owned(unsigned w, uint32_t q)
{
	return nat_shard_port_owner(&WMd.sh, (uint16_t)q) == w;
}

/* Does subscriber s have a free port of parity par (-1: any) in its blocks? */
static bool wm_blocks_free(int ai, int pi, int s, int par)
{
	uint32_t b, q;

	for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++) {
		if (WMd.blk[ai][pi][b] != s + 1)
			continue;
		for (q = WM_LO + b * WMd.block; q < WM_LO + (b + 1) * WMd.block; q++)
			if ((par < 0 || (int)(q & 1) == par) && wm_free(ai, pi, q))
				return true;
	}
	return false;
}

/*
 * Would a correct worker w preserve in_port for s on address ai?  Decided
 * on the model before the allocation.
 */
static bool wm_preserves(int ai, int pi, int s, unsigned w, uint16_t in_port)
{
	uint32_t b;

	if (!wm_owned(w, in_port) || !wm_free(ai, pi, in_port))
		return false;
	if (pi != NAT_PI_ICMP && in_port < 1024)
		return in_port > 0;
	if (in_port < WM_LO || in_port > WMd.hi)
		return pi == NAT_PI_ICMP;
	if (WMd.block == 1)
		return true;
	b = (in_port - WM_LO) / WMd.block;
	if (WMd.blk[ai][pi][b] == s + 1)
		return true;
	return WMd.blk[ai][pi][b] == 0 && WMd.blk_held[ai][pi][b] <= WMd.now &&
	       WMd.sub_blocks[s][pi] < WM_QUOTA / WMd.block &&
	       !wm_blocks_free(ai, pi, s, pi == NAT_PI_ICMP ? -1 : (int)(in_port & 1));
}

/* Must worker w find a port for (s, pi, in_port) on address ai? */
static bool wm_can(int ai, int pi, int s, unsigned w, uint16_t in_port)
{
	int par = pi == NAT_PI_ICMP ? -1 : (int)(in_port & 1);
	uint32_t q, b;

	if (wm_preserves(ai, pi, s, w, in_port))
		return true;
	if (pi != NAT_PI_ICMP && in_port < 1024) {
		for (q = 1; q < 1024; q++)
			if ((int)(q & 1) == par && wm_owned(w, q) && wm_free(ai, pi, q))
				return true;
		return false;
	}
	if (WMd.block == 1) {
		for (q = WM_LO; q <= WMd.hi; q++)
			if ((par < 0 || (int)(q & 1) == par) && wm_owned(w, q) && wm_free(ai, pi, q))
				return true;
		return false;
	}
	if (wm_blocks_free(ai, pi, s, par))
		return true;
	if (WMd.sub_blocks[s][pi] >= WM_QUOTA / WMd.block)
		return false;
	for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++)
		if (wm_owned(w, WM_LO + b * WMd.block) && WMd.blk[ai][pi][b] == 0 &&
		    WMd.blk_held[ai][pi][b] <= WMd.now)
			return true;
	return false;
}

/*
 * Has address ai room for a new subscriber of worker w (paired pooling)?
 * Some block of the slice not owned (held or not), or some port of the
 * slice neither used nor held.
 */
static bool wm_room(int ai, int pi, unsigned w)
{
	uint32_t q, b;

	if (WMd.block > 1) {
		for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++)
			if (wm_owned(w, WM_LO + b * WMd.block) && WMd.blk[ai][pi][b] == 0)
				return true;
		return false;
	}
	for (q = WM_LO; q <= WMd.hi; q++)
		if (wm_owned(w, q) && wm_free(ai, pi, q))
			return true;
	return false;
}

/* Every allocator's view against the model, and the union count. */
static void wm_check_all(struct nat_ports **p, int it)
{
	static const uint8_t protos[3] = {6, 17, 1};
	uint64_t total = 0, in_use = 0;
	unsigned w, s;
	int ai, k;
	uint32_t q;

	for (ai = 0; ai < WM_ADDRS; ai++) {
		for (k = 0; k < 3; k++) {
			for (q = 0; q < 65536; q++) {
				unsigned users = 0;

				for (w = 0; w < WMd.W; w++) {
					bool u = nat_ports_in_use(p[w], protos[k], WA[ai], (uint16_t)q);

					cr_assert_eq(u, WMd.owner_w[ai][k][q] == w + 1,
						     "it %d: worker %u addr %d proto %u port %u", it, w,
						     ai, protos[k], q);
					users += u;
				}
				cr_assert_leq(users, 1);
				in_use += users;
			}
		}
	}
	for (s = 0; s < WMd.n_subs; s++)
		for (k = 0; k < 3; k++) {
			uint32_t used = nat_ports_sub_used(p[WMd.sub_w[s]], protos[k], WMd.sub[s]);

			cr_assert_eq(used, WMd.count[s][k]);
			total += used;
			for (w = 0; w < WMd.W; w++)
				if (w != WMd.sub_w[s])
					cr_assert_eq(nat_ports_sub_used(p[w], protos[k], WMd.sub[s]), 0);
		}
	cr_assert_eq(total, in_use, "it %d: %lu allocations, %lu distinct endpoints in use", it,
		     (unsigned long)total, (unsigned long)in_use);
}

static void workers_run(unsigned W, uint32_t block, uint16_t hi, uint64_t seed)
{
	static const uint8_t protos[3] = {6, 17, 1};
	struct nat_ports *p[7];
	uint64_t n_ok = 0, n_pres = 0, n_nospc = 0, n_predicted = 0;
	unsigned w, s, k;
	int it;

	memset(&WMd, 0, sizeof(WMd));
	WMd.W = W;
	WMd.block = block;
	WMd.hi = hi;
	WMd.now = 1000;
	cr_assert_eq(nat_shard_init(&WMd.sh, 0, W, WM_LO, WMd.hi, block), 0);
	for (w = 0; w < W; w++) {
		WMd.ctx_w[w] = w;
		p[w] = mk_shard(WA, WM_ADDRS, WM_LO, WMd.hi, WM_QUOTA, block, WM_HOLD, w, W, wm_ev,
				&WMd.ctx_w[w]);
		for (k = 0; k < WM_PER; k++) {
			s = WMd.n_subs++;
			WMd.sub[s] = sub_of(&WMd.sh, w, k);
			WMd.sub_w[s] = w;
			WMd.pin[s] = -1;
		}
	}
	for (it = 0; it < 20000; it++) {
		uint64_t r = nat_rand(&seed);
		int pi = (int)(r % 3), ai;
		uint8_t proto = protos[pi];

		s = (unsigned)((r >> 8) % WMd.n_subs);
		w = WMd.sub_w[s];
		if (((r >> 16) & 15) == 0) {
			WMd.now += (r >> 20) % 3;
			continue;
		}
		if (((r >> 24) & 31) == 1) {
			/* the subscriber leaves: all its ports go */
			uint32_t q;

			for (ai = 0; ai < WM_ADDRS; ai++)
				for (k = 0; k < 3; k++)
					for (q = 0; q < 65536; q++) {
						if (WMd.owner_s[ai][k][q] != s + 1)
							continue;
						WMd.owner_w[ai][k][q] = 0;
						WMd.owner_s[ai][k][q] = 0;
						cr_assert_eq(nat_ports_release(p[w], protos[k], WMd.sub[s],
									       WA[ai], (uint16_t)q,
									       WMd.now),
							     0, "it %d", it);
						WMd.held[ai][k][q] = WMd.now + WM_HOLD;
						WMd.count[s][k]--;
					}
			WMd.pin[s] = -1;
			cr_assert_eq(nat_ports_sub_addr(p[w], WMd.sub[s], &q), false);
		} else if (((r >> 24) & 3) == 0) {
			uint32_t q = 0;

			for (ai = 0; ai < WM_ADDRS; ai++)
				for (q = (uint32_t)(r >> 32) & 0x3ff; q < 65536; q++)
					if (WMd.owner_s[ai][pi][q] == s + 1)
						goto found;
			continue;
found:
			WMd.owner_w[ai][pi][q] = 0; /* before: the block event checks it */
			WMd.owner_s[ai][pi][q] = 0;
			cr_assert_eq(nat_ports_release(p[w], proto, WMd.sub[s], WA[ai], (uint16_t)q,
						       WMd.now),
				     0, "it %d", it);
			WMd.held[ai][pi][q] = WMd.now + WM_HOLD;
			WMd.count[s][pi]--;
			if (!WMd.count[s][0] && !WMd.count[s][1] && !WMd.count[s][2])
				WMd.pin[s] = -1;
		} else {
			uint16_t in_port, port = 0, pp;
			uint32_t a = 0, first, n, pa;
			bool pres[WM_ADDRS], can[WM_ADDRS], room[WM_ADDRS], predicted;
			int rc;

			nat_shard_dyn_blocks(&WMd.sh, w, &first, &n);
			switch ((r >> 40) & 3) {
			case 0: in_port = (uint16_t)(WM_LO + (r >> 44) % (WMd.hi - WM_LO + 1)); break;
			case 1: in_port = (uint16_t)((r >> 44) % 1024); break;
			case 2: in_port = (uint16_t)(r >> 44); break;
			default: /* one of its own dynamic ports */
				in_port = (uint16_t)(WM_LO + first * block +
						     (n ? (r >> 44) % (n * block) : 0));
				break;
			}
			for (ai = 0; ai < WM_ADDRS; ai++) {
				pres[ai] = wm_preserves(ai, pi, (int)s, w, in_port);
				can[ai] = wm_can(ai, pi, (int)s, w, in_port);
				room[ai] = wm_room(ai, pi, w);
			}
			predicted = nat_ports_predict(p[w], proto, WMd.sub[s], in_port, WMd.now, &pa,
						     &pp);
			rc = nat_ports_alloc(p[w], proto, WMd.sub[s], in_port, WMd.now, &a, &port);
			if (predicted) {
				cr_assert(rc == 0 && a == pa && port == pp,
					  "it %d: predicted %u, then rc %d port %u", it, pp, rc, port);
				n_predicted++;
			}
			if (rc == -EDQUOT) {
				cr_assert_geq(WMd.count[s][pi], WM_QUOTA, "it %d", it);
				continue;
			}
			cr_assert_lt(WMd.count[s][pi], WM_QUOTA, "it %d: quota not enforced", it);
			if (rc == -ENOSPC) {
				n_nospc++;
				if (WMd.pin[s] >= 0) {
					cr_assert_not(can[WMd.pin[s]], "it %d: ENOSPC with a port free",
						      it);
				} else {
					/* the first address with room (in an order of
					 * its own) is taken: one with room that could
					 * not serve, or none with room */
					bool excuse = true;

					for (ai = 0; ai < WM_ADDRS; ai++)
						if (room[ai])
							excuse = false;
					for (ai = 0; ai < WM_ADDRS; ai++)
						if (room[ai] && !can[ai])
							excuse = true;
					cr_assert(excuse, "it %d: ENOSPC, an address could serve", it);
				}
				continue;
			}
			cr_assert_eq(rc, 0, "it %d: rc %d", it, rc);
			ai = wm_aidx(a);
			cr_assert_geq(ai, 0);
			if (WMd.pin[s] >= 0)
				cr_assert_eq(ai, WMd.pin[s], "it %d: paired pooling broken", it);
			else
				cr_assert(room[ai], "it %d: pinned to an address without room", it);
			/* the worker's own port, in use nowhere, not held, never another's */
			cr_assert(wm_owned(w, port), "it %d: worker %u handed out port %u of %u", it, w,
				  port, nat_shard_port_owner(&WMd.sh, port));
			cr_assert_eq(WMd.owner_w[ai][pi][port], 0, "it %d: port %u in use by worker %u",
				     it, port, WMd.owner_w[ai][pi][port]);
			cr_assert_leq(WMd.held[ai][pi][port], WMd.now, "it %d: port %u held", it, port);
			cr_assert(WMd.ever_w[ai][pi][port] == 0 || WMd.ever_w[ai][pi][port] == w + 1,
				  "it %d: port %u from two workers", it, port);
			/* parity, low ports, range */
			if (pi != NAT_PI_ICMP) {
				cr_assert_eq(port & 1, in_port & 1, "it %d: parity", it);
				if (in_port < 1024)
					cr_assert(port >= 1 && port < 1024, "it %d", it);
				else
					cr_assert(port >= WM_LO && port <= WMd.hi, "it %d", it);
			} else {
				cr_assert(port == in_port || (port >= WM_LO && port <= WMd.hi), "it %d",
					  it);
			}
			/* preservation exactly when owned, free and eligible */
			cr_assert_eq(port == in_port, pres[ai],
				     "it %d: worker %u sub %u proto %u in %u out %u, expected %s", it,
				     w, s, proto, in_port, port, pres[ai] ? "kept" : "another");
			if (block > 1 && port >= WM_LO && port <= WMd.hi)
				cr_assert_eq(WMd.blk[ai][pi][(port - WM_LO) / block], s + 1,
					     "it %d: port %u outside the subscriber's blocks", it, port);
			WMd.owner_w[ai][pi][port] = (uint8_t)(w + 1);
			WMd.owner_s[ai][pi][port] = (uint8_t)(s + 1);
			WMd.ever_w[ai][pi][port] = (uint8_t)(w + 1);
			WMd.count[s][pi]++;
			WMd.pin[s] = ai;
			n_ok++;
			n_pres += port == in_port;
		}
		if ((it & 4095) == 0)
			wm_check_all(p, it);
	}
	wm_check_all(p, it);
	/* the run really exercised preservation and exhaustion */
	cr_assert_gt(n_pres, 100, "%lu preserved", (unsigned long)n_pres);
	cr_assert_gt(n_ok - n_pres, 100);
	cr_assert_gt(n_nospc, 10, "%lu ENOSPC", (unsigned long)n_nospc);
	cr_assert_gt(n_predicted, 20, "%lu predicted", (unsigned long)n_predicted);
	fprintf(stderr, "W %u block %u: %lu ok, %lu preserved, %lu ENOSPC\n", W, block,
		(unsigned long)n_ok, (unsigned long)n_pres, (unsigned long)n_nospc);
	for (w = 0; w < W; w++)
		nat_ports_free(p[w]);
}

Test(nat_ports, shard_workers_per_port, .timeout = 100)
{
	uint64_t seed = nat_test_seed("nat_ports shard_workers_per_port");
	static const unsigned ws[] = {2, 3, 7};
	unsigned i;

	for (i = 0; i < 3; i++)
		workers_run(ws[i], 1, 2095, seed + i); /* 96 ports */
}

Test(nat_ports, shard_workers_blocks, .timeout = 100)
{
	uint64_t seed = nat_test_seed("nat_ports shard_workers_blocks");
	static const unsigned ws[] = {2, 3, 7};
	unsigned i;

	for (i = 0; i < 3; i++)
		workers_run(ws[i], 4, WM_HI_MAX, seed + i);
}
