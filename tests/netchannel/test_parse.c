/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the packet parser (lib/netchannel/nc_parse.h).
 * Golden packets come from tests/netchannel/gen_packets.py (scapy) through
 * fixtures/golden_packets.h.  Every prefix of every golden packet is parsed
 * from a heap buffer of exactly that size, so ASan catches any over-read.
 * Random tests print their seed; NC_TEST_SEED=<n> replays one.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nc_parse.h"

struct golden {
	const char *name;
	enum nc_link link;
	const uint8_t *data;
	size_t len;
	uint8_t status, layers, malformed;
	uint16_t flags;
	uint8_t vlan_count;
	uint16_t vlan_tci[2], vlan_tpid[2];
	uint8_t family, proto;
	uint16_t sport, dport;
	uint64_t src_hi, src_lo, dst_hi, dst_lo;
	uint16_t l3_off, l3_len, l4_off, l4_len;
	uint32_t ip_len;
	uint8_t ttl, tcp_flags, icmp_type, icmp_code;
	uint16_t icmp_id;
	uint16_t frag_off;
	uint32_t frag_id;
	uint8_t check_frag_id;
	uint8_t has_inner, in_status, in_layers, in_only_status, in_proto;
	uint16_t in_sport, in_dport;
	uint64_t in_src_hi, in_src_lo, in_dst_hi, in_dst_lo;
	uint16_t in_l3_off, in_l4_off;
};

#include "fixtures/golden_packets.h"

static unsigned long test_seed(void)
{
	const char *s = getenv("NC_TEST_SEED");
	unsigned long seed = s ? strtoul(s, NULL, 0) : (unsigned long)time(NULL);

	fprintf(stderr, "test_parse: seed %lu (replay with NC_TEST_SEED=%lu)\n", seed, seed);
	return seed;
}

/* Parse data[0..n) from a heap copy of exactly n bytes. */
static void parse_exact(const uint8_t *data, size_t n, enum nc_link link, struct nc_pkt_info *pi)
{
	uint8_t *buf = n ? malloc(n) : NULL;

	if (n)
		memcpy(buf, data, n);
	cr_assert_eq(nc_parse(buf, n, 7, link, pi), 0);
	free(buf);
}

static void check_addr(uint8_t family, const union cls_addr *a, uint64_t hi, uint64_t lo,
		       const char *name, const char *what)
{
	if (family == CLS_IPV4) {
		cr_expect_eq(a->v4, (uint32_t)lo, "%s: %s %#x != %#x", name, what, a->v4,
			     (unsigned)lo);
	} else {
		cr_expect_eq(a->v6.hi, hi, "%s: %s.hi", name, what);
		cr_expect_eq(a->v6.lo, lo, "%s: %s.lo", name, what);
	}
}

/* ---------------------------------------------------------------- bad args */

Test(parse_args, null_out)
{
	uint8_t b[64] = {0};

	cr_assert_eq(nc_parse(b, sizeof(b), 0, NC_LINK_ETHERNET, NULL), -EINVAL);
}

Test(parse_args, null_pkt_with_len)
{
	struct nc_pkt_info pi;

	cr_assert_eq(nc_parse(NULL, 10, 0, NC_LINK_ETHERNET, &pi), -EINVAL);
}

Test(parse_args, bad_link_leaves_out_untouched)
{
	uint8_t b[64] = {0};
	struct nc_pkt_info pi;

	memset(&pi, 0xa5, sizeof(pi));
	cr_assert_eq(nc_parse(b, sizeof(b), 0, NC_LINK_COUNT, &pi), -EINVAL);
	cr_assert_eq(nc_parse(b, sizeof(b), 0, (enum nc_link)-1, &pi), -EINVAL);
	cr_assert_eq(pi.status, 0xa5);
}

