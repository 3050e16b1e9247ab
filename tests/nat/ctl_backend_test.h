/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the nat_ctl_backend tests (test_nat_ctl_backend.c: one
 * pipeline; test_nat_ctl_backend_multi.c: several workers' pipelines):
 * the config, a pipeline from text, frames in, and the control commands
 * through nat_ctl_exec().
 */
#ifndef NCNAT_CTL_BACKEND_TEST_H
#define NCNAT_CTL_BACKEND_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

#include "json_check.h"
#include "nat_ctl.h"
#include "nat_ctl_backend.h"
#include "nat_pipeline.h"
#include "nat_port.h"
#include "nat_session.h"
#include "nat_test_eal.h"
#include "nat_test_util.h"

#define IN1 IP4(10, 0, 0, 5)
#define IN2 IP4(10, 0, 0, 6)
#define IN7 IP4(10, 0, 0, 7)
#define SRV53 IP4(10, 0, 0, 53)
#define POOL IP4(198, 51, 100, 1)
#define OUTA IP4(203, 0, 113, 1)
#define R1 IP4(192, 0, 2, 1)
#define R2 IP4(192, 0, 2, 2)

static const uint8_t GW_MAC[6] = {0x02, 0, 0, 0, 0x02, 0xfe};
static const uint8_t H_MAC[6] = {0x02, 0, 0, 0, 0x0a, 0x05};

struct env {
	struct nat_pipeline *p;
	struct nat_ctl_backend be;
	struct nat_ctl_backend_ctx ctx;
	uint64_t now;
};

#define CFG_TEXT                                                                                  \
	"inside 10.0.0.1/24 mac 02:00:00:00:01:01\n"                                             \
	"outside 203.0.113.1/24 mac 02:00:00:00:02:01 gateway 203.0.113.254 gateway-mac 02:00:00:00:02:fe\n" \
	"pool 198.51.100.1\n"                                                                   \
	"log off\n"                                                                             \
	"drop src 10.0.0.66\n"                                                                  \
	"snat src 10.0.0.0/25\n"                                                                \
	"dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"

static inline struct nat_pipeline *make_pipe(const char *text)
{
	struct nat_config *c = NULL;
	struct nat_pipeline *p = NULL;
	char err[256] = "";

	cr_assert_eq(nat_config_parse_buffer(text, strlen(text), "t", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(nat_pipeline_create(c, NULL, &p), 0);
	nat_config_free(c);
	return p;
}

static inline void env_init(struct env *e)
{
	e->p = make_pipe(CFG_TEXT);
	nat_ctl_backend_init(&e->be, &e->ctx, e->p, NULL, NULL);
	e->now = (uint64_t)time(NULL);
}

static inline enum nat_verdict send_to(struct nat_pipeline *p, uint64_t now, enum nat_side side,
				uint8_t proto, uint32_t s, uint32_t d, uint16_t sp, uint16_t dp,
				uint8_t flags, uint8_t *b)
{
	size_t n = nat_build(b, proto, s, d, sp, dp, flags, 10, 64, false, 42);

	memcpy(b + 6, side == NAT_SIDE_INSIDE ? H_MAC : GW_MAC, 6);
	return nat_pipeline_process(p, b, (uint32_t)n, side, now);
}

static inline enum nat_verdict send_pkt(struct env *e, enum nat_side side, uint8_t proto, uint32_t s,
				 uint32_t d, uint16_t sp, uint16_t dp, uint8_t flags, uint8_t *b)
{
	return send_to(e->p, e->now, side, proto, s, d, sp, dp, flags, b);
}

static inline uint32_t src_of(const uint8_t *b)
{
	return (uint32_t)b[26] << 24 | (uint32_t)b[27] << 16 | (uint32_t)b[28] << 8 | b[29];
}

static inline uint32_t dst_of(const uint8_t *b)
{
	return (uint32_t)b[30] << 24 | (uint32_t)b[31] << 16 | (uint32_t)b[32] << 8 | b[33];
}

static inline char *be_exec_ok(const struct nat_ctl_backend *be, const char *req)
{
	char *out = NULL;
	int rc = nat_ctl_exec(be, req, &out, NULL);

	cr_assert_not_null(out);
	cr_assert_eq(rc, 0, "'%s': %s", req, out);
	return out;
}

static inline char *be_exec_err(const struct nat_ctl_backend *be, const char *req)
{
	char *out = NULL;
	int rc = nat_ctl_exec(be, req, &out, NULL);

	cr_assert_not_null(out);
	cr_assert_eq(rc, -EINVAL, "'%s' did not fail: %s", req, out);
	return out;
}

static inline char *exec_ok(struct env *e, const char *req)
{
	return be_exec_ok(&e->be, req);
}

static inline char *exec_err(struct env *e, const char *req)
{
	return be_exec_err(&e->be, req);
}

static inline uint64_t cnt(struct env *e, enum nat_counter c)
{
	return nat_pipeline_counters(e->p)->v[c];
}

#endif /* NCNAT_CTL_BACKEND_TEST_H */
