/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat configuration parser, one line at a time (format: nat_config.h).
 *
 * A line is split into words, its first word picks the statement, and the
 * statement's values are parsed and range-checked into the struct
 * nat_config being built; errors name the offending line.  Checks between
 * statements are nat_config.c's.  The same code parses a rule typed at run
 * time (nat_config_parse_rule()), so both mean the same.
 *
 * Statements taking one value are a table (word, parser, once-only slot,
 * field and range); rule matches and keyword values are looked up in word
 * lists whose order is the enum's, so a word and its value cannot drift.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_parse.h"
#include "nat_config_int.h"

const char *const cfg_timeout_names[NAT_TIMEOUT_KINDS] = {"udp", "tcp-established",
							  "tcp-transitory", "icmp"};
const uint32_t cfg_timeout_minima[NAT_TIMEOUT_KINDS] = {120, 7440, 240, 60};
const char *const cfg_timeout_rfcs[NAT_TIMEOUT_KINDS] = {"RFC 4787", "RFC 5382", "RFC 5382",
							 "RFC 5508"};

/* ---- errors and words ---- */

void cfg_ctx_init(struct cfg_ctx *p, const char *name, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	if (errlen)
		err[0] = 0;
}

int cfg_fail(struct cfg_ctx *p, uint32_t line, const char *fmt, ...)
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

bool cfg_tok_is(const struct cfg_tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->s, s, n) == 0;
}

int cfg_tok_find(const struct cfg_tok *t, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (cfg_tok_is(t, words[i]))
			return i;
	return -1;
}

/* Printable form of a token for messages (truncated, non-printables '?'). */
static const char *tok_str(const struct cfg_tok *t, char *buf, size_t size)
{
	size_t i, n = t->n < size - 1 ? t->n : size - 1;

	for (i = 0; i < n; i++)
		buf[i] = (t->s[i] >= 0x20 && t->s[i] < 0x7f) ? t->s[i] : '?';
	buf[n] = 0;
	return buf;
}

int cfg_fail_tok(struct cfg_ctx *p, const char *pre, const struct cfg_tok *t, const char *post)
{
	char b[40];

	return cfg_fail(p, p->line, "%s'%s'%s", pre, tok_str(t, b, sizeof(b)), post);
}

int cfg_tokenize(struct cfg_ctx *p, const char *line, size_t n, struct cfg_tok *t, int *ntp)
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
			return cfg_fail(p, p->line, "NUL byte in the text");
		if (nt == CFG_MAX_TOKENS)
			return cfg_fail(p, p->line, "too many words (at most %d)", CFG_MAX_TOKENS);
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

/* ---- values ---- */

bool cfg_parse_u32(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *v)
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

static int parse_num(struct cfg_ctx *p, const struct cfg_tok *t, uint32_t min, uint32_t max,
		     const char *what, uint32_t *v)
{
	char b[40];

	if (!cfg_parse_u32(t->s, t->n, min, max, v))
		return cfg_fail(p, p->line, "bad %s '%s' (expected %u..%u)", what,
				tok_str(t, b, sizeof(b)), min, max);
	return 0;
}

static int parse_range(struct cfg_ctx *p, const struct cfg_tok *t, const char *what,
		       uint32_t *lo, uint32_t *hi)
{
	uint8_t fam;
	union cls_addr a, b;
	const char *why = "bad address";
	char buf[64];

	if (cfg_tok_is(t, "any")) { /* every IPv4 address (the range parser gives no family) */
		*lo = 0;
		*hi = UINT32_MAX;
		return 0;
	}
	if (cls_parse_addr_range(t->s, t->n, &fam, &a, &b, &why) != 0)
		return cfg_fail(p, p->line, "bad %s '%s': %s", what, tok_str(t, buf, sizeof(buf)),
				why);
	if (fam != CLS_IPV4)
		return cfg_fail(p, p->line, "bad %s '%s': only IPv4 is translated", what,
				tok_str(t, buf, sizeof(buf)));
	*lo = a.v4;
	*hi = b.v4;
	return 0;
}

