/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NETCHANNEL_H
#define NETCHANNEL_NETCHANNEL_H

/*
 * netchannel — protocol objects fed by a flow table and a classifier
 * ==================================================================
 *
 * What
 * ----
 * A netchannel is an object with a type (struct nc_ops), private state, a
 * reference count and a timer.  Protocol handlers (a NAT session, a capture
 * writer, a user handler) are netchannel types.  An engine (struct
 * nc_engine) owns the lookup structures that route packets to netchannels:
 *
 *   packets -> nc_parse -> flow table (exact key -> established netchannel)
 *                             | miss
 *                             v
 *                          classifier (wildcard rule -> listener netchannel)
 *                             -> listener's ops->accept(): may create an
 *                                exact netchannel and insert its key above
 *                             v
 *   ops->process(netchannel, packets of that netchannel in arrival order)
 *
 * A burst is parsed, looked up in the flow table in bulk, the misses looked
 * up in the classifier in bulk, and every netchannel gets one process() call
 * with its packets (order kept within a netchannel), or, for types with
 * ops->process_many, every type one call with its netchannels' packets.  Packets of a new flow
 * that arrive in the same burst find the netchannel the first one's
 * accept() inserted.
 *
 * Packets
 * -------
 * The engine takes packets as plain buffers (nc_engine_rx) or as mbufs
 * (nc_engine_rx_mbufs, in nc_mbuf.c).  Each is described by a struct nc_pkt
 * that lives in the engine's burst scratch: valid only during the
 * process()/accept() call.  process() owns the packet: it forwards it (e.g.
 * the NAT rewrites and transmits the mbuf), keeps it (copy pkt->mbuf), or
 * drops it with nc_pkt_drop().  Packets nobody takes (no key, no matching
 * listener, accept() returned NULL) are given to cfg.unclaimed if set, else
 * dropped and counted.
 *
 * Delivery to a handler elsewhere: the built-in type nc_ring_ops (see
 * nc_ring_ops_arg) posts one NC_EV_PACKET event per packet to a completion
 * ring (ncring.h) for a handler thread or process; events carry the
 * netchannel's id and the packet (mbuf) pointer.
 *
 * Reference counts
 * ----------------
 * nc_create() returns a netchannel holding one reference (the creator's).
 * The flow table holds one per key inserted (nc_engine_add_flow; one
 * netchannel may serve several keys, e.g. both directions of a NAT
 * session, and process() tells them apart by pkt->key); it is
 * dropped after the readers' grace period when the key is removed (delete,
 * idle expiry) or at nc_engine_free().  A listener's creation reference is
 * held by the engine until nc_engine_unlisten().  ops->cleanup() runs when
 * the last reference goes, then the memory is freed.  nc_ref()/nc_unref()
 * are atomic and may be called from any thread.  A last reference dropped
 * during a burst, a timeout() call or a flow-table call is destroyed when
 * that call ends, so packets later in the burst never see freed memory and
 * cleanup() may itself call engine functions (e.g. remove the partner
 * direction's key), except during nc_engine_free().
 *
 * Timers
 * ------
 * Every netchannel has one timer (nc_timer_set; its memory is taken by the
 * first call and kept by the engine, found by id, so netchannels that never
 * arm one do not pay for it).  The engine's timer set posts an NC_EV_TIMER
 * event to the engine's completion ring at expiry (ncring.h, nc_timer.h)
 * whose udata is the netchannel's id; the engine
 * thread's nc_engine_poll() polls the timers, drains timer events and calls
 * ops->timeout() of the netchannels still alive (an id of a freed netchannel
 * is ignored).  A timer holds no reference: nc_close() cancels it.
 * Idle expiry of flow entries is the flow table's (nc_flow_expire), driven by
 * nc_engine_poll() too.
 *
 * Thread safety
 * -------------
 * An engine belongs to one thread (typically a polling lcore): every
 * nc_engine_* call and every nc_* call that changes an engine (create,
 * close, listen, flows, timers) from that thread only.  ops callbacks run on
 * it.  nc_ref, nc_unref, nc_read, nc_write and the accessors are
 * thread-safe (read/write as far as the type's ops are).  When flow-table
 * lookups also run elsewhere, pass the readers' QSBR variable in cfg.qsbr.
 *
 * Errors: 0 or -errno; calls that can fail are warn_unused_result.  Times
 * are nanoseconds (CLOCK_MONOTONIC, nc_ring_now_ns()) unless said otherwise.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "nc_flow.h"
#include "nc_parse.h"
#include "ncring.h"

#ifdef __cplusplus
extern "C" {
#endif

struct netchannel;
struct nc_engine;
struct rte_mbuf;
struct rte_rcu_qsbr;

/** Source id of the engine's timer events (nc_event.source). */
#define NC_SRC_ENGINE (UINT32_MAX - 1)

