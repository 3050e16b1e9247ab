/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keyed flows (netchannel.h: nc_ops.flow_key, nc_engine_add_keyed_flow):
 * a netchannel whose own state holds its two keys.  A 64-byte netchannel
 * (32 bytes of priv) of an engine without QSBR is an arena object and its
 * keys are object flows of the flow table (stats.keyed_flows); others, and
 * every netchannel of an engine with cfg.qsbr, get ordinary entries.  Either
 * way the keys lead packets to the netchannel's process(), the table holds
 * one reference per key, nc_engine_del_flow() drops it, and nc_engine_free()
 * releases the rest (the sanitizer build checks leaks and freed memory).
 * Uses the fixture of test_netchannel.c (nc_test_world.h).
 */
#define _GNU_SOURCE
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "nc_test_world.h"

/* The two directions of a session, both made from these 32 bytes: key 0
 * is a -> b, key 1 the reply b -> a.  IPv6 addresses are 2001:db8::<a>
 * and 2001:db8::<b>. */
struct kpriv {
	uint32_t a, b;       /* IPv4 addresses, or the low bits of IPv6 ones */
	uint16_t pa, pb;
	uint16_t zone;
	uint8_t proto;
	uint8_t v6;
	uint64_t a6, b6;     /* IPv6: low 64 bits of the addresses */
};
_Static_assert(sizeof(struct kpriv) == 32, "a keyed session fills a 64-byte netchannel");

static unsigned flow_key_calls;

static void kp_key(const struct kpriv *p, unsigned which, struct nc_flow_key *key)
{
	union cls_addr s, d;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (p->v6) {
		s.v6.hi = d.v6.hi = 0x20010db800000000ULL;
		s.v6.lo = p->a6;
		d.v6.lo = p->b6;
	} else {
		s.v4 = p->a;
		d.v4 = p->b;
	}
	nc_flow_key_set(key, p->zone, p->v6 ? CLS_IPV6 : CLS_IPV4, p->proto, which ? &d : &s,
			which ? &s : &d, which ? p->pb : p->pa, which ? p->pa : p->pb);
}

static void k_flow_key(const struct netchannel *nc, unsigned which, struct nc_flow_key *key)
{
	cr_assert_leq(which, 1u);
	flow_key_calls++;
	kp_key(nc_priv((struct netchannel *)nc), which, key);
}

static const struct nc_ops keyed_ops = {
	.name = "keyed",
	.priv_size = sizeof(struct kpriv),
	.cleanup = t_cleanup,
	.process = t_process,
	.flow_key = k_flow_key,
};

/* The same keys compared in place (nc_ops.flow_match), field by field. */
static unsigned flow_match_calls;

static bool k_flow_match(const struct netchannel *nc, unsigned which,
			 const struct nc_flow_key *key)
{
	const struct kpriv *p = nc_priv((struct netchannel *)nc);
	uint16_t sp = which ? p->pb : p->pa, dp = which ? p->pa : p->pb;

	flow_match_calls++;
	if (key->proto != p->proto || key->zone != p->zone || key->sport != sp ||
	    key->dport != dp || key->family != (p->v6 ? CLS_IPV6 : CLS_IPV4))
		return false;
	if (!p->v6)
		return key->src.v4 == (which ? p->b : p->a) &&
		       key->dst.v4 == (which ? p->a : p->b);
	return key->src.v6.hi == 0x20010db800000000ULL &&
	       key->dst.v6.hi == 0x20010db800000000ULL &&
	       key->src.v6.lo == (which ? p->b6 : p->a6) &&
	       key->dst.v6.lo == (which ? p->a6 : p->b6);
}

static const struct nc_ops keyed_match_ops = {
	.name = "keyed-match",
	.priv_size = sizeof(struct kpriv),
	.cleanup = t_cleanup,
	.process = t_process,
	.flow_key = k_flow_key,
	.flow_match = k_flow_match,
};

/* The same with 8 more bytes of priv: a 72-byte netchannel, no arena. */
static const struct nc_ops keyed_big_ops = {
	.name = "keyed-big",
	.priv_size = sizeof(struct kpriv) + 8,
	.cleanup = t_cleanup,
	.process = t_process,
	.flow_key = k_flow_key,
};

