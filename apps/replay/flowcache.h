/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCREPLAY_FLOWCACHE_H
#define NCREPLAY_FLOWCACHE_H
/*
 * An exact-match cache in front of the classifier: 5-tuple -> rule position.
 *
 * Captures are flows: most packets repeat the key of a packet seen shortly
 * before.  The rules do not change during a run, so the answer for a key
 * never changes either and can be remembered.  A 2-way set-associative
 * table of 2^bits entries (one 64-byte line each; default 2^16 = 4 MiB, on
 * huge pages when the kernel gives them) indexed by a hash of the key: a set
 * is two adjacent entries, a new key goes to the first and moves the first's
 * old key to the second (so the older of the two is evicted).  A hit costs
 * one or two (prefetched) cache lines instead of a classifier lookup; a miss
 * goes to cls_lookup_bulk() and fills the set.  Results are identical with and
 * without the cache (the tests compare against the linear classifier with
 * it on; ncreplay --no-flow-cache turns it off).
 *
 * The key is packed into five words so that padding bytes of struct cls_key
 * never matter: w[0] = 1 | family, proto, ports; w[1..2] source; w[3..4]
 * destination (IPv4: the address in w[1] / w[3], zeros after).  An empty
 * entry has w[0] == 0, which no packed key has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FC_HUGE ((size_t)2 << 20)

#include "classify.h"

struct fc_entry {
	uint64_t w[5];
	uint32_t pos;   /* rule position, 0: no rule matched */
} __attribute__((aligned(64))); /* one cache line per probe */

struct flowcache {
	struct fc_entry *e;
	uint64_t mask;
	uint64_t hits, misses;
};

static inline void fc_pack(const struct cls_key *k, uint64_t w[5])
{
	w[0] = 1 | (uint64_t)k->family << 8 | (uint64_t)k->proto << 16 |
	       (uint64_t)k->sport << 32 | (uint64_t)k->dport << 48;
	if (k->family == CLS_IPV6) {
		w[1] = k->src.v6.hi;
		w[2] = k->src.v6.lo;
		w[3] = k->dst.v6.hi;
		w[4] = k->dst.v6.lo;
	} else {
		w[1] = k->src.v4;
		w[2] = 0;
		w[3] = k->dst.v4;
		w[4] = 0;
	}
}

static inline uint64_t fc_hash(const uint64_t w[5])
{
	/* independent multiplies (they run in parallel), then one final mix */
	uint64_t h = w[0] * 0x9e3779b97f4a7c15ULL ^ w[1] * 0xc2b2ae3d27d4eb4fULL ^
		     w[2] * 0x165667b19e3779f9ULL ^ w[3] * 0xd6e8feb86659fd93ULL ^
		     w[4] * 0xff51afd7ed558ccdULL;

	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

/** The set (two entries, two cache lines) of a hash.  The caller
 *  prefetches it shortly before fc_find(). */
static inline struct fc_entry *fc_set(const struct flowcache *fc, uint64_t hash)
{
	return &fc->e[hash & fc->mask & ~(uint64_t)1];
}

static inline int fc_eq(const struct fc_entry *e, const uint64_t w[5])
{
	return e->w[0] == w[0] && e->w[1] == w[1] && e->w[2] == w[2] && e->w[3] == w[3] &&
	       e->w[4] == w[4];
}

/** Look the key up in its set; @return 1 and *pos on a hit. */
static inline int fc_find(const struct fc_entry *set, const uint64_t w[5], uint32_t *pos)
{
	if (fc_eq(&set[0], w)) {
		*pos = set[0].pos;
		return 1;
	}
	if (fc_eq(&set[1], w)) {
		*pos = set[1].pos;
		return 1;
	}
	return 0;
}

/** Insert into the set: the newest first, the older one kept second. */
static inline void fc_fill(struct fc_entry *set, const uint64_t w[5], uint32_t pos)
{
	if (fc_eq(&set[0], w))
		return; /* a key missed twice in one window */
	set[1] = set[0];
	for (int i = 0; i < 5; i++)
		set[0].w[i] = w[i];
	set[0].pos = pos;
}

/** @return 0 or -ENOMEM; bits 0 makes an empty (disabled) cache. */
static inline int fc_init(struct flowcache *fc, unsigned bits)
{
	fc->hits = fc->misses = 0;
	fc->mask = 0;
	fc->e = NULL;
	if (bits < 1)
		return 0;
	size_t size = sizeof(*fc->e) << bits;
	size_t align = size >= FC_HUGE ? FC_HUGE : 64;

	/* Probes are random: on 4 KiB pages nearly each one is a TLB miss, so
	 * ask for transparent huge pages (a hint; the cache works without). */
	fc->e = aligned_alloc(align, size);
	if (!fc->e)
		return -1;
	if (size >= FC_HUGE)
		(void)madvise(fc->e, size, MADV_HUGEPAGE);
	memset(fc->e, 0, size);
	fc->mask = ((uint64_t)1 << bits) - 1;
	return 0;
}

static inline void fc_free(struct flowcache *fc)
{
	free(fc->e);
	fc->e = NULL;
}
#endif
