/* SPDX-License-Identifier: BSD-3-Clause */
/* Control-server backend on struct nat_pipeline; see nat_ctl_backend.h. */
#include <errno.h>
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

static uint8_t view_flags(const struct nat_mapping *m)
{
	return (uint8_t)(((m->flags & NAT_MAP_STATIC) ? NAT_VIEW_STATIC : 0) |
			 ((m->flags & NAT_MAP_MASQ) ? NAT_VIEW_MASQ : 0));
}

struct walk_arg {
	uint64_t now;
	int (*emit_s)(void *arg, const struct nat_session_view *v);
	int (*emit_m)(void *arg, const struct nat_mapping_view *v);
	void *arg;
};

static int one_session(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	struct walk_arg *w = arg;
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
		.idle_s = w->now > s->last ? (uint32_t)(w->now - s->last) : 0,
		.timeout_s = s->timeout,
	};

	return w->emit_s(w->arg, &v);
}

static int be_sessions(void *ctx, uint64_t *cursor, uint32_t budget,
		       int (*emit)(void *arg, const struct nat_session_view *v), void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	struct walk_arg w = {.now = now_s(c), .emit_s = emit, .arg = arg};

	return nat_pipeline_session_walk(c->pipe, cursor, budget, one_session, &w);
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

	return w->emit_m(w->arg, &v);
}

static int be_mappings(void *ctx, uint64_t *cursor, uint32_t budget,
		       int (*emit)(void *arg, const struct nat_mapping_view *v), void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	struct walk_arg w = {.now = now_s(c), .emit_m = emit, .arg = arg};

	return nat_pipeline_mapping_walk(c->pipe, cursor, budget, one_mapping, &w);
}

/* Counters only (telemetry calls this from its own thread): each value is
 * read once, relaxed; the packet thread keeps writing meanwhile, so the
 * set is approximate (no value is torn on a 64-bit machine). */
static int be_stats(void *ctx, struct nat_stats_view *out)
{
	struct nat_ctl_backend_ctx *c = ctx;
	const struct nat_counters *cnt = nat_pipeline_counters(c->pipe);
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < NAT_CNT_COUNT; i++)
		out->counters[i] = __atomic_load_n(&cnt->v[i], __ATOMIC_RELAXED);
	if (c->loop) {
		for (i = 0; i < 2; i++) {
			out->port[i].rx = __atomic_load_n(&c->loop->rx[i], __ATOMIC_RELAXED);
			out->port[i].tx = __atomic_load_n(&c->loop->tx[i], __ATOMIC_RELAXED);
			out->port[i].tx_drop = __atomic_load_n(&c->loop->tx_drop[i], __ATOMIC_RELAXED);
		}
	}
	out->sessions = nat_pipeline_sessions(c->pipe);
	out->mappings = nat_pipeline_mappings(c->pipe);
	out->sessions_tcp = nat_pipeline_sessions_proto(c->pipe, 6);
	out->sessions_udp = nat_pipeline_sessions_proto(c->pipe, 17);
	out->sessions_icmp = nat_pipeline_sessions_proto(c->pipe, 1);
	out->capacity = nat_pipeline_config(c->pipe)->sessions;
	out->log_lines = nat_pipeline_log_lines(c->pipe);
	return 0;
}

static int be_rules(void *ctx, int (*emit)(void *arg, unsigned idx, const struct nat_rule *r),
		    void *arg)
{
	struct nat_ctl_backend_ctx *c = ctx;
	const struct nat_config *cfg = nat_pipeline_config(c->pipe);
	uint32_t i;

	for (i = 0; i < cfg->n_rules; i++)
		if (emit(arg, i, &cfg->rules[i]))
			break;
	return 0;
}

static const struct nat_config *be_config(void *ctx)
{
	struct nat_ctl_backend_ctx *c = ctx;

	return nat_pipeline_config(c->pipe);
}

static int be_rule_add(void *ctx, unsigned at, const struct nat_rule *r, char *err,
		       size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;

	return nat_pipeline_rule_add(c->pipe, at, r, now_s(c), err, errlen);
}

static int be_rule_delete(void *ctx, unsigned idx, char *err, size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;

	return nat_pipeline_rule_delete(c->pipe, idx, now_s(c), err, errlen);
}

static int be_set_timeout(void *ctx, enum nat_timeout_kind which, uint32_t secs, char *err,
			  size_t errlen)
{
	struct nat_ctl_backend_ctx *c = ctx;
	int rc = nat_pipeline_set_timeout(c->pipe, which, secs);

	if (rc && errlen)
		snprintf(err, errlen, "cannot set timeout %s %u: %s", nat_timeout_name(which), secs,
			 strerror(-rc));
	return rc;
}

void nat_ctl_backend_init(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			  struct nat_pipeline *pipe, const struct nat_loop_stats *loop,
			  uint64_t (*clock)(void))
{
	ctx->pipe = pipe;
	ctx->loop = loop;
	ctx->clock = clock ? clock : wall_s;
	memset(be, 0, sizeof(*be));
	be->ctx = ctx;
	be->sessions = be_sessions;
	be->mappings = be_mappings;
	be->stats = be_stats;
	be->rules = be_rules;
	be->config = be_config;
	be->rule_add = be_rule_add;
	be->rule_delete = be_rule_delete;
	be->set_timeout = be_set_timeout;
}
