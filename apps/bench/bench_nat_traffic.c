/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat: the traffic model — the NAT's configuration for S sessions,
 * session j's frames in both directions and the checks of what the NAT
 * made of them.  The layout is described in bench_nat.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_nat_int.h"
#include "nat_config.h"
#include "nat_csum.h"
#include "nat_pipeline.h"

const uint8_t bnat_mac_nat_in[6] = {2, 0, 0, 0, 0, 1};
const uint8_t bnat_mac_gw_in[6] = {2, 0, 0, 0, 0, 0xfe};
const uint8_t bnat_mac_nat_out[6] = {2, 0, 0, 0, 1, 1};
const uint8_t bnat_mac_gw_out[6] = {2, 0, 0, 0, 1, 0xfe};

void bnat_model_init(struct model *m, uint32_t S, uint8_t proto)
{
	uint32_t per_host;

	m->S = S;
	m->proto = proto;
	m->H = (S + 63) / 64;
	if (m->H > MAX_HOSTS)
		m->H = MAX_HOSTS;
	per_host = (S + m->H - 1) / m->H;
	(void)per_host; /* <= 259 for S <= 16M: far below the default quota */
	m->A = (S + PORTS_PER_ADDR_USED - 1) / PORTS_PER_ADDR_USED;
}

static char *config_text(const struct model *m)
{
	uint32_t last = POOL_BASE + m->A - 1;
	char *buf = NULL;
	int n;

	n = asprintf(&buf,
		     "inside 10.255.255.1/24 mac 02:00:00:00:00:01 gateway 10.255.255.254 "
		     "gateway-mac 02:00:00:00:00:fe\n"
		     "outside 192.0.2.1/24 mac 02:00:00:00:01:01 gateway 192.0.2.254 "
		     "gateway-mac 02:00:00:00:01:fe\n"
		     "pool 100.64.0.1-%u.%u.%u.%u\n"
		     "sessions %u\n"
		     "log off\n"
		     "snat src 10.0.0.0/8\n",
		     last >> 24, (last >> 16) & 0xff, (last >> 8) & 0xff, last & 0xff, m->S);
	return n < 0 ? NULL : buf;
}

int bnat_pipeline_new(const struct model *m, unsigned index, unsigned count,
		      struct nat_pipeline **out)
{
	struct nat_config *cfg = NULL;
	char err[256];
	char *text = config_text(m);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = nat_config_parse_buffer(text, strlen(text), "ncbench-nat", &cfg, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "ncbench nat: config: %s\n", err);
		return rc;
	}
	if (count == 1)
		rc = nat_pipeline_create(cfg, NULL, out);
	else
		rc = nat_pipeline_create_shard(cfg, NULL, index, count, out);
	nat_config_free(cfg);
	if (rc)
		fprintf(stderr, "ncbench nat: %s: %s\n",
			count == 1 ? "nat_pipeline_create" : "nat_pipeline_create_shard",
			strerror(-rc));
	return rc;
}

/* A 60-byte Ethernet + IPv4 + UDP/TCP frame with correct checksums. */
static void build_frame(uint8_t *f, uint8_t proto, const uint8_t dmac[6], const uint8_t smac[6],
			uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
			uint8_t tcp_flags, uint32_t seq)
{
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint16_t l4len = 26; /* UDP 8 + 18, TCP 20 + 6 */
	uint16_t c;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	nat_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	nat_put16(ip + 2, (uint16_t)(20 + l4len));
	nat_put16(ip + 4, (uint16_t)seq);
	nat_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	nat_put16(ip + 10, 0);
	nat_put32(ip + 12, src);
	nat_put32(ip + 16, dst);
	nat_put16(ip + 10, nat_csum_full(ip, 20));
	memset(l4, 0, l4len);
	nat_put16(l4, sport);
	nat_put16(l4 + 2, dport);
	if (proto == 17) {
		nat_put16(l4 + 4, l4len);
		for (int i = 8; i < l4len; i++)
			l4[i] = (uint8_t)(i + seq);
		c = nat_csum_l4_ipv4(src, dst, proto, l4, l4len);
		nat_put16(l4 + 6, c ? c : 0xffff);
	} else {
		nat_put32(l4 + 4, seq);
		nat_put32(l4 + 8, tcp_flags & 0x10 ? seq ^ 0x5a5a5a5au : 0);
		l4[12] = 0x50;
		l4[13] = tcp_flags;
		nat_put16(l4 + 14, 65535);
		for (int i = 20; i < l4len; i++)
			l4[i] = (uint8_t)(i + seq);
		nat_put16(l4 + 16, nat_csum_l4_ipv4(src, dst, proto, l4, l4len));
	}
}

void bnat_frame_in2out(const struct model *m, uint8_t *f, uint32_t j, uint8_t flags)
{
	build_frame(f, m->proto, bnat_mac_nat_in, bnat_mac_gw_in, bnat_host_of(m, j),
		    bnat_rem_of(j), bnat_in_port_of(m, j), bnat_rport_of(m), flags, j);
}

void bnat_frame_out2in(const struct model *m, uint8_t *f, uint32_t j, const struct ext_ep *e,
		       uint8_t flags)
{
	build_frame(f, m->proto, bnat_mac_nat_out, bnat_mac_gw_out, bnat_rem_of(j), e->addr,
		    bnat_rport_of(m), e->port, flags, j);
}

/* Checksums of a 60-byte frame as built above (after translation). */
static bool frame_csums_ok(const uint8_t *f)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t src = nat_get32(ip + 12), dst = nat_get32(ip + 16);

	if (!nat_csum_ipv4_ok(ip) || ip[8] != 63)
		return false;
	if (ip[9] == 17 && nat_get16(l4 + 6) == 0)
		return true;
	return nat_csum_l4_ipv4(src, dst, ip[9], l4, 26) == 0;
}

bool bnat_check_in2out(const struct model *m, const uint8_t *f, uint32_t j,
		       const struct ext_ep *e, struct ext_ep *got)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t src = nat_get32(ip + 12);
	uint16_t sport = nat_get16(l4);

	if (memcmp(f, bnat_mac_gw_out, 6) || memcmp(f + 6, bnat_mac_nat_out, 6) ||
	    !frame_csums_ok(f) || nat_get32(ip + 16) != bnat_rem_of(j) ||
	    nat_get16(l4 + 2) != bnat_rport_of(m))
		return false;
	if (e && (src != e->addr || sport != e->port))
		return false;
	if (src < POOL_BASE || src >= POOL_BASE + m->A)
		return false;
	if (got) {
		got->addr = src;
		got->port = sport;
		got->pad = 0;
	}
	return true;
}

bool bnat_check_out2in(const struct model *m, const uint8_t *f, uint32_t j)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;

	return !memcmp(f, bnat_mac_gw_in, 6) && !memcmp(f + 6, bnat_mac_nat_in, 6) &&
	       frame_csums_ok(f) && nat_get32(ip + 12) == bnat_rem_of(j) &&
	       nat_get16(l4) == bnat_rport_of(m) && nat_get32(ip + 16) == bnat_host_of(m, j) &&
	       nat_get16(l4 + 2) == bnat_in_port_of(m, j);
}
