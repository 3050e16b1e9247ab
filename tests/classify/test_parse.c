/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/classify rule files, behaviour: ClassBench (IPv4, IPv6), the native
 * syntax, the formatter, format/parse round trips of random rules (seed
 * printed; NC_SEED replays), files, and the ClassBench sets in
 * $NC_CLASSBENCH_DIR when present.  Failure paths: test_parse_errors.c.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "parse_check.h"

/* ------------------------------------------------------------ ClassBench */

Test(parse_classbench, hand_written)
{
	static const char text[] =
		"# a comment, not a rule\n"
		"@10.1.2.3/8\t192.168.1.0/24\t0 : 65535\t80 : 80\t0x06/0xFF\t0x1000/0x1000\n"
		"\n"
		"@0.0.0.0/0  1.2.3.4/32  1024:65535   53 :53 0x11/0xFF\n"
		"  \t \n"
		"@128.0.0.0/1\t0.0.0.0/0\t0 : 0\t0 : 65535\t0x00/0x00\n"
		"@192.0.2.128/25\t198.51.100.7/31\t5 : 5\t6 : 7\t17/255\t0x0000/0x0200 more columns\n"
		"\t@1.2.3.4/30\t5.6.7.8/29\t1: 2\t3 :4\t0x06/0xFE\n";
	struct cls_rule want[5];
	uint32_t lines[5] = {2, 4, 6, 7, 8};
	struct cls_ruleset *rs;

	memset(want, 0, sizeof(want));
	for (int i = 0; i < 5; i++) {
		want[i].family = CLS_IPV4;
		want[i].id = (uint32_t)i + 1;
		want[i].priority = 5 - i;
	}
	v4_range(&want[0], true, "10.0.0.0", "10.255.255.255"); /* host bits masked */
	v4_range(&want[0], false, "192.168.1.0", "192.168.1.255");
	want[0].sport_hi = 65535;
	want[0].dport_lo = want[0].dport_hi = 80;
	want[0].proto = 6;
	want[0].proto_mask = 0xff;

	v4_range(&want[1], true, "0.0.0.0", "255.255.255.255");
	v4_range(&want[1], false, "1.2.3.4", "1.2.3.4");
	want[1].sport_lo = 1024;
	want[1].sport_hi = 65535;
	want[1].dport_lo = want[1].dport_hi = 53;
	want[1].proto = 17;
	want[1].proto_mask = 0xff;

	v4_range(&want[2], true, "128.0.0.0", "255.255.255.255");
	v4_range(&want[2], false, "0.0.0.0", "255.255.255.255");
	want[2].dport_hi = 65535;

	v4_range(&want[3], true, "192.0.2.128", "192.0.2.255");
	v4_range(&want[3], false, "198.51.100.6", "198.51.100.7");
	want[3].sport_lo = want[3].sport_hi = 5;
	want[3].dport_lo = 6;
	want[3].dport_hi = 7;
	want[3].proto = 17;
	want[3].proto_mask = 0xff;

	v4_range(&want[4], true, "1.2.3.4", "1.2.3.7");
	v4_range(&want[4], false, "5.6.7.8", "5.6.7.15");
	want[4].sport_lo = 1;
	want[4].sport_hi = 2;
	want[4].dport_lo = 3;
	want[4].dport_hi = 4;
	want[4].proto = 6;
	want[4].proto_mask = 0xfe;

	for (int f = 0; f < 2; f++) {
		rs = parse_ok(text, f ? CLS_FMT_AUTO : CLS_FMT_CLASSBENCH);
		cr_assert_eq(rs->n, 5);
		for (int i = 0; i < 5; i++) {
			expect_rule(&rs->rules[i], &want[i]);
			cr_expect_eq(rs->lines[i], lines[i], "rule %d on line %u", i, rs->lines[i]);
		}
		cls_ruleset_free(rs);
	}
}

