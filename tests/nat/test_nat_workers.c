/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat with several workers (nat_pipeline.h "Workers", nat_shard.h),
 * without ports: a "farm" of W pipelines made with nat_pipeline_create_shard
 * and the dispatch ncnat's loop does (nat_workers.c): a frame arrives at a
 * random worker (as RSS would spread it), goes to the worker
 * nat_pipeline_owner() names (ARP: answered where it arrived, learned by the
 * others), and frames a pipeline hands on (NAT_HANDOFF) enter their target
 * as outside frames.
 *
 * The same random traffic runs through a farm of 1 and a farm of 3, and
 * each is checked against a model of the NAT: endpoint-independent mapping
 * (an inside endpoint keeps one external endpoint for every remote), no
 * external endpoint used twice, replies and hairpins reach the right inside
 * endpoint from the right source, every checksum right, TTL down by one;
 * verdicts and the summed counters of both farms agree.  Plus: ports come
 * from their owner's slice, static port forwards live with their target's
 * worker (also when added at run time), ARP learned by every worker.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "nat_config.h"
#include "nat_pipeline.h"
#include "nat_shard.h"
#include "nat_test_eal.h"
#include "nat_test_util.h"

#define MAXW 4
#define NOW 1000

static const uint8_t GW_MAC[6] = {0x02, 0, 0, 0, 0x02, 0xfe};

struct farm {
	unsigned n;
	struct nat_pipeline *p[MAXW];
	uint64_t rng;
	unsigned handoffs; /* frames passed between workers */
};

struct out {
	enum nat_verdict v; /* NAT_DROP, NAT_TX_INSIDE, NAT_TX_OUTSIDE */
	uint8_t b[256];
	uint32_t len;
};

#define CONF_FMT                                                                   \
	"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"                                 \
	"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254%s\n"       \
	"pool 198.51.100.1-198.51.100.4\n"                                          \
	"filtering endpoint-independent\n"                                          \
	"%s\n"                                                                      \
	"snat src 10.0.0.0/25\n"                                                    \
	"masquerade src 10.0.0.128/25\n"                                            \
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"               \
	"dnat dst 198.51.100.2 proto udp dport 5353 to 10.0.0.53:53\n"

static void farm_send(struct farm *f, enum nat_side side, const uint8_t *frame, uint32_t len,
		      struct out *o);

/* An inside host asks for the gateway's MAC: every worker learns the host's. */
static void farm_arp_from(struct farm *f, uint32_t ip)
{
	uint8_t b[60];
	struct out o;

	memset(b, 0, sizeof(b));
	memset(b, 0xff, 6);
	b[6] = 0x02;
	b[10] = 0x0a;
	b[11] = (uint8_t)ip;
	b[12] = 0x08;
	b[13] = 0x06;
	nat_put16(b + 14, 1);
	nat_put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	nat_put16(b + 20, 1);
	memcpy(b + 22, b + 6, 6);
	nat_put32(b + 28, ip);
	nat_put32(b + 38, IP4(10, 0, 0, 1));
	farm_send(f, NAT_SIDE_INSIDE, b, sizeof(b), &o);
	cr_assert_eq(o.v, NAT_TX_INSIDE, "ARP for the gateway not answered");
}

static void farm_make(struct farm *f, unsigned n, const char *extra, bool gw_mac, uint64_t seed)
{
	char text[2048], err[256] = "";
	struct nat_config *c = NULL;
	unsigned i;

	snprintf(text, sizeof(text), CONF_FMT, gw_mac ? " gateway-mac 02:00:00:00:02:fe" : "",
		 extra);
	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0,
		     "%s", err);
	memset(f, 0, sizeof(*f));
	f->n = n;
	f->rng = seed;
	for (i = 0; i < n; i++)
		cr_assert_eq(nat_pipeline_create_shard(c, NULL, i, n, &f->p[i]), 0);
	nat_config_free(c);
	/* the port forwards' targets and the hosts of the tests introduce
	 * themselves (the others are learned from their first frame) */
	farm_arp_from(f, IP4(10, 0, 0, 80));
	farm_arp_from(f, IP4(10, 0, 0, 53));
	farm_arp_from(f, IP4(10, 0, 0, 22));
	for (i = 130; i < 250; i++)
		farm_arp_from(f, IP4(10, 0, 0, i));
}

