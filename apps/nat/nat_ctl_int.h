/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_CTL_INT_H
#define NCNAT_NAT_CTL_INT_H

/*
 * Internals of the control server shared by nat_ctl.c (sockets, buffers,
 * polling), nat_ctl_cmd.c (the commands: parsing, answers, changes) and
 * nat_ctl_list.c (show sessions / mappings: filters, listings).
 * Not installed; no stable API.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_ctl.h"

/* Pending output of one connection: p[off..len) not sent yet. */
struct nat_ctl_out {
	char *p;
	size_t off, len, cap;
	size_t max_pending;  /* appending past this sets over (the client is dropped) */
	bool over;
};

/** Append formatted text (grows the buffer; past max_pending or on ENOMEM
 *  sets over and drops the text). */
void nat_ctl_out_printf(struct nat_ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline size_t nat_ctl_out_pending(const struct nat_ctl_out *o)
{
	return o->len - o->off;
}

/* A listing in progress (show sessions / mappings). */
struct nat_ctl_filter {
	uint32_t have;          /* F_* bits of nat_ctl_list.c */
	uint8_t proto;
	uint8_t state;
	uint16_t port;
	uint32_t in_lo, in_hi, ext_lo, ext_hi, rem_lo, rem_hi;
	uint64_t limit;         /* 0: none */
	bool json;
};

enum nat_ctl_walk { NAT_CTL_WALK_NONE = 0, NAT_CTL_WALK_SESSIONS, NAT_CTL_WALK_MAPPINGS };

/* Command state of one connection. */
struct nat_ctl_conn {
	struct nat_ctl_out out;
	enum nat_ctl_walk walk;
	uint64_t cursor;
	uint64_t shown;
	bool limit_hit;
	struct nat_ctl_filter f;
	size_t high;            /* pause a listing when this much output is pending */
	bool quit;              /* "quit": close once the answer is sent */
};

#define NAT_CTL_MAX_WORDS 32

/* A request line cut into words (split in place), with their offsets. */
struct nat_ctl_words {
	int n;
	char *w[NAT_CTL_MAX_WORDS];
	size_t pos[NAT_CTL_MAX_WORDS];
};

/* nat_ctl_cmd.c */

/** Terminators: "ok", or "error: ..." on one line (newlines become blanks). */
void nat_ctl_reply_ok(struct nat_ctl_conn *s);
void nat_ctl_reply_err(struct nat_ctl_conn *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Decimal digits only, at most max. */
bool nat_ctl_parse_uint(const char *s, uint64_t max, uint64_t *v);

/**
 * Answer one request line (NUL-terminated, without its newline): append
 * the answer (terminator included) to s->out, or start a listing (then
 * s->walk is set and nat_ctl_cmd_continue() produces the rest).
 * @return false for a blank line (nothing answered), else true.
 */
bool nat_ctl_cmd_handle(const struct nat_ctl_backend *be, struct nat_ctl_conn *s, char *line);

/* nat_ctl_list.c */

/** show sessions / mappings: parse the filters from word first on and start
 *  the listing, or answer with the error; @return false on an error. */
bool nat_ctl_list_start(struct nat_ctl_conn *s, const struct nat_ctl_words *ws, int first,
			bool sessions);

/** Go on with a listing: at most budget entries, pausing when s->high bytes
 *  are pending; on its end the total and the terminator are appended and
 *  s->walk is cleared. */
void nat_ctl_cmd_continue(const struct nat_ctl_backend *be, struct nat_ctl_conn *s,
			  uint32_t budget);

#endif /* NCNAT_NAT_CTL_INT_H */
