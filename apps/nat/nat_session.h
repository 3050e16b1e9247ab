/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_SESSION_H
#define NCNAT_NAT_SESSION_H

/*
 * ncnat session table — mappings (RFC 4787 EIM) and sessions (filtering)
 * =====================================================================
 *
 * What
 * ----
 * Two kinds of records:
 *   - a mapping: (proto, inside addr, inside port) <-> (proto, external addr,
 *     external port).  Endpoint-independent mapping (RFC 4787 REQ-1): one
 *     mapping serves every remote endpoint, so it is found from the inside
 *     key (in2out) and from the external key (out2in).  Dynamic mappings
 *     live while they have sessions; static ones (DNAT) until deleted.
 *   - a session: a mapping plus one remote endpoint (addr, port).  It holds
 *     the TCP state, the last-use time and the idle timeout, and is the
 *     filtering record: an inbound packet is allowed
 *       endpoint-independent:        if the mapping exists;
 *       address-dependent:           if a session of the mapping has its
 *                                    remote address;
 *       address-and-port-dependent:  if the session (addr, port) exists.
 *     (nat_session_filter_allows; the pipeline creates the session then.)
 * When a dynamic mapping's last session goes (expiry, delete), the mapping
 * is removed and cfg.mapping_freed is called with it (the pipeline releases
 * the port and logs); static mappings stay.
 *
 * Refresh rules are the caller's (nat_pipeline.c): UDP and ICMP sessions
 * are refreshed by outbound packets only (RFC 4787 REQ-6), TCP by every
 * valid packet; nat_session_timeout() gives the idle timeout for a protocol
 * and TCP state.  ICMP errors never create or refresh anything.
 *
 * Design
 * ------
 * Fixed arrays of mappings and sessions (capacity from the config, free
 * lists linked through the free records), so a record never moves: the
 * pipeline keeps references to sessions (pointers, or 32-bit indexes:
 * nat_sess_index).  Three hash indexes map a key to a
 * record index: inside key, external key, (mapping, remote) — the last
 * only for the sessions of mappings that have had more than two at once;
 * up to two, a session is found on its mapping's list (most mappings
 * have one: no index insert or remove for their sessions).  Each is an
 * open-addressing table of 64-byte buckets (one cache line) of 10 slots,
 * each slot a 16-bit signature of the key's hash and a record index; a
 * lookup compares the signatures of a bucket at once and reads a record
 * only on a signature match (false matches: ~1 in 7,000 buckets read).  Every
 * key has two buckets, a primary and an alternate (bucketed cuckoo
 * hashing): an insert takes a free slot of the primary, else of the
 * alternate, else moves entries to their other bucket (a bounded random
 * walk); an entry that still finds no room goes to a small overflow list
 * (only under forced collisions).  A bucket counts the entries whose
 * primary it is that live in their alternate (8 counters by signature), so
 * most lookups, hits and misses, read one bucket.  A full table fills at
 * most 80% of the bucket slots, 8 bytes per key (records: 32 bytes a
 * mapping, 32 a session; in all ~88 bytes per session when every session
 * has its own mapping): at 90% an insert found its primary and alternate
 * both full three times as often, and each step of the walk that follows is
 * a dependent cache miss at millions of keys.  A
 * key that is known to be absent (a mapping without sessions has none to
 * find) is inserted without a lookup.  The large arrays ask for
 * transparent huge pages (madvise), so a random access costs a cache miss
 * but no TLB miss.
 * Each mapping links its sessions in a list, for address-dependent
 * filtering and for deletion.  Expiry walks the session array with a
 * cursor, `budget` slots per call, so a call has bounded cost; walks
 * follow the record arrays, so the hash layout never shows.
 * Single-threaded: this is the per-worker table of the packet pipeline and
 * the reference model; the multi-core version with lock-free readers will
 * put the exact keys into lib/netchannel's nc_flow table (needs EAL).
 *
 * Time in seconds (the caller's clock).  Addresses and ports host order.
 * Thread safety: none (one thread per table).
 * Errors: 0 or -errno; calls that can fail are warn_unused_result.
 */

#include <stdbool.h>
#include <stdint.h>

#include "nat_config.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

#define NAT_MAP_STATIC 0x01 /**< from a dnat rule: never expires */
#define NAT_MAP_MASQ 0x02   /**< external address is the outside address */

struct nat_mapping {
	uint32_t in_addr, out_addr;
	uint16_t in_port, out_port;  /**< ports, or ICMP ids */
	uint8_t proto;
	uint8_t flags;               /**< NAT_MAP_* */
	uint8_t live;
	uint32_t n_sessions;
	uint32_t sess_head;          /**< list of its sessions (free record: free list) */
	uint64_t created;
};

#define NAT_SESS_LIVE 0x01
#define NAT_SESS_INDEXED 0x02

