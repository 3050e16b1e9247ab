/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CONFIG_INT_H
#define NCNAT_NAT_CONFIG_INT_H

/*
 * ncnat configuration parser: internals shared by its two files
 * =============================================================
 *
 * nat_config_line.c turns one line of text into fields of a struct
 * nat_config (tokens, values, statements, rules: syntax and per-value
 * ranges); nat_config.c drives it over a buffer or file, checks the
 * statements against each other and holds the public single-statement
 * entry points (nat_config.h).
 *
 * Errors go through cfg_fail(): "name:line: what" into the caller's buffer,
 * or just "what" when there is no name (single statements); always -EINVAL.
 * Thread safety: everything works on the caller's struct cfg_ctx only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_config.h"

#define CFG_MAX_TOKENS 24

/** One word of a line: not NUL-terminated. */
struct cfg_tok {
	const char *s;
	size_t n;
};

/** Parser state for one buffer or one single statement. */
struct cfg_ctx {
	const char *name;       /**< NULL: single statement, no "name:line: " */
	uint32_t line;          /**< current line, 1-based */
	char *err;
	size_t errlen;
	struct nat_config *cfg; /**< filled in; rules grow in rules_cap steps */
	uint32_t rules_cap;
	/* line of the first occurrence of each once-only statement */
	uint32_t l_inside, l_outside, l_filtering, l_ports, l_quota, l_block, l_hold, l_sessions,
		l_log, l_timeout[NAT_TIMEOUT_KINDS];
	uint32_t pool_line[NAT_CFG_MAX_POOL];
};

/* timeout kinds (enum nat_timeout_kind order), minima and their RFCs */
extern const char *const cfg_timeout_names[NAT_TIMEOUT_KINDS];
extern const uint32_t cfg_timeout_minima[NAT_TIMEOUT_KINDS];
extern const char *const cfg_timeout_rfcs[NAT_TIMEOUT_KINDS];

/** Clear p and point it at err (cleared too when errlen > 0). */
void cfg_ctx_init(struct cfg_ctx *p, const char *name, char *err, size_t errlen);

/** Format the error for line; @return -EINVAL. */
int cfg_fail(struct cfg_ctx *p, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** cfg_fail(p, p->line, "<pre>'<token>'<post>"), the token printable. */
int cfg_fail_tok(struct cfg_ctx *p, const char *pre, const struct cfg_tok *t, const char *post);

bool cfg_tok_is(const struct cfg_tok *t, const char *s);

/** Index of t in words[0..n), or -1. */
int cfg_tok_find(const struct cfg_tok *t, const char *const *words, int n);

/** Decimal s[0..n) in min..max into *v. */
bool cfg_parse_u32(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *v);

/** The timeout kind named by t, or "unknown timeout" as the error. */
int cfg_timeout_kind(struct cfg_ctx *p, const struct cfg_tok *t, int *kind);

/** Split one line (n bytes, no newline) into at most CFG_MAX_TOKENS words. */
int cfg_tokenize(struct cfg_ctx *p, const char *line, size_t n, struct cfg_tok *t, int *ntp);

/** One statement (nt >= 1 words) into p->cfg; rules are appended. */
int cfg_parse_line(struct cfg_ctx *p, const struct cfg_tok *t, int nt);

#endif /* NCNAT_NAT_CONFIG_INT_H */
