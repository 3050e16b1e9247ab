/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-server backend on struct nat_pipeline (one or more); see
 * nat_ctl_backend.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nat_ctl_backend.h"
#include "nat_port.h"
#include "nat_session.h"

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static uint64_t now_s(const struct nat_ctl_backend_ctx *c)
{
	return c->clock();
}

/* Every op but stats: the other workers' pipelines are ours from here until
 * the control poll returns (nat_ctl_backend.h). */
static void quiesce(const struct nat_ctl_backend_ctx *c)
{
	if (c->quiesce)
		c->quiesce(c->quiesce_arg);
}

static uint8_t view_flags(const struct nat_mapping *m)
{
	return (uint8_t)(((m->flags & NAT_MAP_STATIC) ? NAT_VIEW_STATIC : 0) |
			 ((m->flags & NAT_MAP_MASQ) ? NAT_VIEW_MASQ : 0));
}

struct walk_arg {
	const struct nat_pipeline *p; /* set by the walk */
	uint64_t now;
	int (*emit_s)(void *arg, const struct nat_session_view *v);
	int (*emit_m)(void *arg, const struct nat_mapping_view *v);
	void *arg;
	bool stopped; /* emit returned non-zero */
};

static int one_session(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	struct walk_arg *w = arg;
	uint64_t last = nat_pipeline_sess_last(w->p, s);
	struct nat_session_view v = {
		.proto = m->proto,
		.tcp_state = m->proto == 6 ? s->tcp_state : 0,
		.flags = view_flags(m),
		.in_addr = m->in_addr,
		.ext_addr = m->out_addr,
		.rem_addr = s->rem_addr,
		.in_port = m->in_port,
		.ext_port = m->out_port,
		.rem_port = s->rem_port,
		.idle_s = w->now > last ? (uint32_t)(w->now - last) : 0,
		.timeout_s = s->timeout,
	};

	if (w->emit_s(w->arg, &v) == 0)
		return 0;
	w->stopped = true;
	return 1;
}

static int one_mapping(void *arg, const struct nat_mapping *m)
{
	struct walk_arg *w = arg;
	struct nat_mapping_view v = {
		.proto = m->proto,
		.flags = view_flags(m),
		.in_addr = m->in_addr,
		.ext_addr = m->out_addr,
		.in_port = m->in_port,
		.ext_port = m->out_port,
		.sessions = m->n_sessions,
		.created_s = m->created,
		/* static mappings made at start-up carry created 0: no age */
		.age_s = m->created && w->now > m->created ? (uint32_t)(w->now - m->created) : 0,
	};

	if (w->emit_m(w->arg, &v) == 0)
		return 0;
	w->stopped = true;
	return 1;
}

static int walk_sessions(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			 struct walk_arg *w)
{
	w->p = p;
	return nat_pipeline_session_walk(p, cursor, budget, one_session, w);
}

static int walk_mappings(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			 struct walk_arg *w)
{
	return nat_pipeline_mapping_walk(p, cursor, budget, one_mapping, w);
}

/*
 * One walk over every pipeline in order.  The cursor is the pipeline's
 * index in the top 16 bits and that pipeline's own cursor below: a
 * pipeline's walk cursor is a slot number of its session or mapping table
 * (at most max_sessions / max_mappings, uint32_t), so it fits in 48 bits.
 * A pipeline's walk advances its cursor by one per slot visited, which is
 * how the budget left is known.
 */
#define CUR_SHIFT 48
#define CUR_SUB_MASK ((UINT64_C(1) << CUR_SHIFT) - 1)

typedef int walk_fn(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
		    struct walk_arg *w);

static int walk_all(const struct nat_ctl_backend_ctx *c, uint64_t *cursor, uint32_t budget,
		    walk_fn *walk, struct walk_arg *w)
{
	uint64_t i = *cursor >> CUR_SHIFT, sub = *cursor & CUR_SUB_MASK, before;
	int rc;

	if (i >= c->n_pipes)
		return -EINVAL; /* not a cursor of ours */
	for (;;) {
		before = sub;
		rc = walk(c->pipes[i], &sub, budget, w);
		if (rc < 0)
			return rc;
		budget -= (uint32_t)(sub - before);
		if (rc == 0 || i + 1 == c->n_pipes)
			break; /* budget spent or emit stopped; or every pipeline done */
		/* pipeline i done (perhaps with the entry emit stopped on):
		 * the next one from its start */
		i++;
		sub = 0;
		rc = 0;
		if (w->stopped || budget == 0)
			break;
	}
	*cursor = i << CUR_SHIFT | sub;
	return rc;
}

