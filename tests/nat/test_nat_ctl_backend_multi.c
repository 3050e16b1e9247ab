/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl_backend over several workers' pipelines
 * (nat_ctl_backend_init_multi): stats sum every worker, walks show every
 * entry of every worker once, rule changes reach every worker or none,
 * and every op but stats parks the other workers first.
 */
#include "ctl_backend_test.h"

NAT_TEST_EAL_SUITE(nat_ctl_backend_multi);

/*
 * Several workers: NP pipelines behind one backend (nat_ctl_backend_init_multi),
 * each with its own traffic.  The fake quiesce counts its calls and marks
 * the workers parked; the fake clock, which every op but stats reads after
 * quiescing, notes a read while they were not.
 */
#define NP 3
#define MCFG_TEXT CFG_TEXT "sessions 1024\n"

static unsigned q_calls;
static bool q_parked;
static unsigned q_clock_unparked;
static uint64_t q_now;

static void fake_quiesce(void *arg)
{
	cr_assert_eq(arg, &q_calls, "quiesce got the wrong arg");
	q_calls++;
	q_parked = true;
}

static uint64_t fake_clock(void)
{
	if (!q_parked)
		q_clock_unparked++;
	return q_now;
}

/* a new op: the workers run again (as after a control poll) */
static void unpark(void)
{
	q_calls = 0;
	q_parked = false;
}

struct menv {
	struct nat_pipeline *p[NP];
	struct nat_loop_stats loop[NP];
	const struct nat_loop_stats *loops[NP];
	struct nat_ctl_backend be;
	struct nat_ctl_backend_ctx ctx;
};

static void menv_init_cfg(struct menv *m, const char *text)
{
	unsigned k;

	memset(m, 0, sizeof(*m));
	for (k = 0; k < NP; k++) {
		m->p[k] = make_pipe(text);
		m->loops[k] = &m->loop[k];
	}
	q_now = (uint64_t)time(NULL);
	q_clock_unparked = 0;
	unpark();
	cr_assert_eq(nat_ctl_backend_init_multi(&m->be, &m->ctx, m->p, NP, m->loops, fake_clock,
						fake_quiesce, &q_calls),
		     0);
}

static void menv_init(struct menv *m)
{
	menv_init_cfg(m, MCFG_TEXT);
}

static void menv_free(struct menv *m)
{
	unsigned k;

	cr_assert_eq(q_clock_unparked, 0, "the clock was read before quiescing");
	for (k = 0; k < NP; k++)
		nat_pipeline_free(m->p[k]);
}

static enum nat_verdict msend(struct menv *m, unsigned k, enum nat_side side, uint8_t proto,
			      uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint8_t flags)
{
	uint8_t b[256];

	return send_to(m->p[k], q_now, side, proto, s, d, sp, dp, flags, b);
}

/* A pipeline's rules as text, with their config line numbers (malloc'd). */
static char *rules_text(const struct nat_pipeline *p)
{
	const struct nat_config *c = nat_pipeline_config(p);
	size_t cap = 64 + (size_t)c->n_rules * 300, len = 0;
	char *t = malloc(cap), line[256];
	uint32_t i;

	cr_assert_not_null(t);
	len += (size_t)snprintf(t, cap, "%u rules\n", c->n_rules);
	for (i = 0; i < c->n_rules; i++) {
		cr_assert_geq(nat_config_format_rule(&c->rules[i], line, sizeof(line)), 0);
		len += (size_t)snprintf(t + len, cap - len, "%u@%u %s\n", i, c->rules[i].line, line);
	}
	return t;
}

/* Every pipeline's rules read the same as pipes[0]'s; returns those. */
static char *rules_all_same(struct menv *m)
{
	char *t0 = rules_text(m->p[0]), *t;
	unsigned k;

	for (k = 1; k < NP; k++) {
		t = rules_text(m->p[k]);
		cr_assert_str_eq(t, t0, "pipeline %u's rules differ from pipeline 0's", k);
		free(t);
	}
	return t0;
}

Test(nat_ctl_backend_multi, bad_args)
{
	struct nat_pipeline *p[NAT_CTL_BACKEND_MAX_PIPES + 1];
	struct nat_ctl_backend be;
	struct nat_ctl_backend_ctx ctx;
	unsigned k;

	p[0] = make_pipe(MCFG_TEXT);
	for (k = 1; k <= NAT_CTL_BACKEND_MAX_PIPES; k++)
		p[k] = p[0];
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, p, 0, NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, p, NAT_CTL_BACKEND_MAX_PIPES + 1, NULL,
						NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, NULL, 1, NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_backend_init_multi(NULL, &ctx, p, 1, NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_backend_init_multi(&be, NULL, p, 1, NULL, NULL, NULL, NULL), -EINVAL);
	p[2] = NULL;
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, p, 3, NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, p, 2, NULL, NULL, NULL, NULL), 0);
	p[2] = p[0];
	cr_assert_eq(nat_ctl_backend_init_multi(&be, &ctx, p, NAT_CTL_BACKEND_MAX_PIPES, NULL, NULL,
						NULL, NULL),
		     0);
	/* a cursor naming a pipeline the backend does not have */
	{
		uint64_t cur = (uint64_t)NAT_CTL_BACKEND_MAX_PIPES << 48;

		cr_assert_eq(be.sessions(be.ctx, &cur, 10, NULL, NULL), -EINVAL);
	}
	nat_pipeline_free(p[0]);
}

