/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat configuration parser (format: nat_config.h, README.md).
 *
 * Two passes over one struct: parse every line into a fresh nat_config
 * (syntax and per-value ranges, errors at the offending line), then check
 * the statements against each other (errors at the later line involved).
 * The caller gets the struct only if both passes succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify_parse.h"
#include "nat_config.h"

#define MAX_TOKENS 24
#define MAX_FILE (16u << 20)

struct tok {
	const char *s;
	size_t n;
};

struct pctx {
	const char *name;
	uint32_t line;
	char *err;
	size_t errlen;
	struct nat_config *cfg;
	uint32_t rules_cap;
	/* line of the first occurrence of each once-only statement */
	uint32_t l_inside, l_outside, l_filtering, l_ports, l_quota, l_block, l_hold, l_sessions,
		l_log, l_timeout[4];
	uint32_t pool_line[NAT_CFG_MAX_POOL];
};

/* timeout kinds (enum nat_timeout_kind order), minima and their RFCs */
static const char *const timeout_names[NAT_TIMEOUT_KINDS] = {"udp", "tcp-established",
							     "tcp-transitory", "icmp"};
static const uint32_t timeout_minima[NAT_TIMEOUT_KINDS] = {120, 7440, 240, 60};
static const char *const timeout_rfcs[NAT_TIMEOUT_KINDS] = {"RFC 4787", "RFC 5382", "RFC 5382",
							    "RFC 5508"};

static int fail(struct pctx *p, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pctx *p, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errlen == 0)
		return -EINVAL;
	/* single statements (nat_config_parse_rule...) have no name:line */
	n = p->name ? snprintf(p->err, p->errlen, "%s:%u: ", p->name, line) : 0;
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool tok_is(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->s, s, n) == 0;
}

/* Printable form of a token for messages (truncated, non-printables '?'). */
static const char *tok_str(const struct tok *t, char *buf, size_t size)
{
	size_t i, n = t->n < size - 1 ? t->n : size - 1;

	for (i = 0; i < n; i++)
		buf[i] = (t->s[i] >= 0x20 && t->s[i] < 0x7f) ? t->s[i] : '?';
	buf[n] = 0;
	return buf;
}

static bool parse_u32(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x < min || x > max)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int parse_num(struct pctx *p, const struct tok *t, uint32_t min, uint32_t max,
		     const char *what, uint32_t *v)
{
	char b[40];

	if (!parse_u32(t->s, t->n, min, max, v))
		return fail(p, p->line, "bad %s '%s' (expected %u..%u)", what,
			    tok_str(t, b, sizeof(b)), min, max);
	return 0;
}

static int parse_range(struct pctx *p, const struct tok *t, const char *what, uint32_t *lo,
		       uint32_t *hi)
{
	uint8_t fam;
	union cls_addr a, b;
	const char *why = "bad address";
	char buf[64];

	if (tok_is(t, "any")) { /* every IPv4 address (the range parser gives no family) */
		*lo = 0;
		*hi = UINT32_MAX;
		return 0;
	}
	if (cls_parse_addr_range(t->s, t->n, &fam, &a, &b, &why) != 0)
		return fail(p, p->line, "bad %s '%s': %s", what, tok_str(t, buf, sizeof(buf)), why);
	if (fam != CLS_IPV4)
		return fail(p, p->line, "bad %s '%s': only IPv4 is translated", what,
			    tok_str(t, buf, sizeof(buf)));
	*lo = a.v4;
	*hi = b.v4;
	return 0;
}

static int parse_addr(struct pctx *p, const struct tok *t, const char *what, uint32_t *addr)
{
	uint32_t lo, hi;
	char buf[64];
	int rc;

	if (tok_is(t, "any") || memchr(t->s, '/', t->n) || memchr(t->s, '-', t->n))
		return fail(p, p->line, "bad %s '%s': expected one IPv4 address", what,
			    tok_str(t, buf, sizeof(buf)));
	rc = parse_range(p, t, what, &lo, &hi);
	if (rc)
		return rc;
	*addr = lo;
	return 0;
}