static int parse_addr(struct cfg_ctx *p, const struct cfg_tok *t, const char *what,
		      uint32_t *addr)
{
	uint32_t hi;
	char buf[64];

	if (cfg_tok_is(t, "any") || memchr(t->s, '/', t->n) || memchr(t->s, '-', t->n))
		return cfg_fail(p, p->line, "bad %s '%s': expected one IPv4 address", what,
				tok_str(t, buf, sizeof(buf)));
	return parse_range(p, t, what, addr, &hi);
}

static int parse_mac(struct cfg_ctx *p, const struct cfg_tok *t, uint8_t mac[6])
{
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
	return cfg_fail_tok(p, "bad MAC address ", t, " (expected xx:xx:xx:xx:xx:xx)");
}

/* N or N-M, 0..65535 */
static int parse_ports(struct cfg_ctx *p, const struct cfg_tok *t, uint16_t *lo, uint16_t *hi)
{
	const char *dash = memchr(t->s, '-', t->n);
	size_t n = dash ? (size_t)(dash - t->s) : t->n;
	uint32_t a, b;

	if (!cfg_parse_u32(t->s, n, 0, 65535, &a))
		goto bad;
	b = a;
	if (dash && (!cfg_parse_u32(dash + 1, t->n - n - 1, 0, 65535, &b) || a > b))
		goto bad;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	return cfg_fail_tok(p, "bad port range ", t, " (expected N or N-M, 0..65535)");
}

static int parse_proto(struct cfg_ctx *p, const struct cfg_tok *t, struct cls_rule *m)
{
	static const char *const names[] = {"tcp", "udp", "icmp"};
	static const uint8_t numbers[] = {6, 17, 1};
	int k = cfg_tok_find(t, names, 3);
	uint32_t v;

	if (k >= 0)
		v = numbers[k];
	else if (!cfg_parse_u32(t->s, t->n, 0, 255, &v))
		return cfg_fail_tok(p, "bad protocol ", t, " (expected tcp, udp, icmp or 0..255)");
	m->proto = (uint8_t)v;
	m->proto_mask = 0xff;
	return 0;
}

int cfg_timeout_kind(struct cfg_ctx *p, const struct cfg_tok *t, int *kind)
{
	*kind = cfg_tok_find(t, cfg_timeout_names, NAT_TIMEOUT_KINDS);
	if (*kind < 0)
		return cfg_fail_tok(p, "unknown timeout ", t,
				    " (expected udp, tcp-established, tcp-transitory, icmp)");
	return 0;
}

/* ---- statements ---- */

static int once(struct cfg_ctx *p, uint32_t *first, const char *what)
{
	if (*first)
		return cfg_fail(p, p->line, "duplicate '%s' (first on line %u)", what, *first);
	*first = p->line;
	return 0;
}

static int need_arg(struct cfg_ctx *p, const struct cfg_tok *t, int i, int nt)
{
	return i + 1 >= nt ? cfg_fail_tok(p, "", &t[i], " needs a value") : 0;
}

/* inside|outside ADDR/LEN mac MAC [gateway ADDR] [gateway-mac MAC] */
static int parse_port(struct cfg_ctx *p, const struct cfg_tok *t, int nt,
		      struct nat_port_config *pc)
{
	const char *slash;
	struct cfg_tok a;
	uint32_t plen, lo, hi, gw_line = 0;
	bool have_mac = false;
	int i, rc;

