/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PORTS_H
#define NCNAT_NAT_PORTS_H

/*
 * ncnat port allocator — external (address, port) for a new mapping
 * =================================================================
 *
 * What
 * ----
 * Hands out external ports (and ICMP ids) on a set of external addresses,
 * one port space per (address, protocol) for TCP, UDP and ICMP, following
 * RFC 4787 and RFC 6888:
 *   - paired pooling: a subscriber (inside address) is pinned to one
 *     external address, chosen by a hash of its address among those with
 *     room, for as long as it holds any port; if that address is full the
 *     allocation fails (no silent change of external address);
 *   - port preservation: the inside port itself when it is free and
 *     eligible;
 *   - port parity (TCP, UDP): an even inside port gets an even external port
 *     and an odd one an odd port, always (a port of the other parity is never
 *     handed out);
 *   - inside ports below 1024 (TCP, UDP) get a port in 1..1023, the others a
 *     port of the dynamic range [port_lo, port_hi] (port_lo >= 1024); ICMP
 *     ids have no parity, keep their value if it is free (outside the
 *     dynamic range too), else get one from the dynamic range;
 *   - per-subscriber quota: at most `quota` ports per protocol;
 *   - port blocks (block > 1): dynamic ports are handed out in aligned
 *     blocks of `block` ports (block k = port_lo + k*block ...), at most
 *     quota / block blocks per subscriber and protocol; a block is logged when
 *     it is taken and when its last port is freed; low ports are never in
 *     blocks;
 *   - hold-down: a freed port (and a freed block) is not handed out again
 *     before hold_down seconds have passed;
 *   - never evicts: an allocation only takes free ports, and fails with
 *     -ENOSPC or -EDQUOT instead.
 * Reserved ports (static DNAT) are never handed out.
 *
 * Shards (multi-worker, nat_shard.h): with a shard of count > 1 the
 * allocator of worker shard->index hands out only the ports that worker
 * owns, on every address and for every protocol: dynamic ports (or blocks)
 * from its slice of the range, low ports from its slice of 1..1023, kept
 * ICMP ids only if owned.  Preservation, parity, quota, blocks, hold-down and
 * paired pooling apply within the slice; "room" on an address and -ENOSPC
 * refer to the slice.  Its subscribers are those nat_shard_sub_owner gives
 * it (the caller routes them).  Reserve, release and in_use take any port.
 *
 * Design
 * ------
 * Per (address, protocol) a lazily allocated space: a used and a held
 * bitmap (8 KiB each), and in block mode per block its owner, its number of
 * used ports and the time until which it is held.  Freed ports enter one
 * FIFO ordered by release time (the hold-down is constant), popped at the
 * start of every allocation.  Subscribers live in a chained hash by inside
 * address, created at their first port and freed with their last.  Searches
 * for a free port are linear in the worker's slice of the range (or the
 * subscriber's blocks), which is bounded and only runs when a mapping is
 * created; a shard only narrows the bounds searched, so one worker costs
 * what it did without shards.
 *
 * Time is in seconds (the caller's clock), only compared.
 * Thread safety: none; one allocator per worker, or the caller serialises.
 * Byte order: addresses and ports in host order.
 * Errors: 0 or -errno; calls that can fail are warn_unused_result.
 */

#include <stdbool.h>
#include <stdint.h>

#include "nat_shard.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

enum nat_proto_idx { NAT_PI_TCP = 0, NAT_PI_UDP, NAT_PI_ICMP, NAT_PI_COUNT };

/** Protocol number (6, 17, 1) -> index; -1 for others. */
static inline int nat_proto_idx(uint8_t proto)
{
	return proto == 6 ? NAT_PI_TCP : proto == 17 ? NAT_PI_UDP : proto == 1 ? NAT_PI_ICMP : -1;
}

enum nat_ports_event_type { NAT_PORTS_BLOCK_ALLOC = 1, NAT_PORTS_BLOCK_FREE };

/** A port-block event, for the RFC 6888 log (nat_log.h). */
struct nat_ports_event {
	enum nat_ports_event_type type;
	uint8_t proto;          /**< 6, 17, 1 */
	uint32_t in_addr, out_addr;
	uint16_t port_lo, port_hi;
	uint64_t now;
};

struct nat_ports_config {
	const uint32_t *addrs;   /**< external addresses; distinct; copied */
	uint32_t n_addrs;        /**< 1 .. 65536 */
	uint16_t port_lo, port_hi; /**< dynamic range, 1024 <= lo <= hi */
	uint32_t quota;          /**< ports per subscriber and protocol, >= 1 */
	uint32_t block;          /**< 1 (no blocks) .. quota, <= range size */
	uint32_t hold_down;      /**< seconds */
	uint32_t max_subscribers; /**< >= 1 */
	/** Block events (may be NULL); called from the allocating call. */
	void (*event)(void *ctx, const struct nat_ports_event *ev);
	void *event_ctx;
	/** Multi-worker: hand out only the ports worker shard->index owns
	 *  (nat_shard.h); copied.  NULL (or count 1): every port. */
	const struct nat_shard *shard;
};

struct nat_ports;

