/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_LOG_H
#define NCNAT_NAT_LOG_H

/*
 * ncnat logging of mappings and port blocks (RFC 6888 REQ-12)
 * ===========================================================
 *
 * A CGN must let an operator find the subscriber behind an external
 * address and port at a given time.  ncnat writes one line per event:
 *
 *   <unix-seconds> nat map-create udp 10.0.0.5:4000 -> 203.0.113.10:4000
 *   <unix-seconds> nat map-delete udp 10.0.0.5:4000 -> 203.0.113.10:4000
 *   <unix-seconds> nat block-alloc tcp 10.0.0.5 -> 203.0.113.10:1088-1151
 *   <unix-seconds> nat block-free tcp 10.0.0.5 -> 203.0.113.10:1088-1151
 *
 * With port blocks (port-block > 1) only block lines are written for
 * dynamic ports (the point of blocks is fewer log lines); without, one
 * line per mapping.  Static (dnat) mappings are not logged per packet
 * flow: they are in the configuration.
 *
 * The formatters are pure (any thread); a struct nat_log sink writes lines
 * to a FILE (or counts them when f is NULL, for tests) and belongs to one
 * thread.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nat_ports.h"
#include "nat_session.h"

enum nat_log_event { NAT_LOG_MAP_CREATE = 0, NAT_LOG_MAP_DELETE };

/** Format a mapping line (no newline).  @return as snprintf. */
int nat_log_format_mapping(char *buf, size_t size, enum nat_log_event ev,
			   const struct nat_mapping *m, uint64_t now);

/** Format a port-block line (no newline).  @return as snprintf. */
int nat_log_format_block(char *buf, size_t size, const struct nat_ports_event *ev);

/** "tcp", "udp", "icmp", or the number. */
const char *nat_proto_name(uint8_t proto, char tmp[4]);

struct nat_log {
	FILE *f;          /**< NULL: count only */
	uint64_t lines;   /**< lines written (or that would have been) */
};

void nat_log_mapping(struct nat_log *l, enum nat_log_event ev, const struct nat_mapping *m,
		     uint64_t now);
void nat_log_block(struct nat_log *l, const struct nat_ports_event *ev);

#endif /* NCNAT_NAT_LOG_H */