Test(nat_ctl_backend_multi, stats_sum_the_workers)
{
	struct menv m;
	struct nat_stats_view sv;
	uint64_t want[NAT_CNT_COUNT] = {0};
	uint32_t sess = 0, maps = 0, tcp = 0, udp = 0, icmp = 0;
	unsigned k, differ = 0;
	char *out, line[128];
	int i;

	menv_init(&m);
	/* worker 0: one UDP session */
	cr_assert_eq(msend(&m, 0, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0), NAT_TX_OUTSIDE);
	/* worker 1: TCP and UDP, and a packet the drop rule takes */
	cr_assert_eq(msend(&m, 1, NAT_SIDE_INSIDE, 6, IN2, R2, 5000, 80, 0x02), NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 1, NAT_SIDE_INSIDE, 17, IN1, R1, 4001, 53, 0), NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 1, NAT_SIDE_INSIDE, 17, IP4(10, 0, 0, 66), R1, 1, 2, 0), NAT_DROP);
	/* worker 2: ICMP, two UDP, a reply, an unsolicited packet */
	cr_assert_eq(msend(&m, 2, NAT_SIDE_INSIDE, 1, IN1, R1, 77, 0, 8), NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 2, NAT_SIDE_INSIDE, 17, IN7, R2, 4000, 53, 0), NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 2, NAT_SIDE_INSIDE, 17, IN7, R2, 4002, 53, 0), NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 2, NAT_SIDE_OUTSIDE, 17, R2, POOL, 53, 4002, 0), NAT_TX_INSIDE);
	cr_assert_eq(msend(&m, 2, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0), NAT_DROP);
	/* port counters: worker 1's loop has none (NULL entry) */
	for (i = 0; i < 2; i++) {
		m.loop[0].rx[i] = 1 + (uint64_t)i;
		m.loop[0].tx[i] = 3 + (uint64_t)i;
		m.loop[0].tx_drop[i] = 5 + (uint64_t)i;
		m.loop[2].rx[i] = 1000 * (1 + (uint64_t)i);
		m.loop[2].tx[i] = 3000 * (1 + (uint64_t)i);
		m.loop[2].tx_drop[i] = 5000 * (1 + (uint64_t)i);
		m.loop[1].rx[i] = 777777; /* not shown: loops[1] is NULL */
	}
	m.loops[1] = NULL;

	for (k = 0; k < NP; k++) {
		const struct nat_counters *c = nat_pipeline_counters(m.p[k]);

		for (i = 0; i < NAT_CNT_COUNT; i++)
			want[i] += c->v[i];
		sess += nat_pipeline_sessions(m.p[k]);
		maps += nat_pipeline_mappings(m.p[k]);
		tcp += nat_pipeline_sessions_proto(m.p[k], 6);
		udp += nat_pipeline_sessions_proto(m.p[k], 17);
		icmp += nat_pipeline_sessions_proto(m.p[k], 1);
	}
	for (i = 0; i < NAT_CNT_COUNT; i++)
		differ += nat_pipeline_counters(m.p[0])->v[i] != want[i] &&
			  nat_pipeline_counters(m.p[1])->v[i] != want[i];
	cr_assert_geq(differ, 3, "the workers' traffic is too alike to test the sums");

	cr_assert_eq(m.be.stats(m.be.ctx, &sv), 0);
	for (i = 0; i < NAT_CNT_COUNT; i++)
		cr_assert_eq(sv.counters[i], want[i], "%s: %llu, want %llu", nat_counter_name(i),
			     (unsigned long long)sv.counters[i], (unsigned long long)want[i]);
	cr_assert_eq(sv.counters[NAT_CNT_IN2OUT_PKTS], 6);
	cr_assert_eq(sv.counters[NAT_CNT_OUT2IN_PKTS], 1);
	cr_assert_eq(sv.counters[NAT_CNT_DROP_RULE], 1);
	cr_assert_eq(sv.counters[NAT_CNT_DROP_NO_SESSION], 1);
	cr_assert_eq(sv.sessions, sess);
	cr_assert_eq(sv.sessions, 6);
	cr_assert_eq(sv.sessions_tcp, tcp);
	cr_assert_eq(sv.sessions_udp, udp);
	cr_assert_eq(sv.sessions_icmp, icmp);
	cr_assert_eq(tcp + udp + icmp, 6);
	cr_assert_eq(sv.mappings, maps);
	cr_assert_eq(sv.mappings, 6 + NP); /* six dynamic, the dnat in each */
	cr_assert_eq(sv.capacity, NP * 1024);
	cr_assert_eq(sv.log_lines, 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(sv.port[i].rx, 1 + (uint64_t)i + 1000 * (1 + (uint64_t)i));
		cr_assert_eq(sv.port[i].tx, 3 + (uint64_t)i + 3000 * (1 + (uint64_t)i));
		cr_assert_eq(sv.port[i].tx_drop, 5 + (uint64_t)i + 5000 * (1 + (uint64_t)i));
	}
	/* the real command path; stats never quiesce (telemetry's thread) */
	out = be_exec_ok(&m.be, "show stats");
	snprintf(line, sizeof(line), "sessions 6 (tcp %u udp %u icmp %u) of %u\n", tcp, udp, icmp,
		 NP * 1024);
	cr_assert(strstr(out, line), "%s", out);
	cr_assert(strstr(out, "port inside  rx 1001 tx 3003 tx_drop 5005\n"), "%s", out);
	cr_assert(strstr(out, "port outside rx 2002 tx 6004 tx_drop 10006\n"), "%s", out);
	free(out);
	out = be_exec_ok(&m.be, "show stats json");
	cr_assert(strstr(out, "\"in2out\":{\"pkts\":6,"), "%s", out);
	free(out);
	cr_assert_eq(q_calls, 0, "stats quiesced the workers");

	/* per worker: each pipeline's own numbers and its loop's */
	m.loop[2].handoff_out = 17;
	m.loop[2].handoff_in = 19;
	m.loop[2].handoff_drop = 2;
	for (k = 0; k < NP; k++) {
		const struct nat_counters *c = nat_pipeline_counters(m.p[k]);
		struct nat_worker_view wv;
		uint64_t drops = 0;

		for (i = 0; i < NAT_CNT_COUNT; i++)
			if (!strncmp(nat_counter_name(i), "drop_", 5))
				drops += c->v[i];
		cr_assert_eq(m.be.workers(m.be.ctx, k, &wv), 0);
		cr_assert_eq(wv.translated, c->v[NAT_CNT_IN2OUT_PKTS] + c->v[NAT_CNT_OUT2IN_PKTS] +
						    c->v[NAT_CNT_HAIRPIN_PKTS]);
		cr_assert_eq(wv.dropped, drops);
		cr_assert_eq(wv.sessions, nat_pipeline_sessions(m.p[k]));
		cr_assert_eq(wv.mappings, nat_pipeline_mappings(m.p[k]));
		for (i = 0; i < 2; i++) {
			uint64_t rx = m.loops[k] ? m.loop[k].rx[i] : 0;

			cr_assert_eq(wv.port[i].rx, rx, "worker %u", k);
			cr_assert_eq(wv.port[i].tx, m.loops[k] ? m.loop[k].tx[i] : 0);
		}
		cr_assert_eq(wv.handoff_out, k == 2 ? 17u : 0u);
		cr_assert_eq(wv.handoff_in, k == 2 ? 19u : 0u);
		cr_assert_eq(wv.handoff_drop, k == 2 ? 2u : 0u);
	}
	{
		struct nat_worker_view wv;

		cr_assert_eq(m.be.workers(m.be.ctx, NP, &wv), -ENOENT);
	}
	out = be_exec_ok(&m.be, "show workers");
	cr_assert(strstr(out, "\n3 workers\nok\n"), "%s", out);
	free(out);
	cr_assert_eq(q_calls, 0, "show workers quiesced the workers");

	/* no loops at all: zero port counters, the rest as before */
	cr_assert_eq(nat_ctl_backend_init_multi(&m.be, &m.ctx, m.p, NP, NULL, fake_clock,
						fake_quiesce, &q_calls),
		     0);
	memset(&sv, 0xa5, sizeof(sv));
	cr_assert_eq(m.be.stats(m.be.ctx, &sv), 0);
	for (i = 0; i < 2; i++)
		cr_assert(sv.port[i].rx == 0 && sv.port[i].tx == 0 && sv.port[i].tx_drop == 0);
	cr_assert_eq(sv.sessions, 6);
	cr_assert_eq(sv.counters[NAT_CNT_IN2OUT_PKTS], 6);
	cr_assert_eq(q_calls, 0);
	menv_free(&m);
}

