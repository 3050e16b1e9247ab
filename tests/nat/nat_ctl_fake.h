/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake control backend for the nat_ctl tests: fixed session and mapping
 * views, counters with recognisable values, rules and timeouts in a real
 * struct nat_config (parsed from text, so rules can be checked against the
 * pool and the port addresses), and a record of every call.
 */
#ifndef NCNAT_CTL_FAKE_H
#define NCNAT_CTL_FAKE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ctl.h"

struct fake {
	struct nat_config *cfg;
	struct nat_session_view *sess;
	uint32_t n_sess;
	struct nat_mapping_view *maps;
	uint32_t n_maps;
	uint32_t holes;        /* dead slots between live ones in the walks */
	struct nat_stats_view st;
	struct nat_worker_view wk[4];
	unsigned n_wk;         /* workers shown (0: the op is missing) */
	/* calls */
	unsigned n_walk_calls, n_rule_add, n_rule_delete, n_set_timeout, n_stats;
	unsigned last_at;
	struct nat_rule last_rule;
	/* make the next change fail with this (0: succeed) */
	int fail_change;
	uint32_t max_budget_seen;
};

static int fake_sessions(void *ctx, uint64_t *cursor, uint32_t budget,
			 int (*emit)(void *arg, const struct nat_session_view *v), void *arg)
{
	struct fake *f = ctx;
	uint64_t slots = (uint64_t)f->n_sess * (f->holes + 1);

	f->n_walk_calls++;
	if (budget > f->max_budget_seen)
		f->max_budget_seen = budget;
	while (budget-- && *cursor < slots) {
		uint64_t i = (*cursor)++;

		if (i % (f->holes + 1) == 0 && emit(arg, &f->sess[i / (f->holes + 1)]))
			break;
	}
	return *cursor >= slots;
}

static int fake_mappings(void *ctx, uint64_t *cursor, uint32_t budget,
			 int (*emit)(void *arg, const struct nat_mapping_view *v), void *arg)
{
	struct fake *f = ctx;

	f->n_walk_calls++;
	while (budget-- && *cursor < f->n_maps)
		if (emit(arg, &f->maps[(*cursor)++]))
			break;
	return *cursor >= f->n_maps;
}

static int fake_stats(void *ctx, struct nat_stats_view *out)
{
	struct fake *f = ctx;

	f->n_stats++;
	*out = f->st;
	out->sessions = f->n_sess;
	out->mappings = f->n_maps;
	return 0;
}

static int fake_workers(void *ctx, unsigned i, struct nat_worker_view *out)
{
	struct fake *f = ctx;

	if (i >= f->n_wk)
		return -ENOENT;
	*out = f->wk[i];
	return 0;
}

static int fake_rules(void *ctx, int (*emit)(void *arg, unsigned idx, const struct nat_rule *r),
		      void *arg)
{
	struct fake *f = ctx;
	uint32_t i;

	for (i = 0; i < f->cfg->n_rules; i++)
		if (emit(arg, i, &f->cfg->rules[i]))
			break;
	return 0;
}

static const struct nat_config *fake_config(void *ctx)
{
	return ((struct fake *)ctx)->cfg;
}

