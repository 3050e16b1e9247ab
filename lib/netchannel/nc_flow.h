/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NC_FLOW_H
#define NETCHANNEL_NC_FLOW_H

/*
 * lib/netchannel flow table — exact key -> netchannel, lock-free lookups
 * =====================================================================
 *
 * What
 * ----
 * A hash table from an exact flow key (zone, family, protocol, addresses,
 * ports) to a caller's pointer (the netchannel), with a last-seen timestamp
 * and an idle timeout per entry, expiry in bounded steps, and single and
 * bulk lookups that take no lock.  Sized for tens of millions of entries.
 *
 * Design
 * ------
 * A bucketised hash table of our own (flow.c): 64-byte buckets of ten
 * {16-bit signature, entry index} slots (compared with SIMD), chained to
 * overflow buckets when full, and entries that hold the key, the value, the
 * last-seen time and the timeout together.  A lookup therefore costs one
 * bucket line and one entry line, and gets value and timestamp with the key;
 * the bulk lookup hashes the burst, prefetches all buckets, then all
 * candidate entries, so that the misses overlap.
 *
 * Two entry layouts share 64-byte lines: a compact 32-byte entry (two per
 * line) for IPv4 keys, with the key packed into 16 bytes and last_seen and
 * timeout in 32 bits each, and a wide 64-byte entry with 64-bit times for
 * IPv6 keys and for IPv4 keys whose times do not fit (see Time).  Entry
 * memory is taken in segments of up to 1 MiB as the table fills, so it
 * follows the entries in use.  There are ceil(capacity / 6) buckets.
 * Memory at 10 M IPv4 keys, all in: 46 B/key (ncbench flow), against 99
 * B/key for the former all-64-byte layout; IPv6 keys take about 64 + 13 B.
 * Object flows (below: the key kept in the caller's object) take only
 * their bucket slot, about 13 B/key: ncnat's sessions, 27 B per session of
 * two keys (was 91 B with entries).
 *
 * Why not rte_hash: it was the first backend (rte_hash in lock-free mode,
 * its data pointing at a slot with value and timestamps); the slot cost a
 * third cache miss per lookup and it ran at 0.55-0.69x bare rte_hash.  This
 * table runs faster than bare rte_hash on the same keys with well under
 * half its memory (ncbench flow; 4 KiB pages, shared 2-vCPU EPYC VM).
 *
 * Readers touch the entry on a hit: last_seen only moves forward, and a
 * store happens only when it changes, so a steady flow in coarse time units
 * costs no store (and an entry that never idles out, none at all).  Expiry walks the entry array with a cursor, `budget`
 * entries per call, so its cost per call is bounded whatever the table holds.
 *
 * Keys
 * ----
 * Build keys with nc_flow_key_from_pkt() or nc_flow_key_set(): they zero
 * the padding (neither hashed nor compared, but keep it zero) and the unused
 * part of an IPv4 address (which is).  Addresses and ports are in host byte
 * order as in classify.h (IPv4 address in src.v4, the rest of the union 0).
 * nc_flow_key_reverse() gives the key of the opposite direction.
 *
 * Time
 * ----
 * Timestamps and timeouts are in the caller's unit (seconds, TSC cycles...);
 * the table only compares them.  An entry is idle once
 * now - last_seen >= timeout.  An entry that never idles out (timeout
 * UINT64_MAX) is not touched by lookups: its last_seen stays the time it
 * was added (or given a finite timeout, see nc_flow_set_timeout()), and a
 * hit writes nothing to its line.
 *
 * Compact entries keep both in 32 bits, exactly, for clocks that stay below
 * 2^32 units: seconds (since the epoch: until 2106) or milliseconds from the
 * start (49.7 days).  An IPv4 key is stored compact when it is added with
 * now < 2^32 and a timeout < 2^32 - 1 or UINT64_MAX; otherwise, and always
 * with NC_FLOW_F_WIDE, it gets a wide entry with 64-bit times, so a clock in
 * nanoseconds or TSC cycles since boot gets wide entries by itself.  Limits
 * of a compact entry after its add: a later timestamp >= 2^32 is stored as
 * 2^32 - 1 (the entry then goes idle timeout units after that point however
 * often it is used), and nc_flow_set_timeout() with a timeout >= 2^32 - 1
 * makes it never idle (reported as UINT64_MAX).  A caller whose clock may
 * start near 0 in a fine unit should create the table with NC_FLOW_F_WIDE.
 *
 * Thread safety and memory reclamation
 * ------------------------------------
 * - Lookups (nc_flow_lookup, nc_flow_lookup_bulk, nc_flow_get,
 *   nc_flow_set_timeout, nc_flow_count) take no lock and run in any number
 *   of threads concurrently with the writer.
 * - Writer calls (nc_flow_add, nc_flow_delete, nc_flow_expire,
 *   nc_flow_iterate) must be serialised by the caller, unless the table was
 *   created with NC_FLOW_F_MULTI_WRITER, in which case they take an internal
 *   spinlock and may be called from any thread.
 * - Removal and reuse: a removed entry (delete or expiry) stops being found
 *   at once, but its memory is reused, and its value handed to
 *   cfg.free_value, only after a grace period of the QSBR variable cfg.qsbr
 *   (rte_rcu_qsbr; readers register, and report quiescent states between
 *   bursts).  A value returned by a lookup stays valid until the reader's
 *   next quiescent state.  Removed entries are reclaimed in small steps by
 *   later writer calls, and all at once when an add finds no free entry;
 *   the table keeps capacity/16 + 64 spare entries for them, so -ENOSPC
 *   below capacity means readers are not reporting quiescent states.
 * - Without cfg.qsbr the caller promises that no lookup runs while a
 *   delete or an expiry runs; removed entries are then freed at once.
 *   Adds may always run concurrently with lookups.
 *
 * Ownership: the table never dereferences a value.  A value leaves the table
 * through cfg.free_value (if set), called exactly once per removed entry
 * after its grace period, and for every entry still present at nc_flow_free().
 *
 * Errors: 0 or -errno; calls that can fail are warn_unused_result.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "classify.h"
#include "nc_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

struct rte_rcu_qsbr;
struct nc_flow;

/** Exact flow key: 48 bytes, host byte order, padding zero. */
struct nc_flow_key {
	union cls_addr src;  /**< IPv4 in src.v4 (rest 0), IPv6 hi/lo */
	union cls_addr dst;
	uint16_t sport;
	uint16_t dport;
	uint16_t zone;       /**< in-port or zone id */
	uint8_t family;      /**< CLS_IPV4 or CLS_IPV6 */
	uint8_t proto;
	uint8_t pad[8];      /**< always 0 */
};

