/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PARSE_CHECK_H
#define NC_PARSE_CHECK_H
/*
 * Helpers of the rule-file suites.  Every parse goes through a heap copy of
 * exactly len bytes, so that a read past the end of the buffer shows up
 * under ASan.  Errors are checked for the exact "NAME:line: " prefix, a
 * phrase of the message, and an untouched *out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify_parse.h"

#define NAME "t.rules"

int parse_n(const char *text, size_t len, enum cls_format fmt, struct cls_ruleset **rs,
	    char *err, size_t errlen);
struct cls_ruleset *parse_ok_n(const char *text, size_t len, enum cls_format fmt);
struct cls_ruleset *parse_ok(const char *text, enum cls_format fmt);
void expect_err_n(const char *text, size_t len, enum cls_format fmt, unsigned line,
		  const char *what);
void expect_err(const char *text, enum cls_format fmt, unsigned line, const char *what);
uint32_t ip4(const char *s);
struct cls_ip6 ip6(const char *s);
bool addr_eq(uint8_t fam, union cls_addr a, union cls_addr b);
bool rule_eq(const struct cls_rule *a, const struct cls_rule *b);
void v4_range(struct cls_rule *r, bool src, const char *lo, const char *hi);
void v6_range(struct cls_rule *r, bool src, const char *lo, const char *hi);
void expect_rule(const struct cls_rule *got, const struct cls_rule *want);
char *xstrcat_lines(size_t n, const char *(*line)(size_t i, char *tmp));

#endif
