/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of netchannel objects and the engine (netchannel.h): bad arguments,
 * lookup order (flow table, then classifier), accept creating exact
 * netchannels, grouping of a burst, refcounts and cleanup, timers through the
 * ring, idle expiry, ring delivery, and the mbuf path.  EAL runs with
 * --no-huge --in-memory (the flow table needs rte_malloc).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "netchannel.h"

static void eal_setup(void)
{
	/* --in-memory does not combine with --no-huge: no shared config and a
	 * per-process file prefix instead. */
	char prefix[64];
	char *argv[] = {"test_netchannel", "--no-huge", "--no-pci", "--no-shconf", prefix,
			"-m", "256", "-l", "0", "--no-telemetry", "--log-level=error", NULL};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	snprintf(prefix, sizeof(prefix), "--file-prefix=nc_test_nc_%d", (int)getpid());
	cr_assert_geq(rte_eal_init(argc, argv), 0, "rte_eal_init failed");
}

static void eal_teardown(void)
{
	rte_eal_cleanup();
}

TestSuite(nc_args, .init = eal_setup, .fini = eal_teardown);
TestSuite(nc_engine, .init = eal_setup, .fini = eal_teardown);
TestSuite(nc_mbuf, .init = eal_setup, .fini = eal_teardown);

/* ---- packets ------------------------------------------------------------ */

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Ethernet + IPv4 + UDP (or TCP) with a payload whose first byte is tag. */
static uint32_t build4(uint8_t *b, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
		       uint16_t dport, uint8_t tag)
{
	uint32_t l4 = proto == 6 ? 20 : 8, ip_len = 20 + l4 + 4;

	memset(b, 0, 14 + ip_len);
	put16(b + 12, 0x0800);
	uint8_t *ip = b + 14;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	uint8_t *t = ip + 20;
	put16(t, sport);
	put16(t + 2, dport);
	if (proto == 6)
		t[12] = 5 << 4;
	else
		put16(t + 4, (uint16_t)(l4 + 4));
	t[l4] = tag;
	return 14 + ip_len;
}

static uint8_t tag_of(const struct nc_pkt *p)
{
	return p->data[p->info.l4_off + p->info.l4_len];
}

/* ---- a test netchannel type ------------------------------------------- */

#define MAXLOG 256

struct world {
	struct nc_engine *e;
	/* what process() saw, in order: (netchannel id, tag) */
	unsigned nlog;
	uint32_t log_id[MAXLOG];
	uint8_t log_tag[MAXLOG];
	unsigned process_calls, accepts, cleanups, timeouts, unclaimed;
	uint8_t unclaimed_tags[MAXLOG];
	bool accept_refuses;
	bool delete_on_process; /* process() removes its own flow */
	uint64_t idle;          /* idle timeout given to accepted flows */
	struct netchannel *last_created;
};

static struct world W;

struct priv {
	struct nc_flow_key key; /* the flow it was created for */
	int init_arg;
};

static int t_init(struct netchannel *nc, const void *arg)
{
	struct priv *p = nc_priv(nc);

	p->init_arg = arg ? *(const int *)arg : 0;
	return p->init_arg == -1 ? -EPERM : 0;
}

static void t_cleanup(struct netchannel *nc)
{
	(void)nc;
	W.cleanups++;
}

static void t_process(struct netchannel *nc, struct nc_pkt *const pkts[], unsigned n)
{
	W.process_calls++;
	for (unsigned i = 0; i < n; i++) {
		if (W.nlog < MAXLOG) {
			W.log_id[W.nlog] = nc_id(nc);
			W.log_tag[W.nlog] = tag_of(pkts[i]);
			W.nlog++;
		}
		nc_pkt_drop(nc_engine_of(nc), pkts[i]);
	}
	if (W.delete_on_process) {
		struct priv *p = nc_priv(nc);
		cr_expect_eq(nc_engine_del_flow(nc_engine_of(nc), &p->key), 0);
	}
}

static void t_timeout(struct netchannel *nc, uint64_t now)
{
	(void)now;
	W.timeouts++;
	struct priv *p = nc_priv(nc);
	int rc = nc_engine_del_flow(nc_engine_of(nc), &p->key); /* session over */
	cr_expect(rc == 0 || rc == -ENOENT, "del_flow %d", rc);
}

static const struct nc_ops session_ops = {
	.name = "session",
	.priv_size = sizeof(struct priv),
	.init = t_init,
	.cleanup = t_cleanup,
	.process = t_process,
	.timeout = t_timeout,
};

/* The listener creates one session per new flow and inserts its key. */
static struct netchannel *t_accept(struct netchannel *l, struct nc_pkt *pkt)
{
	struct netchannel *nc;

	W.accepts++;
	if (W.accept_refuses)
		return NULL;
	if (nc_create(nc_engine_of(l), &session_ops, NULL, &nc) != 0)
		return NULL;
	((struct priv *)nc_priv(nc))->key = pkt->key;
	if (nc_engine_add_flow(nc_engine_of(l), &pkt->key, nc, nc_engine_now(nc_engine_of(l)),
			       W.idle ? W.idle : UINT64_MAX) != 0) {
		nc_close(nc);
		return NULL;
	}
	nc_unref(nc); /* hand over: the table's reference keeps it */
	W.last_created = nc;
	return nc;
}

static const struct nc_ops listener_ops = {
	.name = "listener",
	.cleanup = t_cleanup,
	.accept = t_accept,
	.process = t_process,
};

static void t_unclaimed(void *ctx, struct nc_pkt *const pkts[], unsigned n)
{
	struct world *w = ctx;

	for (unsigned i = 0; i < n; i++) {
		if (w->unclaimed < MAXLOG)
			w->unclaimed_tags[w->unclaimed] =
				pkts[i]->info.layers & NC_LAYER_L4 ? tag_of(pkts[i]) : 0xff;
		w->unclaimed++;
	}
}

static struct nc_engine *mk_engine(struct nc_ring *ring)
{
	struct nc_engine_config cfg = {
		.flow_entries = 1024,
		.max_channels = 256,
		.link = NC_LINK_ETHERNET,
		.socket_id = -1,
		.ring = ring,
		.unclaimed = t_unclaimed,
		.ctx = &W,
	};
	struct nc_engine *e = NULL;

	memset(&W, 0, sizeof(W));
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	W.e = e;
	return e;
}

/* A rule for UDP to 10.0.0.0/8 (any port). */
static struct cls_rule udp_rule(uint32_t id, int32_t prio, uint32_t lo, uint32_t hi)
{
	struct cls_rule r = {
		.family = CLS_IPV4,
		.proto = 17,
		.proto_mask = 0xff,
		.sport_lo = 0, .sport_hi = 65535,
		.dport_lo = 0, .dport_hi = 65535,
		.src_lo.v4 = 0, .src_hi.v4 = UINT32_MAX,
		.dst_lo.v4 = lo, .dst_hi.v4 = hi,
		.priority = prio,
		.id = id,
	};
	return r;
}

