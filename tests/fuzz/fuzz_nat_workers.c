/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for ncnat's multi-worker dispatch and pipelines
 * (apps/nat/nat_dispatch.c, nat_inout.c): every input is a sequence of
 * frames, each sent to three worker pipelines the way ncnat's loop does
 * (nat_workers.c): to the owner nat_pipeline_owner() names (ARP: answered
 * by the receiving worker, learned by the others), and a frame a pipeline
 * hands on (a hairpin across workers) to its target as an outside frame.
 *
 * Input: records of [side: 1 byte, bit 0 outside][length: 2 bytes, little
 * endian, at most 512][frame bytes]; a short last record takes what is left.
 * Checks, besides the sanitizers: every owner is a worker or "all"; every
 * worker names the same owner for a frame that is not a fragment; a frame
 * is handed on at most once, to another worker, which never hands it on
 * again; frames sent keep an Ethernet header; the counters only grow.  The
 * pipelines live for the whole run (state from one input meets the next)
 * and are rebuilt every 4096 inputs.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true -Db_lundef=false
 *   ninja -C build/fuzz tests/fuzz/fuzz_nat_workers
 *   cp -r tests/fuzz/corpus/nat_workers /tmp/nat-workers-corpus
 *   build/fuzz/tests/fuzz/fuzz_nat_workers /tmp/nat-workers-corpus -max_total_time=60
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_eal.h"
#include "nat_config.h"
#include "nat_pipeline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_nat_workers: check failed: %s (line %d)\n",      \
				#cond, __LINE__);                                           \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define W 3
#define MAX_FRAME 512

/* No gateway-mac: ARP matters.  Small tables: they fill up under fuzzing. */
static const char conf[] =
	"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
	"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254\n"
	"pool 198.51.100.0/30\n"
	"filtering endpoint-independent\n"
	"ports 1024-1279\n"
	"quota 64\n"
	"sessions 1024\n"
	"log off\n"
	"drop src 10.0.0.66\n"
	"bypass dst 192.0.2.99\n"
	"snat src 10.0.0.0/25\n"
	"masquerade src 10.0.0.128/25\n"
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
	"dnat dst 198.51.100.1 proto udp dport 5353 to 10.0.0.53:53\n";

static struct nat_pipeline *pipes[W];
static uint64_t inputs, now = 1000;

static void build(void)
{
	struct nat_config *c = NULL;
	char err[256];
	unsigned i;

	for (i = 0; i < W; i++)
		nat_pipeline_free(pipes[i]);
	CHECK(nat_config_parse_buffer(conf, sizeof(conf) - 1, "fuzz.conf", &c, err, sizeof(err)) == 0);
	for (i = 0; i < W; i++)
		CHECK(nat_pipeline_create_shard(c, NULL, i, W, &pipes[i]) == 0);
	nat_config_free(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_eal_init("fuzz_nat_workers");
	build();
	return 0;
}

static uint64_t total(const struct nat_pipeline *p)
{
	const struct nat_counters *c = nat_pipeline_counters(p);
	uint64_t t = 0;

	for (int i = 0; i < NAT_CNT_COUNT; i++)
		t += c->v[i];
	return t;
}

static void one_frame(enum nat_side side, const uint8_t *f, uint32_t len, unsigned rx)
{
	static uint8_t b[MAX_FRAME];
	int owner = nat_pipeline_owner(pipes[rx], side, f, len, now), o2;
	bool frag = len >= 34 && f[12] == 0x08 && f[13] == 0 && (f[20] & 0x3f || f[21]);
	enum nat_verdict v;
	unsigned w, i;
	uint64_t before;

	CHECK(owner == NAT_OWNER_ALL || (owner >= 0 && owner < W));
	if (!frag) /* a fragment's owner depends on what its receiver saw */
		for (i = 0; i < W; i++) {
			o2 = nat_pipeline_owner(pipes[i], side, f, len, now);
			CHECK(o2 == owner || (o2 == (int)i && owner == (int)rx));
		}
	if (owner == NAT_OWNER_ALL) {
		for (i = 0; i < W; i++)
			if (i != rx)
				nat_pipeline_learn(pipes[i], side, f, len);
		owner = (int)rx;
	}
	w = (unsigned)owner;
	memcpy(b, f, len);
	before = total(pipes[w]);
	v = nat_pipeline_process(pipes[w], b, len, side, now);
	CHECK(total(pipes[w]) >= before);
	if (v == NAT_HANDOFF) {
		void *const *ck;
		const uint16_t *to;

		CHECK(nat_pipeline_handoffs(pipes[w], &ck, &to) == 1);
		CHECK(ck[0] == b);
		CHECK(to[0] < W && to[0] != w);
		w = to[0];
		v = nat_pipeline_process(pipes[w], b, len, NAT_SIDE_OUTSIDE, now);
		CHECK(v != NAT_HANDOFF);
	} else {
		CHECK(nat_pipeline_handoffs(pipes[w], NULL, NULL) == 0);
	}
	if (v == NAT_TX_INSIDE || v == NAT_TX_OUTSIDE)
		CHECK(len >= 14);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	unsigned rx = 0;

	if (++inputs % 4096 == 0)
		build();
	while (off < size) {
		enum nat_side side = (data[off] & 1) ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;
		size_t len;

		rx = (rx + (data[off] >> 1)) % W; /* the receiving queue */
		off++;
		if (size - off < 2)
			break;
		len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		if (len > size - off)
			len = size - off;
		one_frame(side, data + off, (uint32_t)len, rx);
		off += len;
		now += data[off - 1] & 3; /* time moves, a little */
		if (now % 64 == 0)
			for (unsigned i = 0; i < W; i++)
				(void)nat_pipeline_expire(pipes[i], now, 256);
	}
	return 0;
}
