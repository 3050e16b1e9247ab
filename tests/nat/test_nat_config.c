/* SPDX-License-Identifier: BSD-3-Clause */
/* nat_config: bad arguments, a full example, defaults, and one error per rule
 * of validation, each with its file:line message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "nat_config.h"
#include "nat_test_util.h"

#define BASE "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n" \
	     "outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n"

static int parse(const char *text, struct nat_config **c, char *err, size_t n)
{
	return nat_config_parse_buffer(text, strlen(text), "t.conf", c, err, n);
}

Test(nat_config, bad_arguments)
{
	struct nat_config *c = (void *)1;
	char err[128];

	cr_assert_eq(nat_config_parse_buffer(NULL, 3, "x", &c, err, sizeof(err)), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(nat_config_parse_buffer("", 0, NULL, &c, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_buffer("", 0, "x", NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_buffer("", 0, "x", &c, NULL, 5), -EINVAL);
	cr_assert_eq(nat_config_parse_file(NULL, &c, err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_config_parse_file("/nonexistent/ncnat.conf", &c, err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "/nonexistent/ncnat.conf: ") == err, "%s", err);
	nat_config_free(NULL);
}

Test(nat_config, full_example)
{
	const char *text =
		"# ncnat example\n"
		BASE
		"pool 198.51.100.0/30   # four addresses\n"
		"pool 192.0.2.10-192.0.2.11\n"
		"filtering address-dependent\n"
		"timeout udp 600\n"
		"timeout tcp-established 8000\n"
		"timeout tcp-transitory 300\n"
		"timeout icmp 90\n"
		"ports 2048-4095\n"
		"quota 512\n"
		"port-block 64\n"
		"hold-down 30\n"
		"sessions 1000\n"
		"log off\n"
		"\n"
		"bypass src 10.0.0.0/24 dst 10.1.0.0/16\n"
		"drop src 10.0.0.66\n"
		"snat src 10.0.0.0/25 proto udp sport 1000-2000\n"
		"masquerade src 10.0.0.0/24\n"
		"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.5:80\n"
		"dnat dst 198.51.100.1 proto udp dport 53 to 10.0.0.6\n";
	struct nat_config *c = NULL;
	char err[256] = "";

	cr_assert_eq(parse(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->inside.addr, IP4(10, 0, 0, 1));
	cr_assert_eq(c->inside.plen, 24);
	cr_assert_eq(c->inside.mac[5], 1);
	cr_assert(c->outside.has_gateway && c->outside.has_gateway_mac);
	cr_assert_eq(c->outside.gateway_mac[5], 0xfe);
	cr_assert_eq(c->n_pool, 2);
	cr_assert_eq(c->pool_addrs, 6);
	cr_assert_eq(nat_config_pool_addr(c, 0), IP4(198, 51, 100, 0));
	cr_assert_eq(nat_config_pool_addr(c, 5), IP4(192, 0, 2, 11));
	cr_assert_eq(nat_config_pool_addr(c, 6), 0);
	cr_assert(nat_config_in_pool(c, IP4(192, 0, 2, 10)));
	cr_assert_not(nat_config_in_pool(c, IP4(192, 0, 2, 12)));
	cr_assert_eq(c->filtering, NAT_FILTER_ADF);
	cr_assert_eq(c->timeout_udp, 600);
	cr_assert_eq(c->timeout_tcp_est, 8000);
	cr_assert_eq(c->timeout_tcp_trans, 300);
	cr_assert_eq(c->timeout_icmp, 90);
	cr_assert_eq(c->port_lo, 2048);
	cr_assert_eq(c->port_hi, 4095);
	cr_assert_eq(c->quota, 512);
	cr_assert_eq(c->port_block, 64);
	cr_assert_eq(c->hold_down, 30);
	cr_assert_eq(c->sessions, 1000);
	cr_assert_not(c->log);
	cr_assert_eq(c->n_rules, 6);
	cr_assert_eq(c->rules[0].action, NAT_ACT_BYPASS);
	cr_assert_eq(c->rules[0].match.dst_lo.v4, IP4(10, 1, 0, 0));
	cr_assert_eq(c->rules[0].match.dst_hi.v4, IP4(10, 1, 255, 255));
	cr_assert_eq(c->rules[1].action, NAT_ACT_DROP);
	cr_assert_eq(c->rules[1].match.src_lo.v4, c->rules[1].match.src_hi.v4);
	cr_assert_eq(c->rules[2].action, NAT_ACT_SNAT);
	cr_assert_eq(c->rules[2].match.proto, 17);
	cr_assert_eq(c->rules[2].match.proto_mask, 0xff);
	cr_assert_eq(c->rules[2].match.sport_lo, 1000);
	cr_assert_eq(c->rules[2].match.sport_hi, 2000);
	cr_assert_eq(c->rules[2].line, 20);
	cr_assert_eq(c->rules[3].action, NAT_ACT_MASQUERADE);
	cr_assert_eq(c->rules[3].match.proto_mask, 0);
	cr_assert_eq(c->rules[4].action, NAT_ACT_DNAT);
	cr_assert_eq(c->rules[4].to_addr, IP4(10, 0, 0, 5));
	cr_assert_eq(c->rules[4].to_port, 80);
	cr_assert_eq(c->rules[5].to_port, 53);
	/* earlier rules have higher priority */
	cr_assert_gt(c->rules[0].match.priority, c->rules[1].match.priority);
	nat_config_free(c);
}

