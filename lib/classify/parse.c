/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rule files: ClassBench (IPv4 and IPv6) and the native syntax, read from a
 * buffer or a file, and the native formatter.  The formats are described in
 * classify_parse.h; choices the header leaves open are made here:
 *
 * - The input is a byte buffer, not a string: it is never read past len, a
 *   NUL byte anywhere (comments included) is an error, and there is no line
 *   length limit.  Lines end with "\n" or "\r\n"; blanks are spaces and tabs.
 * - Blank lines and lines whose first non-blank character is '#' are skipped
 *   and not counted as rules, in every format.  In the native syntax '#'
 *   also starts a comment after a rule.
 * - A prefix with host bits set (10.0.0.1/8) is accepted and masked to the
 *   network (10.0.0.0/8), as dpdk-test-acl does, in every format.
 * - Protocol value/mask: the value is stored masked (proto & proto_mask), so
 *   "0x06/0x00" and "any" are the same rule.  Numbers are decimal or 0x-hex.
 * - Native syntax defaults: src/dst any, sport/dport any, proto any.  "any"
 *   carries no family: the rule takes the family of the other address, and is
 *   IPv4 if neither address names one (write "src ::/0" for an IPv6 rule that
 *   matches every address).  src and dst of different families: error.
 * - Native keywords and "any" and protocol names are case-insensitive;
 *   "prio" is accepted for "priority"; each keyword at most once.
 * - Native numbers: id and ports decimal; priority decimal with an optional
 *   '-' (it is an int32_t, and cls_rule_format() must round-trip every valid
 *   rule); '+', empty numbers and overflow are errors.
 * - Ids must be unique in a file, whether given or defaulted to the rule
 *   number; the error names the later of the two lines.
 * - At most INT32_MAX rules per buffer, so that default priorities stay
 *   positive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify_parse.h"
#include "parse_names.h"

#define DEFAULT_NAME "<buffer>"

/* ------------------------------------------------------------ helpers */

struct span {
	const char *p;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool span_eq_ci(struct span s, const char *word)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (word[i] == '\0' || lower(s.p[i]) != word[i])
			return false;
	return word[i] == '\0';
}

static const char *skip_blanks(const char *p, const char *e)
{
	while (p < e && is_blank(*p))
		p++;
	return p;
}

/* The next run of non-blank characters (empty at the end of the line). */
static struct span next_token(const char **pp, const char *e)
{
	const char *p = skip_blanks(*pp, e), *s = p;

	while (p < e && !is_blank(*p))
		p++;
	*pp = p;
	return (struct span){s, (size_t)(p - s)};
}

/* Printable, bounded copy of untrusted text for error messages. */
struct quoted {
	char s[52];
};

static const char *quote(struct quoted *q, struct span t)
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

enum num_rc { NUM_OK, NUM_EMPTY, NUM_BAD, NUM_RANGE };