Test(parse_classbench, ipv6)
{
	static const char text[] =
		"@2001:db8::/32\t::/0\t0 : 65535\t443 : 443\t0x06/0xFF\t0x0000/0x0000\n"
		"@2001:db8::1/64 2001:db8:1:2:3:4:5:6/128 1 : 2 3 : 4 0x11/0xFF\n"
		"@::ffff:10.0.0.0/104\tfe80::/10\t0 : 65535\t0 : 65535\t0x3a/0xff\n"
		"@2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/96\t::/1\t0 : 0\t0 : 0\t0x00/0x00\n";
	struct cls_rule want[4];
	struct cls_ruleset *rs;

	memset(want, 0, sizeof(want));
	for (int i = 0; i < 4; i++) {
		want[i].family = CLS_IPV6;
		want[i].id = (uint32_t)i + 1;
		want[i].priority = 4 - i;
	}
	v6_range(&want[0], true, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	v6_range(&want[0], false, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	want[0].sport_hi = 65535;
	want[0].dport_lo = want[0].dport_hi = 443;
	want[0].proto = 6;
	want[0].proto_mask = 0xff;

	v6_range(&want[1], true, "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff");
	v6_range(&want[1], false, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6");
	want[1].sport_lo = 1;
	want[1].sport_hi = 2;
	want[1].dport_lo = 3;
	want[1].dport_hi = 4;
	want[1].proto = 17;
	want[1].proto_mask = 0xff;

	v6_range(&want[2], true, "::ffff:10.0.0.0", "::ffff:10.255.255.255");
	v6_range(&want[2], false, "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	want[2].sport_hi = want[2].dport_hi = 65535;
	want[2].proto = 58;
	want[2].proto_mask = 0xff;

	v6_range(&want[3], true, "2001:db8:aaaa:bbbb:cccc:dddd::",
		 "2001:db8:aaaa:bbbb:cccc:dddd:ffff:ffff");
	v6_range(&want[3], false, "::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	for (int f = 0; f < 2; f++) {
		rs = parse_ok(text, f ? CLS_FMT_AUTO : CLS_FMT_CLASSBENCH6);
		cr_assert_eq(rs->n, 4);
		for (int i = 0; i < 4; i++)
			expect_rule(&rs->rules[i], &want[i]);
		cls_ruleset_free(rs);
	}
	/* The raw halves, spelled out once: hi is the first eight bytes. */
	rs = parse_ok(text, CLS_FMT_CLASSBENCH6);
	cr_expect_eq(rs->rules[0].src_lo.v6.hi, 0x20010db800000000ull);
	cr_expect_eq(rs->rules[0].src_lo.v6.lo, 0);
	cr_expect_eq(rs->rules[0].src_hi.v6.hi, 0x20010db8ffffffffull);
	cr_expect_eq(rs->rules[0].src_hi.v6.lo, UINT64_MAX);
	cr_expect_eq(rs->rules[3].src_lo.v6.lo, 0xccccdddd00000000ull);
	cr_expect_eq(rs->rules[3].src_hi.v6.lo, 0xccccddddffffffffull);
	cls_ruleset_free(rs);
}

Test(parse_classbench, crlf_comments_and_empty)
{
	static const char crlf[] = "# header\r\n"
				   "\r\n"
				   "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t2 : 3\t0x06/0xFF\r\n"
				   "   # indented comment\r\n"
				   "@11.0.0.0/8\t1.0.0.0/8\t0 : 1\t2 : 3\t0x06/0xFF\t0x0/0x0\r";
	struct cls_ruleset *rs = parse_ok(crlf, CLS_FMT_AUTO);

	cr_assert_eq(rs->n, 2);
	cr_expect_eq(rs->lines[0], 3);
	cr_expect_eq(rs->lines[1], 5);
	cr_expect_eq(rs->rules[1].src_lo.v4, ip4("11.0.0.0"));
	cr_expect_eq(rs->rules[0].priority, 2);
	cr_expect_eq(rs->rules[1].priority, 1);
	cls_ruleset_free(rs);

	static const char *const empties[] = {"", "\n", "# only\n\n\t\n", "\r\n  \r\n"};
	for (size_t i = 0; i < 4; i++) {
		for (int f = CLS_FMT_AUTO; f <= CLS_FMT_NATIVE; f++) {
			rs = parse_ok(empties[i], (enum cls_format)f);
			cr_expect_eq(rs->n, 0);
			cls_ruleset_free(rs);
		}
	}
}

/* ------------------------------------------------------------ native */

Test(parse_native, all_keywords)
{
	static const char text[] =
		"id 7 priority 100 src 10.0.0.0/8 dst 192.0.2.1-192.0.2.9 sport 1024-65535 dport 443 proto tcp\n"
		"proto udp dport 53 src 10.1.2.3/16 id 80 prio -5   # comment after a rule\n"
		"# whole-line comment\n"
		"\n"
		"SRC ANY DST 2001:db8::/32 PROTO ICMPv6\n"
		"dst ::1 proto 0x06/0xfe sport 5\n"
		"id 0 priority 2147483647 proto 255\n"
		"priority -2147483648 proto any sport any dport any src any dst any\n"
		"\tid 4294967294\tsrc ::ffff:1.2.3.4\tdst ::ffff:1.2.3.4-::ffff:1.2.3.5\n"
		"dst 10.0.0.0-10.0.0.0\n";
	struct cls_ruleset *rs = parse_ok(text, CLS_FMT_NATIVE);
	struct cls_rule w;

	cr_assert_eq(rs->n, 8);
	/* 1 */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV4;
	w.id = 7;
	w.priority = 100;
	v4_range(&w, true, "10.0.0.0", "10.255.255.255");
	v4_range(&w, false, "192.0.2.1", "192.0.2.9");
	w.sport_lo = 1024;
	w.sport_hi = 65535;
	w.dport_lo = w.dport_hi = 443;
	w.proto = 6;
	w.proto_mask = 0xff;
	expect_rule(&rs->rules[0], &w);
	/* 2: host bits masked; default-free */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV4;
	w.id = 80;
	w.priority = -5;
	v4_range(&w, true, "10.1.0.0", "10.1.255.255");
	v4_range(&w, false, "0.0.0.0", "255.255.255.255");
	w.sport_hi = 65535;
	w.dport_lo = w.dport_hi = 53;
	w.proto = 17;
	w.proto_mask = 0xff;
	expect_rule(&rs->rules[1], &w);
	/* 3: "any" takes the family of the other address; defaults id 3, priority 6 */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV6;
	w.id = 3;
	w.priority = 6;
	v6_range(&w, true, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	v6_range(&w, false, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	w.sport_hi = w.dport_hi = 65535;
	w.proto = 58;
	w.proto_mask = 0xff;
	expect_rule(&rs->rules[2], &w);
	cr_expect_eq(rs->lines[2], 5);
	/* 4: value stored masked */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV6;
	w.id = 4;
	w.priority = 5;
	v6_range(&w, true, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	v6_range(&w, false, "::1", "::1");
	w.sport_lo = w.sport_hi = 5;
	w.dport_hi = 65535;
	w.proto = 6;
	w.proto_mask = 0xfe;
	expect_rule(&rs->rules[3], &w);
	/* 5 */
	cr_expect_eq(rs->rules[4].id, 0);
	cr_expect_eq(rs->rules[4].priority, INT32_MAX);
	cr_expect_eq(rs->rules[4].family, CLS_IPV4);
	cr_expect_eq(rs->rules[4].proto, 255);
	cr_expect_eq(rs->rules[4].proto_mask, 0xff);
	/* 6: everything any, IPv4 by default */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV4;
	w.id = 6;
	w.priority = INT32_MIN;
	v4_range(&w, true, "0.0.0.0", "255.255.255.255");
	v4_range(&w, false, "0.0.0.0", "255.255.255.255");
	w.sport_hi = w.dport_hi = 65535;
	expect_rule(&rs->rules[5], &w);
	/* 7: IPv4-mapped addresses are IPv6 */
	memset(&w, 0, sizeof(w));
	w.family = CLS_IPV6;
	w.id = 4294967294u;
	w.priority = 2;
	v6_range(&w, true, "::ffff:1.2.3.4", "::ffff:1.2.3.4");
	v6_range(&w, false, "::ffff:1.2.3.4", "::ffff:1.2.3.5");
	w.sport_hi = w.dport_hi = 65535;
	expect_rule(&rs->rules[6], &w);
	cr_expect_eq(rs->lines[6], 9);
	/* 8: a one-address range */
	cr_expect_eq(rs->rules[7].dst_lo.v4, ip4("10.0.0.0"));
	cr_expect_eq(rs->rules[7].dst_hi.v4, ip4("10.0.0.0"));
	cr_expect_eq(rs->rules[7].src_hi.v4, UINT32_MAX);
	cr_expect_eq(rs->rules[7].priority, 1);
	cls_ruleset_free(rs);
}

Test(parse_native, defaults_and_ids)
{
	/* Explicit ids mixed with defaults (the rule number) and no collision. */
	struct cls_ruleset *rs = parse_ok("id 100\n"
					  "dport 1\n"
					  "id 1\n"
					  "dport 2 # id 2 by default\n"
					  "id 3 prio 9\n",
					  CLS_FMT_AUTO);
	cr_assert_eq(rs->n, 5);
	uint32_t ids[] = {100, 2, 1, 4, 3};
	int32_t prios[] = {5, 4, 3, 2, 9};
	for (int i = 0; i < 5; i++) {
		cr_expect_eq(rs->rules[i].id, ids[i], "rule %d id %u", i, rs->rules[i].id);
		cr_expect_eq(rs->rules[i].priority, prios[i]);
		cr_expect_eq(rs->rules[i].family, CLS_IPV4);
		cr_expect_eq(rs->lines[i], (uint32_t)i + 1);
	}
	cls_ruleset_free(rs);

	/* CRLF and a last line without a newline. */
	rs = parse_ok("id 1 dport 80\r\n\r\n# c\r\nid 2 dport 81\r", CLS_FMT_NATIVE);
	cr_assert_eq(rs->n, 2);
	cr_expect_eq(rs->rules[1].dport_lo, 81);
	cr_expect_eq(rs->lines[1], 4);
	cls_ruleset_free(rs);
}

Test(parse_native, addr_range)
{
	uint8_t fam = 99;
	union cls_addr lo, hi;
	const char *why = "x";

	cr_assert_eq(cls_parse_addr_range("any", 3, &fam, &lo, &hi, &why), 0);
	cr_expect_null(why);
	cr_expect_eq(fam, 0, "any has no family");
	cr_expect_eq(lo.v4, 0);
	cr_expect_eq(hi.v4, UINT32_MAX);
	cr_expect_eq(lo.v6.hi | lo.v6.lo, 0);
	cr_expect_eq(hi.v6.hi & hi.v6.lo, UINT64_MAX);

	cr_assert_eq(cls_parse_addr_range("10.1.2.3/16xyz", 11, &fam, &lo, &hi, &why), 0);
	cr_expect_eq(fam, CLS_IPV4);
	cr_expect_eq(lo.v4, ip4("10.1.0.0"));
	cr_expect_eq(hi.v4, ip4("10.1.255.255"));

	cr_assert_eq(cls_parse_addr_range("::1-::3", 7, &fam, &lo, &hi, NULL), 0);
	cr_expect_eq(fam, CLS_IPV6);
	cr_expect_eq(lo.v6.lo, 1);
	cr_expect_eq(hi.v6.lo, 3);
	cr_expect_eq(hi.v6.hi, 0);

	cr_assert_eq(cls_parse_addr_range("2001:db8::5", 11, &fam, &lo, &hi, NULL), 0);
	cr_expect_eq(lo.v6.hi, 0x20010db800000000ull);
	cr_expect_eq(hi.v6.lo, 5);

	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{"", "empty address"},
		{"anyx", "not a valid IPv4 or IPv6 address"},
		{"1.2.3.4/33", "prefix length is out of range (0-32 for IPv4, 0-128 for IPv6)"},
		{"1.2.3.4/a", "prefix length is not a decimal number"},
		{"1.2.3.4-::1", "range mixes IPv4 and IPv6 addresses"},
		{"1.2.3.5-1.2.3.4", "range is empty (first address above last)"},
		{" 1.2.3.4", "not a valid IPv4 or IPv6 address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		cr_expect_eq(cls_parse_addr_range(bad[i].s, strlen(bad[i].s), &fam, &lo, &hi, &why),
			     -EINVAL, "%s", bad[i].s);
		cr_expect_str_eq(why ? why : "(null)", bad[i].why, "%s", bad[i].s);
	}
}

/* ------------------------------------------------------------ format */

static void expect_format(const struct cls_rule *r, const char *want)
{
	char buf[320];
	int n = cls_rule_format(r, buf, sizeof(buf));

	cr_expect_str_eq(buf, want);
	cr_expect_eq(n, (int)strlen(want));
}

Test(parse_format, known)
{
	struct cls_ruleset *rs = parse_ok(
		"id 1 priority 2 src 10.0.0.0/8 dport 80 proto tcp\n"
		"src ::/0 dst any\n"
		"src 10.0.0.1-10.0.0.9 dst 1.2.3.4 sport 1-2 proto 7/0xf0\n"
		"dst 2001:db8::1-2001:db8::3 proto 0/0xff\n"
		"src 0.0.0.0/0 dst 10.0.0.0-10.0.0.255\n",
		CLS_FMT_NATIVE);
	cr_assert_eq(rs->n, 5);
	expect_format(&rs->rules[0],
		      "id 1 priority 2 src 10.0.0.0/8 dst any sport any dport 80 proto tcp");
	expect_format(&rs->rules[1],
		      "id 2 priority 4 src ::/0 dst any sport any dport any proto any");
	expect_format(&rs->rules[2], "id 3 priority 3 src 10.0.0.1-10.0.0.9 dst 1.2.3.4/32 "
				     "sport 1-2 dport any proto 0/0xf0");
	expect_format(&rs->rules[3], "id 4 priority 2 src any dst 2001:db8::1-2001:db8::3 "
				     "sport any dport any proto 0");
	expect_format(&rs->rules[4],
		      "id 5 priority 1 src any dst 10.0.0.0/24 sport any dport any proto any");

	/* Truncation: snprintf's contract. */
	char small[10];
	int full = (int)strlen("id 1 priority 2 src 10.0.0.0/8 dst any sport any dport 80 proto tcp");
	cr_expect_eq(cls_rule_format(&rs->rules[0], small, sizeof(small)), full);
	cr_expect_str_eq(small, "id 1 prio");
	cr_expect_eq(cls_rule_format(&rs->rules[0], NULL, 0), full);
	cls_ruleset_free(rs);
}

/* ------------------------------------------------------------ round trip */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t test_seed(void)
{
	const char *env = getenv("NC_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
	}
	fprintf(stderr, "test_parse round trip: seed %llu (replay with NC_SEED=%llu)\n",
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

static uint64_t few(uint64_t *s)
{
	/* Values that hit the edges often. */
	static const uint64_t edge[] = {0, 1, 0x7f, 0x80, 0xff, 0xffff, 0xffffffff,
					0x80000000, UINT64_MAX, 0x8000000000000000ull};
	uint64_t r = rnd(s);
	return r % 4 == 0 ? edge[(r >> 8) % 10] : rnd(s);
}

static void rand_addr(uint64_t *s, uint8_t fam, union cls_addr *lo, union cls_addr *hi)
{
	unsigned kind = (unsigned)(rnd(s) % 4);

	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	if (fam == CLS_IPV4) {
		uint32_t a = (uint32_t)few(s), b = (uint32_t)few(s);
		unsigned len = (unsigned)(rnd(s) % 33);
		uint32_t m = len ? UINT32_MAX << (32 - len) : 0;
		switch (kind) {
		case 0: lo->v4 = 0; hi->v4 = UINT32_MAX; break;
		case 1: lo->v4 = a & m; hi->v4 = (a & m) | ~m; break;
		case 2: lo->v4 = hi->v4 = a; break;
		default: lo->v4 = a < b ? a : b; hi->v4 = a < b ? b : a; break;
		}
		return;
	}
	struct cls_ip6 a = {few(s), few(s)}, b = {few(s), few(s)};
	unsigned len = (unsigned)(rnd(s) % 129);
	uint64_t mh = len >= 64 ? UINT64_MAX : len ? UINT64_MAX << (64 - len) : 0;
	uint64_t ml = len <= 64 ? 0 : UINT64_MAX << (128 - len);
	bool a_lt_b = a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
	switch (kind) {
	case 0:
		hi->v6.hi = hi->v6.lo = UINT64_MAX;
		break;
	case 1:
		lo->v6.hi = a.hi & mh;
		lo->v6.lo = a.lo & ml;
		hi->v6.hi = lo->v6.hi | ~mh;
		hi->v6.lo = lo->v6.lo | ~ml;
		break;
	case 2:
		lo->v6 = hi->v6 = a;
		break;
	default:
		lo->v6 = a_lt_b ? a : b;
		hi->v6 = a_lt_b ? b : a;
		break;
	}
}

static void rand_ports(uint64_t *s, uint16_t *lo, uint16_t *hi)
{
	uint16_t a = (uint16_t)few(s), b = (uint16_t)few(s);

	switch (rnd(s) % 3) {
	case 0: *lo = 0; *hi = UINT16_MAX; break;
	case 1: *lo = *hi = a; break;
	default: *lo = a < b ? a : b; *hi = a < b ? b : a; break;
	}
}

static void rand_rule(uint64_t *s, struct cls_rule *r, uint32_t id)
{
	static const uint8_t names[] = {1, 6, 17, 58};

	memset(r, 0, sizeof(*r));
	r->family = rnd(s) % 2 ? CLS_IPV4 : CLS_IPV6;
	rand_addr(s, r->family, &r->src_lo, &r->src_hi);
	rand_addr(s, r->family, &r->dst_lo, &r->dst_hi);
	rand_ports(s, &r->sport_lo, &r->sport_hi);
	rand_ports(s, &r->dport_lo, &r->dport_hi);
	switch (rnd(s) % 4) {
	case 0: r->proto_mask = 0; break;
	case 1: r->proto_mask = 0xff; r->proto = names[rnd(s) % 4]; break;
	case 2: r->proto_mask = 0xff; r->proto = (uint8_t)rnd(s); break;
	default: r->proto_mask = (uint8_t)rnd(s); r->proto = (uint8_t)rnd(s) & r->proto_mask; break;
	}
	r->priority = (int32_t)(uint32_t)few(s);
	r->id = id;
}

Test(parse_roundtrip, random_rules)
{
	uint64_t seed = test_seed(), s = seed;
	enum { N = 3000 };
	struct cls_rule *rules = calloc(N, sizeof(*rules));
	size_t cap = N * 320, len = 0;
	char *all = malloc(cap), line[320];

	cr_assert(rules && all);
	for (uint32_t i = 0; i < N; i++) {
		/* Unique ids, including the extremes. */
		uint32_t id = i == 0 ? 0 : i == 1 ? UINT32_MAX - 1 : i * 1000 + (uint32_t)(rnd(&s) % 1000);
		rand_rule(&s, &rules[i], id);
		cr_assert_eq(cls_rule_check(&rules[i], NULL), 0);

		int n = cls_rule_format(&rules[i], line, sizeof(line));
		cr_assert(n > 0 && (size_t)n < sizeof(line), "seed %llu: format length %d",
			  (unsigned long long)seed, n);
		struct cls_ruleset *rs = parse_ok(line, CLS_FMT_NATIVE);
		cr_assert_eq(rs->n, 1);
		char again[320];
		cls_rule_format(&rs->rules[0], again, sizeof(again));
		cr_assert(rule_eq(&rs->rules[0], &rules[i]),
			  "seed %llu rule %u: round trip differs\n  in: %s\n out: %s",
			  (unsigned long long)seed, i, line, again);
		cr_assert_str_eq(again, line, "seed %llu: format not stable", (unsigned long long)seed);
		cls_ruleset_free(rs);
		memcpy(all + len, line, (size_t)n);
		len += (size_t)n;
		if (i % 3 == 0)
			all[len++] = '\r'; /* some CRLF */
		all[len++] = '\n';
	}
	/* All of them as one file. */
	struct cls_ruleset *rs = parse_ok_n(all, len, CLS_FMT_AUTO);
	cr_assert_eq(rs->n, N);
	for (uint32_t i = 0; i < N; i++)
		cr_assert(rule_eq(&rs->rules[i], &rules[i]), "seed %llu: rule %u differs in the file",
			  (unsigned long long)seed, i);
	cls_ruleset_free(rs);
	free(all);
	free(rules);
}

/* ------------------------------------------------------------ files */

Test(parse_file, temp_file)
{
	char path[] = "/tmp/nc_test_parse_XXXXXX", err[256];
	int fd = mkstemp(path);
	struct cls_ruleset *rs = NULL;

	cr_assert_geq(fd, 0);
	static const char good[] = "@1.0.0.0/8 2.0.0.0/8 0 : 1 2 : 3 0x06/0xFF\n";
	cr_assert_eq(write(fd, good, sizeof(good) - 1), (ssize_t)sizeof(good) - 1);
	close(fd);
	cr_assert_eq(cls_parse_file(path, CLS_FMT_AUTO, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs->n, 1);
	cr_expect_eq(rs->rules[0].dport_hi, 3);
	cls_ruleset_free(rs);
	rs = NULL;

	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, good, sizeof(good) - 1), (ssize_t)sizeof(good) - 1);
	cr_assert_eq(write(fd, "@1.0.0.0/8\n", 11), 11);
	close(fd);
	cr_assert_eq(cls_parse_file(path, CLS_FMT_CLASSBENCH, &rs, err, sizeof(err)), -EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s:2: missing destination prefix", path);
	cr_expect_str_eq(err, want);
	cr_expect_null(rs);

	/* Empty file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	cr_assert_eq(cls_parse_file(path, CLS_FMT_AUTO, &rs, err, sizeof(err)), 0);
	cr_expect_eq(rs->n, 0);
	cls_ruleset_free(rs);
	unlink(path);
}

/* ------------------------------------------------------------ ClassBench data */

Test(parse_classbench, data_sets)
{
	static const struct {
		const char *file;
		size_t n;
	} sets[] = {
		{"acl1_1k.rules", 960},   {"acl1_10k.rules", 9815}, {"acl1_100k.rules", 99793},
		{"fw1_1k.rules", 809},    {"fw1_10k.rules", 9788},  {"fw1_100k.rules", 96055},
		{"ipc1_1k.rules", 972},   {"ipc1_10k.rules", 9597}, {"ipc1_100k.rules", 99765},
	};
	const char *dir = getenv("NC_CLASSBENCH_DIR");
	char path[4096], err[512];
	unsigned found = 0, checked = 0;
	DIR *d;
	struct dirent *de;

	if (dir == NULL || (d = opendir(dir)) == NULL) {
		cr_skip_test("NC_CLASSBENCH_DIR not set or not a directory");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 6, ".rules") != 0)
			continue;
		found++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		for (int f = 0; f < 2; f++) {
			struct cls_ruleset *rs = NULL;
			int rc = cls_parse_file(path, f ? CLS_FMT_CLASSBENCH : CLS_FMT_AUTO, &rs, err,
						sizeof(err));
			cr_assert_eq(rc, 0, "%s: %s", path, err);
			for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
				if (strcmp(sets[i].file, de->d_name) == 0) {
					cr_expect_eq(rs->n, sets[i].n, "%s: %zu rules, README says %zu",
						     de->d_name, rs->n, sets[i].n);
					checked += f == 0;
				}
			}
			for (size_t i = 0; i < rs->n; i++) {
				cr_assert_eq(rs->rules[i].id, i + 1);
				cr_assert_eq(rs->rules[i].priority, (int32_t)(rs->n - i));
				cr_assert_eq(rs->rules[i].family, CLS_IPV4);
			}
			cls_ruleset_free(rs);
		}
	}
	closedir(d);
	if (found == 0)
		cr_skip_test("no *.rules in %s", dir);
	fprintf(stderr, "test_parse: %u ClassBench files parsed, %u counts checked\n", found,
		checked);
}