/* No flow_key: not keyed. */
static const struct nc_ops unkeyed_ops = {
	.name = "unkeyed",
	.priv_size = sizeof(struct kpriv),
	.process = t_process,
};

/* A packet of key number which of the session p, with tag. */
static void add_pkt(struct burst *b, const struct kpriv *p, unsigned which, uint8_t tag)
{
	if (p->v6) {
		b->len[b->n] = which ? build6(b->buf[b->n], p->b6, p->a6, p->pb, p->pa, tag)
				     : build6(b->buf[b->n], p->a6, p->b6, p->pa, p->pb, tag);
		b->p[b->n] = b->buf[b->n];
		b->n++;
	} else if (which) {
		add4(b, p->proto, p->b, p->a, p->pb, p->pa, tag);
	} else {
		add4(b, p->proto, p->a, p->b, p->pa, p->pb, tag);
	}
}

/* Session i's keys: IPv4 for even i, IPv6 for odd i, all UDP on zone 0
 * (the packets' in-port). */
static void session_keys(struct kpriv *p, unsigned i)
{
	memset(p, 0, sizeof(*p));
	p->proto = 17;
	p->pa = (uint16_t)(10000 + i);
	p->pb = 53;
	p->v6 = i & 1;
	p->a = IP(10, 1, 0, 0) + i;
	p->b = IP(192, 0, 2, 1 + i % 7);
	p->a6 = 0x1000 + i;
	p->b6 = 0x9000 + i % 5;
}

static struct netchannel *keyed_session(struct nc_engine *e, const struct nc_ops *ops, unsigned i)
{
	struct netchannel *nc;
	struct kpriv *kp;

	cr_assert_eq(nc_create(e, ops, NULL, &nc), 0);
	kp = nc_priv(nc);
	cr_assert_not_null(kp);
	if (kp != NULL) /* (for the compiler: nc_priv(NULL) is NULL) */
		session_keys(kp, i);
	return nc;
}

/* The model's packet check: n sessions, each of whose keys in[i][w] says
 * is in the table; one burst with a packet per key (tag = 2 * i + w) and
 * one for a key that never was; every packet of a present key reaches its
 * session's process(), the others are unclaimed. */
static void check_rx(struct nc_engine *e, struct netchannel *const *nc, unsigned n,
		     bool (*in)[2], uint64_t now)
{
	struct burst b = {0};
	struct kpriv none;
	unsigned want = 0;
	bool got[64] = {false};

	cr_assert_leq(2 * n + 1, 64u);
	for (unsigned i = 0; i < n; i++)
		for (unsigned w = 0; w < 2; w++) {
			add_pkt(&b, nc_priv(nc[i]), w, (uint8_t)(2 * i + w));
			want += in[i][w];
		}
	session_keys(&none, 1000);
	add_pkt(&b, &none, 0, 0xee);
	W.nlog = 0;
	W.unclaimed = 0;
	cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, now), (int)want);
	cr_assert_eq(W.nlog, want);
	for (unsigned j = 0; j < W.nlog; j++) {
		unsigned tag = W.log_tag[j], i = tag / 2;

		cr_assert_lt(i, n);
		cr_assert(in[i][tag % 2], "packet of key %u/%u, not in the table, delivered", i,
			  tag % 2);
		cr_assert_eq(W.log_id[j], nc_id(nc[i]), "packet of key %u/%u to another netchannel",
			     i, tag % 2);
		cr_assert(!got[tag], "packet %u twice", tag);
		got[tag] = true;
	}
	cr_assert_eq(W.unclaimed, b.n - want);
}

/*
 * The engine's keyed flows for one netchannel type, against a model of
 * which keys are in: N sessions, both keys each; counts, references,
 * what the table reports (an object flow: last_seen 0; an entry: the time
 * of the add), packets; then deletes in an order, duplicates refused, and
 * the rest freed with the engine.  object: the keys must be object flows.
 */
