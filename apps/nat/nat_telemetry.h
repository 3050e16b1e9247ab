/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_TELEMETRY_H
#define NCNAT_NAT_TELEMETRY_H

/*
 * ncnat in DPDK telemetry (dpdk-telemetry.py, /var/run/dpdk/PREFIX/
 * dpdk_telemetry.v2):
 *   /ncnat/stats     every counter by name (nat_counters.h), per-port
 *                    rx/tx/tx_drop (inside_rx ...), sessions, mappings
 *   /ncnat/sessions  live sessions: total, tcp, udp, icmp; mappings; capacity
 *   /ncnat/workers,N worker N's frames in and out, hand-offs, translated,
 *                    dropped, sessions, mappings (and the number of workers)
 * The callbacks run in DPDK's telemetry thread and only call the backend's
 * stats() and workers() (counters, never a table walk); the values are approximate (read
 * while the packet thread counts).
 */

#include "nat_ctl.h"

/**
 * Serve the commands from be's stats() (be is copied; its ctx must live
 * until nat_telemetry_stop()).  The commands are registered once per
 * process; a second start replaces the backend.
 * @return 0; -errno of rte_telemetry_register_cmd().
 */
int nat_telemetry_start(const struct nat_ctl_backend *be);

/** Stop serving (the commands then answer with an error); waits for a
 *  callback running in the telemetry thread to finish. */
void nat_telemetry_stop(void);

#endif /* NCNAT_NAT_TELEMETRY_H */
