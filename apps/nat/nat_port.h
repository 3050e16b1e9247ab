/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PORT_H
#define NCNAT_NAT_PORT_H

/*
 * ncnat ports and the per-worker rx/tx loop (DPDK)
 * ================================================
 *
 * Two ethdev ports, inside and outside, with one RX and one TX queue per
 * worker (RSS spreads the RX queues where the PMD has it; af_packet with
 * qpairs=N fans out by flow hash).  Worker i polls queue i of both ports on
 * its own lcore and runs its own pipeline (nat_pipeline_create_shard(i, N)).
 * Each turn, per port: a burst of up to 32 frames; with N > 1 every frame
 * goes to its owner (nat_pipeline_owner): its own pipeline, or another
 * worker's rte_ring (one per worker and side, multi-producer), and ARP to
 * every worker (the others get a copy to learn from); then the frames other
 * workers handed over, and the frames the pipeline hands on (hairpins across
 * workers); outputs are collected per port and sent with one
 * rte_eth_tx_burst() on the worker's TX queue.  Frames a full TX queue or a
 * full ring refuses are freed and counted.  Replies the pipeline builds (ARP,
 * ICMP errors) are copied into fresh mbufs.  Every turn visits
 * NAT_EXPIRE_STEP session slots for idle expiry.
 *
 * Control: the hook (the control socket) runs on worker 0 every hook_us.
 * Before it touches another worker's pipeline it calls nat_workers_quiesce(),
 * which parks every other worker at the top of its loop until the hook
 * returns; the counters need no parking (relaxed reads).
 *
 * Offline mode (net_pcap, one worker): RX is not flushed at start (the pcap
 * PMD would lose the file's first frames); with idle_exit_ms > 0 the loop
 * ends when no worker has received a frame for that long; SIGINT and SIGTERM
 * end it too, and closing the ports flushes the output files.
 *
 * Thread safety: nat_workers_run() on the main lcore, which runs worker 0;
 * workers 1.. on the next worker lcores.  Errors: 0 or -errno.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nat_pipeline.h"

#ifndef NC_MUST_CHECK
#define NC_MUST_CHECK __attribute__((warn_unused_result))
#endif

struct rte_mempool;

#define NAT_BURST 32
/* Session-table slots visited for expiry per turn of the loop. */
#define NAT_EXPIRE_STEP 64

struct nat_workers_config {
	uint16_t port[2];           /**< [NAT_SIDE_INSIDE], [NAT_SIDE_OUTSIDE] */
	unsigned n;                 /**< workers, 1 .. NAT_SHARD_MAX */
	struct nat_pipeline *const *pipes; /**< [n]; pipes[i] is shard i of n */
	struct rte_mempool *pool;   /**< reply frames and ARP copies */
	uint32_t idle_exit_ms;      /**< 0: run until signalled */
	volatile sig_atomic_t *quit;
	/** Called between bursts every hook_us microseconds (0: 1000) on
	 *  worker 0, e.g. the control socket's poll; NULL: none. */
	void (*hook)(void *arg);
	void *hook_arg;
	uint32_t hook_us;
};

/** Per worker; read by the control socket and telemetry (relaxed). */
struct nat_loop_stats {
	uint64_t rx[2], tx[2], tx_drop[2], multiseg_drop, reply_nomem;
	uint64_t handoff_out;       /**< frames given to another worker */
	uint64_t handoff_in;        /**< frames taken from the other workers */
	uint64_t handoff_drop;      /**< refused by a full ring (or no mbuf for an ARP copy) */
};

/**
 * Configure and start an ethdev port with nq RX and nq TX queues of 1024
 * descriptors (RSS on IP/TCP/UDP when nq > 1 and the PMD has it),
 * promiscuous mode (best effort).
 * @return 0; -ENOTSUP (the PMD has fewer queues than nq); -errno from ethdev.
 */
int nat_port_setup(uint16_t port, struct rte_mempool *pool, unsigned nq) NC_MUST_CHECK;

/** Stop and close a port (flushes pcap output). */
void nat_port_close(uint16_t port);

struct nat_workers;

/**
 * Set up n workers (their rings).  cfg is copied; its arrays must outlive w.
 * @return 0; -EINVAL; -ENOMEM; -errno of rte_ring_create.
 */
int nat_workers_create(const struct nat_workers_config *cfg,
		       struct nat_workers **out) NC_MUST_CHECK;

/**
 * Run worker 0 on the calling lcore and workers 1..n-1 on the next n-1
 * worker lcores until *quit (or idle), then wait for them all.
 * @return 0; -ENODEV (fewer than n-1 worker lcores); -EINVAL.
 */
int nat_workers_run(struct nat_workers *w) NC_MUST_CHECK;

/** Set the hook (as in nat_workers_config) before nat_workers_run(). */
void nat_workers_set_hook(struct nat_workers *w, void (*hook)(void *arg), void *arg,
			  uint32_t hook_us);

/** Park every other worker until the current hook call returns (worker 0's
 *  thread, from the hook only; idempotent).  void * for the backend. */
void nat_workers_quiesce(void *w);

/** Worker i's counters (stable storage for w's lifetime). */
const struct nat_loop_stats *nat_workers_stats(const struct nat_workers *w, unsigned i);

/** NULL-safe; after nat_workers_run() returned. */
void nat_workers_free(struct nat_workers *w);

/** The seconds the workers give their pipelines (for the control socket's
 *  idle times). */
uint64_t nat_loop_clock(void);

#endif /* NCNAT_NAT_PORT_H */
