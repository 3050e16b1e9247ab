/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session netchannel (nat_pipeline_int.h, nat_sess_nc): a session's
 * two keys are keyed flows — kept in its netchannel, compared there —
 * while a hairpin pair's are flow entries; and the record's timeout
 * follows timeout changes through the copy's generation (tgen), including
 * when the 16-bit generation wraps around.  Checked through what a user
 * sees: the engine's counters, the translated frames and expiry times;
 * and the fast compare (flow_match) against building the key (flow_key).
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_pipeline.h"
#include "nat_pipeline_int.h"
#include "nat_test_util.h"
#include "nat_test_eal.h"
#include "netchannel.h"

#define IN1 IP4(10, 0, 0, 5)
#define IN2 IP4(10, 0, 0, 6)
#define POOL IP4(198, 51, 100, 1)
#define R1 IP4(192, 0, 2, 1)

static const uint8_t GW_MAC[6] = {0x02, 0, 0, 0, 0x02, 0xfe};
static const uint8_t H1_MAC[6] = {0x02, 0, 0, 0, 0x0a, 0x05};

static struct nat_pipeline *mk(void)
{
	static const char text[] =
		"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
		"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 "
		"gateway-mac 02:00:00:00:02:fe\n"
		"pool 198.51.100.1\n"
		"filtering endpoint-independent\n"
		"snat src 10.0.0.0/24\n";
	struct nat_config *c = NULL;
	struct nat_pipeline *p = NULL;
	char err[256] = "";

	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(nat_pipeline_create(c, NULL, &p), 0);
	nat_config_free(c);
	return p;
}

static enum nat_verdict send(struct nat_pipeline *p, uint32_t s, uint32_t d, uint16_t sp,
			     uint16_t dp, uint8_t side, uint64_t now, struct nc_pkt_info *out)
{
	uint8_t b[256];
	size_t n = nat_build(b, 17, s, d, sp, dp, 0, 10, 64, false, 42);
	enum nat_verdict v;

	memcpy(b + 6, side == NAT_SIDE_INSIDE ? H1_MAC : GW_MAC, 6);
	v = nat_pipeline_process(p, b, (uint32_t)n, side, now);
	if (out != NULL && v != NAT_DROP) {
		const char *why = nat_verify(b, n);

		cr_assert_null(why, "%s", why);
		cr_assert_eq(nc_parse(b, n, 0, NC_LINK_ETHERNET, out), 0);
	}
	return v;
}

static struct nc_engine_stats est(struct nat_pipeline *p)
{
	struct nc_engine_stats st;

	nat_pipeline_engine_stats(p, &st);
	return st;
}

NAT_TEST_EAL_SUITE(nat_session_nc);

/* A session's keys are keyed flows, found on the fast path in both
 * directions; a hairpin pair's two keys are entries. */
Test(nat_session_nc, session_keys_are_keyed_flows)
{
	struct nat_pipeline *p = mk();
	struct nc_pkt_info pi;
	uint64_t hits;

	cr_assert_eq(send(p, IN2, R1, 5000, 53, NAT_SIDE_INSIDE, 1, &pi), NAT_TX_OUTSIDE);
	cr_assert_eq(est(p).flows, 2);
	cr_assert_eq(est(p).keyed_flows, 2, "both keys kept in the session's netchannel");
	hits = est(p).flow_hits;
	cr_assert_eq(send(p, IN2, R1, 5000, 53, NAT_SIDE_INSIDE, 2, &pi), NAT_TX_OUTSIDE);
	cr_assert_eq(pi.key.src.v4, POOL);
	cr_assert_eq(send(p, R1, POOL, 53, pi.key.sport, NAT_SIDE_OUTSIDE, 3, &pi), NAT_TX_INSIDE);
	cr_assert_eq(pi.key.dst.v4, IN2);
	cr_assert_eq(pi.key.dport, 5000);
	cr_assert_eq(est(p).flow_hits - hits, 2, "both directions hit the keyed flows");
	/* another remote port of the same remote: not the session's key */
	cr_assert_eq(send(p, R1, POOL, 54, 5000, NAT_SIDE_OUTSIDE, 4, &pi), NAT_TX_INSIDE);
	cr_assert_eq(est(p).flows, 4, "a second session (endpoint-independent filtering)");
	cr_assert_eq(est(p).keyed_flows, 4);
	/* a hairpin pair: IN1 to IN2's external endpoint */
	cr_assert_eq(send(p, IN1, POOL, 4000, 5000, NAT_SIDE_INSIDE, 5, &pi), NAT_TX_INSIDE);
	cr_assert_eq(pi.key.dst.v4, IN2);
	cr_assert_eq(est(p).flows, 6);
	cr_assert_eq(est(p).keyed_flows, 4, "the pair's two inside keys are entries");
	hits = est(p).flow_hits;
	cr_assert_eq(send(p, IN1, POOL, 4000, 5000, NAT_SIDE_INSIDE, 6, &pi), NAT_TX_INSIDE);
	cr_assert_eq(est(p).flow_hits - hits, 1);
	/* expiry removes keyed flows and entries alike, and the netchannels */
	cr_assert_eq(nat_pipeline_expire(p, 10000, 1 << 16), 4);
	cr_assert_eq(est(p).flows, 0);
	cr_assert_eq(est(p).keyed_flows, 0);
	nat_pipeline_free(p);
}

