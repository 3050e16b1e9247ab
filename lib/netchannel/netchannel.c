/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netchannel objects and the engine that routes packets to them (see
 * netchannel.h for the contract); the receive path is in nc_rx.c.
 *
 * Ids: the engine keeps a table of live netchannels indexed by id, with a
 * generation per index; nc_id64 = gen << 32 | id.  Timer events carry the
 * 64-bit id, so an event of a netchannel freed meanwhile (its index reused
 * or not) is recognised as stale instead of touching freed memory.  Free ids
 * are linked through their table slots (netchannel_int.h): 12 bytes per id
 * in all, reused last-freed first, never-used ids handed out lowest first.
 *
 * Lifetime during a burst: process() may remove flows, which may drop the
 * last reference of a netchannel that still has packets later in the same
 * burst.  While a burst runs, last references therefore put the netchannel
 * on a deferred list that is freed when the burst ends.
 */
#define _GNU_SOURCE
#include "netchannel_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NC_MAX_CHANNELS (1u << 28)

_Static_assert(offsetof(struct netchannel, ops) == 16, "cold fields first");
_Static_assert(offsetof(struct netchannel, priv) == 32, "ops, rx_pkts, then priv");
_Static_assert(alignof(struct netchannel) == 8, "slab objects and NC_MHDR keep 8");
#define DEFAULT_RING 1024u
#define ARENA_SHIFT 6 /* the arena's objects: 64 bytes (keyed flows) */
#define DEFAULT_EXPIRE_BUDGET 1024u

/* ---- netchannel objects ------------------------------------------------ */

/* Object memory: the engine's slab for its size (the first
 * NC_ENGINE_SLABS sizes it sees; the slab's owner is the engine, see
 * nc_eng()), else malloc with the engine in the NC_MHDR bytes before the
 * object.  Detached objects (the engine freed) go back to their orphaned
 * slab from any thread. */
static struct netchannel *nc_mem_alloc(struct nc_engine *e, size_t size, bool keyed)
{
	struct netchannel *nc;
	unsigned i;

	/* keyed netchannels up to 64 bytes: the arena (object flows) */
	if (keyed && e->arena != NULL && size <= ((size_t)1 << ARENA_SHIFT)) {
		nc = nc_slab_alloc(e->arena);
		if (nc != NULL) {
			memset(nc, 0, size);
			nc->flags = NCF_SLAB;
		}
		return nc;
	}
	for (i = 0; i < NC_ENGINE_SLABS && size <= NC_SLAB_MAX_OBJ; i++) {
		if (e->slab[i] == NULL) {
			e->slab[i] = nc_slab_create(size, e);
			if (e->slab[i] == NULL)
				break;
		}
		if (nc_slab_obj_size(e->slab[i]) == ((size + 7) & ~(size_t)7)) {
			nc = nc_slab_alloc(e->slab[i]);
			if (nc != NULL) {
				memset(nc, 0, size);
				nc->flags = NCF_SLAB;
			}
			return nc;
		}
	}
	/* malloc's 16-byte alignment leaves nc and priv 8-byte aligned */
	char *m = malloc(NC_MHDR + size);
	if (m == NULL)
		return NULL;
	atomic_init((struct nc_engine *_Atomic *)(void *)m, e);
	nc = (struct netchannel *)(void *)(m + NC_MHDR);
	memset(nc, 0, size);
	return nc;
}

static void nc_mem_free(struct netchannel *nc)
{
	if (nc->flags & NCF_SLAB)
		nc_slab_free(nc);
	else
		free((char *)nc - NC_MHDR);
}

/* Detach from the engine (nc_engine_free): nc_eng() reads NULL, for a slab
 * object once the slab is orphaned right after. */
static void nc_mem_detach(struct netchannel *nc)
{
	if (!(nc->flags & NCF_SLAB))
		atomic_store_explicit((struct nc_engine *_Atomic *)(void *)((char *)nc - NC_MHDR),
				      NULL, memory_order_release);
}

/* ---- ids ---------------------------------------------------------------- */