static void keyed_run(struct nc_engine *e, const struct nc_ops *ops, bool object)
{
	enum { N = 12 };
	struct netchannel *nc[N];
	bool in[N][2];
	struct nc_engine_stats st;
	struct nc_flow_key k;
	struct nc_flow_entry_info info;
	unsigned flows = 0;

	for (unsigned i = 0; i < N; i++) {
		nc[i] = keyed_session(e, ops, i);
		for (unsigned w = 0; w < 2; w++) {
			cr_assert_eq(nc_engine_add_keyed_flow(e, nc[i], w, 5), 0, "session %u key %u",
				     i, w);
			in[i][w] = true;
			flows++;
		}
		cr_assert_eq(nc_refcount(nc[i]), 3u, "one reference per key");
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, flows);
	cr_assert_eq(st.keyed_flows, object ? flows : 0, "keyed_flows %u", st.keyed_flows);
	for (unsigned i = 0; i < N; i++)
		for (unsigned w = 0; w < 2; w++) {
			void *v;

			kp_key(nc_priv(nc[i]), w, &k);
			cr_assert_eq(nc_flow_get(nc_engine_flows(e), &k, &info), 0);
			cr_assert_eq(nc_engine_flow_nc(info.value), nc[i]);
			cr_assert_eq(info.timeout, UINT64_MAX, "keyed flows never idle");
			cr_assert_eq(info.last_seen, object ? 0 : 5);
			cr_assert_eq(nc_flow_lookup(nc_engine_flows(e), &k, 9, &v), 0);
			cr_assert_eq(nc_engine_flow_nc(v), nc[i]);
		}
	/* duplicates change nothing */
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc[0], 0, 5), -EEXIST);
	kp_key(nc_priv(nc[1]), 1, &k);
	cr_assert_eq(nc_engine_add_flow(e, &k, nc[1], 5, UINT64_MAX), -EEXIST);
	cr_assert_eq(nc_engine_add_flow(e, &k, nc[2], 5, 100), -EEXIST);
	struct netchannel *dup = keyed_session(e, ops, 3); /* session 3's keys */
	cr_assert_eq(nc_engine_add_keyed_flow(e, dup, 1, 5), -EEXIST);
	cr_assert_eq(nc_refcount(dup), 1u);
	nc_close(dup);
	cr_assert_eq(nc_refcount(nc[0]), 3u);
	cr_assert_eq(nc_refcount(nc[1]), 3u);
	cr_assert_eq(nc_refcount(nc[2]), 3u);
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, flows);
	/* the table's references keep the sessions */
	for (unsigned i = 0; i < N; i++)
		nc_unref(nc[i]);
	cr_assert_eq(W.cleanups, 1u, "only the duplicate is gone");
	check_rx(e, nc, N, in, 10);
	/* idle expiry leaves them */
	for (int p = 0; p < 4; p++)
		cr_assert_eq(nc_engine_poll(e, UINT64_MAX / 2), 0);
	/* deletes: both keys of some sessions, one key of others */
	unsigned gone = 0;
	for (unsigned i = 0; i < N; i++)
		for (unsigned w = 0; w < 2; w++) {
			if (i % 4 == 3 || (i % 4 == 1 && w == 1) || (i % 4 == 2 && w == 0))
				continue;
			uint32_t refs = nc_refcount(nc[i]);

			kp_key(nc_priv(nc[i]), w, &k);
			cr_assert_eq(nc_engine_del_flow(e, &k), 0, "delete %u/%u", i, w);
			cr_assert_eq(nc_engine_del_flow(e, &k), -ENOENT);
			in[i][w] = false;
			flows--;
			if (refs > 1)
				cr_assert_eq(nc_refcount(nc[i]), refs - 1, "delete drops the reference");
			else
				gone++;
			nc_engine_stats(e, &st);
			cr_assert_eq(st.flows, flows);
			cr_assert_eq(st.keyed_flows, object ? flows : 0);
		}
	cr_assert_eq(gone, N / 4);
	cr_assert_eq(W.cleanups, 1u + gone, "sessions without keys are freed");
	for (unsigned i = 0; i < N; i++)
		if (!in[i][0] && !in[i][1])
			nc[i] = NULL;
	/* the packets again, sessions with keys left */
	{
		struct netchannel *left[N];
		bool lin[N][2];
		unsigned nl = 0;

		for (unsigned i = 0; i < N; i++)
			if (nc[i] != NULL) {
				left[nl] = nc[i];
				lin[nl][0] = in[i][0];
				lin[nl][1] = in[i][1];
				nl++;
			}
		check_rx(e, left, nl, lin, 20);
		/* a deleted key may come back (refcount: the caller's + table's) */
		for (unsigned i = 0; i < nl; i++)
			for (unsigned w = 0; w < 2; w++)
				if (!lin[i][w]) {
					cr_assert_eq(nc_engine_add_keyed_flow(e, left[i], w, 30), 0);
					lin[i][w] = true;
					flows++;
				}
		nc_engine_stats(e, &st);
		cr_assert_eq(st.flows, flows);
		cr_assert_eq(st.keyed_flows, object ? flows : 0);
		check_rx(e, left, nl, lin, 40);
	}
	unsigned before = W.cleanups;

	nc_engine_free(e); /* the rest go with the table */
	cr_assert_gt(W.cleanups, before);
	cr_assert_eq(W.cleanups, 1u + N, "every session cleaned up once");
}