Test(parse_args, empty_buffer)
{
	struct nc_pkt_info pi;

	cr_assert_eq(nc_parse(NULL, 0, 3, NC_LINK_ETHERNET, &pi), 0);
	cr_assert_eq(pi.status, NC_PARSE_TRUNC_L2);
	cr_assert_eq(pi.in_port, 3);
	cr_assert_eq(nc_parse(NULL, 0, 3, NC_LINK_RAW, &pi), 0);
	cr_assert_eq(pi.status, NC_PARSE_TRUNC_IP);
	cr_assert_eq(nc_parse(NULL, 0, 3, NC_LINK_SLL2, &pi), 0);
	cr_assert_eq(pi.status, NC_PARSE_TRUNC_L2);
}

Test(parse_args, reason_strings)
{
	cr_assert_str_eq(nc_parse_reason_str(-1), "unknown status");
	cr_assert_str_eq(nc_parse_reason_str(NC_PARSE_STATUS_COUNT), "unknown status");
	cr_assert_str_eq(nc_parse_status_name(NC_PARSE_STATUS_COUNT), "unknown");
	cr_assert_str_eq(nc_parse_reason_str(NC_PARSE_OK), "ok");
	cr_assert_str_eq(nc_parse_reason_str(NC_PARSE_TRUNC_TCP), "truncated TCP header");
	cr_assert_str_eq(nc_parse_status_name(NC_PARSE_BAD_IHL), "bad_ihl");
	for (int i = 0; i < NC_PARSE_STATUS_COUNT; i++) {
		cr_assert(nc_parse_reason_str(i)[0] != '\0');
		for (int j = 0; j < i; j++) {
			cr_assert_str_neq(nc_parse_reason_str(i), nc_parse_reason_str(j));
			cr_assert_str_neq(nc_parse_status_name(i), nc_parse_status_name(j));
		}
	}
	cr_assert_str_eq(nc_link_name(NC_LINK_SLL2), "sll2");
	cr_assert_str_eq(nc_link_name(99), "unknown");
}

Test(parse_args, link_from_dlt)
{
	static const struct { int dlt; enum nc_link link; } map[] = {
		{1, NC_LINK_ETHERNET}, {12, NC_LINK_RAW}, {14, NC_LINK_RAW}, {101, NC_LINK_RAW},
		{228, NC_LINK_IPV4}, {229, NC_LINK_IPV6}, {113, NC_LINK_SLL}, {276, NC_LINK_SLL2},
	};
	enum nc_link l;

	cr_assert_eq(nc_link_from_dlt(1, NULL), -EINVAL);
	cr_assert_eq(nc_link_from_dlt(0, &l), -ENOTSUP);
	cr_assert_eq(nc_link_from_dlt(105, &l), -ENOTSUP);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		cr_assert_eq(nc_link_from_dlt(map[i].dlt, &l), 0);
		cr_assert_eq(l, map[i].link, "dlt %d", map[i].dlt);
	}
}

/* ---------------------------------------------------------------- golden */

