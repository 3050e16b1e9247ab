/* SPDX-License-Identifier: BSD-3-Clause */
/* A rule back as a config line (nat_config_format_rule(), nat_config.h). */
#include <errno.h>
#include <stdio.h>

#include "nat_config.h"

/* An address range as the parser reads it: ADDR, ADDR/LEN or ADDR-ADDR. */
static int fmt_range(char *b, size_t n, uint32_t lo, uint32_t hi)
{
	uint64_t size = (uint64_t)hi - lo + 1;
	int len = 32;

#define A4(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff
	if (lo == hi)
		return snprintf(b, n, "%u.%u.%u.%u", A4(lo));
	if (hi > lo && (size & (size - 1)) == 0 && (lo & (uint32_t)(size - 1)) == 0) {
		while (size > 1) {
			size >>= 1;
			len--;
		}
		return snprintf(b, n, "%u.%u.%u.%u/%d", A4(lo), len);
	}
	return snprintf(b, n, "%u.%u.%u.%u-%u.%u.%u.%u", A4(lo), A4(hi));
#undef A4
}

int nat_config_format_rule(const struct nat_rule *r, char *buf, size_t size)
{
	const struct cls_rule *m;
	char tmp[160], a[40];
	size_t n = 0;

	if (!r || (!buf && size))
		return -EINVAL;
	m = &r->match;
#define PUT(...)                                                                          \
	do {                                                                              \
		int k_ = snprintf(tmp + n, sizeof(tmp) - n, __VA_ARGS__);                 \
		if (k_ > 0)                                                               \
			n += (size_t)k_ < sizeof(tmp) - n ? (size_t)k_ : sizeof(tmp) - n - 1; \
	} while (0)
	PUT("%s", nat_action_name(r->action));
	if (m->src_lo.v4 != 0 || m->src_hi.v4 != UINT32_MAX) {
		fmt_range(a, sizeof(a), m->src_lo.v4, m->src_hi.v4);
		PUT(" src %s", a);
	}
	if (m->dst_lo.v4 != 0 || m->dst_hi.v4 != UINT32_MAX) {
		fmt_range(a, sizeof(a), m->dst_lo.v4, m->dst_hi.v4);
		PUT(" dst %s", a);
	}
	if (m->proto_mask) {
		if (m->proto == 6)
			PUT(" proto tcp");
		else if (m->proto == 17)
			PUT(" proto udp");
		else if (m->proto == 1)
			PUT(" proto icmp");
		else
			PUT(" proto %u", m->proto);
	}
	if (m->sport_lo != 0 || m->sport_hi != 65535) {
		if (m->sport_lo == m->sport_hi)
			PUT(" sport %u", m->sport_lo);
		else
			PUT(" sport %u-%u", m->sport_lo, m->sport_hi);
	}
	if (m->dport_lo != 0 || m->dport_hi != 65535) {
		if (m->dport_lo == m->dport_hi)
			PUT(" dport %u", m->dport_lo);
		else
			PUT(" dport %u-%u", m->dport_lo, m->dport_hi);
	}
	if (r->action == NAT_ACT_DNAT) {
		fmt_range(a, sizeof(a), r->to_addr, r->to_addr);
		PUT(" to %s:%u", a, r->to_port);
	}
#undef PUT
	if (size)
		snprintf(buf, size, "%s", tmp);
	return (int)n;
}
