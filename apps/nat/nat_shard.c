/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat shards; see nat_shard.h for the partition. */
#include <errno.h>

#include "nat_shard.h"

int nat_shard_init(struct nat_shard *sh, unsigned index, unsigned count, uint16_t port_lo,
		   uint16_t port_hi, uint32_t block)
{
	uint32_t range;

	if (!sh || count == 0 || count > NAT_SHARD_MAX || index >= count || port_lo < 1024 ||
	    port_lo > port_hi || block == 0)
		return -EINVAL;
	range = (uint32_t)port_hi - port_lo + 1;
	if (block > range)
		return -EINVAL;
	sh->index = (uint16_t)index;
	sh->count = (uint16_t)count;
	sh->port_lo = port_lo;
	sh->port_hi = port_hi;
	sh->block = block;
	sh->n_blocks = range / block;
	return 0;
}

/* Slice w of n units among count: [n*w/count, n*(w+1)/count). */
static inline uint32_t slice_start(uint32_t n, unsigned w, unsigned count)
{
	return (uint32_t)((uint64_t)n * w / count);
}

/* The slice holding unit u of n: the largest w with slice_start(w) <= u. */
static inline unsigned slice_of(uint32_t n, uint32_t u, unsigned count)
{
	unsigned w = (unsigned)(((uint64_t)u * count) / n);

	/* integer rounding can put u one slice off either way */
	while (w + 1 < count && slice_start(n, w + 1, count) <= u)
		w++;
	while (w > 0 && slice_start(n, w, count) > u)
		w--;
	return w;
}

unsigned nat_shard_port_owner(const struct nat_shard *sh, uint16_t port)
{
	if (sh->count <= 1)
		return 0;
	if (port >= sh->port_lo && port <= sh->port_hi) {
		uint32_t b = (uint32_t)(port - sh->port_lo) / sh->block;

		return b >= sh->n_blocks ? sh->count - 1u : slice_of(sh->n_blocks, b, sh->count);
	}
	if (port >= 1 && port <= 1023)
		return slice_of(1023, (uint32_t)port - 1, sh->count);
	return port % sh->count;
}

void nat_shard_dyn_blocks(const struct nat_shard *sh, unsigned w, uint32_t *first, uint32_t *n)
{
	unsigned c = sh->count ? sh->count : 1;
	uint32_t a = slice_start(sh->n_blocks, w, c), b = slice_start(sh->n_blocks, w + 1, c);

	*first = a;
	*n = b - a;
}

void nat_shard_low_ports(const struct nat_shard *sh, unsigned w, uint16_t *lo, uint16_t *hi)
{
	unsigned c = sh->count ? sh->count : 1;

	*lo = (uint16_t)(1 + slice_start(1023, w, c));
	*hi = (uint16_t)slice_start(1023, w + 1, c); /* 1 + next start - 1 */
}