/** Zones (in_port values) that can have listeners of their own. */
#define NC_ENGINE_ZONES 8
/** nc_engine_listen_zone(): a listener for packets of every zone. */
#define NC_ZONE_ANY 0xffff

/** Largest burst handed to process(); larger rx calls are split. */
#define NC_BURST_MAX 64

/** nc_pkt.flags */
#define NC_PKT_MBUF 0x1u /**< pkt->mbuf is a struct rte_mbuf * (freed on drop) */

/** One packet of a burst (engine scratch: valid during the callback). */
struct nc_pkt {
	const uint8_t *data;       /**< first byte (link header) */
	uint32_t len;              /**< bytes at data */
	uint16_t in_port;          /**< receiving port; the flow key's zone */
	uint16_t flags;            /**< NC_PKT_* */
	void *mbuf;                /**< rte_mbuf (NC_PKT_MBUF) or the caller's cookie */
	struct nc_flow_key key;    /**< exact key (zeroed when the packet has none) */
	struct nc_pkt_info info;   /**< parser verdict and offsets */
};

/** A netchannel type.  Every callback is optional unless said otherwise. */
struct nc_ops {
	const char *name;   /**< for counters and logs */
	size_t priv_size;   /**< bytes of private state (nc_priv()), zeroed */
	/** After allocation, before the netchannel is visible; arg is
	 *  nc_create()'s.  A non-zero return fails nc_create() with it. */
	int (*init)(struct netchannel *nc, const void *arg);
	/** The last reference went; free what init() took. */
	void (*cleanup)(struct netchannel *nc);
	/** Listener only: pkt missed the flow table and matched this
	 *  listener's rule.  Return the netchannel that processes it: an exact
	 *  one created and inserted here (nc_create + nc_engine_add_flow; the
	 *  creator's reference may then be handed over with nc_unref()), the
	 *  listener itself, or NULL to leave the packet unclaimed. */
	struct netchannel *(*accept)(struct netchannel *listener, struct nc_pkt *pkt);
	/** Required unless process_many is set: a burst of this netchannel's
	 *  packets (1..NC_BURST_MAX), in arrival order.  Takes ownership of
	 *  every packet. */
	void (*process)(struct netchannel *nc, struct nc_pkt *const pkts[], unsigned n);
	/** Optional: used instead of process() when set.  The packets of a
	 *  burst (1..NC_BURST_MAX) whose netchannels are of this type, in
	 *  arrival order, each with its netchannel: pkts[i] is ncs[i]'s, and
	 *  one netchannel's packets keep their order.  One call per burst
	 *  instead of one per netchannel, for types whose netchannels mostly
	 *  get one packet a burst (a NAT session): no grouping, one indirect
	 *  call.  Same ownership and calling rules as process(). */
	void (*process_many)(struct netchannel *const ncs[], struct nc_pkt *const pkts[],
			     unsigned n);
	/** User side: take up to max items (packets, records) queued by the
	 *  netchannel.  @return the number taken or -errno. */
	int (*read)(struct netchannel *nc, void **items, unsigned max);
	/** User side: give n items (packets to send) to the netchannel.
	 *  @return the number accepted or -errno. */
	int (*write)(struct netchannel *nc, void *const *items, unsigned n);
	/** The netchannel's timer expired (now: time of the poll). */
	void (*timeout)(struct netchannel *nc, uint64_t now);
	/** Keyed netchannels (nc_engine_add_keyed_flow): the flow key number
	 *  which (0 or 1), made from the netchannel's own state, which must
	 *  not change while that key is in the flow table.  Called from
	 *  lookups on the engine's thread; must not call into the engine. */
	void (*flow_key)(const struct netchannel *nc, unsigned which, struct nc_flow_key *key);
	/** Optional, with flow_key: is key number which equal to key
	 *  (nc_flow_key_equal)?  Must answer exactly as building
	 *  flow_key(nc, which) and comparing would.  A lookup that meets the
	 *  netchannel in a bucket then compares without building its key.
	 *  Same calling rules as flow_key. */
	bool (*flow_match)(const struct netchannel *nc, unsigned which,
			   const struct nc_flow_key *key);
};