struct burst {
	uint8_t buf[64][128];
	const uint8_t *p[64];
	uint32_t len[64];
	unsigned n;
};

static void add4(struct burst *b, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp,
		 uint16_t dp, uint8_t tag)
{
	b->len[b->n] = build4(b->buf[b->n], proto, src, dst, sp, dp, tag);
	b->p[b->n] = b->buf[b->n];
	b->n++;
}

/* ---- bad arguments ---------------------------------------------------- */

Test(nc_args, engine_and_objects)
{
	struct nc_engine_config cfg = {.flow_entries = 64, .max_channels = 8, .socket_id = -1};
	struct nc_engine *e = NULL;
	struct netchannel *nc = NULL;
	struct nc_ops no_process = {.name = "x"};
	struct cls_rule r = udp_rule(1, 1, 0, UINT32_MAX);

	cr_expect_eq(nc_engine_create(NULL, &e), -EINVAL);
	cr_expect_eq(nc_engine_create(&cfg, NULL), -EINVAL);
	cfg.flow_entries = 0;
	cr_expect_eq(nc_engine_create(&cfg, &e), -EINVAL);
	cfg.flow_entries = 64;
	cfg.max_channels = 0;
	cr_expect_eq(nc_engine_create(&cfg, &e), -EINVAL);
	cfg.max_channels = 8;
	cfg.link = NC_LINK_COUNT;
	cr_expect_eq(nc_engine_create(&cfg, &e), -EINVAL);
	cfg.link = NC_LINK_ETHERNET;
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);

	cr_expect_eq(nc_create(NULL, &session_ops, NULL, &nc), -EINVAL);
	cr_expect_eq(nc_create(e, NULL, NULL, &nc), -EINVAL);
	cr_expect_eq(nc_create(e, &no_process, NULL, &nc), -EINVAL);
	cr_expect_eq(nc_create(e, &session_ops, NULL, NULL), -EINVAL);
	int bad = -1;
	cr_expect_eq(nc_create(e, &session_ops, &bad, &nc), -EPERM); /* init's error */
	cr_expect_eq(nc_engine_listen(e, &r, &session_ops, NULL, &nc), -EINVAL); /* no accept */
	r.src_lo.v4 = 5;
	r.src_hi.v4 = 4;
	cr_expect_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &nc), -EINVAL); /* bad rule */
	cr_expect_eq(nc_engine_unlisten(e, NULL), -EINVAL);
	cr_expect_eq(nc_engine_add_flow(e, NULL, NULL, 0, 1), -EINVAL);
	cr_expect_eq(nc_engine_del_flow(e, NULL), -EINVAL);
	cr_expect_eq(nc_engine_rx(NULL, NULL, NULL, NULL, 0, 0, 0), -EINVAL);
	cr_expect_eq(nc_engine_rx(e, NULL, NULL, NULL, 1, 0, 0), -EINVAL);
	cr_expect_eq(nc_engine_rx(e, NULL, NULL, NULL, 0, 0, 0), 0);
	cr_expect_eq(nc_engine_rx_mbufs(e, NULL, 1, 0, 0), -EINVAL);
	cr_expect_eq(nc_engine_poll(NULL, 0), -EINVAL);
	cr_expect_eq(nc_engine_dispatch(e, NULL, 0), -EINVAL);
	cr_expect_eq(nc_read(NULL, NULL, 0), -EINVAL);
	cr_expect_eq(nc_write(NULL, NULL, 0), -EINVAL);
	cr_expect_eq(nc_timer_set(NULL, 0, 0), -EINVAL);

	/* Ids run out at max_channels. */
	struct netchannel *all[8];
	for (int i = 0; i < 8; i++)
		cr_assert_eq(nc_create(e, &session_ops, NULL, &all[i]), 0);
	cr_expect_eq(nc_create(e, &session_ops, NULL, &nc), -ENOSPC);
	cr_expect_eq(nc_read(all[0], (void **)&nc, 1), -EOPNOTSUPP);
	cr_expect_eq(nc_write(all[0], (void *const *)&nc, 1), -EOPNOTSUPP);
	for (int i = 0; i < 8; i++)
		nc_close(all[i]);
	cr_assert_eq(nc_create(e, &session_ops, NULL, &nc), 0);
	nc_close(nc);
	nc_engine_free(e);
	nc_engine_free(NULL);
	nc_unref(NULL);
	nc_close(NULL);
}

/* ---- pipeline ----------------------------------------------------------- */

Test(nc_engine, accept_creates_exact_and_groups_burst)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l;
	struct cls_rule r = udp_rule(1, 10, IP(10, 0, 0, 0), IP(10, 255, 255, 255));
	struct burst b = {0};

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	/* Three new flows interleaved (A B A C B A), one unmatched destination,
	 * one non-IP frame. */
	add4(&b, 17, IP(192, 168, 0, 1), IP(10, 0, 0, 1), 1000, 53, 1); /* A */
	add4(&b, 17, IP(192, 168, 0, 2), IP(10, 0, 0, 1), 1000, 53, 2); /* B */
	add4(&b, 17, IP(192, 168, 0, 1), IP(10, 0, 0, 1), 1000, 53, 3); /* A */
	add4(&b, 17, IP(192, 168, 0, 3), IP(10, 0, 0, 2), 2000, 53, 4); /* C */
	add4(&b, 17, IP(192, 168, 0, 2), IP(10, 0, 0, 1), 1000, 53, 5); /* B */
	add4(&b, 17, IP(192, 168, 0, 1), IP(10, 0, 0, 1), 1000, 53, 6); /* A */
	add4(&b, 17, IP(192, 168, 0, 1), IP(11, 0, 0, 1), 1000, 53, 7); /* no rule */
	add4(&b, 6, IP(192, 168, 0, 1), IP(10, 0, 0, 1), 1000, 53, 8);  /* TCP: no rule */
	b.len[b.n] = 20; /* runt, not IP */
	memset(b.buf[b.n], 0, 20);
	b.p[b.n] = b.buf[b.n];
	b.n++;

	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, 1), 6);
	cr_expect_eq(W.accepts, 3u); /* later packets of A and B found the flow */
	cr_expect_eq(W.process_calls, 3u);
	/* Per netchannel, arrival order; netchannels in order of first packet. */
	uint8_t expect_tags[6] = {1, 3, 6, 2, 5, 4};
	cr_assert_eq(W.nlog, 6u);
	for (int i = 0; i < 6; i++)
		cr_expect_eq(W.log_tag[i], expect_tags[i], "pos %d", i);
	cr_expect_eq(W.log_id[0], W.log_id[1]);
	cr_expect_neq(W.log_id[0], W.log_id[3]);
	cr_expect_eq(W.unclaimed, 3u);
	cr_expect_eq(W.unclaimed_tags[0], 7);
	cr_expect_eq(W.unclaimed_tags[1], 8);

	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.rx, 9u);
	cr_expect_eq(st.flow_hits, 0u);
	cr_expect_eq(st.flow_misses, 8u);
	cr_expect_eq(st.accepted, 3u);
	cr_expect_eq(st.no_key, 1u);
	cr_expect_eq(st.no_listener, 2u);
	cr_expect_eq(st.unclaimed, 3u);
	cr_expect_eq(st.flows, 3u);
	cr_expect_eq(st.channels, 4u); /* listener + 3 sessions */
	cr_expect_eq(nc_refcount(W.last_created), 1u); /* the table's */

	/* Second burst: all established, no accept. */
	W.nlog = 0;
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 6, 0, 2), 6);
	cr_expect_eq(W.accepts, 3u);
	nc_engine_stats(e, &st);
	cr_expect_eq(st.flow_hits, 6u);
	cr_expect_eq(nc_rx_packets(W.last_created), 2u);

	nc_engine_free(e);
	cr_expect_eq(W.cleanups, 4u); /* every netchannel cleaned up once */
}