static void check_golden(const struct golden *g)
{
	struct nc_pkt_info pi;

	parse_exact(g->data, g->len, g->link, &pi);
	cr_expect_eq(pi.status, g->status, "%s: status %s, want %s", g->name,
		     nc_parse_status_name(pi.status), nc_parse_status_name(g->status));
	cr_expect_eq(pi.layers, g->layers, "%s: layers %#x want %#x", g->name, pi.layers,
		     g->layers);
	cr_expect_eq(pi.in_port, 7);
	cr_expect_eq(pi.link, g->link);
	if (!g->malformed) {
		cr_expect_eq(pi.flags, g->flags, "%s: flags %#x want %#x", g->name, pi.flags,
			     g->flags);
		cr_expect_eq(pi.vlan_count, g->vlan_count, "%s: vlans", g->name);
		for (unsigned i = 0; i < g->vlan_count; i++) {
			cr_expect_eq(pi.vlan_tci[i], g->vlan_tci[i], "%s: tci[%u]", g->name, i);
			cr_expect_eq(pi.vlan_tpid[i], g->vlan_tpid[i], "%s: tpid[%u] %#x", g->name, i,
				     pi.vlan_tpid[i]);
		}
	}
	if (g->has_inner) {
		cr_expect(pi.flags & NC_PF_ICMP_ERROR, "%s: error flag", g->name);
		cr_expect_eq(pi.inner.status, g->in_status, "%s: inner status %s", g->name,
			     nc_parse_status_name(pi.inner.status));
	}
	if (g->family == 0)
		return;
	cr_expect_eq(pi.key.family, g->family, "%s: family", g->name);
	cr_expect_eq(pi.key.proto, g->proto, "%s: proto %u", g->name, pi.key.proto);
	cr_expect_eq(pi.key.sport, g->sport, "%s: sport %u want %u", g->name, pi.key.sport, g->sport);
	cr_expect_eq(pi.key.dport, g->dport, "%s: dport %u want %u", g->name, pi.key.dport, g->dport);
	check_addr(g->family, &pi.key.src, g->src_hi, g->src_lo, g->name, "src");
	check_addr(g->family, &pi.key.dst, g->dst_hi, g->dst_lo, g->name, "dst");
	cr_expect_eq(pi.l3_off, g->l3_off, "%s: l3_off %u", g->name, pi.l3_off);
	cr_expect_eq(pi.l3_len, g->l3_len, "%s: l3_len %u want %u", g->name, pi.l3_len, g->l3_len);
	cr_expect_eq(pi.l4_off, g->l4_off, "%s: l4_off %u want %u", g->name, pi.l4_off, g->l4_off);
	cr_expect_eq(pi.l4_len, g->l4_len, "%s: l4_len %u want %u", g->name, pi.l4_len, g->l4_len);
	cr_expect_eq(pi.ip_len, g->ip_len, "%s: ip_len %u", g->name, pi.ip_len);
	cr_expect_eq(pi.ttl, g->ttl, "%s: ttl", g->name);
	cr_expect_eq(pi.tcp_flags, g->tcp_flags, "%s: tcp flags %#x", g->name, pi.tcp_flags);
	cr_expect_eq(pi.icmp_type, g->icmp_type, "%s: icmp type", g->name);
	cr_expect_eq(pi.icmp_code, g->icmp_code, "%s: icmp code", g->name);
	cr_expect_eq(pi.icmp_id, g->icmp_id, "%s: icmp id", g->name);
	cr_expect_eq(pi.frag_off, g->frag_off, "%s: frag off %u", g->name, pi.frag_off);
	if (g->check_frag_id)
		cr_expect_eq(pi.frag_id, g->frag_id, "%s: frag id %#x", g->name, pi.frag_id);
	if (g->has_inner && !g->in_only_status) {
		cr_expect_eq(pi.inner.layers, g->in_layers, "%s: inner layers", g->name);
		cr_expect_eq(pi.inner.key.family, g->family, "%s: inner family", g->name);
		cr_expect_eq(pi.inner.key.proto, g->in_proto, "%s: inner proto", g->name);
		cr_expect_eq(pi.inner.key.sport, g->in_sport, "%s: inner sport %u", g->name,
			     pi.inner.key.sport);
		cr_expect_eq(pi.inner.key.dport, g->in_dport, "%s: inner dport %u", g->name,
			     pi.inner.key.dport);
		check_addr(g->family, &pi.inner.key.src, g->in_src_hi, g->in_src_lo, g->name,
			   "inner src");
		check_addr(g->family, &pi.inner.key.dst, g->in_dst_hi, g->in_dst_lo, g->name,
			   "inner dst");
		cr_expect_eq(pi.inner.l3_off, g->in_l3_off, "%s: inner l3_off", g->name);
		cr_expect_eq(pi.inner.l4_off, g->in_l4_off, "%s: inner l4_off %u", g->name,
			     pi.inner.l4_off);
	}
}

Test(parse_golden, every_packet)
{
	for (size_t i = 0; i < GOLDEN_COUNT; i++)
		check_golden(&golden_packets[i]);
}

