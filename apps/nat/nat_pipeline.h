/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PIPELINE_H
#define NCNAT_NAT_PIPELINE_H

/*
 * ncnat packet pipeline — frames in, verdicts out, on lib/netchannel
 * ==================================================================
 *
 * What
 * ----
 * A pipeline is the NAT state of one packet thread: its rules, address
 * pools, mappings and sessions, neighbours and counters.  It takes bursts of
 * Ethernet frames that arrived on the inside or the outside port, in
 * writable buffers or mbufs (nat_pipeline_rx, nat_pipeline_rx_mbufs), and
 * for each decides: transmit it (translated in place) on the inside or the
 * outside (nat_pipeline_tx lists them per side, in order), or drop it (one
 * drop_* counter; a dropped mbuf is freed).  It may also build frames of its
 * own (ARP replies and requests, ICMP host unreachable on port exhaustion)
 * that the caller sends on the side nat_pipeline_reply_at() names.
 * nat_pipeline_process() is the same for one frame.  ncnat's rx/tx loop,
 * the golden pcap tests, the unit tests and ncbench nat drive the NAT
 * through these calls.
 *
 * Netchannels (ARCHITECTURE.md, apps/nat)
 * ---------------------------------------
 * The pipeline is a lib/netchannel engine (netchannel.h) with two zones,
 * inside and outside (the receiving side is the flow key's zone):
 *   - every rule is a listener netchannel: snat, masquerade, bypass and drop
 *     rules in the inside zone in config order, dnat port forwards in the
 *     outside zone, and one listener per pool range and for the outside
 *     address below them;
 *   - every session is a session netchannel found in the engine's exact
 *     flow table by two keys: its inside key (inside endpoint -> remote)
 *     and its outside key (remote -> external endpoint).  A hairpinned pair
 *     of sessions is one netchannel found by the inside keys of both.
 * A burst is parsed once, looked up in the flow table in bulk, and the
 * packets of established sessions go to the fast path (TCP state, refresh,
 * rewrite, MACs) in one process_many() call with their netchannels.  Misses are classified in bulk in their zone's
 * listeners, whose process() is the slow path: checks, ICMP errors,
 * fragments, rule actions, mappings (port allocator, quota, log),
 * filtering, session creation; a session created there gets its
 * netchannel and keys at once, so its next packet takes the fast path.
 * Packets with no key (ARP, not IP) or no listener go to the engine's
 * unclaimed handler: ARP, or the slow path without a rule (which counts
 * why it drops them).
 * The session table (nat_session.h) stays the record of mappings and
 * sessions (filtering, expiry, RFC 6888 accounting); when it removes a
 * session its keys leave the flow table, and the netchannel goes with the
 * last one.
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
 * ARP request for it is queued as a reply frame (at most one per next hop
 * and second; the table is a small hash that forgets on collisions).
 *
 * Workers (nat_shard.h)
 * ---------------------
 * With W > 1 workers each has its own pipeline (nat_pipeline_create_shard)
 * and owns the subscribers nat_shard_sub_owner() gives it, the external
 * ports nat_shard_port_owner() gives it (its allocators hand out no
 * others), and the static port forwards whose target it owns (their static
 * mapping exists in that pipeline only; every pipeline holds every rule).
 * The caller moves every frame to its owner before rx (nat_pipeline_owner):
 *   inside: the source's subscriber owner (an ICMP error: its embedded
 *     destination's); outside: the destination port's owner, or the port
 *     forward's (an ICMP error: its embedded source's; a query: its id's);
 *   a later fragment: where its first fragment went (if seen, for 10 s);
 *   ARP: every worker (NAT_OWNER_ALL): the receiving one answers it, the
 *     others only learn from it (nat_pipeline_learn).
 * So a flow, both of its directions and its subscriber's mapping state live
 * in one pipeline.  Hairpinning between subscribers of two workers runs in
 * two steps, like a packet that left and came back: the sender's worker
 * translates the source (creating the sender's session towards the other
 * external endpoint) and hands the frame over as an outside frame
 * (NAT_HANDOFF, nat_pipeline_handoffs) to the worker that owns the
 * destination, which translates it as it would a packet from outside
 * (filtering included) and sends it inside.  Between subscribers of one
 * worker the hairpin pair of one worker is used; both give the same
 * frames.
 *
 * Needs a running EAL (the flow table's memory comes from rte_malloc).
 * Time: seconds, from the caller (wall clock in ncnat, pcap time in tests).
 * Thread safety: a pipeline belongs to one thread; every call from it.
 * Errors: 0 or -errno for set-up; per-packet outcomes are counters.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nat_config.h"
#include "nat_counters.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

enum nat_side { NAT_SIDE_INSIDE = 0, NAT_SIDE_OUTSIDE = 1 };

/** NAT_HANDOFF: the frame goes to another worker as an outside frame
 *  (nat_pipeline_handoffs; only with more than one worker). */
