/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl: the control server against a fake backend.  First the commands
 * (nat_ctl_exec: every command, every filter, JSON validity, errors and
 * all-or-nothing changes), then the server over real unix sockets in this
 * process (socket file, several requests and clients, oversize and bad
 * requests, a client that never reads, limits, the peer check).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json_check.h"
#include "nat_ctl.h"
#include "nat_ctl_fake.h"
#include "nat_tcp.h"

/* ---- helpers ---- */

static char *run(const struct nat_ctl_backend *be, const char *req, int *rc)
{
	char *out = NULL;

	*rc = nat_ctl_exec(be, req, &out, NULL);
	cr_assert_not_null(out, "no answer to '%s'", req);
	return out;
}

static char *ok(const struct nat_ctl_backend *be, const char *req)
{
	int rc;
	char *out = run(be, req, &rc);
	size_t n = strlen(out);

	cr_assert_eq(rc, 0, "'%s' failed: %s", req, out);
	cr_assert(n >= 3 && !strcmp(out + n - 3, "ok\n"), "'%s': no ok at the end: %s", req, out);
	return out;
}

/* The error line of a failing request; checks it is the whole answer. */
static char *fails(const struct nat_ctl_backend *be, const char *req)
{
	int rc;
	char *out = run(be, req, &rc);

	cr_assert_eq(rc, -EINVAL, "'%s' did not fail: %s", req, out);
	cr_assert(!strncmp(out, "error: ", 7), "'%s': %s", req, out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "'%s': more than one line: %s", req,
		     out);
	return out;
}