_Static_assert(offsetof(struct nc_flow_key, sport) == 32 &&
		       offsetof(struct nc_flow_key, proto) == 39,
	       "sport, dport, zone, family, proto: one 8-byte word (nc_flow_key_set)");

/** Most keys per nc_flow_lookup_bulk() call. */
#define NC_FLOW_BULK_MAX 64

/** nc_flow_config.flags */
#define NC_FLOW_F_MULTI_WRITER 0x1 /**< writer calls from any thread (internal lock) */
#define NC_FLOW_F_WIDE 0x2 /**< 64-byte entries with 64-bit times for every key (see Time) */
/** Values are pointers to what the caller reads right after a lookup:
 *  nc_flow_lookup_bulk() prefetches the line a hit's value points at as
 *  soon as it finds it, while it still compares the rest of the burst
 *  (the table never dereferences values; the value's low bits may be a
 *  tag, the line is the same). */
#define NC_FLOW_F_PREFETCH_VALUES 0x4

/**
 * Object flows (optional): flows whose key is kept in the caller's object
 * rather than in a table entry.  The objects sit in one array (an arena:
 * object i at base + (i << shift)), a bucket slot names (object, which)
 * directly, and a lookup compares the key it asks for with the one
 * key(object, which) makes.  Such a flow costs its bucket slot only (no
 * 32-byte entry), and a lookup reads the bucket and the object, which is
 * the line the caller reads next anyway (one cache miss less than an
 * entry).  An object flow never idles out (no time is kept: nc_flow_get()
 * reports last_seen 0 and timeout UINT64_MAX; nc_flow_set_timeout() and
 * expiry leave it alone); its value is the object's address.  The object's
 * key must not change while the flow is in the table.  Not available with
 * cfg.qsbr (a removed flow's object is handed to free_value at once).
 */
struct nc_flow_objects {
	void *base;              /**< object 0; NULL: no object flows */
	uint32_t count;          /**< objects 0 .. count - 1 (count <= 1<<30) */
	uint8_t shift;           /**< object stride: 1 << shift bytes */
	/** Key number which (0 or 1) of the object at obj.  Called by readers
	 *  and the writer; must not call into the table. */
	void (*key)(const void *obj, unsigned which, struct nc_flow_key *key);
	/** Optional: is key number which of the object at obj equal to key
	 *  (nc_flow_key_equal)?  Must answer exactly as building key(obj,
	 *  which) and comparing would; lookups use it to compare without
	 *  building the object's key.  NULL: they build it.  Called by readers
	 *  and the writer; must not call into the table. */
	bool (*match)(const void *obj, unsigned which, const struct nc_flow_key *key);
};