static int be_sessions(void *ctx, uint64_t *cursor, uint32_t budget,
		       int (*emit)(void *arg, const struct nat_session_view *v), void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	struct walk_arg w = {.emit_s = emit, .arg = arg};

	quiesce(c);
	w.now = now_s(c);
	return walk_all(c, cursor, budget, walk_sessions, &w);
}

static int be_mappings(void *ctx, uint64_t *cursor, uint32_t budget,
		       int (*emit)(void *arg, const struct nat_mapping_view *v), void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	struct walk_arg w = {.emit_m = emit, .arg = arg};

	quiesce(c);
	w.now = now_s(c);
	return walk_all(c, cursor, budget, walk_mappings, &w);
}

static uint64_t relaxed(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Counters only (telemetry calls this from its own thread, and the workers
 * are not quiesced): each value is read once, relaxed; the packet threads
 * keep writing meanwhile, so the sums are approximate (no value is torn on
 * a 64-bit machine). */
static int be_stats(void *ctx, struct nat_stats_view *out)
{
	struct nat_ctl_backend_ctx *c = ctx;
	unsigned k;
	int i;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < c->n_pipes; k++) {
		const struct nat_pipeline *p = c->pipes[k];
		const struct nat_counters *cnt = nat_pipeline_counters(p);
		const struct nat_loop_stats *l = c->loops ? c->loops[k] : NULL;

		for (i = 0; i < NAT_CNT_COUNT; i++)
			out->counters[i] += relaxed(&cnt->v[i]);
		for (i = 0; l && i < 2; i++) {
			out->port[i].rx += relaxed(&l->rx[i]);
			out->port[i].tx += relaxed(&l->tx[i]);
			out->port[i].tx_drop += relaxed(&l->tx_drop[i]);
		}
		out->sessions += nat_pipeline_sessions(p);
		out->mappings += nat_pipeline_mappings(p);
		out->sessions_tcp += nat_pipeline_sessions_proto(p, 6);
		out->sessions_udp += nat_pipeline_sessions_proto(p, 17);
		out->sessions_icmp += nat_pipeline_sessions_proto(p, 1);
		out->capacity += nat_pipeline_config(p)->sessions;
		out->log_lines += nat_pipeline_log_lines(p);
	}
	return 0;
}

/* Worker i's counters: like stats, relaxed and without parking. */
static int be_workers(void *ctx, unsigned k, struct nat_worker_view *out)
{
	struct nat_ctl_backend_ctx *c = ctx;
	const struct nat_pipeline *p;
	const struct nat_counters *cnt;
	const struct nat_loop_stats *l;
	int i;

	if (k >= c->n_pipes)
		return -ENOENT;
	p = c->pipes[k];
	cnt = nat_pipeline_counters(p);
	l = c->loops ? c->loops[k] : NULL;
	memset(out, 0, sizeof(*out));
	for (i = 0; l && i < 2; i++) {
		out->port[i].rx = relaxed(&l->rx[i]);
		out->port[i].tx = relaxed(&l->tx[i]);
		out->port[i].tx_drop = relaxed(&l->tx_drop[i]);
	}
	if (l) {
		out->handoff_out = relaxed(&l->handoff_out);
		out->handoff_in = relaxed(&l->handoff_in);
		out->handoff_drop = relaxed(&l->handoff_drop);
	}
	out->translated = relaxed(&cnt->v[NAT_CNT_IN2OUT_PKTS]) +
			  relaxed(&cnt->v[NAT_CNT_OUT2IN_PKTS]) +
			  relaxed(&cnt->v[NAT_CNT_HAIRPIN_PKTS]);
	for (i = 0; i < NAT_CNT_COUNT; i++)
		if (!strncmp(nat_counter_name(i), "drop_", 5))
			out->dropped += relaxed(&cnt->v[i]);
	out->sessions = nat_pipeline_sessions(p);
	out->mappings = nat_pipeline_mappings(p);
	return 0;
}

/* rules and config: pipes[0]'s; every pipeline holds the same rules */
static int be_rules(void *ctx, int (*emit)(void *arg, unsigned idx, const struct nat_rule *r),
		    void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	const struct nat_config *cfg;
	uint32_t i;

	quiesce(c);
	cfg = nat_pipeline_config(c->pipes[0]);
	for (i = 0; i < cfg->n_rules; i++)
		if (emit(arg, i, &cfg->rules[i]))
			break;
	return 0;
}

static const struct nat_config *be_config(void *ctx)
{
	struct nat_ctl_backend_ctx *c = ctx;

	quiesce(c);
	return nat_pipeline_config(c->pipes[0]);
}

/* Add to err (which holds the error already returned) why pipeline k could
 * not be put back: its rules now differ from the others'. */
