/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat ports and the loop's clock; see nat_port.h (the loop: nat_workers.c). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>

#include "nat_port.h"

#define NB_DESC 1024

int nat_port_setup(uint16_t port, struct rte_mempool *pool, unsigned nq)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrx = NB_DESC, ntx = NB_DESC, q;
	int rc;

	if (!rte_eth_dev_is_valid_port(port) || !pool || nq == 0 || nq > UINT16_MAX)
		return -EINVAL;
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &info);
	if (rc)
		return rc;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq)
		return -ENOTSUP;
	if (nq > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	rc = rte_eth_dev_configure(port, (uint16_t)nq, (uint16_t)nq, &conf);
	if (rc)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (rc)
		return rc;
	for (q = 0; q < nq; q++) {
		/* SOCKET_ID_ANY (-1) for virtual devices is accepted as is */
		rc = rte_eth_rx_queue_setup(port, q, nrx, (unsigned int)rte_eth_dev_socket_id(port),
					    NULL, pool);
		if (rc)
			return rc;
		rc = rte_eth_tx_queue_setup(port, q, ntx, (unsigned int)rte_eth_dev_socket_id(port),
					    NULL);
		if (rc)
			return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc)
		return rc;
	/* best effort: some PMDs (pcap, tap in a namespace) refuse */
	rc = rte_eth_promiscuous_enable(port);
	(void)rc;
	return 0;
}

void nat_port_close(uint16_t port)
{
	int rc = rte_eth_dev_stop(port);

	(void)rc; /* closing anyway */
	rc = rte_eth_dev_close(port);
	(void)rc;
}

/*
 * The NAT's clock, in seconds: the monotonic clock, so a step of the wall
 * clock (NTP, an operator) never expires every session at once or freezes
 * them, shifted once at start to wall time so log lines carry real dates.
 */
static uint64_t now_seconds(void)
{
	static int64_t offset;
	static bool have_offset;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!have_offset) {
		offset = (int64_t)time(NULL) - (int64_t)ts.tv_sec;
		have_offset = true;
	}
	return (uint64_t)((int64_t)ts.tv_sec + offset);
}

uint64_t nat_loop_clock(void)
{
	return now_seconds();
}