static void farm_free(struct farm *f)
{
	for (unsigned i = 0; i < f->n; i++)
		nat_pipeline_free(f->p[i]);
}

/* One frame through worker w as arrived on side; a handed-off frame goes on
 * to its worker.  The final verdict and frame land in *o. */
static void run_at(struct farm *f, unsigned w, enum nat_side side, uint8_t *b, uint32_t len,
		   struct out *o, int depth)
{
	enum nat_verdict v = nat_pipeline_process(f->p[w], b, len, side, NOW);

	if (v == NAT_HANDOFF) {
		void *const *ck;
		const uint16_t *to;
		unsigned n = nat_pipeline_handoffs(f->p[w], &ck, &to);

		cr_assert_eq(n, 1);
		cr_assert_eq(ck[0], b);
		cr_assert_neq(to[0], w, "a frame handed to its own worker");
		cr_assert_lt(to[0], f->n);
		cr_assert_lt(depth, 1, "a frame handed on twice");
		f->handoffs++;
		run_at(f, to[0], NAT_SIDE_OUTSIDE, b, len, o, depth + 1);
		return;
	}
	cr_assert_eq(nat_pipeline_handoffs(f->p[w], NULL, NULL), 0);
	o->v = v;
	o->len = len;
	memcpy(o->b, b, len);
}

/* A frame arrives at a random worker and goes where its owner is. */
static void farm_send(struct farm *f, enum nat_side side, const uint8_t *frame, uint32_t len,
		      struct out *o)
{
	unsigned rx = (unsigned)(nat_rand(&f->rng) % f->n), i;
	int owner = nat_pipeline_owner(f->p[rx], side, frame, len, NOW);
	uint8_t b[256];

	cr_assert_leq(len, sizeof(b));
	memcpy(b, frame, len);
	if (owner == NAT_OWNER_ALL) {
		for (i = 0; i < f->n; i++)
			if (i != rx)
				nat_pipeline_learn(f->p[i], side, frame, len);
		owner = (int)rx;
	}
	cr_assert(owner >= 0 && (unsigned)owner < f->n);
	run_at(f, (unsigned)owner, side, b, len, o, 0);
}

static uint64_t farm_count(const struct farm *f, enum nat_counter c)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < f->n; i++)
		v += nat_pipeline_counters(f->p[i])->v[c];
	return v;
}

static uint32_t frame_src(const struct out *o)
{
	return nat_get32(o->b + 14 + 12);
}
static uint32_t frame_dst(const struct out *o)
{
	return nat_get32(o->b + 14 + 16);
}
/* TCP/UDP ports; ICMP echo: the id in both */
static uint16_t frame_sport(const struct out *o)
{
	return o->b[14 + 9] == 1 ? nat_get16(o->b + 34 + 4) : nat_get16(o->b + 34);
}
static uint16_t frame_dport(const struct out *o)
{
	return o->b[14 + 9] == 1 ? nat_get16(o->b + 34 + 4) : nat_get16(o->b + 34 + 2);
}

static size_t mkpkt(uint8_t *b, uint8_t proto, uint32_t s, uint32_t d, uint16_t sp, uint16_t dp,
		    uint8_t flags)
{
	return nat_build(b, proto, s, d, sp, dp, flags, 12, 64, false, 7);
}

static void check_out(const struct out *o, enum nat_verdict want, const char *what)
{
	const char *why;

	cr_assert_eq(o->v, want, "%s: verdict %d, want %d", what, o->v, want);
	if (want == NAT_DROP)
		return;
	why = nat_verify(o->b, o->len);
	cr_assert_null(why, "%s: %s", what, why);
	cr_assert_eq(o->b[14 + 8], 63, "%s: TTL %u, want 63 (one hop)", what, o->b[14 + 8]);
}

/* ---- the model: per farm, inside endpoint -> external endpoint ---- */

