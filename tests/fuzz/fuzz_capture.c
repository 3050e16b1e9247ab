/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for ncreplay's capture reader path: the input is a whole
 * capture file (pcap or pcapng, any link type) given to replay_fp() through
 * a memory stream (fmemopen), so libpcap's file parsing, nc_parse, the flow
 * cache, the classifier, the counters and the verdict/unmatched writers all
 * see it.  Errors are fine; crashes, sanitizer reports and broken counter
 * invariants are not.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true
 *   ninja -C build/fuzz tests/fuzz/fuzz_capture
 *   cp -r tests/fuzz/corpus/capture /tmp/capture-corpus
 *   build/fuzz/tests/fuzz/fuzz_capture /tmp/capture-corpus -max_total_time=60
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
	"id 50 src 10.0.1.0/24 dst 192.0.2.0/24 dport 80 proto tcp\n"
	"id 7 src 2001:db8:1::/48 dport 443 proto tcp\n"
	"id 300 dst 192.0.2.53 dport 53 proto udp\n"
	"id 9 src 10.0.0.0/8 proto icmp\n"
	"id 1 src ::/0 proto icmpv6\n"
	"id 40 src 10.0.2.0/24 sport 0 dport 0\n"
	"id 1000 dst 198.51.100.0/24\n"
	"id 11 src 2001:db8::/32\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_cfg cfg = {
		.rules_text = rules,
		.rules_len = sizeof(rules) - 1,
		.verdicts_path = "/dev/null",
		.unmatched_path = "/dev/null",
		.flow_cache_bits = 4, /* tiny: collisions get exercised */
		.burst = 7,
	};
	const struct replay_totals *t;
	struct replay *r;
	char err[1024];
	void *copy;
	FILE *f;
	int rc;

	if (size == 0)
		return 0; /* fmemopen needs a buffer */
	if (replay_create(&cfg, &r, err, sizeof(err)))
		abort();
	copy = malloc(size); /* an exact copy: overreads hit the redzone */
	if (!copy)
		abort();
	memcpy(copy, data, size);
	f = fmemopen(copy, size, "rb");
	if (!f)
		abort();
	rc = replay_fp(r, f, "fuzz", err, sizeof(err));
	if (rc && rc != -EIO && rc != -ENOTSUP && rc != -ENOMEM)
		abort();
	if (rc && strncmp(err, "fuzz", 4))
		abort(); /* every capture error names the capture */
	t = replay_totals(r);
	if (t->packets != t->filtered + t->classified + t->unparsable ||
	    t->classified != t->matched + t->unmatched || t->cache_hits > t->classified)
		abort();
	{
		uint64_t sum = 0;
		const struct replay_rule_stats *st = replay_rule_stats(r);

		for (size_t i = 1; i <= replay_rule_count(r); i++)
			sum += st[i].packets;
		if (sum != t->matched)
			abort();
	}
	if (replay_finish(r, err, sizeof(err)))
		abort();
	replay_free(r);
	free(copy);
	return 0;
}