static int parse_mac(struct pctx *p, const struct tok *t, uint8_t mac[6])
{
	char buf[40];
	size_t i;

	if (t->n != 17)
		goto bad;
	for (i = 0; i < 6; i++) {
		unsigned v = 0, j;

		for (j = 0; j < 2; j++) {
			char c = t->s[i * 3 + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				goto bad;
		}
		if (i < 5 && t->s[i * 3 + 2] != ':')
			goto bad;
		mac[i] = (uint8_t)v;
	}
	return 0;
bad:
	return fail(p, p->line, "bad MAC address '%s' (expected xx:xx:xx:xx:xx:xx)",
		    tok_str(t, buf, sizeof(buf)));
}

static int once(struct pctx *p, uint32_t *first, const char *what)
{
	if (*first)
		return fail(p, p->line, "duplicate '%s' (first on line %u)", what, *first);
	*first = p->line;
	return 0;
}

static int need_arg(struct pctx *p, const struct tok *t, int i, int nt)
{
	char b[40];

	if (i + 1 >= nt)
		return fail(p, p->line, "'%s' needs a value", tok_str(&t[i], b, sizeof(b)));
	return 0;
}

/* inside|outside ADDR/LEN mac MAC [gateway ADDR] [gateway-mac MAC] */
static int parse_port(struct pctx *p, const struct tok *t, int nt, struct nat_port_config *pc)
{
	const char *slash;
	struct tok a;
	uint32_t plen, lo, hi, gw_line = 0;
	bool have_mac = false;
	char b[40];
	int i, rc;

	if (nt < 2)
		return fail(p, p->line, "'%s' needs ADDR/LEN", tok_str(&t[0], b, sizeof(b)));
	slash = memchr(t[1].s, '/', t[1].n);
	if (!slash)
		return fail(p, p->line, "bad address '%s': expected ADDR/LEN",
			    tok_str(&t[1], b, sizeof(b)));
	a.s = t[1].s;
	a.n = (size_t)(slash - t[1].s);
	rc = parse_addr(p, &a, "address", &pc->addr);
	if (rc)
		return rc;
	if (!parse_u32(slash + 1, t[1].n - a.n - 1, 1, 32, &plen))
		return fail(p, p->line, "bad prefix length in '%s' (expected 1..32)",
			    tok_str(&t[1], b, sizeof(b)));
	pc->plen = (uint8_t)plen;
	for (i = 2; i < nt; i += 2) {
		rc = need_arg(p, t, i, nt);
		if (rc)
			return rc;
		if (tok_is(&t[i], "mac")) {
			rc = parse_mac(p, &t[i + 1], pc->mac);
			have_mac = true;
		} else if (tok_is(&t[i], "gateway")) {
			rc = parse_addr(p, &t[i + 1], "gateway", &pc->gateway);
			pc->has_gateway = true;
			gw_line = p->line;
		} else if (tok_is(&t[i], "gateway-mac")) {
			rc = parse_mac(p, &t[i + 1], pc->gateway_mac);
			pc->has_gateway_mac = true;
		} else {
			rc = fail(p, p->line, "unknown keyword '%s' (expected mac, gateway, gateway-mac)",
				  tok_str(&t[i], b, sizeof(b)));
		}
		if (rc)
			return rc;
	}
	if (!have_mac)
		return fail(p, p->line, "'%s' needs 'mac MAC'", tok_str(&t[0], b, sizeof(b)));
	if (pc->has_gateway_mac && !pc->has_gateway)
		return fail(p, p->line, "'gateway-mac' needs 'gateway'");
	lo = plen == 32 ? pc->addr : pc->addr & ~(0xffffffffu >> plen);
	hi = plen == 32 ? pc->addr : pc->addr | (0xffffffffu >> plen);
	if (gw_line && (pc->gateway < lo || pc->gateway > hi || pc->gateway == pc->addr))
		return fail(p, p->line, "gateway is not another address on the subnet");
	if (pc->mac[0] & 1)
		return fail(p, p->line, "MAC address must be unicast");
	return 0;
}

static int parse_ports_tok(struct pctx *p, const struct tok *t, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(t->s, '-', t->n);
	uint32_t a, b;
	char buf[40];

	if (!dash) {
		if (!parse_u32(t->s, t->n, 0, 65535, &a))
			goto bad;
		b = a;
	} else if (!parse_u32(t->s, (size_t)(dash - t->s), 0, 65535, &a) ||
		   !parse_u32(dash + 1, t->n - (size_t)(dash - t->s) - 1, 0, 65535, &b) || a > b) {
		goto bad;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	return fail(p, p->line, "bad port range '%s' (expected N or N-M, 0..65535)",
		    tok_str(t, buf, sizeof(buf)));
}

static int parse_proto(struct pctx *p, const struct tok *t, struct cls_rule *m)
{
	uint32_t v;
	char b[40];

	if (tok_is(t, "tcp"))
		v = 6;
	else if (tok_is(t, "udp"))
		v = 17;
	else if (tok_is(t, "icmp"))
		v = 1;
	else if (!parse_u32(t->s, t->n, 0, 255, &v))
		return fail(p, p->line, "bad protocol '%s' (expected tcp, udp, icmp or 0..255)",
			    tok_str(t, b, sizeof(b)));
	m->proto = (uint8_t)v;
	m->proto_mask = 0xff;
	return 0;
}

static int add_rule(struct pctx *p, struct nat_rule **r)
{
	struct nat_config *c = p->cfg;

	if (c->n_rules >= NAT_CFG_MAX_RULES)
		return fail(p, p->line, "too many rules (at most %u)", NAT_CFG_MAX_RULES);
	if (c->n_rules == p->rules_cap) {
		uint32_t cap = p->rules_cap ? p->rules_cap * 2 : 16;
		struct nat_rule *nr = realloc(c->rules, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->rules = nr;
		p->rules_cap = cap;
	}
	*r = &c->rules[c->n_rules++];
	memset(*r, 0, sizeof(**r));
	(*r)->line = p->line;
	(*r)->match.family = CLS_IPV4;
	(*r)->match.sport_hi = 65535;
	(*r)->match.dport_hi = 65535;
	(*r)->match.src_hi.v4 = 0xffffffffu;
	(*r)->match.dst_hi.v4 = 0xffffffffu;
	(*r)->match.id = c->n_rules;
	(*r)->match.priority = (int32_t)(NAT_CFG_MAX_RULES - c->n_rules);
	return 0;
}

/* Rule lines: snat/masquerade/bypass/drop MATCH..., dnat ... to ADDR[:PORT] */
static int parse_rule(struct pctx *p, const struct tok *t, int nt, enum nat_action act)
{
	struct nat_rule *r = NULL;
	struct cls_rule *m;
	bool seen[6] = {false};
	bool has_ports = false, has_to = false;
	char b[40];
	int i, rc;

	rc = add_rule(p, &r);
	if (rc)
		return rc;
	r->action = act;
	m = &r->match;
	for (i = 1; i < nt; i += 2) {
		int k;

		rc = need_arg(p, t, i, nt);
		if (rc)
			return rc;
		if (tok_is(&t[i], "src"))
			k = 0;
		else if (tok_is(&t[i], "dst"))
			k = 1;
		else if (tok_is(&t[i], "proto"))
			k = 2;
		else if (tok_is(&t[i], "sport"))
			k = 3;
		else if (tok_is(&t[i], "dport"))
			k = 4;
		else if (tok_is(&t[i], "to") && act == NAT_ACT_DNAT)
			k = 5;
		else
			return fail(p, p->line, "unknown keyword '%s' in a %s rule",
				    tok_str(&t[i], b, sizeof(b)), nat_action_name(act));
		if (seen[k])
			return fail(p, p->line, "'%s' given twice", tok_str(&t[i], b, sizeof(b)));
		seen[k] = true;
		switch (k) {
		case 0:
			rc = parse_range(p, &t[i + 1], "src", &m->src_lo.v4, &m->src_hi.v4);
			break;
		case 1:
			if (act == NAT_ACT_DNAT) {
				rc = parse_addr(p, &t[i + 1], "dst", &m->dst_lo.v4);
				m->dst_hi.v4 = m->dst_lo.v4;
			} else {
				rc = parse_range(p, &t[i + 1], "dst", &m->dst_lo.v4, &m->dst_hi.v4);
			}
			break;
		case 2:
			rc = parse_proto(p, &t[i + 1], m);
			break;
		case 3:
			rc = parse_ports_tok(p, &t[i + 1], &m->sport_lo, &m->sport_hi);
			has_ports = true;
			break;
		case 4:
			rc = parse_ports_tok(p, &t[i + 1], &m->dport_lo, &m->dport_hi);
			has_ports = true;
			break;
		default: {
			const struct tok *v = &t[i + 1];
			const char *colon = memchr(v->s, ':', v->n);
			struct tok a = {v->s, colon ? (size_t)(colon - v->s) : v->n};
			uint32_t port = 0;

			rc = parse_addr(p, &a, "dnat target", &r->to_addr);
			if (!rc && colon &&
			    !parse_u32(colon + 1, v->n - a.n - 1, 1, 65535, &port))
				rc = fail(p, p->line, "bad port in dnat target '%s' (1..65535)",
					  tok_str(v, b, sizeof(b)));
			r->to_port = (uint16_t)port;
			has_to = true;
			break;
		}
		}
		if (rc)
			return rc;
	}
	if (has_ports && (m->proto_mask != 0xff || (m->proto != 6 && m->proto != 17)))
		return fail(p, p->line, "sport/dport need 'proto tcp' or 'proto udp'");
	if (act == NAT_ACT_DNAT) {
		if (!seen[1] || !seen[2] || !seen[4] || !has_to)
			return fail(p, p->line, "dnat needs dst ADDR, proto tcp|udp, dport N and to ADDR[:PORT]");
		if (seen[0] || seen[3])
			return fail(p, p->line, "dnat takes no src or sport");
		if (m->dport_lo != m->dport_hi || m->dport_lo == 0)
			return fail(p, p->line, "dnat dport must be one port, 1..65535");
		if (r->to_port == 0)
			r->to_port = m->dport_lo;
	}
	return 0;
}

static int parse_line(struct pctx *p, const struct tok *t, int nt)
{
	struct nat_config *c = p->cfg;
	char b[40];
	int rc;

	if (tok_is(&t[0], "inside")) {
		rc = once(p, &p->l_inside, "inside");
		return rc ? rc : parse_port(p, t, nt, &c->inside);
	}
	if (tok_is(&t[0], "outside")) {
		rc = once(p, &p->l_outside, "outside");
		return rc ? rc : parse_port(p, t, nt, &c->outside);
	}
	if (tok_is(&t[0], "snat"))
		return parse_rule(p, t, nt, NAT_ACT_SNAT);
	if (tok_is(&t[0], "masquerade"))
		return parse_rule(p, t, nt, NAT_ACT_MASQUERADE);
	if (tok_is(&t[0], "bypass"))
		return parse_rule(p, t, nt, NAT_ACT_BYPASS);
	if (tok_is(&t[0], "drop"))
		return parse_rule(p, t, nt, NAT_ACT_DROP);
	if (tok_is(&t[0], "dnat"))
		return parse_rule(p, t, nt, NAT_ACT_DNAT);

	/* the rest take exactly one value, timeout two */
	if (tok_is(&t[0], "timeout")) {
		const char *const *kinds = timeout_names;
		const uint32_t *minima = timeout_minima;
		uint32_t *dst[4] = {&c->timeout_udp, &c->timeout_tcp_est, &c->timeout_tcp_trans,
				    &c->timeout_icmp};
		int k;

		if (nt != 3)
			return fail(p, p->line, "expected 'timeout udp|tcp-established|tcp-transitory|icmp SECONDS'");
		for (k = 0; k < 4; k++)
			if (tok_is(&t[1], kinds[k]))
				break;
		if (k == 4)
			return fail(p, p->line, "unknown timeout '%s' (expected udp, tcp-established, tcp-transitory, icmp)",
				    tok_str(&t[1], b, sizeof(b)));
		rc = once(p, &p->l_timeout[k], kinds[k]);
		if (!rc)
			rc = parse_num(p, &t[2], minima[k], NAT_CFG_MAX_TIMEOUT, "timeout", dst[k]);
		return rc;
	}
	if (nt != 2) {
		if (tok_is(&t[0], "pool") || tok_is(&t[0], "filtering") || tok_is(&t[0], "ports") ||
		    tok_is(&t[0], "quota") || tok_is(&t[0], "port-block") ||
		    tok_is(&t[0], "hold-down") || tok_is(&t[0], "sessions") || tok_is(&t[0], "log"))
			return fail(p, p->line, "'%s' takes exactly one value",
				    tok_str(&t[0], b, sizeof(b)));
		return fail(p, p->line, "unknown statement '%s'", tok_str(&t[0], b, sizeof(b)));
	}
	if (tok_is(&t[0], "pool")) {
		struct nat_addr_range *r;

		if (c->n_pool >= NAT_CFG_MAX_POOL)
			return fail(p, p->line, "too many pool statements (at most %u)", NAT_CFG_MAX_POOL);
		if (tok_is(&t[1], "any"))
			return fail(p, p->line, "pool cannot be 'any'");
		r = &c->pool[c->n_pool];
		rc = parse_range(p, &t[1], "pool", &r->lo, &r->hi);
		if (rc)
			return rc;
		p->pool_line[c->n_pool++] = p->line;
		return 0;
	}
	if (tok_is(&t[0], "filtering")) {
		rc = once(p, &p->l_filtering, "filtering");
		if (rc)
			return rc;
		if (tok_is(&t[1], "endpoint-independent"))
			c->filtering = NAT_FILTER_EIF;
		else if (tok_is(&t[1], "address-dependent"))
			c->filtering = NAT_FILTER_ADF;
		else if (tok_is(&t[1], "address-and-port-dependent"))
			c->filtering = NAT_FILTER_APDF;
		else
			return fail(p, p->line, "unknown filtering '%s' (expected endpoint-independent, address-dependent, address-and-port-dependent)",
				    tok_str(&t[1], b, sizeof(b)));
		return 0;
	}
	if (tok_is(&t[0], "ports")) {
		rc = once(p, &p->l_ports, "ports");
		if (!rc)
			rc = parse_ports_tok(p, &t[1], &c->port_lo, &c->port_hi);
		if (!rc && c->port_lo < 1024)
			rc = fail(p, p->line, "dynamic ports must start at 1024 or above");
		return rc;
	}
	if (tok_is(&t[0], "quota")) {
		rc = once(p, &p->l_quota, "quota");
		return rc ? rc : parse_num(p, &t[1], 1, 65536, "quota", &c->quota);
	}
	if (tok_is(&t[0], "port-block")) {
		rc = once(p, &p->l_block, "port-block");
		return rc ? rc : parse_num(p, &t[1], 1, 4096, "port-block", &c->port_block);
	}
	if (tok_is(&t[0], "hold-down")) {
		rc = once(p, &p->l_hold, "hold-down");
		return rc ? rc : parse_num(p, &t[1], 0, 3600, "hold-down", &c->hold_down);
	}
	if (tok_is(&t[0], "sessions")) {
		rc = once(p, &p->l_sessions, "sessions");
		return rc ? rc : parse_num(p, &t[1], 1, 1u << 24, "sessions", &c->sessions);
	}
	if (tok_is(&t[0], "log")) {
		rc = once(p, &p->l_log, "log");
		if (rc)
			return rc;
		if (tok_is(&t[1], "on"))
			c->log = true;
		else if (tok_is(&t[1], "off"))
			c->log = false;
		else
			return fail(p, p->line, "expected 'log on' or 'log off'");
		return 0;
	}
	return fail(p, p->line, "unknown statement '%s'", tok_str(&t[0], b, sizeof(b)));
}

static bool port_subnet_has(const struct nat_port_config *pc, uint32_t a)
{
	uint32_t mask = pc->plen ? 0xffffffffu << (32 - pc->plen) : 0;

	return (a & mask) == (pc->addr & mask);
}

/*
 * Checks of one rule against the rest of the configuration: the pool, the
 * port addresses and the rules before it (prev[0..n_prev)).  Errors name the
 * rule's line and the earlier rule's line, or its number (1-based in prev)
 * when by_index (a rule added at run time).
 */
static int check_rule(struct pctx *p, const struct nat_config *c, const struct nat_rule *r,
		      const struct nat_rule *prev, uint32_t n_prev, bool by_index)
{
	uint32_t j;

	if (r->action == NAT_ACT_SNAT && c->n_pool == 0)
		return fail(p, r->line, "snat needs a 'pool'");
	if (r->action != NAT_ACT_DNAT)
		return 0;
	if (r->match.dst_lo.v4 != c->outside.addr && !nat_config_in_pool(c, r->match.dst_lo.v4))
		return fail(p, r->line, "dnat address is neither the outside address nor in the pool");
	if (r->to_addr == c->outside.addr || r->to_addr == c->inside.addr ||
	    nat_config_in_pool(c, r->to_addr))
		return fail(p, r->line, "dnat target must be an inside host");
	for (j = 0; j < n_prev; j++) {
		const struct nat_rule *q = &prev[j];
		const char *what = by_index ? "rule" : "line";
		uint32_t which = by_index ? j + 1 : q->line;

		if (q->action == NAT_ACT_DNAT && q->match.proto == r->match.proto &&
		    q->match.dst_lo.v4 == r->match.dst_lo.v4 &&
		    q->match.dport_lo == r->match.dport_lo)
			return fail(p, r->line, "dnat duplicates %s %u", what, which);
		if (q->action == NAT_ACT_DNAT && q->match.proto == r->match.proto &&
		    q->to_addr == r->to_addr && q->to_port == r->to_port)
			return fail(p, r->line, "dnat target duplicates %s %u", what, which);
	}
	return 0;
}

/* Cross-statement checks; errors name the later line involved. */
static int validate(struct pctx *p)
{
	struct nat_config *c = p->cfg;
	uint64_t total = 0;
	uint32_t i, j;

	if (!p->l_inside)
		return fail(p, p->line, "missing 'inside ADDR/LEN mac MAC'");
	if (!p->l_outside)
		return fail(p, p->line, "missing 'outside ADDR/LEN mac MAC'");
	if (port_subnet_has(&c->inside, c->outside.addr) ||
	    port_subnet_has(&c->outside, c->inside.addr))
		return fail(p, p->l_inside > p->l_outside ? p->l_inside : p->l_outside,
			    "inside and outside subnets overlap");
	for (i = 0; i < c->n_pool; i++) {
		const struct nat_addr_range *r = &c->pool[i];

		for (j = 0; j < i; j++)
			if (r->lo <= c->pool[j].hi && c->pool[j].lo <= r->hi)
				return fail(p, p->pool_line[i], "pool range overlaps line %u",
					    p->pool_line[j]);
		if ((c->inside.addr >= r->lo && c->inside.addr <= r->hi) ||
		    (c->outside.addr >= r->lo && c->outside.addr <= r->hi))
			return fail(p, p->pool_line[i], "pool contains the inside or outside address");
		if (port_subnet_has(&c->inside, r->lo) || port_subnet_has(&c->inside, r->hi))
			return fail(p, p->pool_line[i], "pool overlaps the inside subnet");
		total += (uint64_t)r->hi - r->lo + 1;
		if (total > NAT_CFG_MAX_POOL_ADDRS)
			return fail(p, p->pool_line[i], "pool larger than %u addresses",
				    NAT_CFG_MAX_POOL_ADDRS);
	}
	c->pool_addrs = (uint32_t)total;
	if (c->quota > (uint32_t)c->port_hi - c->port_lo + 1)
		return fail(p, p->l_quota > p->l_ports ? p->l_quota : p->l_ports,
			    "quota %u exceeds the %u dynamic ports", c->quota,
			    (uint32_t)c->port_hi - c->port_lo + 1);
	if (c->port_block > c->quota)
		return fail(p, p->l_block > p->l_quota ? p->l_block : p->l_quota,
			    "port-block %u larger than the quota %u", c->port_block, c->quota);
	for (i = 0; i < c->n_rules; i++) {
		int rc = check_rule(p, c, &c->rules[i], c->rules, i, false);

		if (rc)
			return rc;
	}
	return 0;
}

/* Split one line (n bytes, no newline) into words; '#' ends it. */
static int tokenize(struct pctx *p, const char *line, size_t n, struct tok *t, int *ntp)
{
	size_t i = 0;
	int nt = 0;

	*ntp = 0;
	while (i < n) {
		size_t s;

		while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i >= n || line[i] == '#')
			break;
		if (line[i] == 0)
			return fail(p, p->line, "NUL byte in the text");
		if (nt == MAX_TOKENS)
			return fail(p, p->line, "too many words (at most %d)", MAX_TOKENS);
		s = i;
		while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
		       line[i] != '#' && line[i] != 0)
			i++;
		t[nt].s = line + s;
		t[nt].n = i - s;
		nt++;
		*ntp = nt;
	}
	return 0;
}

static void defaults(struct nat_config *c)
{
	c->filtering = NAT_FILTER_APDF;
	c->timeout_udp = 300;
	c->timeout_tcp_est = 7440;
	c->timeout_tcp_trans = 240;
	c->timeout_icmp = 60;
	c->port_lo = 1024;
	c->port_hi = 65535;
	c->quota = 4096;
	c->port_block = 1;
	c->hold_down = 120;
	c->sessions = 65536;
	c->log = true;
}

int nat_config_parse_buffer(const char *buf, size_t len, const char *name,
			    struct nat_config **out, char *err, size_t errlen)
{
	struct pctx p;
	size_t pos = 0;
	int rc = 0;

	if (out)
		*out = NULL;
	if ((!buf && len) || !name || !out || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg)
		return -ENOMEM;
	defaults(p.cfg);
	while (pos < len && rc == 0) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		struct tok t[MAX_TOKENS];
		int nt = 0;

		pos += n + (nl ? 1 : 0);
		p.line++;
		rc = tokenize(&p, line, n, t, &nt);
		if (rc == 0 && nt > 0)
			rc = parse_line(&p, t, nt);
	}
	if (rc == 0)
		rc = validate(&p);
	if (rc) {
		nat_config_free(p.cfg);
		return rc;
	}
	*out = p.cfg;
	return 0;
}

