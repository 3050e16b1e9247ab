/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PIPELINE_H
#define NCNAT_NAT_PIPELINE_H

/*
 * ncnat packet pipeline — one frame in, a verdict out, no DPDK
 * ============================================================
 *
 * What
 * ----
 * nat_pipeline_process() takes one Ethernet frame that arrived on the
 * inside or the outside port, in a writable buffer, and decides:
 * transmit it (translated in place) on the inside or the outside, or drop
 * it (one drop_* counter).  It may also produce a frame of its own (an ARP
 * reply or request, or ICMP host unreachable on port exhaustion) that the
 * caller sends on
 * the side nat_pipeline_reply() names.  ncnat's rx/tx loop, the golden
 * pcap tests and the unit tests all drive the NAT through this one call.
 *
 * Steps (inside frame):  ARP -> parse (nc_parse) -> TTL -> ICMP error?
 *   -> rule (first match in config order; bypass, drop, snat, masquerade)
 *   -> mapping by inside endpoint, or a new one (port allocator, quota,
 *      log) -> session with the remote endpoint (TCP state table)
 *   -> hairpin if the destination is one of our external endpoints
 *   -> translate source -> MACs -> TX outside (or inside when hairpinned).
 * Outside frame: ARP -> parse -> ICMP error? -> mapping by external
 *   endpoint (dynamic or dnat) -> session, or filtering decides whether one
 *   may be created (never from an unsolicited TCP SYN; dnat accepts SYNs)
 *   -> translate destination -> MACs -> TX inside.
 * ICMP errors are translated through the mapping of their embedded packet
 * and never create or refresh anything.
 * Fragments (RFC 4787 REQ-14): a first fragment is translated as above and
 * remembered by (side, src, dst, proto, IP id) for 10 s; later fragments
 * get the same address rewrite; a later fragment arriving before its first
 * one is dropped (drop_fragment; no reassembly).
 *
 * MACs: frames leave with the port's own MAC as source; the destination
 * MAC is the static gateway-mac for off-subnet destinations on the outside,
 * else a neighbour learned from ARP (both sides) and from inside IP packets'
 * source.  A frame to an unknown next hop is dropped (drop_no_neigh) and an
 * ARP request for it is sent as the reply frame (at most one per next hop
 * and second; the table is a small hash that forgets on collisions).
 *
 * Time: seconds, from the caller (wall clock in ncnat, pcap time in tests).
 * Thread safety: a pipeline belongs to one thread.
 * Errors: 0 or -errno for set-up; per-packet outcomes are counters.
 */

#include <stdint.h>
#include <stdio.h>

#include "nat_config.h"
#include "nat_counters.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

enum nat_side { NAT_SIDE_INSIDE = 0, NAT_SIDE_OUTSIDE = 1 };

enum nat_verdict { NAT_DROP = 0, NAT_TX_INSIDE, NAT_TX_OUTSIDE };

struct nat_pipeline;

/**
 * Build the NAT state for a configuration (which the pipeline copies what
 * it needs from; cfg may be freed afterwards).  log: where RFC 6888 lines
 * go (NULL: not written, only counted).
 * @return 0; -EINVAL; -ENOMEM; -EEXIST (two dnat rules on one port).
 */
int nat_pipeline_create(const struct nat_config *cfg, FILE *log,
			struct nat_pipeline **out) NC_MUST_CHECK;

/** NULL-safe. */
void nat_pipeline_free(struct nat_pipeline *p);

/**
 * Process one frame of len bytes arrived on side, translating it in place.
 * @return the verdict.  Never fails: bad input is dropped and counted.
 */
enum nat_verdict nat_pipeline_process(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				      enum nat_side side, uint64_t now);

/**
 * The reply frame the last nat_pipeline_process() call produced, or NULL.
 * Valid until the next call.
 */
const uint8_t *nat_pipeline_reply(const struct nat_pipeline *p, uint32_t *len,
				  enum nat_side *side);

/** Expire idle sessions (budget slots visited); @return sessions removed. */
int nat_pipeline_expire(struct nat_pipeline *p, uint64_t now, uint32_t budget);

const struct nat_counters *nat_pipeline_counters(const struct nat_pipeline *p);

/** Live sessions and mappings. */
uint32_t nat_pipeline_sessions(const struct nat_pipeline *p);
uint32_t nat_pipeline_mappings(const struct nat_pipeline *p);
/** Log lines emitted so far. */
uint64_t nat_pipeline_log_lines(const struct nat_pipeline *p);

#endif /* NCNAT_NAT_PIPELINE_H */