/* 32 bytes of priv: arena netchannels, object flows. */
Test(nc_engine, keyed_flows_are_object_flows)
{
	struct nc_engine *e = mk_engine_qsbr(NULL, NULL);

	flow_key_calls = 0;
	keyed_run(e, &keyed_ops, true);
	cr_assert_gt(flow_key_calls, 0, "lookups compare with the netchannel's keys");
}

/* With flow_match, lookups compare through it instead of building the
 * key: the same results (keyed_run checks every packet's netchannel). */
Test(nc_engine, keyed_flows_compared_by_flow_match)
{
	struct nc_engine *e = mk_engine_qsbr(NULL, NULL);

	flow_match_calls = 0;
	keyed_run(e, &keyed_match_ops, true);
	cr_assert_gt(flow_match_calls, 0, "lookups compare with flow_match");
}

/* 40 bytes of priv: no arena, entries. */
Test(nc_engine, keyed_flows_of_big_netchannels_are_entries)
{
	keyed_run(mk_engine_qsbr(NULL, NULL), &keyed_big_ops, false);
}

/* A keyed netchannel smaller than 64 bytes (16 bytes of priv, IPv4 keys)
 * also comes from the arena: its keys are object flows too. */
struct kpriv_small {
	uint32_t a, b;
	uint16_t pa, pb;
	uint8_t proto;
};

static void small_flow_key(const struct netchannel *nc, unsigned which, struct nc_flow_key *key)
{
	const struct kpriv_small *p = nc_priv((struct netchannel *)nc);
	union cls_addr s = {.v4 = p->a}, d = {.v4 = p->b};

	nc_flow_key_set(key, 0, CLS_IPV4, p->proto, which ? &d : &s, which ? &s : &d,
			which ? p->pb : p->pa, which ? p->pa : p->pb);
}

static const struct nc_ops keyed_small_ops = {
	.name = "keyed-small",
	.priv_size = sizeof(struct kpriv_small),
	.process = t_process,
	.flow_key = small_flow_key,
};

Test(nc_engine, keyed_flows_of_small_netchannels_are_object_flows)
{
	struct nc_engine *e = mk_engine_qsbr(NULL, NULL);
	struct nc_engine_stats st;
	struct netchannel *nc;
	struct nc_flow_key k;
	void *v = NULL;

	cr_assert_eq(nc_create(e, &keyed_small_ops, NULL, &nc), 0);
	*(struct kpriv_small *)nc_priv(nc) =
		(struct kpriv_small){.a = 0x0a000001, .b = 0x0a000002, .pa = 1, .pb = 2, .proto = 17};
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc, 0, 1), 0);
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc, 1, 1), 0);
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, 2);
	cr_assert_eq(st.keyed_flows, 2, "a 48-byte keyed netchannel is an arena object");
	small_flow_key(nc, 1, &k);
	cr_assert_eq(nc_flow_lookup(nc_engine_flows(e), &k, 2, &v), 0);
	cr_assert_eq(nc_engine_flow_nc(v), nc);
	nc_unref(nc);
	nc_engine_free(e);
}

