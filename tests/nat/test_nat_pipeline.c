/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_pipeline: behaviour of the whole NAT on hand-built frames — RFC 4787
 * mapping/filtering/hairpinning/refresh, RFC 5382 (no state from an
 * unsolicited SYN, simultaneous open), RFC 5508 (echo ids, errors never
 * create state), RFC 6888 (quota -> ICMP unreachable, logging), ARP, DNAT,
 * TTL, and the counters.  Every transmitted frame is re-verified.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_pipeline.h"
#include "nat_test_util.h"
#include "nat_test_eal.h"
#include "netchannel.h"

#define IN1 IP4(10, 0, 0, 5)
#define IN2 IP4(10, 0, 0, 6)
#define SRV IP4(10, 0, 0, 80)
#define POOL IP4(198, 51, 100, 1)
#define OUTA IP4(203, 0, 113, 1)
#define R1 IP4(192, 0, 2, 1)
#define R2 IP4(192, 0, 2, 2)

static const uint8_t GW_MAC[6] = {0x02, 0, 0, 0, 0x02, 0xfe};
static const uint8_t IN_MAC[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const uint8_t OUT_MAC[6] = {0x02, 0, 0, 0, 0x02, 0x01};
static const uint8_t H1_MAC[6] = {0x02, 0, 0, 0, 0x0a, 0x05};

static struct nat_pipeline *mk(const char *extra)
{
	char text[2048];
	struct nat_config *c = NULL;
	struct nat_pipeline *p = NULL;
	char err[256] = "";

	snprintf(text, sizeof(text),
		 "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
		 "outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n"
		 "pool 198.51.100.1\n"
		 "hold-down 120\n"
		 "%s\n"
		 "drop src 10.0.0.66\n"
		 "snat src 10.0.0.0/25\n"
		 "masquerade src 10.0.0.128/25\n"
		 "dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n",
		 extra);
	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(nat_pipeline_create(c, NULL, &p), 0);
	nat_config_free(c);
	return p;
}

static size_t pkt(uint8_t *b, uint8_t proto, uint32_t s, uint32_t d, uint16_t sp, uint16_t dp,
		  uint8_t flags, const uint8_t *src_mac)
{
	size_t n = nat_build(b, proto, s, d, sp, dp, flags, 10, 64, false, 42);

	memcpy(b + 6, src_mac, 6);
	return n;
}

static struct nc_pkt_info check(const uint8_t *b, size_t n)
{
	struct nc_pkt_info pi;
	const char *why = nat_verify(b, n);

	cr_assert_null(why, "%s", why);
	cr_assert_eq(nc_parse(b, n, 0, NC_LINK_ETHERNET, &pi), 0);
	return pi;
}

static uint64_t cnt(struct nat_pipeline *p, enum nat_counter c)
{
	return nat_pipeline_counters(p)->v[c];
}

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