static void undo_failed(char *err, size_t errlen, unsigned k, const char *why)
{
	size_t len = errlen ? strnlen(err, errlen) : 0;

	if (len + 1 < errlen)
		snprintf(err + len, errlen - len, "; worker %u could not be restored (%s)", k, why);
}

static int be_rule_add(void *ctx, unsigned at, const struct nat_rule *r, char *err,
		       size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;
	uint64_t now;
	unsigned k, j;
	char why[128];
	int rc = 0;

	quiesce(c);
	now = now_s(c);
	for (k = 0; k < c->n_pipes; k++) {
		rc = nat_pipeline_rule_add(c->pipes[k], at, r, now, err, errlen);
		if (rc)
			break;
	}
	if (rc == 0)
		return 0;
	/* all or nothing: pipes[0..k) have just inserted it at at */
	for (j = 0; j < k; j++)
		if (nat_pipeline_rule_delete(c->pipes[j], at, now, why, sizeof(why)))
			undo_failed(err, errlen, j, why); /* -ENOMEM only */
	return rc;
}

/*
 * Every pipeline has the rule idx (checked first); deleted from each in
 * order.  Only -ENOMEM can stop pipeline k; the rule then goes back into
 * pipes[0..k) at idx, from a copy (a dnat rule gets its static mapping
 * back, not its sessions).
 */
static int be_rule_delete(void *ctx, unsigned idx, char *err, size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;
	struct nat_rule saved;
	uint64_t now;
	unsigned k, j;
	char why[128];
	int rc = 0;

	quiesce(c);
	now = now_s(c);
	for (k = 0; k < c->n_pipes; k++)
		if (idx >= nat_pipeline_config(c->pipes[k])->n_rules)
			/* refused with -ENOENT and its reason; changes nothing */
			return nat_pipeline_rule_delete(c->pipes[k], idx, now, err, errlen);
	saved = nat_pipeline_config(c->pipes[0])->rules[idx];
	for (k = 0; k < c->n_pipes; k++) {
		rc = nat_pipeline_rule_delete(c->pipes[k], idx, now, err, errlen);
		if (rc)
			break;
	}
	if (rc == 0)
		return 0;
	for (j = 0; j < k; j++)
		if (nat_pipeline_rule_add(c->pipes[j], idx, &saved, now, why, sizeof(why)))
			undo_failed(err, errlen, j, why);
	return rc;
}

static int be_set_timeout(void *ctx, enum nat_timeout_kind which, uint32_t secs, char *err,
			  size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;
	unsigned k;
	int rc;

	quiesce(c);
	rc = nat_pipeline_set_timeout(c->pipes[0], which, secs);
	if (rc) {
		if (errlen)
			snprintf(err, errlen, "cannot set timeout %s %u: %s",
				 nat_timeout_name(which), secs, strerror(-rc));
		return rc;
	}
	for (k = 1; k < c->n_pipes; k++) {
		rc = nat_pipeline_set_timeout(c->pipes[k], which, secs);
		(void)rc; /* cannot fail: the same checks accepted it on pipes[0] */
	}
	return 0;
}

static void fill_ops(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx)
{
	memset(be, 0, sizeof(*be));
	be->ctx = ctx;
	be->sessions = be_sessions;
	be->mappings = be_mappings;
	be->stats = be_stats;
	be->workers = be_workers;
	be->rules = be_rules;
	be->config = be_config;
	be->rule_add = be_rule_add;
	be->rule_delete = be_rule_delete;
	be->set_timeout = be_set_timeout;
}

void nat_ctl_backend_init(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			  struct nat_pipeline *pipe, const struct nat_loop_stats *loop,
			  uint64_t (*clock)(void))
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->one_pipe = pipe;
	ctx->one_loop = loop;
	ctx->pipes = &ctx->one_pipe;
	ctx->n_pipes = 1;
	ctx->loops = &ctx->one_loop;
	ctx->clock = clock ? clock : wall_s;
	fill_ops(be, ctx);
}

int nat_ctl_backend_init_multi(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			       struct nat_pipeline *const *pipes, unsigned n,
			       const struct nat_loop_stats *const *loops, uint64_t (*clock)(void),
			       void (*quiesce_fn)(void *arg), void *quiesce_arg)
{
	unsigned k;

	if (!be || !ctx || !pipes || n == 0 || n > NAT_CTL_BACKEND_MAX_PIPES)
		return -EINVAL;
	for (k = 0; k < n; k++)
		if (!pipes[k])
			return -EINVAL;
	memset(ctx, 0, sizeof(*ctx));
	ctx->pipes = pipes;
	ctx->n_pipes = n;
	ctx->loops = loops;
	ctx->clock = clock ? clock : wall_s;
	ctx->quiesce = quiesce_fn;
	ctx->quiesce_arg = quiesce_arg;
	fill_ops(be, ctx);
	return 0;
}