/* An engine with cfg.qsbr: no object flows, entries, references dropped
 * after the grace period (no reader registered: at once or at a later
 * writer call; the end counts are checked after the engine is freed). */
Test(nc_engine, keyed_flows_with_qsbr_are_entries)
{
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *q = rte_zmalloc(NULL, qsz, RTE_CACHE_LINE_SIZE);
	struct nc_engine *e;
	struct netchannel *nc[4];
	bool in[4][2];
	struct nc_engine_stats st;
	struct nc_flow_key k;

	cr_assert_not_null(q);
	cr_assert_eq(rte_rcu_qsbr_init(q, 1), 0);
	e = mk_engine_qsbr(NULL, q);
	for (unsigned i = 0; i < 4; i++) {
		nc[i] = keyed_session(e, &keyed_ops, i);
		for (unsigned w = 0; w < 2; w++) {
			cr_assert_eq(nc_engine_add_keyed_flow(e, nc[i], w, 5), 0);
			in[i][w] = true;
		}
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, 8u);
	cr_assert_eq(st.keyed_flows, 0u, "no object flows with QSBR");
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc[2], 1, 5), -EEXIST);
	check_rx(e, nc, 4, in, 10);
	kp_key(nc_priv(nc[1]), 0, &k);
	cr_assert_eq(nc_engine_del_flow(e, &k), 0);
	in[1][0] = false;
	check_rx(e, nc, 4, in, 20);
	for (unsigned i = 0; i < 4; i++)
		nc_unref(nc[i]);
	nc_engine_free(e);
	cr_assert_eq(W.cleanups, 4u);
	rte_free(q);
}

Test(nc_args, keyed_flows)
{
	struct nc_engine *e = mk_engine_qsbr(NULL, NULL), *e2;
	struct nc_engine_config cfg = {.flow_entries = 16, .max_channels = 4, .socket_id = -1};
	struct netchannel *nc, *plain, *other;
	struct nc_engine_stats st;

	cr_assert_eq(nc_engine_create(&cfg, &e2), 0);
	nc = keyed_session(e, &keyed_ops, 1);
	other = keyed_session(e2, &keyed_ops, 2);
	cr_assert_eq(nc_create(e, &unkeyed_ops, NULL, &plain), 0);
	cr_assert_eq(nc_engine_add_keyed_flow(NULL, nc, 0, 0), -EINVAL);
	cr_assert_eq(nc_engine_add_keyed_flow(e, NULL, 0, 0), -EINVAL);
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc, 2, 0), -EINVAL, "which 2");
	cr_assert_eq(nc_engine_add_keyed_flow(e, nc, UINT32_MAX, 0), -EINVAL);
	cr_assert_eq(nc_engine_add_keyed_flow(e, plain, 0, 0), -EINVAL, "ops without flow_key");
	cr_assert_eq(nc_engine_add_keyed_flow(e, other, 0, 0), -EINVAL, "a netchannel of e2");
	cr_assert_eq(nc_engine_add_keyed_flow(e2, nc, 0, 0), -EINVAL, "a netchannel of e");
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, 0u);
	nc_engine_stats(e2, &st);
	cr_assert_eq(st.flows, 0u);
	cr_assert_eq(nc_refcount(nc), 1u, "refused adds keep no reference");
	cr_assert_eq(nc_refcount(other), 1u);
	cr_assert_eq(nc_engine_add_keyed_flow(e2, other, 1, 0), 0, "each in its own engine");
	nc_close(plain);
	nc_close(nc);
	nc_close(other);
	nc_engine_free(e2); /* other, through the table */
	nc_engine_free(e);
	cr_assert_eq(W.cleanups, 2u);
}

