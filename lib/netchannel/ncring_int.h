/* SPDX-License-Identifier: BSD-3-Clause */
/* ncring internals shared by ncring.c (ring, waiters) and ncring_source.c. */
#ifndef NETCHANNEL_NCRING_INT_H
#define NETCHANNEL_NCRING_INT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

#include "ncring.h"

#define CL 64

/* Source state bits (one atomic word per source). */
#define SRC_ACTIVE 0x1u
#define SRC_LEVEL 0x2u
#define SRC_READY 0x4u
#define SRC_QUEUED 0x8u

/* The shared header: one cache line per writer. */
struct nc_ring_hdr {
	/* line 0: read on every post or commit, (almost) never written */
	alignas(CL) uint64_t magic;
	uint32_t version;
	uint32_t rec_size;
	uint32_t size;
	uint32_t max_sources;
	uint32_t flags;
	_Atomic uint32_t sym_fence; /* 1: some process cannot use membarrier */
	uint64_t map_size;
	uint64_t src_off;
	_Atomic uint32_t level_sources; /* changed by source add/del only */
	/* line 1: producers */
	alignas(CL) _Atomic uint64_t kidx;
	_Atomic uint64_t uidx_cache; /* a recent uidx, saves producers a line miss */
	/* line 2: consumers */
	alignas(CL) _Atomic uint64_t uidx;
	/* line 3: counters written by producers, read by stats only */
	alignas(CL) _Atomic uint64_t overflow;
	_Atomic uint64_t wakeups;
	/* line 4: waiters */
	alignas(CL) _Atomic uint32_t futex;
	_Atomic uint32_t waiters;
	_Atomic uint32_t wake_tokens;
};

struct nc_slot {
	_Atomic uint64_t seq; /* index + 1 once the record at index is published */
	struct nc_event ev;
};

struct nc_src {
	_Atomic uint32_t state;
	uint16_t kind;
	uint16_t pad;
	_Atomic uint64_t data;
	uint64_t udata;
	uint64_t pad2;
};

_Static_assert(sizeof(struct nc_event) == 56, "event record is 56 bytes");
_Static_assert(sizeof(struct nc_slot) == 64, "slot is one cache line");
_Static_assert(sizeof(struct nc_ring_hdr) == 5 * CL, "header layout");

/* The process-local handle. */
struct nc_ring {
	struct nc_ring_hdr *h;
	struct nc_slot *slots;
	struct nc_src *src;
	uint64_t mask;
	uint32_t size;
	uint32_t max_sources;
	uint32_t flags;
	int fd;
	size_t map_len;
};

/* Queue up to n events; the rest is counted as overflow.  Returns the
 * number queued. */
unsigned ncr_post(struct nc_ring *r, const struct nc_event *ev, unsigned n);
/* Commit-time re-arm of level source id (ncring_source.c). */
void ncr_rearm_level(struct nc_ring *r, uint32_t id);

#endif
