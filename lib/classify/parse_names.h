/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLS_PARSE_NAMES_H
#define CLS_PARSE_NAMES_H
/* Protocol names of the native rule syntax, shared by the parser and the
 * formatter (which prints a name where there is one). */
#include <stdint.h>

static const struct {
	const char *name;
	uint8_t num;
} proto_names[] = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}};

#endif
