/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by netchannel.c (objects, engine) and nc_mbuf.c (mbufs). */
#ifndef NETCHANNEL_NETCHANNEL_INT_H
#define NETCHANNEL_NETCHANNEL_INT_H

#include <stdalign.h>
#include <stdatomic.h>

#include "nc_slab.h"
#include "nc_timer.h"
#include "netchannel.h"

#define NCF_LISTENER 0x1u
#define NCF_CLOSED 0x2u
#define NCF_SLAB 0x4u     /* memory from the engine's slab (nc_slab.h) */
#define NCF_TIMER 0x8u    /* has a timer, in e->timer_ix (nc_timer_set) */

#define NC_ENGINE_SLABS 4 /* object sizes with a slab; others: malloc */

#define NC_NO_ID UINT32_MAX

/*
 * Layout: 32 bytes of header, then the private state (8-byte aligned).  The
 * first 16 bytes are what only creation, destruction, references and
 * listeners use; the receive path reads ops and adds to rx_pkts, which
 * therefore sit right before the private state, so that one process() call
 * touches the bytes from ops to the end of priv (nc_engine_run prefetches
 * them for the whole burst, one line or two: flow_value() in netchannel.c)
 * and nothing else of the object.  A NAT session (32 bytes of priv) is a
 * 64-byte object from the engine's slab of that size (2 MiB chunks,
 * transparent huge pages: nc_slab.h; a slab of 64-byte objects keeps every
 * object on one line), for tens of millions of them (88 bytes, two lines
 * per object, with 56 bytes of priv before; 112 with the 56-byte header
 * before that, 160 with malloc).
 *
 * What is not in the header, and where it is:
 *  - the engine: the owner of the object's slab, read from the chunk's
 *    first line (nc_slab_owner: same huge page); a malloc'd netchannel
 *    (sizes beyond the engine's slabs) has it in the 8 bytes before the
 *    object.  Both read NULL once the engine is gone (detached).  nc_eng().
 *  - the generation of the id: e->gen[id] only; a detached netchannel keeps
 *    it in det_gen.
 *  - the timer: allocated by the first nc_timer_set() (most netchannels,
 *    NAT sessions and flows, never arm one) and found by id in the engine's
 *    e->timer_ix; NCF_TIMER says there is one.
 * rule_id, next_free and det_gen share 4 bytes: a listener's rule is
 * deleted before its last reference can go (nc_engine_unlisten), the
 * deferred-free list links only netchannels without references, and
 * detaching happens after both (nc_engine_free) and needs neither.
 */
struct netchannel {
	_Atomic uint32_t refcnt;
	uint32_t id;          /* index in the engine's channel table */
	uint16_t flags;       /* NCF_* */
	uint16_t zone;        /* listener's zone (NC_ZONE_ANY: e->cls) */
	union {
		uint32_t rule_id;   /* listener (NCF_LISTENER): its classifier rule */
		uint32_t next_free; /* no reference left, destruction deferred: the
				     * next one's id on e->deferred */
		uint32_t det_gen;   /* detached: e->gen[id] when the engine went */
	};
	/* hot: the receive path */
	const struct nc_ops *ops;
	uint64_t rx_pkts;
	alignas(8) unsigned char priv[];
};
_Static_assert(sizeof(struct netchannel) == NC_HEADER_BYTES &&
		       offsetof(struct netchannel, priv) == NC_HEADER_BYTES,
	       "netchannel header: 32 bytes, nc_priv() right after it");

/* A malloc'd netchannel is preceded by its engine (NULL once detached). */
#define NC_MHDR sizeof(struct nc_engine *_Atomic)

/* The netchannel's engine, NULL once detached.  Any thread. */
static inline struct nc_engine *nc_eng(const struct netchannel *nc)
{
	if (nc->flags & NCF_SLAB)
		return nc_slab_owner(nc);
	return atomic_load_explicit((struct nc_engine *_Atomic *)((uintptr_t)nc - NC_MHDR),
				    memory_order_acquire);
}

/*
 * Ids: e->chan[id] is the netchannel of a live id (refcnt 0 included while
 * its destruction is deferred), 0 for an id never used (>= e->fresh), and
 * for a free id NC_SLOT_FREE | (next free id + 1) << 1: the free ids are a
 * LIFO list through their own slots (e->free_head), no array of their own.
 * Objects are 8-byte aligned, so the tag bit never is a pointer's.
 */