struct nc_engine_config {
	uint32_t flow_entries;   /**< flow table capacity (1 .. 1<<30) */
	uint32_t max_channels;   /**< live netchannels at once (ids), 1 .. 1<<28;
				      12 bytes each are allocated (zeroed) up
				      front, touched as ids come into use */
	enum nc_link link;       /**< framing of received buffers */
	int socket_id;           /**< NUMA socket for the flow table; -1 any */
	/** Completion ring for timer events (and nc_ring_ops); NULL: the
	 *  engine creates a private one of ring_size slots. */
	struct nc_ring *ring;
	uint32_t ring_size;      /**< private ring size (power of two); 0: 1024 */
	/** Flow-table readers' QSBR variable (NULL: lookups only here). */
	struct rte_rcu_qsbr *qsbr;
	/** Classifier reclamation hook (NULL: lookups only here). */
	const struct cls_reclaim *reclaim;
	/** Unclaimed packets (no key, no listener, accept() said NULL); NULL:
	 *  dropped.  Takes ownership. */
	void (*unclaimed)(void *ctx, struct nc_pkt *const pkts[], unsigned n);
	void *ctx;
	/** Flow-table slots visited per nc_engine_poll() (0: 1024). */
	uint32_t expire_budget;
};

/** Per-engine counters (engine thread writes; others read approximately). */
struct nc_engine_stats {
	uint64_t rx;             /**< packets given to rx */
	uint64_t flow_hits;      /**< found in the flow table */
	uint64_t flow_misses;
	uint64_t listener_hits;  /**< misses that matched a listener rule */
	uint64_t accepted;       /**< accept() returned a netchannel */
	uint64_t no_key;         /**< parser found no L3 key */
	uint64_t no_listener;    /**< miss and no rule */
	uint64_t refused;        /**< accept() returned NULL */
	uint64_t unclaimed;      /**< the three above, handed to cfg.unclaimed or dropped */
	uint64_t dropped;        /**< nc_pkt_drop() and unclaimed without a handler */
	uint64_t process_calls;  /**< process() and process_many() invocations */
	uint64_t timer_events;   /**< timeout() calls */
	uint64_t stale_timer_events; /**< timer events of netchannels already gone */
	uint64_t expired_flows;  /**< keys removed by idle expiry */
	uint32_t channels;       /**< live netchannels */
	uint32_t flows;          /**< keys in the flow table */
	uint32_t keyed_flows;    /**< of those, kept in their netchannels
				      (nc_engine_add_keyed_flow) */
	uint64_t object_bytes;   /**< memory the engine holds for netchannel
				      objects (its slabs' 2 MiB chunks; objects
				      of other sizes are malloc'd, not counted) */
};

/* ---- engine life cycle (engine thread) ------------------------------ */

/**
 * Create an engine: a flow table (needs a running EAL), a classifier, a
 * timer set and, unless cfg.ring is given, a private completion ring.
 * @return 0; -EINVAL (NULL args, zero or too large sizes, bad link);
 *   -ENOMEM; errors of nc_flow_create / cls_create / nc_ring_create.
 */