	if (nt < 2)
		return cfg_fail_tok(p, "", &t[0], " needs ADDR/LEN");
	slash = memchr(t[1].s, '/', t[1].n);
	if (!slash)
		return cfg_fail_tok(p, "bad address ", &t[1], ": expected ADDR/LEN");
	a.s = t[1].s;
	a.n = (size_t)(slash - t[1].s);
	rc = parse_addr(p, &a, "address", &pc->addr);
	if (rc)
		return rc;
	if (!cfg_parse_u32(slash + 1, t[1].n - a.n - 1, 1, 32, &plen))
		return cfg_fail_tok(p, "bad prefix length in ", &t[1], " (expected 1..32)");
	pc->plen = (uint8_t)plen;
	for (i = 2; i < nt; i += 2) {
		rc = need_arg(p, t, i, nt);
		if (rc)
			return rc;
		if (cfg_tok_is(&t[i], "mac")) {
			rc = parse_mac(p, &t[i + 1], pc->mac);
			have_mac = true;
		} else if (cfg_tok_is(&t[i], "gateway")) {
			rc = parse_addr(p, &t[i + 1], "gateway", &pc->gateway);
			pc->has_gateway = true;
			gw_line = p->line;
		} else if (cfg_tok_is(&t[i], "gateway-mac")) {
			rc = parse_mac(p, &t[i + 1], pc->gateway_mac);
			pc->has_gateway_mac = true;
		} else {
			rc = cfg_fail_tok(p, "unknown keyword ", &t[i],
					  " (expected mac, gateway, gateway-mac)");
		}
		if (rc)
			return rc;
	}
	if (!have_mac)
		return cfg_fail_tok(p, "", &t[0], " needs 'mac MAC'");
	if (pc->has_gateway_mac && !pc->has_gateway)
		return cfg_fail(p, p->line, "'gateway-mac' needs 'gateway'");
	lo = plen == 32 ? pc->addr : pc->addr & ~(0xffffffffu >> plen);
	hi = plen == 32 ? pc->addr : pc->addr | (0xffffffffu >> plen);
	if (gw_line && (pc->gateway < lo || pc->gateway > hi || pc->gateway == pc->addr))
		return cfg_fail(p, p->line, "gateway is not another address on the subnet");
	if (pc->mac[0] & 1)
		return cfg_fail(p, p->line, "MAC address must be unicast");
	return 0;
}

