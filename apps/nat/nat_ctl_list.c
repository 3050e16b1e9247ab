/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat control listings: show sessions / show mappings, their filters and
 * their text and JSON lines, produced over several polls from the backend's
 * resumable walks (nat_ctl.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ctl_int.h"
#include "nat_tcp.h"

#define OUT(s, ...) nat_ctl_out_printf(&(s)->out, __VA_ARGS__)

/* filter bits */
#define F_PROTO 0x01u
#define F_INSIDE 0x02u
#define F_OUTSIDE 0x04u
#define F_REMOTE 0x08u
#define F_PORT 0x10u
#define F_STATE 0x20u
#define F_STATIC 0x40u
#define F_DYNAMIC 0x80u
#define F_LIMIT 0x100u
#define F_JSON 0x200u

static const char *ip4(uint32_t a, char *b)
{
	snprintf(b, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return b;
}

static const char *ep4(uint32_t a, uint16_t port, char *b)
{
	char t[16];

	snprintf(b, 24, "%s:%u", ip4(a, t), port);
	return b;
}

static const char *proto_name(uint8_t proto, char *b)
{
	if (proto == 6)
		return "tcp";
	if (proto == 17)
		return "udp";
	if (proto == 1)
		return "icmp";
	snprintf(b, 4, "%u", proto);
	return b;
}

static const char *flags_name(uint8_t flags)
{
	switch (flags & (NAT_VIEW_STATIC | NAT_VIEW_MASQ)) {
	case NAT_VIEW_STATIC: return "static";
	case NAT_VIEW_MASQ: return "masq";
	case NAT_VIEW_STATIC | NAT_VIEW_MASQ: return "static,masq";
	}
	return "-";
}

/* ---- filters ---- */

/* A[/LEN] -> [lo, hi] */
static bool parse_prefix(const char *s, uint32_t *lo, uint32_t *hi)
{
	char a[16];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t len = 32;
	struct in_addr in;
	uint32_t mask;

	if (n == 0 || n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = 0;
	if (inet_pton(AF_INET, a, &in) != 1)
		return false;
	if (slash && !nat_ctl_parse_uint(slash + 1, 32, &len))
		return false;
	mask = len ? 0xffffffffu << (32 - len) : 0;
	*lo = ntohl(in.s_addr) & mask;
	*hi = *lo | ~mask;
	return true;
}

static bool parse_proto(const char *s, uint8_t *p)
{
	uint64_t v;

	if (!strcmp(s, "tcp"))
		*p = 6;
	else if (!strcmp(s, "udp"))
		*p = 17;
	else if (!strcmp(s, "icmp"))
		*p = 1;
	else if (nat_ctl_parse_uint(s, 255, &v))
		*p = (uint8_t)v;
	else
		return false;
	return true;
}

static bool parse_state(const char *s, uint8_t *st)
{
	uint8_t i;

	for (i = 0; i < NAT_TCP_STATE_COUNT; i++) {
		if (!strcmp(s, nat_tcp_state_name(i))) {
			*st = i;
			return true;
		}
	}
	return false;
}

/*
 * Filters of show sessions / mappings from word i on.  Mappings have no
 * remote endpoint and no TCP state.  @return false with the error sent.
 */
static bool parse_filter(struct nat_ctl_conn *s, const struct nat_ctl_words *ws, int i, bool sessions,
			 struct nat_ctl_filter *f)
{
	static const char *const keys[] = {"proto", "inside", "outside", "remote", "port",
					   "state", "static", "dynamic", "limit", "json"};
	memset(f, 0, sizeof(*f));
	for (; i < ws->n; i++) {
		const char *k = ws->w[i], *v = i + 1 < ws->n ? ws->w[i + 1] : NULL;
		uint32_t bit = 0;
		uint64_t x;
		unsigned j;

		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (!strcmp(k, keys[j]))
				bit = 1u << j;
		if (!bit || (!sessions && (bit == F_REMOTE || bit == F_STATE))) {
			nat_ctl_reply_err(s, "unknown filter '%s' (expected proto, inside, outside,%s port,%s static, dynamic, limit, json)",
				  k, sessions ? " remote," : "", sessions ? " state," : "");
			return false;
		}
		if (f->have & bit) {
			nat_ctl_reply_err(s, "'%s' given twice", k);
			return false;
		}
		f->have |= bit;
		if (bit == F_STATIC || bit == F_DYNAMIC || bit == F_JSON) {
			f->json |= bit == F_JSON;
			continue;
		}
		if (!v) {
			nat_ctl_reply_err(s, "'%s' needs a value", k);
			return false;
		}
		i++;
		switch (bit) {
		case F_PROTO:
			if (!parse_proto(v, &f->proto)) {
				nat_ctl_reply_err(s, "bad protocol '%s' (expected tcp, udp, icmp or 0..255)", v);
				return false;
			}
			break;
		case F_INSIDE:
		case F_OUTSIDE:
		case F_REMOTE: {
			uint32_t *lo = bit == F_INSIDE ? &f->in_lo : bit == F_OUTSIDE ? &f->ext_lo : &f->rem_lo;
			uint32_t *hi = bit == F_INSIDE ? &f->in_hi : bit == F_OUTSIDE ? &f->ext_hi : &f->rem_hi;

			if (!parse_prefix(v, lo, hi)) {
				nat_ctl_reply_err(s, "bad address '%s' for %s (expected A.B.C.D or A.B.C.D/LEN)", v, k);
				return false;
			}
			break;
		}
		case F_PORT:
			if (!nat_ctl_parse_uint(v, 65535, &x)) {
				nat_ctl_reply_err(s, "bad port '%s' (expected 0..65535)", v);
				return false;
			}
			f->port = (uint16_t)x;
			break;
		case F_STATE:
			if (!parse_state(v, &f->state)) {
				nat_ctl_reply_err(s, "unknown TCP state '%s' (expected closed, syn_out, syn_in, sim_open, syn_acked, established, fin_in, fin_out, closing, reset)",
					  v);
				return false;
			}
			break;
		default: /* F_LIMIT */
			if (!nat_ctl_parse_uint(v, UINT32_MAX, &x) || x == 0) {
				nat_ctl_reply_err(s, "bad limit '%s' (expected 1..%u)", v, UINT32_MAX);
				return false;
			}
			f->limit = x;
			break;
		}
	}
	if ((f->have & F_STATIC) && (f->have & F_DYNAMIC)) {
		nat_ctl_reply_err(s, "'static' and 'dynamic' exclude each other");
		return false;
	}
	if ((f->have & F_STATE) && (f->have & F_PROTO) && f->proto != 6) {
		nat_ctl_reply_err(s, "'state' is for TCP sessions");
		return false;
	}
	return true;
}

static bool in_range(uint32_t a, uint32_t lo, uint32_t hi)
{
	return a >= lo && a <= hi;
}

static bool match_common(const struct nat_ctl_filter *f, uint8_t proto, uint8_t flags,
			 uint32_t in_addr, uint32_t ext_addr)
{
	if ((f->have & F_PROTO) && proto != f->proto)
		return false;
	if ((f->have & F_INSIDE) && !in_range(in_addr, f->in_lo, f->in_hi))
		return false;
	if ((f->have & F_OUTSIDE) && !in_range(ext_addr, f->ext_lo, f->ext_hi))
		return false;
	if ((f->have & F_STATIC) && !(flags & NAT_VIEW_STATIC))
		return false;
	if ((f->have & F_DYNAMIC) && (flags & NAT_VIEW_STATIC))
		return false;
	return true;
}

static bool match_session(const struct nat_ctl_filter *f, const struct nat_session_view *v)
{
	if (!match_common(f, v->proto, v->flags, v->in_addr, v->ext_addr))
		return false;
	if ((f->have & F_REMOTE) && !in_range(v->rem_addr, f->rem_lo, f->rem_hi))
		return false;
	if ((f->have & F_PORT) && v->in_port != f->port && v->ext_port != f->port &&
	    v->rem_port != f->port)
		return false;
	if ((f->have & F_STATE) && (v->proto != 6 || v->tcp_state != f->state))
		return false;
	return true;
}

static bool match_mapping(const struct nat_ctl_filter *f, const struct nat_mapping_view *v)
{
	if (!match_common(f, v->proto, v->flags, v->in_addr, v->ext_addr))
		return false;
	if ((f->have & F_PORT) && v->in_port != f->port && v->ext_port != f->port)
		return false;
	return true;
}

/* ---- show sessions / mappings: listings over several polls ---- */

static int emit_session(void *arg, const struct nat_session_view *v)
{
	struct nat_ctl_conn *s = arg;
	char a[24], b[24], c[24], p[4];

	if (!match_session(&s->f, v))
		return 0;
	if (s->f.json)
		OUT(s, "%s{\"proto\":\"%s\",\"inside\":\"%s\",\"in_port\":%u,\"outside\":\"%s\",\"ext_port\":%u,"
		       "\"remote\":\"%s\",\"rem_port\":%u,\"state\":\"%s\",\"idle\":%u,\"timeout\":%u,"
		       "\"static\":%s,\"masq\":%s}",
		    s->shown ? ",\n" : "\n", proto_name(v->proto, p), ip4(v->in_addr, a), v->in_port,
		    ip4(v->ext_addr, b), v->ext_port, ip4(v->rem_addr, c), v->rem_port,
		    v->proto == 6 ? nat_tcp_state_name(v->tcp_state) : "-", v->idle_s, v->timeout_s,
		    (v->flags & NAT_VIEW_STATIC) ? "true" : "false",
		    (v->flags & NAT_VIEW_MASQ) ? "true" : "false");
	else
		OUT(s, "%-5s %-21s %-21s %-21s %-11s %7u %7u %s\n", proto_name(v->proto, p),
		    ep4(v->in_addr, v->in_port, a), ep4(v->ext_addr, v->ext_port, b),
		    ep4(v->rem_addr, v->rem_port, c),
		    v->proto == 6 ? nat_tcp_state_name(v->tcp_state) : "-", v->idle_s, v->timeout_s,
		    flags_name(v->flags));
	s->shown++;
	if (s->f.limit && s->shown >= s->f.limit) {
		s->limit_hit = true;
		return 1;
	}
	return s->out.over || nat_ctl_out_pending(&s->out) >= s->high;
}

static int emit_mapping(void *arg, const struct nat_mapping_view *v)
{
	struct nat_ctl_conn *s = arg;
	char a[24], b[24], p[4];

	if (!match_mapping(&s->f, v))
		return 0;
	if (s->f.json)
		OUT(s, "%s{\"proto\":\"%s\",\"inside\":\"%s\",\"in_port\":%u,\"outside\":\"%s\",\"ext_port\":%u,"
		       "\"sessions\":%u,\"age\":%u,\"created\":%llu,\"static\":%s,\"masq\":%s}",
		    s->shown ? ",\n" : "\n", proto_name(v->proto, p), ip4(v->in_addr, a), v->in_port,
		    ip4(v->ext_addr, b), v->ext_port, v->sessions, v->age_s,
		    (unsigned long long)v->created_s, (v->flags & NAT_VIEW_STATIC) ? "true" : "false",
		    (v->flags & NAT_VIEW_MASQ) ? "true" : "false");
	else
		OUT(s, "%-5s %-21s %-21s %8u %8u %s\n", proto_name(v->proto, p),
		    ep4(v->in_addr, v->in_port, a), ep4(v->ext_addr, v->ext_port, b), v->sessions,
		    v->age_s, flags_name(v->flags));
	s->shown++;
	if (s->f.limit && s->shown >= s->f.limit) {
		s->limit_hit = true;
		return 1;
	}
	return s->out.over || nat_ctl_out_pending(&s->out) >= s->high;
}

static void walk_start(struct nat_ctl_conn *s, enum nat_ctl_walk kind)
{
	bool sess = kind == NAT_CTL_WALK_SESSIONS;

	s->walk = kind;
	s->cursor = 0;
	s->shown = 0;
	s->limit_hit = false;
	if (s->f.json)
		OUT(s, "{\"%s\":[", sess ? "sessions" : "mappings");
	else if (sess)
		OUT(s, "%-5s %-21s %-21s %-21s %-11s %7s %7s %s\n", "proto", "inside", "outside",
		    "remote", "state", "idle", "timeout", "flags");
	else
		OUT(s, "%-5s %-21s %-21s %8s %8s %s\n", "proto", "inside", "outside", "sessions",
		    "age", "flags");
}

static void walk_end(const struct nat_ctl_backend *be, struct nat_ctl_conn *s)
{
	bool sess = s->walk == NAT_CTL_WALK_SESSIONS;
	struct nat_stats_view sv;
	uint32_t total;

	memset(&sv, 0, sizeof(sv));
	if (be->stats(be->ctx, &sv) != 0)
		memset(&sv, 0, sizeof(sv));
	total = sess ? sv.sessions : sv.mappings;
	if (s->f.json)
		OUT(s, "\n],\"shown\":%llu,\"total\":%u,\"truncated\":%s}\n",
		    (unsigned long long)s->shown, total, s->limit_hit ? "true" : "false");
	else
		OUT(s, "%llu %s shown%s, %u in the table\n", (unsigned long long)s->shown,
		    sess ? "sessions" : "mappings", s->limit_hit ? " (limit reached)" : "", total);
	s->walk = NAT_CTL_WALK_NONE;
	nat_ctl_reply_ok(s);
}

void nat_ctl_cmd_continue(const struct nat_ctl_backend *be, struct nat_ctl_conn *s,
			  uint32_t budget)
{
	int rc;

	if (s->walk == NAT_CTL_WALK_NONE || s->out.over || nat_ctl_out_pending(&s->out) >= s->high)
		return;
	if (s->walk == NAT_CTL_WALK_SESSIONS)
		rc = be->sessions(be->ctx, &s->cursor, budget, emit_session, s);
	else
		rc = be->mappings(be->ctx, &s->cursor, budget, emit_mapping, s);
	if (rc < 0) {
		if (s->f.json)
			OUT(s, "\n");
		s->walk = NAT_CTL_WALK_NONE;
		nat_ctl_reply_err(s, "listing failed: %s", strerror(-rc));
	} else if (rc == 1 || s->limit_hit) {
		walk_end(be, s);
	}
}

bool nat_ctl_list_start(struct nat_ctl_conn *s, const struct nat_ctl_words *ws, int first,
			bool sessions)
{
	if (!parse_filter(s, ws, first, sessions, &s->f))
		return false;
	walk_start(s, sessions ? NAT_CTL_WALK_SESSIONS : NAT_CTL_WALK_MAPPINGS);
	return true;
}
