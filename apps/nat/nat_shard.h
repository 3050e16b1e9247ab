/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_SHARD_H
#define NCNAT_NAT_SHARD_H

/*
 * ncnat shards — which worker owns a subscriber and an external port
 * ==================================================================
 *
 * What
 * ----
 * With more than one worker every worker has its own pipeline (rules,
 * allocator, mappings, sessions) and owns a part of the NAT's state:
 *   - a subscriber (inside address) belongs to worker
 *     nat_shard_sub_owner(addr): a hash of the address, so one subscriber's
 *     mappings, quota and paired external address stay in one allocator
 *     (RFC 4787 endpoint-independent mapping holds across workers);
 *   - an external port belongs to worker nat_shard_port_owner(port), on
 *     every external address and for every protocol alike:
 *       dynamic range [port_lo, port_hi]: W contiguous slices made of whole
 *         port blocks (block > 1) or ports, in worker order; in block mode
 *         the ports after the last whole block (never handed out) go to the
 *         last worker;
 *       1..1023: W contiguous slices;
 *       every other value (0, ports between 1024 and port_lo, above
 *         port_hi; ICMP ids outside the range): port % W.
 *     A worker's allocator hands out only the ports it owns (nat_ports.h),
 *     so two workers never hand out the same external endpoint, and an
 *     outside packet's owner follows from its destination port alone (a
 *     static port forward's owner is its target's subscriber owner instead;
 *     the pipeline keeps that exception, nat_pipeline.h).
 * With one worker (count 1) every owner is 0 and the allocator behaves as
 * if there were no shards.
 *
 * Thread safety: the functions only read *sh.  Byte order: host.
 */

#include <stdint.h>

struct nat_shard {
	uint16_t index;   /**< this worker, 0 .. count-1 */
	uint16_t count;   /**< workers, 1 .. NAT_SHARD_MAX */
	uint16_t port_lo, port_hi; /**< the dynamic range (as nat_ports_config) */
	uint32_t block;   /**< port block size, 1 = none */
	uint32_t n_blocks; /**< whole blocks (or ports) in the range */
};

#define NAT_SHARD_MAX 64

/**
 * Fill *sh for worker index of count, for the dynamic range [port_lo,
 * port_hi] handed out in blocks of block ports (1: single ports).
 * @return 0; -EINVAL (count 0 or > NAT_SHARD_MAX, index >= count, port_lo
 *   > port_hi or < 1024, block 0 or larger than the range).
 */
int nat_shard_init(struct nat_shard *sh, unsigned index, unsigned count, uint16_t port_lo,
		   uint16_t port_hi, uint32_t block);

/** The worker that owns subscriber in_addr. */
static inline unsigned nat_shard_sub_owner(const struct nat_shard *sh, uint32_t in_addr)
{
	uint32_t h = in_addr; /* murmur3's finaliser: every bit moves every bit */

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return sh->count <= 1 ? 0 : (unsigned)(((uint64_t)h * sh->count) >> 32);
}

/** The worker that owns external port (or ICMP id) port. */
unsigned nat_shard_port_owner(const struct nat_shard *sh, uint16_t port);

/**
 * Worker w's share of the dynamic range, in units of the block size (ports
 * when block is 1): blocks [*first, *first + *n).  Block k covers ports
 * port_lo + k*block ... + block - 1.
 */
void nat_shard_dyn_blocks(const struct nat_shard *sh, unsigned w, uint32_t *first,
			  uint32_t *n);

/** Worker w's share of the low ports: [*lo, *hi] within 1..1023 (empty
 *  when *lo > *hi, with more than 1023 workers' worth of slices). */
void nat_shard_low_ports(const struct nat_shard *sh, unsigned w, uint16_t *lo, uint16_t *hi);

#endif /* NCNAT_NAT_SHARD_H */
