/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of netchannel objects and the engine (netchannel.h): bad arguments,
 * lookup order (flow table, then classifier), accept creating exact
 * netchannels, grouping of a burst, refcounts and cleanup, timers through the
 * ring, idle expiry, ring delivery, and the mbuf path (objects, ids and
 * timers at scale: test_nc_objects.c).  EAL runs with
 * --no-huge --in-memory (the flow table needs rte_malloc).
 */
#define _GNU_SOURCE
#include "nc_test_world.h"

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

/* ---- process_many: one call per type, arrival order ------------------- */

/* What the process_many types saw: per call its type and size, per packet
 * (call, netchannel, tag); a packet's netchannel must be the one whose key
 * the packet carries. */
static struct {
	unsigned calls, call_type[256], call_n[256];
	unsigned n, pkt_call[MAXLOG];
	struct netchannel *pkt_nc[MAXLOG];
	uint8_t pkt_tag[MAXLOG];
	unsigned wrong_owner;
} M;

static void many_log(unsigned type, struct netchannel *const ncs[], struct nc_pkt *const pkts[],
		     unsigned n)
{
	cr_assert_lt(M.calls, 256u);
	M.call_type[M.calls] = type;
	M.call_n[M.calls] = n;
	for (unsigned i = 0; i < n; i++) {
		const struct priv *pv = nc_priv(ncs[i]);

		if (!nc_flow_key_equal(&pv->key, &pkts[i]->key))
			M.wrong_owner++;
		cr_assert_lt(M.n, (unsigned)MAXLOG);
		M.pkt_call[M.n] = M.calls;
		M.pkt_nc[M.n] = ncs[i];
		M.pkt_tag[M.n++] = tag_of(pkts[i]);
		nc_pkt_drop(nc_engine_of(ncs[i]), pkts[i]);
	}
	M.calls++;
}

static void many_a(struct netchannel *const ncs[], struct nc_pkt *const pkts[], unsigned n)
{
	many_log(0, ncs, pkts, n);
}

static void many_b(struct netchannel *const ncs[], struct nc_pkt *const pkts[], unsigned n)
{
	many_log(1, ncs, pkts, n);
}

static const struct nc_ops many_a_ops = {
	.name = "many_a", .priv_size = sizeof(struct priv), .process_many = many_a};
static const struct nc_ops many_b_ops = {
	.name = "many_b", .priv_size = sizeof(struct priv), .process_many = many_b};

Test(nc_engine, process_many_one_call_per_type_in_arrival_order)
{
	enum { NA = 3, NB = 2, NS = 2, NCH = NA + NB + NS };
	struct nc_engine *e = mk_engine(NULL);
	struct netchannel *ch[NCH];
	unsigned type[NCH], sent[NCH] = {0};
	uint64_t x = 12345;

	for (unsigned c = 0; c < NCH; c++) {
		const struct nc_ops *ops = c < NA ? &many_a_ops : c < NA + NB ? &many_b_ops
									    : &session_ops;
		union cls_addr s = {.v4 = IP(192, 168, 0, 1 + c)}, d = {.v4 = IP(10, 0, 0, 1)};
		struct nc_flow_key k;

		type[c] = c < NA ? 0 : c < NA + NB ? 1 : 2;
		cr_assert_eq(nc_create(e, ops, NULL, &ch[c]), 0);
		nc_flow_key_set(&k, 0, CLS_IPV4, 17, &s, &d, 1000, 53);
		((struct priv *)nc_priv(ch[c]))->key = k;
		cr_assert_eq(nc_engine_add_flow(e, &k, ch[c], 0, UINT64_MAX), 0);
		nc_unref(ch[c]);
	}
	for (unsigned round = 0; round < 40; round++) {
		/* bursts of 1..64 packets over a random subset of the
		 * netchannels: some bursts hold one process_many type only */
		unsigned n = 1 + (unsigned)((x = x * 6364136223846793005ull + 1) >> 33) % 64;
		unsigned allowed = (unsigned)(x >> 20) & ((1u << NCH) - 1), owner[64];
		unsigned want_calls = 0, got_calls, types_seen = 0;
		struct burst b = {0};
		bool group_seen[NCH] = {false};
		struct nc_engine_stats st0, st1;

		if (allowed == 0)
			allowed = 1;
		for (unsigned i = 0; i < n; i++) {
			unsigned c;

			do
				c = (unsigned)((x = x * 6364136223846793005ull + 1) >> 40) % NCH;
			while (!(allowed & 1u << c));
			owner[i] = c;
			sent[c]++;
			add4(&b, 17, IP(192, 168, 0, 1 + c), IP(10, 0, 0, 1), 1000, 53, (uint8_t)i);
			if (type[c] == 2 && !group_seen[c])
				want_calls++; /* process(): one per netchannel */
			group_seen[c] = true;
			types_seen |= 1u << type[c];
		}
		want_calls += !!(types_seen & 1) + !!(types_seen & 2);
		memset(&M, 0, sizeof(M));
		W.nlog = 0;
		W.process_calls = 0;
		nc_engine_stats(e, &st0);
		cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, n, 0, 1 + round), (int)n);
		nc_engine_stats(e, &st1);
		got_calls = (unsigned)(st1.process_calls - st0.process_calls);
		cr_expect_eq(got_calls, want_calls, "round %u", round);
		cr_expect_eq(M.calls + W.process_calls, want_calls, "round %u", round);
		cr_expect_eq(M.wrong_owner, 0u, "round %u", round);
		/* every packet once, with its netchannel; each call of one type,
		 * and its packets in arrival order */
		cr_assert_eq(M.n + W.nlog, n, "round %u", round);
		for (unsigned k = 0; k < M.n; k++) {
			unsigned i = M.pkt_tag[k], c = owner[i];

			cr_assert_lt(i, n);
			cr_expect_eq(M.pkt_nc[k], ch[c], "round %u packet %u", round, i);
			cr_expect_eq(M.call_type[M.pkt_call[k]], type[c]);
			if (k > 0 && M.pkt_call[k] == M.pkt_call[k - 1])
				cr_expect_gt(M.pkt_tag[k], M.pkt_tag[k - 1], "order, round %u",
					     round);
		}
		for (unsigned t = 0; t < 2; t++) {
			unsigned calls = 0;

			for (unsigned k = 0; k < M.calls; k++)
				calls += M.call_type[k] == t;
			cr_expect_eq(calls, (types_seen >> t) & 1u, "type %u round %u", t, round);
		}
		for (unsigned k = 0; k < W.nlog; k++)
			cr_expect_eq(type[owner[W.log_tag[k]]], 2u);
	}
	for (unsigned c = 0; c < NCH; c++)
		cr_expect_eq(nc_rx_packets(ch[c]), (uint64_t)sent[c], "netchannel %u", c);
	nc_engine_free(e);
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
