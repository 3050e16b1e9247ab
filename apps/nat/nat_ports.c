/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat port allocator; see nat_ports.h for the rules it follows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_ports_int.h"

static const uint8_t pi_proto[NAT_PI_COUNT] = {6, 17, 1};

static void space_free(struct space *s)
{
	if (!s)
		return;
	free(s->blk_owner);
	free(s->blk_used);
	free(s->blk_held);
	free(s);
}

static struct space *space_get(struct nat_ports *p, uint32_t ai, int pi)
{
	struct space **slot = &p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];
	struct space *s = *slot;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (block_mode(p)) {
		s->blk_owner = calloc(p->n_blocks, sizeof(*s->blk_owner));
		s->blk_used = calloc(p->n_blocks, sizeof(*s->blk_used));
		s->blk_held = calloc(p->n_blocks, sizeof(*s->blk_held));
		if (!s->blk_owner || !s->blk_used || !s->blk_held) {
			space_free(s);
			return NULL;
		}
	}
	*slot = s;
	return s;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct addr_ent *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Copy the shard and derive this worker's slice: own_n units from own_first
 * (blocks or ports), the low ports; everything without a shard.
 */
static int shard_setup(struct nat_ports *p, const struct nat_shard *sh)
{
	const struct nat_ports_config *cfg = &p->cfg;
	uint16_t llo = 1, lhi = 1023;

	if (sh && (sh->count == 0 || sh->count > NAT_SHARD_MAX || sh->index >= sh->count ||
		   sh->port_lo != cfg->port_lo || sh->port_hi != cfg->port_hi ||
		   sh->block != cfg->block || sh->n_blocks != p->n_blocks))
		return -EINVAL;
	if (sh && sh->count > 1) {
		p->shard = *sh;
		p->sharded = true;
		nat_shard_dyn_blocks(sh, sh->index, &p->own_first, &p->own_n);
		nat_shard_low_ports(sh, sh->index, &llo, &lhi);
	} else {
		/* one worker: owner 0 everywhere (nat_shard_port_owner) */
		p->shard = (struct nat_shard){.index = 0, .count = 1, .port_lo = cfg->port_lo,
					      .port_hi = cfg->port_hi, .block = cfg->block,
					      .n_blocks = p->n_blocks};
		p->sharded = false;
		p->own_first = 0;
		p->own_n = p->n_blocks;
	}
	p->own_lo = cfg->port_lo + p->own_first * cfg->block;
	p->own_hi = p->own_lo + p->own_n * cfg->block - 1;
	p->low_lo = llo;
	p->low_hi = lhi;
	p->cfg.shard = &p->shard;
	return 0;
}