/* A new rule at the end, matching everything, numbered in file order. */
static int add_rule(struct cfg_ctx *p, struct nat_rule **r)
{
	struct nat_config *c = p->cfg;

	if (c->n_rules >= NAT_CFG_MAX_RULES)
		return cfg_fail(p, p->line, "too many rules (at most %u)", NAT_CFG_MAX_RULES);
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

/* the keywords of a rule line, in match_keys[] order */
enum { K_SRC, K_DST, K_PROTO, K_SPORT, K_DPORT, K_TO, K_KEYS };
static const char *const match_keys[K_KEYS] = {"src", "dst", "proto", "sport", "dport", "to"};

/* dnat's "to ADDR[:PORT]" */
static int parse_dnat_target(struct cfg_ctx *p, const struct cfg_tok *v, struct nat_rule *r)
{
	const char *colon = memchr(v->s, ':', v->n);
	struct cfg_tok a = {v->s, colon ? (size_t)(colon - v->s) : v->n};
	uint32_t port = 0;
	int rc;

	rc = parse_addr(p, &a, "dnat target", &r->to_addr);
	if (!rc && colon && !cfg_parse_u32(colon + 1, v->n - a.n - 1, 1, 65535, &port))
		rc = cfg_fail_tok(p, "bad port in dnat target ", v, " (1..65535)");
	r->to_port = (uint16_t)port;
	return rc;
}

/* Rule lines: snat/masquerade/bypass/drop MATCH..., dnat ... to ADDR[:PORT] */
static int parse_rule(struct cfg_ctx *p, const struct cfg_tok *t, int nt, enum nat_action act)
{
	struct nat_rule *r = NULL;
	struct cls_rule *m;
	bool seen[K_KEYS] = {false};
	char b[40];
	int i, rc;

	rc = add_rule(p, &r);
	if (rc)
		return rc;
	r->action = act;
	m = &r->match;
	for (i = 1; i < nt; i += 2) {
		const struct cfg_tok *v = &t[i + 1];
		int k;

		rc = need_arg(p, t, i, nt);
		if (rc)
			return rc;
		k = cfg_tok_find(&t[i], match_keys, K_KEYS);
		if (k < 0 || (k == K_TO && act != NAT_ACT_DNAT))
			return cfg_fail(p, p->line, "unknown keyword '%s' in a %s rule",
					tok_str(&t[i], b, sizeof(b)), nat_action_name(act));
		if (seen[k])
			return cfg_fail_tok(p, "", &t[i], " given twice");
		seen[k] = true;
		switch (k) {
		case K_SRC:
			rc = parse_range(p, v, "src", &m->src_lo.v4, &m->src_hi.v4);
			break;
		case K_DST:
			if (act == NAT_ACT_DNAT) {
				rc = parse_addr(p, v, "dst", &m->dst_lo.v4);
				m->dst_hi.v4 = m->dst_lo.v4;
			} else {
				rc = parse_range(p, v, "dst", &m->dst_lo.v4, &m->dst_hi.v4);
			}
			break;
		case K_PROTO:
			rc = parse_proto(p, v, m);
			break;
		case K_SPORT:
			rc = parse_ports(p, v, &m->sport_lo, &m->sport_hi);
			break;
		case K_DPORT:
			rc = parse_ports(p, v, &m->dport_lo, &m->dport_hi);
			break;
		default:
			rc = parse_dnat_target(p, v, r);
			break;
		}
		if (rc)
			return rc;
	}
	if ((seen[K_SPORT] || seen[K_DPORT]) &&
	    (m->proto_mask != 0xff || (m->proto != 6 && m->proto != 17)))
		return cfg_fail(p, p->line, "sport/dport need 'proto tcp' or 'proto udp'");
	if (act == NAT_ACT_DNAT) {
		if (!seen[K_DST] || !seen[K_PROTO] || !seen[K_DPORT] || !seen[K_TO])
			return cfg_fail(p, p->line, "dnat needs dst ADDR, proto tcp|udp, dport N and to ADDR[:PORT]");
		if (seen[K_SRC] || seen[K_SPORT])
			return cfg_fail(p, p->line, "dnat takes no src or sport");
		if (m->dport_lo != m->dport_hi || m->dport_lo == 0)
			return cfg_fail(p, p->line, "dnat dport must be one port, 1..65535");
		if (r->to_port == 0)
			r->to_port = m->dport_lo;
	}
	return 0;
}

/* timeout udp|tcp-established|tcp-transitory|icmp SECONDS */
static int parse_timeout_stmt(struct cfg_ctx *p, const struct cfg_tok *t, int nt)
{
	struct nat_config *c = p->cfg;
	uint32_t *dst[NAT_TIMEOUT_KINDS] = {&c->timeout_udp, &c->timeout_tcp_est,
					    &c->timeout_tcp_trans, &c->timeout_icmp};
	int k, rc;

	if (nt != 3)
		return cfg_fail(p, p->line, "expected 'timeout udp|tcp-established|tcp-transitory|icmp SECONDS'");
	rc = cfg_timeout_kind(p, &t[1], &k);
	if (!rc)
		rc = once(p, &p->l_timeout[k], cfg_timeout_names[k]);
	if (!rc)
		rc = parse_num(p, &t[2], cfg_timeout_minima[k], NAT_CFG_MAX_TIMEOUT, "timeout",
			       dst[k]);
	return rc;
}

/*
 * Statements that take exactly one value.  first: offset of the line of
 * its first occurrence in struct cfg_ctx (once-only), 0 for repeatable;
 * field, min, max: where a number goes and its range (parse_number).
 */
struct one_value {
	const char *word;
	int (*parse)(struct cfg_ctx *p, const struct one_value *s, const struct cfg_tok *v);
	size_t first;
	size_t field;
	uint32_t min, max;
};

static int parse_pool(struct cfg_ctx *p, const struct one_value *s, const struct cfg_tok *v)
{
	struct nat_config *c = p->cfg;
	struct nat_addr_range *r;
	int rc;

	(void)s;
	if (c->n_pool >= NAT_CFG_MAX_POOL)
		return cfg_fail(p, p->line, "too many pool statements (at most %u)", NAT_CFG_MAX_POOL);
	if (cfg_tok_is(v, "any"))
		return cfg_fail(p, p->line, "pool cannot be 'any'");
	r = &c->pool[c->n_pool];
	rc = parse_range(p, v, "pool", &r->lo, &r->hi);
	if (rc)
		return rc;
	p->pool_line[c->n_pool++] = p->line;
	return 0;
}

static int parse_filtering(struct cfg_ctx *p, const struct one_value *s, const struct cfg_tok *v)
{
	/* nat_filtering_name() order */
	static const char *const modes[] = {"endpoint-independent", "address-dependent",
					    "address-and-port-dependent"};
	int f = cfg_tok_find(v, modes, 3);

	(void)s;
	if (f < 0)
		return cfg_fail_tok(p, "unknown filtering ", v,
				    " (expected endpoint-independent, address-dependent, address-and-port-dependent)");
	p->cfg->filtering = (enum nat_filtering)f;
	return 0;
}

static int parse_dynamic_ports(struct cfg_ctx *p, const struct one_value *s,
			       const struct cfg_tok *v)
{
	struct nat_config *c = p->cfg;
	int rc;

	(void)s;
	rc = parse_ports(p, v, &c->port_lo, &c->port_hi);
	if (!rc && c->port_lo < 1024)
		rc = cfg_fail(p, p->line, "dynamic ports must start at 1024 or above");
	return rc;
}

static int parse_number(struct cfg_ctx *p, const struct one_value *s, const struct cfg_tok *v)
{
	return parse_num(p, v, s->min, s->max, s->word,
			 (uint32_t *)(void *)((char *)p->cfg + s->field));
}

static int parse_log(struct cfg_ctx *p, const struct one_value *s, const struct cfg_tok *v)
{
	static const char *const off_on[] = {"off", "on"};
	int on = cfg_tok_find(v, off_on, 2);

	(void)s;
	if (on < 0)
		return cfg_fail(p, p->line, "expected 'log on' or 'log off'");
	p->cfg->log = on == 1;
	return 0;
}

#define FIRST(f) offsetof(struct cfg_ctx, f)
#define FIELD(f) offsetof(struct nat_config, f)
static const struct one_value one_values[] = {
	{"pool", parse_pool, 0, 0, 0, 0},
	{"filtering", parse_filtering, FIRST(l_filtering), 0, 0, 0},
	{"ports", parse_dynamic_ports, FIRST(l_ports), 0, 0, 0},
	{"quota", parse_number, FIRST(l_quota), FIELD(quota), 1, 65536},
	{"port-block", parse_number, FIRST(l_block), FIELD(port_block), 1, 4096},
	{"hold-down", parse_number, FIRST(l_hold), FIELD(hold_down), 0, 3600},
	{"sessions", parse_number, FIRST(l_sessions), FIELD(sessions), 1, 1u << 24},
	{"log", parse_log, FIRST(l_log), 0, 0, 0},
};
#undef FIRST
#undef FIELD

int cfg_parse_line(struct cfg_ctx *p, const struct cfg_tok *t, int nt)
{
	struct nat_config *c = p->cfg;
	const struct one_value *s = NULL;
	size_t i;
	int a, rc;

	if (cfg_tok_is(&t[0], "inside")) {
		rc = once(p, &p->l_inside, "inside");
		return rc ? rc : parse_port(p, t, nt, &c->inside);
	}
	if (cfg_tok_is(&t[0], "outside")) {
		rc = once(p, &p->l_outside, "outside");
		return rc ? rc : parse_port(p, t, nt, &c->outside);
	}
	for (a = NAT_ACT_SNAT; a <= NAT_ACT_DNAT; a++)
		if (cfg_tok_is(&t[0], nat_action_name((enum nat_action)a)))
			return parse_rule(p, t, nt, (enum nat_action)a);
	if (cfg_tok_is(&t[0], "timeout"))
		return parse_timeout_stmt(p, t, nt);

	/* the rest take exactly one value */
	for (i = 0; i < sizeof(one_values) / sizeof(one_values[0]) && !s; i++)
		if (cfg_tok_is(&t[0], one_values[i].word))
			s = &one_values[i];
	if (!s)
		return cfg_fail_tok(p, "unknown statement ", &t[0], "");
	if (nt != 2)
		return cfg_fail_tok(p, "", &t[0], " takes exactly one value");
	if (s->first) {
		rc = once(p, (uint32_t *)(void *)((char *)p + s->first), s->word);
		if (rc)
			return rc;
	}
	return s->parse(p, s, &t[1]);
}
