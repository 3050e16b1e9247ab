/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Out of memory: every allocation a writer call makes is failed in turn (the
 * Nth, for N = 1, 2, ... until the call succeeds).  A failed call must return
 * -ENOMEM and leave the classifier exactly as it was: same rules, same
 * answers on every probe, nothing staged.  The allocator is interposed in
 * this executable; under AddressSanitizer (which owns malloc) the suite skips.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

static long fail_at = -1; /* count down while armed; fail when it hits 0 */
static long allocs;

#ifndef NO_INTERPOSE
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_memalign(size_t, size_t);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *aligned_alloc(size_t al, size_t n);

static int should_fail(void)
{
	if (fail_at < 0)
		return 0;
	allocs++;
	return --fail_at == 0;
}

void *malloc(size_t n)
{
	return should_fail() ? NULL : __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	return should_fail() ? NULL : __libc_calloc(a, b);
}

void *aligned_alloc(size_t al, size_t n)
{
	return should_fail() ? NULL : __libc_memalign(al, n);
}
#endif

enum { NPROBE = 1000 };

static void snapshot(const struct cls *c, const struct cls_key *keys, uint32_t *ids)
{
	for (unsigned i = 0; i < NPROBE; i++) {
		struct cls_match m;
		cls_lookup(c, &keys[i], &m);
		ids[i] = m.id;
	}
}

static void same(const struct cls *c, const struct cls_key *keys, const uint32_t *ids,
		 const struct cls_stats *before, long n)
{
	struct cls_stats st;
	cls_stats(c, &st);
	cr_assert_eq(st.rules, before->rules, "failing allocation %ld changed the rule count", n);
	cr_assert_eq(st.staged, 0, "failing allocation %ld left changes staged", n);
	for (unsigned i = 0; i < NPROBE; i++) {
		struct cls_match m;
		cls_lookup(c, &keys[i], &m);
		cr_assert_eq(m.id, ids[i], "failing allocation %ld changed probe %u: %u -> %u", n, i,
			     ids[i], m.id);
	}
}

/* Same rules, same boxes (no leftovers of failed calls), same answers.
 * Both first unlink every deleted rule (publish spreads that work). */
static void mirror_check(struct cls *c, struct cls *mirror, const struct cls_key *keys)
{
	struct cls_stats a, b;
	cls_reclaim(c, true);
	cls_reclaim(mirror, true);
	cls_stats(c, &a);
	cls_stats(mirror, &b);
	cr_assert_eq(a.rules, b.rules);
	cr_assert_eq(a.boxes, b.boxes, "boxes %u != %u: a failed call left some behind", a.boxes,
		     b.boxes);
	for (unsigned i = 0; i < NPROBE; i++)
		cr_assert(tu_same_answer(c, mirror, &keys[i]));
}

static void run(const struct cls_reclaim *hook, uint8_t family)
{
#ifdef NO_INTERPOSE
	cr_skip_test("allocator interposition is not possible under ASan");
#endif
	struct tu_rng r = {tu_seed("nomem")};
	struct tu_pools p;
	tu_pools_init(&p, &r);
	struct cls *c = tu_create(CLS_BACKEND_TRIE, hook);
	struct cls *mirror = tu_create(CLS_BACKEND_TRIE, NULL); /* never fails */
	struct cls_key *keys = calloc(NPROBE, sizeof(*keys));
	uint32_t *ids = calloc(NPROBE, sizeof(*ids));
	for (unsigned i = 0; i < NPROBE; i++)
		tu_rand_key(&r, &p, family, &keys[i]);
	/* a populated classifier first */
	for (uint32_t i = 0; i < 300; i++) {
		struct cls_rule x;
		tu_rand_rule(&r, &p, family, &x);
		x.id = i;
		cr_assert_eq(cls_insert(c, &x), 0);
		cr_assert_eq(cls_insert(mirror, &x), 0);
	}
	cls_publish(c);
	cls_publish(mirror);

	unsigned failures_seen = 0;
	for (uint32_t k = 0; k < 20; k++) {
		struct cls_rule x;
		tu_rand_rule(&r, &p, family, &x);
		x.id = 1000 + k;
		for (long n = 1;; n++) {
			struct cls_stats before;
			cls_stats(c, &before);
			snapshot(c, keys, ids);
			fail_at = n;
			allocs = 0;
			int rc = cls_insert(c, &x);
			fail_at = -1;
			if (rc == 0) {
				cr_assert_eq(cls_insert(mirror, &x), 0);
				break;
			}
			cr_assert_eq(rc, -ENOMEM, "insert: %d", rc);
			failures_seen++;
			same(c, keys, ids, &before, n);
		}
		cls_publish(c);
		cls_publish(mirror);
		mirror_check(c, mirror, keys);
		/* and a batch: all or nothing */
		struct cls_rule batch[4];
		for (unsigned b = 0; b < 4; b++) {
			tu_rand_rule(&r, &p, family, &batch[b]);
			batch[b].id = 100000 + k * 4 + b;
		}
		for (long n = 1;; n++) {
			struct cls_stats before;
			cls_stats(c, &before);
			snapshot(c, keys, ids);
			fail_at = n;
			size_t bad = 99;
			int rc = cls_insert_batch(c, batch, 4, &bad);
			fail_at = -1;
			if (rc == 0) {
				cr_assert_eq(cls_insert_batch(mirror, batch, 4, NULL), 0);
				break;
			}
			cr_assert_eq(rc, -ENOMEM);
			cr_assert_lt(bad, 4);
			same(c, keys, ids, &before, n);
		}
		/* deletions with publish and reclaim under failing allocations:
		 * they may be delayed, never wrong */
		fail_at = 3;
		cr_assert_eq(cls_delete(c, k), 0);
		cls_publish(c);
		fail_at = -1;
		cls_reclaim(c, true);
		cr_assert_eq(cls_delete(mirror, k), 0);
		cls_publish(mirror);
		mirror_check(c, mirror, keys);
		struct cls_match m;
		for (unsigned i = 0; i < NPROBE; i++) {
			cls_lookup(c, &keys[i], &m);
			cr_assert_neq(m.id, k, "deleted rule %u still matches", k);
		}
	}
	cr_assert_gt(failures_seen, 20, "the injection must really fail allocations");
	cls_reclaim(c, true);
	cls_free(c);
	cls_free(mirror);
	free(keys);
	free(ids);
}

Test(nomem, ipv4_no_hook)
{
	run(NULL, CLS_IPV4);
}

Test(nomem, ipv6_no_hook)
{
	run(NULL, CLS_IPV6);
}

Test(nomem, ipv4_with_hook)
{
	struct tu_qsbr q;
	tu_qsbr_init(&q, 0); /* no readers: every grace period is over at once */
	struct cls_reclaim h = tu_qsbr_hook(&q);
	run(&h, CLS_IPV4);
}
