/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the nat_ctl tests (test_nat_ctl*.c): run one request through
 * nat_ctl_exec() against a backend and check the shape of the answer (ok
 * or a one-line error), then pick it apart (body, lines, counts, "N ...
 * shown", JSON validity).  Every helper asserts what it checks, so a test
 * that uses them asserts exactly what it would inline.
 */
#ifndef NCNAT_TEST_NAT_CTL_UTIL_H
#define NCNAT_TEST_NAT_CTL_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "nat_ctl.h"

/* not every file uses every helper */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

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

/* ok(), and the whole answer is want. */
static void ok_is(const struct nat_ctl_backend *be, const char *req, const char *want)
{
	char *out = ok(be, req);

	cr_assert_str_eq(out, want);
	free(out);
}

/* ok(), and the listing's total line says want shown. */
static void ok_shown(const struct nat_ctl_backend *be, const char *req, unsigned want)
{
	char *out = ok(be, req);

	cr_assert_eq(shown(out), want);
	free(out);
}

/* fails(), and the error line is want. */
static void fails_is(const struct nat_ctl_backend *be, const char *req, const char *want)
{
	char *out = fails(be, req);

	cr_assert_str_eq(out, want);
	free(out);
}

#pragma GCC diagnostic pop

#endif /* NCNAT_TEST_NAT_CTL_UTIL_H */
