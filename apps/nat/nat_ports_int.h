/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PORTS_INT_H
#define NCNAT_NAT_PORTS_INT_H
/*
 * The port allocator's state, shared by nat_ports.c (allocation, release,
 * reservations) and nat_ports_prefetch.c (the slow path's prefetches and
 * the prediction of the port nat_ports_alloc will give).  Internal to
 * apps/nat.
 */
#include <stdbool.h>
#include <stdint.h>

#include "nat_ports.h"

#define NO_IDX UINT32_MAX
#define BLK_FREE 0u
#define BLK_RESERVED UINT32_MAX /* owners are subscriber index + 1 */

/* The state of 64 ports: both words of a port in one line, so that a
 * port's allocation or release touches one random line, not two. */
struct port_word {
	uint64_t used;        /* allocated or reserved */
	uint64_t held;        /* freed, in hold-down */
};

struct space {
	struct port_word w[1024];
	uint32_t *blk_owner;  /* block mode: BLK_FREE, BLK_RESERVED or sub + 1 */
	uint16_t *blk_used;
	uint64_t *blk_held;   /* held until (seconds) */
	uint32_t n_owned;     /* blocks of this worker's slice owned or reserved */
	uint32_t n_busy;      /* per-port mode: ports of the slice used, held or reserved */
};

struct sub {
	uint32_t in_addr;
	uint32_t next;        /* hash chain, or free list */
	uint32_t addr_idx;    /* pinned external address */
	uint32_t used[NAT_PI_COUNT];
	uint32_t n_blocks[NAT_PI_COUNT];
	uint32_t *blocks;     /* [NAT_PI_COUNT][max_blocks] block numbers */
	bool live;
};

struct held {
	uint64_t until;
	uint32_t addr_idx;
	uint16_t port;
	uint8_t pi;
};

struct addr_ent {
	uint32_t addr, idx;
};

struct nat_ports {
	struct nat_ports_config cfg;
	uint32_t *addrs;
	struct addr_ent *sorted;
	struct space **sp;    /* [addr_idx * NAT_PI_COUNT + pi], lazily */
	uint32_t range;       /* dynamic ports */
	uint32_t n_blocks;    /* blocks in the dynamic range (block mode) */
	/*
	 * This worker's slice (nat_shard.h); the whole space without shards.
	 * Units are blocks in block mode, else ports: [own_first, +own_n) of
	 * the dynamic range, i.e. the ports [own_lo, own_hi] (empty when
	 * own_lo > own_hi), and the low ports [low_lo, low_hi].
	 */
	struct nat_shard shard;
	bool sharded;         /* shard.count > 1 */
	uint32_t own_first, own_n;
	uint32_t own_lo, own_hi;
	uint32_t low_lo, low_hi;
	uint32_t max_blocks;  /* per subscriber and protocol */
	struct sub *subs;
	uint32_t *heads;
	uint32_t mask;
	uint32_t free_sub;
	uint32_t n_subs;
	struct held *fifo;
	uint32_t fifo_head, fifo_n, fifo_cap;
};

/* Bit port & 63 of a port word (s->w[port >> 6].used or .held). */
static inline bool bit_get(uint64_t w, uint32_t port)
{
	return (w >> (port & 63)) & 1;
}

static inline void bit_set(uint64_t *w, uint32_t port)
{
	*w |= 1ull << (port & 63);
}

static inline void bit_clr(uint64_t *w, uint32_t port)
{
	*w &= ~(1ull << (port & 63));
}

static inline uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline bool block_mode(const struct nat_ports *p)
{
	return p->cfg.block > 1;
}

static inline uint32_t addr_index(const struct nat_ports *p, uint32_t addr)
{
	uint32_t lo = 0, hi = p->cfg.n_addrs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->sorted[mid].addr == addr)
			return p->sorted[mid].idx;
		if (p->sorted[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_IDX;
}

static inline uint32_t sub_find(const struct nat_ports *p, uint32_t in_addr)
{
	uint32_t i = p->heads[hash32(in_addr) & p->mask];

	while (i != NO_IDX && p->subs[i].in_addr != in_addr)
		i = p->subs[i].next;
	return i;
}

static inline bool port_free(const struct space *s, uint32_t port)
{
	return !bit_get(s->w[port >> 6].used | s->w[port >> 6].held, port);
}

/* First free port of [a, b] (ascending) whose bit is in the word mask pm
 * (the parity), or -1: a 64-port word per step, so a long run of busy or
 * held ports (hold-down after a wave of expiries, crowded preferred ports)
 * costs a few word reads, not a bit test per port. */
static inline int32_t scan_range(const struct space *s, uint32_t a, uint32_t b, uint64_t pm)
{
	for (uint32_t w = a >> 6; w <= b >> 6; w++) {
		uint64_t free = ~(s->w[w].used | s->w[w].held) & pm;

		if (w == a >> 6)
			free &= ~0ull << (a & 63);
		if (w == b >> 6 && (b & 63) != 63)
			free &= (1ull << ((b & 63) + 1)) - 1;
		if (free)
			return (int32_t)(w * 64 + (uint32_t)__builtin_ctzll(free));
	}
	return -1;
}

#endif /* NCNAT_NAT_PORTS_INT_H */
