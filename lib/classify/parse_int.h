/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLS_PARSE_INT_H
#define CLS_PARSE_INT_H
/* Internal to the rule parser: parse_fields.c (fields) and parse.c (line
 * formats and the driver). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#define DEFAULT_NAME "<buffer>"

struct span {
	const char *p;
	size_t n;
};

struct quoted {
	char s[52];
};

enum num_rc { NUM_OK, NUM_EMPTY, NUM_BAD, NUM_RANGE };

enum addr_err {
	AE_OK,
	AE_EMPTY,      /* nothing given */
	AE_ADDR,       /* not an address */
	AE_LEN,        /* prefix length not a number */
	AE_LEN_RANGE,  /* prefix length too large */
	AE_NOLEN,      /* ClassBench: no "/LEN" */
	AE_MIX,        /* ADDR-ADDR of two families */
	AE_ORDER,      /* ADDR-ADDR with first > last */
};

struct arange {
	uint8_t fam; /* 0 for "any" */
	union cls_addr lo, hi;
	struct span bad; /* AE_*: the offending part of the text */
};

struct pctx {
	const char *name;
	uint32_t line;
	char *err;
	size_t errlen;
};

bool clsp_is_blank(char c);
char clsp_lower(char c);
bool clsp_span_eq_ci(struct span s, const char *word);
const char *clsp_skip_blanks(const char *p, const char *e);
struct span clsp_next_token(const char **pp, const char *e);
const char *clsp_quote(struct quoted *q, struct span t);
enum num_rc clsp_parse_uint(struct span t, bool hex_ok, uint64_t max, uint64_t *out);
enum addr_err clsp_addr_range(struct span t, bool prefix_only, struct arange *r);
int clsp_perr(struct pctx *px, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int clsp_addr_error(struct pctx *px, const char *field, enum addr_err e, const struct arange *r);
int clsp_num_error(struct pctx *px, const char *what, struct span t, enum num_rc rc,
		     uint64_t max, bool hex_ok);
int clsp_get_uint(struct pctx *px, const char *what, struct span t, bool hex_ok,
		    uint64_t max, uint64_t *v);
int clsp_check_ports(struct pctx *px, const char *field, uint64_t lo, uint64_t hi,
		       uint16_t *plo, uint16_t *phi);
int clsp_parse_proto_vm(struct pctx *px, struct span t, bool allow_plain, struct cls_rule *r);
void clsp_full_range(uint8_t fam, union cls_addr *lo, union cls_addr *hi);

#endif