struct nat_sess {
	uint32_t map;                /**< index of its mapping */
	uint32_t rem_addr;
	uint16_t rem_port;
	uint8_t tcp_state;           /**< enum nat_tcp_state (TCP only) */
	uint8_t live;                /**< 0: free; else NAT_SESS_LIVE, and
				      *   NAT_SESS_INDEXED once in the
				      *   (mapping, remote) index */
	uint32_t timeout;            /**< idle timeout, seconds */
	uint32_t last_rel;           /**< last refresh, relative: nat_sess_last() */
	uint32_t mnext, mprev;       /**< the mapping's list (free record: free list) */
	uint32_t user;               /**< the caller's (ncnat: its netchannel's id + 1); 0 at add */
};

struct nat_session_config {
	uint32_t max_mappings;       /**< >= 1 */
	uint32_t max_sessions;       /**< >= 1 */
	enum nat_filtering filtering;
	uint32_t timeout_udp, timeout_tcp_est, timeout_tcp_trans, timeout_icmp;
	/** A dynamic mapping was removed (its last session went); may be NULL.
	 *  Called from nat_session_expire / nat_session_delete; must not call
	 *  into the table. */
	void (*mapping_freed)(void *ctx, const struct nat_mapping *m, uint64_t now);
	/** A session is about to be removed (expiry, delete, its mapping
	 *  deleted); may be NULL.  s and its mapping m are still intact; must
	 *  not call into the table (it may write s->user of other sessions). */
	void (*session_freed)(void *ctx, struct nat_sess *s, const struct nat_mapping *m);
	/** The caller's own, possibly later, record of s's last use (ncnat's
	 *  fast path refreshes its session netchannel, not s, so that a packet
	 *  never writes the session table); may be NULL.  The table asks only
	 *  when s looks idle by s->last (expiry) and before a walk shows s,
	 *  then keeps the later of the two.  Must not call into the table. */
	uint64_t (*session_last)(void *ctx, const struct nat_sess *s);
	/** A hint, may be NULL: nat_session_expire is about to look at s (of
	 *  mapping m), which looks idle, and probably remove it; start loading
	 *  what session_last, session_freed and mapping_freed will read for it.
	 *  Called for each session of a batch with stage 0, then 1, then 2 (a
	 *  pass over the batch per stage: a stage may read what the one before
	 *  loaded).  Must not change anything nor call into the table. */
	void (*session_prefetch)(void *ctx, const struct nat_sess *s, const struct nat_mapping *m,
				 unsigned stage);
	void *ctx;
	/** Tests: applied to every 64-bit key hash (NULL: none), e.g. to force
	 *  collisions; lookups stay exact, only slower. */
	uint64_t (*hash_filter)(uint64_t h);
};

struct nat_session_table;

/** @return 0; -EINVAL; -ENOMEM. */
int nat_session_create(const struct nat_session_config *cfg,
		       struct nat_session_table **out) NC_MUST_CHECK;
/** NULL-safe; mapping_freed is not called. */
void nat_session_free(struct nat_session_table *t);

/* ---- mappings ---- */

/** Mapping of an inside endpoint, or NULL. */
struct nat_mapping *nat_mapping_find_in(const struct nat_session_table *t, uint8_t proto,
					uint32_t in_addr, uint16_t in_port);
/** Mapping of an external endpoint, or NULL. */
struct nat_mapping *nat_mapping_find_out(const struct nat_session_table *t, uint8_t proto,
					 uint32_t out_addr, uint16_t out_port);

/**
 * Add a mapping.  A dynamic one must get a session before the next expiry
 * call, or it stays until deleted.
 * @return 0 and *out; -EEXIST (either key in use); -ENOSPC (table full);
 *   -EINVAL; -ENOMEM (only under massive hash collisions: an index's
 *   overflow list could not grow).
 */
int nat_mapping_add(struct nat_session_table *t, uint8_t proto, uint32_t in_addr,
		    uint16_t in_port, uint32_t out_addr, uint16_t out_port, uint8_t flags,
		    uint64_t now, struct nat_mapping **out) NC_MUST_CHECK;

/** Remove a mapping and its sessions; mapping_freed is called for a dynamic
 *  one.  @return 0; -EINVAL. */
int nat_mapping_delete(struct nat_session_table *t, struct nat_mapping *m,
		       uint64_t now) NC_MUST_CHECK;

/* ---- sessions ---- */

/** Session of mapping m with a remote endpoint, or NULL. */
struct nat_sess *nat_sess_find(const struct nat_session_table *t, const struct nat_mapping *m,
			       uint32_t rem_addr, uint16_t rem_port);

/**
 * Add a session (last = now, timeout from the protocol, TCP state CLOSED).
 * @return 0 and *out; -EEXIST; -ENOSPC; -EINVAL; -ENOMEM (as
 *   nat_mapping_add).
 */
int nat_sess_add(struct nat_session_table *t, struct nat_mapping *m, uint32_t rem_addr,
		 uint16_t rem_port, uint64_t now, struct nat_sess **out) NC_MUST_CHECK;

