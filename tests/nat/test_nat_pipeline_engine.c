/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_pipeline on its netchannel engine and under generated traffic:
 * random UDP against a model of RFC 4787, rules as listeners and sessions
 * as netchannels found by two exact keys (a hairpin pair is one), the fast
 * path with a clock past 2^32, and a burst against the same frames one at
 * a time.  Every transmitted frame is re-verified.  NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_pipeline.h"
#include "nat_pipeline_util.h"
#include "nat_test_util.h"
#include "nat_test_eal.h"
#include "netchannel.h"

NAT_TEST_EAL_SUITE(nat_pipeline);

/*
 * Random UDP traffic through the whole pipeline against a model of
 * RFC 4787: endpoint-independent mappings, the filtering mode, refresh by
 * outbound packets only, 300 s expiry, 120 s hold-down of freed external
 * ports, every transmitted frame's checksums.  NC_SEED replays.
 */
#define MH 4  /* inside hosts */
#define MP 4  /* ports per host */
#define MR 3  /* remote hosts */
#define MRP 2 /* ports per remote */

struct mmap {
	bool live;
	uint16_t ep;                  /* external port (single pool address) */
	bool sess[MR][MRP];
	uint64_t last[MR][MRP];
};

static uint32_t m_host(int h) { return IP4(10, 0, 0, 10 + h); }
static uint32_t m_rem(int r) { return IP4(192, 0, 2, 10 + r); }
static const uint16_t m_hport[MP] = {1000, 1001, 5000, 5001};
static const uint16_t m_rport[MRP] = {53, 54};

static void random_filtering(enum nat_filtering mode, const char *conf, uint64_t seed)
{
	static struct mmap mm[MH][MP];
	static uint64_t freed_at[65536];
	struct nat_pipeline *p = mk(conf);
	uint64_t now = 1000;
	uint8_t b[256];
	int it, h, k, r, q;

	memset(mm, 0, sizeof(mm));
	memset(freed_at, 0, sizeof(freed_at));
	for (it = 0; it < 4000; it++) {
		uint64_t x = nat_rand(&seed);
		struct mmap *m;
		size_t n;

		now += x % 23;
		cr_assert_geq(nat_pipeline_expire(p, now, 2048), 0);
		/* model expiry */
		for (h = 0; h < MH; h++)
			for (k = 0; k < MP; k++) {
				bool any = false;

				m = &mm[h][k];
				if (!m->live)
					continue;
				for (r = 0; r < MR; r++)
					for (q = 0; q < MRP; q++) {
						if (m->sess[r][q] && now - m->last[r][q] >= 300)
							m->sess[r][q] = false;
						any |= m->sess[r][q];
					}
				if (!any) {
					m->live = false;
					freed_at[m->ep] = now;
				}
			}
		h = (int)((x >> 8) % MH);
		k = (int)((x >> 12) % MP);
		r = (int)((x >> 16) % MR);
		q = (int)((x >> 20) % MRP);
		m = &mm[h][k];
		if ((x >> 24) & 1) {
			struct nc_pkt_info pi;
			int h2, k2;

			n = pkt(b, 17, m_host(h), m_rem(r), m_hport[k], m_rport[q], 0, H1_MAC);
			cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, now),
				     NAT_TX_OUTSIDE, "it %d", it);
			pi = check(b, n);
			cr_assert_eq(pi.key.src.v4, POOL);
			if (m->live) {
				cr_assert_eq(pi.key.sport, m->ep, "it %d: mapping changed", it);
			} else {
				/* new: not another live mapping's, not freed < 120 s ago */
				for (h2 = 0; h2 < MH; h2++)
					for (k2 = 0; k2 < MP; k2++)
						cr_assert(!mm[h2][k2].live || mm[h2][k2].ep != pi.key.sport,
							  "it %d: external port shared", it);
				cr_assert(freed_at[pi.key.sport] == 0 ||
						  now - freed_at[pi.key.sport] >= 120,
					  "it %d: port %u reused %lu s after release", it, pi.key.sport,
					  (unsigned long)(now - freed_at[pi.key.sport]));
				memset(m, 0, sizeof(*m));
				m->live = true;
				m->ep = pi.key.sport;
			}
			m->sess[r][q] = true;
			m->last[r][q] = now; /* outbound refreshes */
		} else {
			/* inbound to a live mapping's port, or to a random port */
			uint16_t ep = m->live ? m->ep : (uint16_t)(1024 + (x >> 32) % 64);
			bool allowed = false, exists = false;
			enum nat_verdict v;
			int h2, k2, hh = -1, kk = -1;
			int rr, qq;

			for (h2 = 0; h2 < MH; h2++)
				for (k2 = 0; k2 < MP; k2++)
					if (mm[h2][k2].live && mm[h2][k2].ep == ep) {
						hh = h2;
						kk = k2;
					}
			if (hh >= 0) {
				m = &mm[hh][kk];
				exists = m->sess[r][q];
				for (rr = 0; rr < MR; rr++)
					for (qq = 0; qq < MRP; qq++)
						if (m->sess[rr][qq] && rr == r)
							allowed = true;
				allowed = exists || mode == NAT_FILTER_EIF ||
					  (mode == NAT_FILTER_ADF && allowed);
			}
			n = pkt(b, 17, m_rem(r), POOL, m_rport[q], ep, 0, GW_MAC);
			v = nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, now);
			cr_assert_eq(v, allowed ? NAT_TX_INSIDE : NAT_DROP, "it %d: mode %d", it, mode);
			if (allowed) {
				struct nc_pkt_info pi = check(b, n);

				cr_assert_eq(pi.key.dst.v4, m_host(hh));
				cr_assert_eq(pi.key.dport, m_hport[kk]);
				if (!exists) {
					m->sess[r][q] = true;
					m->last[r][q] = now; /* created, never refreshed inbound */
				}
			}
		}
	}
	/* the run covered what it checks */
	cr_assert_gt(cnt(p, NAT_CNT_OUT2IN_PKTS), 100);
	cr_assert_gt(cnt(p, NAT_CNT_MAPPINGS_FREED), 10);
	cr_assert_gt(cnt(p, NAT_CNT_DROP_NO_SESSION), 10);
	if (mode != NAT_FILTER_EIF)
		cr_assert_gt(cnt(p, NAT_CNT_DROP_FILTERED), 10);
	nat_pipeline_free(p);
}