int nat_ports_create(const struct nat_ports_config *cfg, struct nat_ports **out)
{
	struct nat_ports *p;
	uint32_t i, nh;

	if (out)
		*out = NULL;
	if (!cfg || !out || !cfg->addrs || cfg->n_addrs == 0 || cfg->n_addrs > 65536 ||
	    cfg->port_lo < 1024 || cfg->port_lo > cfg->port_hi || cfg->quota == 0 ||
	    cfg->block == 0 || cfg->block > cfg->quota ||
	    cfg->block > (uint32_t)cfg->port_hi - cfg->port_lo + 1 || cfg->max_subscribers == 0 ||
	    cfg->max_subscribers > (1u << 24))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->range = (uint32_t)cfg->port_hi - cfg->port_lo + 1;
	p->n_blocks = p->range / cfg->block;
	p->max_blocks = cfg->quota / cfg->block;
	if (shard_setup(p, cfg->shard) != 0) {
		free(p);
		return -EINVAL;
	}
	/* hash heads for a load of at most 1/4: a lookup of a subscriber
	 * walks 1.125 records on average (1.5 at a load of 1), and the slow
	 * path looks its subscriber up three times per new mapping, each
	 * step past the first a dependent miss the prefetches do not cover */
	for (nh = 16; nh < 4 * (uint64_t)cfg->max_subscribers; nh <<= 1)
		;
	p->mask = nh - 1;
	p->addrs = malloc(cfg->n_addrs * sizeof(*p->addrs));
	p->sorted = malloc(cfg->n_addrs * sizeof(*p->sorted));
	p->sp = calloc((size_t)cfg->n_addrs * NAT_PI_COUNT, sizeof(*p->sp));
	p->subs = calloc(cfg->max_subscribers, sizeof(*p->subs));
	p->heads = malloc(nh * sizeof(*p->heads));
	if (!p->addrs || !p->sorted || !p->sp || !p->subs || !p->heads) {
		nat_ports_free(p);
		return -ENOMEM;
	}
	memcpy(p->addrs, cfg->addrs, cfg->n_addrs * sizeof(*p->addrs));
	p->cfg.addrs = p->addrs;
	for (i = 0; i < cfg->n_addrs; i++) {
		p->sorted[i].addr = cfg->addrs[i];
		p->sorted[i].idx = i;
	}
	qsort(p->sorted, cfg->n_addrs, sizeof(*p->sorted), cmp_addr);
	for (i = 1; i < cfg->n_addrs; i++) {
		if (p->sorted[i].addr == p->sorted[i - 1].addr) {
			nat_ports_free(p);
			return -EINVAL;
		}
	}
	for (i = 0; i < nh; i++)
		p->heads[i] = NO_IDX;
	for (i = 0; i < cfg->max_subscribers; i++)
		p->subs[i].next = i + 1 < cfg->max_subscribers ? i + 1 : NO_IDX;
	p->free_sub = 0;
	*out = p;
	return 0;
}

void nat_ports_free(struct nat_ports *p)
{
	uint32_t i;

	if (!p)
		return;
	if (p->sp)
		for (i = 0; i < p->cfg.n_addrs * NAT_PI_COUNT; i++)
			space_free(p->sp[i]);
	if (p->subs)
		for (i = 0; i < p->cfg.max_subscribers; i++)
			free(p->subs[i].blocks);
	free(p->sp);
	free(p->subs);
	free(p->heads);
	free(p->addrs);
	free(p->sorted);
	free(p->fifo);
	free(p);
}

static uint32_t sub_new(struct nat_ports *p, uint32_t in_addr)
{
	uint32_t i = p->free_sub, h = hash32(in_addr) & p->mask;
	struct sub *s;

	if (i == NO_IDX)
		return NO_IDX;
	s = &p->subs[i];
	if (block_mode(p) && !s->blocks) {
		s->blocks = malloc((size_t)NAT_PI_COUNT * p->max_blocks * sizeof(*s->blocks));
		if (!s->blocks)
			return NO_IDX;
	}
	p->free_sub = s->next;
	s->in_addr = in_addr;
	s->addr_idx = NO_IDX;
	memset(s->used, 0, sizeof(s->used));
	memset(s->n_blocks, 0, sizeof(s->n_blocks));
	s->live = true;
	s->next = p->heads[h];
	p->heads[h] = i;
	p->n_subs++;
	return i;
}

static void sub_maybe_free(struct nat_ports *p, uint32_t i)
{
	struct sub *s = &p->subs[i];
	uint32_t *pp;
	int k;

	for (k = 0; k < NAT_PI_COUNT; k++)
		if (s->used[k] || s->n_blocks[k])
			return;
	pp = &p->heads[hash32(s->in_addr) & p->mask];
	while (*pp != i)
		pp = &p->subs[*pp].next;
	*pp = s->next;
	s->live = false;
	s->next = p->free_sub;
	p->free_sub = i;
	p->n_subs--;
}

