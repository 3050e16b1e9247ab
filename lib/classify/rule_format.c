/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cls_rule_format(): a rule in the native syntax (classify_parse.h), one line
 * that cls_parse_buffer(CLS_FMT_NATIVE) reads back to the same rule.
 * Prefixes print as ADDR/LEN, other ranges as ADDR-ADDR, full ranges as any.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "classify_parse.h"
#include "parse_names.h"

static void store_be64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* ------------------------------------------------------------ format */

struct fmtbuf {
	char s[320];
	size_t n;
};

static void put(struct fmtbuf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct fmtbuf *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->n >= sizeof(f->s))
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->s + f->n, sizeof(f->s) - f->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		f->n += (size_t)n;
}

const char *cls_addr_format(uint8_t family, const union cls_addr *a, char *buf, size_t len)
{
	uint8_t b[16];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (family == CLS_IPV6) {
		store_be64(b, a->v6.hi);
		store_be64(b + 8, a->v6.lo);
		inet_ntop(AF_INET6, b, buf, (socklen_t)len);
	} else if (family == CLS_IPV4) {
		b[0] = (uint8_t)(a->v4 >> 24);
		b[1] = (uint8_t)(a->v4 >> 16);
		b[2] = (uint8_t)(a->v4 >> 8);
		b[3] = (uint8_t)a->v4;
		inet_ntop(AF_INET, b, buf, (socklen_t)len);
	}
	return buf;
}

static void put_ip(struct fmtbuf *f, uint8_t fam, union cls_addr a)
{
	char s[CLS_ADDRSTRLEN];
	put(f, "%s", cls_addr_format(fam, &a, s, sizeof(s)));
}

static bool low_ones(uint64_t x)
{
	return (x & (x + 1)) == 0;
}

/* Prefix length if [lo, hi] is a prefix, else -1. */
static int prefix_len(uint8_t fam, union cls_addr lo, union cls_addr hi)
{
	if (fam == CLS_IPV6) {
		uint64_t xh = lo.v6.hi ^ hi.v6.hi, xl = lo.v6.lo ^ hi.v6.lo;
		if ((lo.v6.hi & xh) || (lo.v6.lo & xl) || !low_ones(xl) || !low_ones(xh) ||
		    (xh && xl != UINT64_MAX))
			return -1;
		return 128 - __builtin_popcountll(xh) - __builtin_popcountll(xl);
	}
	uint32_t x = lo.v4 ^ hi.v4;
	if ((lo.v4 & x) || !low_ones(x))
		return -1;
	return 32 - __builtin_popcount(x);
}

static void put_range(struct fmtbuf *f, const char *kw, uint8_t fam, union cls_addr lo,
		      union cls_addr hi, bool any_ok)
{
	int plen = prefix_len(fam, lo, hi);

	put(f, " %s ", kw);
	if (plen == 0 && any_ok) {
		put(f, "any");
		return;
	}
	put_ip(f, fam, lo);
	if (plen >= 0) {
		put(f, "/%d", plen);
	} else {
		put(f, "-");
		put_ip(f, fam, hi);
	}
}

static void put_ports(struct fmtbuf *f, const char *kw, uint16_t lo, uint16_t hi)
{
	if (lo == 0 && hi == UINT16_MAX)
		put(f, " %s any", kw);
	else if (lo == hi)
		put(f, " %s %u", kw, lo);
	else
		put(f, " %s %u-%u", kw, lo, hi);
}

int cls_rule_format(const struct cls_rule *r, char *buf, size_t len)
{
	struct fmtbuf f = {.n = 0};
	uint8_t fam;
	bool v6_any;

	if (buf == NULL)
		len = 0;
	if (r == NULL)
		return snprintf(buf, len, "%s", "");
	/* An invalid family (cls_rule_check) is printed as IPv4. */
	fam = r->family == CLS_IPV6 ? CLS_IPV6 : CLS_IPV4;
	/* "any" has no family: an IPv6 rule with two full ranges says so with
	 * "src ::/0". */
	v6_any = fam == CLS_IPV6 && prefix_len(fam, r->src_lo, r->src_hi) == 0 &&
		 prefix_len(fam, r->dst_lo, r->dst_hi) == 0;
	put(&f, "id %" PRIu32 " priority %" PRId32, r->id, r->priority);
	put_range(&f, "src", fam, r->src_lo, r->src_hi, !v6_any);
	put_range(&f, "dst", fam, r->dst_lo, r->dst_hi, true);
	put_ports(&f, "sport", r->sport_lo, r->sport_hi);
	put_ports(&f, "dport", r->dport_lo, r->dport_hi);
	if (r->proto_mask == 0) {
		put(&f, " proto any");
	} else if (r->proto_mask == 0xff) {
		const char *nm = NULL;
		for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
			if (proto_names[i].num == r->proto)
				nm = proto_names[i].name;
		if (nm)
			put(&f, " proto %s", nm);
		else
			put(&f, " proto %u", r->proto);
	} else {
		put(&f, " proto %u/0x%02x", (unsigned)(r->proto & r->proto_mask), r->proto_mask);
	}
	return snprintf(buf, len, "%s", f.s);
}