Test(nat_config, defaults)
{
	struct nat_config *c = NULL;
	char err[256] = "";

	cr_assert_eq(parse(BASE, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->filtering, NAT_FILTER_APDF);
	cr_assert_eq(c->timeout_udp, 300);
	cr_assert_eq(c->timeout_tcp_est, 7440);
	cr_assert_eq(c->timeout_tcp_trans, 240);
	cr_assert_eq(c->timeout_icmp, 60);
	cr_assert_eq(c->port_lo, 1024);
	cr_assert_eq(c->port_hi, 65535);
	cr_assert_eq(c->quota, 4096);
	cr_assert_eq(c->port_block, 1);
	cr_assert_eq(c->hold_down, 120);
	cr_assert(c->log);
	cr_assert_eq(c->n_rules, 0);
	nat_config_free(c);
}

/* Each case: text and the exact expected message. */
static const struct {
	const char *text, *msg;
} bad[] = {
	{"", "t.conf:0: missing 'inside ADDR/LEN mac MAC'"},
	{"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n", "t.conf:1: missing 'outside ADDR/LEN mac MAC'"},
	{BASE "inside 10.0.0.1/24 mac 02:00:00:00:01:01\n", "t.conf:3: duplicate 'inside' (first on line 1)"},
	{BASE "frobnicate 1\n", "t.conf:3: unknown statement 'frobnicate'"},
	{BASE "quota\n", "t.conf:3: 'quota' takes exactly one value"},
	{BASE "quota 0\n", "t.conf:3: bad quota '0' (expected 1..65536)"},
	{BASE "quota 12x\n", "t.conf:3: bad quota '12x' (expected 1..65536)"},
	{BASE "quota 1\nquota 2\n", "t.conf:4: duplicate 'quota' (first on line 3)"},
	{BASE "timeout udp 119\n", "t.conf:3: bad timeout '119' (expected 120..604800)"},
	{BASE "timeout tcp-established 7439\n", "t.conf:3: bad timeout '7439' (expected 7440..604800)"},
	{BASE "timeout tcp-transitory 239\n", "t.conf:3: bad timeout '239' (expected 240..604800)"},
	{BASE "timeout icmp 59\n", "t.conf:3: bad timeout '59' (expected 60..604800)"},
	{BASE "timeout sctp 500\n", "t.conf:3: unknown timeout 'sctp' (expected udp, tcp-established, tcp-transitory, icmp)"},
	{BASE "filtering open\n", "t.conf:3: unknown filtering 'open' (expected endpoint-independent, address-dependent, address-and-port-dependent)"},
	{BASE "ports 80-1000\n", "t.conf:3: dynamic ports must start at 1024 or above"},
	{BASE "ports 5000-4000\n", "t.conf:3: bad port range '5000-4000' (expected N or N-M, 0..65535)"},
	{BASE "ports 2000-2009\nquota 11\n", "t.conf:4: quota 11 exceeds the 10 dynamic ports"},
	{BASE "ports 2000-2009\n", "t.conf:3: quota 4096 exceeds the 10 dynamic ports"},
	{BASE "quota 8\nport-block 16\n", "t.conf:4: port-block 16 larger than the quota 8"},
	{BASE "hold-down 3601\n", "t.conf:3: bad hold-down '3601' (expected 0..3600)"},
	{BASE "log maybe\n", "t.conf:3: expected 'log on' or 'log off'"},
	{BASE "pool 198.51.100.0/24\npool 198.51.100.7\n", "t.conf:4: pool range overlaps line 3"},
	{BASE "pool 203.0.113.1\n", "t.conf:3: pool contains the inside or outside address"},
	{BASE "pool 10.0.0.9\n", "t.conf:3: pool overlaps the inside subnet"},
	{BASE "pool 2001:db8::1\n", "t.conf:3: bad pool '2001:db8::1': only IPv4 is translated"},
	{BASE "pool any\n", "t.conf:3: pool cannot be 'any'"},
	{BASE "pool 10.0.0.0/8\n", "t.conf:3: pool contains the inside or outside address"},
	{BASE "pool 11.0.0.0/8\n", "t.conf:3: pool larger than 65536 addresses"},
	{BASE "snat src 10.0.0.0/24\n", "t.conf:3: snat needs a 'pool'"},
	{BASE "snat src 10.0.0.0/33\n", NULL},
	{BASE "snat sport 80\n", "t.conf:3: sport/dport need 'proto tcp' or 'proto udp'"},
	{BASE "masquerade src 10.0.0.0/24 src 10.0.0.0/24\n", "t.conf:3: 'src' given twice"},
	{BASE "masquerade src\n", "t.conf:3: 'src' needs a value"},
	{BASE "masquerade to 10.0.0.1\n", "t.conf:3: unknown keyword 'to' in a masquerade rule"},
	{BASE "masquerade proto xyz\n", "t.conf:3: bad protocol 'xyz' (expected tcp, udp, icmp or 0..255)"},
	{BASE "dnat dst 203.0.113.1 proto tcp dport 80\n", "t.conf:3: dnat needs dst ADDR, proto tcp|udp, dport N and to ADDR[:PORT]"},
	{BASE "dnat dst 203.0.113.1 proto tcp dport 80-81 to 10.0.0.5\n", "t.conf:3: dnat dport must be one port, 1..65535"},
	{BASE "dnat dst 203.0.113.9 proto tcp dport 80 to 10.0.0.5\n", "t.conf:3: dnat address is neither the outside address nor in the pool"},
	{BASE "dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5:0\n", "t.conf:3: bad port in dnat target '10.0.0.5:0' (1..65535)"},
	{BASE "dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5\n"
	      "dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.6\n", "t.conf:4: dnat duplicates line 3"},
	{BASE "dnat dst 203.0.113.1 proto tcp dport 80 to 10.0.0.5\n"
	      "dnat dst 203.0.113.1 proto tcp dport 81 to 10.0.0.5:80\n", "t.conf:4: dnat target duplicates line 3"},
	{BASE "dnat dst 203.0.113.1/32 proto tcp dport 80 to 10.0.0.5\n", "t.conf:3: bad dst '203.0.113.1/32': expected one IPv4 address"},
	{"inside 10.0.0.1 mac 02:00:00:00:01:01\n", "t.conf:1: bad address '10.0.0.1': expected ADDR/LEN"},
	{"inside 10.0.0.1/0 mac 02:00:00:00:01:01\n", "t.conf:1: bad prefix length in '10.0.0.1/0' (expected 1..32)"},
	{"inside 10.0.0.1/24\n", "t.conf:1: 'inside' needs 'mac MAC'"},
	{"inside 10.0.0.1/24 mac 02:00:00:00:01\n", "t.conf:1: bad MAC address '02:00:00:00:01' (expected xx:xx:xx:xx:xx:xx)"},
	{"inside 10.0.0.1/24 mac 01:00:00:00:01:01\n", "t.conf:1: MAC address must be unicast"},
	{"inside 10.0.0.1/24 mac 02:00:00:00:01:01 gateway 10.0.1.1\n", "t.conf:1: gateway is not another address on the subnet"},
	{"inside 10.0.0.1/24 mac 02:00:00:00:01:01 gateway-mac 02:00:00:00:01:02\n", "t.conf:1: 'gateway-mac' needs 'gateway'"},
	{"inside 10.0.0.1/24 mac 02:00:00:00:01:01 vlan 3\n", "t.conf:1: unknown keyword 'vlan' (expected mac, gateway, gateway-mac)"},
	{"inside 10.0.0.1/8 mac 02:00:00:00:01:01\noutside 10.1.0.1/24 mac 02:00:00:00:02:01\n", "t.conf:2: inside and outside subnets overlap"},
	{BASE "log on\x01\n", "t.conf:3: expected 'log on' or 'log off'"},
};

Test(nat_config, errors_with_line)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nat_config *c = (void *)1;
		char err[256] = "";

		cr_assert_eq(parse(bad[i].text, &c, err, sizeof(err)), -EINVAL, "case %zu", i);
		cr_assert_null(c, "case %zu", i);
		if (bad[i].msg)
			cr_assert_str_eq(err, bad[i].msg, "case %zu", i);
		else
			cr_assert(strncmp(err, "t.conf:3: ", 10) == 0, "case %zu: %s", i, err);
	}
}

