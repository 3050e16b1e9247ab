/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CTL_BACKEND_H
#define NCNAT_NAT_CTL_BACKEND_H

/*
 * The control server's backend on struct nat_pipeline (nat_ctl.h): the
 * only file that knows how the NAT keeps its state for the control socket
 * and telemetry.  Thin: every op is a pipeline accessor plus a copy into a
 * view.  Re-implement this file (same ops) when the NAT's state moves.
 *
 * Clock: the packet loop's (see nat_ctl_backend_init()).  Thread safety: the ops run on the packet thread (the server
 * is polled there), except stats(), which only reads counters and may run
 * in DPDK's telemetry thread (see nat_ctl.h).
 */

#include "nat_ctl.h"
#include "nat_pipeline.h"

struct nat_loop_stats;

/** What the backend's ctx points at (the caller's storage). */
struct nat_ctl_backend_ctx {
	struct nat_pipeline *pipe;
	const struct nat_loop_stats *loop; /**< per-port rx/tx; NULL: zeros */
	uint64_t (*clock)(void);           /**< the pipeline's clock (seconds) */
};

/**
 * Fill *be with the ops on pipe; ctx is the storage the ops use (it, pipe
 * and loop must outlive every use of *be).  clock: the seconds the packet
 * loop gives the pipeline (nat_loop_clock()), for idle times and ages, and
 * for the creation time of static mappings added at run time; NULL: time().
 */
void nat_ctl_backend_init(struct nat_ctl_backend *be, struct nat_ctl_backend_ctx *ctx,
			  struct nat_pipeline *pipe, const struct nat_loop_stats *loop,
			  uint64_t (*clock)(void));

#endif /* NCNAT_NAT_CTL_BACKEND_H */
