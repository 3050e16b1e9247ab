/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 6888 log lines; see nat_log.h. */
#include <inttypes.h>

#include "nat_log.h"

#define IPF "%u.%u.%u.%u"
#define IPA(a) (unsigned)((a) >> 24), (unsigned)(((a) >> 16) & 0xff), \
	(unsigned)(((a) >> 8) & 0xff), (unsigned)((a) & 0xff)

const char *nat_proto_name(uint8_t proto, char tmp[4])
{
	switch (proto) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	default:
		snprintf(tmp, 4, "%u", proto);
		return tmp;
	}
}

int nat_log_format_mapping(char *buf, size_t size, enum nat_log_event ev,
			   const struct nat_mapping *m, uint64_t now)
{
	char t[4];

	return snprintf(buf, size, "%" PRIu64 " nat %s %s " IPF ":%u -> " IPF ":%u", now,
			ev == NAT_LOG_MAP_CREATE ? "map-create" : "map-delete",
			nat_proto_name(m->proto, t), IPA(m->in_addr), m->in_port,
			IPA(m->out_addr), m->out_port);
}

int nat_log_format_block(char *buf, size_t size, const struct nat_ports_event *ev)
{
	char t[4];

	return snprintf(buf, size, "%" PRIu64 " nat %s %s " IPF " -> " IPF ":%u-%u", ev->now,
			ev->type == NAT_PORTS_BLOCK_ALLOC ? "block-alloc" : "block-free",
			nat_proto_name(ev->proto, t), IPA(ev->in_addr), IPA(ev->out_addr),
			ev->port_lo, ev->port_hi);
}

void nat_log_mapping(struct nat_log *l, enum nat_log_event ev, const struct nat_mapping *m,
		     uint64_t now)
{
	char line[160];

	l->lines++;
	if (!l->f)
		return;
	nat_log_format_mapping(line, sizeof(line), ev, m, now);
	fprintf(l->f, "%s\n", line);
}

void nat_log_block(struct nat_log *l, const struct nat_ports_event *ev)
{
	char line[160];

	l->lines++;
	if (!l->f)
		return;
	nat_log_format_block(line, sizeof(line), ev);
	fprintf(l->f, "%s\n", line);
}
