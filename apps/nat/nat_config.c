/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat configuration parser (format: nat_config.h, README.md): the
 * buffer/file driver, the checks between statements, and the public
 * single-statement entry points.
 *
 * Two passes over one struct: parse every line into a fresh nat_config
 * (nat_config_line.c: syntax and per-value ranges, errors at the offending
 * line), then check the statements against each other (errors at the later
 * line involved).  The caller gets the struct only if both passes succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nat_config_int.h"

#define MAX_FILE (16u << 20)

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
static int check_rule(struct cfg_ctx *p, const struct nat_config *c, const struct nat_rule *r,
		      const struct nat_rule *prev, uint32_t n_prev, bool by_index)
{
	uint32_t j;

	if (r->action == NAT_ACT_SNAT && c->n_pool == 0)
		return cfg_fail(p, r->line, "snat needs a 'pool'");
	if (r->action != NAT_ACT_DNAT)
		return 0;
	if (r->match.dst_lo.v4 != c->outside.addr && !nat_config_in_pool(c, r->match.dst_lo.v4))
		return cfg_fail(p, r->line, "dnat address is neither the outside address nor in the pool");
	if (r->to_addr == c->outside.addr || r->to_addr == c->inside.addr ||
	    nat_config_in_pool(c, r->to_addr))
		return cfg_fail(p, r->line, "dnat target must be an inside host");
	for (j = 0; j < n_prev; j++) {
		const struct nat_rule *q = &prev[j];
		const char *what = by_index ? "rule" : "line";
		uint32_t which = by_index ? j + 1 : q->line;

		if (q->action == NAT_ACT_DNAT && q->match.proto == r->match.proto &&
		    q->match.dst_lo.v4 == r->match.dst_lo.v4 &&
		    q->match.dport_lo == r->match.dport_lo)
			return cfg_fail(p, r->line, "dnat duplicates %s %u", what, which);
		if (q->action == NAT_ACT_DNAT && q->match.proto == r->match.proto &&
		    q->to_addr == r->to_addr && q->to_port == r->to_port)
			return cfg_fail(p, r->line, "dnat target duplicates %s %u", what, which);
	}
	return 0;
}

