/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PORT_H
#define NCNAT_NAT_PORT_H

/*
 * ncnat ports and the rx/tx loop (DPDK)
 * =====================================
 *
 * Two ethdev ports, inside and outside, one RX and one TX queue each, on one
 * polling lcore.  Each turn: a burst of up to 32 frames from each port
 * through nat_pipeline_rx_mbufs() (translated in place), its output
 * collected per output port, one rte_eth_tx_burst() per port; frames a full
 * TX queue refuses are freed and counted.  Replies the pipeline builds (ARP,
 * ICMP unreachable) are copied into fresh mbufs.
 * Every turn visits NAT_EXPIRE_STEP session slots for idle expiry.
 *
 * Offline mode (net_pcap): RX is not flushed at start (the pcap PMD would
 * lose the file's first frames); with idle_exit_ms > 0 the loop ends when no
 * frame has arrived for that long (the input files are exhausted); SIGINT
 * and SIGTERM end it too, and closing the ports flushes the output files.
 *
 * Thread safety: one lcore.  Errors: 0 or -errno.
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
/* TX list per side and turn: each of the two bursts can send all its frames
 * and one reply frame per frame to one side. */
#define NAT_OUT_MAX (4 * NAT_BURST)
/* Session-table slots visited for expiry per turn of the loop. */
#define NAT_EXPIRE_STEP 64

struct nat_loop_config {
	uint16_t port[2];           /**< [NAT_SIDE_INSIDE], [NAT_SIDE_OUTSIDE] */
	struct nat_pipeline *pipe;
	struct rte_mempool *pool;   /**< for reply frames */
	uint32_t idle_exit_ms;      /**< 0: run until signalled */
	volatile sig_atomic_t *quit;
	/** Called between bursts every hook_us microseconds (0: 1000) on the
	 *  loop's lcore, e.g. the control socket's poll; NULL: none. */
	void (*hook)(void *arg);
	void *hook_arg;
	uint32_t hook_us;
};

struct nat_loop_stats {
	uint64_t rx[2], tx[2], tx_drop[2], multiseg_drop, reply_nomem;
};

/**
 * Configure and start an ethdev port: 1 RX + 1 TX queue of 1024
 * descriptors, promiscuous mode (best effort).
 * @return 0; -errno from ethdev.
 */
int nat_port_setup(uint16_t port, struct rte_mempool *pool) NC_MUST_CHECK;

/** Stop and close a port (flushes pcap output). */
void nat_port_close(uint16_t port);

/**
 * Run the loop until *quit, or idle for idle_exit_ms.
 * @return 0; -EINVAL.
 */
int nat_loop_run(const struct nat_loop_config *cfg, struct nat_loop_stats *st) NC_MUST_CHECK;

/** The seconds nat_loop_run() gives the pipeline (for the control socket's
 *  idle times); the loop's thread. */
uint64_t nat_loop_clock(void);

#endif /* NCNAT_NAT_PORT_H */
