/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat control commands: parse a request line, ask the backend, format the
 * answer (text or JSON).  The command set and the protocol are in nat_ctl.h;
 * the listings (show sessions / mappings, their filters) are in
 * nat_ctl_list.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ctl_int.h"

#define OUT(s, ...) nat_ctl_out_printf(&(s)->out, __VA_ARGS__)

/* ---- answers and values ---- */

void nat_ctl_reply_ok(struct nat_ctl_conn *s)
{
	OUT(s, "ok\n");
}

void nat_ctl_reply_err(struct nat_ctl_conn *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	char *c;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	OUT(s, "error: %s\n", msg[0] ? msg : "failed");
}

static int split(char *line, struct nat_ctl_words *ws)
{
	char *p = line;

	ws->n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return 0;
		if (ws->n == NAT_CTL_MAX_WORDS)
			return -E2BIG;
		ws->pos[ws->n] = (size_t)(p - line);
		ws->w[ws->n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
	}
}

bool nat_ctl_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s || strlen(s) > 19)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

/* ---- show stats / timeouts ---- */

static void json_counter_group(struct nat_ctl_conn *s, const struct nat_stats_view *sv,
			       const char *group, const char *prefix)
{
	size_t pl = strlen(prefix);
	bool first = true;
	int i;

	OUT(s, "\"%s\":{", group);
	for (i = 0; i < NAT_CNT_COUNT; i++) {
		const char *name = nat_counter_name(i);
		bool in2out = !strncmp(name, "in2out_", 7), out2in = !strncmp(name, "out2in_", 7),
		     drop = !strncmp(name, "drop_", 5);

		if (pl ? strncmp(name, prefix, pl) != 0 : (in2out || out2in || drop))
			continue;
		OUT(s, "%s\"%s\":%llu", first ? "" : ",", name + pl,
		    (unsigned long long)sv->counters[i]);
		first = false;
	}
	OUT(s, "}");
}

static void show_stats(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, bool json)
{
	static const char *const side[2] = {"inside", "outside"};
	struct nat_stats_view sv;
	int i, rc;

	memset(&sv, 0, sizeof(sv));
	rc = be->stats(be->ctx, &sv);
	if (rc) {
		nat_ctl_reply_err(s, "cannot read the counters: %s", strerror(-rc));
		return;
	}
	if (json) {
		/* counters nested by their names: direction, drop reason, events */
		OUT(s, "{\"counters\":{");
		json_counter_group(s, &sv, "in2out", "in2out_");
		OUT(s, ",");
		json_counter_group(s, &sv, "out2in", "out2in_");
		OUT(s, ",");
		json_counter_group(s, &sv, "drop", "drop_");
		OUT(s, ",");
		json_counter_group(s, &sv, "events", "");
		OUT(s, "},\"ports\":{");
		for (i = 0; i < 2; i++)
			OUT(s, "%s\"%s\":{\"rx\":%llu,\"tx\":%llu,\"tx_drop\":%llu}", i ? "," : "",
			    side[i], (unsigned long long)sv.port[i].rx,
			    (unsigned long long)sv.port[i].tx, (unsigned long long)sv.port[i].tx_drop);
		OUT(s, "},\"sessions\":{\"total\":%u,\"tcp\":%u,\"udp\":%u,\"icmp\":%u,\"capacity\":%u},"
		       "\"mappings\":%u,\"log_lines\":%llu}\n",
		    sv.sessions, sv.sessions_tcp, sv.sessions_udp, sv.sessions_icmp, sv.capacity,
		    sv.mappings, (unsigned long long)sv.log_lines);
	} else {
		for (i = 0; i < NAT_CNT_COUNT; i++)
			OUT(s, "%-28s %llu\n", nat_counter_name(i), (unsigned long long)sv.counters[i]);
		for (i = 0; i < 2; i++)
			OUT(s, "port %-7s rx %llu tx %llu tx_drop %llu\n", side[i],
			    (unsigned long long)sv.port[i].rx, (unsigned long long)sv.port[i].tx,
			    (unsigned long long)sv.port[i].tx_drop);
		OUT(s, "sessions %u (tcp %u udp %u icmp %u) of %u\n", sv.sessions, sv.sessions_tcp,
		    sv.sessions_udp, sv.sessions_icmp, sv.capacity);
		OUT(s, "mappings %u\n", sv.mappings);
		OUT(s, "log_lines %llu\n", (unsigned long long)sv.log_lines);
	}
	nat_ctl_reply_ok(s);
}