static void emit(struct nat_ports *p, enum nat_ports_event_type type, int pi, uint32_t in_addr,
		 uint32_t ai, uint32_t blk, uint64_t now)
{
	struct nat_ports_event ev;

	if (!p->cfg.event)
		return;
	ev.type = type;
	ev.proto = pi_proto[pi];
	ev.in_addr = in_addr;
	ev.out_addr = p->addrs[ai];
	ev.port_lo = (uint16_t)(p->cfg.port_lo + blk * p->cfg.block);
	ev.port_hi = (uint16_t)(ev.port_lo + p->cfg.block - 1);
	ev.now = now;
	p->cfg.event(p->cfg.event_ctx, &ev);
}

/* End the hold-down of ports whose time has come. */
static void fifo_pop(struct nat_ports *p, uint64_t now)
{
	while (p->fifo_n) {
		struct held *h = &p->fifo[p->fifo_head];
		struct space *s;

		if (h->until > now)
			break;
		s = p->sp[h->addr_idx * NAT_PI_COUNT + h->pi];
		bit_clr(&s->w[h->port >> 6].held, h->port);
		if (!block_mode(p) && h->port >= p->own_lo && h->port <= p->own_hi)
			s->n_busy--;
		p->fifo_head = (p->fifo_head + 1) % p->fifo_cap;
		p->fifo_n--;
	}
}

static int fifo_push(struct nat_ports *p, uint32_t ai, int pi, uint16_t port, uint64_t until)
{
	if (p->fifo_n == p->fifo_cap) {
		uint32_t cap = p->fifo_cap ? p->fifo_cap * 2 : 256, i;
		struct held *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (i = 0; i < p->fifo_n; i++)
			n[i] = p->fifo[(p->fifo_head + i) % p->fifo_cap];
		free(p->fifo);
		p->fifo = n;
		p->fifo_cap = cap;
		p->fifo_head = 0;
	}
	p->fifo[(p->fifo_head + p->fifo_n) % p->fifo_cap] =
		(struct held){.until = until, .addr_idx = ai, .port = port, .pi = (uint8_t)pi};
	p->fifo_n++;
	return 0;
}

/*
 * First free port in [lo, hi] starting at start (wrapping), of the given
 * parity (0 even, 1 odd, -1 any); -1 if none.
 */
static int32_t scan(const struct space *s, uint32_t lo, uint32_t hi, uint32_t start, int parity)
{
	const uint64_t pm = parity < 0 ? ~0ull : parity ? 0xaaaaaaaaaaaaaaaaull : 0x5555555555555555ull;
	int32_t port;

	if (start < lo || start > hi)
		start = lo;
	port = scan_range(s, start, hi, pm);
	if (port < 0 && start > lo)
		port = scan_range(s, lo, start - 1, pm);
	return port;
}

static bool addr_has_room(struct nat_ports *p, uint32_t ai, int pi)
{
	const struct space *s = p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];

	if (!s)
		return true;
	return block_mode(p) ? s->n_owned < p->own_n : s->n_busy < p->own_n;
}

/* Does this worker own port (or ICMP id) port?  Always without shards. */
static inline bool port_owned(const struct nat_ports *p, uint16_t port)
{
	return !p->sharded || nat_shard_port_owner(&p->shard, port) == p->shard.index;
}

/*
 * Take a free block of this worker's slice for sub si, pref if it is one,
 * else the first from the start-th of the slice on; -1 if none.
 */
static int32_t block_take(struct nat_ports *p, struct space *s, uint32_t si, uint32_t pref,
			  uint32_t start, uint64_t now)
{
	uint32_t i, b = 0, n = p->own_n, first = p->own_first;

	if (pref - first < n && s->blk_owner[pref] == BLK_FREE && s->blk_held[pref] <= now)
		b = pref;
	else {
		for (i = 0; i < n; i++) {
			b = first + (start + i) % n;
			if (s->blk_owner[b] == BLK_FREE && s->blk_held[b] <= now)
				break;
		}
		if (i == n)
			return -1;
	}
	s->blk_owner[b] = si + 1;
	s->blk_used[b] = 0;
	s->n_owned++;
	return (int32_t)b;
}