/* An entry as the walks show it: all the fields that tell entries apart. */
struct key {
	uint32_t proto, flags, in_addr, ext_addr, rem_addr, in_port, ext_port, rem_port;
};

struct keys {
	struct key k[4096];
	unsigned n;
	unsigned stop_every; /* emit: stop after this many (0: never) */
	unsigned emitted;    /* in the current call */
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct key));
}

static void keys_add(struct keys *ks, const struct key *k)
{
	cr_assert_lt(ks->n, sizeof(ks->k) / sizeof(ks->k[0]));
	ks->k[ks->n++] = *k;
}

static int emit_session(void *arg, const struct nat_session_view *v)
{
	struct keys *ks = arg;
	struct key k = {v->proto, v->flags, v->in_addr, v->ext_addr, v->rem_addr,
			v->in_port, v->ext_port, v->rem_port};

	cr_assert(q_parked, "an entry was read before quiescing");
	keys_add(ks, &k);
	ks->emitted++;
	return ks->stop_every && ks->emitted % ks->stop_every == 0;
}

static int emit_mapping(void *arg, const struct nat_mapping_view *v)
{
	struct keys *ks = arg;
	struct key k = {v->proto, v->flags, v->in_addr, v->ext_addr, 0, v->in_port, v->ext_port, 0};

	cr_assert(q_parked, "an entry was read before quiescing");
	keys_add(ks, &k);
	ks->emitted++;
	return ks->stop_every && ks->emitted % ks->stop_every == 0;
}

