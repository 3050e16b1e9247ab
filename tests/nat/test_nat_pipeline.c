/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_pipeline: behaviour of the whole NAT on hand-built frames — RFC 4787
 * mapping/filtering/hairpinning/refresh, RFC 5382 (no state from an
 * unsolicited SYN, simultaneous open), RFC 5508 (echo ids, errors never
 * create state), RFC 6888 (quota -> ICMP unreachable, logging), ARP, DNAT
 * (and a port forward deleted at run time), TTL, and the counters.  Every
 * transmitted frame is re-verified.  The netchannel engine underneath and
 * generated traffic are in test_nat_pipeline_engine.c.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_pipeline.h"
#include "nat_pipeline_util.h"
#include "nat_test_util.h"
#include "nat_test_eal.h"
#include "netchannel.h"

NAT_TEST_EAL_SUITE(nat_pipeline);

Test(nat_pipeline, bad_arguments)
{
	struct nat_pipeline *p = (void *)1;

	cr_assert_eq(nat_pipeline_create(NULL, NULL, &p), -EINVAL);
	cr_assert_null(p);
	nat_pipeline_free(NULL);
	p = mk("");
	cr_assert_eq(nat_pipeline_process(p, NULL, 0, NAT_SIDE_INSIDE, 0), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_PARSE), 1);
	cr_assert_null(nat_pipeline_reply(p, NULL, NULL));
	nat_pipeline_free(p);
}

Test(nat_pipeline, udp_eim_and_filtering_apdf)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256];
	size_t n;
	struct nc_pkt_info pi;

	n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 10), NAT_TX_OUTSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.src.v4, POOL);
	cr_assert_eq(pi.key.sport, 4000);
	cr_assert_eq(pi.ttl, 63);
	cr_assert_eq(memcmp(b, GW_MAC, 6), 0);
	cr_assert_eq(memcmp(b + 6, OUT_MAC, 6), 0);
	cr_assert_eq(nat_pipeline_log_lines(p), 1);
	/* same inside endpoint to another remote: same mapping (EIM) */
	n = pkt(b, 17, IN1, R2, 4000, 99, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 11), NAT_TX_OUTSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.sport, 4000);
	cr_assert_eq(nat_pipeline_mappings(p), 2); /* + the dnat static one */
	cr_assert_eq(nat_pipeline_sessions(p), 2);
	/* reply */
	n = pkt(b, 17, R1, POOL, 53, 4000, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 12), NAT_TX_INSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.dst.v4, IN1);
	cr_assert_eq(pi.key.dport, 4000);
	cr_assert_eq(memcmp(b, H1_MAC, 6), 0);
	cr_assert_eq(memcmp(b + 6, IN_MAC, 6), 0);
	/* APDF: same remote address, other port: filtered */
	n = pkt(b, 17, R1, POOL, 54, 4000, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 12), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_FILTERED), 1);
	/* nothing mapped there */
	n = pkt(b, 17, R1, POOL, 53, 4001, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 12), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_NO_SESSION), 1);
	cr_assert_eq(cnt(p, NAT_CNT_IN2OUT_PKTS), 2);
	cr_assert_eq(cnt(p, NAT_CNT_IN2OUT_UDP), 2);
	cr_assert_eq(cnt(p, NAT_CNT_OUT2IN_PKTS), 1);
	cr_assert_eq(cnt(p, NAT_CNT_OUT2IN_UDP), 1);
	cr_assert_eq(cnt(p, NAT_CNT_OUT2IN_TCP), 0);
	nat_pipeline_free(p);
}

Test(nat_pipeline, filtering_eif_adf)
{
	const char *modes[2] = {"filtering endpoint-independent", "filtering address-dependent"};
	int k;

	for (k = 0; k < 2; k++) {
		struct nat_pipeline *p = mk(modes[k]);
		uint8_t b[256];
		size_t n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);

		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
		n = pkt(b, 17, R1, POOL, 54, 4000, 0, GW_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2), NAT_TX_INSIDE);
		n = pkt(b, 17, R2, POOL, 53, 4000, 0, GW_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2),
			     k == 0 ? NAT_TX_INSIDE : NAT_DROP);
		nat_pipeline_free(p);
	}
}

