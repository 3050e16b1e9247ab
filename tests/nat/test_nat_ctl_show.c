/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl: the show commands against a fake backend (nat_ctl_exec): stats,
 * workers, rules, timeouts, sessions and mappings, as text and as JSON,
 * every filter checked against the fake's own count of what it should
 * match, limits and truncation.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ctl.h"
#include "nat_ctl_fake.h"
#include "nat_tcp.h"
#include "test_nat_ctl_util.h"

Test(nat_ctl, show_stats_text)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out, want[96];
	int i;

	fake_init(&f, 3, 2);
	be = fake_backend(&f);
	out = ok(&be, "show stats");
	for (i = 0; i < NAT_CNT_COUNT; i++) {
		snprintf(want, sizeof(want), "%-28s %d\n", nat_counter_name(i), 1000 + i);
		cr_assert_not_null(strstr(out, want), "no '%s' in %s", want, out);
	}
	cr_assert_not_null(strstr(out, "port inside  rx 11 tx 12 tx_drop 13\n"), "%s", out);
	cr_assert_not_null(strstr(out, "port outside rx 21 tx 22 tx_drop 23\n"), "%s", out);
	cr_assert_not_null(strstr(out, "sessions 3 (tcp 7 udp 8 icmp 9) of 65536\n"), "%s", out);
	cr_assert_not_null(strstr(out, "mappings 2\n"), "%s", out);
	cr_assert_eq(lines(out), NAT_CNT_COUNT + 2 + 3 + 1);
	free(out);
	fake_fini(&f);
}

Test(nat_ctl, show_stats_json)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out, want[96];
	int i;

	fake_init(&f, 3, 2);
	be = fake_backend(&f);
	out = ok(&be, "show stats json");
	check_json(out);
	/* every counter once, in its group, under its name without the prefix */
	for (i = 0; i < NAT_CNT_COUNT; i++) {
		const char *n = nat_counter_name(i);
		const char *key = !strncmp(n, "in2out_", 7) || !strncmp(n, "out2in_", 7) ? n + 7
				  : !strncmp(n, "drop_", 5) ? n + 5 : n;

		snprintf(want, sizeof(want), "\"%s\":%d", key, 1000 + i);
		cr_assert_eq(count(out, want), 1, "'%s' in %s", want, out);
	}
	cr_assert_not_null(strstr(out, "{\"counters\":{\"in2out\":{\"pkts\":1000,"));
	cr_assert_not_null(strstr(out, "\"drop\":{\"parse\":"));
	cr_assert_not_null(strstr(out, "\"events\":{\"hairpin_pkts\":"));
	cr_assert_not_null(strstr(out, "\"inside\":{\"rx\":11,\"tx\":12,\"tx_drop\":13}"));
	cr_assert_not_null(strstr(out, "\"sessions\":{\"total\":3,\"tcp\":7,\"udp\":8,\"icmp\":9,\"capacity\":65536}"));
	cr_assert_not_null(strstr(out, "\"mappings\":2,\"log_lines\":42}"));
	free(out);
	out = fails(&be, "show stats xml");
	free(out);
	out = fails(&be, "show stats json json");
	free(out);
	fake_fini(&f);
}

Test(nat_ctl, show_workers)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;
	unsigned i;

	fake_init(&f, 3, 2);
	be = fake_backend(&f);
	out = fails(&be, "show workers"); /* a backend without the op */
	cr_assert_str_eq(out, "error: this NAT has no per-worker counters\n");
	free(out);
	f.n_wk = 3;
	for (i = 0; i < 3; i++) {
		f.wk[i].port[0].rx = 100 + i;
		f.wk[i].port[1].rx = 200 + i;
		f.wk[i].port[0].tx = 300 + i;
		f.wk[i].port[1].tx = 400 + i;
		f.wk[i].handoff_out = 10 + i;
		f.wk[i].handoff_in = 20 + i;
		f.wk[i].handoff_drop = i;
		f.wk[i].translated = 5000 + i;
		f.wk[i].dropped = 60 + i;
		f.wk[i].sessions = 70 + i;
		f.wk[i].mappings = 80 + i;
	}
	be = fake_backend(&f);
	out = ok(&be, "show workers");
	cr_assert_eq(lines(out), 1 + 3 + 1 + 1, "%s", out); /* header, workers, total, ok */
	cr_assert(strstr(out, "worker") == out, "%s", out);
	for (i = 0; i < 3; i++) {
		char want[160];

		snprintf(want, sizeof(want),
			 "\n%-6u %12u %12u %12u %12u %10u %10u %8u %12u %10u %9u %9u\n", i, 100 + i,
			 200 + i, 300 + i, 400 + i, 10 + i, 20 + i, i, 5000 + i, 60 + i, 70 + i, 80 + i);
		cr_assert_not_null(strstr(out, want), "no '%s' in %s", want + 1, out);
	}
	cr_assert_not_null(strstr(out, "\n3 workers\nok\n"), "%s", out);
	free(out);
	out = ok(&be, "show workers json");
	check_json(out);
	cr_assert_not_null(strstr(out, "[{\"worker\":0,\"inside\":{\"rx\":100,\"tx\":300,\"tx_drop\":0},"
				       "\"outside\":{\"rx\":200,\"tx\":400,\"tx_drop\":0},"
				       "\"handoff\":{\"out\":10,\"in\":20,\"drop\":0},"
				       "\"translated\":5000,\"dropped\":60,\"sessions\":70,\"mappings\":80},"),
			  "%s", out);
	cr_assert_eq(count(out, "\"worker\":"), 3);
	free(out);
	out = fails(&be, "show workers now");
	free(out);
	fake_fini(&f);
}

