/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mbuf path of the engine: an rx burst of rte_mbufs enters the same
 * pipeline as plain buffers (netchannel.c), and dropped mbufs are freed here
 * so that netchannel.c itself needs no mbuf code.
 */
#include <errno.h>

#include <rte_mbuf.h>

#include "netchannel_int.h"

void nc_mbuf_free(void *mbuf)
{
	rte_pktmbuf_free(mbuf);
}

int nc_engine_rx_mbufs(struct nc_engine *e, struct rte_mbuf *const mbufs[], unsigned n,
		       uint16_t in_port, uint64_t now)
{
	unsigned handed = 0;

	if (e == NULL || (n > 0 && mbufs == NULL))
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	for (unsigned off = 0; off < n; off += NC_BURST_MAX) {
		unsigned m = n - off < NC_BURST_MAX ? n - off : NC_BURST_MAX;

		/* Prefetch the headers of the burst before parsing any. */
		for (unsigned i = 0; i < m; i++)
			rte_prefetch0(rte_pktmbuf_mtod(mbufs[off + i], void *));
		for (unsigned i = 0; i < m; i++) {
			struct rte_mbuf *mb = mbufs[off + i];

			nc_engine_prep(e, i, rte_pktmbuf_mtod(mb, const uint8_t *),
				       rte_pktmbuf_data_len(mb), mb, NC_PKT_MBUF, in_port);
		}
		handed += nc_engine_run(e, m, now);
	}
	return (int)handed;
}