/* the reference: each pipeline's own walk, in one call */
static int ref_session(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	struct nat_session_view v = {
		.proto = m->proto,
		.flags = (uint8_t)(((m->flags & NAT_MAP_STATIC) ? NAT_VIEW_STATIC : 0) |
				   ((m->flags & NAT_MAP_MASQ) ? NAT_VIEW_MASQ : 0)),
		.in_addr = m->in_addr,
		.ext_addr = m->out_addr,
		.rem_addr = s->rem_addr,
		.in_port = m->in_port,
		.ext_port = m->out_port,
		.rem_port = s->rem_port,
	};
	bool parked = q_parked;
	int rc;

	q_parked = true; /* not through the backend */
	rc = emit_session(arg, &v);
	q_parked = parked;
	return rc;
}

static int ref_mapping(void *arg, const struct nat_mapping *m)
{
	struct nat_mapping_view v = {
		.proto = m->proto,
		.flags = (uint8_t)(((m->flags & NAT_MAP_STATIC) ? NAT_VIEW_STATIC : 0) |
				   ((m->flags & NAT_MAP_MASQ) ? NAT_VIEW_MASQ : 0)),
		.in_addr = m->in_addr,
		.ext_addr = m->out_addr,
		.in_port = m->in_port,
		.ext_port = m->out_port,
	};
	bool parked = q_parked;
	int rc;

	q_parked = true;
	rc = emit_mapping(arg, &v);
	q_parked = parked;
	return rc;
}

static void ref_walks(struct menv *m, struct keys *sess, struct keys *maps)
{
	uint64_t cur;
	unsigned k;

	memset(sess, 0, sizeof(*sess));
	memset(maps, 0, sizeof(*maps));
	for (k = 0; k < NP; k++) {
		cur = 0;
		cr_assert_eq(nat_pipeline_session_walk(m->p[k], &cur, UINT32_MAX, ref_session, sess), 1);
		cur = 0;
		cr_assert_eq(nat_pipeline_mapping_walk(m->p[k], &cur, UINT32_MAX, ref_mapping, maps), 1);
	}
	qsort(sess->k, sess->n, sizeof(sess->k[0]), key_cmp);
	qsort(maps->k, maps->n, sizeof(maps->k[0]), key_cmp);
}

/* The backend's walk from the start to the end, budget slots a call,
 * emit stopping every stop_every entries; sorted. */
static unsigned be_walk(struct menv *m, bool mappings, uint32_t budget, unsigned stop_every,
			struct keys *ks)
{
	uint64_t cur = 0;
	unsigned calls = 0, limit = NP * 1024 + 100;
	int rc;

	memset(ks, 0, sizeof(*ks));
	ks->stop_every = stop_every;
	do {
		unpark();
		ks->emitted = 0;
		rc = mappings ? m->be.mappings(m->be.ctx, &cur, budget, emit_mapping, ks)
			      : m->be.sessions(m->be.ctx, &cur, budget, emit_session, ks);
		cr_assert(rc == 0 || rc == 1, "walk: %d", rc);
		cr_assert_eq(q_calls, 1, "a walk call quiesced %u times", q_calls);
		cr_assert_leq(ks->emitted, budget, "emitted %u with budget %u", ks->emitted, budget);
		if (stop_every)
			cr_assert_leq(ks->emitted, stop_every, "emit's stop was not obeyed");
		cr_assert_lt(++calls, limit, "the walk does not end (budget %u)", budget);
	} while (rc == 0);
	/* complete stays complete */
	cr_assert_eq(mappings ? m->be.mappings(m->be.ctx, &cur, budget, emit_mapping, ks)
			      : m->be.sessions(m->be.ctx, &cur, budget, emit_session, ks),
		     1);
	qsort(ks->k, ks->n, sizeof(ks->k[0]), key_cmp);
	return calls;
}

