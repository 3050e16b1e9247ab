/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the packet parser: the input is one packet, parsed
 * from an exactly sized heap copy under every link type, and the result is
 * checked against the structural invariants nc_parse.h promises.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true
 *   ninja -C build/fuzz tests/fuzz/fuzz_packet
 *   build/fuzz/tests/fuzz/fuzz_packet -max_total_time=60
 */
#include <stdlib.h>
#include <string.h>

#include "nc_parse.h" /* -Dfuzz=true instruments the libraries too */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct nc_pkt_info *pi, size_t len)
{
	if (pi->status >= NC_PARSE_STATUS_COUNT)
		abort();
	if ((pi->layers & NC_LAYER_L4) && !(pi->layers & NC_LAYER_L3))
		abort();
	if (pi->status == NC_PARSE_OK && !(pi->layers & NC_LAYER_L4))
		abort();
	if ((pi->layers & NC_LAYER_L3) &&
	    ((size_t)pi->l3_off + pi->l3_len > len || pi->l4_off > len ||
	     (pi->key.family != CLS_IPV4 && pi->key.family != CLS_IPV6)))
		abort();
	if ((pi->layers & NC_LAYER_L4) && (size_t)pi->l4_off + pi->l4_len > len)
		abort();
	if ((pi->flags & NC_PF_ICMP_ERROR) && (pi->inner.layers & NC_LAYER_L3) &&
	    (pi->inner.l3_off > len || pi->inner.l4_off > len))
		abort();
	if (pi->vlan_count > NC_PARSE_MAX_VLAN)
		abort();
	if (nc_parse_reason_str(pi->status)[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: any over-read hits ASan's redzone. */
	uint8_t *buf = malloc(size ? size : 1);
	struct nc_pkt_info pi;
	char text[128];

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (int link = 0; link < NC_LINK_COUNT; link++) {
		if (nc_parse(buf, size, 1, (enum nc_link)link, &pi) != 0)
			abort();
		check(&pi, size);
		(void)nc_key_format(&pi.key, text, sizeof(text));
	}
	free(buf);
	return 0;
}