Test(parse_golden, covers_every_status)
{
	bool seen[NC_PARSE_STATUS_COUNT] = {false};

	for (size_t i = 0; i < GOLDEN_COUNT; i++)
		seen[golden_packets[i].status] = true;
	/* Truncations are covered by the prefix test; these must have a golden. */
	static const int must[] = {NC_PARSE_OK, NC_PARSE_VLAN_DEPTH, NC_PARSE_NOT_IP,
		NC_PARSE_BAD_VERSION, NC_PARSE_BAD_IHL, NC_PARSE_BAD_IP_LEN, NC_PARSE_BAD_EXT,
		NC_PARSE_EXT_DEPTH, NC_PARSE_FRAGMENT, NC_PARSE_UNSUPPORTED_PROTO,
		NC_PARSE_BAD_TCP_OFF, NC_PARSE_BAD_UDP_LEN, NC_PARSE_TRUNC_PAYLOAD};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		cr_expect(seen[must[i]], "no golden packet for %s", nc_parse_status_name(must[i]));
}

static size_t link_hdr_len(enum nc_link l)
{
	return l == NC_LINK_ETHERNET ? 14 : l == NC_LINK_SLL ? 16 : l == NC_LINK_SLL2 ? 20 : 0;
}

static uint8_t l4_trunc_status(uint8_t proto)
{
	return proto == 6 ? NC_PARSE_TRUNC_TCP : proto == 17 ? NC_PARSE_TRUNC_UDP
							     : NC_PARSE_TRUNC_ICMP;
}

/* The status a prefix of n bytes must get: the layer the cut falls in. */
static uint8_t expected_prefix_status(const struct golden *g, size_t n)
{
	size_t l2 = link_hdr_len(g->link);

	if (n < l2)
		return NC_PARSE_TRUNC_L2;
	if (g->status == NC_PARSE_VLAN_DEPTH)
		return n < l2 + 8 ? NC_PARSE_TRUNC_VLAN : NC_PARSE_VLAN_DEPTH;
	if (n < l2 + 4u * g->vlan_count)
		return NC_PARSE_TRUNC_VLAN;
	if (g->family == 0)
		return g->status;
	if (n < g->l3_off + (g->family == 4 ? g->l3_len : 40u))
		return NC_PARSE_TRUNC_IP;
	if (n < (size_t)g->l3_off + g->l3_len)
		return NC_PARSE_TRUNC_EXT;
	if (n < (size_t)g->l4_off + g->l4_len)
		return l4_trunc_status(g->proto);
	if (n >= (size_t)g->l3_off + g->ip_len)
		return g->status;
	return g->status == NC_PARSE_OK ? NC_PARSE_TRUNC_PAYLOAD : g->status;
}

Test(parse_golden, every_truncation_point)
{
	for (size_t i = 0; i < GOLDEN_COUNT; i++) {
		const struct golden *g = &golden_packets[i];
		struct nc_pkt_info full;

		parse_exact(g->data, g->len, g->link, &full);
		for (size_t n = 0; n < g->len; n++) {
			struct nc_pkt_info pi;

			parse_exact(g->data, n, g->link, &pi);
			cr_assert_lt(pi.status, NC_PARSE_STATUS_COUNT);
			if (g->malformed)
				continue;
			uint8_t want = expected_prefix_status(g, n);
			cr_expect_eq(pi.status, want, "%s cut at %zu: %s, want %s", g->name, n,
				     nc_parse_status_name(pi.status), nc_parse_status_name(want));
			if (g->family && n < (size_t)g->l3_off + g->ip_len)
				cr_expect_neq(pi.status, NC_PARSE_OK, "%s cut at %zu parsed ok",
					      g->name, n);
			/* Once a layer is in the buffer, its part of the key is final. */
			if (g->family && (pi.layers & NC_LAYER_L3)) {
				cr_expect_eq(pi.key.family, full.key.family);
				cr_expect_eq(pi.key.proto, full.key.proto, "%s at %zu", g->name, n);
				cr_expect(!memcmp(&pi.key.src, &full.key.src, sizeof(pi.key.src)));
				cr_expect(!memcmp(&pi.key.dst, &full.key.dst, sizeof(pi.key.dst)));
			}
			if (g->family && (pi.layers & NC_LAYER_L4)) {
				cr_expect_eq(pi.key.sport, full.key.sport, "%s at %zu", g->name, n);
				cr_expect_eq(pi.key.dport, full.key.dport, "%s at %zu", g->name, n);
			}
			if (g->family && g->status == NC_PARSE_OK && n >= (size_t)g->l4_off + g->l4_len)
				cr_expect(pi.layers & NC_LAYER_L4, "%s at %zu: no L4", g->name, n);
		}
	}
}