static void keys_assert_eq(const struct keys *got, const struct keys *want, const char *what,
			   uint32_t budget, unsigned stop_every)
{
	unsigned i;

	cr_assert_eq(got->n, want->n, "%s (budget %u, stop %u): %u entries, want %u", what, budget,
		     stop_every, got->n, want->n);
	for (i = 0; i < want->n; i++)
		cr_assert_eq(key_cmp(&got->k[i], &want->k[i]), 0,
			     "%s (budget %u, stop %u): entry %u differs (in %08x:%u)", what, budget,
			     stop_every, i, got->k[i].in_addr, got->k[i].in_port);
}

Test(nat_ctl_backend_multi, walks_show_every_entry_once)
{
	static struct keys want_s, want_m, got;
	static const uint32_t budgets[] = {1, 2, 7, 1000, UINT32_MAX};
	static const unsigned stops[] = {0, 1, 3};
	struct menv m;
	unsigned i, j;
	char *out, line[80];

	menv_init(&m);
	/* worker 0: 5 UDP sessions; worker 1: none; worker 2: 12 of each
	 * kind, through 4 mappings (one subscriber, three remotes each) */
	for (i = 0; i < 5; i++)
		cr_assert_eq(msend(&m, 0, NAT_SIDE_INSIDE, 17, IN1, R1, (uint16_t)(1000 + i), 53, 0),
			     NAT_TX_OUTSIDE);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++)
			cr_assert_eq(msend(&m, 2, NAT_SIDE_INSIDE, i % 2 ? 6 : 17, IN7,
					   IP4(192, 0, 2, 10 + j), (uint16_t)(2000 + i), 80,
					   0x02),
				     NAT_TX_OUTSIDE);
	ref_walks(&m, &want_s, &want_m);
	cr_assert_eq(want_s.n, 5 + 12);
	cr_assert_eq(want_m.n, 5 + 4 + NP);
	for (i = 1; i < want_s.n; i++)
		cr_assert_neq(key_cmp(&want_s.k[i - 1], &want_s.k[i]), 0, "test traffic not distinct");

	for (i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
		for (j = 0; j < sizeof(stops) / sizeof(stops[0]); j++) {
			be_walk(&m, false, budgets[i], stops[j], &got);
			keys_assert_eq(&got, &want_s, "sessions", budgets[i], stops[j]);
			be_walk(&m, true, budgets[i], stops[j], &got);
			keys_assert_eq(&got, &want_m, "mappings", budgets[i], stops[j]);
		}
	}
	/* the real command path */
	out = be_exec_ok(&m.be, "show sessions");
	snprintf(line, sizeof(line), "%u sessions shown, %u in the table\nok\n", want_s.n,
		 want_s.n);
	cr_assert(strstr(out, line), "%s", out);
	free(out);
	out = be_exec_ok(&m.be, "show mappings static");
	cr_assert(strstr(out, "3 mappings shown"), "%s", out);
	free(out);
	out = be_exec_ok(&m.be, "show sessions inside 10.0.0.7 proto tcp");
	cr_assert(strstr(out, "6 sessions shown"), "%s", out);
	free(out);
	menv_free(&m);
}

/*
 * Every slot of every table live (16 sessions and 16 mappings a worker):
 * each slot visited is an entry shown, so a call shows exactly
 * min(budget, stop) entries, also across the end of a pipeline, and the
 * walk takes exactly that many calls.
 */