Test(nat_ctl, show_rules_and_timeouts)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	ok_is(&be, "show rules",
	      "1 drop src 10.0.0.66\n"
	      "2 snat src 10.0.0.0/25\n"
	      "3 masquerade src 10.0.0.128/25 proto udp dport 53-60\n"
	      "4 dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
	      "ok\n");
	out = ok(&be, "show rules json");
	check_json(out);
	cr_assert_not_null(strstr(out, "{\"n\":2,\"action\":\"snat\",\"rule\":\"snat src 10.0.0.0/25\"}"));
	cr_assert_not_null(strstr(out, "\"count\":4}"));
	free(out);
	ok_is(&be, "show timeouts",
	      "timeout udp 300\ntimeout tcp-established 7440\n"
	      "timeout tcp-transitory 240\ntimeout icmp 60\nok\n");
	out = ok(&be, "show timeouts json");
	check_json(out);
	cr_assert_str_eq(out, "{\"udp\":300,\"tcp-established\":7440,\"tcp-transitory\":240,\"icmp\":60}\nok\n");
	free(out);
	fake_fini(&f);
}

/* expected matches of a filter over the fake's sessions */
typedef bool (*sess_pred)(const struct nat_session_view *v);

static unsigned expect_sessions(const struct fake *f, sess_pred p)
{
	unsigned n = 0, i;

	for (i = 0; i < f->n_sess; i++)
		n += p(&f->sess[i]);
	return n;
}

static bool p_all(const struct nat_session_view *v) { (void)v; return true; }
static bool p_tcp(const struct nat_session_view *v) { return v->proto == 6; }
static bool p_icmp(const struct nat_session_view *v) { return v->proto == 1; }
static bool p_udp(const struct nat_session_view *v) { return v->proto == 17; }
static bool p_in_host(const struct nat_session_view *v) { return v->in_addr == 0x0a000002u; }
static bool p_in_28(const struct nat_session_view *v) { return (v->in_addr >> 4) == 0x0a00000u; }
static bool p_out_1(const struct nat_session_view *v) { return v->ext_addr == 0xc6336401u; }
static bool p_rem_30(const struct nat_session_view *v) { return (v->rem_addr >> 2) == (0xc0000200u >> 2); }
static bool p_port_80(const struct nat_session_view *v)
{
	return v->in_port == 80 || v->ext_port == 80 || v->rem_port == 80;
}
static bool p_port_1007(const struct nat_session_view *v)
{
	return v->in_port == 1007 || v->ext_port == 1007 || v->rem_port == 1007;
}
static bool p_est(const struct nat_session_view *v)
{
	return v->proto == 6 && v->tcp_state == NAT_TCP_ESTABLISHED;
}
static bool p_static(const struct nat_session_view *v) { return v->flags & NAT_VIEW_STATIC; }
static bool p_dynamic(const struct nat_session_view *v) { return !(v->flags & NAT_VIEW_STATIC); }
static bool p_combo(const struct nat_session_view *v)
{
	return v->proto == 17 && v->rem_addr == 0xc0000201u && v->in_addr <= 0x0a00003fu;
}