int nc_engine_create(const struct nc_engine_config *cfg, struct nc_engine **out) NC_MUST_CHECK;

/**
 * Free the engine: listeners are closed, the flow table is freed (dropping
 * its references), timers are forgotten.  Netchannels whose references are
 * still held elsewhere are detached (their nc_unref() no longer touches the
 * engine); their owners should close them first.  ops->cleanup() called from
 * here must not call engine functions (they return -ESHUTDOWN).  NULL is a
 * no-op.
 */
void nc_engine_free(struct nc_engine *e);

/**
 * Process a burst of plain buffers received on in_port: bufs[i] of lens[i]
 * bytes, cookies[i] (may be NULL) stored in nc_pkt.mbuf.  now: timestamp for
 * the flow table's last-seen (ns).
 * @return the number of packets handed to a netchannel; -EINVAL.
 */
int nc_engine_rx(struct nc_engine *e, const uint8_t *const bufs[], const uint32_t lens[],
		 void *const cookies[], unsigned n, uint16_t in_port, uint64_t now) NC_MUST_CHECK;

/**
 * Process a burst of mbufs (single-segment: the first segment is parsed)
 * received on in_port; nc_pkt.flags has NC_PKT_MBUF, drops free the mbuf.
 * @return as nc_engine_rx().  (nc_mbuf.c)
 */
int nc_engine_rx_mbufs(struct nc_engine *e, struct rte_mbuf *const mbufs[], unsigned n,
		       uint16_t in_port, uint64_t now) NC_MUST_CHECK;

/**
 * Housekeeping on the engine thread: poll timers (events go to the ring),
 * drain timer events from the ring if it is the engine's private ring (else
 * the ring's consumer calls nc_engine_dispatch()), and run one step of
 * idle-flow expiry.
 * @return timeout() calls made plus flows expired (>= 0); -EINVAL.
 */
int nc_engine_poll(struct nc_engine *e, uint64_t now) NC_MUST_CHECK;

/**
 * Handle one event taken from the engine's ring by the engine thread: a
 * timer event calls timeout() of its netchannel if it is still alive.
 * @return 1 handled, 0 not an engine event (or a stale one); -EINVAL.
 */
int nc_engine_dispatch(struct nc_engine *e, const struct nc_event *ev, uint64_t now) NC_MUST_CHECK;

/** The now given to the rx or poll call running (or last run): the time
 *  accept() and process() should use (e.g. for nc_engine_add_flow). */
uint64_t nc_engine_now(const struct nc_engine *e);
/** The completion ring the engine posts to. */
struct nc_ring *nc_engine_ring(const struct nc_engine *e);
/** The classifier (rules added with nc_engine_listen; read-only use). */
const struct cls *nc_engine_classifier(const struct nc_engine *e);
/** The flow table (lookups from other threads need cfg.qsbr).  Its values
 *  are the netchannels with bit 0 used by the engine (a prefetch hint):
 *  nc_engine_flow_nc() gives the netchannel of a value. */
struct nc_flow *nc_engine_flows(const struct nc_engine *e);
/** The netchannel of a value found in nc_engine_flows(). */
static inline struct netchannel *nc_engine_flow_nc(void *value)
{
	return (struct netchannel *)((uintptr_t)value & ~(uintptr_t)1);
}
/** Fill *st (any thread; values may be slightly stale). */
void nc_engine_stats(const struct nc_engine *e, struct nc_engine_stats *st);
/** Give a packet up: counted, and its mbuf freed (NC_PKT_MBUF). */
void nc_pkt_drop(struct nc_engine *e, struct nc_pkt *pkt);

/* ---- netchannels (engine thread unless said otherwise) -------------- */

/**
 * Create a netchannel of type ops (ops must outlive it; process or
 * process_many required), run ops->init(nc, arg), and return it holding
 * one reference.
 * @return 0; -EINVAL (NULL args, neither process nor process_many);
 *   -ENOSPC (max_channels live); -ENOMEM; init()'s error.
 */