Test(nc_engine, flow_table_before_classifier_and_priorities)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l1, *l2, *exact;
	struct cls_rule r1 = udp_rule(1, 10, IP(10, 0, 0, 0), IP(10, 255, 255, 255));
	struct cls_rule r2 = udp_rule(2, 20, IP(10, 0, 0, 0), IP(10, 0, 0, 255));
	struct burst b = {0};

	W.accept_refuses = true; /* listeners process packets themselves? no: refuse */
	cr_assert_eq(nc_engine_listen(e, &r1, &listener_ops, NULL, &l1), 0);
	cr_assert_eq(nc_engine_listen(e, &r2, &listener_ops, NULL, &l2), 0);
	cr_expect_eq(nc_engine_listen(e, &r2, &listener_ops, NULL, &l2), -EEXIST);
	add4(&b, 17, IP(1, 1, 1, 1), IP(10, 0, 0, 5), 1, 2, 1);
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 0, 1), 0);
	cr_expect_eq(W.accepts, 1u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.refused, 1u);
	cr_expect_eq(W.unclaimed, 1u);

	/* An exact entry for the same key wins over both listeners. */
	cr_assert_eq(nc_create(e, &session_ops, NULL, &exact), 0);
	struct nc_pkt_info pi;
	struct nc_flow_key k;
	cr_assert_eq(nc_parse(b.p[0], b.len[0], 0, NC_LINK_ETHERNET, &pi), 0);
	cr_assert(nc_flow_key_from_pkt(&k, &pi, 0));
	cr_assert_eq(nc_engine_add_flow(e, &k, exact, 0, UINT64_MAX), 0);
	cr_expect_eq(nc_engine_add_flow(e, &k, exact, 0, UINT64_MAX), -EEXIST);
	cr_expect_eq(nc_refcount(exact), 2u);
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 0, 2), 1);
	cr_expect_eq(W.accepts, 1u);
	cr_expect_eq(W.log_id[0], nc_id(exact));
	/* Same key on another in-port (zone) is another flow. */
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 7, 3), 0);
	cr_expect_eq(W.accepts, 2u);

	/* Remove the exact flow and the higher listener: l1 gets the miss. */
	cr_assert_eq(nc_engine_del_flow(e, &k), 0);
	cr_expect_eq(nc_engine_del_flow(e, &k), -ENOENT);
	cr_expect_eq(nc_refcount(exact), 1u);
	W.accept_refuses = false;
	cr_assert_eq(nc_engine_unlisten(e, l2), 0);
	cr_expect_eq(nc_engine_unlisten(e, exact), -EINVAL);
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 0, 4), 1);
	cr_expect_eq(W.accepts, 3u);
	nc_close(exact);
	nc_engine_free(e);
}

Test(nc_engine, refcount_and_delete_during_burst)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l;
	struct cls_rule r = udp_rule(1, 10, 0, UINT32_MAX);
	struct burst b = {0};

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, 2), 1, 2, 1);
	add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, 3), 1, 2, 2);
	add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, 2), 1, 2, 3);
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 3, 0, 1), 3);
	struct netchannel *s = W.last_created;
	nc_ref(s);
	cr_expect_eq(nc_refcount(s), 2u);
	nc_unref(s);
	/* process() deletes its own flow: the session's last reference goes
	 * while the burst still holds packets for the other one. */
	W.delete_on_process = true;
	W.nlog = 0;
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 3, 0, 2), 3);
	cr_expect_eq(W.nlog, 3u);
	cr_expect_eq(W.cleanups, 2u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.flows, 0u);
	cr_expect_eq(st.channels, 1u);
	/* Ids of freed netchannels are stale now. */
	cr_expect_null(nc_engine_find(e, nc_id64(l) + (1ull << 32)));
	cr_expect_eq(nc_engine_find(e, nc_id64(l)), l);
	nc_engine_free(e);
	cr_expect_eq(W.cleanups, 3u);
}

Test(nc_engine, timers_through_ring_and_idle_expiry)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l;
	struct cls_rule r = udp_rule(1, 10, 0, UINT32_MAX);
	struct burst b = {0};

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, 2), 1, 2, 1);
	add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, 3), 1, 2, 2);
	W.idle = 1000;
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 0, 100), 1);
	struct netchannel *s1 = W.last_created;
	cr_expect_eq(nc_engine_rx(e, b.p + 1, b.len + 1, NULL, 1, 0, 100), 1);
	/* s1: an explicit timer at 500 whose timeout() ends the session. */
	cr_assert_eq(nc_timer_set(s1, 500, 0), 0);
	cr_expect_eq(nc_engine_poll(e, 499), 0);
	cr_expect_eq(nc_engine_poll(e, 500), 1);
	cr_expect_eq(W.timeouts, 1u);
	cr_expect_eq(W.cleanups, 1u); /* s1 gone: its flow was its last ref */
	/* s2 goes idle at 100 + 1000 (flow table expiry). */
	cr_expect_eq(nc_engine_poll(e, 1099), 0);
	cr_expect_eq(nc_engine_poll(e, 1100), 1);
	cr_expect_eq(W.cleanups, 2u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.expired_flows, 1u);
	cr_expect_eq(st.timer_events, 1u);
	cr_expect_eq(st.channels, 1u);
	nc_engine_free(e);
}