enum nat_verdict { NAT_DROP = 0, NAT_TX_INSIDE, NAT_TX_OUTSIDE, NAT_HANDOFF };

struct nat_pipeline;

/**
 * Build the NAT state for a configuration (which the pipeline copies what
 * it needs from; cfg may be freed afterwards).  log: where RFC 6888 lines
 * go (NULL: not written, only counted).
 * @return 0; -EINVAL; -ENOMEM; -EEXIST (two dnat rules on one port).
 */
int nat_pipeline_create(const struct nat_config *cfg, FILE *log,
			struct nat_pipeline **out) NC_MUST_CHECK;

/**
 * The same for worker index of count (nat_shard.h); count 1 is
 * nat_pipeline_create().
 * @return as nat_pipeline_create(); -EINVAL also for index >= count or
 *   count > NAT_SHARD_MAX; -ERANGE: more workers than port blocks (ports
 *   without blocks) in the dynamic range.
 */
int nat_pipeline_create_shard(const struct nat_config *cfg, FILE *log, unsigned index,
			      unsigned count, struct nat_pipeline **out) NC_MUST_CHECK;

/** NULL-safe. */
void nat_pipeline_free(struct nat_pipeline *p);

/** nat_pipeline_owner(): the frame goes to every worker. */
#define NAT_OWNER_ALL (-1)

/**
 * The worker that owns a frame that arrived on side (see "Workers"): 0 ..
 * count-1, or NAT_OWNER_ALL (ARP).  Frames that do not parse far enough
 * stay with this pipeline's worker.  now: seconds, for the fragment memory.
 * Thread safety: the pipeline's thread (it notes first fragments).
 */
int nat_pipeline_owner(struct nat_pipeline *p, enum nat_side side, const uint8_t *frame,
		       uint32_t len, uint64_t now);

/** Learn from an ARP frame that another worker received and answered
 *  (neighbours only: no answer, no counter). */
void nat_pipeline_learn(struct nat_pipeline *p, enum nat_side side, const uint8_t *frame,
			uint32_t len);

/** Most frames per nat_pipeline_rx / nat_pipeline_rx_mbufs call. */
#define NAT_RX_MAX 64

struct rte_mbuf;

/**
 * Process a burst of n frames (n <= NAT_RX_MAX) that arrived on side,
 * translating them in place: frames[i] of lens[i] bytes, identified by
 * cookies[i], which nat_pipeline_tx lists (cookies NULL: NULLs are
 * listed).  The output of the previous call is forgotten.
 * @return 0; -EINVAL (NULL p, bad side, n too large, NULL arrays).
 */
int nat_pipeline_rx(struct nat_pipeline *p, enum nat_side side, uint8_t *const frames[],
		    const uint32_t lens[], void *const cookies[], unsigned n,
		    uint64_t now) NC_MUST_CHECK;

/**
 * The same for mbufs (the first segment holds the headers); dropped mbufs
 * are freed, the ones to send are listed by nat_pipeline_tx.
 * @return as nat_pipeline_rx().
 */
int nat_pipeline_rx_mbufs(struct nat_pipeline *p, enum nat_side side,
			  struct rte_mbuf *const mbufs[], unsigned n, uint64_t now) NC_MUST_CHECK;

/**
 * Frames of the last rx call to transmit on side, in order: *out gets the
 * cookies (mbufs).  @return how many.
 */
unsigned nat_pipeline_tx(const struct nat_pipeline *p, enum nat_side side, void *const **out);

/**
 * Frames of the last rx call to hand to another worker, in order: *cookies
 * gets their cookies (mbufs), *workers the worker of each.  The receiving
 * worker passes them to nat_pipeline_rx as frames arrived on the outside.
 * @return how many (always 0 with one worker).
 */