Test(nat_pipeline, udp_refresh_outbound_only_and_expiry)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256];
	size_t n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	int t;

	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 0), NAT_TX_OUTSIDE);
	/* inbound packets do not refresh: gone 300 s after the outbound one */
	for (t = 50; t < 300; t += 50) {
		n = pkt(b, 17, R1, POOL, 53, 4000, 0, GW_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, (uint64_t)t),
			     NAT_TX_INSIDE);
	}
	cr_assert_eq(nat_pipeline_expire(p, 299, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 300, 1 << 16), 1);
	cr_assert_eq(nat_pipeline_mappings(p), 1);
	cr_assert_eq(cnt(p, NAT_CNT_MAPPINGS_FREED), 1);
	cr_assert_eq(nat_pipeline_log_lines(p), 2);
	/* the port is held for 120 s: a new mapping gets another port */
	n = pkt(b, 17, IN2, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 301), NAT_TX_OUTSIDE);
	cr_assert_neq(check(b, n).key.sport, 4000);
	/* an outbound packet refreshes */
	n = pkt(b, 17, IN2, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 500), NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_expire(p, 601, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 800, 1 << 16), 1);
	nat_pipeline_free(p);
}

Test(nat_pipeline, tcp_rules)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256];
	size_t n;

	/* unsolicited inbound SYN: no state */
	n = pkt(b, 6, R1, POOL, 5555, 4000, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_NO_SESSION), 1);
	/* inside ACK without a session */
	n = pkt(b, 6, IN1, R1, 4000, 80, 0x10, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_TCP_NO_SYN), 1);
	/* simultaneous open: SYN out, SYN in, SYN+ACK both ways, ACK */
	n = pkt(b, 6, IN1, R1, 4000, 80, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	n = pkt(b, 6, R1, POOL, 80, 4000, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, R1, POOL, 80, 4000, 0x12, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, IN1, R1, 4000, 80, 0x10, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	/* another remote's SYN to the same mapping: unsolicited */
	n = pkt(b, 6, R2, POOL, 80, 4000, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_TCP_UNSOLICITED_SYN), 1);
	/* established: 2 h 4 min */
	cr_assert_eq(nat_pipeline_expire(p, 1 + 7439, 1 << 16), 0);
	/* RST: transitory */
	n = pkt(b, 6, R1, POOL, 80, 4000, 0x14, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 100), NAT_TX_INSIDE);
	cr_assert_eq(nat_pipeline_expire(p, 339, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 340, 1 << 16), 1);
	nat_pipeline_free(p);
}

Test(nat_pipeline, dnat_and_hairpin)
{
	struct nat_pipeline *p = mk("filtering endpoint-independent");
	uint8_t b[256];
	size_t n;
	struct nc_pkt_info pi;
	const uint8_t srv_mac[6] = {2, 0, 0, 0, 0x0a, 0x50};

	/* learn the server's MAC (ARP from it) */
	memset(b, 0, sizeof(b));
	memset(b, 0xff, 6);
	memcpy(b + 6, srv_mac, 6);
	b[12] = 0x08;
	b[13] = 0x06;
	nat_put16(b + 14, 1);
	nat_put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	nat_put16(b + 20, 1);
	memcpy(b + 22, srv_mac, 6);
	nat_put32(b + 28, SRV);
	nat_put32(b + 38, IP4(10, 0, 0, 1));
	cr_assert_eq(nat_pipeline_process(p, b, 60, NAT_SIDE_INSIDE, 1), NAT_TX_INSIDE);
	cr_assert_eq(nat_get16(b + 20), 2);
	cr_assert_eq(memcmp(b + 22, IN_MAC, 6), 0);
	cr_assert_eq(nat_get32(b + 28), IP4(10, 0, 0, 1));
	cr_assert_eq(memcmp(b, srv_mac, 6), 0);
	cr_assert_eq(cnt(p, NAT_CNT_ARP_REPLIES), 1);
	/* port forward: outside SYN to 203.0.113.1:8080 -> 10.0.0.80:80 */
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.dst.v4, SRV);
	cr_assert_eq(pi.key.dport, 80);
	cr_assert_eq(memcmp(b, srv_mac, 6), 0);
	n = pkt(b, 6, SRV, R1, 80, 6000, 0x12, srv_mac);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.src.v4, OUTA);
	cr_assert_eq(pi.key.sport, 8080);
	/* the same client port reopens the forward after a reset and after a
	 * close (FIN both ways, last ACK): its SYN is a new connection */
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x04, GW_MAC); /* RST */
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE,
		     "SYN after RST reopens a port forward");
	n = pkt(b, 6, SRV, R1, 80, 6000, 0x12, srv_mac);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x10, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x11, GW_MAC); /* FIN */
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, SRV, R1, 80, 6000, 0x11, srv_mac);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x10, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_TX_INSIDE,
		     "SYN after a close reopens a port forward");
	cr_assert_eq(cnt(p, NAT_CNT_DROP_TCP_STATE), 0);
	/* a dynamic mapping is not reopened from outside */
	n = pkt(b, 6, IN1, R2, 4200, 80, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	pi = check(b, n);
	{
		uint16_t ep = pi.key.sport;

		n = pkt(b, 6, IN1, R2, 4200, 80, 0x04, H1_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1),
			     NAT_TX_OUTSIDE);
		n = pkt(b, 6, R2, POOL, 80, ep, 0x02, GW_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
		cr_assert_eq(cnt(p, NAT_CNT_DROP_TCP_STATE), 1);
	}
	/* hairpin: an inside host (UDP mapping first) reaches another's mapping */
	n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 2), NAT_TX_OUTSIDE);
	n = pkt(b, 17, IN2, POOL, 7000, 4000, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_INSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.dst.v4, IN1);
	cr_assert_eq(pi.key.dport, 4000);
	cr_assert_eq(pi.key.src.v4, POOL); /* the sender's external endpoint */
	cr_assert_eq(pi.key.sport, 7000);
	cr_assert_eq(cnt(p, NAT_CNT_HAIRPIN_PKTS), 1);
	/* TCP hairpin to the dnat port */
	n = pkt(b, 6, IN1, OUTA, 4100, 8080, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_INSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.dst.v4, SRV);
	cr_assert_eq(pi.key.src.v4, POOL);
	nat_pipeline_free(p);
}

