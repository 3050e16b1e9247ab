/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_session: a differential test against the reference model
 * (nat_session_model.h) with the table run full and collisions forced (one
 * primary bucket, one signature, few of both, one hash for every key;
 * expiry removes exactly the idle sessions of its budget's slots, in slot
 * order, whatever its batches, and its prefetch hints see live sessions),
 * and once with the clock crossing 2^32.  NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_session.h"
#include "nat_session_model.h"
#include "nat_test_util.h"

/* Returns the model's clock at the end. */
static uint64_t rm_run_from(const char *what, int mode, uint32_t cap_m, uint32_t cap_s,
			    uint32_t ops, uint64_t start)
{
	uint64_t end;

	uint64_t seed = nat_test_seed(what);
	enum nat_filtering f = (enum nat_filtering)(seed % 3);
	struct rm *M = malloc(sizeof(*M));
	uint32_t max_over = 0, max_sess = 0;

	cr_assert_not_null(M);
	rm_mode = mode;
	rm_init(M, cap_m, cap_s, f, mode != 0);
	M->now = start;
	for (uint32_t it = 0; it < ops; it++) {
		rm_step(M, &seed);
		if (M->n_sess > max_sess)
			max_sess = M->n_sess;
		if (it % 4096 == 0) {
			int over = nat_session_check(M->t);

			cr_assert_geq(over, 0, "nat_session_check at op %u", it);
			if ((uint32_t)over > max_over)
				max_over = (uint32_t)over;
		}
		if (it % 65536 == 0)
			rm_compare_all(M);
	}
	rm_compare_all(M);
	fprintf(stderr, "%s: %u ops, %u mappings and %u sessions at the end (of %u, %u; "
		"sessions up to %u), overflow entries up to %u\n", what, ops, M->n_maps, M->n_sess,
		cap_m, cap_s, max_sess, max_over);
	cr_assert_eq(max_sess, cap_s, "the session table never ran full");
	cr_assert_gt(M->n_prefetch[0], 0, "expiry never batched");
	if (mode == 2)
		cr_assert_gt(max_over, 0, "the overflow lists were never used");
	/* empty it: every record goes, the indexes end empty */
	for (uint32_t i = 0; i < cap_m; i++) {
		if (M->maps[i].live) {
			M->want_map = (int32_t)i;
			cr_assert_eq(nat_mapping_delete(M->t, M->maps[i].ptr, M->now), 0);
			if (M->maps[i].live)
				rm_drop_map(M, i);
		}
	}
	cr_assert_eq(nat_session_count(M->t), 0);
	cr_assert_eq(nat_mapping_count(M->t), 0);
	{
		int rc = nat_session_check(M->t);

		cr_assert_eq(rc, 0, "nat_session_check of the empty table: %d", rc);
	}
	end = M->now;
	rm_fini(M);
	free(M);
	return end;
}

static void rm_run(const char *what, int mode, uint32_t cap_m, uint32_t cap_s, uint32_t ops)
{
	(void)rm_run_from(what, mode, cap_m, cap_s, ops, 1000);
}

/* The clock crosses 2^32 during the run: the records' 32-bit times move to
 * a new base once, and the table still agrees with the model's 64-bit
 * times. */
Test(nat_session, differential_clock_past_2_32)
{
	uint64_t end = rm_run_from("nat_session differential_clock_past_2_32", 0, 1024, 1536,
				   1000000, (1ull << 32) - 2000);

	cr_assert_gt(end, 1ull << 32, "the clock stayed below 2^32: %llu",
		     (unsigned long long)end);
}

Test(nat_session, differential_plain)
{
	rm_run("nat_session differential_plain", 0, 1024, 1536, 2000000);
}

Test(nat_session, differential_one_primary_bucket)
{
	rm_run("nat_session differential_one_primary_bucket", 1, 700, 900, 400000);
}

Test(nat_session, differential_one_signature)
{
	rm_run("nat_session differential_one_signature", 3, 1024, 1536, 1000000);
}

Test(nat_session, differential_few_buckets_and_signatures)
{
	rm_run("nat_session differential_few_buckets_and_signatures", 4, 400, 500, 300000);
}

Test(nat_session, differential_one_hash)
{
	rm_run("nat_session differential_one_hash", 2, 120, 160, 150000);
}