Test(nc_engine, stale_timer_event_on_shared_ring)
{
	struct nc_ring_config rc = {.size = 64};
	struct nc_ring *ring;
	cr_assert_eq(nc_ring_create(&rc, &ring), 0);
	struct nc_engine *e = mk_engine(ring);
	struct netchannel *a, *b2;
	struct nc_event ev[4];

	cr_assert_eq(nc_create(e, &session_ops, NULL, &a), 0);
	cr_assert_eq(nc_create(e, &session_ops, NULL, &b2), 0);
	cr_assert_eq(nc_timer_set(a, 10, 0), 0);
	cr_assert_eq(nc_timer_set(b2, 10, 0), 0);
	cr_expect_eq(nc_engine_poll(e, 10), 0); /* shared ring: events wait there */
	cr_assert_eq(nc_ring_consume(ring, ev, 4), 2);
	cr_expect_eq(ev[0].kind, NC_EV_TIMER);
	cr_expect_eq(ev[0].source, NC_SRC_ENGINE);
	nc_close(a); /* gone before its event is handled */
	int handled = 0;
	for (int i = 0; i < 2; i++)
		handled += nc_engine_dispatch(e, &ev[i], 10);
	cr_expect_eq(handled, 1);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.stale_timer_events, 1u);
	struct nc_event other = {.kind = NC_EV_USER_BASE};
	cr_expect_eq(nc_engine_dispatch(e, &other, 10), 0);
	nc_close(b2);
	nc_engine_free(e);
	nc_ring_free(ring);
}

/* A NAT-like pair: when one side's key expires, its cleanup removes the
 * other side's key (re-entering the engine from a flow-table callback). */
struct pair_priv {
	struct nc_flow_key partner;
	bool has_partner;
};

static void pair_cleanup(struct netchannel *nc)
{
	struct pair_priv *p = nc_priv(nc);

	W.cleanups++;
	if (p->has_partner) {
		int rc = nc_engine_del_flow(nc_engine_of(nc), &p->partner);
		cr_expect(rc == 0 || rc == -ENOENT || rc == -ESHUTDOWN, "partner del %d", rc);
	}
}

static const struct nc_ops pair_ops = {
	.name = "pair",
	.priv_size = sizeof(struct pair_priv),
	.cleanup = pair_cleanup,
	.process = t_process,
};

Test(nc_engine, pair_cleanup_reenters_flow_table)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *a, *b2;
	struct nc_flow_key ka, kb;
	union cls_addr x = {.v4 = IP(1, 1, 1, 1)}, y = {.v4 = IP(2, 2, 2, 2)};

	nc_flow_key_set(&ka, 0, CLS_IPV4, 17, &x, &y, 1, 2);
	nc_flow_key_reverse(&kb, &ka);
	cr_assert_eq(nc_create(e, &pair_ops, NULL, &a), 0);
	cr_assert_eq(nc_create(e, &pair_ops, NULL, &b2), 0);
	((struct pair_priv *)nc_priv(a))->partner = kb;
	((struct pair_priv *)nc_priv(a))->has_partner = true;
	((struct pair_priv *)nc_priv(b2))->partner = ka;
	((struct pair_priv *)nc_priv(b2))->has_partner = true;
	cr_assert_eq(nc_engine_add_flow(e, &ka, a, 0, 100), 0);
	cr_assert_eq(nc_engine_add_flow(e, &kb, b2, 0, UINT64_MAX), 0);
	nc_unref(a);
	nc_unref(b2);
	cr_expect_eq(nc_engine_poll(e, 50), 0);
	/* a's key goes idle; a's cleanup removes kb; b2's cleanup finds ka
	 * already gone. */
	cr_expect_eq(nc_engine_poll(e, 100), 1);
	cr_expect_eq(W.cleanups, 2u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.flows, 0u);
	cr_expect_eq(st.channels, 0u);
	/* The same through engine teardown. */
	cr_assert_eq(nc_create(e, &pair_ops, NULL, &a), 0);
	cr_assert_eq(nc_create(e, &pair_ops, NULL, &b2), 0);
	((struct pair_priv *)nc_priv(a))->partner = kb;
	((struct pair_priv *)nc_priv(a))->has_partner = true;
	cr_assert_eq(nc_engine_add_flow(e, &ka, a, 0, UINT64_MAX), 0);
	cr_assert_eq(nc_engine_add_flow(e, &kb, b2, 0, UINT64_MAX), 0);
	nc_unref(a);
	nc_unref(b2);
	nc_engine_free(e);
	cr_expect_eq(W.cleanups, 4u);
}

/* Ring delivery: a listener whose accept() makes nc_ring_ops netchannels. */
static struct netchannel *ring_accept(struct netchannel *l, struct nc_pkt *pkt)
{
	struct netchannel *nc;
	struct nc_engine *e = nc_engine_of(l);

	if (nc_create(e, &nc_ring_ops, NULL, &nc) != 0)
		return NULL;
	if (nc_engine_add_flow(e, &pkt->key, nc, 0, UINT64_MAX) != 0) {
		nc_close(nc);
		return NULL;
	}
	nc_unref(nc);
	return nc;
}

static const struct nc_ops ring_listener = {
	.name = "ring-listener",
	.accept = ring_accept,
	.process = t_process,
};

struct handler {
	struct nc_ring *ring;
	unsigned want, got;
	uint64_t cookies;
};

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct nc_event ev[16];

	while (h->got < h->want) {
		int n = nc_ring_consume(h->ring, ev, 16);
		if (n == 0) {
			if (nc_ring_wait(h->ring, 2000) == -ETIMEDOUT)
				break;
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == NC_EV_PACKET) {
				h->cookies += ev[i].udata;
				h->got++;
			}
		}
	}
	return NULL;
}

Test(nc_engine, deliver_to_completion_ring)
{
	struct nc_ring_config rc = {.size = 256};
	struct nc_ring *ring;
	cr_assert_eq(nc_ring_create(&rc, &ring), 0);
	struct nc_engine *e = mk_engine(ring);
	struct netchannel *l;
	struct cls_rule r = udp_rule(1, 10, 0, UINT32_MAX);
	struct burst b = {0};
	void *cookies[64];
	uint64_t sum = 0;

	cr_assert_eq(nc_engine_listen(e, &r, &ring_listener, NULL, &l), 0);
	for (unsigned i = 0; i < 40; i++) {
		add4(&b, 17, IP(1, 1, 1, 1), IP(2, 2, 2, (uint8_t)(i % 5)), 1, 2, (uint8_t)i);
		cookies[i] = (void *)(uintptr_t)(1000 + i);
		sum += 1000 + i;
	}
	struct handler h = {.ring = ring, .want = 200};
	pthread_t th;
	pthread_create(&th, NULL, handler_main, &h);
	for (int k = 0; k < 5; k++)
		cr_expect_eq(nc_engine_rx(e, b.p, b.len, cookies, 40, 0, 1), 40);
	pthread_join(th, NULL);
	cr_expect_eq(h.got, 200u);
	cr_expect_eq(h.cookies, 5 * sum);
	struct nc_ring_stats rs;
	nc_ring_stats(ring, &rs);
	cr_expect_eq(rs.overflow, 0u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.accepted, 5u);
	nc_engine_free(e);
	nc_ring_free(ring);
}