static void show_timeouts(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, bool json)
{
	const struct nat_config *c = be->config(be->ctx);
	uint32_t v[NAT_TIMEOUT_KINDS];
	int k;

	if (!c) {
		nat_ctl_reply_err(s, "no configuration");
		return;
	}
	v[NAT_TIMEOUT_UDP] = c->timeout_udp;
	v[NAT_TIMEOUT_TCP_EST] = c->timeout_tcp_est;
	v[NAT_TIMEOUT_TCP_TRANS] = c->timeout_tcp_trans;
	v[NAT_TIMEOUT_ICMP] = c->timeout_icmp;
	if (json)
		OUT(s, "{");
	for (k = 0; k < NAT_TIMEOUT_KINDS; k++) {
		if (json)
			OUT(s, "%s\"%s\":%u", k ? "," : "", nat_timeout_name((enum nat_timeout_kind)k),
			    v[k]);
		else
			OUT(s, "timeout %s %u\n", nat_timeout_name((enum nat_timeout_kind)k), v[k]);
	}
	if (json)
		OUT(s, "}\n");
	nat_ctl_reply_ok(s);
}

static void show_workers(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, bool json)
{
	struct nat_worker_view v;
	unsigned i;

	if (!be->workers) {
		nat_ctl_reply_err(s, "this NAT has no per-worker counters");
		return;
	}
	if (json)
		OUT(s, "[");
	else
		OUT(s, "%-6s %12s %12s %12s %12s %10s %10s %8s %12s %10s %9s %9s\n", "worker",
		    "rx_inside", "rx_outside", "tx_inside", "tx_outside", "handed_out", "handed_in",
		    "ho_drop", "translated", "dropped", "sessions", "mappings");
	for (i = 0; be->workers(be->ctx, i, &v) == 0; i++) {
		if (json)
			OUT(s, "%s{\"worker\":%u,\"inside\":{\"rx\":%llu,\"tx\":%llu,\"tx_drop\":%llu},"
			       "\"outside\":{\"rx\":%llu,\"tx\":%llu,\"tx_drop\":%llu},"
			       "\"handoff\":{\"out\":%llu,\"in\":%llu,\"drop\":%llu},"
			       "\"translated\":%llu,\"dropped\":%llu,\"sessions\":%u,\"mappings\":%u}",
			    i ? "," : "", i, (unsigned long long)v.port[0].rx,
			    (unsigned long long)v.port[0].tx, (unsigned long long)v.port[0].tx_drop,
			    (unsigned long long)v.port[1].rx, (unsigned long long)v.port[1].tx,
			    (unsigned long long)v.port[1].tx_drop, (unsigned long long)v.handoff_out,
			    (unsigned long long)v.handoff_in, (unsigned long long)v.handoff_drop,
			    (unsigned long long)v.translated, (unsigned long long)v.dropped,
			    v.sessions, v.mappings);
		else
			OUT(s, "%-6u %12llu %12llu %12llu %12llu %10llu %10llu %8llu %12llu %10llu %9u %9u\n",
			    i, (unsigned long long)v.port[0].rx, (unsigned long long)v.port[1].rx,
			    (unsigned long long)v.port[0].tx, (unsigned long long)v.port[1].tx,
			    (unsigned long long)v.handoff_out, (unsigned long long)v.handoff_in,
			    (unsigned long long)v.handoff_drop, (unsigned long long)v.translated,
			    (unsigned long long)v.dropped, v.sessions, v.mappings);
	}
	if (json)
		OUT(s, "]\n");
	else
		OUT(s, "%u workers\n", i);
	nat_ctl_reply_ok(s);
}

/* ---- show rules ---- */

struct rules_arg {
	struct nat_ctl_conn *s;
	bool json;
	unsigned n;
};

static int emit_rule(void *arg, unsigned idx, const struct nat_rule *r)
{
	struct rules_arg *a = arg;
	char text[256];

	nat_config_format_rule(r, text, sizeof(text));
	if (a->json)
		OUT(a->s, "%s{\"n\":%u,\"action\":\"%s\",\"rule\":\"%s\"}", a->n ? ",\n" : "\n",
		    idx + 1, nat_action_name(r->action), text);
	else
		OUT(a->s, "%u %s\n", idx + 1, text);
	a->n++;
	return 0;
}

static void show_rules(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, bool json)
{
	struct rules_arg a = {.s = s, .json = json, .n = 0};
	int rc;

	if (json)
		OUT(s, "{\"rules\":[");
	rc = be->rules(be->ctx, emit_rule, &a);
	if (rc) {
		nat_ctl_reply_err(s, "cannot list the rules: %s", strerror(-rc));
		return;
	}
	if (json)
		OUT(s, "\n],\"count\":%u}\n", a.n);
	nat_ctl_reply_ok(s);
}

/* ---- changes ---- */

