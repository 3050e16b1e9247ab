/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for ncnat's control commands (apps/nat/nat_ctl*.c)
 * against a real pipeline: each input is split into lines and every line is
 * one request to nat_ctl_exec(), as a client of the control socket would
 * send it (show, add/delete rule, set timeout, ...).
 *
 * Every answer must end with exactly one terminator line, "ok" or
 * "error: ...", matching the return value, and a refused change must leave
 * the rules as they were (their listing before and after is compared).  The
 * pipeline lives for the whole run, so rules added by one input meet the
 * next ones; it is rebuilt when the rule list grows past 64.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true -Db_lundef=false
 *   ninja -C build/fuzz tests/fuzz/fuzz_nat_ctl
 *   cp -r tests/fuzz/corpus/nat_ctl /tmp/nat-ctl-corpus
 *   build/fuzz/tests/fuzz/fuzz_nat_ctl /tmp/nat-ctl-corpus -max_total_time=60 \
 *       -dict=tests/fuzz/nat_ctl.dict
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_eal.h"
#include "nat_config.h"
#include "nat_ctl.h"
#include "nat_ctl_backend.h"
#include "nat_pipeline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_nat_ctl: check failed: %s (line %d)\n", #cond,    \
				__LINE__);                                                  \
			abort();                                                            \
		}                                                                           \
	} while (0)

static const char conf[] =
	"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"
	"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n"
	"pool 198.51.100.0/30\n"
	"sessions 1024\n"
	"log off\n"
	"drop src 10.0.0.66\n"
	"snat src 10.0.0.0/25\n"
	"masquerade src 10.0.0.128/25\n"
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n";

static struct nat_pipeline *pipe_;
static struct nat_ctl_backend be;
static struct nat_ctl_backend_ctx bctx;

static uint64_t clock0(void)
{
	return 1;
}

static void build(void)
{
	struct nat_config *c = NULL;
	char err[256];

	nat_pipeline_free(pipe_);
	CHECK(nat_config_parse_buffer(conf, sizeof(conf) - 1, "fuzz.conf", &c, err, sizeof(err)) == 0);
	CHECK(nat_pipeline_create(c, NULL, &pipe_) == 0);
	nat_config_free(c);
	nat_ctl_backend_init(&be, &bctx, pipe_, NULL, clock0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_eal_init("fuzz_nat_ctl");
	build();
	return 0;
}

/* The answer's last line: "ok" or "error: ..."; and no other line is. */
static void check_answer(const char *out, size_t len, int rc)
{
	const char *last, *p;
	size_t n = 0;

	CHECK(len > 0 && out[len - 1] == '\n');
	for (p = out; p < out + len; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "ok\n", 3) == 0 || strncmp(p, "error: ", 7) == 0)
			n++;
		last = p;
	}
	CHECK(n == 1);
	CHECK(rc == 0 ? strcmp(last, "ok\n") == 0 : strncmp(last, "error: ", 7) == 0);
}

static char *rules_listing(void)
{
	char *out = NULL;

	CHECK(nat_ctl_exec(&be, "show rules", &out, NULL) == 0);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line, *save = NULL;

	if (size > 1 << 14)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *before = rules_listing(), *after, *out = NULL;
		size_t len = 0;
		int rc = nat_ctl_exec(&be, line, &out, &len);

		CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
		if (rc != -ENOMEM) {
			CHECK(out != NULL && strlen(out) == len);
			check_answer(out, len, rc);
		}
		after = rules_listing();
		if (rc != 0) /* a refused request changes nothing */
			CHECK(strcmp(before, after) == 0);
		free(before);
		free(after);
		free(out);
	}
	free(text);
	if (nat_pipeline_config(pipe_)->n_rules > 64)
		build();
	return 0;
}
