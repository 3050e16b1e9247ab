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
			uint16_t in_port, port;
			uint32_t a;
			int rc, ai, k;

			switch ((r >> 40) & 3) {
			case 0: in_port = (uint16_t)(M_LO + ((r >> 44) % 64)); break;
			case 1: in_port = (uint16_t)((r >> 44) % 1024); break;
			case 2: in_port = (uint16_t)(r >> 44); break;
			default: in_port = (uint16_t)(M_LO + 2 * s); break;
			}
			rc = nat_ports_alloc(p, proto, sub_addr(s), in_port, g_now, &a, &port);
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
