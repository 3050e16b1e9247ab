/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_TEST_NAT_PIPELINE_UTIL_H
#define NCNAT_TEST_NAT_PIPELINE_UTIL_H
/*
 * Shared by the nat_pipeline tests (test_nat_pipeline.c: the rules on
 * hand-built frames; test_nat_pipeline_engine.c: the netchannel engine
 * underneath and generated traffic): the addresses and MACs of the test
 * network, the pipeline maker on a standard configuration (plus extra
 * lines), the frame builder, the re-verification of a transmitted frame
 * and a counter's value.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nat_pipeline.h"
#include "nat_test_util.h"
#include "nc_parse.h"

#define IN1 IP4(10, 0, 0, 5)
#define IN2 IP4(10, 0, 0, 6)
#define SRV IP4(10, 0, 0, 80)
#define POOL IP4(198, 51, 100, 1)
#define OUTA IP4(203, 0, 113, 1)
#define R1 IP4(192, 0, 2, 1)
#define R2 IP4(192, 0, 2, 2)

static const uint8_t GW_MAC[6] = {0x02, 0, 0, 0, 0x02, 0xfe};
static const uint8_t IN_MAC[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const uint8_t OUT_MAC[6] = {0x02, 0, 0, 0, 0x02, 0x01};
static const uint8_t H1_MAC[6] = {0x02, 0, 0, 0, 0x0a, 0x05};

static inline struct nat_pipeline *mk(const char *extra)
{
	char text[2048];
	struct nat_config *c = NULL;
	struct nat_pipeline *p = NULL;
	char err[256] = "";

	snprintf(text, sizeof(text),
		 "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
		 "outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n"
		 "pool 198.51.100.1\n"
		 "hold-down 120\n"
		 "%s\n"
		 "drop src 10.0.0.66\n"
		 "snat src 10.0.0.0/25\n"
		 "masquerade src 10.0.0.128/25\n"
		 "dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n",
		 extra);
	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(nat_pipeline_create(c, NULL, &p), 0);
	nat_config_free(c);
	return p;
}

static inline size_t pkt(uint8_t *b, uint8_t proto, uint32_t s, uint32_t d, uint16_t sp,
			 uint16_t dp, uint8_t flags, const uint8_t *src_mac)
{
	size_t n = nat_build(b, proto, s, d, sp, dp, flags, 10, 64, false, 42);

	memcpy(b + 6, src_mac, 6);
	return n;
}

static inline struct nc_pkt_info check(const uint8_t *b, size_t n)
{
	struct nc_pkt_info pi;
	const char *why = nat_verify(b, n);

	cr_assert_null(why, "%s", why);
	cr_assert_eq(nc_parse(b, n, 0, NC_LINK_ETHERNET, &pi), 0);
	return pi;
}

static inline uint64_t cnt(struct nat_pipeline *p, enum nat_counter c)
{
	return nat_pipeline_counters(p)->v[c];
}

#endif /* NCNAT_TEST_NAT_PIPELINE_UTIL_H */