int nc_create(struct nc_engine *e, const struct nc_ops *ops, const void *arg,
	      struct netchannel **out) NC_MUST_CHECK;

/**
 * Close: cancel the timer, stop timeout() callbacks (also for events
 * already queued) and drop the caller's reference.  To keep a netchannel
 * alive through the flow table only, drop the creator's reference with
 * nc_unref() instead.  Keys in the flow
 * table keep their references until removed (nc_engine_del_flow).  Use
 * nc_engine_unlisten() for a listener.
 */
void nc_close(struct netchannel *nc);

/** Take a reference.  Any thread. */
void nc_ref(struct netchannel *nc);
/** Drop a reference; the last one runs cleanup() and frees.  Any thread,
 *  but the last reference of a netchannel whose engine is alive must be
 *  dropped on the engine thread (the flow table and timers do so). */
void nc_unref(struct netchannel *nc);
/** Current reference count (for tests and diagnostics).  Any thread. */
uint32_t nc_refcount(const struct netchannel *nc);

/** Bytes of a netchannel's header: its private state follows it. */
#define NC_HEADER_BYTES 32

/** Private state (ops->priv_size bytes, 8-byte aligned), NULL for NULL.
 *  Inline: a packet's process() usually starts here.  Any thread. */
static inline void *nc_priv(struct netchannel *nc)
{
	return nc ? (void *)((uintptr_t)nc + NC_HEADER_BYTES) : NULL;
}
/** Type, engine and id (unique among live netchannels; ids are reused,
 *  nc_id64 adds a generation that makes a stale one recognisable). */
const struct nc_ops *nc_ops_of(const struct netchannel *nc);
struct nc_engine *nc_engine_of(const struct netchannel *nc);

uint32_t nc_id(const struct netchannel *nc);
uint64_t nc_id64(const struct netchannel *nc);
/** The live netchannel with this 64-bit id, or NULL.  Engine thread. */
struct netchannel *nc_engine_find(const struct nc_engine *e, uint64_t id64);
/** The netchannel with index id (nc_id()) now, or NULL if the index is free
 *  or was never used: no generation check, for a caller that holds a
 *  reference (its own or a flow key's) and keeps 32-bit ids (ncnat's
 *  session records).  Engine thread. */
struct netchannel *nc_engine_get(const struct nc_engine *e, uint32_t id);

/** Per-netchannel counters kept by the engine. */
uint64_t nc_rx_packets(const struct netchannel *nc);

/**
 * User side: ops->read / ops->write.  Any thread if the type allows it.
 * @return count or -errno; -EOPNOTSUPP if the type has no such op;
 *   -EINVAL.
 */
int nc_read(struct netchannel *nc, void **items, unsigned max) NC_MUST_CHECK;
int nc_write(struct netchannel *nc, void *const *items, unsigned n) NC_MUST_CHECK;

/**
 * Arm the netchannel's timer to fire at expires_ns (and every period_ns
 * after if period_ns > 0); re-arming moves it; nc_timer_stop() disarms.
 * @return 0; -EINVAL; -ENOMEM.
 */
int nc_timer_set(struct netchannel *nc, uint64_t expires_ns, uint64_t period_ns) NC_MUST_CHECK;
/** Disarm; true if it was armed. */
bool nc_timer_stop(struct netchannel *nc);

/* ---- listeners and flows (engine thread) ---------------------------- */

/**
 * Create a listener: a netchannel of type ops (accept required) and a
 * classifier rule (rule->udata is overwritten with the listener), published
 * at once.  Packets that miss the flow table and match the rule (highest
 * priority wins) are given to ops->accept.
 * @return 0 and *out (the engine holds the reference); -EINVAL (bad rule,
 *   no accept); -EEXIST (rule id in use); -ENOMEM; errors of nc_create.
 */