Test(nat_pipeline, icmp_echo_and_errors)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256], orig[256];
	size_t n, no;
	struct nc_pkt_info pi;
	uint64_t sessions;

	n = pkt(b, 1, IN1, R1, 77, 1, 8, H1_MAC); /* echo request id 77 */
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.key.src.v4, POOL);
	no = n;
	memcpy(orig, b, n);
	n = pkt(b, 1, R1, POOL, pi.icmp_id, 1, 0, GW_MAC); /* echo reply */
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2), NAT_TX_INSIDE);
	pi = check(b, n);
	cr_assert_eq(pi.icmp_id, 77);
	cr_assert_eq(pi.key.dst.v4, IN1);
	/* an echo request from outside is not translated */
	n = pkt(b, 1, R1, POOL, 1, 1, 8, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_ICMP_TYPE), 1);
	/* a UDP packet out, then an error about it from a router */
	n = pkt(b, 17, IN1, R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 3), NAT_TX_OUTSIDE);
	sessions = nat_pipeline_sessions(p);
	no = nat_build_icmp_error(orig, 11, 0, IP4(192, 0, 2, 254), POOL, b, n - 14);
	memcpy(orig + 6, GW_MAC, 6);
	cr_assert_eq(nat_pipeline_process(p, orig, (uint32_t)no, NAT_SIDE_OUTSIDE, 4), NAT_TX_INSIDE);
	pi = check(orig, no);
	cr_assert_eq(pi.key.dst.v4, IN1);
	cr_assert_eq(pi.inner.key.src.v4, IN1);
	cr_assert_eq(pi.inner.key.sport, 4000);
	cr_assert_eq(cnt(p, NAT_CNT_OUT2IN_ICMP_ERR), 1);
	cr_assert_eq(nat_pipeline_sessions(p), sessions); /* never creates */
	/* an error about a packet with no mapping: dropped */
	n = pkt(b, 17, POOL, R1, 4444, 53, 0, GW_MAC);
	no = nat_build_icmp_error(orig, 3, 3, R1, POOL, b, n - 14);
	cr_assert_eq(nat_pipeline_process(p, orig, (uint32_t)no, NAT_SIDE_OUTSIDE, 4), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_ICMP_ERR_NO_SESSION), 1);
	nat_pipeline_free(p);
}

Test(nat_pipeline, quota_gives_icmp_unreachable)
{
	struct nat_pipeline *p = mk("ports 1024-1027\nquota 2");
	uint8_t b[256];
	size_t n;
	uint32_t rl;
	enum nat_side side;
	const uint8_t *r;
	int i;

	for (i = 0; i < 2; i++) {
		n = pkt(b, 17, IN1, R1, (uint16_t)(5000 + 2 * i), 53, 0, H1_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_TX_OUTSIDE);
		cr_assert_null(nat_pipeline_reply(p, NULL, NULL));
	}
	n = pkt(b, 17, IN1, R1, 5004, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_QUOTA), 1);
	r = nat_pipeline_reply(p, &rl, &side);
	cr_assert_not_null(r);
	cr_assert_eq(side, NAT_SIDE_INSIDE);
	cr_assert_null(nat_verify(r, rl));
	cr_assert_eq(r[14 + 20], 3);
	cr_assert_eq(r[14 + 21], 1);
	cr_assert_eq(memcmp(r, H1_MAC, 6), 0);
	/* another subscriber: no even port left in 1024-1027 -> exhausted */
	n = pkt(b, 17, IN2, R1, 5000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_PORTS_EXHAUSTED), 1);
	cr_assert_eq(cnt(p, NAT_CNT_ICMP_UNREACH_SENT), 2);
	nat_pipeline_free(p);
}

