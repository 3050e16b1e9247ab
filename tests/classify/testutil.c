/* SPDX-License-Identifier: BSD-3-Clause */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

uint64_t tu_seed(const char *test)
{
	const char *e = getenv("NC_SEED");
	uint64_t s;
	if (e && *e) {
		s = strtoull(e, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
	}
	fprintf(stderr, "%s: seed %llu (replay with NC_SEED=%llu)\n", test,
		(unsigned long long)s, (unsigned long long)s);
	return s;
}

uint64_t tu_next(struct tu_rng *r)
{
	/* splitmix64 */
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint32_t tu_below(struct tu_rng *r, uint32_t n)
{
	return n ? (uint32_t)(tu_next(r) % n) : 0;
}

bool tu_long_mode(void)
{
	const char *e = getenv("NC_LONG");
	return e && *e && strcmp(e, "0") != 0;
}

void tu_pools_init(struct tu_pools *p, struct tu_rng *r)
{
	for (unsigned i = 0; i < 12; i++)
		p->v4[i] = (uint32_t)tu_next(r);
	/* a few related addresses so that prefixes nest */
	p->v4[1] = p->v4[0] ^ 0x00000100u;
	p->v4[2] = p->v4[0] ^ 0x00010000u;
	p->v4[3] = p->v4[0] ^ 0x80000000u;
	for (unsigned i = 0; i < 8; i++) {
		p->v6[i].hi = tu_next(r);
		p->v6[i].lo = tu_next(r);
	}
	p->v6[1].hi = p->v6[0].hi;
	p->v6[2].hi = p->v6[0].hi ^ 1;
	p->v6[3] = p->v6[0];
	p->v6[3].lo ^= 0x100;
	const uint16_t ports[8] = {0, 22, 53, 80, 443, 1024, 8080, 65535};
	memcpy(p->ports, ports, sizeof(ports));
	const uint8_t protos[4] = {6, 17, 1, 58};
	memcpy(p->protos, protos, sizeof(protos));
}

static uint32_t prefix_lo32(uint32_t a, unsigned len)
{
	return len == 0 ? 0 : a & (uint32_t)(~0ull << (32 - len));
}

static uint32_t prefix_hi32(uint32_t a, unsigned len)
{
	return len == 0 ? UINT32_MAX : a | (uint32_t)~(~0ull << (32 - len));
}

static void v6_prefix(struct cls_ip6 a, unsigned len, struct cls_ip6 *lo, struct cls_ip6 *hi)
{
	uint64_t mh = len >= 64 ? ~0ull : len == 0 ? 0 : ~0ull << (64 - len);
	uint64_t ml = len <= 64 ? 0 : len >= 128 ? ~0ull : ~0ull << (128 - len);
	lo->hi = a.hi & mh;
	lo->lo = a.lo & ml;
	hi->hi = a.hi | ~mh;
	hi->lo = a.lo | ~ml;
}

static int cmp6(struct cls_ip6 a, struct cls_ip6 b)
{
	return a.hi != b.hi ? (a.hi < b.hi ? -1 : 1) : a.lo != b.lo ? (a.lo < b.lo ? -1 : 1) : 0;
}

static void rand_addr(struct tu_rng *r, const struct tu_pools *p, uint8_t fam, union cls_addr *lo,
		      union cls_addr *hi)
{
	unsigned kind = tu_below(r, 8);
	if (fam == CLS_IPV4) {
		static const unsigned lens[] = {0, 8, 16, 23, 24, 31, 32, 32};
		uint32_t a = p->v4[tu_below(r, 12)];
		if (kind < 6) {
			unsigned len = lens[tu_below(r, 8)];
			lo->v4 = prefix_lo32(a, len);
			hi->v4 = prefix_hi32(a, len);
		} else { /* arbitrary range between two pool values */
			uint32_t b = p->v4[tu_below(r, 12)];
			lo->v4 = a < b ? a : b;
			hi->v4 = a < b ? b : a;
		}
	} else {
		static const unsigned lens[] = {0, 16, 32, 48, 64, 96, 120, 128};
		struct cls_ip6 a = p->v6[tu_below(r, 8)];
		if (kind < 6) {
			v6_prefix(a, lens[tu_below(r, 8)], &lo->v6, &hi->v6);
		} else {
			struct cls_ip6 b = p->v6[tu_below(r, 8)];
			if (kind == 7) { /* a range with ragged ends inside a /64 */
				b = a;
				b.lo += tu_next(r) >> 8;
			}
			bool lt = cmp6(a, b) < 0;
			lo->v6 = lt ? a : b;
			hi->v6 = lt ? b : a;
		}
	}
}

static void rand_ports(struct tu_rng *r, const struct tu_pools *p, uint16_t *lo, uint16_t *hi)
{
	switch (tu_below(r, 4)) {
	case 0:
		*lo = 0;
		*hi = 65535;
		break;
	case 1:
		*lo = *hi = p->ports[tu_below(r, 8)];
		break;
	default: {
		uint16_t a = p->ports[tu_below(r, 8)], b = p->ports[tu_below(r, 8)];
		*lo = a < b ? a : b;
		*hi = a < b ? b : a;
	}
	}
}

void tu_rand_rule(struct tu_rng *r, const struct tu_pools *p, uint8_t family,
		  struct cls_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family ? family : (tu_below(r, 4) == 0 ? CLS_IPV6 : CLS_IPV4);
	rand_addr(r, p, out->family, &out->src_lo, &out->src_hi);
	rand_addr(r, p, out->family, &out->dst_lo, &out->dst_hi);
	rand_ports(r, p, &out->sport_lo, &out->sport_hi);
	rand_ports(r, p, &out->dport_lo, &out->dport_hi);
	switch (tu_below(r, 5)) {
	case 0:
		out->proto_mask = 0;
		break;
	case 1: /* a mask that is not a prefix: several boxes */
		out->proto = p->protos[tu_below(r, 4)];
		out->proto_mask = 0xF0;
		if (tu_below(r, 2))
			out->proto_mask = 0x0F;
		break;
	default:
		out->proto = p->protos[tu_below(r, 4)];
		out->proto_mask = 0xFF;
	}
	out->priority = (int32_t)tu_below(r, 64) - 32; /* ties happen */
	out->id = (uint32_t)tu_next(r) >> 1;
	out->udata = (void *)(uintptr_t)(out->id * 2 + 1);
}

void tu_rand_key(struct tu_rng *r, const struct tu_pools *p, uint8_t family, struct cls_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = family ? family : (tu_below(r, 4) == 0 ? CLS_IPV6 : CLS_IPV4);
	bool near = tu_below(r, 8) != 0;
	for (unsigned i = 0; i < 2; i++) {
		union cls_addr *a = i ? &k->dst : &k->src;
		if (k->family == CLS_IPV4) {
			a->v4 = near ? p->v4[tu_below(r, 12)] : (uint32_t)tu_next(r);
			if (near && tu_below(r, 2))
				a->v4 += tu_below(r, 3) - 1; /* edges */
		} else {
			a->v6 = p->v6[tu_below(r, 8)];
			if (!near) {
				a->v6.hi = tu_next(r);
				a->v6.lo = tu_next(r);
			} else if (tu_below(r, 2)) {
				a->v6.lo += tu_below(r, 3) - 1;
			}
		}
	}
	k->sport = near ? (uint16_t)(p->ports[tu_below(r, 8)] + tu_below(r, 3) - 1)
			: (uint16_t)tu_next(r);
	k->dport = near ? (uint16_t)(p->ports[tu_below(r, 8)] + tu_below(r, 3) - 1)
			: (uint16_t)tu_next(r);
	k->proto = near ? p->protos[tu_below(r, 4)] : (uint8_t)tu_next(r);
}

struct cls *tu_create(enum cls_backend b, const struct cls_reclaim *hook)
{
	struct cls_config cfg = {.backend = b, .reclaim = hook};
	struct cls *c = NULL;
	if (cls_create(&cfg, &c) < 0)
		return NULL;
	return c;
}

static void print_key(const struct cls_key *k)
{
	if (k->family == CLS_IPV4)
		fprintf(stderr, "  key v4 src %08x dst %08x sport %u dport %u proto %u\n", k->src.v4,
			k->dst.v4, k->sport, k->dport, k->proto);
	else
		fprintf(stderr, "  key v6 src %016llx:%016llx dst %016llx:%016llx sport %u dport %u proto %u\n",
			(unsigned long long)k->src.v6.hi, (unsigned long long)k->src.v6.lo,
			(unsigned long long)k->dst.v6.hi, (unsigned long long)k->dst.v6.lo, k->sport,
			k->dport, k->proto);
}

bool tu_same_answer(const struct cls *got, const struct cls *ref, const struct cls_key *k)
{
	struct cls_match a, b;
	int ha = cls_lookup(got, k, &a), hb = cls_lookup(ref, k, &b);
	if (ha == hb && a.id == b.id && a.priority == b.priority && a.udata == b.udata)
		return true;
	fprintf(stderr, "mismatch: %s gives %d id %u prio %d, %s gives %d id %u prio %d\n",
		cls_backend_name(got), ha, a.id, a.priority, cls_backend_name(ref), hb, b.id,
		b.priority);
	print_key(k);
	return false;
}

void tu_qsbr_init(struct tu_qsbr *q, unsigned nreaders)
{
	atomic_init(&q->epoch, 1);
	for (unsigned i = 0; i < TU_QSBR_MAX; i++)
		atomic_init(&q->seen[i], i < nreaders ? 0 : UINT64_MAX);
	q->nreaders = nreaders;
}

void tu_qsbr_quiescent(struct tu_qsbr *q, unsigned reader)
{
	atomic_store(&q->seen[reader], atomic_load(&q->epoch));
}

void tu_qsbr_offline(struct tu_qsbr *q, unsigned reader)
{
	atomic_store(&q->seen[reader], UINT64_MAX);
}

static uint64_t qsbr_start(void *ctx)
{
	struct tu_qsbr *q = ctx;
	return atomic_fetch_add(&q->epoch, 1) + 1;
}

static bool qsbr_done(void *ctx, uint64_t t)
{
	struct tu_qsbr *q = ctx;
	for (unsigned i = 0; i < q->nreaders; i++)
		if (atomic_load(&q->seen[i]) < t)
			return false;
	return true;
}

struct cls_reclaim tu_qsbr_hook(struct tu_qsbr *q)
{
	struct cls_reclaim h = {.start = qsbr_start, .done = qsbr_done, .ctx = q};
	return h;
}

const char *tu_classbench_dir(void)
{
	const char *d = getenv("NC_CLASSBENCH_DIR");
	struct stat st;
	if (d && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
		return d;
	return NULL;
}

size_t tu_load_trace(const char *path, struct cls_key **keys)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = 0, cap = 1024;
	struct cls_key *k = malloc(cap * sizeof(*k));
	unsigned long sip, dip, sp, dp, pr;
	char line[256];
	while (k && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %lu %lu %lu %lu", &sip, &dip, &sp, &dp, &pr) != 5)
			continue;
		if (n == cap) {
			struct cls_key *nk = realloc(k, 2 * cap * sizeof(*k));
			if (nk == NULL)
				break;
			k = nk;
			cap *= 2;
		}
		memset(&k[n], 0, sizeof(k[n]));
		k[n].family = CLS_IPV4;
		k[n].src.v4 = (uint32_t)sip;
		k[n].dst.v4 = (uint32_t)dip;
		k[n].sport = (uint16_t)sp;
		k[n].dport = (uint16_t)dp;
		k[n].proto = (uint8_t)pr;
		n++;
	}
	fclose(f);
	*keys = k;
	return n;
}