static uint32_t later(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* Cross-statement checks; errors name the later line involved. */
static int validate(struct cfg_ctx *p)
{
	struct nat_config *c = p->cfg;
	uint64_t total = 0;
	uint32_t i, j;

	if (!p->l_inside)
		return cfg_fail(p, p->line, "missing 'inside ADDR/LEN mac MAC'");
	if (!p->l_outside)
		return cfg_fail(p, p->line, "missing 'outside ADDR/LEN mac MAC'");
	if (port_subnet_has(&c->inside, c->outside.addr) ||
	    port_subnet_has(&c->outside, c->inside.addr))
		return cfg_fail(p, later(p->l_inside, p->l_outside),
			    "inside and outside subnets overlap");
	for (i = 0; i < c->n_pool; i++) {
		const struct nat_addr_range *r = &c->pool[i];

		for (j = 0; j < i; j++)
			if (r->lo <= c->pool[j].hi && c->pool[j].lo <= r->hi)
				return cfg_fail(p, p->pool_line[i], "pool range overlaps line %u",
					    p->pool_line[j]);
		if ((c->inside.addr >= r->lo && c->inside.addr <= r->hi) ||
		    (c->outside.addr >= r->lo && c->outside.addr <= r->hi))
			return cfg_fail(p, p->pool_line[i], "pool contains the inside or outside address");
		if (port_subnet_has(&c->inside, r->lo) || port_subnet_has(&c->inside, r->hi))
			return cfg_fail(p, p->pool_line[i], "pool overlaps the inside subnet");
		total += (uint64_t)r->hi - r->lo + 1;
		if (total > NAT_CFG_MAX_POOL_ADDRS)
			return cfg_fail(p, p->pool_line[i], "pool larger than %u addresses",
				    NAT_CFG_MAX_POOL_ADDRS);
	}
	c->pool_addrs = (uint32_t)total;
	if (c->quota > (uint32_t)c->port_hi - c->port_lo + 1)
		return cfg_fail(p, later(p->l_quota, p->l_ports),
			    "quota %u exceeds the %u dynamic ports", c->quota,
			    (uint32_t)c->port_hi - c->port_lo + 1);
	if (c->port_block > c->quota)
		return cfg_fail(p, later(p->l_block, p->l_quota),
			    "port-block %u larger than the quota %u", c->port_block, c->quota);
	for (i = 0; i < c->n_rules; i++) {
		int rc = check_rule(p, c, &c->rules[i], c->rules, i, false);

		if (rc)
			return rc;
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
	struct cfg_ctx p;
	size_t pos = 0;
	int rc = 0;

	if (out)
		*out = NULL;
	if ((!buf && len) || !name || !out || (!err && errlen))
		return -EINVAL;
	cfg_ctx_init(&p, name, err, errlen);
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg)
		return -ENOMEM;
	defaults(p.cfg);
	while (pos < len && rc == 0) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		struct cfg_tok t[CFG_MAX_TOKENS];
		int nt = 0;

		pos += n + (nl ? 1 : 0);
		p.line++;
		rc = cfg_tokenize(&p, line, n, t, &nt);
		if (rc == 0 && nt > 0)
			rc = cfg_parse_line(&p, t, nt);
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
	return (unsigned)k < NAT_TIMEOUT_KINDS ? cfg_timeout_names[k] : "unknown";
}

uint32_t nat_timeout_min(enum nat_timeout_kind k)
{
	return (unsigned)k < NAT_TIMEOUT_KINDS ? cfg_timeout_minima[k] : 0;
}

static bool is_rule_word(const struct cfg_tok *t)
{
	int a;

	for (a = NAT_ACT_SNAT; a <= NAT_ACT_DNAT; a++)
		if (cfg_tok_is(t, nat_action_name((enum nat_action)a)))
			return true;
	return false;
}

/* A single statement's text into words: one line only. */
static int one_line(struct cfg_ctx *p, const char *text, const char *what, struct cfg_tok *t,
		    int *nt)
{
	if (strchr(text, '\n'))
		return cfg_fail(p, p->line, "a %s is one line", what);
	return cfg_tokenize(p, text, strlen(text), t, nt);
}

int nat_config_parse_rule(const char *line, const struct nat_config *cfg, struct nat_rule *out,
			  char *err, size_t errlen)
{
	struct cfg_tok t[CFG_MAX_TOKENS];
	struct nat_config tmp;
	struct cfg_ctx p;
	int nt = 0, rc;

	if (!line || !cfg || !out || (!err && errlen))
		return -EINVAL;
	cfg_ctx_init(&p, NULL, err, errlen);
	p.line = 1;
	tmp = *cfg;             /* pool and addresses for the checks; own rules */
	tmp.rules = NULL;
	tmp.n_rules = 0;
	p.cfg = &tmp;
	rc = one_line(&p, line, "rule", t, &nt);
	if (!rc && nt == 0)
		rc = cfg_fail(&p, 1, "empty rule (expected snat, masquerade, bypass, drop or dnat ...)");
	if (!rc && !is_rule_word(&t[0]))
		rc = cfg_fail_tok(&p, "", &t[0],
				  " is not a rule (expected snat, masquerade, bypass, drop or dnat)");
	if (!rc)
		rc = cfg_parse_line(&p, t, nt); /* the file parser's own code path */
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
	struct cfg_ctx p;
	const char *why = NULL;

	if (!cfg || !r || (!err && errlen))
		return -EINVAL;
	cfg_ctx_init(&p, NULL, err, errlen);
	if ((unsigned)r->action > NAT_ACT_DNAT)
		return cfg_fail(&p, 0, "unknown rule action %d", (int)r->action);
	if (r->match.family != CLS_IPV4 || cls_rule_check(&r->match, &why) != 0)
		return cfg_fail(&p, 0, "bad rule match: %s", why ? why : "not IPv4");
	if (r->action == NAT_ACT_DNAT &&
	    ((r->match.proto != 6 && r->match.proto != 17) || r->match.proto_mask != 0xff ||
	     r->match.dst_lo.v4 != r->match.dst_hi.v4 || r->match.dport_lo != r->match.dport_hi ||
	     r->match.dport_lo == 0 || r->to_port == 0))
		return cfg_fail(&p, 0, "dnat needs one address, proto tcp|udp, one dport and a target port");
	return check_rule(&p, cfg, r, cfg->rules, cfg->n_rules, true);
}

int nat_config_parse_timeout(const char *text, enum nat_timeout_kind *kind, uint32_t *secs,
			     char *err, size_t errlen)
{
	struct cfg_tok t[CFG_MAX_TOKENS];
	struct cfg_ctx p;
	uint32_t v;
	int nt = 0, k, rc;

	if (!text || !kind || !secs || (!err && errlen))
		return -EINVAL;
	cfg_ctx_init(&p, NULL, err, errlen);
	rc = one_line(&p, text, "timeout", t, &nt);
	if (rc)
		return rc;
	if (nt != 2)
		return cfg_fail(&p, 0, "expected 'udp|tcp-established|tcp-transitory|icmp SECONDS'");
	rc = cfg_timeout_kind(&p, &t[0], &k);
	if (rc)
		return rc;
	if (!cfg_parse_u32(t[1].s, t[1].n, 0, UINT32_MAX, &v))
		return cfg_fail_tok(&p, "bad timeout ", &t[1], " (expected seconds)");
	if (v < cfg_timeout_minima[k])
		return cfg_fail(&p, 0, "timeout %s %u is below the %s minimum of %u seconds",
				cfg_timeout_names[k], v, cfg_timeout_rfcs[k], cfg_timeout_minima[k]);
	if (v > NAT_CFG_MAX_TIMEOUT)
		return cfg_fail(&p, 0, "timeout %s %u is above the maximum of %u seconds",
				cfg_timeout_names[k], v, NAT_CFG_MAX_TIMEOUT);
	*kind = (enum nat_timeout_kind)k;
	*secs = v;
	return 0;
}