static int fake_rule_add(void *ctx, unsigned at, const struct nat_rule *r, char *err,
			 size_t errlen)
{
	struct fake *f = ctx;
	struct nat_config *c = f->cfg;
	struct nat_rule *nr;

	f->n_rule_add++;
	if (f->fail_change) {
		snprintf(err, errlen, "fake refuses");
		return f->fail_change;
	}
	if (at > c->n_rules)
		return -ERANGE;
	nr = realloc(c->rules, (c->n_rules + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	memmove(nr + at + 1, nr + at, (c->n_rules - at) * sizeof(*nr));
	nr[at] = *r;
	c->rules = nr;
	c->n_rules++;
	f->last_at = at;
	f->last_rule = *r;
	return 0;
}

static int fake_rule_delete(void *ctx, unsigned idx, char *err, size_t errlen)
{
	struct fake *f = ctx;
	struct nat_config *c = f->cfg;

	f->n_rule_delete++;
	if (f->fail_change) {
		snprintf(err, errlen, "fake refuses");
		return f->fail_change;
	}
	if (idx >= c->n_rules)
		return -ENOENT;
	memmove(c->rules + idx, c->rules + idx + 1, (c->n_rules - idx - 1) * sizeof(*c->rules));
	c->n_rules--;
	f->last_at = idx;
	return 0;
}

static int fake_set_timeout(void *ctx, enum nat_timeout_kind which, uint32_t secs, char *err,
			    size_t errlen)
{
	struct fake *f = ctx;

	f->n_set_timeout++;
	if (f->fail_change) {
		snprintf(err, errlen, "fake refuses");
		return f->fail_change;
	}
	switch (which) {
	case NAT_TIMEOUT_UDP: f->cfg->timeout_udp = secs; break;
	case NAT_TIMEOUT_TCP_EST: f->cfg->timeout_tcp_est = secs; break;
	case NAT_TIMEOUT_TCP_TRANS: f->cfg->timeout_tcp_trans = secs; break;
	default: f->cfg->timeout_icmp = secs; break;
	}
	return 0;
}

#define FAKE_CONF                                                                          \
	"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"                                       \
	"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254\n"              \
	"pool 198.51.100.0/30\n"                                                            \
	"drop src 10.0.0.66\n"                                                              \
	"snat src 10.0.0.0/25\n"                                                            \
	"masquerade src 10.0.0.128/25 proto udp dport 53-60\n"                              \
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"

/*
 * n sessions: session i is proto tcp/udp/icmp by i % 3, inside 10.0.0.(i%100+2):(1000+i),
 * external 198.51.100.(i%4):(1000+i), remote 192.0.2.(i%7+1):(80 + i%2); TCP state
 * established when i % 6 == 0, else syn_out; every 10th static.
 */
static void fake_init(struct fake *f, uint32_t n_sess, uint32_t n_maps)
{
	char err[256];
	uint32_t i;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = nat_config_parse_buffer(FAKE_CONF, strlen(FAKE_CONF), "fake.conf", &f->cfg, err,
				     sizeof(err));
	if (rc) {
		fprintf(stderr, "fake config: %s\n", err);
		abort();
	}
	f->sess = calloc(n_sess ? n_sess : 1, sizeof(*f->sess));
	f->maps = calloc(n_maps ? n_maps : 1, sizeof(*f->maps));
	if (!f->sess || !f->maps)
		abort();
	for (i = 0; i < n_sess; i++) {
		struct nat_session_view *v = &f->sess[i];

		v->proto = i % 3 == 0 ? 6 : i % 3 == 1 ? 17 : 1;
		v->tcp_state = v->proto == 6 ? (i % 6 == 0 ? 5 /* established */ : 1 /* syn_out */) : 0;
		v->flags = i % 10 == 0 ? NAT_VIEW_STATIC : 0;
		v->in_addr = 0x0a000000u + i % 100 + 2;
		v->in_port = (uint16_t)(1000 + i);
		v->ext_addr = 0xc6336400u + i % 4;
		v->ext_port = (uint16_t)(1000 + i);
		v->rem_addr = 0xc0000200u + i % 7 + 1;
		v->rem_port = v->proto == 1 ? 0 : (uint16_t)(80 + i % 2);
		v->idle_s = i;
		v->timeout_s = 300;
	}
	for (i = 0; i < n_maps; i++) {
		struct nat_mapping_view *v = &f->maps[i];

		v->proto = i % 2 ? 17 : 6;
		v->flags = i == 0 ? (NAT_VIEW_STATIC | NAT_VIEW_MASQ) : 0;
		v->in_addr = 0x0a000000u + i % 100 + 2;
		v->in_port = (uint16_t)(2000 + i);
		v->ext_addr = 0xc6336400u + i % 4;
		v->ext_port = (uint16_t)(3000 + i);
		v->sessions = i;
		v->created_s = 1000;
		v->age_s = 5;
	}
	f->n_sess = n_sess;
	f->n_maps = n_maps;
	for (i = 0; i < NAT_CNT_COUNT; i++)
		f->st.counters[i] = 1000 + i;
	f->st.port[0].rx = 11;
	f->st.port[0].tx = 12;
	f->st.port[0].tx_drop = 13;
	f->st.port[1].rx = 21;
	f->st.port[1].tx = 22;
	f->st.port[1].tx_drop = 23;
	f->st.capacity = 65536;
	f->st.sessions_tcp = 7;
	f->st.sessions_udp = 8;
	f->st.sessions_icmp = 9;
	f->st.log_lines = 42;
}

static void fake_fini(struct fake *f)
{
	nat_config_free(f->cfg);
	free(f->sess);
	free(f->maps);
}

static struct nat_ctl_backend fake_backend(struct fake *f)
{
	struct nat_ctl_backend be = {
		.ctx = f,
		.sessions = fake_sessions,
		.mappings = fake_mappings,
		.stats = fake_stats,
		.rules = fake_rules,
		.config = fake_config,
		.rule_add = fake_rule_add,
		.rule_delete = fake_rule_delete,
		.set_timeout = fake_set_timeout,
		.workers = f->n_wk ? fake_workers : NULL,
	};
	return be;
}

#endif /* NCNAT_CTL_FAKE_H */