/**
 * Hint: the endpoint (proto, addr, port) is about to be looked up, inside
 * (nat_mapping_find_in) or, inside false, external (nat_mapping_find_out);
 * start loading its index bucket, so that a caller with a burst of lookups
 * overlaps their cache misses.  No effect on the table.
 */
void nat_mapping_prefetch_find(const struct nat_session_table *t, bool inside, uint8_t proto,
			       uint32_t addr, uint16_t port);

/**
 * Hint: a mapping with external endpoint (proto, out_addr, out_port) is
 * about to be added (nat_mapping_add): start loading its outside index
 * bucket and the record it will take.  No effect on the table.
 */
void nat_session_prefetch_add(const struct nat_session_table *t, uint8_t proto,
			      uint32_t out_addr, uint16_t out_port);

/** Remove one session (and its dynamic mapping if it was the last). */
int nat_sess_delete(struct nat_session_table *t, struct nat_sess *s, uint64_t now) NC_MUST_CHECK;

/** Mapping of a session. */
struct nat_mapping *nat_sess_mapping(const struct nat_session_table *t,
				     const struct nat_sess *s);

/** Index of session s in the table's records (< max_sessions; fixed while
 *  s lives, reused after): a 32-bit reference to it. */
uint32_t nat_sess_index(const struct nat_session_table *t, const struct nat_sess *s);

/** The session record at index i (nat_sess_index), live or not; NULL if i
 *  is not below max_sessions. */
struct nat_sess *nat_sess_at(const struct nat_session_table *t, uint32_t i);

/** Last refresh of s (the record keeps it in 32 bits from a base that
 *  moves only for clocks past 2^32: see nat_session.c). */
uint64_t nat_sess_last(const struct nat_session_table *t, const struct nat_sess *s);

/** last = now if later (the timeout stays). */
void nat_sess_touch(struct nat_session_table *t, struct nat_sess *s, uint64_t now);

/** Refresh: last = now (if later) and the timeout for its protocol/state. */
void nat_sess_refresh(struct nat_session_table *t, struct nat_sess *s, uint64_t now);

/** Would the filtering mode let a packet from (rem_addr, rem_port) in
 *  through m when it has no session with that endpoint? */
bool nat_session_filter_allows(const struct nat_session_table *t, const struct nat_mapping *m,
			       uint32_t rem_addr, uint16_t rem_port);

/** Idle timeout for a protocol (6, 17, 1) and TCP state. */
uint32_t nat_session_timeout(const struct nat_session_table *t, uint8_t proto,
			     uint8_t tcp_state);

/**
 * Visit up to budget session slots from a cursor; remove the idle ones
 * (now - last >= timeout).  A full pass takes max_sessions / budget calls.
 * @return sessions removed; -EINVAL.
 */
int nat_session_expire(struct nat_session_table *t, uint64_t now, uint32_t budget);

uint32_t nat_session_count(const struct nat_session_table *t);
uint32_t nat_mapping_count(const struct nat_session_table *t);

/* ---- inspection and run-time changes (the control socket) ---- */

/** Live sessions of a protocol (6, 17, 1; any other number: the rest). */
uint32_t nat_session_count_proto(const struct nat_session_table *t, uint8_t proto);

/**
 * Visit live sessions in slot order from *cursor (0: the start), at most
 * budget slots, calling fn for each; fn returning non-zero stops the walk
 * after that session (*cursor then points past it, so the walk resumes with
 * the next one).  The table must not change during one call; between calls
 * it may (a resumed walk never visits a slot twice, and shows the
 * sessions that lived through the whole walk).
 * @return 1 when the walk is complete, 0 when more remains; -EINVAL.
 */
int nat_session_walk(const struct nat_session_table *t, uint64_t *cursor, uint32_t budget,
		     int (*fn)(void *arg, const struct nat_mapping *m, const struct nat_sess *s),
		     void *arg);

/** The same over live mappings. */
int nat_mapping_walk(const struct nat_session_table *t, uint64_t *cursor, uint32_t budget,
		     int (*fn)(void *arg, const struct nat_mapping *m), void *arg);

/** New idle timeouts (seconds): for new sessions and for existing ones at
 *  their next refresh.  The caller checks the limits. */
void nat_session_set_timeouts(struct nat_session_table *t, uint32_t udp, uint32_t tcp_est,
			      uint32_t tcp_trans, uint32_t icmp);

/**
 * Tests: check the indexes and lists against the records (every live
 * record found by its keys and indexed once, the alternate counts, the
 * mappings' session lists and the counters).  O(capacity).
 * @return entries in the indexes' overflow lists (>= 0); -EFAULT
 *   (inconsistent); -EINVAL.
 */
int nat_session_check(const struct nat_session_table *t);

#endif /* NCNAT_NAT_SESSION_H */