Test(nat_pipeline, random_udp_vs_model)
{
	uint64_t seed = nat_test_seed("nat_pipeline random_udp_vs_model");

	random_filtering(NAT_FILTER_APDF, "sessions 1024\nquota 64\nports 1024-1087", seed);
	random_filtering(NAT_FILTER_ADF, "sessions 1024\nquota 64\nports 1024-1087\nfiltering address-dependent",
			 seed + 1);
	random_filtering(NAT_FILTER_EIF,
			 "sessions 1024\nquota 64\nports 1024-1087\nfiltering endpoint-independent", seed + 2);
}

/* ---- the netchannel structure: rules are listeners, sessions are
 * netchannels found by two exact keys ---- */

static struct nc_engine_stats est(struct nat_pipeline *p)
{
	struct nc_engine_stats st;

	nat_pipeline_engine_stats(p, &st);
	return st;
}

Test(nat_pipeline, sessions_are_netchannels)
{
	struct nat_pipeline *p = mk("");
	/* listeners: 4 rules (drop, snat, masquerade, dnat) + pool + outside address */
	const uint32_t listeners = 6;
	struct nc_engine_stats s0 = est(p), s1;
	uint8_t b[256];
	size_t n;
	int i;

	cr_assert_eq(s0.channels, listeners);
	cr_assert_eq(s0.flows, 0);
	/* first packet: flow-table miss, a listener creates the session */
	for (i = 0; i < 10; i++) {
		n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1),
			     NAT_TX_OUTSIDE);
	}
	s1 = est(p);
	cr_assert_eq(s1.channels, listeners + 1);
	cr_assert_eq(s1.flows, 2, "one session: its inside and its outside key");
	cr_assert_eq(s1.listener_hits - s0.listener_hits, 1);
	cr_assert_eq(s1.flow_hits - s0.flow_hits, 9, "later packets take the fast path");
	/* the answer hits the outside key */
	n = pkt(b, 17, R1, POOL, 53, 4000, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2), NAT_TX_INSIDE);
	cr_assert_eq(est(p).flow_hits - s1.flow_hits, 1);
	/* a second remote: a second session netchannel on the same mapping */
	n = pkt(b, 17, IN1, R2, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_OUTSIDE);
	cr_assert_eq(est(p).flows, 4);
	cr_assert_eq(nat_pipeline_sessions(p), 2);
	cr_assert_eq(nat_pipeline_mappings(p), 2, "IN1's and the dnat rule's static one");
	/* expiry removes the keys, and the netchannels go with them */
	cr_assert_eq(nat_pipeline_expire(p, 1000, 1 << 16), 2);
	cr_assert_eq(est(p).flows, 0);
	cr_assert_eq(est(p).channels, listeners);
	/* an unsolicited inbound packet finds no key and creates none */
	n = pkt(b, 17, R1, POOL, 53, 4000, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1001), NAT_DROP);
	cr_assert_eq(est(p).flows, 0);
	nat_pipeline_free(p);
}

