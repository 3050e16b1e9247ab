/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for ncreplay's capture reader paths: the input is a
 * whole capture file (pcap or pcapng, any link type), replayed three times
 *   - with replay_buffer(): libpcap reads the header, the built-in reader
 *     walks a classic pcap file's records in place, the filter memo answers
 *     for the BPF program (apps/replay/pcapfile.c, bpfcache.h);
 *   - with replay_fp() on a memfd (a regular file without a name): the
 *     built-in reader maps it in the smallest parts it takes (a page plus
 *     snaplen + 16: with a small snaplen records lie across their ends),
 *     then libpcap reads what it left;
 *   - with replay_fp() on a memory stream (fmemopen) and
 *     replay_cfg.libpcap_only: pcap_next_ex() and pcap_offline_filter() on
 *     every record;
 * so libpcap's file parsing, both readers, nc_parse, the flow cache, the
 * classifier, the counters and the verdict/unmatched writers all see it.
 * The filter depends on the input's size (none, two the memo takes, one it
 * does not).  Errors are fine; crashes, sanitizer reports, broken counter
 * invariants and any difference between the first two runs and the third
 * (return code, error text, counters, per-rule statistics) are not.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true
 *   ninja -C build/fuzz tests/fuzz/fuzz_capture
 *   cp -r tests/fuzz/corpus/capture /tmp/capture-corpus
 *   build/fuzz/tests/fuzz/fuzz_capture /tmp/capture-corpus -max_total_time=60
 * (records across the ends of mappings need inputs over 8 KiB with a small
 * snaplen: add -max_len=20000 -len_control=0 and a large capture.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

static const char *const filters[] = { NULL, "ip or ip6", "len > 100 or ip[9] = 17",
				       "tcp port 80" };

enum how { VIA_BUFFER, VIA_MEMFD, VIA_LIBPCAP };

struct run {
	int rc;
	char err[1024];
	struct replay_totals t;
	struct replay_rule_stats *rules;
	size_t n;
};

static void one_run(const uint8_t *data, size_t size, enum how how, const char *filter,
		    struct run *o)
{
	struct replay_cfg cfg = {
		.rules_text = rules,
		.rules_len = sizeof(rules) - 1,
		.filter = filter,
		.verdicts_path = "/dev/null",
		.unmatched_path = "/dev/null",
		.flow_cache_bits = 4, /* tiny: collisions get exercised */
		.burst = 7,
		.libpcap_only = how == VIA_LIBPCAP,
		.map_size = 1,
	};
	const struct replay_totals *t;
	const struct replay_rule_stats *st;
	struct replay *r;
	uint64_t sum = 0;
	char ferr[256];
	void *copy;
	FILE *f;

	if (replay_create(&cfg, &r, o->err, sizeof(o->err)))
		abort();
	copy = malloc(size); /* an exact copy: overreads hit the redzone */
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (how == VIA_LIBPCAP) {
		f = fmemopen(copy, size, "rb");
		if (!f)
			abort();
		o->rc = replay_fp(r, f, "fuzz", o->err, sizeof(o->err));
	} else if (how == VIA_MEMFD) {
		int fd = memfd_create("fuzz", 0);

		if (fd < 0 || write(fd, copy, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET))
			abort();
		f = fdopen(fd, "rb");
		if (!f)
			abort();
		o->rc = replay_fp(r, f, "fuzz", o->err, sizeof(o->err));
	} else {
		o->rc = replay_buffer(r, copy, size, "fuzz", o->err, sizeof(o->err));
	}
	if (o->rc && o->rc != -EIO && o->rc != -ENOTSUP && o->rc != -ENOMEM &&
	    !(filter && o->rc == -EINVAL)) /* a filter the link type does not take */
		abort();
	if (o->rc && strncmp(o->err, "fuzz", 4) && strncmp(o->err, "filter", 6))
		abort(); /* every capture error names the capture */
	t = replay_totals(r);
	if (t->packets != t->filtered + t->classified + t->unparsable ||
	    t->classified != t->matched + t->unmatched || t->cache_hits > t->classified ||
	    t->read_builtin > t->packets || (how == VIA_LIBPCAP && t->read_builtin))
		abort();
	st = replay_rule_stats(r);
	for (size_t i = 1; i <= replay_rule_count(r); i++)
		sum += st[i].packets;
	if (sum != t->matched)
		abort();
	if (replay_finish(r, ferr, sizeof(ferr)))
		abort();
	o->t = *t;
	o->n = replay_rule_count(r);
	o->rules = malloc((o->n + 1) * sizeof(*o->rules));
	if (!o->rules)
		abort();
	memcpy(o->rules, st, (o->n + 1) * sizeof(*o->rules));
	replay_free(r);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *filter = filters[size % (sizeof(filters) / sizeof(filters[0]))];
	struct run o[3];

	if (size == 0)
		return 0; /* fmemopen needs a buffer */
	for (int h = 0; h < 3; h++) {
		one_run(data, size, (enum how)h, filter, &o[h]);
		o[h].t.seconds = 0;
		o[h].t.read_builtin = 0;
	}
	/* the built-in reader and the filter memo change nothing */
	for (int h = 0; h < 2; h++) {
		const struct run *a = &o[h], *b = &o[VIA_LIBPCAP];

		if (a->rc != b->rc || strcmp(a->err, b->err) || memcmp(&a->t, &b->t, sizeof(a->t)) ||
		    a->n != b->n || memcmp(a->rules, b->rules, (a->n + 1) * sizeof(*a->rules)))
			abort();
	}
	for (int h = 0; h < 3; h++)
		free(o[h].rules);
	return 0;
}