/* The answer without its terminator line. */
static char *body(const char *ans)
{
	size_t n = strlen(ans);
	char *b;

	while (n && ans[n - 1] == '\n')
		n--;
	while (n && ans[n - 1] != '\n')
		n--;
	b = strndup(ans, n);
	cr_assert_not_null(b);
	return b;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Occurrences of needle (not with strstr: sanitizers make each call O(strlen)). */
static unsigned count(const char *s, const char *needle)
{
	size_t len = strlen(needle);
	unsigned n = 0;

	for (; *s; s++) {
		if (*s == *needle && !strncmp(s, needle, len)) {
			n++;
			s += len - 1;
		}
	}
	return n;
}

/* "N sessions shown" / "N mappings shown" of a text listing */
static unsigned shown(const char *ans)
{
	const char *p = strstr(ans, " shown");
	const char *q;

	cr_assert_not_null(p, "no total line: %s", ans);
	q = p;
	while (q > ans && q[-1] != '\n')
		q--;
	return (unsigned)strtoul(q, NULL, 10);
}

static void check_json(const char *ans)
{
	char *b = body(ans);

	cr_assert(json_valid(b), "not JSON: %s", b);
	free(b);
}

/* ---- commands ---- */

Test(nat_ctl, bad_arguments)
{
	struct fake f;
	struct nat_ctl_backend be, be2;
	struct nat_ctl *c = (void *)1;
	struct nat_ctl_limits l;
	char *out = (void *)1, longp[200];

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_exec(NULL, "help", &out, NULL), -EINVAL);
	cr_assert_null(out);
	cr_assert_eq(nat_ctl_exec(&be, NULL, &out, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_exec(&be, "help", NULL, NULL), -EINVAL);
	be2 = be;
	be2.set_timeout = NULL;
	cr_assert_eq(nat_ctl_exec(&be2, "help", &out, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_create(NULL, &be, &c), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(nat_ctl_create("/tmp/x", NULL, &c), -EINVAL);
	cr_assert_eq(nat_ctl_create("/tmp/x", &be, NULL), -EINVAL);
	cr_assert_eq(nat_ctl_create("/tmp/x", &be2, &c), -EINVAL);
	cr_assert_eq(nat_ctl_create("", &be, &c), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	cr_assert_eq(nat_ctl_create(longp, &be, &c), -ENAMETOOLONG);
	cr_assert_eq(nat_ctl_poll(NULL), -EINVAL);
	cr_assert_eq(nat_ctl_clients(NULL), 0);
	nat_ctl_default_limits(&l);
	cr_assert_eq(nat_ctl_set_limits(NULL, &l), -EINVAL);
	nat_ctl_free(NULL);
	/* a second request in one exec, and an empty one */
	out = fails(&be, "help\nhelp");
	free(out);
	out = fails(&be, "   ");
	cr_assert_str_eq(out, "error: empty request\n");
	free(out);
	fake_fini(&f);
}

Test(nat_ctl, help)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	out = ok(&be, "help");
	cr_assert(strstr(out, "show sessions") && strstr(out, "add rule") &&
		  strstr(out, "set timeout"), "%s", out);
	cr_assert_eq(count(out, "\nok\n"), 1);
	free(out);
	out = ok(&be, "quit");
	cr_assert_str_eq(out, "ok\n");
	free(out);
	fake_fini(&f);
}

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
	out = ok(&be, "show rules");
	cr_assert_str_eq(out, "1 drop src 10.0.0.66\n"
			      "2 snat src 10.0.0.0/25\n"
			      "3 masquerade src 10.0.0.128/25 proto udp dport 53-60\n"
			      "4 dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
			      "ok\n");
	free(out);
	out = ok(&be, "show rules json");
	check_json(out);
	cr_assert_not_null(strstr(out, "{\"n\":2,\"action\":\"snat\",\"rule\":\"snat src 10.0.0.0/25\"}"));
	cr_assert_not_null(strstr(out, "\"count\":4}"));
	free(out);
	out = ok(&be, "show timeouts");
	cr_assert_str_eq(out, "timeout udp 300\ntimeout tcp-established 7440\n"
			      "timeout tcp-transitory 240\ntimeout icmp 60\nok\n");
	free(out);
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
	out = ok(&be, "show sessions limit 7 proto udp");
	cr_assert_eq(shown(out), 7);
	free(out);
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
	out = ok(&be, "show mappings proto udp");
	cr_assert_eq(shown(out), 5);
	free(out);
	out = ok(&be, "show mappings static");
	cr_assert_eq(shown(out), 1);
	free(out);
	out = ok(&be, "show mappings dynamic inside 10.0.0.0/29");
	cr_assert_eq(shown(out), 5); /* i = 1..5 */
	free(out);
	out = ok(&be, "show mappings port 3003");
	cr_assert_eq(shown(out), 1);
	free(out);
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

Test(nat_ctl, bad_requests)
{
	static const char *const reqs[] = {
		"frobnicate", "show", "show everything", "show sessions proto xyz",
		"show sessions proto 256", "show sessions inside", "show sessions inside 10.0.0",
		"show sessions inside 10.0.0.0/33", "show sessions outside ::1", "show sessions port 65536",
		"show sessions port -1", "show sessions state open", "show sessions limit 0",
		"show sessions limit x", "show sessions proto tcp proto udp", "show sessions json json",
		"show sessions static dynamic", "show sessions proto udp state established",
		"show sessions colour red", "show rules 1", "show timeouts all", "add", "add rule",
		"add route 1", "add rule at", "add rule at 0 drop", "add rule at 6 drop",
		"add rule at x drop", "add rule frob src 1.2.3.4", "add rule snat src 10.0.0.0/33",
		"add rule snat to 1.2.3.4", "add rule drop sport 80",
		"add rule dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.81",
		"add rule dnat dst 203.0.113.1 proto tcp dport 8081 to 10.0.0.80:80",
		"add rule dnat dst 192.0.2.9 proto tcp dport 1 to 10.0.0.5",
		"add rule dnat dst 203.0.113.1 proto tcp dport 9 to 198.51.100.1",
		"add static dst 203.0.113.1 proto udp dport 53", "add static",
		"delete", "delete rule", "delete rule 0", "delete rule 5", "delete rule 1 2",
		"delete rule one", "delete static 1", "delete static", "set", "set timeout",
		"set timeout udp", "set timeout udp 119", "set timeout tcp-established 7439",
		"set timeout tcp-transitory 239", "set timeout icmp 59", "set timeout udp 604801",
		"set timeout sctp 500", "set timeout udp 300 more", "set timeout udp x",
		"set timeouts udp 300", "help me", "quit now",
		"a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8",
	};
	struct fake f;
	struct nat_ctl_backend be;
	char *before, *after;
	unsigned i;

	fake_init(&f, 5, 5);
	be = fake_backend(&f);
	before = ok(&be, "show rules");
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		free(fails(&be, reqs[i]));
	/* none of them reached a change */
	cr_assert_eq(f.n_rule_add + f.n_rule_delete + f.n_set_timeout, 0);
	after = ok(&be, "show rules");
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	fake_fini(&f);
}

Test(nat_ctl, error_texts)
{
	static const struct {
		const char *req, *err;
	} cases[] = {
		{"frob", "error: unknown command 'frob' (try 'help')\n"},
		{"add rule snat src 10.0.0.0/33", "error: bad src '10.0.0.0/33': "},
		{"add rule dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.81",
		 "error: dnat duplicates rule 4\n"},
		{"set timeout udp 60", "error: timeout udp 60 is below the RFC 4787 minimum of 120 seconds\n"},
		{"set timeout tcp-established 7000",
		 "error: timeout tcp-established 7000 is below the RFC 5382 minimum of 7440 seconds\n"},
		{"set timeout icmp 10", "error: timeout icmp 10 is below the RFC 5508 minimum of 60 seconds\n"},
		{"delete rule 9", "error: bad rule number '9' (expected 1..4)\n"},
		{"delete static 1", "error: rule 1 is not a static (dnat) rule\n"},
		{"show sessions limit 0", "error: bad limit '0' (expected 1..4294967295)\n"},
	};
	struct fake f;
	struct nat_ctl_backend be;
	unsigned i;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = fails(&be, cases[i].req);

		cr_assert(!strncmp(out, cases[i].err, strlen(cases[i].err)), "%s: '%s', want '%s'",
			  cases[i].req, out, cases[i].err);
		free(out);
	}
	fake_fini(&f);
}

Test(nat_ctl, add_and_delete_rules)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *out;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	out = ok(&be, "add rule at 1 bypass src 10.0.0.0/24 dst 10.1.0.0/16");
	cr_assert_str_eq(out, "rule 1: bypass src 10.0.0.0/24 dst 10.1.0.0/16\nok\n");
	cr_assert_eq(f.last_at, 0);
	cr_assert_eq(f.last_rule.action, NAT_ACT_BYPASS);
	free(out);
	out = ok(&be, "add rule   masquerade   src 10.0.1.0-10.0.1.9 # a comment");
	cr_assert_str_eq(out, "rule 6: masquerade src 10.0.1.0-10.0.1.9\nok\n");
	cr_assert_eq(f.last_at, 5);
	free(out);
	out = ok(&be, "add rule at 7 drop proto 47");
	cr_assert_str_eq(out, "rule 7: drop proto 47\nok\n");
	free(out);
	out = ok(&be, "add static dst 198.51.100.2 proto udp dport 53 to 10.0.0.53");
	cr_assert_str_eq(out, "rule 8: dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\nok\n");
	cr_assert_eq(f.last_rule.action, NAT_ACT_DNAT);
	cr_assert_eq(f.last_rule.to_port, 53);
	free(out);
	out = ok(&be, "show rules");
	cr_assert_str_eq(out, "1 bypass src 10.0.0.0/24 dst 10.1.0.0/16\n"
			      "2 drop src 10.0.0.66\n"
			      "3 snat src 10.0.0.0/25\n"
			      "4 masquerade src 10.0.0.128/25 proto udp dport 53-60\n"
			      "5 dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
			      "6 masquerade src 10.0.1.0-10.0.1.9\n"
			      "7 drop proto 47\n"
			      "8 dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\n"
			      "ok\n");
	free(out);
	out = ok(&be, "delete rule 2");
	cr_assert_str_eq(out, "deleted rule 2: drop src 10.0.0.66\nok\n");
	cr_assert_eq(f.last_at, 1);
	free(out);
	out = ok(&be, "delete static 7");
	cr_assert_str_eq(out, "deleted rule 7: dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\nok\n");
	free(out);
	cr_assert_eq(f.cfg->n_rules, 6);
	cr_assert_eq(f.n_rule_add, 4);
	cr_assert_eq(f.n_rule_delete, 2);
	fake_fini(&f);
}

Test(nat_ctl, rejected_changes_change_nothing)
{
	struct fake f;
	struct nat_ctl_backend be;
	char *before, *after, *out;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	before = ok(&be, "show rules");
	/* refused by the parser: the backend is not even asked */
	free(fails(&be, "add rule at 2 snat src 10.0.0.0/24 frob 1"));
	free(fails(&be, "add static dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.9"));
	cr_assert_eq(f.n_rule_add, 0);
	/* refused by the backend: its message, nothing changed */
	f.fail_change = -EBUSY;
	out = fails(&be, "add rule drop src 10.0.0.99");
	cr_assert_str_eq(out, "error: fake refuses\n");
	free(out);
	free(fails(&be, "delete rule 1"));
	out = fails(&be, "set timeout udp 600");
	cr_assert_str_eq(out, "error: fake refuses\n");
	free(out);
	cr_assert_eq(f.n_rule_add, 1);
	cr_assert_eq(f.n_rule_delete, 1);
	after = ok(&be, "show rules");
	cr_assert_str_eq(before, after);
	free(after);
	out = ok(&be, "show timeouts");
	cr_assert_not_null(strstr(out, "timeout udp 300\n"));
	free(out);
	/* and once allowed, the same requests go through */
	f.fail_change = 0;
	out = ok(&be, "set timeout udp 600");
	cr_assert_str_eq(out, "timeout udp 600\nok\n");
	free(out);
	out = ok(&be, "set timeout tcp-established 7440");
	free(out);
	cr_assert_eq(f.cfg->timeout_udp, 600);
	free(ok(&be, "set timeout tcp-transitory 604800"));
	cr_assert_eq(f.cfg->timeout_tcp_trans, 604800);
	free(ok(&be, "set timeout icmp 60"));
	free(before);
	fake_fini(&f);
}

/* ---- the server over sockets ---- */

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nat_ctl_test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static const char *sock_path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static int cl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", path,
		     strerror(errno));
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void cl_send(int fd, const char *s, size_t n)
{
	cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Terminator lines in text. */
static unsigned terminators(const char *s)
{
	unsigned n = 0;
	const char *l = s;

	while (*l) {
		const char *e = strchr(l, '\n');

		if (!e)
			break;
		if ((e - l == 2 && !strncmp(l, "ok", 2)) || !strncmp(l, "error: ", 7))
			n++;
		l = e + 1;
	}
	return n;
}

struct rx {
	char *buf;
	size_t len, cap;
	bool eof;
};

/* Read what is there (non-blocking). */
static void cl_read(int fd, struct rx *r)
{
	for (;;) {
		ssize_t n;

		if (r->cap - r->len < 65536) {
			r->cap = r->cap ? r->cap * 2 : 131072;
			r->buf = realloc(r->buf, r->cap);
			cr_assert_not_null(r->buf);
		}
		n = recv(fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = 0;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			r->eof = true;
		return;
	}
}

/* Poll the server until want answers arrived on fd (or EOF); the text. */
static char *await(struct nat_ctl *c, int fd, unsigned want)
{
	struct rx r = {0};
	int i;

	for (i = 0; i < 20000; i++) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		cl_read(fd, &r);
		if (r.eof || (r.buf && terminators(r.buf) >= want))
			break;
		if (i > 100)
			usleep(100);
	}
	if (!r.buf)
		r.buf = calloc(1, 1);
	return r.buf;
}

static char *talk(struct nat_ctl *c, int fd, const char *req)
{
	cl_send(fd, req, strlen(req));
	return await(c, fd, 1);
}

/* Poll until the peer sees EOF (the server closed); false if it never does. */
static bool closed_by_server(struct nat_ctl *c, int fd, struct rx *r)
{
	int i;

	for (i = 0; i < 20000 && !r->eof; i++) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		cl_read(fd, r);
		if (i > 100)
			usleep(100);
	}
	return r->eof;
}