Test(nat_pipeline, hairpin_pair_is_one_netchannel)
{
	struct nat_pipeline *p = mk("filtering endpoint-independent");
	uint32_t listeners = est(p).channels;
	uint8_t b[256];
	size_t n;

	/* IN2 gets a mapping (198.51.100.1:5000 if free) by talking out */
	n = pkt(b, 17, IN2, R1, 5000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	cr_assert_eq(check(b, n).key.sport, 5000);
	/* IN1 sends to IN2's external endpoint: hairpinned back inside */
	n = pkt(b, 17, IN1, POOL, 4000, 5000, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 2), NAT_TX_INSIDE);
	cr_assert_eq(check(b, n).key.dst.v4, IN2);
	cr_assert_eq(check(b, n).key.src.v4, POOL);
	/* IN2 -> R1 (2 keys) + the hairpin pair (the two inside keys) */
	cr_assert_eq(est(p).flows, 4);
	cr_assert_eq(est(p).channels, listeners + 2);
	/* both directions of the pair now take the fast path */
	uint64_t hits = est(p).flow_hits;

	n = pkt(b, 17, IN1, POOL, 4000, 5000, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_INSIDE);
	n = pkt(b, 17, IN2, POOL, 5000, 4000, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_INSIDE);
	cr_assert_eq(check(b, n).key.dst.v4, IN1);
	cr_assert_eq(check(b, n).key.dport, 4000);
	cr_assert_eq(check(b, n).key.sport, 5000);
	cr_assert_eq(est(p).flow_hits - hits, 2);
	/* IN2 -> R1, and the pair: IN1 with IN2's external endpoint, IN2 with IN1's */
	cr_assert_eq(nat_pipeline_sessions(p), 3);
	cr_assert_eq(nat_pipeline_expire(p, 10000, 1 << 16), 3);
	cr_assert_eq(est(p).flows, 0);
	cr_assert_eq(est(p).channels, listeners);
	nat_pipeline_free(p);
}

/* The fast path keeps a session's last use in 32 bits (its netchannel's
 * copy); a clock past 2^32 goes to the session's record instead, and
 * expiry sees the same times as below it. */
Test(nat_pipeline, fast_path_clock_past_2_32)
{
	struct nat_pipeline *p = mk("");
	const uint64_t t0 = (1ull << 32) - 10, t1 = (1ull << 32) + 100;
	uint64_t hits;
	uint8_t b[256];
	size_t n;

	n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, t0), NAT_TX_OUTSIDE);
	hits = est(p).flow_hits;
	n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, t1), NAT_TX_OUTSIDE);
	/* an inbound packet later still does not refresh */
	n = pkt(b, 17, R1, POOL, 53, 4000, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, t1 + 200),
		     NAT_TX_INSIDE);
	cr_assert_eq(est(p).flow_hits - hits, 2, "both on the fast path");
	cr_assert_eq(nat_pipeline_expire(p, t1 + 299, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, t1 + 300, 1 << 16), 1);
	cr_assert_eq(est(p).flows, 0);
	/* a session made past 2^32 refreshes on the fast path too */
	n = pkt(b, 17, IN2, R2, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, t1 + 400),
		     NAT_TX_OUTSIDE);
	n = pkt(b, 17, IN2, R2, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, t1 + 600),
		     NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_expire(p, t1 + 899, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, t1 + 900, 1 << 16), 1);
	nat_pipeline_free(p);
}