int nat_ports_alloc(struct nat_ports *p, uint8_t proto, uint32_t in_addr, uint16_t in_port,
		    uint64_t now, uint32_t *out_addr, uint16_t *out_port)
{
	int pi = nat_proto_idx(proto);
	uint32_t si, ai, k, h, lo, hi, B;
	struct space *s;
	struct sub *sb;
	int parity;
	int32_t port = -1;
	bool created = false;

	if (!p || pi < 0 || !out_addr || !out_port)
		return -EINVAL;
	fifo_pop(p, now);
	si = sub_find(p, in_addr);
	if (si == NO_IDX) {
		si = sub_new(p, in_addr);
		if (si == NO_IDX)
			return -ENOSPC;
		created = true;
	}
	sb = &p->subs[si];
	if (sb->used[pi] >= p->cfg.quota)
		return -EDQUOT;
	h = hash32(in_addr ^ ((uint32_t)in_port << 16) ^ (uint32_t)pi);
	if (sb->addr_idx == NO_IDX) {
		/* paired pooling: pin to the first address with room from a hash */
		uint32_t start = hash32(in_addr) % p->cfg.n_addrs;

		for (k = 0; k < p->cfg.n_addrs; k++) {
			ai = (start + k) % p->cfg.n_addrs;
			if (addr_has_room(p, ai, pi))
				break;
		}
		if (k == p->cfg.n_addrs)
			goto nospace;
		sb->addr_idx = ai;
	}
	ai = sb->addr_idx;
	s = space_get(p, ai, pi);
	if (!s) {
		if (created)
			sub_maybe_free(p, si);
		return -ENOMEM;
	}
	parity = pi == NAT_PI_ICMP ? -1 : (int)(in_port & 1);
	lo = p->cfg.port_lo;
	hi = p->cfg.port_hi;
	B = p->cfg.block;

	if (pi != NAT_PI_ICMP && in_port < 1024) {
		/* low ports stay low, one by one, never in blocks: the inside
		 * port if it is in the low slice, else from the slice's start */
		port = scan(s, p->low_lo, p->low_hi, in_port ? in_port : 1, parity);
	} else if (pi == NAT_PI_ICMP && (in_port < lo || in_port > hi) && port_free(s, in_port) &&
		   port_owned(p, in_port)) {
		/* an ICMP id outside the dynamic range is kept if free and ours
		 * (never in blocks); otherwise it gets one from the slice below */
		port = in_port;
	} else if (!block_mode(p)) {
		/* the slice [own_lo, own_hi] from the inside port if it is in the
		 * slice (preservation), else from a point chosen by the hash */
		uint32_t start;

		if (p->own_n == 0)
			goto nospace;
		start = in_port >= p->own_lo && in_port <= p->own_hi ? in_port
								     : p->own_lo + h % p->own_n;
		port = scan(s, p->own_lo, p->own_hi, start, parity);
		if (port >= 0)
			s->n_busy++;
	} else {
		uint32_t *blocks = sb->blocks + (size_t)pi * p->max_blocks;
		uint32_t pref_blk = in_port >= lo && in_port <= hi ? (in_port - lo) / B : NO_IDX;

		/* 1. the inside port, in one of the subscriber's blocks */
		if (pref_blk < p->n_blocks && s->blk_owner[pref_blk] == si + 1 &&
		    port_free(s, in_port))
			port = in_port;
		/* 2. any free port of its blocks */
		for (k = 0; port < 0 && k < sb->n_blocks[pi]; k++) {
			uint32_t b0 = lo + blocks[k] * B;

			port = scan(s, b0, b0 + B - 1, b0, parity);
		}
		/* 3. a new block of the slice, the inside port's own if it is
		 * free and in the slice */
		if (port < 0 && sb->n_blocks[pi] < p->max_blocks && p->own_n) {
			int32_t b = block_take(p, s, si, pref_blk, h % p->own_n, now);

			if (b >= 0) {
				uint32_t b0 = lo + (uint32_t)b * B;

				blocks[sb->n_blocks[pi]++] = (uint32_t)b;
				emit(p, NAT_PORTS_BLOCK_ALLOC, pi, in_addr, ai, (uint32_t)b, now);
				port = scan(s, b0, b0 + B - 1,
					    (uint32_t)b == pref_blk ? in_port : b0, parity);
				/* a fresh block of >= 2 ports has both parities free,
				 * since a block is held at least as long as its ports */
			}
		}
		if (port >= 0)
			s->blk_used[((uint32_t)port - lo) / B]++;
	}
	if (port < 0)
		goto nospace;
	bit_set(&s->w[(uint32_t)port >> 6].used, (uint32_t)port);
	sb->used[pi]++;
	*out_addr = p->addrs[ai];
	*out_port = (uint16_t)port;
	return 0;
nospace:
	if (created)
		sub_maybe_free(p, si);
	return -ENOSPC;
}