#define HOSTS 24
#define SPORTS 3
#define PROTOS 3 /* udp, tcp, icmp */

struct model {
	uint32_t ext_addr[HOSTS][SPORTS][PROTOS];
	uint16_t ext_port[HOSTS][SPORTS][PROTOS];
	bool have[HOSTS][SPORTS][PROTOS];
	bool tcp_open[HOSTS][SPORTS][8]; /* per remote: SYN seen out (so replies pass) */
};

static uint32_t host_addr(unsigned h)
{
	/* snat hosts 10.0.0.2.. and masquerade hosts 10.0.0.130.. */
	return h < HOSTS / 2 ? IP4(10, 0, 0, 2 + h) : IP4(10, 0, 0, 130 + h - HOSTS / 2);
}
static uint16_t host_port(unsigned s)
{
	static const uint16_t ports[SPORTS] = {5000, 40001, 123};
	return ports[s];
}
static const uint8_t PROTO_NUM[PROTOS] = {17, 6, 1};
static uint32_t remote_addr(unsigned r)
{
	return IP4(192, 0, 2, 10 + r);
}

/* An inside endpoint's frame went out: the model learns or checks its
 * external endpoint (endpoint-independent, unique). */
static void model_out(struct model *m, const struct farm *f, unsigned h, unsigned s, unsigned pi,
		      const struct out *o)
{
	uint32_t ea = frame_src(o);
	uint16_t ep = frame_sport(o);

	if (m->have[h][s][pi]) {
		cr_assert_eq(ea, m->ext_addr[h][s][pi], "EIM: external address changed");
		cr_assert_eq(ep, m->ext_port[h][s][pi], "EIM: external port changed");
		return;
	}
	for (unsigned a = 0; a < HOSTS; a++)
		for (unsigned b = 0; b < SPORTS; b++)
			cr_assert(!(m->have[a][b][pi] && m->ext_addr[a][b][pi] == ea &&
				    m->ext_port[a][b][pi] == ep),
				  "external endpoint %08x:%u given twice", ea, ep);
	if (f->n > 1) {
		struct nat_shard sh;

		cr_assert_eq(nat_shard_init(&sh, 0, f->n, 1024, 65535, 1), 0);
		cr_assert_eq(nat_shard_port_owner(&sh, ep), nat_shard_sub_owner(&sh, host_addr(h)),
			     "port %u is not from its subscriber's worker's slice", ep);
	}
	m->have[h][s][pi] = true;
	m->ext_addr[h][s][pi] = ea;
	m->ext_port[h][s][pi] = ep;
}

/* One random step through farm f with model m (the same rng draws for every
 * farm: the caller gives the step's numbers).  Returns the verdict. */
static enum nat_verdict step(struct farm *f, struct model *m, uint64_t r)
{
	unsigned kind = (unsigned)(r % 10), h = (unsigned)((r >> 8) % HOSTS),
		 s = (unsigned)((r >> 16) % SPORTS), pi = (unsigned)((r >> 24) % PROTOS),
		 rem = (unsigned)((r >> 32) % 8), h2 = (unsigned)((r >> 40) % HOSTS),
		 s2 = (unsigned)((r >> 48) % SPORTS);
	uint8_t proto = PROTO_NUM[pi], b[256];
	uint32_t src = host_addr(h);
	uint16_t sp = host_port(s);
	struct out o;
	size_t n;

