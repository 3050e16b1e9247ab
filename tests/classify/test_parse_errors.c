/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/classify rule files, failure paths: bad arguments, then every error of
 * every format (exact "name:line:" prefix, specific text, nothing returned),
 * NUL bytes, an error at line 500, very long lines.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "parse_check.h"

/* ------------------------------------------------------------ bad arguments */

Test(parse_args, buffer)
{
	struct cls_ruleset *rs = NULL;
	char err[128];

	cr_expect_eq(cls_parse_buffer("id 1", 4, NAME, CLS_FMT_NATIVE, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_expect_eq(cls_parse_buffer(NULL, 5, NAME, CLS_FMT_NATIVE, &rs, err, sizeof(err)),
		     -EINVAL);
	cr_expect_null(rs);
	cr_expect_eq(cls_parse_buffer("id 1", 4, NAME, (enum cls_format)99, &rs, err, sizeof(err)),
		     -EINVAL);
	cr_expect_null(rs);
	cr_expect_eq(cls_parse_buffer("id 1", 4, NAME, (enum cls_format)-1, &rs, NULL, 0), -EINVAL);
	cr_expect_null(rs);

	/* NULL buffer of length 0: an empty rule set. */
	cr_assert_eq(cls_parse_buffer(NULL, 0, NAME, CLS_FMT_AUTO, &rs, err, sizeof(err)), 0);
	cr_assert_not_null(rs);
	cr_expect_eq(rs->n, 0);
	cls_ruleset_free(rs);
	cls_ruleset_free(NULL);
}

Test(parse_args, error_buffer)
{
	struct cls_ruleset *rs = NULL;
	char err[16];

	/* No error buffer at all. */
	cr_expect_eq(cls_parse_buffer("bogus", 5, NAME, CLS_FMT_NATIVE, &rs, NULL, 0), -EINVAL);
	cr_expect_eq(cls_parse_buffer("bogus", 5, NAME, CLS_FMT_NATIVE, &rs, NULL, 99), -EINVAL);
	/* Length 1: only the terminator. */
	memset(err, 'x', sizeof(err));
	cr_expect_eq(cls_parse_buffer("bogus", 5, NAME, CLS_FMT_NATIVE, &rs, err, 1), -EINVAL);
	cr_expect_eq(err[0], '\0');
	cr_expect_eq(err[1], 'x', "wrote past errlen");
	/* Truncated, still terminated. */
	memset(err, 'x', sizeof(err));
	cr_expect_eq(cls_parse_buffer("bogus", 5, NAME, CLS_FMT_NATIVE, &rs, err, 12), -EINVAL);
	cr_expect_str_eq(err, "t.rules:1: ");
	cr_expect_eq(err[12], 'x', "wrote past errlen");
	cr_expect_null(rs);
	/* No name. */
	char big[128];
	cr_expect_eq(cls_parse_buffer("bogus", 5, NULL, CLS_FMT_NATIVE, &rs, big, sizeof(big)),
		     -EINVAL);
	cr_expect(strncmp(big, "<buffer>:1: ", 12) == 0, "%s", big);
}

Test(parse_args, file)
{
	struct cls_ruleset *rs = NULL;
	char err[256];

	cr_expect_eq(cls_parse_file(NULL, CLS_FMT_AUTO, &rs, err, sizeof(err)), -EINVAL);
	cr_expect_eq(cls_parse_file("/nonexistent", CLS_FMT_AUTO, NULL, err, sizeof(err)), -EINVAL);
	cr_expect_eq(cls_parse_file("/nonexistent/x.rules", CLS_FMT_AUTO, &rs, err, sizeof(err)),
		     -ENOENT);
	cr_expect_str_eq(err, "/nonexistent/x.rules: No such file or directory");
	cr_expect_eq(cls_parse_file("/", CLS_FMT_AUTO, &rs, err, sizeof(err)), -EISDIR);
	cr_expect_str_eq(err, "/: Is a directory");
	cr_expect_null(rs);
}

Test(parse_args, addr_range_and_format)
{
	uint8_t fam;
	union cls_addr lo, hi;
	const char *why = NULL;
	char buf[8];

	cr_expect_eq(cls_parse_addr_range(NULL, 3, &fam, &lo, &hi, &why), -EINVAL);
	cr_expect_not_null(why);
	cr_expect_eq(cls_parse_addr_range("any", 3, NULL, &lo, &hi, &why), -EINVAL);
	cr_expect_eq(cls_parse_addr_range("any", 3, &fam, NULL, &hi, NULL), -EINVAL);
	cr_expect_eq(cls_parse_addr_range("any", 3, &fam, &lo, NULL, NULL), -EINVAL);
	cr_expect_eq(cls_parse_addr_range(NULL, 0, &fam, &lo, &hi, &why), -EINVAL);
	cr_expect_str_eq(why, "empty address");
	/* A NUL inside the given length is not a terminator. */
	cr_expect_eq(cls_parse_addr_range("1.2.3.4\0", 8, &fam, &lo, &hi, &why), -EINVAL);

	cr_expect_eq(cls_rule_format(NULL, buf, sizeof(buf)), 0);
	cr_expect_str_empty(buf);
}

/* ------------------------------------------------------------ errors */

#define CB_OK "@10.0.0.0/8\t192.168.1.0/24\t0 : 65535\t80 : 80\t0x06/0xFF\t0x1000/0x1000\n"
#define CB6_OK "@2001:db8::/32\t::/0\t0 : 65535\t443 : 443\t0x06/0xFF\t0x0000/0x0000\n"

struct ecase {
	enum cls_format fmt;
	const char *text;
	unsigned line;
	const char *what;
};

static const struct ecase cb_errors[] = {
	{CLS_FMT_CLASSBENCH, CB_OK "@10.0.0.0/33\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 2,
	 "source prefix length 33 is out of range (0-32)"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/40\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "destination prefix length 40 is out of range (0-32)"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/999999999999999999999 1.0.0.0/8 0:1 0:1 0x06/0xFF\n", 1,
	 "source prefix length 999999999999999999999 is out of range (0-32)"},
	{CLS_FMT_CLASSBENCH, "@10.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source address '10.0.0' is not a valid IPv4 or IPv6 address"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix '10.0.0.0' has no /LEN"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/x8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length 'x8' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/-1\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length '-1' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/+8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length '+8' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length '' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8x\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length '8x' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, CB_OK "10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 2,
	 "expected '@' at the start of a ClassBench rule"},
	{CLS_FMT_CLASSBENCH, "@\n", 1, "missing source prefix"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\n", 1, "missing destination prefix"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\n", 1, "missing source port range"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\n", 1,
	 "missing destination port range"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\n", 1, "missing protocol"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1 \t \n", 1, "missing protocol"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 :  \n", 1,
	 "expected 'lo : hi' source port range"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 - 65535\t0 : 1\t0x06/0xFF\n", 1,
	 "expected 'lo : hi' source port range"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t80\t0x06/0xFF\n", 1,
	 "expected 'lo : hi' destination port range"},
	/* "0 :" then a blank: the high end is the next column's "0". */
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 :\t0 : 1\t0x06/0xFF\n", 1,
	 "expected 'lo : hi' destination port range"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 70000\t0 : 1\t0x06/0xFF\n", 1,
	 "source port 70000 is out of range (0-65535)"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t99999999999999999999999 : 1\t6/255\n",
	 1, "destination port 99999999999999999999999 is out of range (0-65535)"},
	{CLS_FMT_CLASSBENCH, CB_OK CB_OK "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t90 : 80\t0x06/0xFF\n", 3,
	 "destination port range 90-80 is empty"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t+0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source port '+0' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1x\t0 : 1\t0x06/0xFF\n", 1,
	 "source port '1x' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0x0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source port '0x0' is not a decimal number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x106/0xFF\n", 1,
	 "protocol 0x106 is out of range (0-255)"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06\n", 1,
	 "protocol '0x06' is not VALUE/MASK"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFG\n", 1,
	 "protocol mask '0xFG' is not a decimal or 0x-hex number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFFjunk\t0/0\n", 1,
	 "protocol mask '0xFFjunk' is not a decimal or 0x-hex number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t0x/0xFF\n", 1,
	 "protocol '0x' is not a decimal or 0x-hex number"},
	{CLS_FMT_CLASSBENCH, "@10.0.0.0/8\t1.0.0.0/8\t0 : 1\t0 : 1\t/0xFF\n", 1,
	 "missing protocol"},
	{CLS_FMT_CLASSBENCH, "@2001:db8::/32\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix '2001:db8::/32' is IPv6 in an IPv4 ClassBench file"},
	{CLS_FMT_CLASSBENCH6, CB6_OK "@2001:db8::/32\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n", 2,
	 "destination prefix '1.0.0.0/8' is IPv4 in an IPv6 ClassBench file"},
	{CLS_FMT_CLASSBENCH6, "@2001:db8::/129\t::/0\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source prefix length 129 is out of range (0-128)"},
	{CLS_FMT_CLASSBENCH6, "@2001:db8:::/12\t::/0\t0 : 1\t0 : 1\t0x06/0xFF\n", 1,
	 "source address '2001:db8:::' is not a valid IPv4 or IPv6 address"},
	{CLS_FMT_CLASSBENCH6,
	 "@1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc/12\t::/0\t0:1\t0:1\t6/255\n",
	 1, "is not a valid IPv4 or IPv6 address"},
	/* AUTO picks the format from the first rule, then holds to it. */
	{CLS_FMT_AUTO, "# c\n" CB_OK CB6_OK, 3, "is IPv6 in an IPv4 ClassBench file"},
	{CLS_FMT_AUTO, CB6_OK CB_OK, 2, "is IPv4 in an IPv6 ClassBench file"},
	{CLS_FMT_AUTO, "\n\nid 1\n" CB_OK, 4, "unknown keyword '@10.0.0.0/8'"},
	{CLS_FMT_AUTO, CB_OK "id 1\n", 2, "expected '@'"},
};

static const struct ecase native_errors[] = {
	{CLS_FMT_NATIVE, "id 1\nsrcc 1.2.3.4\n", 2, "unknown keyword 'srcc'"},
	{CLS_FMT_NATIVE, "dport 80 tcp\n", 1, "unknown keyword 'tcp'"},
	{CLS_FMT_NATIVE, "sport 1 - 5\n", 1, "unknown keyword '-'"},
	{CLS_FMT_NATIVE, "src 1.2.3.4 dst ::1\n", 1,
	 "source and destination families differ (IPv4 and IPv6)"},
	{CLS_FMT_NATIVE, "dst 1.2.3.4 src 2001:db8::/32\n", 1,
	 "source and destination families differ (IPv6 and IPv4)"},
	{CLS_FMT_NATIVE, "sport 90-80\n", 1, "source port range 90-80 is empty"},
	{CLS_FMT_NATIVE, "dport 70000\n", 1, "destination port 70000 is out of range (0-65535)"},
	{CLS_FMT_NATIVE, "dport 1-65536\n", 1, "destination port 65536 is out of range (0-65535)"},
	{CLS_FMT_NATIVE, "sport 1-\n", 1, "missing source port"},
	{CLS_FMT_NATIVE, "sport -5\n", 1, "missing source port"},
	{CLS_FMT_NATIVE, "sport 5x\n", 1, "source port '5x' is not a decimal number"},
	{CLS_FMT_NATIVE, "sport 0x50\n", 1, "source port '0x50' is not a decimal number"},
	{CLS_FMT_NATIVE, "src 10.0.0.0/33\n", 1, "source prefix length 33 is out of range (0-32)"},
	{CLS_FMT_NATIVE, "dst ::/129\n", 1, "destination prefix length 129 is out of range (0-128)"},
	{CLS_FMT_NATIVE, "src 10.0.0.9-10.0.0.1\n", 1,
	 "source range '10.0.0.9-10.0.0.1' is empty (first address above last)"},
	{CLS_FMT_NATIVE, "dst ::2-::1\n", 1, "destination range '::2-::1' is empty"},
	{CLS_FMT_NATIVE, "src 10.0.0.1-::1\n", 1, "source range '10.0.0.1-::1' mixes IPv4 and IPv6"},
	{CLS_FMT_NATIVE, "src 10.0.0.1-\n", 1, "source address '' is not a valid"},
	{CLS_FMT_NATIVE, "src 10.0.0-10.0.0.1\n", 1, "source address '10.0.0' is not a valid"},
	{CLS_FMT_NATIVE, "src 10.0.0.256\n", 1, "source address '10.0.0.256' is not a valid"},
	{CLS_FMT_NATIVE, "src 1.2.3.4/24/1\n", 1, "source prefix length '24/1' is not a decimal"},
	{CLS_FMT_NATIVE, "id 5 id 6\n", 1, "keyword 'id' given twice"},
	{CLS_FMT_NATIVE, "prio 1 priority 2\n", 1, "keyword 'priority' given twice"},
	{CLS_FMT_NATIVE, "src any proto tcp src any\n", 1, "keyword 'src' given twice"},
	{CLS_FMT_NATIVE, "id\n", 1, "missing value after 'id'"},
	{CLS_FMT_NATIVE, "dport 80 proto  \t\n", 1, "missing value after 'proto'"},
	{CLS_FMT_NATIVE, "dport 80 proto # tcp\n", 1, "missing value after 'proto'"},
	{CLS_FMT_NATIVE, "id -1\n", 1, "id '-1' is not a decimal number"},
	{CLS_FMT_NATIVE, "id +1\n", 1, "id '+1' is not a decimal number"},
	{CLS_FMT_NATIVE, "id 1x\n", 1, "id '1x' is not a decimal number"},
	{CLS_FMT_NATIVE, "id 4294967296\n", 1, "id 4294967296 is out of range (0-4294967295)"},
	{CLS_FMT_NATIVE, "id 4294967295\n", 1, "id 4294967295 is reserved"},
	{CLS_FMT_NATIVE, "priority 2147483648\n", 1, "priority 2147483648 is out of range"},
	{CLS_FMT_NATIVE, "priority -2147483649\n", 1, "priority -2147483649 is out of range"},
	{CLS_FMT_NATIVE, "priority --1\n", 1, "priority '--1' is not a decimal number"},
	{CLS_FMT_NATIVE, "priority -\n", 1, "priority '-' is not a decimal number"},
	{CLS_FMT_NATIVE, "priority +5\n", 1, "priority '+5' is not a decimal number"},
	{CLS_FMT_NATIVE, "proto foo\n", 1, "unknown protocol 'foo'"},
	{CLS_FMT_NATIVE, "proto 256\n", 1, "protocol 256 is out of range (0-255)"},
	{CLS_FMT_NATIVE, "proto 6/0x1ff\n", 1, "protocol mask 0x1ff is out of range (0-255)"},
	{CLS_FMT_NATIVE, "proto 6/\n", 1, "missing protocol mask"},
	/* Ids: explicit duplicates, and explicit against the default (rule number). */
	{CLS_FMT_NATIVE, "id 3 dport 1\n\n# x\nid 3 dport 2\n", 4,
	 "id 3 is already used by the rule on line 1"},
	{CLS_FMT_NATIVE, "id 2 dport 1\ndport 2\n", 2,
	 "id 2 (the rule's number) is already used by the rule on line 1"},
	{CLS_FMT_NATIVE, "dport 1\ndport 2\nid 1 dport 3\n", 3,
	 "id 1 is already used by the rule on line 1"},
	/* The first bad line wins. */
	{CLS_FMT_NATIVE, "srcc\nid 1 id 2\n", 1, "unknown keyword 'srcc'"},
	{CLS_FMT_NATIVE, "id 1\nid 1\nbogus\n", 2, "id 1 is already used"},
	/* Garbage and control characters. */
	{CLS_FMT_NATIVE, "dport 80\r\r\n", 1, "destination port '80?' is not a decimal number"},
	{CLS_FMT_NATIVE, "dport 80\vproto tcp\n", 1, "destination port '80?proto'"},
};

static void run_cases(const struct ecase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_err(c[i].text, c[i].fmt, c[i].line, c[i].what);
}

Test(parse_errors, classbench)
{
	run_cases(cb_errors, sizeof(cb_errors) / sizeof(cb_errors[0]));
}

Test(parse_errors, native)
{
	run_cases(native_errors, sizeof(native_errors) / sizeof(native_errors[0]));
}

Test(parse_errors, nul_byte)
{
	static const char a[] = "id 1\nid 2\0\nid 3\n";
	static const char b[] = "id 1\n# comment \0 here\nid 3\n";
	static const char c[] = CB_OK "@10.0.0.0/8\0\t1.0.0.0/8\t0 : 1\t0 : 1\t0x06/0xFF\n";

	expect_err_n(a, sizeof(a) - 1, CLS_FMT_NATIVE, 2, "NUL byte in column 5");
	expect_err_n(b, sizeof(b) - 1, CLS_FMT_NATIVE, 2, "NUL byte in column 11");
	expect_err_n(c, sizeof(c) - 1, CLS_FMT_CLASSBENCH, 2, "NUL byte in column 12");
	expect_err_n("\0", 1, CLS_FMT_AUTO, 1, "NUL byte in column 1");
}

static const char *line500_native(size_t i, char *tmp)
{
	if (i == 499)
		return "id 500 sport 1 dport 2 proto tcpp";
	snprintf(tmp, 512, "src 10.%zu.%zu.0/24 dport %zu", i / 256, i % 256, i);
	return tmp;
}

static const char *line500_cb(size_t i, char *tmp)
{
	snprintf(tmp, 512, "@10.%zu.%zu.0/24\t0.0.0.0/0\t0 : 65535\t%zu : %zu\t0x%02zx/0xFF", i / 256,
		 i % 256, i, i == 499 ? i - 1 : i, i % 256);
	return tmp;
}

Test(parse_errors, line_500)
{
	char *a = xstrcat_lines(1000, line500_native);
	char *b = xstrcat_lines(1000, line500_cb);

	expect_err(a, CLS_FMT_NATIVE, 500, "unknown protocol 'tcpp'");
	expect_err(a, CLS_FMT_AUTO, 500, "unknown protocol 'tcpp'");
	expect_err(b, CLS_FMT_CLASSBENCH, 500, "destination port range 499-498 is empty");
	expect_err(b, CLS_FMT_AUTO, 500, "destination port range 499-498 is empty");
	free(a);
	free(b);
}

Test(parse_errors, long_lines)
{
	/* 1 MiB of one token: the message quotes a bounded, printable part. */
	size_t n = 1 << 20;
	char *s = malloc(n + 16), err[512];
	struct cls_ruleset *rs = NULL;

	cr_assert_not_null(s);
	memcpy(s, "id 1\n", 5);
	memset(s + 5, 'x', n);
	cr_assert_eq(parse_n(s, n + 5, CLS_FMT_NATIVE, &rs, err, sizeof(err)), -EINVAL);
	static const char want[] = NAME ":2: unknown keyword 'xxxx";
	cr_expect(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_expect_lt(strlen(err), 120, "message not bounded: %zu", strlen(err));
	cr_expect(strstr(err, "...'") != NULL, "%s", err);
	cr_expect_null(rs);

	/* 1 MiB of blanks inside a good line is fine. */
	memset(s, ' ', n);
	memcpy(s + n, "dport 80 ", 9);
	rs = parse_ok_n(s, n + 9, CLS_FMT_AUTO);
	cr_expect_eq(rs->n, 1);
	cr_expect_eq(rs->rules[0].dport_lo, 80);
	cls_ruleset_free(rs);
	free(s);
}