/* ---------------------------------------------------------------- specifics */

static const struct golden *find_golden(const char *name)
{
	for (size_t i = 0; i < GOLDEN_COUNT; i++)
		if (!strcmp(golden_packets[i].name, name))
			return &golden_packets[i];
	cr_assert_fail("no golden packet %s", name);
	return NULL;
}

Test(parse_behaviour, icmp_reply_key_is_reverse_of_request)
{
	struct nc_pkt_info req, rep;
	const struct golden *a = find_golden("eth_ipv4_icmp_echo_req");
	const struct golden *b = find_golden("eth_ipv4_icmp_echo_reply");

	parse_exact(a->data, a->len, a->link, &req);
	parse_exact(b->data, b->len, b->link, &rep);
	cr_assert_eq(req.key.src.v4, rep.key.dst.v4);
	cr_assert_eq(req.key.dst.v4, rep.key.src.v4);
	cr_assert_eq(req.key.sport, rep.key.dport);
	cr_assert_eq(req.key.dport, rep.key.sport);
}

Test(parse_behaviour, key_format)
{
	struct nc_pkt_info pi;
	char buf[128];
	const struct golden *g = find_golden("eth_ipv4_tcp_syn_opts");

	parse_exact(g->data, g->len, g->link, &pi);
	cr_assert_eq(nc_key_format(&pi.key, buf, sizeof(buf)), (int)strlen(buf));
	cr_assert_str_eq(buf, "tcp 10.0.0.2:40000 > 198.51.100.7:443");
	g = find_golden("eth_ipv6_udp");
	parse_exact(g->data, g->len, g->link, &pi);
	(void)nc_key_format(&pi.key, buf, sizeof(buf));
	cr_assert_str_eq(buf, "udp [2001:db8::2]:123 > [2001:db8:ffff:1::7]:123");
	g = find_golden("eth_ipv6_esp");
	parse_exact(g->data, g->len, g->link, &pi);
	(void)nc_key_format(&pi.key, buf, sizeof(buf));
	cr_assert_str_eq(buf, "50 [2001:db8::2]:0 > [2001:db8:ffff:1::7]:0");
	(void)nc_key_format(NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "(no key)");
	cr_assert_gt(nc_key_format(&pi.key, buf, 4), 4);
	cr_assert_eq(strlen(buf), 3);
}

Test(parse_behaviour, cls_key_copy)
{
	struct nc_pkt_info pi;
	struct cls_key k;
	const struct golden *g = find_golden("eth_qinq_ipv4_tcp");

	parse_exact(g->data, g->len, g->link, &pi);
	nc_key_to_cls(&pi, &k);
	cr_assert(nc_pkt_has_key(&pi));
	cr_assert_eq(k.family, CLS_IPV4);
	cr_assert_eq(k.sport, 5555);
	cr_assert_eq(k.dport, 6666);
	cr_assert_eq(pi.ethertype, 0x0800);
}

Test(parse_behaviour, sll_packet_type)
{
	struct nc_pkt_info pi;
	const struct golden *g = find_golden("sll_ipv4_tcp");

	parse_exact(g->data, g->len, g->link, &pi);
	cr_assert_eq(pi.link_pkttype, 4);
	g = find_golden("sll2_ipv6_udp");
	parse_exact(g->data, g->len, g->link, &pi);
	cr_assert_eq(pi.link_pkttype, 0);
	cr_assert_eq(pi.ethertype, 0x86dd);
}