static int digit_val(char c, unsigned base)
{
	int d = -1;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (base == 16 && lower(c) >= 'a' && lower(c) <= 'f')
		d = lower(c) - 'a' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

/* Unsigned decimal (or 0x-hex if hex_ok) in [0, max].  Signs are not digits:
 * "+1" and "-1" are NUM_BAD.  A number too large is NUM_RANGE only if every
 * character is a digit. */
static enum num_rc parse_uint(struct span t, bool hex_ok, uint64_t max, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool range = false;

	if (t.n == 0)
		return NUM_EMPTY;
	if (hex_ok && t.n > 2 && t.p[0] == '0' && lower(t.p[1]) == 'x') {
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

enum addr_err {
	AE_OK,
	AE_EMPTY,      /* nothing given */
	AE_ADDR,       /* not an address */
	AE_LEN,        /* prefix length not a number */
	AE_LEN_RANGE,  /* prefix length too large */
	AE_NOLEN,      /* ClassBench: no "/LEN" */
	AE_MIX,        /* ADDR-ADDR of two families */
	AE_ORDER,      /* ADDR-ADDR with first > last */
};

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

struct arange {
	uint8_t fam; /* 0 for "any" */
	union cls_addr lo, hi;
	struct span bad; /* AE_*: the offending part of the text */
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
static void full_range(uint8_t fam, union cls_addr *lo, union cls_addr *hi)
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
static enum addr_err addr_range(struct span t, bool prefix_only, struct arange *r)
{
	const char *slash, *dash;
	uint8_t fam2;
	union cls_addr a, b;
	uint64_t len;

	r->bad = t;
	r->fam = 0;
	if (t.n == 0)
		return AE_EMPTY;
	if (!prefix_only && span_eq_ci(t, "any")) {
		full_range(0, &r->lo, &r->hi);
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
		switch (parse_uint(ls, false, r->fam == CLS_IPV4 ? 32 : 128, &len)) {
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
	e = addr_range((struct span){s, len}, false, &r);
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

struct pctx {
	const char *name;
	uint32_t line;
	char *err;
	size_t errlen;
};

static int perr(struct pctx *px, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "name:line: message" into the caller's buffer; returns -EINVAL. */
static int perr(struct pctx *px, const char *fmt, ...)
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

static int addr_error(struct pctx *px, const char *field, enum addr_err e, const struct arange *r)
{
	struct quoted q;
	const char *b = quote(&q, r->bad);

	switch (e) {
	case AE_EMPTY:
		return perr(px, "missing %s address", field);
	case AE_ADDR:
		return perr(px, "%s address '%s' is not a valid IPv4 or IPv6 address", field, b);
	case AE_LEN:
		return perr(px, "%s prefix length '%s' is not a decimal number", field, b);
	case AE_LEN_RANGE:
		return perr(px, "%s prefix length %s is out of range (0-%d)", field, b,
			    r->fam == CLS_IPV4 ? 32 : 128);
	case AE_NOLEN:
		return perr(px, "%s prefix '%s' has no /LEN", field, b);
	case AE_MIX:
		return perr(px, "%s range '%s' mixes IPv4 and IPv6 addresses", field, b);
	case AE_ORDER:
		return perr(px, "%s range '%s' is empty (first address above last)", field, b);
	case AE_OK:
		break;
	}
	return perr(px, "%s address: internal error", field);
}

/* A number of a field; what names it ("source port"). */
static int num_error(struct pctx *px, const char *what, struct span t, enum num_rc rc,
		     uint64_t max, bool hex_ok)
{
	struct quoted q;

	if (rc == NUM_EMPTY)
		return perr(px, "missing %s", what);
	if (rc == NUM_RANGE)
		return perr(px, "%s %s is out of range (0-%" PRIu64 ")", what, quote(&q, t), max);
	return perr(px, "%s '%s' is not a %s number", what, quote(&q, t),
		    hex_ok ? "decimal or 0x-hex" : "decimal");
}

static int get_uint(struct pctx *px, const char *what, struct span t, bool hex_ok,
		    uint64_t max, uint64_t *v)
{
	enum num_rc rc = parse_uint(t, hex_ok, max, v);

	return rc == NUM_OK ? 0 : num_error(px, what, t, rc, max, hex_ok);
}

static int check_ports(struct pctx *px, const char *field, uint64_t lo, uint64_t hi,
		       uint16_t *plo, uint16_t *phi)
{
	if (lo > hi)
		return perr(px, "%s port range %" PRIu64 "-%" PRIu64 " is empty", field, lo, hi);
	*plo = (uint16_t)lo;
	*phi = (uint16_t)hi;
	return 0;
}

/* VALUE/MASK (or VALUE alone when allow_plain, meaning mask 0xff). */
static int parse_proto_vm(struct pctx *px, struct span t, bool allow_plain, struct cls_rule *r)
{
	const char *slash = memchr(t.p, '/', t.n);
	uint64_t v, m = 0xff;
	struct quoted q;
	int rc;

	if (slash == NULL && !allow_plain)
		return perr(px, "protocol '%s' is not VALUE/MASK (e.g. 0x06/0xFF)", quote(&q, t));
	struct span vs = {t.p, slash ? (size_t)(slash - t.p) : t.n};
	if ((rc = get_uint(px, "protocol", vs, true, 255, &v)) < 0)
		return rc;
	if (slash) {
		struct span ms = {slash + 1, t.n - vs.n - 1};
		if ((rc = get_uint(px, "protocol mask", ms, true, 255, &m)) < 0)
			return rc;
	}
	r->proto_mask = (uint8_t)m;
	r->proto = (uint8_t)(v & m);
	return 0;
}

/* ------------------------------------------------------------ ClassBench */

static const char *fam_name(uint8_t fam)
{
	return fam == CLS_IPV4 ? "IPv4" : "IPv6";
}

static int cb_prefix(struct pctx *px, const char *field, struct span t, uint8_t want,
		     union cls_addr *lo, union cls_addr *hi)
{
	struct arange r;
	enum addr_err e;
	struct quoted q;

	if (t.n == 0)
		return perr(px, "missing %s prefix", field);
	e = addr_range(t, true, &r);
	if (e != AE_OK)
		return addr_error(px, field, e, &r);
	if (r.fam != want)
		return perr(px, "%s prefix '%s' is %s in an %s ClassBench file", field,
			    quote(&q, t), fam_name(r.fam), fam_name(want));
	*lo = r.lo;
	*hi = r.hi;
	return 0;
}

/* "lo : hi" with optional blanks around ':'. */
static int cb_ports(struct pctx *px, const char *field, const char **pp, const char *e,
		    uint16_t *plo, uint16_t *phi)
{
	const char *p = skip_blanks(*pp, e), *s = p;
	char what[24];
	uint64_t lo, hi;
	int rc;

	snprintf(what, sizeof(what), "%s port", field);
	if (p == e)
		return perr(px, "missing %s port range (expected 'lo : hi')", field);
	while (p < e && !is_blank(*p) && *p != ':')
		p++;
	struct span ls = {s, (size_t)(p - s)};
	p = skip_blanks(p, e);
	if (p == e || *p != ':' || ls.n == 0)
		return perr(px, "expected 'lo : hi' %s port range", field);
	p++;
	struct span hs = next_token(&p, e);
	if (hs.n == 0)
		return perr(px, "expected 'lo : hi' %s port range", field);
	if ((rc = get_uint(px, what, ls, false, 65535, &lo)) < 0 ||
	    (rc = get_uint(px, what, hs, false, 65535, &hi)) < 0)
		return rc;
	*pp = p;
	return check_ports(px, field, lo, hi, plo, phi);
}

static int parse_cb_line(struct pctx *px, const char *p, const char *e, uint8_t fam,
			 struct cls_rule *r)
{
	int rc;

	p = skip_blanks(p, e);
	if (*p != '@') /* p < e: the line is not blank */
		return perr(px, "expected '@' at the start of a ClassBench rule");
	p++;
	r->family = fam;
	if ((rc = cb_prefix(px, "source", next_token(&p, e), fam, &r->src_lo, &r->src_hi)) < 0 ||
	    (rc = cb_prefix(px, "destination", next_token(&p, e), fam, &r->dst_lo, &r->dst_hi)) < 0 ||
	    (rc = cb_ports(px, "source", &p, e, &r->sport_lo, &r->sport_hi)) < 0 ||
	    (rc = cb_ports(px, "destination", &p, e, &r->dport_lo, &r->dport_hi)) < 0)
		return rc;
	struct span pt = next_token(&p, e);
	if (pt.n == 0)
		return perr(px, "missing protocol (expected VALUE/MASK, e.g. 0x06/0xFF)");
	/* The flags column and anything after it are ignored. */
	return parse_proto_vm(px, pt, false, r);
}

/* ------------------------------------------------------------ native */

enum kw { KW_ID, KW_PRIO, KW_SRC, KW_DST, KW_SPORT, KW_DPORT, KW_PROTO, KW_N };

static const struct {
	const char *word;
	enum kw kw;
} keywords[] = {
	{"id", KW_ID},       {"priority", KW_PRIO}, {"prio", KW_PRIO},   {"src", KW_SRC},
	{"dst", KW_DST},     {"sport", KW_SPORT},   {"dport", KW_DPORT}, {"proto", KW_PROTO},
};

static const char *const kw_name[KW_N] = {"id", "priority", "src", "dst", "sport", "dport",
					  "proto"};



struct native {
	bool has_id, has_prio;
	struct arange src, dst;
};

/* any | N | N-M */
static int native_ports(struct pctx *px, const char *field, struct span t, uint16_t *plo,
			uint16_t *phi)
{
	const char *dash = memchr(t.p, '-', t.n);
	uint64_t lo, hi;
	char what[24];
	int rc;

	if (span_eq_ci(t, "any")) {
		*plo = 0;
		*phi = UINT16_MAX;
		return 0;
	}
	snprintf(what, sizeof(what), "%s port", field);
	struct span ls = {t.p, dash ? (size_t)(dash - t.p) : t.n};
	if ((rc = get_uint(px, what, ls, false, 65535, &lo)) < 0)
		return rc;
	hi = lo;
	if (dash) {
		struct span hs = {dash + 1, t.n - ls.n - 1};
		if ((rc = get_uint(px, what, hs, false, 65535, &hi)) < 0)
			return rc;
	}
	return check_ports(px, field, lo, hi, plo, phi);
}

static int native_proto(struct pctx *px, struct span t, struct cls_rule *r)
{
	if (span_eq_ci(t, "any")) {
		r->proto = 0;
		r->proto_mask = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (span_eq_ci(t, proto_names[i].name)) {
			r->proto = proto_names[i].num;
			r->proto_mask = 0xff;
			return 0;
		}
	}
	if (t.n > 0 && (t.p[0] < '0' || t.p[0] > '9')) {
		struct quoted q;
		return perr(px, "unknown protocol '%s' (any, tcp, udp, icmp, icmpv6, N or N/MASK)",
			    quote(&q, t));
	}
	return parse_proto_vm(px, t, true, r);
}

static int native_priority(struct pctx *px, struct span t, int32_t *prio)
{
	bool neg = t.n > 0 && t.p[0] == '-';
	struct span m = {t.p + neg, t.n - neg};
	uint64_t max = neg ? (uint64_t)INT32_MAX + 1 : INT32_MAX, v;
	enum num_rc rc = parse_uint(m, false, max, &v);
	struct quoted q;

	if (rc == NUM_RANGE)
		return perr(px, "priority %s is out of range (%" PRId32 " to %" PRId32 ")",
			    quote(&q, t), INT32_MIN, INT32_MAX);
	if (rc != NUM_OK)
		return perr(px, "priority '%s' is not a decimal number", quote(&q, t));
	*prio = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

static int parse_native_line(struct pctx *px, const char *p, const char *e, struct cls_rule *r,
			     struct native *nv)
{
	unsigned seen = 0;
	uint64_t v = 0;
	enum addr_err ae;
	struct quoted q;
	int rc;

	nv->src.fam = nv->dst.fam = 0;
	full_range(0, &nv->src.lo, &nv->src.hi);
	full_range(0, &nv->dst.lo, &nv->dst.hi);
	r->sport_hi = r->dport_hi = UINT16_MAX;
	for (;;) {
		struct span kt = next_token(&p, e);
		size_t i;
		if (kt.n == 0)
			break;
		for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (span_eq_ci(kt, keywords[i].word))
				break;
		if (i == sizeof(keywords) / sizeof(keywords[0]))
			return perr(px, "unknown keyword '%s'", quote(&q, kt));
		enum kw kw = keywords[i].kw;
		if (seen & 1u << kw)
			return perr(px, "keyword '%s' given twice", kw_name[kw]);
		seen |= 1u << kw;
		struct span vt = next_token(&p, e);
		if (vt.n == 0)
			return perr(px, "missing value after '%s'", quote(&q, kt));
		switch (kw) {
		case KW_ID:
			rc = get_uint(px, "id", vt, false, UINT32_MAX, &v);
			r->id = (uint32_t)v;
			nv->has_id = true;
			break;
		case KW_PRIO:
			rc = native_priority(px, vt, &r->priority);
			nv->has_prio = true;
			break;
		case KW_SRC:
		case KW_DST: {
			struct arange *ar = kw == KW_SRC ? &nv->src : &nv->dst;
			ae = addr_range(vt, false, ar);
			rc = ae == AE_OK ? 0 :
			     addr_error(px, kw == KW_SRC ? "source" : "destination", ae, ar);
			break;
		}
		case KW_SPORT:
			rc = native_ports(px, "source", vt, &r->sport_lo, &r->sport_hi);
			break;
		case KW_DPORT:
			rc = native_ports(px, "destination", vt, &r->dport_lo, &r->dport_hi);
			break;
		case KW_PROTO:
			rc = native_proto(px, vt, r);
			break;
		default:
			rc = perr(px, "internal error");
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (nv->src.fam && nv->dst.fam && nv->src.fam != nv->dst.fam)
		return perr(px, "source and destination families differ (%s and %s)",
			    fam_name(nv->src.fam), fam_name(nv->dst.fam));
	r->family = nv->src.fam ? nv->src.fam : nv->dst.fam ? nv->dst.fam : CLS_IPV4;
	/* "any": the full range of the rule's family, unused bytes zero. */
	if (nv->src.fam == 0)
		full_range(r->family, &nv->src.lo, &nv->src.hi);
	if (nv->dst.fam == 0)
		full_range(r->family, &nv->dst.lo, &nv->dst.hi);
	r->src_lo = nv->src.lo;
	r->src_hi = nv->src.hi;
	r->dst_lo = nv->dst.lo;
	r->dst_hi = nv->dst.hi;
	return 0;
}

/* ------------------------------------------------------------ id set */

/* Open addressing; a slot holds (rule index + 1), 0 is empty. */
struct idset {
	uint32_t *slot;
	size_t mask;
};

static size_t id_hash(uint32_t id, size_t mask)
{
	return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Returns the index of the rule already holding id, or SIZE_MAX after adding. */
static size_t idset_add(struct idset *s, const struct cls_rule *rules, size_t idx)
{
	uint32_t id = rules[idx].id;

	for (size_t h = id_hash(id, s->mask);; h = (h + 1) & s->mask) {
		if (s->slot[h] == 0) {
			s->slot[h] = (uint32_t)(idx + 1);
			return SIZE_MAX;
		}
		if (rules[s->slot[h] - 1].id == id)
			return s->slot[h] - 1;
	}
}

/* ------------------------------------------------------------ driver */

/* [*pos, end of line) without "\n" / "\r\n"; advances *pos. */
static struct span next_line(const char *buf, size_t len, size_t *pos)
{
	const char *s = buf + *pos, *nl = memchr(s, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - s) : len - *pos;

	*pos += n + (nl != NULL);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	return (struct span){s, n};
}

/* Not blank and not a comment. */
static bool is_rule_line(struct span l)
{
	const char *p = skip_blanks(l.p, l.p + l.n);

	return p < l.p + l.n && *p != '#';
}

static enum cls_format detect(struct span first)
{
	const char *p = skip_blanks(first.p, first.p + first.n), *e = first.p + first.n;

	if (*p != '@')
		return CLS_FMT_NATIVE;
	p++;
	struct span a = next_token(&p, e);
	const char *slash = memchr(a.p, '/', a.n);
	if (slash)
		a.n = (size_t)(slash - a.p);
	return memchr(a.p, ':', a.n) ? CLS_FMT_CLASSBENCH6 : CLS_FMT_CLASSBENCH;
}

void cls_ruleset_free(struct cls_ruleset *rs)
{
	if (rs == NULL)
		return;
	free(rs->rules);
	free(rs->lines);
	free(rs);
}

static int oom(struct pctx *px)
{
	if (px->err && px->errlen)
		snprintf(px->err, px->errlen, "%s: out of memory", px->name);
	return -ENOMEM;
}

int cls_parse_buffer(const char *buf, size_t len, const char *name, enum cls_format fmt,
		     struct cls_ruleset **out, char *err, size_t errlen)
{
	struct pctx px = {name ? name : DEFAULT_NAME, 0, err, errlen};
	struct cls_ruleset *rs = NULL;
	struct idset ids = {NULL, 0};
	struct span first = {NULL, 0};
	size_t n = 0, k = 0, pos = 0;
	uint64_t line = 0;
	int rc;

	if (out == NULL || (buf == NULL && len > 0) ||
	    (fmt != CLS_FMT_AUTO && fmt != CLS_FMT_CLASSBENCH && fmt != CLS_FMT_CLASSBENCH6 &&
	     fmt != CLS_FMT_NATIVE)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: invalid argument", px.name);
		return -EINVAL;
	}

	/* Pass 1: count rules (default priorities need n) and find the first. */
	while (pos < len) {
		struct span l = next_line(buf, len, &pos);
		if (is_rule_line(l) && n++ == 0)
			first = l;
	}
	if (n > INT32_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: too many rules (at most %d)", px.name, INT32_MAX);
		return -EINVAL;
	}
	if (fmt == CLS_FMT_AUTO)
		fmt = n ? detect(first) : CLS_FMT_NATIVE;

	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return oom(&px);
	rs->rules = calloc(n ? n : 1, sizeof(*rs->rules));
	rs->lines = calloc(n ? n : 1, sizeof(*rs->lines));
	if (rs->rules == NULL || rs->lines == NULL)
		goto nomem;
	if (fmt == CLS_FMT_NATIVE && n > 0) {
		size_t cap = 16; /* load <= 1/2; n <= INT32_MAX keeps 2 * n exact */
		while (cap < 2 * n && cap <= SIZE_MAX / 2 / sizeof(*ids.slot))
			cap <<= 1;
		ids.slot = calloc(cap, sizeof(*ids.slot));
		ids.mask = cap - 1;
		if (ids.slot == NULL)
			goto nomem;
	}

	/* Pass 2: parse. */
	for (pos = 0; pos < len;) {
		struct span l = next_line(buf, len, &pos);
		const char *nul = memchr(l.p, '\0', l.n);
		struct native nv = {0};
		struct cls_rule *r;
		const char *why;
		size_t dup;

		if (++line > UINT32_MAX) {
			px.line = UINT32_MAX;
			rc = perr(&px, "too many lines");
			goto fail;
		}
		px.line = (uint32_t)line;
		if (nul) {
			rc = perr(&px, "NUL byte in column %zu", (size_t)(nul - l.p) + 1);
			goto fail;
		}
		if (!is_rule_line(l))
			continue;
		r = &rs->rules[k];
		memset(r, 0, sizeof(*r));
		if (fmt == CLS_FMT_NATIVE) {
			const char *hash = memchr(l.p, '#', l.n);
			rc = parse_native_line(&px, l.p, hash ? hash : l.p + l.n, r, &nv);
		} else {
			rc = parse_cb_line(&px, l.p, l.p + l.n,
					   fmt == CLS_FMT_CLASSBENCH ? CLS_IPV4 : CLS_IPV6, r);
		}
		if (rc < 0)
			goto fail;
		k++;
		if (!nv.has_id)
			r->id = (uint32_t)k;
		if (!nv.has_prio)
			r->priority = (int32_t)(n + 1 - k);
		if (cls_rule_check(r, &why) < 0) {
			rc = perr(&px, "%s", why);
			goto fail;
		}
		if (ids.slot && (dup = idset_add(&ids, rs->rules, k - 1)) != SIZE_MAX) {
			rc = perr(&px, "id %" PRIu32 "%s is already used by the rule on line %" PRIu32,
				  r->id, nv.has_id ? "" : " (the rule's number)", rs->lines[dup]);
			goto fail;
		}
		rs->lines[k - 1] = px.line;
	}
	free(ids.slot);
	rs->n = k;
	if (err && errlen)
		err[0] = '\0';
	*out = rs;
	return 0;

nomem:
	rc = oom(&px);
fail:
	free(ids.slot);
	cls_ruleset_free(rs);
	return rc;
}

/* ------------------------------------------------------------ files */

static int file_error(const char *path, int e, char *err, size_t errlen)
{
	char b[128];

	if (err && errlen) {
		if (strerror_r(e, b, sizeof(b)) != 0)
			snprintf(b, sizeof(b), "error %d", e);
		snprintf(err, errlen, "%s: %s", path, b);
	}
	return -e;
}

int cls_parse_file(const char *path, enum cls_format fmt, struct cls_ruleset **out, char *err,
		   size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, len = 0;
	int fd, e = 0, rc;

	if (path == NULL || out == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: invalid argument", path ? path : "(null)");
		return -EINVAL;
	}
	do {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return file_error(path, errno, err, errlen);
	if (fstat(fd, &st) < 0) {
		e = errno;
		goto out;
	}
	/* st_size is a hint (0 for pipes); read until EOF. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX - 1 ?
		      (size_t)st.st_size + 1 : 4096;
	for (;;) {
		if (buf == NULL || len == cap) {
			size_t ncap = buf == NULL ? cap : cap * 2;
			char *nb = ncap > cap || buf == NULL ? realloc(buf, ncap) : NULL;
			if (nb == NULL) {
				e = ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
out:
	close(fd);
	if (e) {
		free(buf);
		return file_error(path, e, err, errlen);
	}
	rc = cls_parse_buffer(buf, len, path, fmt, out, err, errlen);
	free(buf);
	return rc;
}