struct nc_flow_config {
	const char *name;        /**< label for memory statistics; may be NULL */
	uint32_t entries;        /**< capacity in live entries, 1 .. 1<<30 */
	int socket_id;           /**< NUMA socket for the memory; -1 (SOCKET_ID_ANY): any */
	uint32_t flags;          /**< NC_FLOW_F_* */
	struct rte_rcu_qsbr *qsbr; /**< readers' QSBR variable; NULL: see thread safety */
	/** Called once per removed entry after its grace period, and at
	 *  nc_flow_free() for entries still present; from a writer call. */
	void (*free_value)(void *value, void *ctx);
	void *free_ctx;
	struct nc_flow_objects objects; /**< object flows; zeroed: none */
};

/** An entry as nc_flow_get() returns it. */
struct nc_flow_entry_info {
	void *value;
	uint64_t last_seen;
	uint64_t timeout;
};

/**
 * Expiry decision for an idle entry: return true to remove it, false to keep
 * it (e.g. it was refreshed through its partner direction).  Called from the
 * writer; must not call writer functions of the same table.
 */
typedef bool (*nc_flow_expire_cb)(const struct nc_flow_key *key, void *value,
				  uint64_t last_seen, void *arg);

/* ---- keys (pure, any thread) ---- */

/** Fill *k from fields; padding zeroed.  Addresses host order. */
static inline void nc_flow_key_set(struct nc_flow_key *k, uint16_t zone, uint8_t family,
				   uint8_t proto, const union cls_addr *src,
				   const union cls_addr *dst, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	if (family == CLS_IPV4) {
		k->src.v4 = src->v4;
		k->dst.v4 = dst->v4;
	} else {
		k->src.v6 = src->v6;
		k->dst.v6 = dst->v6;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		/* sport .. proto in one 8-byte store: the table reads them as one
		 * word (hash, compare), and a load spanning five narrow stores
		 * just made waits for them to retire (no store forwarding) */
		uint64_t w = (uint64_t)sport | (uint64_t)dport << 16 | (uint64_t)zone << 32 |
			     (uint64_t)family << 48 | (uint64_t)proto << 56;

		memcpy(&k->sport, &w, sizeof(w));
	}
#else
	k->sport = sport;
	k->dport = dport;
	k->zone = zone;
	k->family = family;
	k->proto = proto;
#endif
}

/** Key of a parsed packet (zone = in_port, or a zone the caller maps it to).
 *  @return false (and *k zeroed) if the packet has no key (no L3). */
static inline bool nc_flow_key_from_pkt(struct nc_flow_key *k, const struct nc_pkt_info *pi,
					uint16_t zone)
{
	if (!(pi->layers & NC_LAYER_L3)) {
		memset(k, 0, sizeof(*k));
		return false;
	}
	nc_flow_key_set(k, zone, pi->key.family, pi->key.proto, &pi->key.src, &pi->key.dst,
			pi->key.sport, pi->key.dport);
	return true;
}

/** Are a and b the same key to the table?  Family, protocol, zone, ports
 *  and addresses (IPv4: src.v4 and dst.v4 only, the rest being zero by
 *  construction); padding is not compared. */