Test(nat_ctl_backend_multi, walks_full_tables)
{
	static struct keys want_s, want_m, got;
	static const uint32_t budgets[] = {1, 2, 7, 15, 16, 17, 1000};
	static const unsigned stops[] = {0, 1, 3, 16};
	struct menv m;
	unsigned i, j, k, per, calls;
	uint32_t in;

	menv_init_cfg(&m, CFG_TEXT "sessions 16\n");
	for (k = 0; k < NP; k++) {
		/* 15 mappings with a session each, and the dnat's; one more
		 * session on the first mapping */
		in = IP4(10, 0, 0, 10 + k);
		for (i = 0; i < 15; i++)
			cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, in, R1, (uint16_t)(1000 + i), 53,
					   0),
				     NAT_TX_OUTSIDE);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, in, R2, 1000, 53, 0), NAT_TX_OUTSIDE);
		cr_assert_eq(nat_pipeline_sessions(m.p[k]), 16);
		cr_assert_eq(nat_pipeline_mappings(m.p[k]), 16);
	}
	ref_walks(&m, &want_s, &want_m);
	cr_assert_eq(want_s.n, NP * 16);
	cr_assert_eq(want_m.n, NP * 16);
	for (i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
		for (j = 0; j < sizeof(stops) / sizeof(stops[0]); j++) {
			per = stops[j] && stops[j] < budgets[i] ? stops[j] : budgets[i];
			calls = be_walk(&m, false, budgets[i], stops[j], &got);
			keys_assert_eq(&got, &want_s, "sessions", budgets[i], stops[j]);
			cr_assert_eq(calls, (NP * 16 + per - 1) / per,
				     "sessions (budget %u, stop %u): %u calls", budgets[i], stops[j],
				     calls);
			calls = be_walk(&m, true, budgets[i], stops[j], &got);
			keys_assert_eq(&got, &want_m, "mappings", budgets[i], stops[j]);
			cr_assert_eq(calls, (NP * 16 + per - 1) / per,
				     "mappings (budget %u, stop %u): %u calls", budgets[i], stops[j],
				     calls);
		}
	}
	menv_free(&m);
}

Test(nat_ctl_backend_multi, show_as_single)
{
	static const char *const reqs[] = {"show rules", "show rules json", "show timeouts",
					   "show timeouts json"};
	struct env e;
	struct menv m;
	char *a, *b;
	unsigned i;

	env_init(&e);
	menv_init(&m);
	free(exec_ok(&e, "add rule at 2 bypass src 10.0.0.9"));
	free(be_exec_ok(&m.be, "add rule at 2 bypass src 10.0.0.9"));
	free(exec_ok(&e, "set timeout icmp 90"));
	free(be_exec_ok(&m.be, "set timeout icmp 90"));
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		a = exec_ok(&e, reqs[i]);
		b = be_exec_ok(&m.be, reqs[i]);
		cr_assert_str_eq(b, a, "'%s'", reqs[i]);
		free(a);
		free(b);
	}
	free(rules_all_same(&m));
	menv_free(&m);
	nat_pipeline_free(e.p);
}

Test(nat_ctl_backend_multi, rule_add_reaches_every_worker)
{
	struct menv m;
	uint32_t maps[NP];
	unsigned k;
	char *out;

	menv_init(&m);
	out = be_exec_ok(&m.be, "add rule at 1 drop src 10.0.0.5 proto udp");
	cr_assert_str_eq(out, "rule 1: drop src 10.0.0.5 proto udp\nok\n");
	free(out);
	free(rules_all_same(&m));
	for (k = 0; k < NP; k++) {
		cr_assert_eq(nat_pipeline_config(m.p[k])->n_rules, 4);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0), NAT_DROP,
			     "worker %u", k);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, IN2, R1, 4000, 53, 0),
			     NAT_TX_OUTSIDE, "worker %u", k);
		maps[k] = nat_pipeline_mappings(m.p[k]);
	}
	/* a port forward: its static mapping in every worker */
	free(be_exec_ok(&m.be, "add static dst 198.51.100.1 proto udp dport 5353 to 10.0.0.53"));
	free(rules_all_same(&m));
	for (k = 0; k < NP; k++) {
		cr_assert_eq(nat_pipeline_mappings(m.p[k]), maps[k] + 1, "worker %u", k);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 1, SRV53, R1, 9, 0, 8), NAT_TX_OUTSIDE);
		cr_assert_eq(msend(&m, k, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0),
			     NAT_TX_INSIDE, "worker %u", k);
	}
	menv_free(&m);
}

/*
 * A rule that only worker `bad` refuses (an endpoint of the dnat is busy
 * there alone): every worker's rules are as before, and the error is that
 * worker's.
 */