/* Remove block b from sub's list for pi. */
static void sub_drop_block(struct nat_ports *p, struct sub *sb, int pi, uint32_t b)
{
	uint32_t *blocks = sb->blocks + (size_t)pi * p->max_blocks, k;

	for (k = 0; k < sb->n_blocks[pi]; k++) {
		if (blocks[k] == b) {
			blocks[k] = blocks[--sb->n_blocks[pi]];
			return;
		}
	}
}

int nat_ports_release(struct nat_ports *p, uint8_t proto, uint32_t in_addr, uint32_t out_addr,
		      uint16_t out_port, uint64_t now)
{
	int pi = nat_proto_idx(proto);
	uint32_t ai, si;
	struct space *s;
	struct sub *sb;
	bool dyn;

	if (!p || pi < 0)
		return -EINVAL;
	ai = addr_index(p, out_addr);
	si = sub_find(p, in_addr);
	if (ai == NO_IDX || si == NO_IDX)
		return -ENOENT;
	sb = &p->subs[si];
	s = p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];
	if (!s || sb->addr_idx != ai || !bit_get(s->w[out_port >> 6].used, out_port) || sb->used[pi] == 0)
		return -ENOENT;
	dyn = out_port >= p->cfg.port_lo && out_port <= p->cfg.port_hi &&
	      (pi == NAT_PI_ICMP || out_port >= 1024);
	if (dyn && block_mode(p)) {
		uint32_t b = ((uint32_t)out_port - p->cfg.port_lo) / p->cfg.block;

		if (b >= p->n_blocks || s->blk_owner[b] != si + 1)
			return -ENOENT;
		if (--s->blk_used[b] == 0) {
			s->blk_owner[b] = BLK_FREE;
			s->blk_held[b] = now + p->cfg.hold_down;
			s->n_owned--;
			sub_drop_block(p, sb, pi, b);
			emit(p, NAT_PORTS_BLOCK_FREE, pi, in_addr, ai, b, now);
		}
	}
	bit_clr(&s->w[out_port >> 6].used, out_port);
	sb->used[pi]--;
	if (p->cfg.hold_down && fifo_push(p, ai, pi, out_port, now + p->cfg.hold_down) == 0)
		bit_set(&s->w[out_port >> 6].held, out_port);
	else if (!block_mode(p) && out_port >= p->own_lo && out_port <= p->own_hi)
		s->n_busy--;
	sub_maybe_free(p, si);
	return 0;
}

