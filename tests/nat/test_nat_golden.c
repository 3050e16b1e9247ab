/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden pcaps (tests/nat/golden/, made by gen_golden.py; the scenarios use
 * basic.conf): the frames of <name>_in_inside.pcap and <name>_in_outside.pcap go through the
 * translation core in timestamp order (pcap time is the NAT's clock); what
 * it sends on each side must equal <name>_exp_inside.pcap and
 * <name>_exp_outside.pcap byte for byte, frame by frame.  On a mismatch
 * the actual outputs are written to $NC_GOLDEN_OUT (if set) for a diff
 * with tshark or scapy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "nat_pipeline.h"
#include "nat_test_eal.h"

struct frame {
	uint64_t ts_us;
	uint32_t len;
	uint8_t *data;
};

struct cap {
	struct frame *f;
	size_t n, cap;
};

static void cap_add(struct cap *c, uint64_t ts, const uint8_t *d, uint32_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->f = realloc(c->f, c->cap * sizeof(*c->f));
		cr_assert_not_null(c->f);
	}
	c->f[c->n].ts_us = ts;
	c->f[c->n].len = len;
	c->f[c->n].data = malloc(len ? len : 1);
	cr_assert_not_null(c->f[c->n].data);
	memcpy(c->f[c->n].data, d, len);
	c->n++;
}

static void cap_free(struct cap *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->f[i].data);
	free(c->f);
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Minimal pcap reader: microsecond or nanosecond, either byte order. */
static void cap_read(const char *path, struct cap *c)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16], *buf = malloc(65536);
	uint32_t magic;
	bool swap, nano;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fread(gh, 1, 24, f), 24, "%s: short header", path);
	memcpy(&magic, gh, 4);
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	cr_assert(swap || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d, "%s: not a pcap", path);
	cr_assert_eq(rd32(gh + 20, swap), 1, "%s: not Ethernet", path);
	memset(c, 0, sizeof(*c));
	while (fread(rh, 1, 16, f) == 16) {
		uint32_t incl = rd32(rh + 8, swap);
		uint64_t ts = (uint64_t)rd32(rh, swap) * 1000000u +
			      (nano ? rd32(rh + 4, swap) / 1000u : rd32(rh + 4, swap));

		cr_assert_leq(incl, 65536);
		cr_assert_eq(fread(buf, 1, incl, f), incl, "%s: short record", path);
		cap_add(c, ts, buf, incl);
	}
	fclose(f);
	free(buf);
}

static void cap_write(const char *path, const struct cap *c)
{
	FILE *f = fopen(path, "wb");
	const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	size_t i;

	if (!f)
		return;
	fwrite(gh, 4, 6, f);
	for (i = 0; i < c->n; i++) {
		uint32_t rh[4] = {(uint32_t)(c->f[i].ts_us / 1000000u),
				  (uint32_t)(c->f[i].ts_us % 1000000u), c->f[i].len, c->f[i].len};

		fwrite(rh, 4, 4, f);
		fwrite(c->f[i].data, 1, c->f[i].len, f);
	}
	fclose(f);
}

static void path_of(char *buf, size_t size, const char *name, const char *suffix)
{
	const char *root = getenv("NC_SOURCE_ROOT");

	snprintf(buf, size, "%s/tests/nat/golden/%s%s", root ? root : ".", name, suffix);
}

static void compare(const char *name, const char *side, const struct cap *got,
		    const struct cap *exp)
{
	size_t i, n = got->n < exp->n ? got->n : exp->n;

	for (i = 0; i < n; i++) {
		uint32_t k;

		if (got->f[i].len == exp->f[i].len &&
		    memcmp(got->f[i].data, exp->f[i].data, got->f[i].len) == 0)
			continue;
		for (k = 0; k < got->f[i].len && k < exp->f[i].len; k++)
			if (got->f[i].data[k] != exp->f[i].data[k])
				break;
		cr_assert_fail("%s %s frame %zu: lengths %u/%u, first difference at byte %u "
			       "(got %02x, expected %02x)",
			       name, side, i, got->f[i].len, exp->f[i].len, k,
			       k < got->f[i].len ? got->f[i].data[k] : 0,
			       k < exp->f[i].len ? exp->f[i].data[k] : 0);
	}
	cr_assert_eq(got->n, exp->n, "%s %s: %zu frames, expected %zu", name, side, got->n, exp->n);
}

static void run_golden(const char *name, const char *conf)
{
	char path[512], err[256] = "";
	struct cap in[2], exp[2], got[2];
	struct nat_config *cfg = NULL;
	struct nat_pipeline *p = NULL;
	size_t k[2] = {0, 0};
	const char *outdir = getenv("NC_GOLDEN_OUT");
	int s;

	path_of(path, sizeof(path), conf, ".conf");
	cr_assert_eq(nat_config_parse_file(path, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nat_pipeline_create(cfg, NULL, &p), 0);
	path_of(path, sizeof(path), name, "_in_inside.pcap");
	cap_read(path, &in[0]);
	path_of(path, sizeof(path), name, "_in_outside.pcap");
	cap_read(path, &in[1]);
	path_of(path, sizeof(path), name, "_exp_inside.pcap");
	cap_read(path, &exp[0]);
	path_of(path, sizeof(path), name, "_exp_outside.pcap");
	cap_read(path, &exp[1]);
	memset(got, 0, sizeof(got));
	while (k[0] < in[0].n || k[1] < in[1].n) {
		struct frame *f;
		enum nat_verdict v;
		const uint8_t *r;
		uint32_t rl;
		enum nat_side rs;

		/* timestamp order; inside first on a tie */
		s = k[0] < in[0].n && (k[1] >= in[1].n || in[0].f[k[0]].ts_us <= in[1].f[k[1]].ts_us)
			    ? 0 : 1;
		f = &in[s].f[k[s]++];
		v = nat_pipeline_process(p, f->data, f->len, (enum nat_side)s, f->ts_us / 1000000u);
		if (v == NAT_TX_INSIDE)
			cap_add(&got[0], f->ts_us, f->data, f->len);
		else if (v == NAT_TX_OUTSIDE)
			cap_add(&got[1], f->ts_us, f->data, f->len);
		r = nat_pipeline_reply(p, &rl, &rs);
		if (r)
			cap_add(&got[rs], f->ts_us, r, rl);
	}
	if (outdir) {
		snprintf(path, sizeof(path), "%s/%s_got_inside.pcap", outdir, name);
		cap_write(path, &got[0]);
		snprintf(path, sizeof(path), "%s/%s_got_outside.pcap", outdir, name);
		cap_write(path, &got[1]);
	}
	compare(name, "inside", &got[0], &exp[0]);
	compare(name, "outside", &got[1], &exp[1]);
	for (s = 0; s < 2; s++) {
		cap_free(&in[s]);
		cap_free(&exp[s]);
		cap_free(&got[s]);
	}
	nat_pipeline_free(p);
	nat_config_free(cfg);
}

NAT_TEST_EAL_SUITE(nat_golden);

Test(nat_golden, basic)
{
	run_golden("basic", "basic");
}

Test(nat_golden, offline)
{
	run_golden("offline", "basic");
}
