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

#define NC_ENGINE_SLABS 4 /* object sizes with a slab; others: malloc */

#define NC_NO_ID UINT32_MAX

/*
 * Layout: the first 40 bytes are what only creation, destruction, timers
 * and listeners use; the receive path reads ops and adds to rx_pkts, which
 * therefore sit right before the private state, so that one process() call
 * touches the lines from ops to the end of priv (nc_engine_run prefetches
 * them for the whole burst) and nothing else of the object.  The header is
 * 56 bytes and priv 8-byte aligned: a NAT session (56 bytes of priv) is a
 * 112-byte object (160 with malloc before), from the engine's slab of that
 * size (2 MiB chunks, transparent huge pages: nc_slab.h), for tens of
 * millions of them.  The timer is allocated by the first nc_timer_set(): most
 * netchannels (NAT sessions, flows) never arm one.
 */
struct netchannel {
	_Atomic uint32_t refcnt;
	uint32_t id;          /* index in the engine's channel table */
	uint32_t gen;         /* generation of that index */
	uint16_t flags;       /* NCF_* */
	uint16_t zone;        /* listener's zone (NC_ZONE_ANY: e->cls) */
	uint32_t rule_id;     /* listener's classifier rule */
	uint32_t next_free;   /* deferred-free list during a burst: next one's id */
	struct nc_engine *eng; /* NULL once detached by nc_engine_free */
	struct nc_timer *timer; /* NULL until the first nc_timer_set() */
	/* hot: the receive path */
	const struct nc_ops *ops;
	uint64_t rx_pkts;
	alignas(8) unsigned char priv[];
};
_Static_assert(sizeof(struct netchannel) == 56, "netchannel header: 56 bytes");

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
	struct nc_slab *slab[NC_ENGINE_SLABS]; /* netchannels by object size */
	struct netchannel **chan; /* by id */
	uint32_t *gen;            /* by id */
	uint32_t *free_ids;
	uint32_t nfree;
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

/* Fill e->pkts[i] (parse + key); flags NC_PKT_*. */
void nc_engine_prep(struct nc_engine *e, unsigned i, const uint8_t *data, uint32_t len,
		    void *cookie, uint16_t flags, uint16_t in_port);
/* Run the pipeline on e->pkts[0..n), n <= NC_BURST_MAX; returns packets
 * handed to a netchannel. */
unsigned nc_engine_run(struct nc_engine *e, unsigned n, uint64_t now);
/* Free an mbuf (nc_mbuf.c; DPDK). */
void nc_mbuf_free(void *mbuf);

#endif
