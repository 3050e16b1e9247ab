/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_TMPDIR_UTIL_H
#define NC_TEST_TMPDIR_UTIL_H
/*
 * A scratch directory per test (test_reader.c, test_replay.c): made by the
 * suite's .init, removed with its contents by .fini; tmp(name) is a path
 * in it (four rotating buffers, so a call may take a few).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* Make /tmp/<prefix>_XXXXXX; fails the test if it cannot. */
static inline void tmpdir_make(const char *prefix)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s_XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(tmpdir));
}

static inline void tmpdir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd)) {
		/* leftovers in /tmp only */
	}
}

static inline const char *tmp(const char *name)
{
	static char buf[4][600];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

#endif
