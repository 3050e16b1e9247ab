/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_gen_parse FILE N: FILE (the output of ncbench gen --size N) must parse
 * with cls_parse_buffer() into exactly N valid, pairwise distinct rules whose
 * ids are their line numbers.  Exit 0 if so, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_parse.h"

static int same_fields(const struct cls_rule *a, const struct cls_rule *b)
{
	return a->src_lo.v4 == b->src_lo.v4 && a->src_hi.v4 == b->src_hi.v4 &&
	       a->dst_lo.v4 == b->dst_lo.v4 && a->dst_hi.v4 == b->dst_hi.v4 &&
	       a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
	       a->proto == b->proto && a->proto_mask == b->proto_mask;
}

static int cmp_rule(const void *x, const void *y)
{
	const struct cls_rule *a = x, *b = y;
	uint64_t ka[4] = { a->src_lo.v4, a->src_hi.v4, a->dst_lo.v4, a->dst_hi.v4 };
	uint64_t kb[4] = { b->src_lo.v4, b->src_hi.v4, b->dst_lo.v4, b->dst_hi.v4 };
	uint64_t pa = (uint64_t)a->sport_lo << 48 | (uint64_t)a->sport_hi << 32 |
		      (uint64_t)a->dport_lo << 16 | a->dport_hi;
	uint64_t pb = (uint64_t)b->sport_lo << 48 | (uint64_t)b->sport_hi << 32 |
		      (uint64_t)b->dport_lo << 16 | b->dport_hi;

	for (int i = 0; i < 4; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return (a->proto << 8 | a->proto_mask) - (b->proto << 8 | b->proto_mask);
}

int main(int argc, char **argv)
{
	struct cls_ruleset *rs = NULL;
	char err[512] = "", *buf;
	size_t want, len;
	long sz;
	FILE *f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: test_gen_parse FILE N\n");
		return 2;
	}
	want = strtoul(argv[2], NULL, 10);
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	buf = malloc((size_t)sz + 1);
	len = buf ? fread(buf, 1, (size_t)sz, f) : 0;
	fclose(f);
	if (!buf || len != (size_t)sz) {
		fprintf(stderr, "%s: read failed\n", argv[1]);
		return 1;
	}
	rc = cls_parse_buffer(buf, len, argv[1], CLS_FMT_AUTO, &rs, err, sizeof(err));
	free(buf);
	if (rc) {
		fprintf(stderr, "cls_parse_buffer: %s\n", err);
		return 1;
	}
	if (rs->n != want) {
		fprintf(stderr, "%s: %zu rules, want %zu\n", argv[1], rs->n, want);
		return 1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const char *why = "";

		if (rs->rules[i].id != i + 1 || cls_rule_check(&rs->rules[i], &why)) {
			fprintf(stderr, "%s: rule %zu: id %u, check: %s\n", argv[1], i + 1,
				rs->rules[i].id, why);
			return 1;
		}
	}
	qsort(rs->rules, rs->n, sizeof(*rs->rules), cmp_rule);
	for (size_t i = 1; i < rs->n; i++) {
		if (same_fields(&rs->rules[i - 1], &rs->rules[i])) {
			fprintf(stderr, "%s: duplicate rules\n", argv[1]);
			return 1;
		}
	}
	printf("%s: %zu distinct rules parse\n", argv[1], rs->n);
	cls_ruleset_free(rs);
	return 0;
}