static void refused_on(unsigned bad)
{
	static const struct {
		const char *req, *err;
	} cases[] = {
		{"add static dst 198.51.100.1 proto udp dport 4000 to 10.0.0.9",
		 "error: 198.51.100.1:4000 is in use by the mapping of 10.0.0.5:4000\n"},
		{"add rule at 1 dnat dst 198.51.100.1 proto udp dport 4000 to 10.0.0.9:53",
		 "error: 198.51.100.1:4000 is in use by the mapping of 10.0.0.5:4000\n"},
		{"add rule at 2 dnat dst 198.51.100.1 proto udp dport 4444 to 10.0.0.5:4000",
		 "error: target 10.0.0.5:4000 has a mapping (to 198.51.100.1:4000)\n"},
	};
	struct menv m;
	uint32_t maps[NP];
	char *before, *after, *out;
	unsigned i, k;

	menv_init(&m);
	cr_assert_eq(msend(&m, bad, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0), NAT_TX_OUTSIDE);
	before = rules_all_same(&m);
	for (k = 0; k < NP; k++)
		maps[k] = nat_pipeline_mappings(m.p[k]);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = be_exec_err(&m.be, cases[i].req);
		cr_assert_str_eq(out, cases[i].err, "worker %u, '%s'", bad, cases[i].req);
		free(out);
		for (k = 0; k < NP; k++) {
			after = rules_text(m.p[k]);
			cr_assert_str_eq(after, before, "worker %u refused '%s': worker %u changed",
					 bad, cases[i].req, k);
			free(after);
			cr_assert_eq(nat_pipeline_mappings(m.p[k]), maps[k],
				     "worker %u refused '%s': worker %u's mappings changed", bad,
				     cases[i].req, k);
		}
	}
	/* what nobody refuses still lands everywhere */
	free(be_exec_ok(&m.be, "add static dst 198.51.100.1 proto udp dport 4001 to 10.0.0.9"));
	after = rules_all_same(&m);
	cr_assert_neq(strcmp(after, before), 0);
	cr_assert_eq(nat_pipeline_config(m.p[0])->n_rules, 4);
	free(after);
	free(before);
	menv_free(&m);
}

Test(nat_ctl_backend_multi, refused_rule_add_changes_no_worker)
{
	unsigned bad;

	for (bad = 0; bad < NP; bad++)
		refused_on(bad);
}

Test(nat_ctl_backend_multi, rule_delete_every_worker)
{
	struct menv m;
	uint32_t maps[NP];
	char *before, *after, *out;
	unsigned k;
	char err[128];

	menv_init(&m);
	free(be_exec_ok(&m.be, "delete rule 1")); /* drop src 10.0.0.66 */
	free(rules_all_same(&m));
	for (k = 0; k < NP; k++) {
		cr_assert_eq(nat_pipeline_config(m.p[k])->n_rules, 2);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, IP4(10, 0, 0, 66), R1, 1, 2, 0),
			     NAT_TX_OUTSIDE, "worker %u still drops", k);
		maps[k] = nat_pipeline_mappings(m.p[k]);
	}
	/* the dnat, now rule 2: its static mapping leaves every worker */
	free(be_exec_ok(&m.be, "delete static 2"));
	free(rules_all_same(&m));
	for (k = 0; k < NP; k++)
		cr_assert_eq(nat_pipeline_mappings(m.p[k]), maps[k] - 1, "worker %u", k);
	out = be_exec_err(&m.be, "delete rule 9"); /* the command checks pipes[0]'s count */
	cr_assert_str_eq(out, "error: bad rule number '9' (expected 1..1)\n");
	free(out);
	out = rules_all_same(&m);
	cr_assert_eq(nat_pipeline_config(m.p[0])->n_rules, 1, "%s", out);
	free(out);
	menv_free(&m);

	/* a rule only some workers have (the config's dnat, gone from worker
	 * 2 alone): checked on all before any change */
	menv_init(&m);
	cr_assert_eq(nat_pipeline_rule_delete(m.p[2], 2, q_now, err, sizeof(err)), 0, "%s", err);
	/* a session through worker 0's port forward (its server known first) */
	cr_assert_eq(msend(&m, 0, NAT_SIDE_INSIDE, 1, IP4(10, 0, 0, 80), R1, 9, 0, 8),
		     NAT_TX_OUTSIDE);
	cr_assert_eq(msend(&m, 0, NAT_SIDE_OUTSIDE, 6, R1, OUTA, 5555, 8080, 0x02), NAT_TX_INSIDE);
	cr_assert_eq(nat_pipeline_sessions(m.p[0]), 2);
	before = rules_text(m.p[0]);
	for (k = 0; k < NP; k++)
		maps[k] = nat_pipeline_mappings(m.p[k]);
	out = be_exec_err(&m.be, "delete rule 3");
	cr_assert_str_eq(out, "error: no rule 3 (there are 2)\n");
	free(out);
	for (k = 0; k < 2; k++) {
		after = rules_text(m.p[k]);
		cr_assert_str_eq(after, before, "worker %u", k);
		free(after);
	}
	for (k = 0; k < NP; k++)
		cr_assert_eq(nat_pipeline_mappings(m.p[k]), maps[k], "worker %u", k);
	cr_assert_eq(nat_pipeline_sessions(m.p[0]), 2, "the port forward's session is gone");
	free(before);
	menv_free(&m);
}

