/* SPDX-License-Identifier: BSD-3-Clause */
/* The rte_acl peer (see acl_peer.h). */
#include "acl_peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "bench_eal.h"
#include "stats.h"

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_NUM };
/* IPv6: proto, four source words, four destination words, ports */
enum { F6_PROTO, F6_SRC, F6_DST = F6_SRC + 4, F6_SPORT = F6_DST + 4, F6_DPORT, F6_NUM };

RTE_ACL_RULE_DEF(acl_rule_any, F6_NUM); /* room for either layout */

static const struct rte_acl_field_def field_defs[F_NUM] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t), .field_index = F_PROTO,
	  .input_index = 0, .offset = offsetof(struct acl_key, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = F_SRC,
	  .input_index = 1, .offset = offsetof(struct acl_key, src) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = F_DST,
	  .input_index = 2, .offset = offsetof(struct acl_key, dst) },
	/* both ports in one 4-byte input group, as rte_acl wants */
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F_SPORT,
	  .input_index = 3, .offset = offsetof(struct acl_key, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F_DPORT,
	  .input_index = 3, .offset = offsetof(struct acl_key, dport) },
};

#define WORD(f, arr, w) { .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t),     \
	.field_index = (f) + (w), .input_index = (f) + (w),                                 \
	.offset = offsetof(struct acl_key6, arr) + 4 * (w) }
static const struct rte_acl_field_def field_defs6[F6_NUM] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t), .field_index = F6_PROTO,
	  .input_index = 0, .offset = offsetof(struct acl_key6, proto) },
	WORD(F6_SRC, src, 0), WORD(F6_SRC, src, 1), WORD(F6_SRC, src, 2), WORD(F6_SRC, src, 3),
	WORD(F6_DST, dst, 0), WORD(F6_DST, dst, 1), WORD(F6_DST, dst, 2), WORD(F6_DST, dst, 3),
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F6_SPORT,
	  .input_index = F6_SPORT, .offset = offsetof(struct acl_key6, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = F6_DPORT,
	  .input_index = F6_SPORT, .offset = offsetof(struct acl_key6, dport) },
};
#undef WORD

static const struct acl_alg all_algs[] = {
	{ "scalar", RTE_ACL_CLASSIFY_SCALAR },
	{ "sse", RTE_ACL_CLASSIFY_SSE },
	{ "avx2", RTE_ACL_CLASSIFY_AVX2 },
	{ "avx512x16", RTE_ACL_CLASSIFY_AVX512X16 },
	{ "avx512x32", RTE_ACL_CLASSIFY_AVX512X32 },
};

static bool eal_done;
static int eal_rc;
static char eal_mode[96];

static void eal_cleanup(void)
{
	rte_eal_cleanup();
}

int acl_peer_eal_init(int core, unsigned mem_mb, bool no_huge, const char **mode)
{
	char lcores[16];
	/* 2 MB pages free: use them when they hold a good share of what fw1 100K needs */
	unsigned long free2m = bench_eal_free_hugepages(2048);
	unsigned long free1g = bench_eal_free_hugepages(1048576);
	struct bench_eal_cfg c = {
		.lcore_opt = "-l",
		.lcores = lcores,
		.huge = !no_huge && bench_eal_hugetlbfs_mounted() && (free2m >= 256 || free1g >= 1),
		.mem_mb = mem_mb,
		.prefix = "ncbench",
		.extra = "--force-max-simd-bitwidth=512",
	};

	if (eal_done)
		goto out;
	eal_done = true;
	snprintf(lcores, sizeof(lcores), "%d", core);
	if (!c.huge)
		snprintf(eal_mode, sizeof(eal_mode), "no hugepages (--no-huge -m %u)", mem_mb);
	else
		snprintf(eal_mode, sizeof(eal_mode), "hugepages (%lu x 2M, %lu x 1G free)", free2m,
			 free1g);
	if (bench_eal_init(&c) < 0) {
		eal_rc = -(rte_errno ? rte_errno : EINVAL);
		fprintf(stderr, "ncbench: rte_acl peer: EAL init failed: %s\n",
			rte_strerror(rte_errno));
	} else {
		atexit(eal_cleanup);
	}
out:
	if (mode)
		*mode = eal_mode;
	return eal_rc;
}

