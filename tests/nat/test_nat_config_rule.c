/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_config single statements (the control socket's add rule / set
 * timeout): nat_config_parse_rule() must give what the file parser gives
 * for the same line (struct and error text), nat_config_format_rule() must
 * read back to the same rule, and nat_config_parse_timeout() must take
 * exactly the values the file takes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nat_config.h"

#define BASE "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n" \
	     "outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254\n"
#define POOL "pool 198.51.100.0/30\n"

static struct nat_config *conf(const char *text)
{
	struct nat_config *c = NULL;
	char err[256];

	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t.conf", &c, err, sizeof(err)), 0,
		     "%s", err);
	return c;
}

static void assert_same_rule(const struct nat_rule *a, const struct nat_rule *b, const char *what)
{
	const struct cls_rule *x = &a->match, *y = &b->match;

	cr_assert_eq(a->action, b->action, "%s: action", what);
	cr_assert_eq(x->family, y->family, "%s", what);
	cr_assert_eq(x->proto, y->proto, "%s: proto", what);
	cr_assert_eq(x->proto_mask, y->proto_mask, "%s: proto mask", what);
	cr_assert_eq(x->sport_lo, y->sport_lo, "%s: sport", what);
	cr_assert_eq(x->sport_hi, y->sport_hi, "%s: sport", what);
	cr_assert_eq(x->dport_lo, y->dport_lo, "%s: dport", what);
	cr_assert_eq(x->dport_hi, y->dport_hi, "%s: dport", what);
	cr_assert_eq(x->src_lo.v4, y->src_lo.v4, "%s: src", what);
	cr_assert_eq(x->src_hi.v4, y->src_hi.v4, "%s: src", what);
	cr_assert_eq(x->dst_lo.v4, y->dst_lo.v4, "%s: dst", what);
	cr_assert_eq(x->dst_hi.v4, y->dst_hi.v4, "%s: dst", what);
	cr_assert_eq(a->to_addr, b->to_addr, "%s: to", what);
	cr_assert_eq(a->to_port, b->to_port, "%s: to port", what);
}

static const char *const good[] = {
	"snat src 10.0.0.0/24",
	"snat",
	"masquerade src 10.0.0.128/25 dst 192.0.2.0-192.0.2.99 proto udp sport 1000-2000 dport 53",
	"bypass src 10.0.0.0/24 dst 10.1.0.0/16",
	"drop src 10.0.0.66",
	"drop proto 47",
	"drop proto icmp",
	"drop proto 0",
	"bypass dst 0.0.0.0/0 src 0.0.0.0-255.255.255.255",
	"snat src 10.0.0.5-10.0.0.5 proto tcp dport 0-65535",
	"snat src 10.0.0.7/24",
	"snat src 0.0.0.0/0 dst 255.255.255.255",
	"masquerade proto tcp sport 7 dport 1-1024",
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80",
	"dnat dst 198.51.100.1 proto udp dport 53 to 10.0.0.53",
	"dnat proto udp to 10.0.0.9:9 dport 99 dst 198.51.100.3",
	"snat\tsrc 10.0.0.0/8   # a comment",
};

Test(nat_config_rule, same_struct_as_the_file_parser)
{
	struct nat_config *base = conf(BASE POOL);
	unsigned i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[512], err[256], fmt[256];
		struct nat_config *c;
		struct nat_rule r, r2;

		snprintf(text, sizeof(text), BASE POOL "%s\n", good[i]);
		c = conf(text);
		cr_assert_eq(c->n_rules, 1);
		cr_assert_eq(nat_config_parse_rule(good[i], base, &r, err, sizeof(err)), 0, "%s: %s",
			     good[i], err);
		assert_same_rule(&r, &c->rules[0], good[i]);
		cr_assert_eq(r.match.id, c->rules[0].match.id);
		cr_assert_eq(r.match.priority, c->rules[0].match.priority);
		cr_assert_eq(r.line, 1);
		cr_assert_eq(nat_config_check_rule(base, &r, err, sizeof(err)), 0, "%s: %s", good[i],
			     err);
		/* formatted, it reads back to the same rule */
		cr_assert_gt(nat_config_format_rule(&r, fmt, sizeof(fmt)), 0);
		cr_assert_eq(nat_config_parse_rule(fmt, base, &r2, err, sizeof(err)), 0, "%s -> %s: %s",
			     good[i], fmt, err);
		assert_same_rule(&r, &r2, fmt);
		nat_config_free(c);
	}
	nat_config_free(base);
}