/* Ethernet + IPv6 + UDP; addresses 2001:db8::<lo> style (hi, lo halves). */
static uint32_t build6(uint8_t *b, uint64_t src_lo, uint64_t dst_lo, uint16_t sport,
		       uint16_t dport, uint8_t tag)
{
	uint32_t plen = 8 + 4;

	memset(b, 0, 14 + 40 + plen);
	put16(b + 12, 0x86dd);
	uint8_t *ip = b + 14;
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)plen);
	ip[6] = 17;
	ip[7] = 64;
	put32(ip + 8, 0x20010db8);
	put32(ip + 16, (uint32_t)(src_lo >> 32));
	put32(ip + 20, (uint32_t)src_lo);
	put32(ip + 24, 0x20010db8);
	put32(ip + 32, (uint32_t)(dst_lo >> 32));
	put32(ip + 36, (uint32_t)dst_lo);
	uint8_t *t = ip + 40;
	put16(t, sport);
	put16(t + 2, dport);
	put16(t + 4, (uint16_t)plen);
	t[8] = tag;
	return 14 + 40 + plen;
}

Test(nc_engine, ipv6_listener_and_flows)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l;
	struct cls_rule r = {
		.family = CLS_IPV6,
		.proto = 17,
		.proto_mask = 0xff,
		.sport_hi = 65535,
		.dport_lo = 53, .dport_hi = 53,
		.src_hi.v6 = {UINT64_MAX, UINT64_MAX},
		.dst_lo.v6 = {0x20010db800000000ull, 0},
		.dst_hi.v6 = {0x20010db800000000ull, UINT64_MAX},
		.priority = 1,
		.id = 6,
	};
	struct burst b = {0};

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	for (unsigned i = 0; i < 6; i++) {
		b.len[b.n] = build6(b.buf[b.n], 100 + i % 2, 7, 4000, i == 5 ? 54 : 53, (uint8_t)i);
		b.p[b.n] = b.buf[b.n];
		b.n++;
	}
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 3, 1), 5);
	cr_expect_eq(W.accepts, 2u);
	cr_expect_eq(W.unclaimed, 1u); /* dport 54: no rule */
	cr_expect_eq(W.unclaimed_tags[0], 5);
	cr_expect_eq(W.log_tag[0], 0);
	cr_expect_eq(W.log_tag[1], 2);
	cr_expect_eq(W.log_tag[2], 4);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.flows, 2u);
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 5, 3, 2), 5);
	nc_engine_stats(e, &st);
	cr_expect_eq(st.flow_hits, 5u);
	nc_engine_free(e);
}

/* ---- mbufs -------------------------------------------------------------- */

Test(nc_mbuf, rx_mbufs_frees_dropped)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create("nc_test_pool", 511, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(mp);
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l;
	struct cls_rule r = udp_rule(1, 10, IP(10, 0, 0, 0), IP(10, 255, 255, 255));
	struct rte_mbuf *m[100];

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	cr_assert_eq(rte_pktmbuf_alloc_bulk(mp, m, 100), 0);
	for (unsigned i = 0; i < 100; i++) {
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m[i], 64);
		cr_assert_not_null(d);
		uint32_t dst = i % 4 == 3 ? IP(11, 0, 0, 1) : IP(10, 0, 0, (uint8_t)(i % 3));
		build4(d, 17, IP(1, 1, 1, 1), dst, 5, 6, (uint8_t)i);
	}
	cr_assert_eq(rte_mempool_in_use_count(mp), 100u);
	/* 100 > NC_BURST_MAX: split in two bursts. */
	cr_expect_eq(nc_engine_rx_mbufs(e, m, 100, 0, 1), 75);
	cr_expect_eq(W.nlog, 75u);
	cr_expect_eq(W.accepts, 3u);
	cr_expect_eq(W.unclaimed, 25u); /* handed to t_unclaimed, which keeps them */
	/* process() dropped its 75 (freed); the unclaimed 25 are ours. */
	cr_expect_eq(rte_mempool_in_use_count(mp), 25u);
	nc_engine_free(e);
	/* Without an unclaimed handler the engine drops (frees) them. */
	struct nc_engine_config cfg = {.flow_entries = 64, .max_channels = 8, .socket_id = -1};
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	struct rte_mbuf *left[25];
	for (unsigned i = 0, j = 0; i < 100; i++)
		if (i % 4 == 3)
			left[j++] = m[i];
	cr_expect_eq(nc_engine_rx_mbufs(e, left, 25, 0, 1), 0);
	cr_expect_eq(rte_mempool_in_use_count(mp), 0u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_expect_eq(st.dropped, 25u);
	nc_engine_free(e);
	rte_mempool_free(mp);
}

/* ---- zones: listeners of one in-port, then listeners of every port ---- */

static struct netchannel *zone_hit;

static struct netchannel *zone_accept(struct netchannel *l, struct nc_pkt *pkt)
{
	(void)pkt;
	zone_hit = l;
	return NULL; /* refuse: the packet goes to unclaimed */
}

static const struct nc_ops zone_ops = {
	.name = "zone_listener",
	.accept = zone_accept,
	.process = t_process,
};