/* The netchannel of id, or NULL if the id is free or was never used. */
static inline struct netchannel *chan_at(const struct nc_engine *e, uint32_t id)
{
	uintptr_t v = e->chan[id];

	return (v & NC_SLOT_FREE) ? NULL : (struct netchannel *)v;
}

static inline bool id_available(const struct nc_engine *e)
{
	return e->free_head != NC_NO_ID || e->fresh < e->cfg.max_channels;
}

/* Take an id (id_available() first) for nc. */
static uint32_t id_take(struct nc_engine *e, struct netchannel *nc)
{
	uint32_t id = e->free_head;

	if (id != NC_NO_ID) {
		e->free_head = (uint32_t)(e->chan[id] >> 1) - 1; /* 0 -> NC_NO_ID */
		/* The next take reads that slot first (a random line among
		 * millions of ids): start the miss now, not on its path. */
		if (e->free_head != NC_NO_ID)
			__builtin_prefetch(&e->chan[e->free_head], 1);
	} else {
		id = e->fresh++;
	}
	e->chan[id] = (uintptr_t)nc;
	e->live++;
	return id;
}

/* Give id back: a new generation, and first in line for reuse. */
static void id_put(struct nc_engine *e, uint32_t id)
{
	e->gen[id]++;
	e->chan[id] = (uintptr_t)(e->free_head + 1u) << 1 | NC_SLOT_FREE;
	e->free_head = id;
	e->live--;
}

/* ---- timers ------------------------------------------------------------- */

/* nc's timer, if it has one (engine e). */
static struct nc_timer *timer_of(const struct nc_engine *e, const struct netchannel *nc)
{
	return (nc->flags & NCF_TIMER) ? nc_timer_index_find(&e->timer_ix, nc->id) : NULL;
}

/* Cancel and free nc's timer, if any. */
static void timer_drop(struct nc_engine *e, struct netchannel *nc)
{
	if (!(nc->flags & NCF_TIMER))
		return;
	struct nc_timer *t = nc_timer_index_remove(&e->timer_ix, nc->id);
	(void)nc_timer_cancel(e->timers, t);
	free(t);
	nc->flags &= (uint16_t)~NCF_TIMER;
}

/* ---- netchannel objects, continued --------------------------------------- */

static void nc_destroy(struct netchannel *nc)
{
	struct nc_engine *e = nc_eng(nc);

	if (nc->ops->cleanup != NULL)
		nc->ops->cleanup(nc);
	if (e != NULL) {
		timer_drop(e, nc);
		id_put(e, nc->id);
	}
	nc_mem_free(nc);
}

/*
 * Deferred destruction.  A last reference may drop inside a burst (process()
 * removing a flow whose netchannel has packets later in the burst) or inside
 * a flow-table writer call (its free_value callback), where cleanup() must
 * not re-enter the table.  Between nc_defer_begin and nc_defer_end such
 * netchannels are queued; the outermost nc_defer_end destroys them, each
 * cleanup() itself running deferred so that what it releases queues too.
 */
void nc_defer_begin(struct nc_engine *e)
{
	e->defer++;
}

void nc_defer_end(struct nc_engine *e)
{
	if (e->defer > 1) {
		e->defer--;
		return;
	}
	while (e->deferred != NC_NO_ID) {
		struct netchannel *nc = chan_at(e, e->deferred);
		e->deferred = nc->next_free;
		nc_destroy(nc); /* still deferred: defer == 1 */
	}
	e->defer = 0;
}

void nc_ref(struct netchannel *nc)
{
	if (nc != NULL)
		/* Relaxed: taking a reference orders nothing (the caller
		 * already holds one). */
		atomic_fetch_add_explicit(&nc->refcnt, 1, memory_order_relaxed);
}