/* process() removes its own keyed flows while later packets of the burst
 * are still to go to it: the last reference drops inside the burst, the
 * netchannel goes after it (the sanitizer build checks no packet touches
 * it afterwards), and the next burst's packets are unclaimed. */
static void del_process(struct netchannel *nc, struct nc_pkt *const pkts[], unsigned n)
{
	struct nc_flow_key k;

	t_process(nc, pkts, n);
	for (unsigned w = 0; w < 2; w++) {
		kp_key(nc_priv(nc), w, &k);
		int rc = nc_engine_del_flow(nc_engine_of(nc), &k);
		cr_expect(rc == 0 || rc == -ENOENT, "del_flow %d", rc);
	}
}

static const struct nc_ops keyed_del_ops = {
	.name = "keyed-del",
	.priv_size = sizeof(struct kpriv),
	.cleanup = t_cleanup,
	.process = del_process,
	.flow_key = k_flow_key,
};

Test(nc_engine, keyed_flows_deleted_in_process)
{
	struct nc_engine *e = mk_engine_qsbr(NULL, NULL);
	struct netchannel *nc[3];
	struct nc_engine_stats st;
	struct burst b = {0};

	for (unsigned i = 0; i < 3; i++) {
		nc[i] = keyed_session(e, &keyed_del_ops, i);
		for (unsigned w = 0; w < 2; w++)
			cr_assert_eq(nc_engine_add_keyed_flow(e, nc[i], w, 0), 0);
		nc_unref(nc[i]);
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.keyed_flows, 6u);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < 3; i++)
			add_pkt(&b, nc_priv(nc[i]), (r + i) & 1, (uint8_t)(3 * r + i));
	struct kpriv saved[3];
	for (unsigned i = 0; i < 3; i++)
		saved[i] = *(struct kpriv *)nc_priv(nc[i]);
	cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, 1), 9);
	cr_assert_eq(W.nlog, 9u);
	cr_assert_eq(W.cleanups, 3u);
	nc_engine_stats(e, &st);
	cr_assert_eq(st.flows, 0u);
	cr_assert_eq(st.keyed_flows, 0u);
	cr_assert_eq(st.channels, 0u);
	b.n = 0;
	for (unsigned i = 0; i < 3; i++)
		add_pkt(&b, &saved[i], i & 1, (uint8_t)i);
	W.unclaimed = 0;
	cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, 2), 0);
	cr_assert_eq(W.unclaimed, 3u);
	nc_engine_free(e);
}

/* Many keyed sessions freed with the engine while their keys are in (the
 * sanitizer build finds a leak or a use after free). */
Test(nc_engine, keyed_flows_freed_with_engine)
{
	struct nc_engine_config cfg = {.flow_entries = 4096, .max_channels = 2048,
				       .socket_id = -1};
	struct nc_engine *e = NULL;
	struct nc_engine_stats st;
	uint32_t keyed = 0;

	memset(&W, 0, sizeof(W));
	cr_assert_eq(nc_engine_create(&cfg, &e), 0);
	for (unsigned i = 0; i < 2000; i++) {
		struct netchannel *nc = keyed_session(e, i % 3 ? &keyed_ops : &keyed_big_ops, i);
		struct kpriv *p = nc_priv(nc);

		p->a = IP(10, 2, 0, 0) + i; /* distinct keys for any i */
		p->a6 = 0x100000 + i;
		cr_assert_eq(nc_engine_add_keyed_flow(e, nc, 0, 0), 0);
		if (i % 5)
			cr_assert_eq(nc_engine_add_keyed_flow(e, nc, 1, 0), 0);
		if (i % 3)
			keyed += i % 5 ? 2 : 1;
		nc_unref(nc);
	}
	nc_engine_stats(e, &st);
	cr_assert_eq(st.channels, 2000u);
	cr_assert_eq(st.flows, 2000u + 1600u);
	cr_assert_eq(st.keyed_flows, keyed, "keyed_flows %u, want %u", st.keyed_flows, keyed);
	nc_engine_free(e);
	cr_assert_eq(W.cleanups, 2000u);
}
