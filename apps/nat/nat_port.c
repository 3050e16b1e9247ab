/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat ports and rx/tx loop; see nat_port.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "nat_port.h"

#define NB_DESC 1024

int nat_port_setup(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrx = NB_DESC, ntx = NB_DESC;
	int rc;

	if (!rte_eth_dev_is_valid_port(port) || !pool)
		return -EINVAL;
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &info);
	if (rc)
		return rc;
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (rc)
		return rc;
	/* SOCKET_ID_ANY (-1) for virtual devices is accepted as is */
	rc = rte_eth_rx_queue_setup(port, 0, nrx, (unsigned int)rte_eth_dev_socket_id(port), NULL,
				    pool);
	if (rc)
		return rc;
	rc = rte_eth_tx_queue_setup(port, 0, ntx, (unsigned int)rte_eth_dev_socket_id(port), NULL);
	if (rc)
		return rc;
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

static uint64_t now_seconds(void)
{
	return (uint64_t)time(NULL);
}

static void tx_flush(uint16_t port, struct rte_mbuf **m, uint16_t n, uint64_t *tx,
		     uint64_t *drop)
{
	uint16_t sent = n ? rte_eth_tx_burst(port, 0, m, n) : 0, i;

	*tx += sent;
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	*drop += (uint64_t)(n - sent);
}

int nat_loop_run(const struct nat_loop_config *cfg, struct nat_loop_stats *st)
{
	struct rte_mbuf *rx[NAT_BURST], *out[2][NAT_BURST * 2];
	uint64_t hz = rte_get_tsc_hz(), last_rx, last_expire = 0;
	int side;

	if (!cfg || !st || !cfg->pipe || !cfg->pool || !cfg->quit)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	last_rx = rte_get_tsc_cycles();
	while (!*cfg->quit) {
		uint64_t now = now_seconds(), tsc = rte_get_tsc_cycles();
		uint16_t nout[2] = {0, 0};
		unsigned got = 0;

		for (side = 0; side < 2; side++) {
			uint16_t n = rte_eth_rx_burst(cfg->port[side], 0, rx, NAT_BURST), i;

			st->rx[side] += n;
			got += n;
			for (i = 0; i < n; i++) {
				struct rte_mbuf *m = rx[i];
				enum nat_verdict v;
				const uint8_t *r;
				uint32_t rl;
				enum nat_side rs;

				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
				if (m->nb_segs != 1) {
					st->multiseg_drop++;
					rte_pktmbuf_free(m);
					continue;
				}
				v = nat_pipeline_process(cfg->pipe, rte_pktmbuf_mtod(m, uint8_t *),
							 rte_pktmbuf_data_len(m), (enum nat_side)side, now);
				if (v == NAT_TX_INSIDE)
					out[NAT_SIDE_INSIDE][nout[NAT_SIDE_INSIDE]++] = m;
				else if (v == NAT_TX_OUTSIDE)
					out[NAT_SIDE_OUTSIDE][nout[NAT_SIDE_OUTSIDE]++] = m;
				else
					rte_pktmbuf_free(m);
				r = nat_pipeline_reply(cfg->pipe, &rl, &rs);
				if (r) {
					struct rte_mbuf *rm = rte_pktmbuf_alloc(cfg->pool);
					char *d = rm ? rte_pktmbuf_append(rm, (uint16_t)rl) : NULL;

					if (!d) {
						rte_pktmbuf_free(rm);
						st->reply_nomem++;
					} else {
						memcpy(d, r, rl);
						out[rs][nout[rs]++] = rm;
					}
				}
			}
		}
		for (side = 0; side < 2; side++)
			tx_flush(cfg->port[side], out[side], nout[side], &st->tx[side],
				 &st->tx_drop[side]);
		if (got)
			last_rx = tsc;
		else if (cfg->idle_exit_ms &&
			 tsc - last_rx > hz / 1000 * (uint64_t)cfg->idle_exit_ms)
			break;
		if (now != last_expire) {
			int rc = nat_pipeline_expire(cfg->pipe, now, 4096);

			(void)rc; /* counted by the pipeline */
			last_expire = now;
		}
	}
	return 0;
}
