/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the rule parsers (lib/classify/parse.c).
 *
 * The input is parsed in every format.  A failed parse must return -EINVAL
 * (or -ENOMEM), nothing in *out, and a "fuzz:" message.  A successful one
 * must give valid rules on increasing lines, and every rule must survive
 * cls_rule_format() -> cls_parse_buffer(CLS_FMT_NATIVE) unchanged, with a
 * stable text.  Any violation aborts.
 *
 *   CC=clang meson setup build/fuzz -Dfuzz=true
 *   ninja -C build/fuzz tests/fuzz/fuzz_rules
 *   build/fuzz/tests/fuzz/fuzz_rules -max_total_time=120 tests/fuzz/corpus/rules
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_rules: check failed: %s (line %d)\n", #cond,  \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

static bool addr_eq(uint8_t fam, union cls_addr a, union cls_addr b)
{
	return fam == CLS_IPV4 ? a.v4 == b.v4 : a.v6.hi == b.v6.hi && a.v6.lo == b.v6.lo;
}

static bool rule_eq(const struct cls_rule *a, const struct cls_rule *b)
{
	return a->family == b->family && a->proto == b->proto && a->proto_mask == b->proto_mask &&
	       a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
	       addr_eq(a->family, a->src_lo, b->src_lo) && addr_eq(a->family, a->src_hi, b->src_hi) &&
	       addr_eq(a->family, a->dst_lo, b->dst_lo) && addr_eq(a->family, a->dst_hi, b->dst_hi) &&
	       a->priority == b->priority && a->id == b->id && a->udata == b->udata;
}

static void round_trip(const struct cls_rule *r)
{
	char line[512], again[512], err[256];
	struct cls_ruleset *rs = NULL;
	int n = cls_rule_format(r, line, sizeof(line));

	CHECK(n > 0 && (size_t)n < sizeof(line));
	/* Exactly n bytes, no terminator: the parser must not need one. */
	char *copy = malloc((size_t)n);
	CHECK(copy != NULL);
	memcpy(copy, line, (size_t)n);
	int rc = cls_parse_buffer(copy, (size_t)n, "fmt", CLS_FMT_NATIVE, &rs, err, sizeof(err));
	free(copy);
	if (rc != 0)
		fprintf(stderr, "fuzz_rules: '%s' does not parse back: %s\n", line, err);
	CHECK(rc == 0);
	CHECK(rs->n == 1);
	if (!rule_eq(&rs->rules[0], r)) {
		cls_rule_format(&rs->rules[0], again, sizeof(again));
		fprintf(stderr, "fuzz_rules: round trip differs\n  in: %s\n out: %s\n", line, again);
		abort();
	}
	CHECK(cls_rule_format(&rs->rules[0], again, sizeof(again)) == n);
	CHECK(strcmp(again, line) == 0);
	cls_ruleset_free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cls_format fmts[] = {CLS_FMT_AUTO, CLS_FMT_CLASSBENCH,
					       CLS_FMT_CLASSBENCH6, CLS_FMT_NATIVE};
	char err[256];

	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		struct cls_ruleset *rs = NULL;
		int rc;

		err[0] = '\0';
		rc = cls_parse_buffer((const char *)data, size, "fuzz", fmts[f], &rs, err,
				      sizeof(err));
		if (rc != 0) {
			CHECK(rc == -EINVAL || rc == -ENOMEM);
			CHECK(rs == NULL);
			CHECK(strncmp(err, "fuzz:", 5) == 0);
			continue;
		}
		CHECK(rs != NULL && err[0] == '\0');
		for (size_t i = 0; i < rs->n; i++) {
			CHECK(cls_rule_check(&rs->rules[i], NULL) == 0);
			CHECK(rs->lines[i] >= 1 && (i == 0 || rs->lines[i] > rs->lines[i - 1]));
			round_trip(&rs->rules[i]);
		}
		cls_ruleset_free(rs);
	}

	/* The address-range helper on the whole input. */
	uint8_t fam;
	union cls_addr lo, hi;
	const char *why = NULL;
	if (cls_parse_addr_range((const char *)data, size, &fam, &lo, &hi, &why) == 0) {
		CHECK(why == NULL);
		CHECK(fam == 0 || fam == CLS_IPV4 || fam == CLS_IPV6);
		if (fam == CLS_IPV4)
			CHECK(lo.v4 <= hi.v4);
		else if (fam == CLS_IPV6)
			CHECK(lo.v6.hi < hi.v6.hi || (lo.v6.hi == hi.v6.hi && lo.v6.lo <= hi.v6.lo));
	} else {
		CHECK(why != NULL);
	}
	return 0;
}