Test(nc_engine, zone_listeners)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *z0, *z1, *any, *l;
	/* overlapping rules: same id in two zones is fine, the any-zone rule
	 * has the highest priority but only answers what no zone rule took */
	struct cls_rule r0 = udp_rule(1, 1, IP(10, 0, 0, 0), IP(10, 0, 0, 255));
	struct cls_rule r1 = udp_rule(1, 1, IP(10, 0, 0, 0), IP(10, 255, 255, 255));
	struct cls_rule ra = udp_rule(1, 100, IP(0, 0, 0, 0), IP(255, 255, 255, 255));
	struct burst b = {0};

	cr_expect_eq(nc_engine_listen_zone(e, NC_ENGINE_ZONES, &r0, &zone_ops, NULL, &l), -EINVAL);
	cr_assert_eq(nc_engine_listen_zone(e, 0, &r0, &zone_ops, NULL, &z0), 0);
	cr_expect_eq(nc_engine_listen_zone(e, 0, &r0, &zone_ops, NULL, &l), -EEXIST);
	cr_assert_eq(nc_engine_listen_zone(e, 1, &r1, &zone_ops, NULL, &z1), 0);
	cr_assert_eq(nc_engine_listen(e, &ra, &zone_ops, NULL, &any), 0);
	add4(&b, 17, IP(1, 1, 1, 1), IP(10, 0, 0, 5), 1, 2, 1);   /* both zone rules */
	add4(&b, 17, IP(1, 1, 1, 1), IP(10, 9, 0, 5), 1, 2, 2);   /* zone 1's only */
	add4(&b, 17, IP(1, 1, 1, 1), IP(192, 0, 2, 1), 1, 2, 3);  /* no zone rule */
	const uint8_t *one[1];
	uint32_t len1[1];
	struct {
		unsigned pkt;
		uint16_t port;
		struct netchannel **want;
	} cases[] = {
		{0, 0, &z0}, {0, 1, &z1}, {0, 2, &any}, {1, 0, &any},
		{1, 1, &z1}, {2, 0, &any}, {2, 1, &any}, {2, 7, &any},
	};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		one[0] = b.p[cases[c].pkt];
		len1[0] = b.len[cases[c].pkt];
		zone_hit = NULL;
		cr_expect_eq(nc_engine_rx(e, one, len1, NULL, 1, cases[c].port, c), 0);
		cr_expect_eq(zone_hit, *cases[c].want, "case %u: packet %u on port %u", c,
			     cases[c].pkt, cases[c].port);
	}
	/* a whole burst on one port: one bulk lookup per zone, same answers */
	zone_hit = NULL;
	cr_expect_eq(nc_engine_rx(e, b.p, b.len, NULL, 2, 1, 100), 0);
	cr_expect_eq(zone_hit, z1);
	/* unlisten from a zone; the any-zone rule takes over */
	cr_assert_eq(nc_engine_unlisten(e, z0), 0);
	one[0] = b.p[0];
	len1[0] = b.len[0];
	cr_expect_eq(nc_engine_rx(e, one, len1, NULL, 1, 0, 101), 0);
	cr_expect_eq(zone_hit, any);
	nc_engine_free(e);
}

/* Objects come from the engine's slab (nc_slab.h): the memory shows in the
 * stats, ids and memory are reused, and a netchannel still referenced when
 * the engine goes stays usable until its last reference (the sanitizer
 * build checks the memory then). */
Test(nc_engine, object_memory_and_detach)
{
	struct nc_engine *e = mk_engine(NULL);
	struct nc_engine_stats st;
	struct netchannel *nc[200], *kept;
	uint64_t bytes;
	int i;

	nc_engine_stats(e, &st);
	cr_assert_eq(st.object_bytes, 0);
	for (i = 0; i < 200; i++) {
		cr_assert_eq(nc_create(e, &session_ops, NULL, &nc[i]), 0);
		memset(nc_priv(nc[i]), 0x5a, sizeof(struct priv));
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.channels, 200);
	cr_assert_eq(st.object_bytes, (uint64_t)2 << 20, "one 2 MiB chunk: %llu",
		     (unsigned long long)st.object_bytes);
	bytes = st.object_bytes;
	for (i = 0; i < 200; i++)
		nc_close(nc[i]);
	cr_assert_eq(W.cleanups, 200);
	for (i = 0; i < 200; i++)
		cr_assert_eq(nc_create(e, &session_ops, NULL, &nc[i]), 0);
	nc_engine_stats(e, &st);
	cr_assert_eq(st.object_bytes, bytes, "freed objects not reused");
	for (i = 1; i < 200; i++)
		nc_close(nc[i]);
	/* nc[0] outlives the engine: detached, still readable */
	kept = nc[0];
	memset(nc_priv(kept), 0x33, sizeof(struct priv));
	nc_engine_free(e);
	cr_assert_null(nc_engine_of(kept));
	cr_assert_eq(((unsigned char *)nc_priv(kept))[0], 0x33);
	cr_assert_eq(nc_refcount(kept), 1);
	nc_close(kept); /* the last object: its slab goes with it */
	cr_assert_eq(W.cleanups, 400);
}

/* ---- ids, timers, counters, object memory (the compact layout) -------- */

/* Ids under churn against a model: live ids are distinct and below
 * max_channels, an engine hands out low ids first and reuses the last freed
 * id first with a new generation, -ENOSPC exactly when max_channels are
 * live, and every 64-bit id of a freed netchannel stays stale however
 * often its index is reused. */
Test(nc_engine, id_reuse_and_generations_under_churn)
{
	enum { MAX = 64, OPS = 40000, STALE = 4096 };
	struct nc_engine_config cfg = {.flow_entries = 64, .max_channels = MAX, .socket_id = -1};
	struct nc_engine *e = NULL;
	struct netchannel *live[MAX] = {0}, *nc;
	uint64_t *stale = calloc(STALE, sizeof(*stale));
	uint32_t gens[MAX] = {0};
	unsigned nlive = 0, nstale = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	memset(&W, 0, sizeof(W));
	cr_assert_not_null(stale);
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	for (uint32_t i = 0; i < 5; i++) {
		cr_assert_eq(nc_create(e, &session_ops, NULL, &nc), 0);
		cr_assert_eq(nc_id(nc), i, "low ids first");
		cr_assert_eq(nc_id64(nc), (uint64_t)i);
		live[i] = nc;
		nlive++;
	}
	/* the last freed first, with the next generation */
	uint64_t old = nc_id64(live[1]);
	nc_close(live[1]);
	cr_assert_null(nc_engine_find(e, old));
	cr_assert_eq(nc_create(e, &session_ops, NULL, &live[1]), 0);
	cr_assert_eq(nc_id64(live[1]), old + (1ull << 32));
	gens[1] = 1;
	stale[nstale++] = old;

	for (unsigned op = 0; op < OPS; op++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		unsigned slot = (unsigned)(rng % MAX);

		if (live[slot] != NULL && (rng >> 40) % 2 == 0) {
			uint64_t id64 = nc_id64(live[slot]);
			cr_assert_eq(nc_engine_find(e, id64), live[slot]);
			nc_close(live[slot]);
			live[slot] = NULL;
			nlive--;
			cr_assert_null(nc_engine_find(e, id64));
			stale[nstale++ % STALE] = id64;
		} else if (live[slot] == NULL) {
			cr_assert_eq(nc_create(e, &session_ops, NULL, &nc), 0);
			uint32_t id = nc_id(nc);
			cr_assert_lt(id, (uint32_t)MAX);
			for (unsigned j = 0; j < MAX; j++)
				cr_assert(live[j] == NULL || nc_id(live[j]) != id, "id %u twice", id);
			cr_assert_geq((uint32_t)(nc_id64(nc) >> 32), gens[id]);
			gens[id] = (uint32_t)(nc_id64(nc) >> 32);
			live[slot] = nc;
			nlive++;
		}
		if (nlive == MAX)
			cr_assert_eq(nc_create(e, &session_ops, NULL, &nc), -ENOSPC);
		if (op % 997 == 0)
			for (unsigned j = 0; j < (nstale < STALE ? nstale : STALE); j++)
				cr_assert_null(nc_engine_find(e, stale[j]), "stale id %llx found",
					       (unsigned long long)stale[j]);
	}
	/* Fill up: -ENOSPC at MAX live, then ids come back. */
	for (unsigned j = 0; j < MAX; j++)
		if (live[j] == NULL) {
			cr_assert_eq(nc_create(e, &session_ops, NULL, &live[j]), 0);
			nlive++;
		}
	cr_assert_eq(nc_create(e, &session_ops, NULL, &nc), -ENOSPC);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_assert_eq(st.channels, (uint32_t)MAX);
	for (unsigned j = 0; j < MAX; j++) {
		cr_assert_eq(nc_engine_find(e, nc_id64(live[j])), live[j]);
		nc_close(live[j]);
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.channels, 0u);
	cr_assert_null(nc_engine_find(e, (uint64_t)MAX)); /* id out of range */
	nc_engine_free(e);
	free(stale);
}