int nat_config_parse_file(const char *path, struct nat_config **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, rc;

	if (out)
		*out = NULL;
	if (!path || !out || (!err && errlen))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail_errno;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb;

			if (cap >= MAX_FILE) {
				close(fd);
				free(buf);
				if (errlen)
					snprintf(err, errlen, "%s: file too large", path);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (!nb) {
				close(fd);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			close(fd);
			free(buf);
			goto fail_errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = nat_config_parse_buffer(buf, len, path, out, err, errlen);
	free(buf);
	return rc;
fail_errno:
	if (errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

void nat_config_free(struct nat_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->rules);
	free(cfg);
}

const char *nat_filtering_name(enum nat_filtering f)
{
	switch (f) {
	case NAT_FILTER_EIF: return "endpoint-independent";
	case NAT_FILTER_ADF: return "address-dependent";
	case NAT_FILTER_APDF: return "address-and-port-dependent";
	}
	return "unknown";
}

const char *nat_action_name(enum nat_action a)
{
	switch (a) {
	case NAT_ACT_SNAT: return "snat";
	case NAT_ACT_MASQUERADE: return "masquerade";
	case NAT_ACT_BYPASS: return "bypass";
	case NAT_ACT_DROP: return "drop";
	case NAT_ACT_DNAT: return "dnat";
	}
	return "unknown";
}

bool nat_config_in_pool(const struct nat_config *cfg, uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < cfg->n_pool; i++)
		if (addr >= cfg->pool[i].lo && addr <= cfg->pool[i].hi)
			return true;
	return false;
}

uint32_t nat_config_pool_addr(const struct nat_config *cfg, uint32_t i)
{
	uint32_t k;

	for (k = 0; k < cfg->n_pool; k++) {
		uint32_t n = cfg->pool[k].hi - cfg->pool[k].lo + 1;

		if (i < n)
			return cfg->pool[k].lo + i;
		i -= n;
	}
	return 0;
}

/* ---- single statements (the control socket) ---- */

const char *nat_timeout_name(enum nat_timeout_kind k)
{
	return (unsigned)k < NAT_TIMEOUT_KINDS ? timeout_names[k] : "unknown";
}

uint32_t nat_timeout_min(enum nat_timeout_kind k)
{
	return (unsigned)k < NAT_TIMEOUT_KINDS ? timeout_minima[k] : 0;
}

static bool is_rule_word(const struct tok *t)
{
	return tok_is(t, "snat") || tok_is(t, "masquerade") || tok_is(t, "bypass") ||
	       tok_is(t, "drop") || tok_is(t, "dnat");
}

int nat_config_parse_rule(const char *line, const struct nat_config *cfg, struct nat_rule *out,
			  char *err, size_t errlen)
{
	struct tok t[MAX_TOKENS];
	struct nat_config tmp;
	struct pctx p;
	char b[40];
	int nt = 0, rc;

	if (!line || !cfg || !out || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	p.line = 1;
	tmp = *cfg;             /* pool and addresses for the checks; own rules */
	tmp.rules = NULL;
	tmp.n_rules = 0;
	p.cfg = &tmp;
	if (strchr(line, '\n'))
		rc = fail(&p, 1, "a rule is one line");
	else
		rc = tokenize(&p, line, strlen(line), t, &nt);
	if (!rc && nt == 0)
		rc = fail(&p, 1, "empty rule (expected snat, masquerade, bypass, drop or dnat ...)");
	if (!rc && !is_rule_word(&t[0]))
		rc = fail(&p, 1, "'%s' is not a rule (expected snat, masquerade, bypass, drop or dnat)",
			  tok_str(&t[0], b, sizeof(b)));
	if (!rc)
		rc = parse_line(&p, t, nt); /* the file parser's own code path */
	if (!rc)
		rc = check_rule(&p, cfg, &tmp.rules[0], cfg->rules, cfg->n_rules, true);
	if (!rc)
		*out = tmp.rules[0];
	free(tmp.rules);
	return rc;
}

int nat_config_check_rule(const struct nat_config *cfg, const struct nat_rule *r, char *err,
			  size_t errlen)
{
	struct pctx p;
	const char *why = NULL;

	if (!cfg || !r || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if ((unsigned)r->action > NAT_ACT_DNAT)
		return fail(&p, 0, "unknown rule action %d", (int)r->action);
	if (r->match.family != CLS_IPV4 || cls_rule_check(&r->match, &why) != 0)
		return fail(&p, 0, "bad rule match: %s", why ? why : "not IPv4");
	if (r->action == NAT_ACT_DNAT &&
	    ((r->match.proto != 6 && r->match.proto != 17) || r->match.proto_mask != 0xff ||
	     r->match.dst_lo.v4 != r->match.dst_hi.v4 || r->match.dport_lo != r->match.dport_hi ||
	     r->match.dport_lo == 0 || r->to_port == 0))
		return fail(&p, 0, "dnat needs one address, proto tcp|udp, one dport and a target port");
	return check_rule(&p, cfg, r, cfg->rules, cfg->n_rules, true);
}

int nat_config_parse_timeout(const char *text, enum nat_timeout_kind *kind, uint32_t *secs,
			     char *err, size_t errlen)
{
	struct tok t[MAX_TOKENS];
	struct pctx p;
	uint32_t v;
	char b[40];
	int nt = 0, k, rc;

	if (!text || !kind || !secs || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = 0;
	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	rc = strchr(text, '\n') ? fail(&p, 0, "a timeout is one line")
				: tokenize(&p, text, strlen(text), t, &nt);
	if (rc)
		return rc;
	if (nt != 2)
		return fail(&p, 0, "expected 'udp|tcp-established|tcp-transitory|icmp SECONDS'");
	for (k = 0; k < NAT_TIMEOUT_KINDS; k++)
		if (tok_is(&t[0], timeout_names[k]))
			break;
	if (k == NAT_TIMEOUT_KINDS)
		return fail(&p, 0, "unknown timeout '%s' (expected udp, tcp-established, tcp-transitory, icmp)",
			    tok_str(&t[0], b, sizeof(b)));
	if (!parse_u32(t[1].s, t[1].n, 0, UINT32_MAX, &v))
		return fail(&p, 0, "bad timeout '%s' (expected seconds)", tok_str(&t[1], b, sizeof(b)));
	if (v < timeout_minima[k])
		return fail(&p, 0, "timeout %s %u is below the %s minimum of %u seconds",
			    timeout_names[k], v, timeout_rfcs[k], timeout_minima[k]);
	if (v > NAT_CFG_MAX_TIMEOUT)
		return fail(&p, 0, "timeout %s %u is above the maximum of %u seconds",
			    timeout_names[k], v, NAT_CFG_MAX_TIMEOUT);
	*kind = (enum nat_timeout_kind)k;
	*secs = v;
	return 0;
}