void nc_unref(struct netchannel *nc)
{
	if (nc == NULL)
		return;
	/* Acq_rel: every use of nc by the threads that dropped their
	 * references happens before the cleanup of the last one. */
	if (atomic_fetch_sub_explicit(&nc->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	struct nc_engine *e = nc_eng(nc);
	if (e != NULL && e->defer > 0) {
		/* still in e->chan until destroyed: the list links ids (a
		 * listener's rule_id is no longer needed: unlisten ran) */
		nc->next_free = e->deferred;
		e->deferred = nc->id;
		return;
	}
	nc_destroy(nc);
}

uint32_t nc_refcount(const struct netchannel *nc)
{
	return nc ? atomic_load_explicit(&nc->refcnt, memory_order_relaxed) : 0;
}

int nc_create(struct nc_engine *e, const struct nc_ops *ops, const void *arg,
	      struct netchannel **out)
{
	struct netchannel *nc;
	int rc;

	if (e == NULL || ops == NULL || (ops->process == NULL && ops->process_many == NULL) ||
	    out == NULL)
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	if (!id_available(e))
		return -ENOSPC;
	size_t priv = (ops->priv_size + 7) & ~(size_t)7;
	/* malloc's alignment gives priv its 8 bytes: 64-byte alignment would
	 * cost up to 56 bytes per object (millions of NAT sessions) and save
	 * a line only for private states of less than 8 bytes */
	nc = nc_mem_alloc(e, sizeof(*nc) + priv, ops->flow_key != NULL);
	if (nc == NULL)
		return -ENOMEM;
	atomic_init(&nc->refcnt, 1);
	nc->ops = ops;
	nc->rule_id = CLS_NO_MATCH;
	nc->id = id_take(e, nc);
	if (ops->init != NULL) {
		rc = ops->init(nc, arg);
		if (rc != 0) {
			/* Unregister without cleanup (init failed). */
			timer_drop(e, nc);
			id_put(e, nc->id);
			nc_mem_free(nc);
			return rc > 0 ? -rc : rc;
		}
	}
	*out = nc;
	return 0;
}

void nc_close(struct netchannel *nc)
{
	if (nc == NULL)
		return;
	struct nc_engine *e = nc_eng(nc);
	if (e != NULL && (nc->flags & NCF_TIMER))
		(void)nc_timer_cancel(e->timers, timer_of(e, nc));
	nc->flags |= NCF_CLOSED;
	nc_unref(nc);
}

const struct nc_ops *nc_ops_of(const struct netchannel *nc)
{
	return nc ? nc->ops : NULL;
}

struct nc_engine *nc_engine_of(const struct netchannel *nc)
{
	return nc ? nc_eng(nc) : NULL;
}

uint32_t nc_id(const struct netchannel *nc)
{
	return nc ? nc->id : UINT32_MAX;
}

uint64_t nc_id64(const struct netchannel *nc)
{
	if (nc == NULL)
		return UINT64_MAX;
	/* e->gen[id] changes only when nc is destroyed: safe to read from
	 * any thread that holds a reference */
	const struct nc_engine *e = nc_eng(nc);
	uint32_t gen = e != NULL ? e->gen[nc->id] : nc->det_gen;
	return (uint64_t)gen << 32 | nc->id;
}

uint64_t nc_rx_packets(const struct netchannel *nc)
{
	return nc ? nc->rx_pkts : 0;
}

struct netchannel *nc_engine_get(const struct nc_engine *e, uint32_t id)
{
	if (e == NULL || id >= e->fresh)
		return NULL;
	return chan_at(e, id);
}

struct netchannel *nc_engine_find(const struct nc_engine *e, uint64_t id64)
{
	uint32_t id = (uint32_t)id64;

	if (e == NULL || id >= e->fresh || e->gen[id] != (uint32_t)(id64 >> 32))
		return NULL;
	return chan_at(e, id);
}

int nc_read(struct netchannel *nc, void **items, unsigned max)
{
	if (nc == NULL || (items == NULL && max > 0))
		return -EINVAL;
	return nc->ops->read ? nc->ops->read(nc, items, max) : -EOPNOTSUPP;
}

int nc_write(struct netchannel *nc, void *const *items, unsigned n)
{
	if (nc == NULL || (items == NULL && n > 0))
		return -EINVAL;
	return nc->ops->write ? nc->ops->write(nc, items, n) : -EOPNOTSUPP;
}

int nc_timer_set(struct netchannel *nc, uint64_t expires_ns, uint64_t period_ns)
{
	struct nc_engine *e = nc ? nc_eng(nc) : NULL;
	struct nc_timer *t;

	if (e == NULL)
		return -EINVAL;
	t = timer_of(e, nc);
	if (t == NULL) {
		t = malloc(sizeof(*t));
		if (t == NULL)
			return -ENOMEM;
		nc_timer_init(t, NC_SRC_ENGINE, nc_id64(nc)); /* key: the id */
		if (nc_timer_index_add(&e->timer_ix, t) != 0) {
			free(t);
			return -ENOMEM;
		}
		nc->flags |= NCF_TIMER;
	}
	return nc_timer_arm(e->timers, t, expires_ns, period_ns);
}

bool nc_timer_stop(struct netchannel *nc)
{
	struct nc_engine *e = nc ? nc_eng(nc) : NULL;

	return e != NULL && (nc->flags & NCF_TIMER) && nc_timer_cancel(e->timers, timer_of(e, nc));
}

/* ---- engine ------------------------------------------------------------ */

static void flow_value_free(void *value, void *ctx)
{
	(void)ctx;
	nc_unref(flow_nc(value));
}

/* The flow table's object flows are arena netchannels (keyed flows). */

static void arena_flow_key(const void *obj, unsigned which, struct nc_flow_key *key)
{
	const struct netchannel *nc = obj;

	nc->ops->flow_key(nc, which, key);
}

static bool arena_flow_match(const void *obj, unsigned which, const struct nc_flow_key *key)
{
	const struct netchannel *nc = obj;
	struct nc_flow_key k;

	if (nc->ops->flow_match != NULL)
		return nc->ops->flow_match(nc, which, key);
	nc->ops->flow_key(nc, which, &k);
	return nc_flow_key_equal(&k, key);
}

int nc_engine_create(const struct nc_engine_config *cfg, struct nc_engine **out)
{
	static _Atomic unsigned seq;
	struct nc_engine *e;
	char name[32];
	int rc;

	if (cfg == NULL || out == NULL || cfg->flow_entries == 0 ||
	    cfg->flow_entries > (1u << 30) || cfg->max_channels == 0 ||
	    cfg->max_channels > NC_MAX_CHANNELS || (unsigned)cfg->link >= NC_LINK_COUNT)
		return -EINVAL;
	if (posix_memalign((void **)&e, 64, sizeof(*e)) != 0)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	e->deferred = NC_NO_ID;
	if (e->cfg.expire_budget == 0)
		e->cfg.expire_budget = DEFAULT_EXPIRE_BUDGET;
	e->free_head = NC_NO_ID;
	/* Zeroed and touched as ids are first used (e->fresh grows). */
	e->chan = calloc(cfg->max_channels, sizeof(*e->chan));
	e->gen = calloc(cfg->max_channels, sizeof(*e->gen));
	if (e->chan == NULL || e->gen == NULL) {
		rc = -ENOMEM;
		goto fail;
	}

	if (cfg->ring != NULL) {
		e->ring = cfg->ring;
	} else {
		struct nc_ring_config rc_cfg = {
			.size = cfg->ring_size ? cfg->ring_size : DEFAULT_RING,
			.name = "nc_engine",
		};
		rc = nc_ring_create(&rc_cfg, &e->ring);
		if (rc != 0)
			goto fail;
		e->own_ring = true;
	}
	rc = nc_timers_create(e->ring, &e->timers);
	if (rc != 0)
		goto fail;
	struct cls_config cc = {.backend = CLS_BACKEND_TRIE, .reclaim = cfg->reclaim};
	rc = cls_create(&cc, &e->cls);
	if (rc != 0)
		goto fail;
	snprintf(name, sizeof(name), "nc_engine_%u", atomic_fetch_add(&seq, 1));
	/* Netchannels of 57..64 bytes come from an arena, so that the flow
	 * table can name them by index (object flows: no QSBR there); if
	 * the address space cannot be had, an ordinary slab later. */
	if (cfg->qsbr == NULL) {
		e->arena = nc_slab_create_arena((size_t)1 << ARENA_SHIFT, e, cfg->max_channels);
		e->slab[0] = e->arena;
		e->arena_base = nc_slab_arena_base(e->arena);
		e->arena_slots = nc_slab_arena_slots(e->arena);
		if (e->arena_slots > (1u << 30))
			e->arena_slots = 1u << 30; /* max_channels <= 1 << 28 */
	}
	struct nc_flow_config fc = {
		.name = name,
		.entries = cfg->flow_entries,
		.socket_id = cfg->socket_id,
		.qsbr = cfg->qsbr,
		.free_value = flow_value_free,
		.free_ctx = e,
		/* a hit's netchannel starts loading while the rest of the
		 * burst is compared (its line is what process() waits for) */
		.flags = NC_FLOW_F_PREFETCH_VALUES,
		.objects = {
			.base = e->arena_base,
			.count = (uint32_t)e->arena_slots,
			.shift = ARENA_SHIFT,
			.key = arena_flow_key,
			.match = arena_flow_match,
		},
	};
	rc = nc_flow_create(&fc, &e->flows);
	if (rc != 0)
		goto fail;
	*out = e;
	return 0;
fail:
	nc_engine_free(e);
	return rc;
}

void nc_engine_free(struct nc_engine *e)
{
	if (e == NULL)
		return;
	e->closing = true;
	for (uint32_t i = 0; i < e->fresh; i++) {
		struct netchannel *nc = chan_at(e, i);
		if (nc != NULL && (nc->flags & NCF_LISTENER) && nc_engine_unlisten(e, nc) != 0)
			nc_close(nc); /* rule already gone: still drop the reference */
	}
	nc_defer_begin(e);
	nc_flow_free(e->flows); /* drops the table's references */
	e->flows = NULL;
	nc_defer_end(e);
	/* Whatever is still alive is referenced elsewhere: detach it.  The
	 * union's rule_id and next_free are done with (listeners unlistened,
	 * nothing deferred): it keeps the generation for nc_id64(). */
	for (uint32_t i = 0; i < e->fresh; i++) {
		struct netchannel *nc = chan_at(e, i);
		if (nc != NULL) {
			timer_drop(e, nc);
			nc->det_gen = e->gen[i];
			nc_mem_detach(nc);
		}
	}
	for (unsigned i = 0; i < NC_ENGINE_SLABS; i++)
		nc_slab_orphan(e->slab[i]); /* detached ones keep their memory */
	nc_timer_index_fini(&e->timer_ix); /* empty: every timer was dropped */
	nc_timers_free(e->timers);
	cls_free(e->cls);
	for (unsigned z = 0; z < NC_ENGINE_ZONES; z++)
		cls_free(e->zcls[z]);
	if (e->own_ring)
		nc_ring_free(e->ring);
	free(e->chan);
	free(e->gen);
	free(e);
}

uint64_t nc_engine_now(const struct nc_engine *e)
{
	return e ? e->now : 0;
}

struct nc_ring *nc_engine_ring(const struct nc_engine *e)
{
	return e ? e->ring : NULL;
}

const struct cls *nc_engine_classifier(const struct nc_engine *e)
{
	return e ? e->cls : NULL;
}

struct nc_flow *nc_engine_flows(const struct nc_engine *e)
{
	return e ? e->flows : NULL;
}

void nc_engine_stats(const struct nc_engine *e, struct nc_engine_stats *st)
{
	if (e == NULL || st == NULL)
		return;
	*st = e->st;
	st->channels = e->live;
	st->flows = e->flows ? nc_flow_count(e->flows) : 0;
	st->keyed_flows = e->flows ? nc_flow_object_count(e->flows) : 0;
	st->object_bytes = 0;
	for (unsigned i = 0; i < NC_ENGINE_SLABS; i++)
		st->object_bytes += nc_slab_bytes(e->slab[i]);
}

void nc_pkt_drop(struct nc_engine *e, struct nc_pkt *pkt)
{
	if (e != NULL)
		e->st.dropped++;
	if (pkt != NULL && (pkt->flags & NC_PKT_MBUF) && pkt->mbuf != NULL) {
		nc_mbuf_free(pkt->mbuf);
		pkt->mbuf = NULL;
	}
}

/* ---- listeners and flows ----------------------------------------------- */

/* The classifier of a zone's listeners; created on first use if create. */
static struct cls *zone_cls(struct nc_engine *e, uint16_t zone, bool create)
{
	if (zone == NC_ZONE_ANY)
		return e->cls;
	if (zone >= NC_ENGINE_ZONES)
		return NULL;
	if (e->zcls[zone] == NULL && create) {
		struct cls_config cc = {.backend = CLS_BACKEND_TRIE, .reclaim = e->cfg.reclaim};

		if (cls_create(&cc, &e->zcls[zone]) != 0)
			return NULL;
	}
	return e->zcls[zone];
}

int nc_engine_listen_zone(struct nc_engine *e, uint16_t zone, const struct cls_rule *rule,
			  const struct nc_ops *ops, const void *arg, struct netchannel **out)
{
	struct netchannel *nc;
	struct cls_rule r;
	struct cls *c;
	int rc;

	if (e == NULL || rule == NULL || ops == NULL || ops->accept == NULL || out == NULL ||
	    (zone != NC_ZONE_ANY && zone >= NC_ENGINE_ZONES))
		return -EINVAL;
	rc = cls_rule_check(rule, NULL);
	if (rc != 0)
		return rc;
	c = zone_cls(e, zone, true);
	if (c == NULL)
		return -ENOMEM;
	rc = nc_create(e, ops, arg, &nc);
	if (rc != 0)
		return rc;
	r = *rule;
	r.udata = nc;
	rc = cls_insert(c, &r);
	if (rc != 0) {
		nc_unref(nc);
		return rc;
	}
	(void)cls_publish(c);
	nc->flags |= NCF_LISTENER;
	nc->rule_id = rule->id;
	nc->zone = zone;
	*out = nc;
	return 0;
}

int nc_engine_listen(struct nc_engine *e, const struct cls_rule *rule, const struct nc_ops *ops,
		     const void *arg, struct netchannel **out)
{
	return nc_engine_listen_zone(e, NC_ZONE_ANY, rule, ops, arg, out);
}

int nc_engine_unlisten(struct nc_engine *e, struct netchannel *listener)
{
	if (e == NULL || listener == NULL || nc_eng(listener) != e ||
	    !(listener->flags & NCF_LISTENER))
		return -EINVAL;
	struct cls *c = zone_cls(e, listener->zone, false);
	int rc = c != NULL ? cls_delete(c, listener->rule_id) : -ENOENT;
	if (rc != 0)
		return rc;
	(void)cls_publish(c);
	/* With a reclaim hook, lookups elsewhere may still return the rule
	 * until the grace period ends; the engine's own lookups run here. */
	listener->flags &= ~NCF_LISTENER;
	nc_close(listener);
	return 0;
}

int nc_engine_add_flow(struct nc_engine *e, const struct nc_flow_key *key, struct netchannel *nc,
		       uint64_t now, uint64_t idle_timeout)
{
	if (e == NULL || key == NULL || nc == NULL || nc_eng(nc) != e)
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	nc_ref(nc); /* the table's reference */
	nc_defer_begin(e);
	int rc = nc_flow_add(e->flows, key, flow_value(nc), now, idle_timeout);
	if (rc != 0)
		nc_unref(nc);
	nc_defer_end(e);
	return rc;
}

int nc_engine_add_keyed_flow(struct nc_engine *e, struct netchannel *nc, unsigned which,
			     uint64_t now)
{
	struct nc_flow_key key;
	int rc = -EOPNOTSUPP;

	if (e == NULL || nc == NULL || nc_eng(nc) != e || which > 1 || nc->ops->flow_key == NULL)
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	nc_ref(nc); /* the table's reference */
	nc_defer_begin(e);
	if (e->arena_base != NULL && (char *)nc >= e->arena_base &&
	    (char *)nc < e->arena_base + (e->arena_slots << ARENA_SHIFT))
		rc = nc_flow_add_object(e->flows,
					(uint32_t)(((char *)nc - e->arena_base) >> ARENA_SHIFT),
					which);
	if (rc == -EOPNOTSUPP) {
		nc->ops->flow_key(nc, which, &key);
		rc = nc_flow_add(e->flows, &key, flow_value(nc), now, UINT64_MAX);
	}
	if (rc != 0)
		nc_unref(nc);
	nc_defer_end(e);
	return rc;
}

int nc_engine_del_flow(struct nc_engine *e, const struct nc_flow_key *key)
{
	if (e == NULL || key == NULL)
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	/* The reference goes through flow_value_free after the grace period. */
	nc_defer_begin(e);
	int rc = nc_flow_delete(e->flows, key, NULL);
	nc_defer_end(e);
	return rc;
}

/* ---- housekeeping ------------------------------------------------------ */

int nc_engine_dispatch(struct nc_engine *e, const struct nc_event *ev, uint64_t now)
{
	if (e == NULL || ev == NULL)
		return -EINVAL;
	if (ev->kind != NC_EV_TIMER || ev->source != NC_SRC_ENGINE)
		return 0;
	struct netchannel *nc = nc_engine_find(e, ev->udata);
	if (nc == NULL || (nc->flags & NCF_CLOSED)) {
		e->st.stale_timer_events++;
		return 0;
	}
	e->st.timer_events++;
	if (nc->ops->timeout != NULL) {
		/* The callback may close the netchannel: hold it meanwhile. */
		nc_defer_begin(e);
		nc->ops->timeout(nc, now);
		nc_defer_end(e);
	}
	return 1;
}

int nc_engine_poll(struct nc_engine *e, uint64_t now)
{
	struct nc_event ev[32];
	int done = 0, n;

	if (e == NULL)
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	e->now = now;
	if (nc_timers_poll(e->timers, now) < 0)
		return -EINVAL;
	if (e->own_ring) {
		while ((n = nc_ring_consume(e->ring, ev, 32)) > 0)
			for (int i = 0; i < n; i++)
				done += nc_engine_dispatch(e, &ev[i], now) == 1;
	}
	nc_defer_begin(e);
	n = nc_flow_expire(e->flows, now, e->cfg.expire_budget, NULL, NULL);
	nc_defer_end(e);
	if (n > 0) {
		e->st.expired_flows += (uint64_t)n;
		done += n;
	}
	return done;
}

/* ---- built-in type: packets to a completion ring ----------------------- */

struct ring_ops_priv {
	struct nc_ring *ring;
};

static int ring_ops_init(struct netchannel *nc, const void *arg)
{
	const struct nc_ring_ops_arg *a = arg;
	struct ring_ops_priv *p = (struct ring_ops_priv *)nc->priv;

	p->ring = a ? a->ring : NULL; /* NULL: the engine's, set on first use */
	return 0;
}

static void ring_ops_process(struct netchannel *nc, struct nc_pkt *const pkts[], unsigned n)
{
	struct ring_ops_priv *p = (struct ring_ops_priv *)nc->priv;
	struct nc_event ev[NC_BURST_MAX];
	uint64_t id64;

	if (n == 0 || n > NC_BURST_MAX)
		return;
	if (p->ring == NULL)
		p->ring = nc_eng(nc)->ring;
	id64 = nc_id64(nc); /* the generation is the engine's: read it once */
	memset(ev, 0, n * sizeof(ev[0])); /* (silences a false -Wmaybe-uninitialized) */
	for (unsigned i = 0; i < n; i++) {
		const struct nc_pkt *k = pkts[i];
		ev[i] = (struct nc_event){
			.source = NC_SRC_NONE,
			.kind = NC_EV_PACKET,
			.flags = i + 1 < n ? NC_EV_NOWAKE : 0,
			.data = k->len,
			.udata = (uint64_t)(uintptr_t)k->mbuf,
			.aux = {id64,
				k->in_port | (uint64_t)k->key.family << 16 |
					(uint64_t)k->key.proto << 24,
				(uint64_t)k->key.sport << 16 | k->key.dport},
		};
	}
	/* The burst wakes one waiter even if only part of it fits (the ring
	 * looks at the flags of every event given). */
	int q = nc_ring_post_burst(p->ring, ev, n);
	if (q < 0)
		q = 0;
	for (unsigned i = (unsigned)q; i < n; i++)
		nc_pkt_drop(nc_eng(nc), pkts[i]);
}

const struct nc_ops nc_ring_ops = {
	.name = "ring",
	.priv_size = sizeof(struct ring_ops_priv),
	.init = ring_ops_init,
	.process = ring_ops_process,
};