Test(nat_config_rule, canonical_text)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"snat src 10.0.0.7/24", "snat src 10.0.0.0/24"},
		{"bypass dst 0.0.0.0/0 src 0.0.0.0-255.255.255.255", "bypass"},
		{"snat src 10.0.0.5-10.0.0.5 proto tcp dport 0-65535", "snat src 10.0.0.5 proto tcp"},
		{"snat src 10.0.0.0-10.0.0.255", "snat src 10.0.0.0/24"},
		{"masquerade src 10.0.0.1-10.0.0.6 proto 17 sport 5-5", "masquerade src 10.0.0.1-10.0.0.6 proto udp sport 5"},
		{"drop proto 0", "drop proto 0"},
		{"dnat dst 198.51.100.1 proto udp dport 53 to 10.0.0.53", "dnat dst 198.51.100.1 proto udp dport 53 to 10.0.0.53:53"},
	};
	struct nat_config *base = conf(BASE POOL);
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256], fmt[256];
		struct nat_rule r;

		cr_assert_eq(nat_config_parse_rule(cases[i].in, base, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(nat_config_format_rule(&r, fmt, sizeof(fmt)), (int)strlen(cases[i].out));
		cr_assert_str_eq(fmt, cases[i].out);
	}
	/* truncation is snprintf-like */
	{
		struct nat_rule r;
		char err[64], small[8];

		cr_assert_eq(nat_config_parse_rule(cases[0].in, base, &r, err, sizeof(err)), 0);
		cr_assert_eq(nat_config_format_rule(&r, small, sizeof(small)), 20);
		cr_assert_str_eq(small, "snat sr");
		cr_assert_eq(nat_config_format_rule(&r, NULL, 0), 20);
		cr_assert_eq(nat_config_format_rule(NULL, small, sizeof(small)), -EINVAL);
	}
	nat_config_free(base);
}

/* Bad lines: the same message as the file's, without "t.conf:N: ". */
static const char *const bad[] = {
	"snat src 10.0.0.0/33",
	"snat frob 1",
	"snat src",
	"drop sport 80",
	"drop proto udp sport 80-70",
	"snat src 10.0.0.1 src 10.0.0.2",
	"masquerade src ::1",
	"drop proto 256",
	"drop to 10.0.0.1",
	"dnat dst 203.0.113.1 proto tcp dport 80",
	"dnat dst 203.0.113.1 proto tcp dport 80-81 to 10.0.0.5",
	"dnat dst 203.0.113.1 proto tcp dport 0 to 10.0.0.5",
	"dnat dst 203.0.113.0/24 proto tcp dport 80 to 10.0.0.5",
	"dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5:0",
	"dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5:70000",
	"dnat dst 203.0.113.1 proto tcp src 10.0.0.1 dport 80 to 10.0.0.5",
	"dnat dst 192.0.2.1 proto tcp dport 80 to 10.0.0.5",
	"dnat dst 203.0.113.1 proto tcp dport 80 to 203.0.113.1",
	"dnat dst 203.0.113.1 proto tcp dport 80 to 198.51.100.2",
	"snat a b c d e f g h i j k l m n o p q r s t u v w x y",
};

Test(nat_config_rule, same_errors_as_the_file_parser)
{
	struct nat_config *base = conf(BASE POOL);
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], ferr[256], lerr[256];
		struct nat_config *c = (void *)1;
		struct nat_rule r;
		const char *p;

		snprintf(text, sizeof(text), BASE POOL "%s\n", bad[i]);
		cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t.conf", &c, ferr,
						     sizeof(ferr)), -EINVAL, "%s", bad[i]);
		cr_assert_eq(nat_config_parse_rule(bad[i], base, &r, lerr, sizeof(lerr)), -EINVAL,
			     "%s", bad[i]);
		p = strstr(ferr, "t.conf:4: ");
		cr_assert_eq(p, ferr, "%s: %s", bad[i], ferr);
		cr_assert_str_eq(lerr, ferr + 10, "%s", bad[i]);
	}
	nat_config_free(base);
}