Test(nat_ctl_sock, socket_file, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c, *c2 = (void *)1;
	struct sockaddr_un sa;
	char path[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s", sock_path("s.sock"));
	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	/* a stale socket file (nobody listens) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	/* a live one is not */
	cr_assert_eq(nat_ctl_create(path, &be, &c2), -EADDRINUSE);
	cr_assert_null(c2);
	/* it still works after the probe */
	fd = cl_connect(path);
	{
		char *out = talk(c, fd, "show timeouts\n");

		cr_assert(!strncmp(out, "timeout udp 300\n", 16), "%s", out);
		free(out);
	}
	close(fd);
	nat_ctl_free(c);
	cr_assert_neq(stat(path, &st), 0, "socket file left behind");
	/* not a socket: left alone */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(nat_ctl_create(path, &be, &c), -EEXIST);
	cr_assert_eq(stat(path, &st), 0);
	unlink(path);
	/* a directory that does not exist */
	cr_assert_eq(nat_ctl_create(sock_path("no/such.sock"), &be, &c), -ENOENT);
	/* free does not remove a file that replaced ours */
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	nat_ctl_free(c);
	cr_assert_eq(stat(path, &st), 0);
	fake_fini(&f);
}

Test(nat_ctl_sock, requests_on_one_connection, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	const char *path = sock_path("s.sock");
	struct rx r = {0};
	char *out;
	int fd;

	fake_init(&f, 4, 2);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	fd = cl_connect(path);
	/* three requests in one write, a blank line, CRLF: answered in order */
	cl_send(fd, "show timeouts\n\nfrob\r\nshow mappings proto udp\n", 45);
	out = await(c, fd, 3);
	cr_assert_str_eq(out,
			 "timeout udp 300\ntimeout tcp-established 7440\ntimeout tcp-transitory 240\n"
			 "timeout icmp 60\nok\n"
			 "error: unknown command 'frob' (try 'help')\n"
			 "proto inside                outside               sessions      age flags\n"
			 "udp   10.0.0.3:2001         198.51.100.1:3001            1        5 -\n"
			 "1 mappings shown, 2 in the table\nok\n");
	free(out);
	/* a request split over several writes */
	cl_send(fd, "show st", 7);
	cr_assert_geq(nat_ctl_poll(c), 0);
	cl_send(fd, "ats json\n", 9);
	out = await(c, fd, 1);
	check_json(out);
	free(out);
	/* a NUL byte */
	cl_send(fd, "help\0x\n", 7);
	out = await(c, fd, 1);
	cr_assert_str_eq(out, "error: NUL byte in the request\n");
	free(out);
	/* quit: ok, then closed */
	cl_send(fd, "quit\n", 5);
	cr_assert(closed_by_server(c, fd, &r));
	cr_assert_str_eq(r.buf, "ok\n");
	free(r.buf);
	close(fd);
	/* the last request without its newline, then shutdown: answered, closed */
	fd = cl_connect(path);
	cl_send(fd, "show rules", 10);
	shutdown(fd, SHUT_WR);
	memset(&r, 0, sizeof(r));
	cr_assert(closed_by_server(c, fd, &r));
	cr_assert(!strncmp(r.buf, "1 drop src 10.0.0.66\n", 21), "%s", r.buf);
	cr_assert_eq(terminators(r.buf), 1);
	free(r.buf);
	close(fd);
	cr_assert_eq(nat_ctl_poll(c), 0);
	cr_assert_eq(nat_ctl_clients(c), 0);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, several_clients, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	enum { N = 6 };
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	const char *path = sock_path("s.sock");
	int fd[N], i;

	fake_init(&f, 50, 50);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	for (i = 0; i < N; i++)
		fd[i] = cl_connect(path);
	/* everybody asks before anybody reads */
	for (i = 0; i < N; i++) {
		char req[64];

		snprintf(req, sizeof(req), "show sessions limit %d\nshow stats json\n", i + 1);
		cl_send(fd[i], req, strlen(req));
	}
	for (i = 0; i < N; i++) {
		char *out = await(c, fd[i], 2);

		cr_assert_eq(shown(out), (unsigned)i + 1, "%s", out);
		cr_assert_eq(terminators(out), 2);
		free(out);
	}
	cr_assert_eq(nat_ctl_clients(c), N);
	for (i = 0; i < N; i++)
		close(fd[i]);
	cr_assert_eq(nat_ctl_poll(c), 0);
	cr_assert_eq(nat_ctl_clients(c), 0);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, oversize_request, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path = sock_path("s.sock");
	struct rx r = {0};
	char big[300];
	int fd;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	nat_ctl_default_limits(&l);
	l.max_request = 64;
	cr_assert_eq(nat_ctl_set_limits(c, &l), 0);
	fd = cl_connect(path);
	/* exactly the limit is fine */
	memset(big, ' ', 64);
	memcpy(big + 60, "help", 4);
	big[64] = '\n';
	cl_send(fd, big, 65);
	free(await(c, fd, 1));
	/* one more byte is not: error, closed */
	memset(big, 'x', sizeof(big));
	cl_send(fd, big, sizeof(big));
	cr_assert(closed_by_server(c, fd, &r));
	cr_assert_str_eq(r.buf, "error: request too long (at most 64 bytes)\n");
	free(r.buf);
	close(fd);
	nat_ctl_free(c);
	fake_fini(&f);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

Test(nat_ctl_sock, long_listing_over_many_polls, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path = sock_path("s.sock");
	char *out;
	int fd;

	fake_init(&f, 100000, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	nat_ctl_default_limits(&l);
	l.walk_budget = 4096;
	cr_assert_eq(nat_ctl_set_limits(c, &l), 0);
	fd = cl_connect(path);
	out = talk(c, fd, "show sessions json\n");
	cr_assert_eq(terminators(out), 1);
	cr_assert_eq(count(out, "{\"proto\""), 100000);
	check_json(out);
	cr_assert_not_null(strstr(out, "\"shown\":100000,\"total\":100000,\"truncated\":false}\nok\n"));
	cr_assert_geq(f.n_walk_calls, 100000 / 4096, "one walk: %u calls", f.n_walk_calls);
	cr_assert_leq(f.max_budget_seen, 4096);
	free(out);
	close(fd);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, client_that_never_reads, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path = sock_path("s.sock");
	struct timespec t0;
	double worst = 0;
	int lazy, busy, i, n;
	char *out;

	fake_init(&f, 200000, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	nat_ctl_default_limits(&l);
	l.stall_ms = 300;
	cr_assert_eq(nat_ctl_set_limits(c, &l), 0);
	lazy = cl_connect(path);
	/* the lazy client asks for 200k lines (~20 MB) and several more
	 * listings, and never reads */
	cl_send(lazy, "show sessions\nshow sessions\nshow stats\n", 39);
	busy = cl_connect(path);
	/* the server keeps answering the other client, every poll is short */
	for (n = 0; n < 20; n++) {
		cl_send(busy, "show stats json\n", 16);
		out = NULL;
		{
			struct rx r = {0};

			for (i = 0; i < 1000 && !(r.buf && terminators(r.buf)); i++) {
				clock_gettime(CLOCK_MONOTONIC, &t0);
				cr_assert_geq(nat_ctl_poll(c), 0);
				if (ms_since(&t0) > worst)
					worst = ms_since(&t0);
				cl_read(busy, &r);
			}
			out = r.buf;
		}
		cr_assert_not_null(out);
		check_json(out);
		free(out);
	}
	cr_assert_lt(worst, 200.0, "a poll took %.1f ms", worst);
	cr_assert_eq(nat_ctl_clients(c), 2, "the lazy client is kept while it is not stalled long");
	/* stalled past stall_ms: dropped; the other one stays */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nat_ctl_clients(c) == 2 && ms_since(&t0) < 5000) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		usleep(1000);
	}
	cr_assert_eq(nat_ctl_clients(c), 1);
	cr_assert_geq(ms_since(&t0), 100.0);
	/* its buffer stayed bounded: it got less than the listing */
	{
		struct rx r = {0};

		while (!r.eof)
			cl_read(lazy, &r);
		cr_assert_lt(r.len, (size_t)4 << 20, "got %zu bytes", r.len);
		cr_assert_eq(r.buf ? terminators(r.buf) : 0, 0);
		free(r.buf);
	}
	out = talk(c, busy, "show timeouts\n");
	cr_assert(!strncmp(out, "timeout udp", 11), "%s", out);
	free(out);
	close(lazy);
	close(busy);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, output_cap_drops_the_client, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path = sock_path("s.sock");
	struct rx r = {0};
	char *out;
	int fd, i;

	fake_init(&f, 500, 0);
	be = fake_backend(&f);
	for (i = 0; i < 60; i++) {
		char req[96];

		snprintf(req, sizeof(req), "add rule drop src 10.0.%d.0/24 proto udp dport 1000-2000", i);
		free(ok(&be, req));
	}
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	nat_ctl_default_limits(&l);
	l.out_high = 256;
	l.out_cap = 1024;
	cr_assert_eq(nat_ctl_set_limits(c, &l), 0);
	fd = cl_connect(path);
	/* small answers are fine */
	out = talk(c, fd, "show timeouts\n");
	cr_assert_eq(terminators(out), 1);
	free(out);
	/* one answer larger than the cap: dropped without a terminator */
	cl_send(fd, "show rules\n", 11);
	cr_assert(closed_by_server(c, fd, &r));
	cr_assert_eq(r.buf ? terminators(r.buf) : 0, 0);
	free(r.buf);
	close(fd);
	/* listings pause at out_high instead: a long one still completes */
	fd = cl_connect(path);
	out = talk(c, fd, "show sessions\n");
	cr_assert_eq(terminators(out), 1);
	cr_assert_eq(shown(out), 500);
	cr_assert_gt(strlen(out), 40000);
	free(out);
	close(fd);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, too_many_clients, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path = sock_path("s.sock");
	struct rx r = {0};
	int a, b, d;
	char *out;

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	nat_ctl_default_limits(&l);
	l.max_clients = 2;
	cr_assert_eq(nat_ctl_set_limits(c, &l), 0);
	l.out_high = l.out_cap + 1;
	cr_assert_eq(nat_ctl_set_limits(c, &l), -EINVAL);
	a = cl_connect(path);
	b = cl_connect(path);
	cr_assert_geq(nat_ctl_poll(c), 0);
	d = cl_connect(path);
	cr_assert(closed_by_server(c, d, &r));
	cr_assert_str_eq(r.buf, "error: too many clients (at most 2)\n");
	free(r.buf);
	out = talk(c, a, "help\n");
	cr_assert_eq(terminators(out), 1);
	free(out);
	close(a);
	close(b);
	close(d);
	nat_ctl_free(c);
	fake_fini(&f);
}

Test(nat_ctl_sock, other_users_are_refused, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	const char *path = sock_path("s.sock");
	int st, pfd[2], i;
	char got[128] = "";
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to connect as another user");
	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	/* let the other user reach the socket, so that the peer check is what
	 * refuses it (the 0600 mode alone would) */
	cr_assert_eq(chmod(tmpdir, 0755), 0);
	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sockaddr_un sa;
		ssize_t n = 0, k;
		int fd;

		close(pfd[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		strcpy(sa.sun_path, path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(4);
		if (send(fd, "show stats\n", 11, MSG_NOSIGNAL) < 0) {
			/* the server may have closed already */
		}
		while ((k = recv(fd, got + n, sizeof(got) - 1 - (size_t)n, 0)) > 0)
			n += k;
		if (write(pfd[1], got, (size_t)n) != n)
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	for (i = 0; i < 5000; i++) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	cr_assert_geq(read(pfd[0], got, sizeof(got) - 1), 0);
	close(pfd[0]);
	cr_assert_str_eq(got, "error: permission denied (uid 65534; root only)\n");
	cr_assert_eq(f.n_stats, 0);
	nat_ctl_free(c);
	fake_fini(&f);
}
