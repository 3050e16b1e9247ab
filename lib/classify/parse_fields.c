/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rule-file fields: tokens, numbers, addresses and ranges, protocol
 * value/mask, and the "name:line: what" errors, shared by the line formats
 * in parse.c.  Never reads past the end of the span it is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_parse.h"
#include "parse_int.h"

/* ------------------------------------------------------------ helpers */



bool clsp_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

char clsp_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool clsp_span_eq_ci(struct span s, const char *word)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (word[i] == '\0' || clsp_lower(s.p[i]) != word[i])
			return false;
	return word[i] == '\0';
}

const char *clsp_skip_blanks(const char *p, const char *e)
{
	while (p < e && clsp_is_blank(*p))
		p++;
	return p;
}

/* The next run of non-blank characters (empty at the end of the line). */
struct span clsp_next_token(const char **pp, const char *e)
{
	const char *p = clsp_skip_blanks(*pp, e), *s = p;

	while (p < e && !clsp_is_blank(*p))
		p++;
	*pp = p;
	return (struct span){s, (size_t)(p - s)};
}

/* Printable, bounded copy of untrusted text for error messages. */


const char *clsp_quote(struct quoted *q, struct span t)
{
	size_t o = 0, i;

	for (i = 0; i < t.n && o < sizeof(q->s) - 4; i++) {
		unsigned char c = (unsigned char)t.p[i];
		q->s[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < t.n) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o] = '\0';
	return q->s;
}

static uint64_t load_be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* ------------------------------------------------------------ numbers */



