/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Netchannel objects in the engine: their memory (slab objects and detach),
 * ids and generations under churn, timers on many netchannels, per-netchannel
 * packet counts, malloc'd objects at engine free.  Uses the fixture of
 * test_netchannel.c (nc_test_world.h).
 */
#define _GNU_SOURCE
#include "nc_test_world.h"

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

/* The flow table's values are the netchannels with bit 0 telling the
 * receive path whether the bytes process() touches (ops to the end of
 * priv) reach past the line of ops: never for a 64-byte slab object (32
 * bytes of priv, line aligned), as the address says for the others.  The
 * engine hands process() the netchannel itself, and the table's references
 * go with their keys (the sanitizer build checks the memory).
 * nc_engine_get() finds a netchannel by its 32-bit id while it lives. */
Test(nc_engine, flow_values_tell_the_lines_to_prefetch)
{
	enum { K = 40 };
	const size_t sizes[4] = {32, 56, 8, 200};
	struct nc_engine *e = mk_engine(NULL);
	struct nc_ops ops[4];
	struct netchannel *nc[4][K];
	struct nc_flow_key key[4][K];
	struct burst b = {0};

	for (int t = 0; t < 4; t++) {
		ops[t] = session_ops;
		ops[t].init = NULL; /* writes past 32 bytes of priv */
		ops[t].priv_size = sizes[t];
		for (int k = 0; k < K; k++) {
			union cls_addr src = {.v4 = IP(1, 1, 1, 1)}, dst = {.v4 = IP(10, 0, t, k)};
			uintptr_t a, first, last;
			void *v;

			cr_assert_eq(nc_create(e, &ops[t], NULL, &nc[t][k]), 0);
			cr_assert_eq(nc_engine_get(e, nc_id(nc[t][k])), nc[t][k]);
			nc_flow_key_set(&key[t][k], 0, CLS_IPV4, 17, &src, &dst, 1, 2);
			cr_assert_eq(nc_engine_add_flow(e, &key[t][k], nc[t][k], 1, UINT64_MAX), 0);
			nc_unref(nc[t][k]); /* the table's reference keeps it */
			cr_assert_eq(nc_flow_lookup(nc_engine_flows(e), &key[t][k], 0, &v), 0);
			cr_assert_eq(nc_engine_flow_nc(v), nc[t][k]);
			a = (uintptr_t)nc[t][k];
			first = a + 16;                                /* ops */
			last = a + 32 + ((sizes[t] + 7) & ~(size_t)7) - 1; /* priv's end */
			cr_assert_eq((uintptr_t)v & 1, (first >> 6) != (last >> 6) ? 1u : 0u,
				     "priv %zu at %#lx", sizes[t], (unsigned long)(a % 64));
			if (sizes[t] == 32) {
				cr_assert_eq(a % 64, 0u, "a 64-byte object is line aligned");
				cr_assert_eq((uintptr_t)v & 1, 0u);
			}
		}
	}
	for (int t = 0; t < 4; t++) {
		b.n = 0;
		for (int k = 0; k < K; k++)
			add4(&b, 17, IP(1, 1, 1, 1), IP(10, 0, t, k), 1, 2, (uint8_t)k);
		W.nlog = 0;
		cr_assert_eq(nc_engine_rx(e, b.p, b.len, NULL, b.n, 0, 2), K);
		cr_assert_eq(W.nlog, (unsigned)K);
		for (int k = 0; k < K; k++) {
			cr_assert_eq(W.log_id[k], nc_id(nc[t][k]), "priv %zu, flow %d", sizes[t], k);
			cr_assert_eq(W.log_tag[k], k);
			cr_assert_eq(nc_rx_packets(nc[t][k]), 1u);
		}
	}
	cr_assert_null(nc_engine_get(e, 4 * K), "an id never used");
	cr_assert_null(nc_engine_get(NULL, 0));
	for (int k = 0; k < K; k++) {
		uint32_t id = nc_id(nc[0][k]);

		cr_assert_eq(nc_engine_del_flow(e, &key[0][k]), 0);
		cr_assert_null(nc_engine_get(e, id), "a freed id");
	}
	cr_assert_eq(W.cleanups, (unsigned)K, "deleted keys drop their references");
	nc_engine_free(e); /* the rest through the table */
	cr_assert_eq(W.cleanups, 4u * K);
}