Test(nat_pipeline, rules_ttl_and_junk)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256];
	size_t n;
	int c;

	n = pkt(b, 17, IP4(10, 0, 0, 66), R1, 4000, 53, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_RULE), 1);
	n = nat_build(b, 17, IN1, R1, 4000, 53, 0, 10, 1, false, 1);
	memcpy(b + 6, H1_MAC, 6);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_TTL), 1);
	{
		/* ICMP time exceeded back to the sender, from the inside address,
		 * quoting the expired packet's header */
		uint32_t rl;
		enum nat_side rs;
		const uint8_t *r = nat_pipeline_reply(p, &rl, &rs);
		struct nc_pkt_info ri;

		cr_assert_not_null(r);
		cr_assert_eq(rs, NAT_SIDE_INSIDE);
		cr_assert_arr_eq(r, H1_MAC, 6);
		cr_assert_arr_eq(r + 6, IN_MAC, 6);
		ri = check(r, rl);
		cr_assert_eq(ri.key.proto, 1);
		cr_assert_eq(ri.icmp_type, 11);
		cr_assert_eq(ri.key.src.v4, IP4(10, 0, 0, 1));
		cr_assert_eq(ri.key.dst.v4, IN1);
		cr_assert(ri.flags & NC_PF_ICMP_ERROR);
		cr_assert_eq(ri.inner.key.src.v4, IN1);
		cr_assert_eq(ri.inner.key.dport, 53);
		cr_assert_eq(cnt(p, NAT_CNT_ICMP_TIME_EXCEEDED_SENT), 1);
	}
	n = pkt(b, 47, IN1, R1, 0, 0, 0, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, 40, NAT_SIDE_INSIDE, 1), NAT_DROP);
	n = pkt(b, 17, R1, IP4(203, 0, 113, 77), 1, 2, 0, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_NOT_FOR_US), 1);
	/* every dropped packet counted once in exactly one drop counter */
	for (c = 0, n = 0; c < NAT_CNT_COUNT; c++)
		if (strncmp(nat_counter_name(c), "drop_", 5) == 0)
			n += nat_pipeline_counters(p)->v[c];
	cr_assert_eq(n, 4);
	cr_assert_str_eq(nat_counter_name(NAT_CNT_DROP_QUOTA), "drop_quota");
	cr_assert_str_eq(nat_counter_name(-1), "unknown");
	nat_pipeline_free(p);
}

Test(nat_pipeline, arp_request_for_unknown_next_hop)
{
	struct nat_pipeline *p = mk("");
	uint8_t b[256];
	const uint8_t *r;
	uint32_t rl;
	enum nat_side side;
	const uint8_t srv_mac[6] = {2, 0, 0, 0, 0x0a, 0x50};
	size_t n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);

	/* the dnat server's MAC is unknown: dropped, and asked for */
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
	cr_assert_eq(cnt(p, NAT_CNT_DROP_NO_NEIGH), 1);
	r = nat_pipeline_reply(p, &rl, &side);
	cr_assert_not_null(r);
	cr_assert_eq(side, NAT_SIDE_INSIDE);
	cr_assert_eq(rl, 60);
	cr_assert_eq(nat_get16(r + 12), 0x0806);
	cr_assert_eq(nat_get16(r + 20), 1);
	cr_assert_eq(memcmp(r + 6, IN_MAC, 6), 0);
	cr_assert_eq(nat_get32(r + 28), IP4(10, 0, 0, 1));
	cr_assert_eq(nat_get32(r + 38), SRV);
	/* not again within the same second */
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 1), NAT_DROP);
	cr_assert_null(nat_pipeline_reply(p, NULL, NULL));
	cr_assert_eq(cnt(p, NAT_CNT_ARP_REQUESTS), 1);
	/* the answer is learned (an ARP reply is consumed) */
	memset(b, 0, 60);
	memcpy(b, IN_MAC, 6);
	memcpy(b + 6, srv_mac, 6);
	nat_put16(b + 12, 0x0806);
	nat_put16(b + 14, 1);
	nat_put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	nat_put16(b + 20, 2);
	memcpy(b + 22, srv_mac, 6);
	nat_put32(b + 28, SRV);
	memcpy(b + 32, IN_MAC, 6);
	nat_put32(b + 38, IP4(10, 0, 0, 1));
	cr_assert_eq(nat_pipeline_process(p, b, 60, NAT_SIDE_INSIDE, 2), NAT_DROP);
	n = pkt(b, 6, R1, OUTA, 6000, 8080, 0x02, GW_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_OUTSIDE, 2), NAT_TX_INSIDE);
	cr_assert_eq(memcmp(b, srv_mac, 6), 0);
	nat_pipeline_free(p);
}