/** @return 0; -EINVAL (bad config, see the fields; a shard whose port_lo,
 *  port_hi or block differ from the config's); -ENOMEM. */
int nat_ports_create(const struct nat_ports_config *cfg, struct nat_ports **out) NC_MUST_CHECK;

/** NULL-safe. */
void nat_ports_free(struct nat_ports *p);

/**
 * Allocate an external port for inside (in_addr, in_port) and protocol proto
 * (6, 17 or 1; for ICMP in_port is the query id).
 * @return 0 with *out_addr, *out_port; -EDQUOT (the subscriber's quota is
 *   used up); -ENOSPC (no eligible free port on its address, or no address
 *   with room, or max_subscribers reached); -EINVAL (NULL argument, other
 *   protocol).
 */
int nat_ports_alloc(struct nat_ports *p, uint8_t proto, uint32_t in_addr, uint16_t in_port,
		    uint64_t now, uint32_t *out_addr, uint16_t *out_port) NC_MUST_CHECK;

/**
 * Hint: nat_ports_alloc(p, proto, in_addr, in_port, ...) may come soon.  A
 * caller with a burst of new flows calls this for each of them with stage
 * 0, then 1, then 2 (each pass over the burst gives the previous stage's
 * loads time to arrive): 0 starts loading the subscriber's hash head, 1 its
 * record, 2 the port bitmap words where the search for its port starts.
 * No effect on the allocator; proto other than 6, 17, 1 is ignored.
 */
void nat_ports_prefetch(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
			uint16_t in_port, unsigned stage);

/**
 * The port nat_ports_alloc(p, proto, in_addr, in_port, now, ...) would
 * give, if it can tell cheaply: on the subscriber's address, the first free
 * port of the inside port's parity from where the search starts (the
 * inside port itself when free), within two bitmap words; with blocks, only
 * the inside port in one of the subscriber's blocks.  A hint for
 * prefetching (after nat_ports_prefetch's stages, its reads are cache
 * hits): exact for the very next alloc of these arguments at this now (the
 * model test checks it), but other allocs or releases in between may
 * change the answer.
 * @return true with *out_addr, *out_port; false (new subscriber, quota, no
 *   free port that close, a low port, a hold-down due at now, ...).
 */
bool nat_ports_predict(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
		       uint16_t in_port, uint64_t now, uint32_t *out_addr, uint16_t *out_port);

/**
 * Hint: nat_ports_release(p, proto, in_addr, out_addr, out_port, ...) may
 * come soon.  A caller with a batch of releases calls this for each with
 * stage 0, then 1 (a pass over the batch per stage): 0 starts loading the
 * port's bitmap words and the subscriber's hash head, 1 its record.  No
 * effect on the allocator.
 */
void nat_ports_prefetch_release(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
				uint32_t out_addr, uint16_t out_port, unsigned stage);

/**
 * Free a port allocated for in_addr; it is held for hold_down seconds.
 * The caller (the session table) guarantees that in_addr is the port's
 * holder; the allocator checks what it can: the port is in use on in_addr's
 * address, and with blocks, in one of in_addr's blocks.
 * @return 0; -ENOENT (those checks fail, or an unknown address); -EINVAL.
 */
int nat_ports_release(struct nat_ports *p, uint8_t proto, uint32_t in_addr, uint32_t out_addr,
		      uint16_t out_port, uint64_t now) NC_MUST_CHECK;

/**
 * Reserve a port for a static mapping (never allocated, never held).
 * @return 0; -EEXIST (already used or reserved); -ENOENT (address not in
 *   this allocator); -EINVAL.
 */
int nat_ports_reserve(struct nat_ports *p, uint8_t proto, uint32_t out_addr,
		      uint16_t out_port) NC_MUST_CHECK;

/**
 * End a reservation (a static mapping removed at run time): the port is
 * held for hold_down seconds like a freed one, then handed out again.  The
 * caller guarantees that it is a reservation; the allocator checks what it
 * can (in use; in block mode, in a reserved block).
 * @return 0; -ENOENT (not in use, a subscriber's block, unknown address);
 *   -EINVAL.
 */
int nat_ports_unreserve(struct nat_ports *p, uint8_t proto, uint32_t out_addr, uint16_t out_port,
			uint64_t now) NC_MUST_CHECK;

/** Is (out_addr, out_port) allocated or reserved?  false for unknown addresses. */
bool nat_ports_in_use(const struct nat_ports *p, uint8_t proto, uint32_t out_addr,
		      uint16_t out_port);

/** Does this allocator own out_addr? */
bool nat_ports_has_addr(const struct nat_ports *p, uint32_t out_addr);

/** Ports in_addr holds for proto (0 if unknown). */
uint32_t nat_ports_sub_used(const struct nat_ports *p, uint8_t proto, uint32_t in_addr);

/** External address in_addr is pinned to; false if it holds no port. */
bool nat_ports_sub_addr(const struct nat_ports *p, uint32_t in_addr, uint32_t *out_addr);

/** Subscribers currently holding ports. */
uint32_t nat_ports_subscribers(const struct nat_ports *p);

#endif /* NCNAT_NAT_PORTS_H */
