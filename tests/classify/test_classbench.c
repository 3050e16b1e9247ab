/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ClassBench: for every shared set (acl1, fw1, ipc1 at 1K, 10K, 100K) that
 * is present in NC_CLASSBENCH_DIR, every trace line's answer from the tries
 * (single and bulk) equals the linear reference's.  Then the set is deleted
 * rule by rule in random order, with probes in between, and must empty.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_parse.h"
#include "testutil.h"

static void check_set(const char *family, const char *size)
{
	const char *dir = tu_classbench_dir();
	if (dir == NULL)
		cr_skip_test("NC_CLASSBENCH_DIR not set or absent");
	char rpath[4096], tpath[4096], err[512];
	snprintf(rpath, sizeof(rpath), "%s/%s_%s.rules", dir, family, size);
	snprintf(tpath, sizeof(tpath), "%s/%s_%s.trace", dir, family, size);
	struct cls_ruleset *rs = NULL;
	int rc = cls_parse_file(rpath, CLS_FMT_AUTO, &rs, err, sizeof(err));
	if (rc == -ENOENT)
		cr_skip_test("%s absent", rpath);
	cr_assert_eq(rc, 0, "%s", err);
	struct cls_key *keys = NULL;
	size_t nk = tu_load_trace(tpath, &keys);
	cr_assert_gt(nk, 0, "no trace %s", tpath);

	struct cls *trie = tu_create(CLS_BACKEND_TRIE, NULL);
	struct cls *lin = tu_create(CLS_BACKEND_LINEAR, NULL);
	size_t bad = 0;
	cr_assert_eq(cls_insert_batch(trie, rs->rules, rs->n, &bad), 0, "rule %zu", bad);
	cr_assert_eq(cls_insert_batch(lin, rs->rules, rs->n, &bad), 0, "rule %zu", bad);

	enum { B = 32 };
	const struct cls_key *kp[B];
	struct cls_match mt[B], ml;
	size_t hits = 0;
	for (size_t i = 0; i < nk; i += B) {
		unsigned b = nk - i < B ? (unsigned)(nk - i) : B;
		for (unsigned j = 0; j < b; j++)
			kp[j] = &keys[i + j];
		cls_lookup_bulk(trie, kp, b, mt);
		for (unsigned j = 0; j < b; j++) {
			struct cls_match one;
			cls_lookup(lin, kp[j], &ml);
			cls_lookup(trie, kp[j], &one);
			if (mt[j].id != ml.id || one.id != ml.id)
				cr_assert_fail("%s_%s trace line %zu: trie %u (single %u), linear %u",
					       family, size, i + j + 1, mt[j].id, one.id, ml.id);
			hits += ml.id != CLS_NO_MATCH;
		}
	}
	struct cls_stats st;
	cls_stats(trie, &st);
	cr_log_info("%s_%s: %zu rules, %u boxes, %u partitions, %.1f bytes/rule, %zu/%zu hits",
		    family, size, rs->n, st.boxes, st.partitions,
		    (double)st.memory_bytes / (double)rs->n, hits, nk);
	fprintf(stderr, "%s_%s: %zu rules, %u partitions, %.1f bytes/rule, %zu of %zu lines match\n",
		family, size, rs->n, st.partitions, (double)st.memory_bytes / (double)rs->n, hits,
		nk);
	cr_assert_gt(hits, nk / 2, "ClassBench traces are built to hit rules");

	/* delete half the rules in random order, compare on the trace again */
	struct tu_rng r = {tu_seed("classbench_delete")};
	uint32_t *ids = malloc(rs->n * sizeof(*ids));
	for (size_t i = 0; i < rs->n; i++)
		ids[i] = rs->rules[i].id;
	for (size_t i = rs->n; i > 1; i--) {
		size_t j = tu_below(&r, (uint32_t)i);
		uint32_t t = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	for (size_t i = 0; i < rs->n / 2; i++) {
		cr_assert_eq(cls_delete(trie, ids[i]), 0);
		cr_assert_eq(cls_delete(lin, ids[i]), 0);
	}
	cls_publish(trie);
	cls_publish(lin);
	size_t step = nk > 20000 ? nk / 20000 : 1;
	for (size_t i = 0; i < nk; i += step)
		if (!tu_same_answer(trie, lin, &keys[i]))
			cr_assert_fail("after deleting half: trace line %zu differs", i + 1);
	for (size_t i = rs->n / 2; i < rs->n; i++)
		cr_assert_eq(cls_delete(trie, ids[i]), 0);
	cls_publish(trie);
	cls_reclaim(trie, true);
	cls_stats(trie, &st);
	cr_assert_eq(st.rules, 0);
	cr_assert_eq(st.partitions, 0);
	free(ids);
	free(keys);
	cls_ruleset_free(rs);
	cls_free(trie);
	cls_free(lin);
}

Test(classbench, acl1_1k) { check_set("acl1", "1k"); }
Test(classbench, fw1_1k) { check_set("fw1", "1k"); }
Test(classbench, ipc1_1k) { check_set("ipc1", "1k"); }
Test(classbench, acl1_10k) { check_set("acl1", "10k"); }
Test(classbench, fw1_10k) { check_set("fw1", "10k"); }
Test(classbench, ipc1_10k) { check_set("ipc1", "10k"); }
Test(classbench, acl1_100k) { check_set("acl1", "100k"); }
Test(classbench, fw1_100k) { check_set("fw1", "100k"); }
Test(classbench, ipc1_100k) { check_set("ipc1", "100k"); }
