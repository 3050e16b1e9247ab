/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_PORT_H
#define NCNAT_NAT_PORT_H

/*
 * ncnat ports and the rx/tx loop (DPDK)
 * =====================================
 *
 * Two ethdev ports, inside and outside, one RX and one TX queue each, on one
 * polling lcore.  Each turn: a burst of up to 32 frames from each port,
 * every frame through nat_pipeline_process() in place (the next frame's
 * data prefetched), collected per output port, one rte_eth_tx_burst() per
 * port; frames a full TX queue refuses are freed and counted.  Replies the
 * pipeline builds (ARP, ICMP unreachable) are copied into fresh mbufs.
 * Once a second idle sessions are expired (bounded budget).
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

struct nat_loop_config {
	uint16_t port[2];           /**< [NAT_SIDE_INSIDE], [NAT_SIDE_OUTSIDE] */
	struct nat_pipeline *pipe;
	struct rte_mempool *pool;   /**< for reply frames */
	uint32_t idle_exit_ms;      /**< 0: run until signalled */
	volatile sig_atomic_t *quit;
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

#endif /* NCNAT_NAT_PORT_H */