static bool rule_number(struct nat_ctl_conn *s, const char *w, uint32_t max, uint32_t *n)
{
	uint64_t v;

	if (!nat_ctl_parse_uint(w, UINT32_MAX, &v) || v == 0 || v > max) {
		if (max)
			nat_ctl_reply_err(s, "bad rule number '%s' (expected 1..%u)", w, max);
		else
			nat_ctl_reply_err(s, "bad rule number '%s' (there are no rules)", w);
		return false;
	}
	*n = (uint32_t)v;
	return true;
}

static void add_rule(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, const char *line,
		     const struct nat_ctl_words *ws, bool is_static)
{
	const struct nat_config *cfg = be->config(be->ctx);
	char err[256], text[256], *buf = NULL;
	const char *rule;
	struct nat_rule r;
	uint32_t at;
	int i = 2, rc;

	if (!cfg) {
		nat_ctl_reply_err(s, "no configuration");
		return;
	}
	at = cfg->n_rules + 1;
	if (!is_static && i < ws->n && !strcmp(ws->w[i], "at")) {
		if (i + 1 >= ws->n) {
			nat_ctl_reply_err(s, "'at' needs a rule number");
			return;
		}
		if (!rule_number(s, ws->w[i + 1], cfg->n_rules + 1, &at))
			return;
		i += 2;
	}
	if (i >= ws->n) {
		nat_ctl_reply_err(s, is_static ? "add static needs 'dst ADDR proto tcp|udp dport N to ADDR[:PORT]'"
				       : "add rule needs a rule, e.g. 'add rule snat src 10.0.0.0/24'");
		return;
	}
	rule = line + ws->pos[i];
	if (is_static) {
		size_t n = strlen(rule) + 6;

		buf = malloc(n);
		if (!buf) {
			nat_ctl_reply_err(s, "out of memory");
			return;
		}
		snprintf(buf, n, "dnat %s", rule);
		rule = buf;
	}
	/* everything is checked before anything changes: the parser against
	 * the configuration, then the backend against the live state */
	rc = nat_config_parse_rule(rule, cfg, &r, err, sizeof(err));
	free(buf);
	if (rc) {
		nat_ctl_reply_err(s, "%s", rc == -EINVAL ? err : strerror(-rc));
		return;
	}
	rc = be->rule_add(be->ctx, at - 1, &r, err, sizeof(err));
	if (rc) {
		nat_ctl_reply_err(s, "%s", err[0] ? err : strerror(-rc));
		return;
	}
	nat_config_format_rule(&r, text, sizeof(text));
	OUT(s, "rule %u: %s\n", at, text);
	nat_ctl_reply_ok(s);
}

static void delete_rule(const struct nat_ctl_backend *be, struct nat_ctl_conn *s,
			const struct nat_ctl_words *ws, bool is_static)
{
	const struct nat_config *cfg = be->config(be->ctx);
	char err[256], text[256];
	uint32_t n;
	int rc;

	if (!cfg) {
		nat_ctl_reply_err(s, "no configuration");
		return;
	}
	if (ws->n != 3) {
		nat_ctl_reply_err(s, "expected 'delete %s N' (N as 'show rules' numbers them)",
			  is_static ? "static" : "rule");
		return;
	}
	if (!rule_number(s, ws->w[2], cfg->n_rules, &n))
		return;
	if (is_static && cfg->rules[n - 1].action != NAT_ACT_DNAT) {
		nat_ctl_reply_err(s, "rule %u is not a static (dnat) rule", n);
		return;
	}
	nat_config_format_rule(&cfg->rules[n - 1], text, sizeof(text));
	err[0] = 0;
	rc = be->rule_delete(be->ctx, n - 1, err, sizeof(err));
	if (rc) {
		nat_ctl_reply_err(s, "%s", err[0] ? err : strerror(-rc));
		return;
	}
	OUT(s, "deleted rule %u: %s\n", n, text);
	nat_ctl_reply_ok(s);
}

static void set_timeout(const struct nat_ctl_backend *be, struct nat_ctl_conn *s,
			const char *line, const struct nat_ctl_words *ws)
{
	enum nat_timeout_kind k;
	char err[256];
	uint32_t secs;
	int rc;

	if (ws->n < 3 || strcmp(ws->w[1], "timeout") != 0) {
		nat_ctl_reply_err(s, "expected 'set timeout udp|tcp-established|tcp-transitory|icmp SECONDS'");
		return;
	}
	rc = nat_config_parse_timeout(line + ws->pos[2], &k, &secs, err, sizeof(err));
	if (rc) {
		nat_ctl_reply_err(s, "%s", err);
		return;
	}
	err[0] = 0;
	rc = be->set_timeout(be->ctx, k, secs, err, sizeof(err));
	if (rc) {
		nat_ctl_reply_err(s, "%s", err[0] ? err : strerror(-rc));
		return;
	}
	OUT(s, "timeout %s %u\n", nat_timeout_name(k), secs);
	nat_ctl_reply_ok(s);
}