int nc_engine_listen(struct nc_engine *e, const struct cls_rule *rule, const struct nc_ops *ops,
		     const void *arg, struct netchannel **out) NC_MUST_CHECK;

/**
 * As nc_engine_listen(), for the packets of one zone only (received with
 * in_port == zone, zone < NC_ENGINE_ZONES), e.g. the inside and the outside
 * port of a NAT, whose rules overlap.  A miss is looked up in the zone's
 * listeners first; only if none matches in the listeners of every zone
 * (nc_engine_listen, zone NC_ZONE_ANY).  Rule ids are per zone.
 * @return as nc_engine_listen(); -EINVAL also for a zone >= NC_ENGINE_ZONES
 *   other than NC_ZONE_ANY.
 */
int nc_engine_listen_zone(struct nc_engine *e, uint16_t zone, const struct cls_rule *rule,
			  const struct nc_ops *ops, const void *arg,
			  struct netchannel **out) NC_MUST_CHECK;

/**
 * Remove a listener's rule (published at once) and drop the engine's
 * reference.  Netchannels it created live on.
 * @return 0; -EINVAL (NULL, not a listener of e); -ENOENT.
 */
int nc_engine_unlisten(struct nc_engine *e, struct netchannel *listener) NC_MUST_CHECK;

/**
 * Insert key -> nc in the flow table with an idle timeout (ns; UINT64_MAX:
 * never idle); takes a reference on nc for the table.
 * @return 0; -EEXIST; -ENOSPC; -EINVAL.
 */
int nc_engine_add_flow(struct nc_engine *e, const struct nc_flow_key *key, struct netchannel *nc,
		       uint64_t now, uint64_t idle_timeout) NC_MUST_CHECK;

/**
 * Insert nc's own key number which (ops->flow_key(nc, which)) -> nc in the
 * flow table, never idle; takes a reference on nc for the table, like
 * nc_engine_add_flow() with that key.  The difference is memory and speed:
 * a netchannel whose ops have flow_key and whose header and priv take at
 * most 64 bytes (priv_size <= 32) is allocated from the engine's arena,
 * and its key is then kept only in it — the table's slot names the
 * netchannel, and a lookup compares with ops->flow_match() (or a key built
 * by ops->flow_key()) on the line the packet's process() reads anyway (no 32-byte entry, one cache miss less
 * per packet).  Other netchannels, and engines with cfg.qsbr, get an
 * ordinary entry.  Remove with nc_engine_del_flow().
 * @return 0; -EEXIST; -ENOSPC; -ESHUTDOWN (the engine is being freed);
 *   -EINVAL (NULL, nc not of e, which > 1, no ops->flow_key).
 */
int nc_engine_add_keyed_flow(struct nc_engine *e, struct netchannel *nc, unsigned which,
			     uint64_t now) NC_MUST_CHECK;

/**
 * Remove key; the table's reference is dropped after the grace period.
 * @return 0; -ENOENT; -EINVAL.
 */
int nc_engine_del_flow(struct nc_engine *e, const struct nc_flow_key *key) NC_MUST_CHECK;

/* ---- built-in type: deliver packets through a completion ring ------- */

/**
 * nc_ring_ops: process() posts one event per packet to the ring given as
 * nc_create()'s arg (struct nc_ring_ops_arg; the engine's ring if NULL):
 *   kind NC_EV_PACKET, source NC_SRC_NONE, udata = nc_pkt.mbuf (the mbuf or
 *   cookie; ownership passes to the consumer), data = packet length,
 *   aux[0] = nc_id64(nc), aux[1] = in_port | (family << 16) | (proto << 24),
 *   aux[2] = (sport << 16) | dport.
 * A packet whose event does not fit (the ring's overflow counter says how
 * many) is dropped with nc_pkt_drop().  Events carry flags (NC_EV_NOWAKE on
 * all but the last of a burst, so one wake per burst).
 */
struct nc_ring_ops_arg {
	struct nc_ring *ring;
};
extern const struct nc_ops nc_ring_ops;

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_NETCHANNEL_H */
