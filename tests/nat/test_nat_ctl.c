/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl: the commands against a fake backend (nat_ctl_exec): bad
 * arguments, help, malformed requests and their error texts, and the
 * changes (add/delete rules, set timeouts) all or nothing.  The listings
 * are test_nat_ctl_show.c's, the socket server test_nat_ctl_sock.c's.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ctl.h"
#include "nat_ctl_fake.h"
#include "test_nat_ctl_util.h"

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
	fails_is(&be, "   ", "error: empty request\n");
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
	ok_is(&be, "quit", "ok\n");
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

	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	ok_is(&be, "add rule at 1 bypass src 10.0.0.0/24 dst 10.1.0.0/16",
	      "rule 1: bypass src 10.0.0.0/24 dst 10.1.0.0/16\nok\n");
	cr_assert_eq(f.last_at, 0);
	cr_assert_eq(f.last_rule.action, NAT_ACT_BYPASS);
	ok_is(&be, "add rule   masquerade   src 10.0.1.0-10.0.1.9 # a comment",
	      "rule 6: masquerade src 10.0.1.0-10.0.1.9\nok\n");
	cr_assert_eq(f.last_at, 5);
	ok_is(&be, "add rule at 7 drop proto 47", "rule 7: drop proto 47\nok\n");
	ok_is(&be, "add static dst 198.51.100.2 proto udp dport 53 to 10.0.0.53",
	      "rule 8: dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\nok\n");
	cr_assert_eq(f.last_rule.action, NAT_ACT_DNAT);
	cr_assert_eq(f.last_rule.to_port, 53);
	ok_is(&be, "show rules",
	      "1 bypass src 10.0.0.0/24 dst 10.1.0.0/16\n"
	      "2 drop src 10.0.0.66\n"
	      "3 snat src 10.0.0.0/25\n"
	      "4 masquerade src 10.0.0.128/25 proto udp dport 53-60\n"
	      "5 dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
	      "6 masquerade src 10.0.1.0-10.0.1.9\n"
	      "7 drop proto 47\n"
	      "8 dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\n"
	      "ok\n");
	ok_is(&be, "delete rule 2", "deleted rule 2: drop src 10.0.0.66\nok\n");
	cr_assert_eq(f.last_at, 1);
	ok_is(&be, "delete static 7",
	      "deleted rule 7: dnat dst 198.51.100.2 proto udp dport 53 to 10.0.0.53:53\nok\n");
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
	fails_is(&be, "add rule drop src 10.0.0.99", "error: fake refuses\n");
	free(fails(&be, "delete rule 1"));
	fails_is(&be, "set timeout udp 600", "error: fake refuses\n");
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
	ok_is(&be, "set timeout udp 600", "timeout udp 600\nok\n");
	free(ok(&be, "set timeout tcp-established 7440"));
	cr_assert_eq(f.cfg->timeout_udp, 600);
	free(ok(&be, "set timeout tcp-transitory 604800"));
	cr_assert_eq(f.cfg->timeout_tcp_trans, 604800);
	free(ok(&be, "set timeout icmp 60"));
	free(before);
	fake_fini(&f);
}