Test(nat_pipeline, port_blocks_logged)
{
	char text[1024], *log = NULL;
	size_t logsize = 0;
	FILE *f = open_memstream(&log, &logsize);
	struct nat_config *c = NULL;
	struct nat_pipeline *p = NULL;
	char err[256] = "";
	uint8_t b[256];
	size_t n;
	int i;

	cr_assert_not_null(f);
	snprintf(text, sizeof(text),
		 "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
		 "outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n"
		 "pool 198.51.100.1\nports 2048-2111\nquota 16\nport-block 8\nhold-down 0\n"
		 "snat src 10.0.0.0/24\n");
	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nat_pipeline_create(c, f, &p), 0);
	nat_config_free(c);
	/* 5 even ports from one subscriber: two blocks of 8 (4 even ports each) */
	for (i = 0; i < 5; i++) {
		n = pkt(b, 17, IN1, R1, (uint16_t)(7000 + 2 * i), 53, 0, H1_MAC);
		cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 100), NAT_TX_OUTSIDE);
		cr_assert(check(b, n).key.sport >= 2048 && check(b, n).key.sport <= 2111);
	}
	cr_assert_eq(nat_pipeline_log_lines(p), 2);
	cr_assert_eq(nat_pipeline_expire(p, 400, 1 << 17), 5);
	cr_assert_eq(nat_pipeline_log_lines(p), 4);
	fflush(f);
	cr_assert_not_null(strstr(log, "100 nat block-alloc udp 10.0.0.5 -> 198.51.100.1:"), "%s", log);
	cr_assert_not_null(strstr(log, "400 nat block-free udp 10.0.0.5 -> 198.51.100.1:"), "%s", log);
	cr_assert_null(strstr(log, "map-create"), "%s", log);
	nat_pipeline_free(p);
	fclose(f);
	free(log);
}

/* A port forward deleted at run time gives its external port back: held
 * for hold-down like any freed port, then handed out (here: preserved for a
 * masquerade client whose own port it is). */
Test(nat_pipeline, deleted_port_forward_frees_its_port)
{
	struct nat_pipeline *p = mk("");
	const struct nat_config *c = nat_pipeline_config(p);
	uint8_t b[256];
	size_t n;
	char err[256];
	uint32_t idx;

	/* before: 8080 is the forward's, so the client gets another port */
	n = pkt(b, 6, IP4(10, 0, 0, 130), IP4(192, 0, 2, 1), 8080, 80, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1000), NAT_TX_OUTSIDE);
	cr_assert_eq(check(b, n).key.src.v4, IP4(203, 0, 113, 1));
	cr_assert_neq(check(b, n).key.sport, 8080);
	for (idx = 0; idx < c->n_rules && c->rules[idx].action != NAT_ACT_DNAT; idx++)
		;
	cr_assert_lt(idx, c->n_rules);
	cr_assert_eq(nat_pipeline_rule_delete(p, idx, 1000, err, sizeof(err)), 0, "%s", err);
	/* held for 120 s */
	n = pkt(b, 6, IP4(10, 0, 0, 131), IP4(192, 0, 2, 1), 8080, 80, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1119), NAT_TX_OUTSIDE);
	cr_assert_neq(check(b, n).key.sport, 8080, "handed out during hold-down");
	n = pkt(b, 6, IP4(10, 0, 0, 132), IP4(192, 0, 2, 1), 8080, 80, 0x02, H1_MAC);
	cr_assert_eq(nat_pipeline_process(p, b, (uint32_t)n, NAT_SIDE_INSIDE, 1120), NAT_TX_OUTSIDE);
	cr_assert_eq(check(b, n).key.sport, 8080, "not handed out after hold-down");
	nat_pipeline_free(p);
}