Test(nat_config, comments_blanks_crlf_no_newline)
{
	const char *text = "  # leading comment\r\n"
			   "inside\t10.0.0.1/24   mac 02:00:00:00:01:01 # trailing\r\n"
			   "\n\t\n"
			   "outside 203.0.113.1/24 mac 02:00:00:00:02:01\r\n"
			   "masquerade";
	struct nat_config *c = NULL;
	char err[256] = "";

	cr_assert_eq(parse(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->n_rules, 1);
	cr_assert_eq(c->rules[0].line, 6);
	nat_config_free(c);
}

Test(nat_config, small_error_buffer_and_nul)
{
	const char text[] = BASE "log on\0garbage\n";
	struct nat_config *c = NULL;
	char err[8];

	cr_assert_eq(nat_config_parse_buffer(text, sizeof(text) - 1, "t.conf", &c, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(strlen(err), 7);
	cr_assert_eq(nat_config_parse_buffer(text, sizeof(text) - 1, "t.conf", &c, NULL, 0),
		     -EINVAL);
}

Test(nat_config, from_file)
{
	char path[] = "/tmp/ncnat_cfg_XXXXXX";
	int fd = mkstemp(path);
	struct nat_config *c = NULL;
	char err[256] = "";

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, BASE "quota 0\n", strlen(BASE "quota 0\n")),
		     (ssize_t)strlen(BASE "quota 0\n"));
	close(fd);
	cr_assert_eq(nat_config_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	cr_assert(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":3: bad quota"), "%s", err);
	unlink(path);
}

Test(nat_config, names)
{
	cr_assert_str_eq(nat_filtering_name(NAT_FILTER_EIF), "endpoint-independent");
	cr_assert_str_eq(nat_action_name(NAT_ACT_DNAT), "dnat");
	cr_assert_str_eq(nat_action_name((enum nat_action)99), "unknown");
}

Test(nat_config, any_address)
{
	struct nat_config *c = NULL;
	char err[256] = "";

	cr_assert_eq(parse(BASE "masquerade src any dst 192.0.2.0/24\nbypass src 10.0.0.0/8 dst any\n",
			   &c, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(c->n_rules, 2);
	cr_assert_eq(c->rules[0].match.src_lo.v4, 0);
	cr_assert_eq(c->rules[0].match.src_hi.v4, UINT32_MAX);
	cr_assert_eq(c->rules[0].match.family, CLS_IPV4);
	cr_assert_eq(c->rules[1].match.dst_lo.v4, 0);
	cr_assert_eq(c->rules[1].match.dst_hi.v4, UINT32_MAX);
	nat_config_free(c);
}
