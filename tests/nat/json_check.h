/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A strict JSON validator (RFC 8259 grammar, no extensions) for the tests
 * of JSON answers: json_valid(text) is true iff text is one JSON value with
 * optional surrounding whitespace.
 */
#ifndef NCNAT_JSON_CHECK_H
#define NCNAT_JSON_CHECK_H

#include <stdbool.h>
#include <string.h>

static inline const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static inline bool json_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL; /* control characters (and the end) */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static inline const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (json_digit(*p))
		while (json_digit(*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (!json_digit(*p))
			return NULL;
		while (json_digit(*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!json_digit(*p))
			return NULL;
		while (json_digit(*p))
			p++;
	}
	return p;
}

static inline const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return json_number(p);
}

static inline bool json_valid(const char *text)
{
	const char *p = json_value(text, 0);

	return p && *json_ws(p) == 0;
}

#endif /* NCNAT_JSON_CHECK_H */