unsigned nat_pipeline_handoffs(const struct nat_pipeline *p, void *const **cookies,
			       const uint16_t **workers);

/** Reply frames the last rx call built (at most one per frame). */
unsigned nat_pipeline_replies(const struct nat_pipeline *p);
/** Reply i (< nat_pipeline_replies()): bytes, length and the side to send
 *  it on; valid until the next rx call.  NULL if i is out of range. */
const uint8_t *nat_pipeline_reply_at(const struct nat_pipeline *p, unsigned i, uint32_t *len,
				     enum nat_side *side);

/**
 * Process one frame of len bytes arrived on side, translating it in place.
 * @return the verdict.  Never fails: bad input is dropped and counted.
 */
enum nat_verdict nat_pipeline_process(struct nat_pipeline *p, uint8_t *pkt, uint32_t len,
				      enum nat_side side, uint64_t now);

/**
 * The (first) reply frame the last rx or process call produced, or NULL.
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
struct nc_engine_stats;
/** The netchannel engine's counters (netchannel.h): flow-table hits and
 *  misses, listener hits, live netchannels (listeners + sessions) and
 *  flow-table keys (two per session). */
void nat_pipeline_engine_stats(const struct nat_pipeline *p, struct nc_engine_stats *st);

/** Log lines emitted so far. */
uint64_t nat_pipeline_log_lines(const struct nat_pipeline *p);

/*
 * Inspection and run-time changes (the control socket, nat_ctl_backend.c)
 * ---------------------------------------------------------------------
 * Same thread as nat_pipeline_process() (the control server is polled by the
 * packet loop); nothing here locks.  Rule changes are all or nothing: on
 * any error nothing changed and err says why.
 */

struct nat_mapping;
struct nat_sess;

/** The pipeline's configuration, with the rules and timeouts as changed
 *  at run time.  Valid until the next change. */
const struct nat_config *nat_pipeline_config(const struct nat_pipeline *p);

/** Live sessions of a protocol (6, 17, 1). */
uint32_t nat_pipeline_sessions_proto(const struct nat_pipeline *p, uint8_t proto);

/** A session's last use (nat_sess_last(); a walk has caught it up). */
uint64_t nat_pipeline_sess_last(const struct nat_pipeline *p, const struct nat_sess *s);

/** Resumable walks over sessions and mappings (nat_session_walk()). */
int nat_pipeline_session_walk(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			      int (*fn)(void *arg, const struct nat_mapping *m,
					const struct nat_sess *s),
			      void *arg);
int nat_pipeline_mapping_walk(const struct nat_pipeline *p, uint64_t *cursor, uint32_t budget,
			      int (*fn)(void *arg, const struct nat_mapping *m), void *arg);

/**
 * Insert rule r so that it becomes rule number at (0-based; at == n_rules
 * appends).  The rule is checked as nat_config_check_rule() does; a dnat
 * rule adds its static mapping (its external and its target endpoint must
 * be free) and reserves the external port.  Inside rules are re-staged in
 * the classifier and published at once (O(rules)).
 * @return 0; -EINVAL (bad rule); -ERANGE (at); -ENOSPC (too many rules,
 *   mapping table full); -EBUSY (an endpoint of a dnat in use); -ENOMEM.
 */
int nat_pipeline_rule_add(struct nat_pipeline *p, uint32_t at, const struct nat_rule *r,
			  uint64_t now, char *err, size_t errlen) NC_MUST_CHECK;

/**
 * Delete rule number idx (0-based).  A dnat rule's static mapping goes with
 * its sessions; its external port is freed like a dynamic one (handed out
 * again after hold-down).  Mappings made through a deleted snat or
 * masquerade rule stay until they expire.
 * @return 0; -ENOENT (no such rule); -ENOMEM.
 */
int nat_pipeline_rule_delete(struct nat_pipeline *p, uint32_t idx, uint64_t now, char *err,
			     size_t errlen) NC_MUST_CHECK;

/**
 * Set an idle timeout (limits as the config file's).  New sessions get it at
 * once, existing ones at their next refresh.
 * @return 0; -EINVAL (kind, or out of limits).
 */
int nat_pipeline_set_timeout(struct nat_pipeline *p, enum nat_timeout_kind k,
			     uint32_t secs) NC_MUST_CHECK;

#endif /* NCNAT_NAT_PIPELINE_H */
