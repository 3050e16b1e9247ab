/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the ncnat configuration parser
 * (apps/nat/nat_config.c), from a memory buffer.
 *
 * A failed parse must return -EINVAL or -ENOMEM, give no config and a
 * "fuzz.conf:LINE: " message.  A successful one must give a config that
 * satisfies the documented invariants, and building the pipeline from it
 * must succeed (or fail only with -ENOMEM).  Any violation aborts.  The
 * pipeline's flow table needs EAL: it is started once, without hugepages
 * (fuzz_eal.h).
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true
 *   ninja -C build/fuzz tests/fuzz/fuzz_nat_config
 *   build/fuzz/tests/fuzz/fuzz_nat_config -max_total_time=60
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_eal.h"
#include "nat_config.h"
#include "nat_pipeline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_eal_init("fuzz_nat_config");
	return 0;
}

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_nat_config: check failed: %s (line %d)\n", #cond, \
				__LINE__);                                                  \
			abort();                                                            \
		}                                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nat_config *c = (struct nat_config *)1;
	struct nat_pipeline *p = NULL;
	char err[256];
	uint32_t i;
	int rc;

	if (size > 1 << 16)
		return 0;
	rc = nat_config_parse_buffer((const char *)data, size, "fuzz.conf", &c, err, sizeof(err));
	if (rc) {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(c == NULL);
		CHECK(rc == -ENOMEM || strncmp(err, "fuzz.conf:", 10) == 0);
		return 0;
	}
	CHECK(c != NULL);
	CHECK(c->inside.plen >= 1 && c->inside.plen <= 32);
	CHECK(c->port_lo >= 1024 && c->port_lo <= c->port_hi);
	CHECK(c->quota >= 1 && c->quota <= (uint32_t)c->port_hi - c->port_lo + 1);
	CHECK(c->port_block >= 1 && c->port_block <= c->quota);
	CHECK(c->timeout_udp >= 120 && c->timeout_tcp_est >= 7440 && c->timeout_tcp_trans >= 240 &&
	      c->timeout_icmp >= 60);
	CHECK(c->pool_addrs <= NAT_CFG_MAX_POOL_ADDRS);
	for (i = 0; i < c->n_pool; i++)
		CHECK(c->pool[i].lo <= c->pool[i].hi);
	for (i = 0; i < c->n_rules; i++) {
		const struct nat_rule *r = &c->rules[i];

		CHECK(r->match.family == CLS_IPV4);
		CHECK(r->action != NAT_ACT_SNAT || c->n_pool > 0);
		if (r->action == NAT_ACT_DNAT)
			CHECK(r->to_port != 0 && r->match.dport_lo == r->match.dport_hi);
	}
	/* keep the pipeline cheap: the session table is sized from the config */
	if (c->sessions > 1024)
		c->sessions = 1024;
	rc = nat_pipeline_create(c, NULL, &p);
	CHECK(rc == 0 || rc == -ENOMEM);
	nat_pipeline_free(p);
	nat_config_free(c);
	return 0;
}