	if (kind < 5) { /* outbound: UDP, TCP SYN, ICMP echo request */
		n = mkpkt(b, proto, src, remote_addr(rem), sp, proto == 1 ? 1 : 53,
			  proto == 6 ? 0x02 : proto == 1 ? 8 : 0);
		farm_send(f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		if (proto == 6 && o.v == NAT_DROP && m->tcp_open[h][s][rem])
			return o.v; /* a SYN again on a session past it: compared across farms */
		check_out(&o, NAT_TX_OUTSIDE, "outbound");
		cr_assert_eq(frame_dst(&o), remote_addr(rem));
		model_out(m, f, h, s, pi, &o);
		if (proto == 6)
			m->tcp_open[h][s][rem] = true;
		return o.v;
	}
	if (kind < 8) { /* a reply from a remote (or from another remote: EIF) */
		bool known = m->have[h][s][pi];
		uint32_t ea = known ? m->ext_addr[h][s][pi] : IP4(198, 51, 100, 1);
		uint16_t ep = known ? m->ext_port[h][s][pi] : 61000;
		enum nat_verdict want = known ? NAT_TX_INSIDE : NAT_DROP;

		if (proto == 6) { /* SYN-ACK: only on an open session with that remote */
			n = mkpkt(b, 6, remote_addr(rem), ea, 53, ep, 0x12);
			if (!known || !m->tcp_open[h][s][rem])
				want = NAT_DROP;
		} else if (proto == 1) {
			n = mkpkt(b, 1, remote_addr(rem), ea, ep, 1, 0);
			/* ICMP: filtering is by remote address (the session's) */
		} else {
			n = mkpkt(b, 17, remote_addr(rem), ea, 53, ep, 0);
		}
		farm_send(f, NAT_SIDE_OUTSIDE, b, (uint32_t)n, &o);
		if (known && o.v == NAT_DROP && proto != 17)
			return o.v; /* TCP state, ICMP: compared across farms */
		check_out(&o, want, "inbound");
		if (want == NAT_TX_INSIDE) {
			cr_assert_eq(frame_dst(&o), src);
			cr_assert_eq(frame_dport(&o), sp);
			cr_assert_eq(frame_src(&o), remote_addr(rem));
		}
		return o.v;
	}
	/* a hairpin: UDP from h to h2's external endpoint (s2), when h2 has one */
	if (!m->have[h2][s2][0] || h2 == h) {
		n = mkpkt(b, 17, src, IP4(198, 51, 100, 3), sp, 9, 0); /* nobody's endpoint */
		farm_send(f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		/* h's own mapping is made on the way (then the hairpin finds no
		 * target): a drop either way */
		check_out(&o, NAT_DROP, "hairpin to nobody");
		return o.v;
	}
	n = mkpkt(b, 17, src, m->ext_addr[h2][s2][0], sp, m->ext_port[h2][s2][0], 0);
	farm_send(f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
	check_out(&o, NAT_TX_INSIDE, "hairpin");
	cr_assert_eq(frame_dst(&o), host_addr(h2));
	cr_assert_eq(frame_dport(&o), host_port(s2));
	/* the source is h's external endpoint: the one its outbound frames get */
	model_out(m, f, h, s, 0, &o);
	return o.v;
}

NAT_TEST_EAL_SUITE(nat_workers);

Test(nat_workers, owner_partition_and_dnat_owner)
{
	struct farm f;
	uint8_t b[256];
	size_t n;
	unsigned h, w;

	farm_make(&f, 3, "", true, 1);
	/* inside frames: the source's subscriber owner, whoever receives them */
	for (h = 0; h < 200; h++) {
		struct nat_shard sh;
		uint32_t a = IP4(10, 0, 0, 2) + h % 120;

		cr_assert_eq(nat_shard_init(&sh, 0, 3, 1024, 65535, 1), 0);
		n = mkpkt(b, 17, a, IP4(192, 0, 2, 1), 1000 + h, 53, 0);
		for (w = 0; w < 3; w++)
			cr_assert_eq(nat_pipeline_owner(f.p[w], NAT_SIDE_INSIDE, b, (uint32_t)n, NOW),
				     (int)nat_shard_sub_owner(&sh, a));
		/* outside frames: the destination port's owner */
		n = mkpkt(b, 17, IP4(192, 0, 2, 1), IP4(198, 51, 100, 1), 53, 1024 + h * 300, 0);
		for (w = 0; w < 3; w++)
			cr_assert_eq(nat_pipeline_owner(f.p[w], NAT_SIDE_OUTSIDE, b, (uint32_t)n, NOW),
				     (int)nat_shard_port_owner(&sh, (uint16_t)(1024 + h * 300)));
	}
	/* a port forward: its target's worker, for the SYN and the answers */
	{
		struct nat_shard sh;
		unsigned own;
		struct out o;

		cr_assert_eq(nat_shard_init(&sh, 0, 3, 1024, 65535, 1), 0);
		own = nat_shard_sub_owner(&sh, IP4(10, 0, 0, 80));
		n = mkpkt(b, 6, IP4(192, 0, 2, 9), IP4(203, 0, 113, 1), 40000, 8080, 0x02);
		for (w = 0; w < 3; w++)
			cr_assert_eq(nat_pipeline_owner(f.p[w], NAT_SIDE_OUTSIDE, b, (uint32_t)n, NOW),
				     (int)own);
		farm_send(&f, NAT_SIDE_OUTSIDE, b, (uint32_t)n, &o);
		check_out(&o, NAT_TX_INSIDE, "port forward SYN");
		cr_assert_eq(frame_dst(&o), IP4(10, 0, 0, 80));
		cr_assert_eq(frame_dport(&o), 80);
		n = mkpkt(b, 6, IP4(10, 0, 0, 80), IP4(192, 0, 2, 9), 80, 40000, 0x12);
		farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		check_out(&o, NAT_TX_OUTSIDE, "port forward SYN-ACK");
		cr_assert_eq(frame_src(&o), IP4(203, 0, 113, 1));
		cr_assert_eq(frame_sport(&o), 8080);
		/* a static mapping exists in its target's worker's pipeline only */
		for (w = 0; w < 3; w++) {
			uint32_t want = (w == own) + (nat_shard_sub_owner(&sh, IP4(10, 0, 0, 53)) == w);

			cr_assert_eq(nat_pipeline_mappings(f.p[w]), want, "worker %u has %u mappings", w,
				     nat_pipeline_mappings(f.p[w]));
		}
	}
	/* ARP goes to everyone */
	memset(b, 0, 60);
	b[12] = 0x08;
	b[13] = 0x06;
	cr_assert_eq(nat_pipeline_owner(f.p[1], NAT_SIDE_INSIDE, b, 60, NOW), NAT_OWNER_ALL);
	farm_free(&f);
}

Test(nat_workers, random_traffic_matches_one_worker)
{
	unsigned long seed = nat_test_seed("nat_workers");
	static struct model m1, m3;
	struct farm f1, f3;
	uint64_t r = seed | 1;
	unsigned i;
	static const enum nat_counter same[] = {
		NAT_CNT_IN2OUT_PKTS, NAT_CNT_OUT2IN_PKTS,   NAT_CNT_HAIRPIN_PKTS,
		NAT_CNT_SESSIONS_CREATED, NAT_CNT_MAPPINGS_CREATED, NAT_CNT_DROP_NO_SESSION,
		NAT_CNT_DROP_TCP_UNSOLICITED_SYN, NAT_CNT_DROP_HAIRPIN, NAT_CNT_DROP_FILTERED,
	};

	memset(&m1, 0, sizeof(m1));
	memset(&m3, 0, sizeof(m3));
	farm_make(&f1, 1, "", true, seed);
	farm_make(&f3, 3, "", true, seed * 7 + 1);
	for (i = 0; i < 4000; i++) {
		uint64_t x = nat_rand(&r);
		enum nat_verdict v1 = step(&f1, &m1, x), v3 = step(&f3, &m3, x);

		cr_assert_eq(v1, v3, "step %u (%016llx): one worker %d, three %d", i,
			     (unsigned long long)x, v1, v3);
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		cr_assert_eq(farm_count(&f1, same[i]), farm_count(&f3, same[i]), "%s: %llu vs %llu",
			     nat_counter_name(same[i]),
			     (unsigned long long)farm_count(&f1, same[i]),
			     (unsigned long long)farm_count(&f3, same[i]));
	cr_assert_gt(farm_count(&f3, NAT_CNT_HAIRPIN_PKTS), 50);
	cr_assert_gt(farm_count(&f3, NAT_CNT_HAIRPIN_HANDOFF), 20, "no hairpin crossed workers");
	cr_assert_eq(farm_count(&f1, NAT_CNT_HAIRPIN_HANDOFF), 0);
	cr_assert_eq(f3.handoffs, farm_count(&f3, NAT_CNT_HAIRPIN_HANDOFF));
	/* every worker did a share */
	for (i = 0; i < 3; i++)
		cr_assert_gt(nat_pipeline_counters(f3.p[i])->v[NAT_CNT_IN2OUT_PKTS], 100);
	farm_free(&f1);
	farm_free(&f3);
}

/* A TCP hairpin between two workers' subscribers through a port forward:
 * the handshake and data both ways, each frame from the right source. */
Test(nat_workers, tcp_hairpin_across_workers)
{
	struct farm f;
	struct nat_shard sh;
	uint32_t client = 0, server = IP4(10, 0, 0, 80), cext;
	uint16_t cport = 41000, cextp;
	uint8_t b[256];
	struct out o;
	size_t n;
	unsigned i;

	farm_make(&f, 2, "", true, 3);
	cr_assert_eq(nat_shard_init(&sh, 0, 2, 1024, 65535, 1), 0);
	/* a masquerade client on the other worker than the server */
	for (i = 130; i < 250 && !client; i++)
		if (nat_shard_sub_owner(&sh, IP4(10, 0, 0, i)) != nat_shard_sub_owner(&sh, server))
			client = IP4(10, 0, 0, i);
	cr_assert_neq(client, 0);
	n = mkpkt(b, 6, client, IP4(203, 0, 113, 1), cport, 8080, 0x02);
	farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
	check_out(&o, NAT_TX_INSIDE, "SYN");
	cr_assert_eq(frame_dst(&o), server);
	cr_assert_eq(frame_dport(&o), 80);
	cr_assert_eq(frame_src(&o), IP4(203, 0, 113, 1), "the server sees the client's external address");
	cext = frame_src(&o);
	cextp = frame_sport(&o);
	cr_assert_eq(nat_shard_port_owner(&sh, cextp), nat_shard_sub_owner(&sh, client));
	n = mkpkt(b, 6, server, cext, 80, cextp, 0x12);
	farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
	check_out(&o, NAT_TX_INSIDE, "SYN-ACK");
	cr_assert_eq(frame_dst(&o), client);
	cr_assert_eq(frame_dport(&o), cport);
	cr_assert_eq(frame_src(&o), IP4(203, 0, 113, 1));
	cr_assert_eq(frame_sport(&o), 8080);
	for (i = 0; i < 5; i++) {
		n = mkpkt(b, 6, client, IP4(203, 0, 113, 1), cport, 8080, 0x10);
		farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		check_out(&o, NAT_TX_INSIDE, "ACK in");
		cr_assert_eq(frame_dst(&o), server);
		n = mkpkt(b, 6, server, cext, 80, cextp, 0x18);
		farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		check_out(&o, NAT_TX_INSIDE, "data back");
		cr_assert_eq(frame_dst(&o), client);
	}
	cr_assert_eq(farm_count(&f, NAT_CNT_HAIRPIN_PKTS), 12);
	cr_assert_eq(farm_count(&f, NAT_CNT_HAIRPIN_HANDOFF), 12);
	cr_assert_eq(farm_count(&f, NAT_CNT_OUT2IN_PKTS), 0, "a hairpin is not counted as inbound");
	cr_assert_eq(farm_count(&f, NAT_CNT_IN2OUT_PKTS), 0);
	farm_free(&f);
}

/* A port forward added at run time on every worker lands with its target's
 * worker, and outside frames to it go there. */
Test(nat_workers, dnat_added_at_run_time)
{
	struct farm f;
	struct nat_shard sh;
	struct nat_rule r;
	char err[256];
	uint8_t b[256];
	struct out o;
	size_t n;
	unsigned w, own;
	uint32_t before[3];

	farm_make(&f, 3, "", true, 5);
	cr_assert_eq(nat_shard_init(&sh, 0, 3, 1024, 65535, 1), 0);
	for (w = 0; w < 3; w++)
		before[w] = nat_pipeline_mappings(f.p[w]);
	for (w = 0; w < 3; w++) {
		cr_assert_eq(nat_config_parse_rule("dnat dst 198.51.100.4 proto tcp dport 2222 to 10.0.0.22:22",
						   nat_pipeline_config(f.p[w]), &r, err, sizeof(err)),
			     0, "%s", err);
		cr_assert_eq(nat_pipeline_rule_add(f.p[w], 0, &r, NOW, err, sizeof(err)), 0, "%s", err);
	}
	own = nat_shard_sub_owner(&sh, IP4(10, 0, 0, 22));
	for (w = 0; w < 3; w++)
		cr_assert_eq(nat_pipeline_mappings(f.p[w]), before[w] + (w == own));
	n = mkpkt(b, 6, IP4(192, 0, 2, 7), IP4(198, 51, 100, 4), 50000, 2222, 0x02);
	for (w = 0; w < 3; w++)
		cr_assert_eq(nat_pipeline_owner(f.p[w], NAT_SIDE_OUTSIDE, b, (uint32_t)n, NOW),
			     (int)own);
	farm_send(&f, NAT_SIDE_OUTSIDE, b, (uint32_t)n, &o);
	check_out(&o, NAT_TX_INSIDE, "SYN to the new forward");
	cr_assert_eq(frame_dst(&o), IP4(10, 0, 0, 22));
	/* deleted: back to the port's owner, and dropped there */
	for (w = 0; w < 3; w++)
		cr_assert_eq(nat_pipeline_rule_delete(f.p[w], 0, NOW, err, sizeof(err)), 0, "%s", err);
	for (w = 0; w < 3; w++)
		cr_assert_eq(nat_pipeline_owner(f.p[w], NAT_SIDE_OUTSIDE, b, (uint32_t)n, NOW),
			     (int)nat_shard_port_owner(&sh, 2222));
	n = mkpkt(b, 6, IP4(192, 0, 2, 7), IP4(198, 51, 100, 4), 50001, 2222, 0x02);
	farm_send(&f, NAT_SIDE_OUTSIDE, b, (uint32_t)n, &o);
	check_out(&o, NAT_DROP, "SYN to the deleted forward");
	farm_free(&f);
}

/* Without a static gateway MAC: the gateway's ARP answer, received by one
 * worker, lets every worker send. */
Test(nat_workers, arp_learned_by_every_worker)
{
	struct farm f;
	struct nat_shard sh;
	uint8_t b[256];
	struct out o;
	size_t n;
	unsigned w, h;
	uint32_t sent[MAXW] = {0};

	farm_make(&f, 3, "", false, 9);
	cr_assert_eq(nat_shard_init(&sh, 0, 3, 1024, 65535, 1), 0);
	/* the gateway's ARP reply (to the NAT's outside address) */
	memset(b, 0, 60);
	memset(b, 0xff, 6);
	memcpy(b + 6, GW_MAC, 6);
	b[12] = 0x08;
	b[13] = 0x06;
	nat_put16(b + 14, 1);
	nat_put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	nat_put16(b + 20, 2);
	memcpy(b + 22, GW_MAC, 6);
	nat_put32(b + 28, IP4(203, 0, 113, 254));
	memcpy(b + 32, (uint8_t[]){0x02, 0, 0, 0, 0x02, 0x01}, 6);
	nat_put32(b + 38, IP4(203, 0, 113, 1));
	f.rng = 0; /* received by worker ... */
	farm_send(&f, NAT_SIDE_OUTSIDE, b, 60, &o);
	for (h = 2; h < 60; h++) {
		n = mkpkt(b, 17, IP4(10, 0, 0, h), IP4(192, 0, 2, 1), 1000, 53, 0);
		farm_send(&f, NAT_SIDE_INSIDE, b, (uint32_t)n, &o);
		check_out(&o, NAT_TX_OUTSIDE, "after ARP");
		cr_assert_eq(memcmp(o.b, GW_MAC, 6), 0);
		sent[nat_shard_sub_owner(&sh, IP4(10, 0, 0, h))]++;
	}
	for (w = 0; w < 3; w++)
		cr_assert_gt(sent[w], 0, "worker %u sent nothing", w);
	cr_assert_eq(farm_count(&f, NAT_CNT_DROP_NO_NEIGH), 0);
	farm_free(&f);
}
