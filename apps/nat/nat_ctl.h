/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CTL_H
#define NCNAT_NAT_CTL_H

/*
 * ncnat control socket — show and change the NAT at run time, no DPDK
 * ===================================================================
 *
 * What
 * ----
 * A server on a unix stream socket that ncnatctl (and anything that can
 * write a line to a socket) talks to:
 *
 *   show stats [json]                every counter, per-port rx/tx, sessions
 *   show sessions [FILTER...] [json] one line per session, then a total
 *   show mappings [FILTER...] [json] one line per mapping, then a total
 *   show rules [json]                numbered, in order, in the config syntax
 *   show timeouts [json]             in the config syntax
 *   show workers [json]              per worker: frames in and out, hand-offs,
 *                                    sessions, mappings, translated, dropped
 *   add rule [at N] RULE             RULE exactly as a config line
 *   delete rule N
 *   add static ARGS                  = add rule dnat ARGS (a port forward)
 *   delete static N                  = delete rule N, if rule N is a dnat
 *   set timeout udp|tcp-established|tcp-transitory|icmp SECONDS
 *   help, quit
 *   FILTER: proto tcp|udp|icmp|N, inside A[/LEN], outside A[/LEN],
 *           remote A[/LEN] (sessions), port N (any of the entry's ports),
 *           state NAME (TCP state, sessions), static, dynamic, limit N
 *
 * Protocol: the client writes one request per line (at most max_request
 * bytes, '\n' ends it, '\r' is ignored; blank lines are skipped).  The
 * answer is zero or more lines of text, then one terminator line: "ok", or
 * "error: WHAT" (the request changed nothing).  No other line of an answer
 * is "ok" or starts with "error: ".  Requests on one connection are
 * answered in order; any number per connection.  A json answer is one JSON
 * document (possibly on several lines) before the terminator.  Rules are
 * numbered from 1 as `show rules` prints them.
 *
 * Design
 * ------
 * Nothing here blocks: the listening and the client sockets are
 * non-blocking and the packet loop calls nat_ctl_poll() between bursts, so
 * the backend callbacks run on the packet thread and need no locks.  One
 * poll does bounded work: at most a few accepts, a few requests per client,
 * and for a listing at most walk_budget table entries per client; a long
 * listing goes on over later polls from a cursor (it is not a snapshot:
 * entries made or removed meanwhile may or may not appear).  Output waits
 * in a per-client buffer and is sent as the socket takes it; above out_high
 * the client's listing pauses and its next requests wait, and a client
 * whose buffer passes out_cap, or whose pending output has not moved for
 * stall_ms, is dropped.  Only peers with uid 0 or the server's own uid
 * (SO_PEERCRED) are served; others get one error line and are closed.  The
 * socket file is mode 0600.
 *
 * The NAT is reached only through struct nat_ctl_backend (data in and out,
 * no formatting), so the server does not depend on how the NAT keeps its
 * state; filters are applied here.  nat_ctl_backend.h has the backend on
 * struct nat_pipeline; the tests use a fake one.
 *
 * Byte order: addresses and ports in the views are host order.
 * Thread safety: one thread (the one that polls) per server.
 * Errors: 0 or -errno.
 */

#include <stddef.h>
#include <stdint.h>

#include "nat_config.h"
#include "nat_counters.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

/** Default socket path of ncnat and ncnatctl. */
#define NAT_CTL_DEFAULT_PATH "/run/ncnat/ncnat.sock"

/* view flags (of the mapping) */
#define NAT_VIEW_STATIC 0x01 /**< from a dnat rule */
#define NAT_VIEW_MASQ 0x02   /**< external address is the outside address */

/** One session, as the backend shows it. */
struct nat_session_view {
	uint8_t proto;      /**< 6, 17, 1 */
	uint8_t tcp_state;  /**< enum nat_tcp_state (TCP), else 0 */
	uint8_t flags;      /**< NAT_VIEW_* */
	uint32_t in_addr, ext_addr, rem_addr;
	uint16_t in_port, ext_port, rem_port; /**< ICMP: the query id, the id, 0 */
	uint32_t idle_s;    /**< seconds since the last refresh */
	uint32_t timeout_s; /**< idle timeout */
};

/** One mapping. */
struct nat_mapping_view {
	uint8_t proto, flags;
	uint32_t in_addr, ext_addr;
	uint16_t in_port, ext_port;
	uint32_t sessions;
	uint64_t created_s; /**< the backend's clock */
	uint32_t age_s;     /**< seconds since created */
};

enum { NAT_CTL_INSIDE = 0, NAT_CTL_OUTSIDE = 1 };

/** Counters and sizes. */
struct nat_stats_view {
	uint64_t counters[NAT_CNT_COUNT]; /**< nat_counters.h order */
	struct {
		uint64_t rx, tx, tx_drop;
	} port[2];                        /**< [NAT_CTL_INSIDE], [NAT_CTL_OUTSIDE] */
	uint32_t sessions, mappings;      /**< live */
	uint32_t sessions_tcp, sessions_udp, sessions_icmp;
	uint32_t capacity;                /**< session table size */
	uint64_t log_lines;
};