static void help(struct nat_ctl_conn *s)
{
	OUT(s, "show stats [json]\n"
	       "show sessions [FILTER...] [json]\n"
	       "show mappings [FILTER...] [json]\n"
	       "show rules [json]\n"
	       "show timeouts [json]\n"
	       "show workers [json]\n"
	       "add rule [at N] RULE          RULE as in the config file: snat|masquerade|bypass|drop|dnat ...\n"
	       "delete rule N                 N as 'show rules' numbers them\n"
	       "add static dst A proto tcp|udp dport N to B[:P]   (= add rule dnat ...)\n"
	       "delete static N               (= delete rule N, a dnat rule)\n"
	       "set timeout udp|tcp-established|tcp-transitory|icmp SECONDS\n"
	       "help\n"
	       "quit\n"
	       "FILTER: proto tcp|udp|icmp|N  inside A[/LEN]  outside A[/LEN]  remote A[/LEN]\n"
	       "        port N  state NAME  static  dynamic  limit N\n"
	       "        (remote and state: sessions only; port: any of the entry's ports)\n");
	nat_ctl_reply_ok(s);
}

/* "show X [json]" with nothing else */
static bool only_json(struct nat_ctl_conn *s, const struct nat_ctl_words *ws, bool *json)
{
	*json = ws->n == 3 && !strcmp(ws->w[2], "json");
	if (ws->n > 3 || (ws->n == 3 && !*json)) {
		nat_ctl_reply_err(s, "unexpected '%s' (expected 'show %s [json]')",
			  ws->w[strcmp(ws->w[2], "json") ? 2 : 3], ws->w[1]);
		return false;
	}
	return true;
}

bool nat_ctl_cmd_handle(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, char *line)
{
	char *copy;
	struct nat_ctl_words ws;
	const char *cmd, *sub;
	bool json;
	int rc;

	copy = strdup(line);  /* split() cuts its argument; rules need the line */
	if (!copy) {
		nat_ctl_reply_err(s, "out of memory");
		return true;
	}
	rc = split(copy, &ws);
	if (rc == 0 && ws.n == 0) {
		free(copy);
		return false;
	}
	if (rc) {
		nat_ctl_reply_err(s, "too many words (at most %d)", NAT_CTL_MAX_WORDS);
		goto out;
	}
	cmd = ws.w[0];
	sub = ws.n > 1 ? ws.w[1] : "";
	if (!strcmp(cmd, "help") && ws.n == 1) {
		help(s);
	} else if (!strcmp(cmd, "quit") && ws.n == 1) {
		nat_ctl_reply_ok(s);
		s->quit = true;
	} else if (!strcmp(cmd, "show")) {
		if (!strcmp(sub, "stats")) {
			if (only_json(s, &ws, &json))
				show_stats(be, s, json);
		} else if (!strcmp(sub, "rules")) {
			if (only_json(s, &ws, &json))
				show_rules(be, s, json);
		} else if (!strcmp(sub, "timeouts")) {
			if (only_json(s, &ws, &json))
				show_timeouts(be, s, json);
		} else if (!strcmp(sub, "workers")) {
			if (only_json(s, &ws, &json))
				show_workers(be, s, json);
		} else if (!strcmp(sub, "sessions") || !strcmp(sub, "mappings")) {
			bool sess = !strcmp(sub, "sessions");

			nat_ctl_list_start(s, &ws, 2, sess);
		} else {
			nat_ctl_reply_err(s, "show what? (stats, sessions, mappings, rules, timeouts, workers)");
		}
	} else if (!strcmp(cmd, "add") && (!strcmp(sub, "rule") || !strcmp(sub, "static"))) {
		add_rule(be, s, line, &ws, !strcmp(sub, "static"));
	} else if (!strcmp(cmd, "delete") && (!strcmp(sub, "rule") || !strcmp(sub, "static"))) {
		delete_rule(be, s, &ws, !strcmp(sub, "static"));
	} else if (!strcmp(cmd, "set")) {
		set_timeout(be, s, line, &ws);
	} else if (!strcmp(cmd, "add") || !strcmp(cmd, "delete")) {
		nat_ctl_reply_err(s, "%s what? (rule, static)", cmd);
	} else {
		nat_ctl_reply_err(s, "unknown command '%.64s' (try 'help')", cmd);
	}
out:
	free(copy);
	return true;
}
