/* SPDX-License-Identifier: BSD-3-Clause */
/* nat_log: the RFC 6888 line formats and the counting sink. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "nat_log.h"
#include "nat_test_util.h"

Test(nat_log, mapping_lines)
{
	struct nat_mapping m = {.in_addr = IP4(10, 0, 0, 5), .out_addr = IP4(198, 51, 100, 1),
				.in_port = 4000, .out_port = 4002, .proto = 17};
	char buf[160];

	nat_log_format_mapping(buf, sizeof(buf), NAT_LOG_MAP_CREATE, &m, 1700000000);
	cr_assert_str_eq(buf, "1700000000 nat map-create udp 10.0.0.5:4000 -> 198.51.100.1:4002");
	m.proto = 1;
	nat_log_format_mapping(buf, sizeof(buf), NAT_LOG_MAP_DELETE, &m, 5);
	cr_assert_str_eq(buf, "5 nat map-delete icmp 10.0.0.5:4000 -> 198.51.100.1:4002");
	m.proto = 47;
	nat_log_format_mapping(buf, sizeof(buf), NAT_LOG_MAP_DELETE, &m, 5);
	cr_assert_str_eq(buf, "5 nat map-delete 47 10.0.0.5:4000 -> 198.51.100.1:4002");
	/* truncation is safe */
	cr_assert_gt(nat_log_format_mapping(buf, 8, NAT_LOG_MAP_DELETE, &m, 5), 8);
	cr_assert_eq(strlen(buf), 7);
}

Test(nat_log, block_lines)
{
	struct nat_ports_event ev = {.type = NAT_PORTS_BLOCK_ALLOC, .proto = 6,
				     .in_addr = IP4(10, 0, 0, 5), .out_addr = IP4(198, 51, 100, 1),
				     .port_lo = 1088, .port_hi = 1151, .now = 42};
	char buf[160];

	nat_log_format_block(buf, sizeof(buf), &ev);
	cr_assert_str_eq(buf, "42 nat block-alloc tcp 10.0.0.5 -> 198.51.100.1:1088-1151");
	ev.type = NAT_PORTS_BLOCK_FREE;
	nat_log_format_block(buf, sizeof(buf), &ev);
	cr_assert_str_eq(buf, "42 nat block-free tcp 10.0.0.5 -> 198.51.100.1:1088-1151");
}

Test(nat_log, sink)
{
	struct nat_mapping m = {.in_addr = 1, .out_addr = 2, .in_port = 3, .out_port = 4,
				.proto = 6};
	struct nat_ports_event ev = {.type = NAT_PORTS_BLOCK_ALLOC, .proto = 17};
	struct nat_log l = {.f = NULL, .lines = 0};
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	nat_log_mapping(&l, NAT_LOG_MAP_CREATE, &m, 1);
	nat_log_block(&l, &ev);
	cr_assert_eq(l.lines, 2);
	f = open_memstream(&text, &size);
	cr_assert_not_null(f);
	l.f = f;
	nat_log_mapping(&l, NAT_LOG_MAP_CREATE, &m, 1);
	fclose(f);
	cr_assert_str_eq(text, "1 nat map-create tcp 0.0.0.1:3 -> 0.0.0.2:4\n");
	cr_assert_eq(l.lines, 3);
	free(text);
}