/** One worker (ncnat --workers), as the backend shows it. */
struct nat_worker_view {
	struct {
		uint64_t rx, tx, tx_drop;
	} port[2];                        /**< its queue on each port */
	uint64_t handoff_out;             /**< frames it gave other workers */
	uint64_t handoff_in;              /**< frames it took from them */
	uint64_t handoff_drop;            /**< frames a full ring refused */
	uint64_t translated;              /**< in2out + out2in + hairpin packets */
	uint64_t dropped;                 /**< the sum of its drop_* counters */
	uint32_t sessions, mappings;      /**< live in its pipeline */
};

/**
 * The NAT behind the server.  Every callback runs on the polling thread,
 * except stats(), which DPDK telemetry also calls from its own thread: it
 * must only read counters (no table walks, no locks; values may be a
 * little stale and not all from the same instant).
 *
 * Walks (sessions, mappings): visit entries from *cursor (0: the start),
 * at most budget entries (live or not), calling emit for each live one;
 * emit returning non-zero stops the walk after that entry (*cursor then
 * points past it).  @return 1 when the walk is complete, 0 when more
 * remains, -errno.  Between calls the tables may change; a walk must never
 * show one entry twice.
 *
 * Changes (rule_add, rule_delete, set_timeout) check everything before
 * changing anything: on error nothing changed and err (errlen bytes) says
 * why in one line.  Rule positions are 0-based here.
 */
struct nat_ctl_backend {
	void *ctx;
	int (*sessions)(void *ctx, uint64_t *cursor, uint32_t budget,
			int (*emit)(void *arg, const struct nat_session_view *v), void *arg);
	int (*mappings)(void *ctx, uint64_t *cursor, uint32_t budget,
			int (*emit)(void *arg, const struct nat_mapping_view *v), void *arg);
	/** @return 0; -errno. */
	int (*stats)(void *ctx, struct nat_stats_view *out);
	/** Every rule in order (emit non-zero stops); @return 0; -errno. */
	int (*rules)(void *ctx, int (*emit)(void *arg, unsigned idx, const struct nat_rule *r),
		     void *arg);
	/** The configuration in force (pool, addresses, rules, timeouts): the
	 *  context nat_config_parse_rule() checks a new rule against. */
	const struct nat_config *(*config)(void *ctx);
	/** Insert r as rule number at (0 .. n_rules); @return 0; -errno. */
	int (*rule_add)(void *ctx, unsigned at, const struct nat_rule *r, char *err, size_t errlen);
	int (*rule_delete)(void *ctx, unsigned idx, char *err, size_t errlen);
	int (*set_timeout)(void *ctx, enum nat_timeout_kind which, uint32_t secs, char *err,
			   size_t errlen);
	/** Worker i (0 ..); may be NULL (then `show workers` is refused).
	 *  Counters only, like stats() (telemetry calls it too).
	 *  @return 0; -ENOENT (no worker i: the count). */
	int (*workers)(void *ctx, unsigned i, struct nat_worker_view *out);
};

/** Tunables (nat_ctl_default_limits() gives the defaults, in brackets). */
struct nat_ctl_limits {
	uint32_t max_clients;  /**< connections served at once [16] */
	uint32_t max_request;  /**< bytes of one request line [4096] */
	uint32_t out_high;     /**< pending bytes above which a client's work pauses [256 KiB] */
	uint32_t out_cap;      /**< pending bytes that get a client dropped [8 MiB] */
	uint32_t walk_budget;  /**< table entries visited per client and poll [16384] */
	uint32_t stall_ms;     /**< pending output unmoved this long: dropped [30000] */
};

struct nat_ctl;

void nat_ctl_default_limits(struct nat_ctl_limits *l);

/**
 * Listen on a unix socket at path (mode 0600) for a backend (copied; its
 * ctx must outlive the server).  A socket file nobody answers on is removed
 * first; a file of another type is left alone.
 * @return 0 and *out; -EADDRINUSE (a live server answers on path); -EEXIST
 *   (path is not a socket); -ENAMETOOLONG; -EINVAL (NULL, a backend
 *   callback missing); -errno of socket/bind/listen; -ENOMEM.
 */
int nat_ctl_create(const char *path, const struct nat_ctl_backend *be,
		   struct nat_ctl **out) NC_MUST_CHECK;

/** Change the limits (clients already connected keep their buffers).
 *  @return 0; -EINVAL (a zero, or out_high > out_cap). */
int nat_ctl_set_limits(struct nat_ctl *c, const struct nat_ctl_limits *l) NC_MUST_CHECK;

/**
 * Accept, read, answer and send, without blocking and with bounded work.
 * @return the number of requests answered (>= 0); -EINVAL.
 */
int nat_ctl_poll(struct nat_ctl *c);

/** Clients connected now. */
unsigned nat_ctl_clients(const struct nat_ctl *c);

/** Close every connection and the socket and remove the socket file (if it
 *  is still ours).  NULL-safe. */
void nat_ctl_free(struct nat_ctl *c);

/**
 * Answer one request without a socket (tests, fuzzers): the whole answer,
 * terminator line included, in *out (malloc'd, NUL-terminated, free() it),
 * its length in *out_len (may be NULL).  Listings run to the end.
 * @return 0 if the answer ends with "ok", -EINVAL if with "error: ...";
 *   -ENOMEM; -EINVAL for NULL arguments (then *out is NULL).
 */
int nat_ctl_exec(const struct nat_ctl_backend *be, const char *req, char **out,
		 size_t *out_len) NC_MUST_CHECK;

#endif /* NCNAT_NAT_CTL_H */