Test(parse_behaviour, arp_offset_for_the_nat)
{
	struct nc_pkt_info pi;
	const struct golden *g = find_golden("eth_arp");

	parse_exact(g->data, g->len, g->link, &pi);
	cr_assert_eq(pi.status, NC_PARSE_NOT_IP);
	cr_assert_eq(pi.ethertype, 0x0806);
	cr_assert_eq(pi.l3_off, 14);
	cr_assert(!nc_pkt_has_key(&pi));
	cr_assert_eq(nc_pkt_l4_csum_off(&pi), -1);
}

Test(parse_behaviour, checksum_offsets)
{
	static const struct { const char *name; int off; } c[] = {
		{"eth_ipv4_tcp_data", 14 + 20 + 16}, {"eth_ipv4_udp", 14 + 20 + 6},
		{"eth_ipv4_icmp_echo_req", 14 + 20 + 2}, {"eth_ipv6_echo_req", 14 + 40 + 2},
		{"eth_qinq_ipv4_tcp", 22 + 20 + 16}, {"eth_ipv4_gre", -1},
		{"eth_ipv4_frag_middle", -1},
	};
	struct nc_pkt_info pi;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct golden *g = find_golden(c[i].name);

		parse_exact(g->data, g->len, g->link, &pi);
		cr_expect_eq(nc_pkt_l4_csum_off(&pi), c[i].off, "%s", c[i].name);
	}
}

/* Structural invariants every result must meet, whatever the input. */
static void check_invariants(const struct nc_pkt_info *pi, size_t len)
{
	cr_assert_lt(pi->status, NC_PARSE_STATUS_COUNT);
	if (pi->layers & NC_LAYER_L4)
		cr_assert(pi->layers & NC_LAYER_L3);
	if (pi->status == NC_PARSE_OK)
		cr_assert(pi->layers & NC_LAYER_L4);
	if (pi->layers & NC_LAYER_L3) {
		cr_assert(pi->key.family == CLS_IPV4 || pi->key.family == CLS_IPV6);
		cr_assert_leq((size_t)pi->l3_off + pi->l3_len, len);
		cr_assert_leq((size_t)pi->l4_off, len);
	}
	if (pi->layers & NC_LAYER_L4)
		cr_assert_leq((size_t)pi->l4_off + pi->l4_len, len);
	cr_assert_leq(pi->vlan_count, 2);
}

Test(parse_random, mutated_golden_packets)
{
	unsigned long seed = test_seed();
	uint8_t buf[2048];

	srandom((unsigned)seed);
	for (int iter = 0; iter < 20000; iter++) {
		const struct golden *g = &golden_packets[random() % GOLDEN_COUNT];
		size_t n = g->len;
		struct nc_pkt_info pi;

		memcpy(buf, g->data, n);
		for (int k = random() % 4; k >= 0; k--)
			buf[random() % n] ^= (uint8_t)(1u << (random() % 8));
		if (random() % 4 == 0)
			n = (size_t)random() % (n + 1);
		parse_exact(buf, n, (enum nc_link)(random() % NC_LINK_COUNT), &pi);
		check_invariants(&pi, n);
	}
}

Test(parse_random, random_bytes)
{
	unsigned long seed = test_seed();
	uint8_t buf[256];

	srandom((unsigned)seed ^ 0x5a5a5a5a);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)random() % sizeof(buf);
		struct nc_pkt_info pi;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)random();
		/* Make IP-looking headers likely. */
		if (n > 20 && random() % 2)
			buf[random() % 2 ? 0 : 14] = random() % 2 ? 0x45 : 0x60;
		parse_exact(buf, n, (enum nc_link)(random() % NC_LINK_COUNT), &pi);
		check_invariants(&pi, n);
	}
}