Test(nat_config_rule, checks_against_the_configuration)
{
	struct nat_config *nopool = conf(BASE);
	struct nat_config *withdnat = conf(BASE POOL "drop src 10.0.0.66\n"
					   "dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5\n");
	struct nat_rule r;
	char err[256];

	cr_assert_eq(nat_config_parse_rule("snat src 10.0.0.0/24", nopool, &r, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "snat needs a 'pool'");
	cr_assert_eq(nat_config_parse_rule("masquerade src 10.0.0.0/24", nopool, &r, err,
					   sizeof(err)), 0);
	/* dnat duplicates are named by their rule number */
	cr_assert_eq(nat_config_parse_rule("dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.6",
					   withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "dnat duplicates rule 2");
	cr_assert_eq(nat_config_parse_rule("dnat dst 203.0.113.1 proto tcp dport 81 to 10.0.0.5:80",
					   withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "dnat target duplicates rule 2");
	cr_assert_eq(nat_config_parse_rule("dnat dst 203.0.113.1 proto udp dport 80 to 10.0.0.5",
					   withdnat, &r, err, sizeof(err)), 0);
	/* not a rule, or not one line */
	cr_assert_eq(nat_config_parse_rule("", withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty rule"), "%s", err);
	cr_assert_eq(nat_config_parse_rule("  # nothing", withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("pool 192.0.2.1", withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "'pool' is not a rule (expected snat, masquerade, bypass, drop or dnat)");
	cr_assert_eq(nat_config_parse_rule("drop\nsrc 10.0.0.1", withdnat, &r, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "a rule is one line");
	cr_assert_eq(nat_config_parse_rule(NULL, withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("drop", NULL, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("drop", withdnat, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("drop", withdnat, &r, NULL, 5), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("drop src 300.1.1.1", withdnat, &r, NULL, 0), -EINVAL);
	/* check_rule on a struct made elsewhere */
	cr_assert_eq(nat_config_parse_rule("drop src 10.0.0.0/24", withdnat, &r, err, sizeof(err)), 0);
	r.match.src_lo.v4 = r.match.src_hi.v4 + 1;
	cr_assert_eq(nat_config_check_rule(withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert(!strncmp(err, "bad rule match: ", 16), "%s", err);
	r.match.src_lo.v4 = 0;
	r.action = (enum nat_action)9;
	cr_assert_eq(nat_config_check_rule(withdnat, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_rule("dnat dst 203.0.113.1 proto udp dport 80 to 10.0.0.5",
					   withdnat, &r, err, sizeof(err)), 0);
	r.to_port = 0;
	cr_assert_eq(nat_config_check_rule(withdnat, &r, err, sizeof(err)), -EINVAL);
	nat_config_free(nopool);
	nat_config_free(withdnat);
}

Test(nat_config_rule, timeouts_as_in_the_file)
{
	static const char *const kinds[] = {"udp", "tcp-established", "tcp-transitory", "icmp"};
	static const uint32_t minima[] = {120, 7440, 240, 60};
	static const char *const rfcs[] = {"RFC 4787", "RFC 5382", "RFC 5382", "RFC 5508"};
	enum nat_timeout_kind k;
	uint32_t secs;
	char err[256];
	int i, j;

	for (i = 0; i < 4; i++) {
		uint32_t vals[] = {0, minima[i] - 1, minima[i], minima[i] + 1, NAT_CFG_MAX_TIMEOUT,
				   NAT_CFG_MAX_TIMEOUT + 1};

		cr_assert_str_eq(nat_timeout_name((enum nat_timeout_kind)i), kinds[i]);
		cr_assert_eq(nat_timeout_min((enum nat_timeout_kind)i), minima[i]);
		for (j = 0; j < 6; j++) {
			char text[512], line[64];
			struct nat_config *c = NULL;
			int frc, lrc;

			snprintf(line, sizeof(line), "%s %u", kinds[i], vals[j]);
			snprintf(text, sizeof(text), BASE "timeout %s\n", line);
			frc = nat_config_parse_buffer(text, strlen(text), "t.conf", &c, err, sizeof(err));
			nat_config_free(c);
			lrc = nat_config_parse_timeout(line, &k, &secs, err, sizeof(err));
			cr_assert_eq(frc, lrc, "%s: file %d, line %d (%s)", line, frc, lrc, err);
			if (!lrc) {
				cr_assert_eq(k, (enum nat_timeout_kind)i);
				cr_assert_eq(secs, vals[j]);
			} else if (vals[j] < minima[i]) {
				char want[160];

				snprintf(want, sizeof(want),
					 "timeout %s %u is below the %s minimum of %u seconds", kinds[i],
					 vals[j], rfcs[i], minima[i]);
				cr_assert_str_eq(err, want);
			} else {
				cr_assert(strstr(err, "above the maximum of 604800"), "%s", err);
			}
		}
	}
	cr_assert_eq(nat_config_parse_timeout("udp", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout("udp 300 1", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout("sctp 300", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "unknown timeout 'sctp' (expected udp, tcp-established, tcp-transitory, icmp)");
	cr_assert_eq(nat_config_parse_timeout("udp 3x", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout("udp 99999999999", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout("udp\n300", &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout(NULL, &k, &secs, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_timeout("  icmp\t60 ", &k, &secs, err, sizeof(err)), 0);
	cr_assert_eq(k, NAT_TIMEOUT_ICMP);
	cr_assert_str_eq(nat_timeout_name((enum nat_timeout_kind)7), "unknown");
	cr_assert_eq(nat_timeout_min((enum nat_timeout_kind)7), 0);
}
