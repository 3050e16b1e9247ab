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
#include "parse_int.h"
#include "parse_names.h"

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
		return clsp_perr(px, "missing %s prefix", field);
	e = clsp_addr_range(t, true, &r);
	if (e != AE_OK)
		return clsp_addr_error(px, field, e, &r);
	if (r.fam != want)
		return clsp_perr(px, "%s prefix '%s' is %s in an %s ClassBench file", field,
			    clsp_quote(&q, t), fam_name(r.fam), fam_name(want));
	*lo = r.lo;
	*hi = r.hi;
	return 0;
}

/* "lo : hi" with optional blanks around ':'. */
static int cb_ports(struct pctx *px, const char *field, const char **pp, const char *e,
		    uint16_t *plo, uint16_t *phi)
{
	const char *p = clsp_skip_blanks(*pp, e), *s = p;
	char what[24];
	uint64_t lo, hi;
	int rc;

	snprintf(what, sizeof(what), "%s port", field);
	if (p == e)
		return clsp_perr(px, "missing %s port range (expected 'lo : hi')", field);
	while (p < e && !clsp_is_blank(*p) && *p != ':')
		p++;
	struct span ls = {s, (size_t)(p - s)};
	p = clsp_skip_blanks(p, e);
	if (p == e || *p != ':' || ls.n == 0)
		return clsp_perr(px, "expected 'lo : hi' %s port range", field);
	p++;
	struct span hs = clsp_next_token(&p, e);
	if (hs.n == 0)
		return clsp_perr(px, "expected 'lo : hi' %s port range", field);
	if ((rc = clsp_get_uint(px, what, ls, false, 65535, &lo)) < 0 ||
	    (rc = clsp_get_uint(px, what, hs, false, 65535, &hi)) < 0)
		return rc;
	*pp = p;
	return clsp_check_ports(px, field, lo, hi, plo, phi);
}

static int parse_cb_line(struct pctx *px, const char *p, const char *e, uint8_t fam,
			 struct cls_rule *r)
{
	int rc;

	p = clsp_skip_blanks(p, e);
	if (*p != '@') /* p < e: the line is not blank */
		return clsp_perr(px, "expected '@' at the start of a ClassBench rule");
	p++;
	r->family = fam;
	if ((rc = cb_prefix(px, "source", clsp_next_token(&p, e), fam, &r->src_lo, &r->src_hi)) < 0 ||
	    (rc = cb_prefix(px, "destination", clsp_next_token(&p, e), fam, &r->dst_lo, &r->dst_hi)) < 0 ||
	    (rc = cb_ports(px, "source", &p, e, &r->sport_lo, &r->sport_hi)) < 0 ||
	    (rc = cb_ports(px, "destination", &p, e, &r->dport_lo, &r->dport_hi)) < 0)
		return rc;
	struct span pt = clsp_next_token(&p, e);
	if (pt.n == 0)
		return clsp_perr(px, "missing protocol (expected VALUE/MASK, e.g. 0x06/0xFF)");
	/* The flags column and anything after it are ignored. */
	return clsp_parse_proto_vm(px, pt, false, r);
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

	if (clsp_span_eq_ci(t, "any")) {
		*plo = 0;
		*phi = UINT16_MAX;
		return 0;
	}
	snprintf(what, sizeof(what), "%s port", field);
	struct span ls = {t.p, dash ? (size_t)(dash - t.p) : t.n};
	if ((rc = clsp_get_uint(px, what, ls, false, 65535, &lo)) < 0)
		return rc;
	hi = lo;
	if (dash) {
		struct span hs = {dash + 1, t.n - ls.n - 1};
		if ((rc = clsp_get_uint(px, what, hs, false, 65535, &hi)) < 0)
			return rc;
	}
	return clsp_check_ports(px, field, lo, hi, plo, phi);
}

