/* SPDX-License-Identifier: BSD-3-Clause */
/* Lookup traces: ClassBench trace files and generated traces (see trace.h). */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "stats.h"

void trace_free(struct trace *t)
{
	free(t->keys);
	free(t->from_rule);
	memset(t, 0, sizeof(*t));
}

static void set_name(struct trace *t, const char *path)
{
	const char *base = strrchr(path, '/');

	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : path);
}

/* Parse an unsigned decimal field; advances *p. */
static int field(const char **p, uint64_t max, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		x = x * 10 + (uint64_t)(*s++ - '0');
		if (x > max)
			return -ERANGE;
	}
	if (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

int trace_load(const char *path, struct trace *t)
{
	static const uint64_t max[5] = { UINT32_MAX, UINT32_MAX, 65535, 65535, 255 };
	static const char *const what[5] = { "source address", "destination address",
					     "source port", "destination port", "protocol" };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	unsigned long lineno = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!f) {
		rc = -errno;
		fprintf(stderr, "ncbench: %s: %s\n", path, strerror(errno));
		return rc;
	}
	set_name(t, path);
	while (getline(&line, &cap, f) > 0) {
		const char *p = line;
		uint64_t v[5];
		struct cls_key *k;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#')
			continue;
		for (int i = 0; i < 5; i++) {
			if (field(&p, max[i], &v[i])) {
				fprintf(stderr, "ncbench: %s:%lu: bad %s (want sip dip sport dport proto, decimal)\n",
					path, lineno, what[i]);
				rc = -EINVAL;
				goto out;
			}
		}
		if (t->n == alloc) {
			struct cls_key *nk;

			alloc = alloc ? alloc * 2 : 65536;
			nk = realloc(t->keys, alloc * sizeof(*nk));
			if (!nk) {
				rc = -ENOMEM;
				fprintf(stderr, "ncbench: %s: out of memory\n", path);
				goto out;
			}
			t->keys = nk;
		}
		k = &t->keys[t->n++];
		memset(k, 0, sizeof(*k));
		k->family = CLS_IPV4;
		k->src.v4 = (uint32_t)v[0];
		k->dst.v4 = (uint32_t)v[1];
		k->sport = (uint16_t)v[2];
		k->dport = (uint16_t)v[3];
		k->proto = (uint8_t)v[4];
	}
	if (ferror(f)) {
		rc = -EIO;
		fprintf(stderr, "ncbench: %s: read error\n", path);
	}
out:
	free(line);
	fclose(f);
	if (rc)
		trace_free(t);
	return rc;
}

static void random_addr(struct rng *r, uint8_t family, union cls_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (family == CLS_IPV4) {
		a->v4 = (uint32_t)rng_next(r);
	} else {
		a->v6.hi = rng_next(r);
		a->v6.lo = rng_next(r);
	}
}

static void addr_in(struct rng *r, uint8_t family, const union cls_addr *lo,
		    const union cls_addr *hi, union cls_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (family == CLS_IPV4) {
		a->v4 = (uint32_t)rng_range(r, lo->v4, hi->v4);
		return;
	}
	a->v6.hi = rng_range(r, lo->v6.hi, hi->v6.hi);
	a->v6.lo = rng_range(r, a->v6.hi == lo->v6.hi ? lo->v6.lo : 0,
			     a->v6.hi == hi->v6.hi ? hi->v6.lo : UINT64_MAX);
}

size_t trace_default_size(size_t n_rules)
{
	size_t llc = bench_llc_bytes(), n;

	if (n_rules < 50000)
		return 256 * 1024;
	n = llc ? 2 * llc / 16 : 0; /* rte_acl's key is 16 bytes, ours larger */
	return n > (1u << 20) ? n : (1u << 20);
}

int trace_generate(const struct cls_ruleset *rs, size_t n, uint64_t seed, struct trace *t)
{
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1 };
	struct rng r;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "generated(%zu keys, seed %" PRIu64 ")", n, seed);
	t->keys = calloc(n ? n : 1, sizeof(*t->keys));
	t->from_rule = calloc(n ? n : 1, sizeof(*t->from_rule));
	if (!t->keys || !t->from_rule) {
		trace_free(t);
		fprintf(stderr, "ncbench: trace of %zu keys: out of memory\n", n);
		return -ENOMEM;
	}
	t->n = n;
	rng_seed(&r, seed * 0x9e3779b97f4a7c15ULL + 0x7ace);
	for (size_t i = 0; i < n; i++) {
		struct cls_key *k = &t->keys[i];
		const struct cls_rule *x;
		size_t ri;

		if (rs->n == 0 || rng_unit(&r) < 0.1) {
			k->family = rs->n ? rs->rules[rng_range(&r, 0, rs->n - 1)].family : CLS_IPV4;
			random_addr(&r, k->family, &k->src);
			random_addr(&r, k->family, &k->dst);
			k->sport = (uint16_t)rng_next(&r);
			k->dport = (uint16_t)rng_next(&r);
			/* mostly TCP/UDP/ICMP, sometimes any protocol: some keys match nothing */
			k->proto = rng_unit(&r) < 0.125 ? (uint8_t)rng_next(&r)
							: protos[rng_range(&r, 0, sizeof(protos) - 1)];
			continue;
		}
		ri = (size_t)rng_range(&r, 0, rs->n - 1);
		x = &rs->rules[ri];
		t->from_rule[i] = (uint32_t)ri + 1;
		k->family = x->family;
		addr_in(&r, x->family, &x->src_lo, &x->src_hi, &k->src);
		addr_in(&r, x->family, &x->dst_lo, &x->dst_hi, &k->dst);
		k->sport = (uint16_t)rng_range(&r, x->sport_lo, x->sport_hi);
		k->dport = (uint16_t)rng_range(&r, x->dport_lo, x->dport_hi);
		if (x->proto_mask == 0)
			k->proto = protos[rng_range(&r, 0, sizeof(protos) - 1)];
		else /* keep the masked bits, draw the others */
			k->proto = (uint8_t)((x->proto & x->proto_mask) |
					     ((uint8_t)rng_next(&r) & ~x->proto_mask));
	}
	return 0;
}

int trace_write(const struct trace *t, const struct cls_ruleset *rs, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t skipped = 0;

	if (!f) {
		fprintf(stderr, "ncbench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct cls_key *k = &t->keys[i];
		uint32_t from = t->from_rule ? t->from_rule[i] : 0;

		if (k->family != CLS_IPV4) {
			skipped++;
			continue;
		}
		fprintf(f, "%" PRIu32 "\t%" PRIu32 "\t%u\t%u\t%u\t0\t%" PRIu32 "\n", k->src.v4,
			k->dst.v4, k->sport, k->dport, k->proto,
			from && rs ? rs->rules[from - 1].id : 0);
	}
	if (fclose(f)) {
		fprintf(stderr, "ncbench: %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	if (skipped)
		fprintf(stderr, "ncbench: %s: %zu IPv6 keys left out (ClassBench traces are IPv4)\n",
			path, skipped);
	return 0;
}
