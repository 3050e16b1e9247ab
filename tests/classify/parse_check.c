/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the rule-file suites (test_parse.c, test_parse_errors.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_check.h"

int parse_n(const char *text, size_t len, enum cls_format fmt,
	    struct cls_ruleset **rs, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, text, len);
	rc = cls_parse_buffer(copy, len, NAME, fmt, rs, err, errlen);
	free(copy);
	return rc;
}

struct cls_ruleset *parse_ok_n(const char *text, size_t len, enum cls_format fmt)
{
	struct cls_ruleset *rs = NULL;
	char err[512] = "";
	int rc = parse_n(text, len, fmt, &rs, err, sizeof(err));

	cr_assert_eq(rc, 0, "parse failed (%d): %s\n--- input:\n%.*s", rc, err, (int)len, text);
	cr_assert_not_null(rs);
	cr_assert_str_empty(err, "err not cleared on success: %s", err);
	return rs;
}

struct cls_ruleset *parse_ok(const char *text, enum cls_format fmt)
{
	return parse_ok_n(text, strlen(text), fmt);
}

static char sentinel;

void expect_err_n(const char *text, size_t len, enum cls_format fmt, unsigned line,
		  const char *what)
{
	struct cls_ruleset *rs = (struct cls_ruleset *)&sentinel;
	char err[512] = "", prefix[64];
	int rc = parse_n(text, len, fmt, &rs, err, sizeof(err));

	snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
	cr_assert_eq(rc, -EINVAL, "rc %d, expected -EINVAL for:\n%.*s", rc, (int)len, text);
	cr_assert_eq(rs, (struct cls_ruleset *)&sentinel, "*out written on error");
	cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "error '%s' does not start with '%s'",
		  err, prefix);
	cr_assert(strstr(err + strlen(prefix), what) != NULL, "error '%s' does not say '%s'", err,
		  what);
}

void expect_err(const char *text, enum cls_format fmt, unsigned line, const char *what)
{
	expect_err_n(text, strlen(text), fmt, line, what);
}

uint32_t ip4(const char *s)
{
	uint8_t b[4];

	cr_assert_eq(inet_pton(AF_INET, s, b), 1, "bad test address %s", s);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

struct cls_ip6 ip6(const char *s)
{
	uint8_t b[16];
	struct cls_ip6 a = {0, 0};

	cr_assert_eq(inet_pton(AF_INET6, s, b), 1, "bad test address %s", s);
	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | b[i];
		a.lo = a.lo << 8 | b[8 + i];
	}
	return a;
}

bool addr_eq(uint8_t fam, union cls_addr a, union cls_addr b)
{
	return fam == CLS_IPV4 ? a.v4 == b.v4 : a.v6.hi == b.v6.hi && a.v6.lo == b.v6.lo;
}

bool rule_eq(const struct cls_rule *a, const struct cls_rule *b)
{
	return a->family == b->family && a->proto == b->proto && a->proto_mask == b->proto_mask &&
	       a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
	       addr_eq(a->family, a->src_lo, b->src_lo) && addr_eq(a->family, a->src_hi, b->src_hi) &&
	       addr_eq(a->family, a->dst_lo, b->dst_lo) && addr_eq(a->family, a->dst_hi, b->dst_hi) &&
	       a->priority == b->priority && a->id == b->id && a->udata == b->udata;
}

void v4_range(struct cls_rule *r, bool src, const char *lo, const char *hi)
{
	union cls_addr *l = src ? &r->src_lo : &r->dst_lo, *h = src ? &r->src_hi : &r->dst_hi;

	l->v4 = ip4(lo);
	h->v4 = ip4(hi);
}

void v6_range(struct cls_rule *r, bool src, const char *lo, const char *hi)
{
	union cls_addr *l = src ? &r->src_lo : &r->dst_lo, *h = src ? &r->src_hi : &r->dst_hi;

	l->v6 = ip6(lo);
	h->v6 = ip6(hi);
}

void expect_rule(const struct cls_rule *got, const struct cls_rule *want)
{
	char g[320], w[320];

	cls_rule_format(got, g, sizeof(g));
	cls_rule_format(want, w, sizeof(w));
	cr_assert(rule_eq(got, want), "rule differs:\n got: %s (family %u)\nwant: %s (family %u)",
		  g, got->family, w, want->family);
}

char *xstrcat_lines(size_t n, const char *(*line)(size_t i, char *tmp))
{
	size_t cap = 256, len = 0;
	char *s = malloc(cap), tmp[512];

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		const char *l = line(i, tmp);
		size_t ln = strlen(l);
		while (len + ln + 2 > cap) {
			cap *= 2;
			s = realloc(s, cap);
			cr_assert_not_null(s);
		}
		memcpy(s + len, l, ln);
		len += ln;
		s[len++] = '\n';
	}
	s[len] = '\0';
	return s;
}