/* A type counting its own timeouts. */
struct tick_priv {
	unsigned fired;
	uint64_t last;
};

static void tick_timeout(struct netchannel *nc, uint64_t now)
{
	struct tick_priv *p = nc_priv(nc);

	p->fired++;
	p->last = now;
	W.timeouts++;
}

static void tick_cleanup(struct netchannel *nc)
{
	(void)nc;
	W.cleanups++;
}

static const struct nc_ops tick_ops = {
	.name = "tick",
	.priv_size = sizeof(struct tick_priv),
	.cleanup = tick_cleanup,
	.process = t_process,
	.timeout = tick_timeout,
};

/* Timers on many netchannels (the engine finds them by id): a random half
 * armed at distinct times, some re-armed, some stopped, some closed with
 * their timer pending, ids of closed ones reused by netchannels without a
 * timer; exactly the armed ones fire, each once, at its time. */
Test(nc_engine, timers_on_many_netchannels)
{
	enum { N = 1000 };
	struct nc_engine_config cfg = {.flow_entries = 64, .max_channels = N + 16,
				       .socket_id = -1, .ring_size = 4096};
	struct nc_engine *e = NULL;
	struct netchannel *nc[N];
	uint64_t when[N]; /* 0: not armed */
	bool closed[N] = {0};
	uint64_t rng = 0x853c49e6748fea9bull;
	unsigned expect = 0;

	memset(&W, 0, sizeof(W));
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(nc_create(e, &tick_ops, NULL, &nc[i]), 0);
		when[i] = 0;
		cr_assert(!nc_timer_stop(nc[i]), "no timer yet");
	}
	for (unsigned i = 0; i < N; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		if (rng % 2)
			continue;
		when[i] = 1000 + i;
		cr_assert_eq(nc_timer_set(nc[i], 5000, 0), 0);
		cr_assert_eq(nc_timer_set(nc[i], when[i], 0), 0); /* re-armed */
	}
	for (unsigned i = 0; i < N; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		switch (rng % 8) {
		case 0: /* stopped */
			cr_assert_eq(nc_timer_stop(nc[i]), when[i] != 0);
			when[i] = 0;
			break;
		case 1: /* closed with its timer: the id is reused below */
			nc_close(nc[i]);
			closed[i] = true;
			when[i] = 0;
			break;
		default:
			break;
		}
		expect += when[i] != 0;
	}
	/* New netchannels without timers take the closed ones' ids. */
	struct netchannel *fresh[N];
	unsigned nfresh = 0;
	for (unsigned i = 0; i < N; i++)
		if (closed[i])
			cr_assert_eq(nc_create(e, &tick_ops, NULL, &fresh[nfresh++]), 0);
	unsigned early = 0;
	for (unsigned i = 0; i < N; i++)
		early += when[i] != 0 && when[i] <= 1000 + N / 2;
	cr_assert_eq(nc_engine_poll(e, 999), 0);
	cr_assert_eq(nc_engine_poll(e, 1000 + N / 2), (int)early);
	cr_assert_eq(nc_engine_poll(e, 1000 + N / 2), 0, "one-shot: fired once");
	cr_assert_eq(nc_engine_poll(e, 10000), (int)(expect - early));
	cr_assert_eq(W.timeouts, expect);
	for (unsigned i = 0; i < N; i++) {
		if (closed[i])
			continue;
		struct tick_priv *p = nc_priv(nc[i]);
		cr_assert_eq(p->fired, when[i] != 0 ? 1u : 0u, "netchannel %u", i);
		if (when[i] != 0)
			cr_assert_leq(p->last, when[i] <= 1000 + N / 2 ? 1000 + N / 2 : 10000);
		cr_assert(!nc_timer_stop(nc[i]), "fired: not armed");
	}
	for (unsigned j = 0; j < nfresh; j++)
		cr_assert_eq(((struct tick_priv *)nc_priv(fresh[j]))->fired, 0u);
	struct nc_engine_stats st;
	nc_engine_stats(e, &st);
	cr_assert_eq(st.timer_events, (uint64_t)expect);
	cr_assert_eq(st.stale_timer_events, 0u, "closed ones' timers were cancelled");
	/* Periodic on every survivor, then all closed with timers pending. */
	for (unsigned i = 0; i < N; i++)
		if (!closed[i])
			cr_assert_eq(nc_timer_set(nc[i], 20000 + i, 100), 0);
	for (unsigned j = 0; j < nfresh; j++)
		cr_assert_eq(nc_timer_set(fresh[j], 20000, 0), 0);
	cr_assert_eq(nc_engine_poll(e, 20000 + N), (int)N); /* every one, once */
	for (unsigned i = 0; i < N; i++)
		if (!closed[i])
			nc_close(nc[i]);
	for (unsigned j = 0; j < nfresh; j++)
		nc_close(fresh[j]);
	cr_assert_eq(nc_engine_poll(e, 1000000), 0, "nothing left armed");
	nc_engine_stats(e, &st);
	cr_assert_eq(st.channels, 0u);
	cr_assert_eq(W.cleanups, (unsigned)(N + nfresh));
	nc_engine_free(e);
}