Test(nat_ctl, show_sessions_filters)
{
	static const struct {
		const char *req;
		sess_pred p;
	} cases[] = {
		{"show sessions", p_all},
		{"show sessions proto tcp", p_tcp},
		{"show sessions proto icmp", p_icmp},
		{"show sessions proto 17", p_udp},
		{"show sessions inside 10.0.0.2", p_in_host},
		{"show sessions inside 10.0.0.0/28", p_in_28},
		{"show sessions inside 10.0.0.7/28", p_in_28}, /* host bits ignored */
		{"show sessions outside 198.51.100.1/32", p_out_1},
		{"show sessions remote 192.0.2.0/30", p_rem_30},
		{"show sessions port 80", p_port_80},
		{"show sessions port 1007", p_port_1007},
		{"show sessions state established", p_est},
		{"show sessions proto tcp state established", p_est},
		{"show sessions static", p_static},
		{"show sessions dynamic", p_dynamic},
		{"show sessions remote 192.0.2.1 proto udp inside 10.0.0.0/26", p_combo},
	};
	struct fake f;
	struct nat_ctl_backend be;
	unsigned i;

	fake_init(&f, 120, 0);
	f.holes = 2; /* dead slots between the live ones */
	be = fake_backend(&f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned want = expect_sessions(&f, cases[i].p);
		char req[160], *out = ok(&be, cases[i].req), *js;

		cr_assert(want > 0, "%s: the case matches nothing", cases[i].req);
		cr_assert_eq(shown(out), want, "%s: %s", cases[i].req, out);
		cr_assert_eq(lines(out), want + 3, "%s: %s", cases[i].req, out); /* header, total, ok */
		cr_assert_not_null(strstr(out, ", 120 in the table\nok\n"), "%s", out);
		free(out);
		snprintf(req, sizeof(req), "%s json", cases[i].req);
		js = ok(&be, req);
		check_json(js);
		cr_assert_eq(count(js, "{\"proto\":"), want, "%s: %s", req, js);
		snprintf(req, sizeof(req), "],\"shown\":%u,\"total\":120,\"truncated\":false}\nok\n", want);
		cr_assert_not_null(strstr(js, req), "%s", js);
		free(js);
	}
	fake_fini(&f);
}

Test(nat_ctl, show_sessions_format_and_limit)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;

	fake_init(&f, 30, 0);
	be = fake_backend(&f);
	out = ok(&be, "show sessions limit 1");
	cr_assert_str_eq(out,
			 "proto inside                outside               remote                state          idle timeout flags\n"
			 "tcp   10.0.0.2:1000         198.51.100.0:1000     192.0.2.1:80          established       0     300 static\n"
			 "1 sessions shown (limit reached), 30 in the table\n"
			 "ok\n");
	free(out);
	out = ok(&be, "show sessions proto icmp limit 1 json");
	cr_assert_str_eq(out,
			 "{\"sessions\":[\n"
			 "{\"proto\":\"icmp\",\"inside\":\"10.0.0.4\",\"in_port\":1002,\"outside\":\"198.51.100.2\",\"ext_port\":1002,"
			 "\"remote\":\"192.0.2.3\",\"rem_port\":0,\"state\":\"-\",\"idle\":2,\"timeout\":300,\"static\":false,\"masq\":false}\n"
			 "],\"shown\":1,\"total\":30,\"truncated\":true}\n"
			 "ok\n");
	free(out);
	ok_shown(&be, "show sessions limit 7 proto udp", 7);
	out = ok(&be, "show sessions limit 1000");
	cr_assert_eq(shown(out), 30);
	cr_assert_null(strstr(out, "limit reached"));
	free(out);
	/* nothing matches: an empty list is still valid JSON */
	out = ok(&be, "show sessions inside 10.9.9.9 json");
	cr_assert_str_eq(out, "{\"sessions\":[\n],\"shown\":0,\"total\":30,\"truncated\":false}\nok\n");
	check_json(out);
	free(out);
	fake_fini(&f);
}

Test(nat_ctl, show_mappings)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;

	fake_init(&f, 0, 10);
	be = fake_backend(&f);
	out = ok(&be, "show mappings");
	cr_assert_eq(shown(out), 10);
	cr_assert_not_null(strstr(out, "tcp   10.0.0.2:2000         198.51.100.0:3000            0        5 static,masq\n"),
			   "%s", out);
	free(out);
	ok_shown(&be, "show mappings proto udp", 5);
	ok_shown(&be, "show mappings static", 1);
	ok_shown(&be, "show mappings dynamic inside 10.0.0.0/29", 5); /* i = 1..5 */
	ok_shown(&be, "show mappings port 3003", 1);
	out = ok(&be, "show mappings outside 198.51.100.2 json limit 2");
	check_json(out);
	cr_assert_eq(count(out, "{\"proto\""), 2);
	cr_assert_not_null(strstr(out, "\"sessions\":2,\"age\":5,\"created\":1000,\"static\":false,\"masq\":false}"));
	cr_assert_not_null(strstr(out, "\"truncated\":true}"));
	free(out);
	out = fails(&be, "show mappings remote 192.0.2.1");
	cr_assert(strstr(out, "unknown filter 'remote'"), "%s", out);
	free(out);
	out = fails(&be, "show mappings state established");
	free(out);
	fake_fini(&f);
}