#define NC_SLOT_FREE ((uintptr_t)1)

struct nc_engine {
	struct nc_engine_config cfg;
	struct nc_flow *flows;
	struct cls *cls;      /* listeners of every zone (NC_ZONE_ANY) */
	struct cls *zcls[NC_ENGINE_ZONES]; /* per-zone listeners, created on first use */
	struct nc_ring *ring;
	bool own_ring;
	unsigned defer;       /* > 0: last unrefs are deferred (burst, table call) */
	bool closing;         /* nc_engine_free runs */
	struct nc_timers *timers;
	struct nc_timer_index timer_ix; /* netchannels' timers by id (NCF_TIMER) */
	struct nc_slab *slab[NC_ENGINE_SLABS]; /* netchannels by object size */
	struct nc_slab *arena; /* = slab[0] (64-byte objects) when keyed flows
				* can be object flows (no cfg.qsbr), else NULL */
	char *arena_base;      /* its object 0 */
	size_t arena_slots;
	uintptr_t *chan;      /* by id: netchannel, free-list link or 0 */
	uint32_t *gen;        /* by id */
	uint32_t free_head;   /* first free id (NC_NO_ID: none) */
	uint32_t fresh;       /* ids below have been used */
	uint32_t live;
	uint32_t deferred;    /* deferred-free list: first id (NC_NO_ID: empty) */
	uint32_t burst_seq;   /* stamps the grouping table (nc_engine_run) */
	struct nc_engine_stats st;
	uint64_t now;         /* time given to the current rx / poll call */
	/* burst scratch */
	struct nc_pkt pkts[NC_BURST_MAX];
	struct netchannel *owner[NC_BURST_MAX];
	/* grouping of a burst by netchannel: open addressing on the pointer,
	 * slots valid when their stamp is the burst's */
	struct {
		struct netchannel *nc;
		uint32_t stamp;
		uint32_t group;
	} gtab[2 * NC_BURST_MAX];
};

/*
 * Flow-table values: the netchannel, with NC_FV_TWO_LINES set when the
 * bytes a process() call touches (ops to the end of priv) do not all sit
 * in the line of ops, so that the receive path prefetches exactly the
 * lines it will touch without reading the netchannel first (nc_create:
 * 88-byte objects straddled two lines; a 64-byte one from a slab is one
 * line, and +64 would be the next object's).  Objects are 8-byte aligned,
 * so bit 0 is free; the table never dereferences values.
 */
#define NC_FV_TWO_LINES ((uintptr_t)1)

static inline void *flow_value(const struct netchannel *nc)
{
	size_t priv = (nc->ops->priv_size + 7) & ~(size_t)7;
	uintptr_t first = (uintptr_t)&nc->ops, last = (uintptr_t)nc->priv + priv - 1;

	if (last < first) /* no priv: ops and rx_pkts */
		last = (uintptr_t)&nc->rx_pkts + sizeof(nc->rx_pkts) - 1;
	return (void *)((uintptr_t)nc | ((first >> 6) != (last >> 6) ? NC_FV_TWO_LINES : 0));
}

static inline struct netchannel *flow_nc(const void *v)
{
	return (struct netchannel *)((uintptr_t)v & ~NC_FV_TWO_LINES);
}

/* Deferred destruction of netchannels whose last reference drops inside a
 * burst or a flow-table writer call (netchannel.c); nestable. */
void nc_defer_begin(struct nc_engine *e);
void nc_defer_end(struct nc_engine *e);

/* Fill e->pkts[i] (parse + key); flags NC_PKT_* (nc_rx.c). */
void nc_engine_prep(struct nc_engine *e, unsigned i, const uint8_t *data, uint32_t len,
		    void *cookie, uint16_t flags, uint16_t in_port);
/* Run the pipeline on e->pkts[0..n), n <= NC_BURST_MAX; returns packets
 * handed to a netchannel (nc_rx.c). */
unsigned nc_engine_run(struct nc_engine *e, unsigned n, uint64_t now);
/* Free an mbuf (nc_mbuf.c; DPDK). */
void nc_mbuf_free(void *mbuf);

#endif