/* rx_pkts: the packets given to each netchannel's process() over many
 * bursts, interleaved, the listener's own (accept returning itself) too. */
static struct netchannel *self_accept(struct netchannel *l, struct nc_pkt *pkt)
{
	(void)pkt;
	W.accepts++;
	return l;
}

static const struct nc_ops self_listener_ops = {
	.name = "self",
	.accept = self_accept,
	.process = t_process,
};

Test(nc_engine, rx_packets_per_netchannel)
{
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *l, *self, *s[3];
	struct cls_rule r = udp_rule(1, 10, IP(10, 0, 0, 0), IP(10, 255, 255, 255));
	struct cls_rule r2 = udp_rule(2, 10, IP(20, 0, 0, 0), IP(20, 255, 255, 255));
	struct burst b = {0};
	uint64_t want[3] = {0}, want_self = 0;
	uint64_t rng = 12345;

	cr_assert_eq(nc_engine_listen(e, &r, &listener_ops, NULL, &l), 0);
	cr_assert_eq(nc_engine_listen(e, &r2, &self_listener_ops, NULL, &self), 0);
	cr_assert_eq(nc_rx_packets(l), 0u);
	cr_assert_eq(nc_rx_packets(NULL), 0u);
	for (int k = 0; k < 3; k++) {
		b.n = 0;
		add4(&b, 17, IP(1, 1, 1, 1), IP(10, 0, 0, 1 + k), 1, 2, 0);
		cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, 1, 0, 1), 1);
		s[k] = W.last_created;
		cr_assert_eq(nc_rx_packets(s[k]), 1u);
		want[k] = 1;
	}
	for (int round = 0; round < 200; round++) {
		unsigned handed = 0;

		b.n = 0;
		for (int i = 0; i < 64; i++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			unsigned k = (unsigned)(rng % 5);
			if (k < 3) {
				add4(&b, 17, IP(1, 1, 1, 1), IP(10, 0, 0, 1 + k), 1, 2, 0);
				want[k]++;
				handed++;
			} else if (k == 3) {
				add4(&b, 17, IP(1, 1, 1, 1), IP(20, 0, 0, 1), 1, 2, 0);
				want_self++;
				handed++;
			} else {
				add4(&b, 17, IP(1, 1, 1, 1), IP(30, 0, 0, 1), 1, 2, 0); /* nobody */
			}
		}
		cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, 2 + (uint64_t)round),
			     (int)handed);
	}
	for (int k = 0; k < 3; k++)
		cr_assert_eq(nc_rx_packets(s[k]), want[k], "session %d: %llu", k,
			     (unsigned long long)nc_rx_packets(s[k]));
	cr_assert_eq(nc_rx_packets(self), want_self);
	cr_assert_eq(nc_rx_packets(l), 0u, "a listener that hands over counts nothing");
	/* the counter outlives the engine with a held netchannel */
	nc_ref(s[0]);
	nc_engine_free(e);
	cr_assert_eq(nc_rx_packets(s[0]), want[0]);
	nc_unref(s[0]);
}

/* Objects of sizes beyond the engine's slabs are malloc'd: they find their
 * engine too (it precedes them), take timers, detach like slab ones; a
 * netchannel outliving its engine keeps its 64-bit id and loses its timer
 * (the sanitizer build checks the memory). */
Test(nc_engine, malloc_objects_and_detach_keep_ids)
{
	struct nc_engine *e = mk_engine(NULL);
	struct nc_ops ops[6];
	struct netchannel *nc[6][3];
	uint64_t id64[6][3];
	/* four slab sizes (the first four seen), then a fifth size and one
	 * beyond NC_SLAB_MAX_OBJ: malloc */
	const size_t sizes[6] = {24, 32, 40, 56, 72, 8192}; /* >= tick_priv */
	struct nc_engine_stats st;

	for (int t = 0; t < 6; t++) {
		ops[t] = tick_ops;
		ops[t].priv_size = sizes[t];
		for (int k = 0; k < 3; k++) {
			cr_assert_eq(nc_create(e, &ops[t], NULL, &nc[t][k]), 0);
			cr_assert_eq(nc_engine_of(nc[t][k]), e);
			cr_assert_eq((uintptr_t)nc_priv(nc[t][k]) % 8, 0u);
			memset(nc_priv(nc[t][k]), 0x40 + t, sizes[t]);
			((struct tick_priv *)nc_priv(nc[t][k]))->fired = 0;
			id64[t][k] = nc_id64(nc[t][k]);
			cr_assert_eq(nc_engine_find(e, id64[t][k]), nc[t][k]);
		}
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.object_bytes, (uint64_t)4 * (2 << 20), "four slabs, one chunk each");
	/* timers on every kind; the malloc'd ones fire */
	for (int t = 0; t < 6; t++)
		cr_assert_eq(nc_timer_set(nc[t][0], 100 + (uint64_t)t, 0), 0);
	cr_assert_eq(nc_engine_poll(e, 103), 4);
	cr_assert_eq(((struct tick_priv *)nc_priv(nc[3][0]))->fired, 1u);
	cr_assert_eq(((struct tick_priv *)nc_priv(nc[4][0]))->fired, 0u);
	/* close one of each: cleanup runs, ids freed */
	for (int t = 0; t < 6; t++) {
		nc_close(nc[t][2]);
		cr_assert_null(nc_engine_find(e, id64[t][2]));
	}
	cr_assert_eq(W.cleanups, 6u);
	/* nc[*][0] (timers 4, 5 still armed) and nc[*][1] outlive the engine */
	for (int t = 0; t < 6; t++)
		cr_assert_eq(nc_timer_set(nc[t][1], 1000, 0), 0);
	cr_assert(nc_timer_stop(nc[5][1]));
	nc_engine_free(e);
	for (int t = 0; t < 6; t++)
		for (int k = 0; k < 2; k++) {
			struct netchannel *x = nc[t][k];
			cr_assert_null(nc_engine_of(x), "size %zu", sizes[t]);
			cr_assert_eq(nc_id64(x), id64[t][k], "the id survives detaching");
			cr_assert_eq(nc_id(x), (uint32_t)id64[t][k]);
			cr_assert_eq(nc_refcount(x), 1u);
			cr_assert_eq(nc_timer_set(x, 1, 0), -EINVAL);
			cr_assert(!nc_timer_stop(x));
			cr_assert_eq(((unsigned char *)nc_priv(x))[sizes[t] - 1], 0x40 + t);
		}
	for (int t = 0; t < 6; t++)
		for (int k = 0; k < 2; k++)
			nc_close(nc[t][k]); /* the last objects: the slabs go with them */
	cr_assert_eq(W.cleanups, 18u);
}
