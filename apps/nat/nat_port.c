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

static void tx_flush(uint16_t port, struct rte_mbuf **m, uint16_t n, uint64_t *tx,
		     uint64_t *drop)
{
	uint16_t sent = n ? rte_eth_tx_burst(port, 0, m, n) : 0, i;

	*tx += sent;
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]);
	*drop += (uint64_t)(n - sent);
}

/* Append the pipeline's output of the last burst (and its reply frames,
 * copied into fresh mbufs) to the per-side TX lists. */
static void collect(const struct nat_loop_config *cfg, struct nat_loop_stats *st,
		    struct rte_mbuf *out[2][NAT_OUT_MAX], uint16_t nout[2])
{
	unsigned side, i, n;

	for (side = 0; side < 2; side++) {
		void *const *v;

		n = nat_pipeline_tx(cfg->pipe, (enum nat_side)side, &v);
		for (i = 0; i < n; i++)
			out[side][nout[side]++] = v[i];
	}
	n = nat_pipeline_replies(cfg->pipe);
	for (i = 0; i < n; i++) {
		enum nat_side rs;
		uint32_t rl;
		const uint8_t *r = nat_pipeline_reply_at(cfg->pipe, i, &rl, &rs);
		struct rte_mbuf *rm = rte_pktmbuf_alloc(cfg->pool);
		char *d = rm ? rte_pktmbuf_append(rm, (uint16_t)rl) : NULL;

		if (!d) {
			rte_pktmbuf_free(rm);
			st->reply_nomem++;
			continue;
		}
		memcpy(d, r, rl);
		out[rs][nout[rs]++] = rm;
	}
}

int nat_loop_run(const struct nat_loop_config *cfg, struct nat_loop_stats *st)
{
	struct rte_mbuf *rx[NAT_BURST], *out[2][NAT_OUT_MAX];
	uint64_t hz = rte_get_tsc_hz(), last_rx, last_hook = 0, hook_every;
	int side;

	if (!cfg || !st || !cfg->pipe || !cfg->pool || !cfg->quit)
		return -EINVAL;
	hook_every = hz / 1000000 * (cfg->hook_us ? cfg->hook_us : 1000);
	memset(st, 0, sizeof(*st));
	last_rx = rte_get_tsc_cycles();
	while (!*cfg->quit) {
		uint64_t now = now_seconds(), tsc = rte_get_tsc_cycles();
		uint16_t nout[2] = {0, 0};
		unsigned got = 0;

		for (side = 0; side < 2; side++) {
			uint16_t n = rte_eth_rx_burst(cfg->port[side], 0, rx, NAT_BURST), i, k = 0;
			int rc;

			st->rx[side] += n;
			got += n;
			for (i = 0; i < n; i++) {
				/* the parser and the rewrite see the first segment only */
				if (rx[i]->nb_segs != 1) {
					st->multiseg_drop++;
					rte_pktmbuf_free(rx[i]);
					continue;
				}
				rx[k++] = rx[i];
			}
			if (k == 0)
				continue;
			rc = nat_pipeline_rx_mbufs(cfg->pipe, (enum nat_side)side, rx, k, now);
			if (rc) { /* cannot happen: k <= NAT_BURST <= NAT_RX_MAX */
				for (i = 0; i < k; i++)
					rte_pktmbuf_free(rx[i]);
				continue;
			}
			collect(cfg, st, out, nout);
		}
		for (side = 0; side < 2; side++)
			tx_flush(cfg->port[side], out[side], nout[side], &st->tx[side],
				 &st->tx_drop[side]);
		if (got)
			last_rx = tsc;
		else if (cfg->idle_exit_ms &&
			 tsc - last_rx > hz / 1000 * (uint64_t)cfg->idle_exit_ms)
			break;
		{
			/* a few session slots every turn: a full pass over 10 M
			 * sessions takes seconds under load (~300 K turns/s) and
			 * less when idle, and no turn pays for a big sweep */
			int rc = nat_pipeline_expire(cfg->pipe, now, NAT_EXPIRE_STEP);

			(void)rc; /* counted by the pipeline */
		}
		if (cfg->hook && tsc - last_hook >= hook_every) {
			cfg->hook(cfg->hook_arg);
			last_hook = tsc;
		}
	}
	return 0;
}

uint64_t nat_loop_clock(void)
{
	return now_seconds();
}
