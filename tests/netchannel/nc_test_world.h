/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_WORLD_H
#define NC_TEST_WORLD_H

/*
 * The fixture of the netchannel engine tests (test_netchannel.c,
 * test_nc_objects.c): EAL set-up, IPv4 frame builders, a test netchannel
 * type that logs what it sees (struct world), a listener type and bursts.
 * Each test file uses part of it.
 */
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

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

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

/* An engine over ring (NULL: its own), with the readers' QSBR variable q
 * (NULL: none; without it, 64-byte keyed netchannels come from an arena). */
static struct nc_engine *mk_engine_qsbr(struct nc_ring *ring, struct rte_rcu_qsbr *q)
{
	struct nc_engine_config cfg = {
		.flow_entries = 1024,
		.max_channels = 256,
		.link = NC_LINK_ETHERNET,
		.socket_id = -1,
		.ring = ring,
		.qsbr = q,
		.unclaimed = t_unclaimed,
		.ctx = &W,
	};
	struct nc_engine *e = NULL;

	memset(&W, 0, sizeof(W));
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	W.e = e;
	return e;
}

static inline struct nc_engine *mk_engine(struct nc_ring *ring)
{
	return mk_engine_qsbr(ring, NULL);
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


#pragma GCC diagnostic pop

#endif /* NC_TEST_WORLD_H */