Test(nat_ctl_backend_multi, set_timeout_every_worker)
{
	struct menv m;
	unsigned k;
	char *out;

	menv_init(&m);
	free(be_exec_ok(&m.be, "set timeout udp 600"));
	free(be_exec_ok(&m.be, "set timeout tcp-established 8000"));
	out = be_exec_err(&m.be, "set timeout udp 100");
	cr_assert_str_eq(out, "error: timeout udp 100 is below the RFC 4787 minimum of 120 seconds\n");
	free(out);
	for (k = 0; k < NP; k++) {
		cr_assert_eq(nat_pipeline_config(m.p[k])->timeout_udp, 600, "worker %u", k);
		cr_assert_eq(nat_pipeline_config(m.p[k])->timeout_tcp_est, 8000, "worker %u", k);
		cr_assert_eq(msend(&m, k, NAT_SIDE_INSIDE, 17, IN1, R1, (uint16_t)(4000 + k), 53, 0),
			     NAT_TX_OUTSIDE);
	}
	out = be_exec_ok(&m.be, "show sessions proto udp json");
	cr_assert(strstr(out, "\"shown\":3,"), "%s", out);
	cr_assert_null(strstr(out, "\"timeout\":300,"), "%s", out);
	free(out);
	/* straight through the op: a refusal leaves every worker alone */
	unpark();
	cr_assert_eq(m.be.set_timeout(m.be.ctx, NAT_TIMEOUT_ICMP, 0, NULL, 0), -EINVAL);
	for (k = 0; k < NP; k++)
		cr_assert_eq(nat_pipeline_config(m.p[k])->timeout_icmp, 60);
	for (k = 0; k < NP; k++)
		cr_assert_eq(nat_pipeline_expire(m.p[k], q_now + 400, 1u << 20), 0, "worker %u", k);
	menv_free(&m);
}

static int emit_rule(void *arg, unsigned idx, const struct nat_rule *r)
{
	(void)arg;
	(void)idx;
	(void)r;
	cr_assert(q_parked, "a rule was read before quiescing");
	return 0;
}

Test(nat_ctl_backend_multi, quiesce_before_every_op_but_stats)
{
	static const char *const reqs[] = {
		"show sessions", "show mappings json", "show rules", "show timeouts",
		"add rule bypass src 10.0.0.9", "delete rule 4", "set timeout udp 200",
		"add static dst 198.51.100.1 proto udp dport 53 to 10.0.0.53", "delete static 4",
		"add rule at 9 snat", "delete rule 9"};
	struct menv m;
	struct nat_stats_view sv;
	struct nat_rule r;
	static struct keys ks;
	uint64_t cur;
	char err[128], *out;
	unsigned i;
	int rc;

	menv_init(&m);
	cr_assert_eq(msend(&m, 1, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0), NAT_TX_OUTSIDE);
	unpark();
	cr_assert_eq(m.be.stats(m.be.ctx, &sv), 0);
	cr_assert_eq(q_calls, 0);

	unpark();
	cur = 0;
	cr_assert_eq(m.be.sessions(m.be.ctx, &cur, UINT32_MAX, emit_session, &ks), 1);
	cr_assert_eq(q_calls, 1);
	cr_assert_eq(ks.n, 1);
	unpark();
	cur = 0;
	cr_assert_eq(m.be.mappings(m.be.ctx, &cur, UINT32_MAX, emit_mapping, &ks), 1);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.rules(m.be.ctx, emit_rule, NULL), 0);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_not_null(m.be.config(m.be.ctx));
	cr_assert_eq(q_calls, 1);
	r = nat_pipeline_config(m.p[0])->rules[0];
	unpark();
	cr_assert_eq(m.be.rule_add(m.be.ctx, 0, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.rule_add(m.be.ctx, 99, &r, err, sizeof(err)), -ERANGE);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.rule_delete(m.be.ctx, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.rule_delete(m.be.ctx, 99, err, sizeof(err)), -ENOENT);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.set_timeout(m.be.ctx, NAT_TIMEOUT_UDP, 500, err, sizeof(err)), 0);
	cr_assert_eq(q_calls, 1);
	unpark();
	cr_assert_eq(m.be.set_timeout(m.be.ctx, NAT_TIMEOUT_UDP, 5, err, sizeof(err)), -EINVAL);
	cr_assert_eq(q_calls, 1);

	/* the command path: every request that reaches the NAT quiesces
	 * first (the fake clock and emitters check it), stats never */
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		unpark();
		rc = nat_ctl_exec(&m.be, reqs[i], &out, NULL); /* some are refused */
		cr_assert(rc == 0 || rc == -EINVAL);
		cr_assert_not_null(out);
		cr_assert_geq(q_calls, 1, "'%s' did not quiesce: %s", reqs[i], out);
		free(out);
	}
	unpark();
	free(be_exec_ok(&m.be, "show stats"));
	free(be_exec_ok(&m.be, "show stats json"));
	cr_assert_eq(q_calls, 0);
	menv_free(&m);
}