static int digit_val(char c, unsigned base)
{
	int d = -1;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (base == 16 && clsp_lower(c) >= 'a' && clsp_lower(c) <= 'f')
		d = clsp_lower(c) - 'a' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

/* Unsigned decimal (or 0x-hex if hex_ok) in [0, max].  Signs are not digits:
 * "+1" and "-1" are NUM_BAD.  A number too large is NUM_RANGE only if every
 * character is a digit. */
enum num_rc clsp_parse_uint(struct span t, bool hex_ok, uint64_t max, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool range = false;

	if (t.n == 0)
		return NUM_EMPTY;
	if (hex_ok && t.n > 2 && t.p[0] == '0' && clsp_lower(t.p[1]) == 'x') {
		base = 16;
		t.p += 2;
		t.n -= 2;
	}
	for (size_t i = 0; i < t.n; i++) {
		int d = digit_val(t.p[i], base);
		if (d < 0)
			return NUM_BAD;
		if (range || (uint64_t)d > max || v > (max - (uint64_t)d) / base)
			range = true;
		else
			v = v * base + (uint64_t)d;
	}
	if (range)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

/* ------------------------------------------------------------ addresses */



static const char *const addr_why[] = {
	[AE_OK] = NULL,
	[AE_EMPTY] = "empty address",
	[AE_ADDR] = "not a valid IPv4 or IPv6 address",
	[AE_LEN] = "prefix length is not a decimal number",
	[AE_LEN_RANGE] = "prefix length is out of range (0-32 for IPv4, 0-128 for IPv6)",
	[AE_NOLEN] = "prefix has no /LEN",
	[AE_MIX] = "range mixes IPv4 and IPv6 addresses",
	[AE_ORDER] = "range is empty (first address above last)",
};



static int ip6_cmp(struct cls_ip6 a, struct cls_ip6 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* One address; the family is IPv6 if the text contains ':'.  inet_pton()
 * gets a bounded, NUL-terminated copy. */
static int parse_ip(struct span t, uint8_t *fam, union cls_addr *a)
{
	char b[INET6_ADDRSTRLEN + 1];
	uint8_t x[16];

	if (t.n == 0 || t.n >= sizeof(b) || memchr(t.p, '\0', t.n))
		return -1;
	memcpy(b, t.p, t.n);
	b[t.n] = '\0';
	memset(a, 0, sizeof(*a));
	if (memchr(b, ':', t.n)) {
		if (inet_pton(AF_INET6, b, x) != 1)
			return -1;
		a->v6.hi = load_be64(x);
		a->v6.lo = load_be64(x + 8);
		*fam = CLS_IPV6;
	} else {
		if (inet_pton(AF_INET, b, x) != 1)
			return -1;
		a->v4 = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
		*fam = CLS_IPV4;
	}
	return 0;
}

/* The full range of a family (fam 0: all ones, valid for either). */
void clsp_full_range(uint8_t fam, union cls_addr *lo, union cls_addr *hi)
{
	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	if (fam == CLS_IPV4) {
		hi->v4 = UINT32_MAX;
	} else {
		hi->v6.hi = UINT64_MAX;
		hi->v6.lo = UINT64_MAX;
	}
}

/* a/len as a range.  Host bits of a are ignored: 10.0.0.1/8 is 10.0.0.0/8. */
static void prefix_range(uint8_t fam, union cls_addr a, unsigned len, union cls_addr *lo,
			 union cls_addr *hi)
{
	*lo = a;
	*hi = a;
	if (fam == CLS_IPV4) {
		uint32_t m = len ? UINT32_MAX << (32 - len) : 0;
		lo->v4 = a.v4 & m;
		hi->v4 = lo->v4 | ~m;
	} else {
		uint64_t mh = len >= 64 ? UINT64_MAX : len ? UINT64_MAX << (64 - len) : 0;
		uint64_t ml = len <= 64 ? 0 : UINT64_MAX << (128 - len);
		lo->v6.hi = a.v6.hi & mh;
		lo->v6.lo = a.v6.lo & ml;
		hi->v6.hi = lo->v6.hi | ~mh;
		hi->v6.lo = lo->v6.lo | ~ml;
	}
}

/* "any" | ADDR | ADDR/LEN | ADDR-ADDR; prefix_only: ADDR/LEN only. */
enum addr_err clsp_addr_range(struct span t, bool prefix_only, struct arange *r)
{
	const char *slash, *dash;
	uint8_t fam2;
	union cls_addr a, b;
	uint64_t len;

	r->bad = t;
	r->fam = 0;
	if (t.n == 0)
		return AE_EMPTY;
	if (!prefix_only && clsp_span_eq_ci(t, "any")) {
		clsp_full_range(0, &r->lo, &r->hi);
		return AE_OK;
	}
	slash = memchr(t.p, '/', t.n);
	dash = prefix_only ? NULL : memchr(t.p, '-', t.n);
	if (slash) {
		struct span as = {t.p, (size_t)(slash - t.p)};
		struct span ls = {slash + 1, t.n - as.n - 1};
		if (parse_ip(as, &r->fam, &a) < 0) {
			r->bad = as;
			return AE_ADDR;
		}
		r->bad = ls;
		switch (clsp_parse_uint(ls, false, r->fam == CLS_IPV4 ? 32 : 128, &len)) {
		case NUM_OK:
			break;
		case NUM_RANGE:
			return AE_LEN_RANGE;
		default:
			return AE_LEN;
		}
		prefix_range(r->fam, a, (unsigned)len, &r->lo, &r->hi);
		return AE_OK;
	}
	if (prefix_only)
		return AE_NOLEN;
	if (dash) {
		struct span s1 = {t.p, (size_t)(dash - t.p)};
		struct span s2 = {dash + 1, t.n - s1.n - 1};
		if (parse_ip(s1, &r->fam, &a) < 0) {
			r->bad = s1;
			return AE_ADDR;
		}
		if (parse_ip(s2, &fam2, &b) < 0) {
			r->bad = s2;
			return AE_ADDR;
		}
		if (fam2 != r->fam)
			return AE_MIX;
		if (r->fam == CLS_IPV4 ? a.v4 > b.v4 : ip6_cmp(a.v6, b.v6) > 0)
			return AE_ORDER;
		r->lo = a;
		r->hi = b;
		return AE_OK;
	}
	if (parse_ip(t, &r->fam, &a) < 0)
		return AE_ADDR;
	r->lo = a;
	r->hi = a;
	return AE_OK;
}

int cls_parse_addr_range(const char *s, size_t len, uint8_t *family, union cls_addr *lo,
			 union cls_addr *hi, const char **why)
{
	struct arange r;
	enum addr_err e;

	if ((s == NULL && len > 0) || family == NULL || lo == NULL || hi == NULL) {
		if (why)
			*why = "invalid argument";
		return -EINVAL;
	}
	e = clsp_addr_range((struct span){s, len}, false, &r);
	if (why)
		*why = addr_why[e];
	if (e != AE_OK)
		return -EINVAL;
	/* "any" gives family 0 and a range (all zeros to all ones) valid for
	 * both families; the caller decides the family. */
	*family = r.fam;
	*lo = r.lo;
	*hi = r.hi;
	return 0;
}

/* ------------------------------------------------------------ parser state */




/* "name:line: message" into the caller's buffer; returns -EINVAL. */
int clsp_perr(struct pctx *px, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (px->err == NULL || px->errlen == 0)
		return -EINVAL;
	n = snprintf(px->err, px->errlen, "%s:%" PRIu32 ": ", px->name, px->line);
	if (n >= 0 && (size_t)n < px->errlen) {
		va_start(ap, fmt);
		vsnprintf(px->err + n, px->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int clsp_addr_error(struct pctx *px, const char *field, enum addr_err e, const struct arange *r)
{
	struct quoted q;
	const char *b = clsp_quote(&q, r->bad);

	switch (e) {
	case AE_EMPTY:
		return clsp_perr(px, "missing %s address", field);
	case AE_ADDR:
		return clsp_perr(px, "%s address '%s' is not a valid IPv4 or IPv6 address", field, b);
	case AE_LEN:
		return clsp_perr(px, "%s prefix length '%s' is not a decimal number", field, b);
	case AE_LEN_RANGE:
		return clsp_perr(px, "%s prefix length %s is out of range (0-%d)", field, b,
			    r->fam == CLS_IPV4 ? 32 : 128);
	case AE_NOLEN:
		return clsp_perr(px, "%s prefix '%s' has no /LEN", field, b);
	case AE_MIX:
		return clsp_perr(px, "%s range '%s' mixes IPv4 and IPv6 addresses", field, b);
	case AE_ORDER:
		return clsp_perr(px, "%s range '%s' is empty (first address above last)", field, b);
	case AE_OK:
		break;
	}
	return clsp_perr(px, "%s address: internal error", field);
}

/* A number of a field; what names it ("source port"). */
int clsp_num_error(struct pctx *px, const char *what, struct span t, enum num_rc rc,
		     uint64_t max, bool hex_ok)
{
	struct quoted q;

	if (rc == NUM_EMPTY)
		return clsp_perr(px, "missing %s", what);
	if (rc == NUM_RANGE)
		return clsp_perr(px, "%s %s is out of range (0-%" PRIu64 ")", what, clsp_quote(&q, t), max);
	return clsp_perr(px, "%s '%s' is not a %s number", what, clsp_quote(&q, t),
		    hex_ok ? "decimal or 0x-hex" : "decimal");
}

int clsp_get_uint(struct pctx *px, const char *what, struct span t, bool hex_ok,
		    uint64_t max, uint64_t *v)
{
	enum num_rc rc = clsp_parse_uint(t, hex_ok, max, v);

	return rc == NUM_OK ? 0 : clsp_num_error(px, what, t, rc, max, hex_ok);
}

int clsp_check_ports(struct pctx *px, const char *field, uint64_t lo, uint64_t hi,
		       uint16_t *plo, uint16_t *phi)
{
	if (lo > hi)
		return clsp_perr(px, "%s port range %" PRIu64 "-%" PRIu64 " is empty", field, lo, hi);
	*plo = (uint16_t)lo;
	*phi = (uint16_t)hi;
	return 0;
}

/* VALUE/MASK (or VALUE alone when allow_plain, meaning mask 0xff). */
int clsp_parse_proto_vm(struct pctx *px, struct span t, bool allow_plain, struct cls_rule *r)
{
	const char *slash = memchr(t.p, '/', t.n);
	uint64_t v, m = 0xff;
	struct quoted q;
	int rc;

	if (slash == NULL && !allow_plain)
		return clsp_perr(px, "protocol '%s' is not VALUE/MASK (e.g. 0x06/0xFF)", clsp_quote(&q, t));
	struct span vs = {t.p, slash ? (size_t)(slash - t.p) : t.n};
	if ((rc = clsp_get_uint(px, "protocol", vs, true, 255, &v)) < 0)
		return rc;
	if (slash) {
		struct span ms = {slash + 1, t.n - vs.n - 1};
		if ((rc = clsp_get_uint(px, "protocol mask", ms, true, 255, &m)) < 0)
			return rc;
	}
	r->proto_mask = (uint8_t)m;
	r->proto = (uint8_t)(v & m);
	return 0;
}