static int native_proto(struct pctx *px, struct span t, struct cls_rule *r)
{
	if (clsp_span_eq_ci(t, "any")) {
		r->proto = 0;
		r->proto_mask = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (clsp_span_eq_ci(t, proto_names[i].name)) {
			r->proto = proto_names[i].num;
			r->proto_mask = 0xff;
			return 0;
		}
	}
	if (t.n > 0 && (t.p[0] < '0' || t.p[0] > '9')) {
		struct quoted q;
		return clsp_perr(px, "unknown protocol '%s' (any, tcp, udp, icmp, icmpv6, N or N/MASK)",
			    clsp_quote(&q, t));
	}
	return clsp_parse_proto_vm(px, t, true, r);
}

static int native_priority(struct pctx *px, struct span t, int32_t *prio)
{
	bool neg = t.n > 0 && t.p[0] == '-';
	struct span m = {t.p + neg, t.n - neg};
	uint64_t max = neg ? (uint64_t)INT32_MAX + 1 : INT32_MAX, v;
	enum num_rc rc = clsp_parse_uint(m, false, max, &v);
	struct quoted q;

	if (rc == NUM_RANGE)
		return clsp_perr(px, "priority %s is out of range (%" PRId32 " to %" PRId32 ")",
			    clsp_quote(&q, t), INT32_MIN, INT32_MAX);
	if (rc != NUM_OK)
		return clsp_perr(px, "priority '%s' is not a decimal number", clsp_quote(&q, t));
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
	clsp_full_range(0, &nv->src.lo, &nv->src.hi);
	clsp_full_range(0, &nv->dst.lo, &nv->dst.hi);
	r->sport_hi = r->dport_hi = UINT16_MAX;
	for (;;) {
		struct span kt = clsp_next_token(&p, e);
		size_t i;
		if (kt.n == 0)
			break;
		for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (clsp_span_eq_ci(kt, keywords[i].word))
				break;
		if (i == sizeof(keywords) / sizeof(keywords[0]))
			return clsp_perr(px, "unknown keyword '%s'", clsp_quote(&q, kt));
		enum kw kw = keywords[i].kw;
		if (seen & 1u << kw)
			return clsp_perr(px, "keyword '%s' given twice", kw_name[kw]);
		seen |= 1u << kw;
		struct span vt = clsp_next_token(&p, e);
		if (vt.n == 0)
			return clsp_perr(px, "missing value after '%s'", clsp_quote(&q, kt));
		switch (kw) {
		case KW_ID:
			rc = clsp_get_uint(px, "id", vt, false, UINT32_MAX, &v);
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
			ae = clsp_addr_range(vt, false, ar);
			rc = ae == AE_OK ? 0 :
			     clsp_addr_error(px, kw == KW_SRC ? "source" : "destination", ae, ar);
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
			rc = clsp_perr(px, "internal error");
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (nv->src.fam && nv->dst.fam && nv->src.fam != nv->dst.fam)
		return clsp_perr(px, "source and destination families differ (%s and %s)",
			    fam_name(nv->src.fam), fam_name(nv->dst.fam));
	r->family = nv->src.fam ? nv->src.fam : nv->dst.fam ? nv->dst.fam : CLS_IPV4;
	/* "any": the full range of the rule's family, unused bytes zero. */
	if (nv->src.fam == 0)
		clsp_full_range(r->family, &nv->src.lo, &nv->src.hi);
	if (nv->dst.fam == 0)
		clsp_full_range(r->family, &nv->dst.lo, &nv->dst.hi);
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
	const char *p = clsp_skip_blanks(l.p, l.p + l.n);

	return p < l.p + l.n && *p != '#';
}

static enum cls_format detect(struct span first)
{
	const char *p = clsp_skip_blanks(first.p, first.p + first.n), *e = first.p + first.n;

	if (*p != '@')
		return CLS_FMT_NATIVE;
	p++;
	struct span a = clsp_next_token(&p, e);
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
			rc = clsp_perr(&px, "too many lines");
			goto fail;
		}
		px.line = (uint32_t)line;
		if (nul) {
			rc = clsp_perr(&px, "NUL byte in column %zu", (size_t)(nul - l.p) + 1);
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
			rc = clsp_perr(&px, "%s", why);
			goto fail;
		}
		if (ids.slot && (dup = idset_add(&ids, rs->rules, k - 1)) != SIZE_MAX) {
			rc = clsp_perr(&px, "id %" PRIu32 "%s is already used by the rule on line %" PRIu32,
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
