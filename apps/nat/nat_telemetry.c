/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat counters in DPDK telemetry; see nat_telemetry.h. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_telemetry.h>

#include "nat_telemetry.h"

/*
 * The backend the callbacks read, and how many callbacks are reading it.
 * stop() clears tel_on and then waits for busy to drop to zero; a callback
 * raises busy before it looks at tel_on.  Both sides use sequentially
 * consistent operations, so either the callback sees tel_on cleared or
 * stop() sees its busy count (no callback reads the backend after stop()
 * returns).
 */
static struct nat_ctl_backend tel_be;
static int tel_on;
static int tel_busy;
static bool tel_registered;

static bool read_stats(struct nat_stats_view *sv)
{
	bool ok = false;

	__atomic_add_fetch(&tel_busy, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&tel_on, __ATOMIC_SEQ_CST))
		ok = tel_be.stats(tel_be.ctx, sv) == 0;
	__atomic_sub_fetch(&tel_busy, 1, __ATOMIC_SEQ_CST);
	return ok;
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const side[2] = {"inside", "outside"};
	struct nat_stats_view sv;
	char name[64];
	int i;

	(void)cmd;
	(void)params;
	if (!read_stats(&sv))
		return -ENODEV;
	rte_tel_data_start_dict(d);
	for (i = 0; i < NAT_CNT_COUNT; i++)
		rte_tel_data_add_dict_u64(d, nat_counter_name(i), sv.counters[i]);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s_rx", side[i]);
		rte_tel_data_add_dict_u64(d, name, sv.port[i].rx);
		snprintf(name, sizeof(name), "%s_tx", side[i]);
		rte_tel_data_add_dict_u64(d, name, sv.port[i].tx);
		snprintf(name, sizeof(name), "%s_tx_drop", side[i]);
		rte_tel_data_add_dict_u64(d, name, sv.port[i].tx_drop);
	}
	rte_tel_data_add_dict_u64(d, "sessions", sv.sessions);
	rte_tel_data_add_dict_u64(d, "mappings", sv.mappings);
	rte_tel_data_add_dict_u64(d, "log_lines", sv.log_lines);
	return 0;
}

static int tel_sessions(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct nat_stats_view sv;

	(void)cmd;
	(void)params;
	if (!read_stats(&sv))
		return -ENODEV;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "total", sv.sessions);
	rte_tel_data_add_dict_u64(d, "tcp", sv.sessions_tcp);
	rte_tel_data_add_dict_u64(d, "udp", sv.sessions_udp);
	rte_tel_data_add_dict_u64(d, "icmp", sv.sessions_icmp);
	rte_tel_data_add_dict_u64(d, "mappings", sv.mappings);
	rte_tel_data_add_dict_u64(d, "capacity", sv.capacity);
	return 0;
}

/* /ncnat/workers,N: worker N's counters (no parameter: worker 0). */
static int tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct nat_worker_view v;
	unsigned long k = 0;
	unsigned n = 0;
	char *end;
	int rc = -ENODEV;

	(void)cmd;
	if (params && *params) {
		k = strtoul(params, &end, 10);
		if (*end || k > 65535)
			return -EINVAL;
	}
	__atomic_add_fetch(&tel_busy, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&tel_on, __ATOMIC_SEQ_CST) && tel_be.workers) {
		rc = tel_be.workers(tel_be.ctx, (unsigned)k, &v);
		while (tel_be.workers(tel_be.ctx, n, &(struct nat_worker_view){0}) == 0)
			n++;
	}
	__atomic_sub_fetch(&tel_busy, 1, __ATOMIC_SEQ_CST);
	if (rc)
		return rc == -ENOENT ? -EINVAL : rc;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "worker", k);
	rte_tel_data_add_dict_u64(d, "workers", n);
	rte_tel_data_add_dict_u64(d, "inside_rx", v.port[0].rx);
	rte_tel_data_add_dict_u64(d, "inside_tx", v.port[0].tx);
	rte_tel_data_add_dict_u64(d, "inside_tx_drop", v.port[0].tx_drop);
	rte_tel_data_add_dict_u64(d, "outside_rx", v.port[1].rx);
	rte_tel_data_add_dict_u64(d, "outside_tx", v.port[1].tx);
	rte_tel_data_add_dict_u64(d, "outside_tx_drop", v.port[1].tx_drop);
	rte_tel_data_add_dict_u64(d, "handoff_out", v.handoff_out);
	rte_tel_data_add_dict_u64(d, "handoff_in", v.handoff_in);
	rte_tel_data_add_dict_u64(d, "handoff_drop", v.handoff_drop);
	rte_tel_data_add_dict_u64(d, "translated", v.translated);
	rte_tel_data_add_dict_u64(d, "dropped", v.dropped);
	rte_tel_data_add_dict_u64(d, "sessions", v.sessions);
	rte_tel_data_add_dict_u64(d, "mappings", v.mappings);
	return 0;
}

int nat_telemetry_start(const struct nat_ctl_backend *be)
{
	int rc;

	if (!be || !be->stats)
		return -EINVAL;
	nat_telemetry_stop();
	tel_be = *be;
	if (!tel_registered) {
		rc = rte_telemetry_register_cmd("/ncnat/stats", tel_stats,
						"ncnat counters, per-port rx/tx, sessions. No parameters");
		if (rc == 0)
			rc = rte_telemetry_register_cmd("/ncnat/sessions", tel_sessions,
							"ncnat live sessions per protocol. No parameters");
		if (rc == 0)
			rc = rte_telemetry_register_cmd("/ncnat/workers", tel_workers,
							"ncnat per-worker counters. Parameter: worker number (default 0)");
		if (rc)
			return rc;
		tel_registered = true;
	}
	__atomic_store_n(&tel_on, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void nat_telemetry_stop(void)
{
	__atomic_store_n(&tel_on, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&tel_busy, __ATOMIC_SEQ_CST))
		sched_yield();
}
