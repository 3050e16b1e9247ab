/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port allocator's help for the slow path's software pipeline
 * (nat_inout.c): prefetches of what nat_ports_alloc and nat_ports_release
 * will read, in stages, and the prediction of the port nat_ports_alloc
 * will give, by its own search over the words already loaded, so that the
 * new mapping's index bucket and flow key can be loaded before it exists.
 */
#include <stddef.h>

#include "nat_ports_int.h"

void nat_ports_prefetch(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
			uint16_t in_port, unsigned stage)
{
	int pi = nat_proto_idx(proto);
	uint32_t si, start;
	const struct space *s;

	if (!p || pi < 0)
		return;
	if (stage == 0) {
		__builtin_prefetch(&p->heads[hash32(in_addr) & p->mask]);
		return;
	}
	if (stage == 1) {
		si = p->heads[hash32(in_addr) & p->mask];
		if (si != NO_IDX)
			__builtin_prefetch(&p->subs[si], 1);
		return;
	}
	if (stage != 2)
		return;
	/* stage 2: where nat_ports_alloc starts for a subscriber already
	 * pinned to an address (one-by-one ports: the inside port if it is
	 * in the slice, else the hash's point; blocks: the inside port) */
	si = sub_find(p, in_addr);
	if (si == NO_IDX || p->subs[si].addr_idx == NO_IDX)
		return;
	s = p->sp[p->subs[si].addr_idx * NAT_PI_COUNT + (uint32_t)pi];
	if (!s)
		return;
	if (block_mode(p) || in_port < 1024 || (in_port >= p->own_lo && in_port <= p->own_hi))
		start = in_port;
	else if (p->own_n)
		start = p->own_lo + hash32(in_addr ^ ((uint32_t)in_port << 16) ^ (uint32_t)pi) %
					    p->own_n;
	else
		return;
	__builtin_prefetch(&s->w[start / 64], 1);
	if (start / 64 + 1 < 1024 &&
	    (((uintptr_t)&s->w[start / 64] ^ (uintptr_t)&s->w[start / 64 + 1]) & ~(uintptr_t)63)) {
		/* the search (and nat_ports_predict) may go on to the next
		 * word, in the next line */
		__builtin_prefetch(&s->w[start / 64 + 1], 1);
	}
}

/* How far nat_ports_predict follows the search: the bitmap words it reads
 * (the start's and the next, which stage 2 of nat_ports_prefetch loaded). */
#define PREDICT_WORDS 2

bool nat_ports_predict(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
		       uint16_t in_port, uint64_t now, uint32_t *out_addr, uint16_t *out_port)
{
	int pi = nat_proto_idx(proto);
	const struct space *s;
	const struct sub *sb;
	uint32_t si, start, end;
	int32_t port;
	uint64_t pm;

	if (!p || pi < 0 || !out_addr || !out_port || in_port < 1024)
		return false;
	/* nat_ports_alloc ends the hold-down of what is due first: then a
	 * held port it would take may be free (rare: give up) */
	if (p->fifo_n && p->fifo[p->fifo_head].until <= now)
		return false;
	si = sub_find(p, in_addr);
	if (si == NO_IDX)
		return false;
	sb = &p->subs[si];
	if (sb->addr_idx == NO_IDX || sb->used[pi] >= p->cfg.quota)
		return false;
	s = p->sp[sb->addr_idx * NAT_PI_COUNT + (uint32_t)pi];
	if (!s)
		return false;
	if (block_mode(p)) { /* the inside port in one of its blocks */
		uint32_t b;

		if (in_port < p->cfg.port_lo || in_port > p->cfg.port_hi || !port_free(s, in_port))
			return false;
		b = (in_port - p->cfg.port_lo) / p->cfg.block;
		if (b >= p->n_blocks || s->blk_owner[b] != si + 1)
			return false;
		*out_addr = p->addrs[sb->addr_idx];
		*out_port = in_port;
		return true;
	}
	/*
	 * One port at a time: nat_ports_alloc's search, from the same start
	 * (the inside port in the slice, else the hash's point), as far as
	 * PREDICT_WORDS words without wrapping.  Going past a busy or held
	 * inside port matters: after a wave of expiries most inside ports are
	 * in hold-down, and the port taken is a few bits further on.
	 */
	if (p->own_n == 0 || (pi == NAT_PI_ICMP && (in_port < p->cfg.port_lo ||
						    in_port > p->cfg.port_hi)))
		return false; /* (alloc's own cases) */
	start = in_port >= p->own_lo && in_port <= p->own_hi
			? in_port
			: p->own_lo + hash32(in_addr ^ ((uint32_t)in_port << 16) ^ (uint32_t)pi) %
					      p->own_n;
	end = (start & ~63u) + 64 * PREDICT_WORDS - 1;
	if (end > p->own_hi)
		end = p->own_hi;
	pm = pi == NAT_PI_ICMP ? ~0ull : (in_port & 1) ? 0xaaaaaaaaaaaaaaaaull : 0x5555555555555555ull;
	port = scan_range(s, start, end, pm);
	if (port < 0)
		return false;
	*out_addr = p->addrs[sb->addr_idx];
	*out_port = (uint16_t)port;
	return true;
}

void nat_ports_prefetch_release(const struct nat_ports *p, uint8_t proto, uint32_t in_addr,
				uint32_t out_addr, uint16_t out_port, unsigned stage)
{
	int pi = nat_proto_idx(proto);
	const struct space *s;
	uint32_t ai, si;

	if (!p || pi < 0)
		return;
	if (stage == 0) {
		__builtin_prefetch(&p->heads[hash32(in_addr) & p->mask]);
		ai = addr_index(p, out_addr); /* (a few entries: cached) */
		s = ai == NO_IDX ? NULL : p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];
		if (s) {
			__builtin_prefetch(&s->w[out_port / 64], 1);
		}
		return;
	}
	si = p->heads[hash32(in_addr) & p->mask];
	if (si != NO_IDX)
		__builtin_prefetch(&p->subs[si], 1);
}
