/* SPDX-License-Identifier: BSD-3-Clause */
/* Full (non-incremental) Internet checksums; see nat_csum.h. */
#include "nat_csum.h"

uint32_t nat_csum_sum(const uint8_t *p, size_t len, uint32_t init)
{
	uint64_t s = init;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += nat_get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return nat_csum_fold((uint32_t)(s & 0xffffffffu)) + 0u;
}

uint16_t nat_csum_full(const uint8_t *p, size_t len)
{
	return (uint16_t)~nat_csum_fold(nat_csum_sum(p, len, 0));
}

uint16_t nat_csum_l4_ipv4(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4,
			  size_t l4len)
{
	uint32_t s = 0;

	s += src >> 16;
	s += src & 0xffff;
	s += dst >> 16;
	s += dst & 0xffff;
	s += proto;
	s += (uint32_t)l4len & 0xffff;
	s += (uint32_t)(l4len >> 16);
	return (uint16_t)~nat_csum_fold(nat_csum_sum(l4, l4len, nat_csum_fold(s)));
}

bool nat_csum_ipv4_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

	return nat_csum_full(ip, ihl) == 0;
}