int nat_ports_reserve(struct nat_ports *p, uint8_t proto, uint32_t out_addr, uint16_t out_port)
{
	int pi = nat_proto_idx(proto);
	uint32_t ai;
	struct space *s;

	if (!p || pi < 0)
		return -EINVAL;
	ai = addr_index(p, out_addr);
	if (ai == NO_IDX)
		return -ENOENT;
	s = space_get(p, ai, pi);
	if (!s)
		return -ENOMEM;
	if (bit_get(s->w[out_port >> 6].used, out_port))
		return -EEXIST;
	bit_set(&s->w[out_port >> 6].used, out_port);
	if (out_port >= p->cfg.port_lo && out_port <= p->cfg.port_hi) {
		if (block_mode(p)) {
			uint32_t b = ((uint32_t)out_port - p->cfg.port_lo) / p->cfg.block;

			if (b < p->n_blocks) {
				if (s->blk_owner[b] == BLK_FREE) {
					if (b - p->own_first < p->own_n)
						s->n_owned++;
				} else if (s->blk_owner[b] != BLK_RESERVED) {
					bit_clr(&s->w[out_port >> 6].used, out_port);
					return -EEXIST;
				}
				s->blk_owner[b] = BLK_RESERVED;
				s->blk_used[b]++; /* a reserved block counts its reservations */
			}
		} else if (out_port >= p->own_lo && out_port <= p->own_hi) {
			s->n_busy++;
		}
	}
	return 0;
}

int nat_ports_unreserve(struct nat_ports *p, uint8_t proto, uint32_t out_addr, uint16_t out_port,
			uint64_t now)
{
	int pi = nat_proto_idx(proto);
	uint32_t ai;
	struct space *s;

	if (!p || pi < 0)
		return -EINVAL;
	ai = addr_index(p, out_addr);
	if (ai == NO_IDX)
		return -ENOENT;
	s = p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];
	if (!s || !bit_get(s->w[out_port >> 6].used, out_port))
		return -ENOENT;
	if (out_port >= p->cfg.port_lo && out_port <= p->cfg.port_hi && block_mode(p)) {
		uint32_t b = ((uint32_t)out_port - p->cfg.port_lo) / p->cfg.block;

		if (b < p->n_blocks) {
			if (s->blk_owner[b] != BLK_RESERVED || s->blk_used[b] == 0)
				return -ENOENT; /* a subscriber's port */
			if (--s->blk_used[b] == 0) {
				s->blk_owner[b] = BLK_FREE;
				s->blk_held[b] = now + p->cfg.hold_down;
				if (b - p->own_first < p->own_n)
					s->n_owned--;
			}
		}
	}
	bit_clr(&s->w[out_port >> 6].used, out_port);
	if (p->cfg.hold_down && fifo_push(p, ai, pi, out_port, now + p->cfg.hold_down) == 0)
		bit_set(&s->w[out_port >> 6].held, out_port);
	else if (!block_mode(p) && out_port >= p->own_lo && out_port <= p->own_hi)
		s->n_busy--;
	return 0;
}

bool nat_ports_in_use(const struct nat_ports *p, uint8_t proto, uint32_t out_addr,
		      uint16_t out_port)
{
	int pi = nat_proto_idx(proto);
	uint32_t ai;
	const struct space *s;

	if (!p || pi < 0)
		return false;
	ai = addr_index(p, out_addr);
	if (ai == NO_IDX)
		return false;
	s = p->sp[ai * NAT_PI_COUNT + (uint32_t)pi];
	return s && bit_get(s->w[out_port >> 6].used, out_port);
}

bool nat_ports_has_addr(const struct nat_ports *p, uint32_t out_addr)
{
	return p && addr_index(p, out_addr) != NO_IDX;
}

uint32_t nat_ports_sub_used(const struct nat_ports *p, uint8_t proto, uint32_t in_addr)
{
	int pi = nat_proto_idx(proto);
	uint32_t si;

	if (!p || pi < 0)
		return 0;
	si = sub_find(p, in_addr);
	return si == NO_IDX ? 0 : p->subs[si].used[pi];
}

bool nat_ports_sub_addr(const struct nat_ports *p, uint32_t in_addr, uint32_t *out_addr)
{
	uint32_t si;

	if (!p || !out_addr)
		return false;
	si = sub_find(p, in_addr);
	if (si == NO_IDX || p->subs[si].addr_idx == NO_IDX)
		return false;
	*out_addr = p->addrs[p->subs[si].addr_idx];
	return true;
}

uint32_t nat_ports_subscribers(const struct nat_ports *p)
{
	return p ? p->n_subs : 0;
}