/* A burst gives what the same frames give one at a time (a twin pipeline):
 * the same verdicts, bytes, counters and sessions.  Order is kept within a
 * flow (a netchannel gets its packets in arrival order), not across flows
 * (each netchannel's packets are handled together), so the frames sent on
 * a side are compared as a set. */
Test(nat_pipeline, burst_equals_single_frames)
{
	struct nat_pipeline *pb = mk("filtering endpoint-independent");
	struct nat_pipeline *ps = mk("filtering endpoint-independent");
	uint64_t seed = nat_test_seed("nat_pipeline burst_equals_single_frames");
	static uint8_t fb[NAT_RX_MAX][256], fs[NAT_RX_MAX][256];
	uint8_t *frames[NAT_RX_MAX];
	uint32_t lens[NAT_RX_MAX];
	void *cookies[NAT_RX_MAX];
	int round, i, c;

	for (round = 0; round < 200; round++) {
		enum nat_side side = nat_rand(&seed) & 1 ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;
		unsigned nb = 1 + (unsigned)(nat_rand(&seed) % NAT_RX_MAX);
		enum nat_verdict vs[NAT_RX_MAX];
		void *const *tx;
		unsigned k, nt;

		for (k = 0; k < nb; k++) {
			uint64_t r = nat_rand(&seed);
			uint8_t proto = (r & 3) == 0 ? 6 : 17;
			uint16_t lport = (uint16_t)(4000 + (r >> 8) % 8);
			uint16_t rport = (uint16_t)(53 + (r >> 16) % 3);
			uint32_t host = (r >> 24) & 1 ? IN1 : IN2, rem = (r >> 25) & 1 ? R1 : R2;
			uint8_t flags = (r >> 26) & 1 ? 0x02 : 0x10;
			size_t n = side == NAT_SIDE_INSIDE
					   ? pkt(fb[k], proto, host, rem, lport, rport, flags, H1_MAC)
					   : pkt(fb[k], proto, rem, POOL, rport, lport, flags, GW_MAC);

			memcpy(fs[k], fb[k], n);
			frames[k] = fb[k];
			lens[k] = (uint32_t)n;
			cookies[k] = fb[k];
		}
		for (k = 0; k < nb; k++)
			vs[k] = nat_pipeline_process(ps, fs[k], lens[k], side, (uint64_t)round);
		cr_assert_eq(nat_pipeline_rx(pb, side, frames, lens, cookies, nb, (uint64_t)round), 0);
		/* every frame sent by the single path is listed, in order, on
		 * its side, with the same bytes */
		for (c = 0; c < 2; c++) {
			nt = nat_pipeline_tx(pb, (enum nat_side)c, &tx);
			i = 0;
			for (k = 0; k < nb; k++) {
				bool sent = (c == NAT_SIDE_INSIDE && vs[k] == NAT_TX_INSIDE) ||
					    (c == NAT_SIDE_OUTSIDE && vs[k] == NAT_TX_OUTSIDE);
				unsigned j, seen = 0;

				for (j = 0; j < nt; j++)
					seen += tx[j] == fb[k];
				cr_assert_eq(seen, sent ? 1u : 0u, "round %d frame %u side %d", round, k, c);
				if (sent)
					cr_assert_arr_eq(fb[k], fs[k], lens[k], "round %d frame %u bytes",
							 round, k);
				i += sent;
			}
			cr_assert_eq((unsigned)i, nt, "round %d: extra frames on side %d", round, c);
		}
	}
	for (c = 0; c < NAT_CNT_COUNT; c++)
		cr_assert_eq(cnt(pb, (enum nat_counter)c), cnt(ps, (enum nat_counter)c), "counter %s",
			     nat_counter_name((enum nat_counter)c));
	cr_assert_eq(nat_pipeline_sessions(pb), nat_pipeline_sessions(ps));
	cr_assert_eq(est(pb).flows, est(ps).flows);
	/* and the run did exercise both paths in both directions */
	cr_assert_gt(cnt(pb, NAT_CNT_IN2OUT_PKTS), 100);
	cr_assert_gt(cnt(pb, NAT_CNT_OUT2IN_PKTS), 100);
	cr_assert_gt(est(pb).flow_hits, 100);
	cr_assert_gt(est(pb).listener_hits, 100);
	nat_pipeline_free(pb);
	nat_pipeline_free(ps);
}
