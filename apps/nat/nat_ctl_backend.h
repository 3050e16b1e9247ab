/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CTL_BACKEND_H
#define NCNAT_NAT_CTL_BACKEND_H

/*
 * The control server's backend on struct nat_pipeline (nat_ctl.h)
 * ================================================================
 *
 * What
 * ----
 * The only file that knows how the NAT keeps its state for the control
 * socket and telemetry.  Thin: every op is a pipeline accessor plus a copy
 * into a view.  Re-implement this file (same ops) when the NAT's state
 * moves.
 *
 * Workers
 * -------
 * With W workers there are W pipelines (pipes[0..W-1], worker order), each
 * with the same rules and timeouts but its own mappings, sessions and
 * counters.  The backend shows them as one NAT:
 *   - stats: every counter, the port counters of every worker's loop, the
 *     sessions, mappings, per-protocol sessions, capacity and log lines,
 *     each summed;
 *   - sessions, mappings: one walk over pipes[0], then pipes[1], ...; the
 *     cursor holds the pipeline's index in its top 16 bits and that
 *     pipeline's own cursor (< 2^32 slots) below, so a resumed walk goes on
 *     where it stopped and never shows an entry twice;
 *   - rules, config: pipes[0]'s (they are the same everywhere);
 *   - rule_add: on every pipeline in order; when pipeline k refuses, the
 *     rule is deleted again from pipes[0..k-1] and k's error is returned:
 *     the rule lists are as before.  Residual: a dnat rule's external port,
 *     once reserved in pipes[0..k-1], goes through hold-down there (as after
 *     any dnat delete), and a first masquerade rule leaves its allocator;
 *   - rule_delete: the index is checked on every pipeline, then the rule is
 *     deleted from each in order; if pipeline k fails (only -ENOMEM can),
 *     the rule is added back to pipes[0..k-1] at the same position and k's
 *     error is returned.  Residual: a dnat rule added back has its static
 *     mapping again but not the sessions it had; a rule added back loses
 *     its config file line number;
 *   - set_timeout: pipes[0] checks and takes it, then the others (which
 *     cannot refuse what pipes[0] took).
 * A dnat rule's static mapping lives in the pipelines that add it (with
 * shards only the target's owner, nat_pipeline.h; plain pipelines each
 * make one): the mapping walk and the mapping count show each copy, with
 * that pipeline's sessions.
 *
 * Thread safety and quiescing
 * ---------------------------
 * The server is polled on worker 0's thread, so every op but stats() runs
 * there; a pipeline belongs to its worker's thread (nat_pipeline.h).  So
 * every op but stats() first calls quiesce(quiesce_arg) (when set): on
 * return the other workers must be parked, and stay parked until the
 * current nat_ctl_poll() returns; quiesce is called once per op, so it must
 * be idempotent (cheap when they are parked already).  With one worker
 * quiesce may be NULL.
 * stats() never quiesces: DPDK telemetry calls it from its own thread while
 * every worker runs (nat_ctl.h).  It only reads counters, each once and
 * relaxed, so the sums are approximate (no value is torn on a 64-bit
 * machine) and not all from the same instant.
 *
 * Clock: the packet loop's (see nat_ctl_backend_init()).
 * Errors: 0 or -errno.
 */

#include "nat_ctl.h"
#include "nat_pipeline.h"

struct nat_loop_stats;

/** Most pipelines one backend shows. */
#define NAT_CTL_BACKEND_MAX_PIPES 64

/** What the backend's ctx points at (the caller's storage; set up by the
 *  init functions, read-only afterwards). */
struct nat_ctl_backend_ctx {
	struct nat_pipeline *const *pipes;        /**< n_pipes, worker order */
	unsigned n_pipes;
	const struct nat_loop_stats *const *loops; /**< per worker rx/tx; the
						    *  array or an entry NULL:
						    *  zeros */
	uint64_t (*clock)(void);    /**< the pipelines' clock (seconds) */
	void (*quiesce)(void *arg); /**< parks the other workers; NULL: none */
	void *quiesce_arg;
	/* storage for nat_ctl_backend_init() (one pipeline) */
	struct nat_pipeline *one_pipe;
	const struct nat_loop_stats *one_loop;
};

/**
 * Fill *be with the ops on one pipeline; ctx is the storage the ops use
 * (it, pipe and loop must outlive every use of *be).  loop: the packet
 * loop's port counters (NULL: zeros).  clock: the seconds the packet loop
 * gives the pipeline (nat_loop_clock()), for idle times and ages, and for
 * the creation time of static mappings added at run time; NULL: time().
 * No quiesce (the server runs on the pipeline's thread).
 */
void nat_ctl_backend_init(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			  struct nat_pipeline *pipe, const struct nat_loop_stats *loop,
			  uint64_t (*clock)(void));

/**
 * Fill *be with the ops on n pipelines (pipes[0] is the server's own
 * worker's; see Workers above).  The arrays are not copied: they, the
 * pipelines, the loop stats and ctx must outlive every use of *be.
 * loops: n entries (an entry NULL: that worker's port counters are zeros),
 * or NULL (all zeros).  clock: as nat_ctl_backend_init().  quiesce: called
 * with quiesce_arg before every op but stats (see Thread safety); NULL:
 * none (only right with n == 1).
 * @return 0; -EINVAL (NULL be, ctx or pipes, a NULL pipeline, n 0 or more
 *   than NAT_CTL_BACKEND_MAX_PIPES).
 */
int nat_ctl_backend_init_multi(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			       struct nat_pipeline *const *pipes, unsigned n,
			       const struct nat_loop_stats *const *loops, uint64_t (*clock)(void),
			       void (*quiesce)(void *arg), void *quiesce_arg) NC_MUST_CHECK;

#endif /* NCNAT_NAT_CTL_BACKEND_H */