static inline bool nc_flow_key_equal(const struct nc_flow_key *a, const struct nc_flow_key *b)
{
	if (a->family != b->family || a->proto != b->proto || a->zone != b->zone ||
	    a->sport != b->sport || a->dport != b->dport)
		return false;
	if (a->family == CLS_IPV4)
		return a->src.v4 == b->src.v4 && a->dst.v4 == b->dst.v4;
	return memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/** Key of the opposite direction: addresses and ports swapped, same zone. */
static inline void nc_flow_key_reverse(struct nc_flow_key *out, const struct nc_flow_key *in)
{
	struct nc_flow_key r = *in;

	r.src = in->dst;
	r.dst = in->src;
	r.sport = in->dport;
	r.dport = in->sport;
	*out = r;
}

/* ---- life cycle (one thread, no concurrent calls on this table) ---- */

/**
 * Create a table.  Needs a running EAL (memory comes from rte_malloc).
 * @return 0; -EINVAL (NULL cfg or out, entries 0 or > 1<<30, unknown
 *   flags); -ENOMEM.
 */
int nc_flow_create(const struct nc_flow_config *cfg, struct nc_flow **out) NC_MUST_CHECK;

/**
 * Free a table; cfg.free_value is called for every value still held
 * (present or awaiting its grace period).  NULL is a no-op.  No other call
 * on the table may run or follow; readers must be done with its values.
 */
void nc_flow_free(struct nc_flow *t);

/* ---- writer calls (serialised, or any thread with NC_FLOW_F_MULTI_WRITER) ---- */

/**
 * Insert key -> value, last_seen = now, idle timeout = timeout.
 * @return 0; -EEXIST (key present, table unchanged); -ENOSPC (capacity
 *   reached, or removed entries still awaiting their grace period hold the
 *   spare room, or the overflow buckets are exhausted); -ENOMEM (a new
 *   1 MiB entry segment could not be allocated); -EINVAL (NULL t or key).
 */
int nc_flow_add(struct nc_flow *t, const struct nc_flow_key *key, void *value, uint64_t now,
		uint64_t timeout) NC_MUST_CHECK;

/**
 * Insert the object flow (object index, key number which): the key is
 * cfg.objects.key(object, which), the value the object's address.
 * @return 0; -EEXIST (the key is present, as an object flow or an entry);
 *   -ENOSPC (capacity reached, or the overflow buckets are exhausted);
 *   -EOPNOTSUPP (the table has no objects, or has cfg.qsbr); -EINVAL (NULL
 *   t, index >= cfg.objects.count, which > 1).
 */
int nc_flow_add_object(struct nc_flow *t, uint32_t index, unsigned which) NC_MUST_CHECK;

/**
 * Remove key.  *value (if value is not NULL) gets the removed value, which
 * readers may still hold until the grace period ends.
 * @return 0; -ENOENT; -EINVAL.
 */
int nc_flow_delete(struct nc_flow *t, const struct nc_flow_key *key, void **value) NC_MUST_CHECK;

/**
 * Visit up to budget 64-byte entry lines (one wide or two compact entries
 * each) from an internal cursor (wrapping around); remove each entry idle at
 * now (now - last_seen >= timeout) for which cb returns true (cb NULL:
 * remove every idle entry).  A full pass over the table takes at most
 * capacity / budget calls (plus the QSBR headroom); half that for a table
 * that only ever held compact (IPv4) entries.
 * @return the number of entries removed; -EINVAL (NULL t or budget 0).
 */
int nc_flow_expire(struct nc_flow *t, uint64_t now, uint32_t budget, nc_flow_expire_cb cb,
		   void *arg);

/**
 * Walk the flows: start with *cursor = 0; each call returns the next
 * flow's key and value and advances *cursor (entries first, then object
 * flows in bucket order).
 * @return 0; -ENOENT at the end; -EINVAL.
 */
int nc_flow_iterate(struct nc_flow *t, uint64_t *cursor, struct nc_flow_key *key,
		    void **value) NC_MUST_CHECK;

/* ---- lookups (lock-free, any thread, concurrent with the writer) ---- */

/**
 * Find key; on a hit store now as its last_seen (if later; now = 0 never
 * stores, nor does an entry that never idles out) and its value in *value.
 * @return 0; -ENOENT (*value untouched); -EINVAL.
 */
int nc_flow_lookup(const struct nc_flow *t, const struct nc_flow_key *key, uint64_t now,
		   void **value) NC_MUST_CHECK;

/**
 * Look up n <= NC_FLOW_BULK_MAX keys.  values[i] is the value for keys[i] or
 * NULL; bit i of *hit_mask (if not NULL) is set for a hit.  Hits are touched
 * as in nc_flow_lookup().
 * @return the number of hits; -EINVAL (NULL argument, n > NC_FLOW_BULK_MAX).
 */
int nc_flow_lookup_bulk(const struct nc_flow *t, const struct nc_flow_key *const keys[],
			unsigned n, uint64_t now, void *values[], uint64_t *hit_mask) NC_MUST_CHECK;

/**
 * Hint: key is about to be added or looked up; start loading its bucket so
 * that a caller with other work in between (a NAT creating a session)
 * overlaps the cache miss with it.  No effect on the table; NULL-safe.
 * Thread safety: as a reader.
 */
void nc_flow_prefetch(const struct nc_flow *t, const struct nc_flow_key *key);

/**
 * Read an entry without touching it.
 * @return 0; -ENOENT; -EINVAL.
 */
int nc_flow_get(const struct nc_flow *t, const struct nc_flow_key *key,
		struct nc_flow_entry_info *info) NC_MUST_CHECK;

/**
 * Change an entry's idle timeout (e.g. on a TCP state change); takes effect
 * for the next expiry visit.  The change counts as a use at now (last_seen
 * = now if later; now = 0 never stores): an entry that never idled out was
 * not touched by lookups, and its idle time starts here.
 * @return 0; -ENOENT; -EOPNOTSUPP (an object flow); -EINVAL.
 */
int nc_flow_set_timeout(const struct nc_flow *t, const struct nc_flow_key *key,
			uint64_t timeout, uint64_t now) NC_MUST_CHECK;

/** Live flows, entries and object flows (removed ones awaiting a grace
 *  period not counted). */
uint32_t nc_flow_count(const struct nc_flow *t);

/** Live object flows (of nc_flow_count()). */
uint32_t nc_flow_object_count(const struct nc_flow *t);

/** Capacity given at creation. */
uint32_t nc_flow_capacity(const struct nc_flow *t);

#ifdef __cplusplus
}
#endif
#endif /* NETCHANNEL_NC_FLOW_H */