typedef unsigned __int128 u128;

static u128 low_ones(unsigned bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

/* Cut [lo, hi] (addresses of width bits) into maximal aligned prefixes;
 * returns max + 1 if more than max are needed. */
static size_t range_prefixes(u128 lo, u128 hi, unsigned width, u128 *addr, uint8_t *len,
			     size_t max)
{
	size_t n = 0;

	for (;;) {
		unsigned bits = 0;

		/* the largest block starting at lo that is aligned and ends <= hi */
		while (bits < width && (lo & low_ones(bits + 1)) == 0 &&
		       lo + low_ones(bits + 1) <= hi)
			bits++;
		if (n == max)
			return max + 1;
		addr[n] = lo;
		len[n++] = (uint8_t)(width - bits);
		if (lo + low_ones(bits) >= hi)
			return n;
		lo += low_ones(bits) + 1;
	}
}

static u128 addr_u128(const struct cls_rule *x, const union cls_addr *a)
{
	return x->family == CLS_IPV4 ? a->v4 : (u128)a->v6.hi << 64 | a->v6.lo;
}

/* An address prefix into one field (IPv4) or four 32-bit word fields (IPv6). */
static void set_prefix(struct rte_acl_field *f, bool v6, u128 a, unsigned len)
{
	if (!v6) {
		f[0].value.u32 = (uint32_t)a;
		f[0].mask_range.u32 = len;
		return;
	}
	for (unsigned w = 0; w < 4; w++) {
		int l = (int)len - 32 * (int)w;

		f[w].value.u32 = (uint32_t)(a >> (96 - 32 * w));
		f[w].mask_range.u32 = l <= 0 ? 0 : l >= 32 ? 32 : (uint32_t)l;
	}
}

struct order {
	int32_t prio;
	uint32_t id;
	size_t idx;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

#define MAX_PFX 32

static int convert(const struct cls_ruleset *rs, struct acl_peer *p, const char **why)
{
	struct order *ord = malloc(sizeof(*ord) * rs->n);
	uint32_t *rank_of = malloc(sizeof(*rank_of) * rs->n);
	size_t n = 0, cap = rs->n + 16;
	char *out;

	p->v6 = rs->rules[0].family == CLS_IPV6;
	p->rule_sz = RTE_ACL_RULE_SZ(p->v6 ? F6_NUM : F_NUM);
	p->first = calloc(rs->n + 1, sizeof(*p->first));
	p->id_of = calloc(rs->n + 1, sizeof(*p->id_of));
	out = malloc((size_t)p->rule_sz * cap);
	if (!ord || !rank_of || !p->first || !p->id_of || !out)
		goto nomem;
	/* rte_acl: larger priority wins; ours: priority, then lower id */
	for (size_t i = 0; i < rs->n; i++)
		ord[i] = (struct order){ rs->rules[i].priority, rs->rules[i].id, i };
	qsort(ord, rs->n, sizeof(*ord), cmp_order);
	for (size_t r = 0; r < rs->n; r++) {
		rank_of[ord[r].idx] = (uint32_t)r;
		p->id_of[r + 1] = ord[r].id;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct cls_rule *x = &rs->rules[i];
		unsigned width = p->v6 ? 128 : 32;
		u128 sa[MAX_PFX], da[MAX_PFX];
		uint8_t sl[MAX_PFX], dl[MAX_PFX];
		size_t ns, nd;

		p->first[i] = n;
		if (x->family != rs->rules[0].family) {
			*why = "rule set mixes IPv4 and IPv6 rules (the peer takes one family)";
			goto fail;
		}
		ns = range_prefixes(addr_u128(x, &x->src_lo), addr_u128(x, &x->src_hi), width, sa,
				    sl, MAX_PFX);
		nd = range_prefixes(addr_u128(x, &x->dst_lo), addr_u128(x, &x->dst_hi), width, da,
				    dl, MAX_PFX);
		if (ns > MAX_PFX || nd > MAX_PFX) {
			*why = "an address range needs more than 32 prefixes";
			goto fail;
		}
		for (size_t s = 0; s < ns; s++) {
			for (size_t d = 0; d < nd; d++) {
				struct acl_rule_any *a;
				struct rte_acl_field *f;

				if (n == cap) {
					char *nr;

					cap *= 2;
					nr = realloc(out, (size_t)p->rule_sz * cap);
					if (!nr)
						goto nomem;
					out = nr;
				}
				a = (struct acl_rule_any *)(out + (size_t)p->rule_sz * n++);
				f = a->field;
				memset(a, 0, p->rule_sz);
				a->data.category_mask = 1;
				a->data.priority = (int32_t)(rs->n - rank_of[i]);
				a->data.userdata = rank_of[i] + 1;
				f[F_PROTO].value.u8 = x->proto & x->proto_mask;
				f[F_PROTO].mask_range.u8 = x->proto_mask;
				set_prefix(&f[F_SRC], p->v6, sa[s], sl[s]);
				set_prefix(&f[p->v6 ? F6_DST : F_DST], p->v6, da[d], dl[d]);
				f = &f[p->v6 ? F6_SPORT : F_SPORT]; /* sport, then dport */
				f[0].value.u16 = x->sport_lo;
				f[0].mask_range.u16 = x->sport_hi;
				f[1].value.u16 = x->dport_lo;
				f[1].mask_range.u16 = x->dport_hi;
			}
		}
	}
	p->first[rs->n] = n;
	p->rules = out;
	p->n_acl_rules = n;
	p->n_src = rs->n;
	free(ord);
	free(rank_of);
	return 0;
nomem:
	*why = "out of memory";
	free(ord);
	free(rank_of);
	free(out);
	return -ENOMEM;
fail:
	free(ord);
	free(rank_of);
	free(out);
	return -ENOTSUP;
}

static uint64_t heap_bytes(void)
{
	struct rte_malloc_socket_stats st;
	uint64_t sum = 0;

	for (unsigned s = 0; s < rte_socket_count(); s++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static int add_and_build(struct acl_peer *p, size_t omit)
{
	struct rte_acl_config cfg = { .num_categories = 1 };
	const char *r = p->rules;
	uint64_t before;
	double t0 = bench_now();
	int rc;

	cfg.num_fields = p->v6 ? F6_NUM : F_NUM;
	if (p->v6)
		memcpy(cfg.defs, field_defs6, sizeof(field_defs6));
	else
		memcpy(cfg.defs, field_defs, sizeof(field_defs));
	rte_acl_reset_rules(p->ctx);
	if (omit >= p->n_src) {
		rc = rte_acl_add_rules(p->ctx, (const struct rte_acl_rule *)r,
				       (uint32_t)p->n_acl_rules);
	} else {
		rc = rte_acl_add_rules(p->ctx, (const struct rte_acl_rule *)r,
				       (uint32_t)p->first[omit]);
		if (!rc)
			rc = rte_acl_add_rules(
				p->ctx,
				(const struct rte_acl_rule *)(r + (size_t)p->rule_sz * p->first[omit + 1]),
				(uint32_t)(p->n_acl_rules - p->first[omit + 1]));
	}
	if (rc)
		return rc;
	before = heap_bytes();
	rc = rte_acl_build(p->ctx, &cfg);
	p->build_ms = (bench_now() - t0) * 1e3;
	if (!rc && heap_bytes() > before)
		p->runtime_bytes = heap_bytes() - before;
	return rc;
}

int acl_peer_create(const struct cls_ruleset *rs, struct acl_peer **out, const char **why)
{
	static unsigned seq;
	struct acl_peer *p = calloc(1, sizeof(*p));
	struct rte_acl_param prm = { .socket_id = SOCKET_ID_ANY };
	char name[RTE_ACL_NAMESIZE];
	uint64_t h0;
	int rc;

	*why = "";
	if (!p) {
		*why = "out of memory";
		return -ENOMEM;
	}
	rc = convert(rs, p, why);
	if (rc)
		goto fail;
	snprintf(name, sizeof(name), "ncbench%u", seq++);
	prm.name = name;
	prm.rule_size = p->rule_sz;
	prm.max_rule_num = (uint32_t)p->n_acl_rules;
	h0 = heap_bytes();
	p->ctx = rte_acl_create(&prm);
	if (!p->ctx) {
		rc = -(rte_errno ? rte_errno : ENOMEM);
		*why = "rte_acl_create failed";
		goto fail;
	}
	p->rule_bytes = heap_bytes() - h0;
	rc = add_and_build(p, SIZE_MAX);
	if (rc) {
		*why = "rte_acl_add_rules/rte_acl_build failed";
		goto fail;
	}
	for (size_t i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++)
		if (rte_acl_set_ctx_classify(p->ctx, all_algs[i].alg) == 0)
			p->algs[p->n_algs++] = all_algs[i];
	(void)rte_acl_set_ctx_classify(p->ctx, RTE_ACL_CLASSIFY_DEFAULT);
	*out = p;
	return 0;
fail:
	acl_peer_free(p);
	return rc;
}

int acl_peer_rebuild(struct acl_peer *p, size_t omit)
{
	return add_and_build(p, omit);
}

void acl_peer_free(struct acl_peer *p)
{
	if (!p)
		return;
	rte_acl_free(p->ctx);
	free(p->rules);
	free(p->first);
	free(p->id_of);
	free(p);
}

int acl_peer_keys(const struct acl_peer *p, const struct trace *t, void **keys,
		  const uint8_t ***ptrs)
{
	size_t n = t->n ? t->n : 1, stride = p->v6 ? sizeof(struct acl_key6) : sizeof(struct acl_key);
	char *k = calloc(n, stride);
	const uint8_t **ptr = calloc(n, sizeof(*ptr));

	if (!k || !ptr) {
		free(k);
		free(ptr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct cls_key *c = &t->keys[i];

		if (c->family != (p->v6 ? CLS_IPV6 : CLS_IPV4)) {
			free(k);
			free(ptr);
			return -ENOTSUP;
		}
		if (p->v6) {
			struct acl_key6 *a = (struct acl_key6 *)(k + i * stride);
			const uint64_t h[4] = { c->src.v6.hi, c->src.v6.lo, c->dst.v6.hi, c->dst.v6.lo };

			a->proto = c->proto;
			for (int w = 0; w < 4; w++) {
				a->src[w] = rte_cpu_to_be_32((uint32_t)(h[w / 2] >> (w % 2 ? 0 : 32)));
				a->dst[w] = rte_cpu_to_be_32((uint32_t)(h[2 + w / 2] >> (w % 2 ? 0 : 32)));
			}
			a->sport = rte_cpu_to_be_16(c->sport);
			a->dport = rte_cpu_to_be_16(c->dport);
		} else {
			struct acl_key *a = (struct acl_key *)(k + i * stride);

			a->proto = c->proto;
			a->src = rte_cpu_to_be_32(c->src.v4);
			a->dst = rte_cpu_to_be_32(c->dst.v4);
			a->sport = rte_cpu_to_be_16(c->sport);
			a->dport = rte_cpu_to_be_16(c->dport);
		}
		ptr[i] = (const uint8_t *)(k + i * stride);
	}
	*keys = k;
	*ptrs = ptr;
	return 0;
}
