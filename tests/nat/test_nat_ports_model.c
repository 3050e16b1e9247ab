/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ports: random sequences of allocations, releases and clock steps
 * against a reference model that checks every answer (never evicts, quota,
 * paired pooling, parity, low ports, preservation, blocks) and every
 * prediction, per port and in blocks.  The seed is printed; NC_SEED=<n>
 * replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_ports.h"
#include "nat_ports_util.h"
#include "nat_test_util.h"

#define M_SUBS 6

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