/* A timeout change reaches a session's record at its next fast-path
 * packet; an idle session keeps the timeout it had. */
Test(nat_session_nc, timeout_change_at_the_next_packet)
{
	struct nat_pipeline *p = mk();

	cr_assert_eq(send(p, IN1, R1, 4000, 53, NAT_SIDE_INSIDE, 0, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(send(p, IN2, R1, 4000, 53, NAT_SIDE_INSIDE, 0, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_set_timeout(p, NAT_TIMEOUT_UDP, 120), 0);
	cr_assert_eq(send(p, IN1, R1, 4000, 53, NAT_SIDE_INSIDE, 100, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(est(p).flow_hits, 1, "on the fast path");
	/* IN1: used at 100, 120 s; IN2: untouched, still 300 s from 0 */
	cr_assert_eq(nat_pipeline_expire(p, 219, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 220, 1 << 16), 1);
	cr_assert_eq(nat_pipeline_sessions(p), 1);
	cr_assert_eq(nat_pipeline_expire(p, 299, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 300, 1 << 16), 1);
	nat_pipeline_free(p);
}

/* 2^16 timeout changes bring the generation back to a session's: the
 * wrap gives every session the timeout of that moment, so the session's
 * next packet does not keep one from 2^16 changes ago. */
Test(nat_session_nc, timeout_generation_wraps)
{
	struct nat_pipeline *p = mk();

	cr_assert_eq(send(p, IN1, R1, 4000, 53, NAT_SIDE_INSIDE, 0, NULL), NAT_TX_OUTSIDE);
	for (uint32_t i = 0; i < 65536; i++)
		cr_assert_eq(nat_pipeline_set_timeout(p, NAT_TIMEOUT_UDP, i & 1 ? 150 : 200), 0);
	/* the last change set 150 and wrapped */
	cr_assert_eq(send(p, IN1, R1, 4000, 53, NAT_SIDE_INSIDE, 10, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_expire(p, 159, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 160, 1 << 16), 1, "150 s, not the 300 s of before");
	/* and the next changes are seen as before */
	cr_assert_eq(send(p, IN2, R1, 4000, 53, NAT_SIDE_INSIDE, 1000, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_set_timeout(p, NAT_TIMEOUT_UDP, 400), 0);
	cr_assert_eq(send(p, IN2, R1, 4000, 53, NAT_SIDE_INSIDE, 1010, NULL), NAT_TX_OUTSIDE);
	cr_assert_eq(nat_pipeline_expire(p, 1409, 1 << 16), 0);
	cr_assert_eq(nat_pipeline_expire(p, 1410, 1 << 16), 1);
	nat_pipeline_free(p);
}

/* nat_session_ops.flow_match answers as building the key with flow_key
 * and comparing (nc_flow_key_equal) would: random session copies, each
 * against its own two keys, against them with one field changed, and
 * against the other key number (small value ranges make near misses). */
Test(nat_session_nc, flow_match_agrees_with_flow_key)
{
	_Alignas(64) unsigned char obj[NC_HEADER_BYTES + sizeof(struct nat_sess_nc)];
	const struct netchannel *nc = (const struct netchannel *)(void *)obj;
	struct nat_sess_nc *f = (struct nat_sess_nc *)(void *)(obj + NC_HEADER_BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned hits = 0, misses = 0;

	memset(obj, 0, sizeof(obj));
	for (unsigned i = 0; i < 20000; i++) {
		struct nc_flow_key k, built;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		f->in_addr = IP4(10, 0, 0, (uint8_t)(x >> 60));
		f->out_addr = IP4(198, 51, 100, (uint8_t)(x >> 56 & 3));
		f->rem_addr = (x >> 54 & 1) ? f->in_addr : IP4(192, 0, 2, (uint8_t)(x >> 50 & 3));
		f->in_port = (uint16_t)(1000 + (x >> 46 & 3));
		f->out_port = (x >> 45 & 1) ? f->in_port : (uint16_t)(1000 + (x >> 41 & 3));
		f->rem_port = (uint16_t)(1000 + (x >> 37 & 3));
		f->proto = (x >> 35 & 1) ? 17 : 6;
		for (unsigned which = 0; which < 2; which++) {
			nat_session_flow_key(nc, which, &k);
			switch ((x >> (8 + 4 * which)) & 7) {
			case 0: k.src.v4 ^= 1u << (x >> 20 & 31); break;
			case 1: k.dst.v4 ^= 1u << (x >> 20 & 31); break;
			case 2: k.sport ^= (uint16_t)(1u << (x >> 20 & 15)); break;
			case 3: k.dport ^= (uint16_t)(1u << (x >> 20 & 15)); break;
			case 4: k.zone ^= 1; break;
			case 5: k.proto = k.proto == 17 ? 6 : 17; break;
			case 6: k.family = CLS_IPV6; break;
			default: break; /* the key itself */
			}
			for (unsigned w = 0; w < 2; w++) {
				bool want;

				nat_session_flow_key(nc, w, &built);
				want = nc_flow_key_equal(&built, &k);
				cr_assert_eq(nat_session_flow_match(nc, w, &k), want,
					     "iteration %u, key %u against key %u", i, which, w);
				if (want)
					hits++;
				else
					misses++;
			}
		}
	}
	cr_assert_gt(hits, 3000u); /* about 1 in 8 of a key against itself */
	cr_assert_gt(misses, 30000u);
}
