/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_session: walks of sessions and mappings with resumable cursors while
 * the reference model (nat_session_model.h) changes the table between the
 * calls: no slot shown twice, every record that lives through the walk
 * shown.  NC_SEED replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_session.h"
#include "nat_session_model.h"
#include "nat_test_util.h"

struct walk_seen {
	const void **p;
	uint32_t n, cap;
};

static int walk_sess_fn(void *arg, const struct nat_mapping *m, const struct nat_sess *s)
{
	struct walk_seen *w = arg;

	cr_assert(s->live && m->live);
	cr_assert_lt(w->n, w->cap);
	w->p[w->n++] = s;
	return (((uintptr_t)s >> 4) % 7) == 0; /* stop now and then */
}

static int walk_map_fn(void *arg, const struct nat_mapping *m)
{
	struct walk_seen *w = arg;

	cr_assert(m->live);
	cr_assert_lt(w->n, w->cap);
	w->p[w->n++] = m;
	return (((uintptr_t)m >> 4) % 5) == 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;

	return x < y ? -1 : x > y;
}

static bool seen_has(const struct walk_seen *w, const void *p)
{
	return bsearch(&p, w->p, w->n, sizeof(*w->p), cmp_ptr) != NULL;
}

Test(nat_session, walks_resume_while_the_table_changes)
{
	uint64_t seed = nat_test_seed("nat_session walks_resume_while_the_table_changes");
	struct rm *M = malloc(sizeof(*M));
	int round;

	cr_assert_not_null(M);
	rm_init(M, 512, 768, NAT_FILTER_APDF, false);
	for (round = 0; round < 40; round++) {
		struct walk_seen ws = {.cap = 1u << 16}, wm = {.cap = 1u << 16};
		bool *surv_s = calloc(M->cap_s, 1), *surv_m = calloc(M->cap_m, 1);
		struct nat_sess **sp = calloc(M->cap_s, sizeof(*sp));
		struct nat_mapping **mp = calloc(M->cap_m, sizeof(*mp));
		uint64_t cs = 0, cm = 0;
		int ds = 0, dm = 0;

		ws.p = calloc(ws.cap, sizeof(*ws.p));
		wm.p = calloc(wm.cap, sizeof(*wm.p));
		for (int k = 0; k < 20000; k++)
			rm_step(M, &seed);
		for (uint32_t i = 0; i < M->cap_s; i++)
			if ((surv_s[i] = M->sess[i].live))
				sp[i] = M->sess[i].ptr;
		for (uint32_t i = 0; i < M->cap_m; i++)
			if ((surv_m[i] = M->maps[i].live))
				mp[i] = M->maps[i].ptr;
		while (!ds || !dm) {
			uint32_t budget = 1 + (uint32_t)(nat_rand(&seed) % 40);

			if (!ds) {
				ds = nat_session_walk(M->t, &cs, budget, walk_sess_fn, &ws);
				cr_assert_geq(ds, 0);
			}
			if (!dm) {
				dm = nat_mapping_walk(M->t, &cm, budget, walk_map_fn, &wm);
				cr_assert_geq(dm, 0);
			}
			/* change the table between the calls; forget what went */
			for (int k = 0; k < 30; k++) {
				rm_step(M, &seed);
				for (uint32_t i = 0; i < M->cap_s; i++)
					surv_s[i] &= M->sess[i].live && M->sess[i].ptr == sp[i];
				for (uint32_t i = 0; i < M->cap_m; i++)
					surv_m[i] &= M->maps[i].live && M->maps[i].ptr == mp[i];
			}
		}
		qsort(ws.p, ws.n, sizeof(*ws.p), cmp_ptr);
		qsort(wm.p, wm.n, sizeof(*wm.p), cmp_ptr);
		for (uint32_t i = 1; i < ws.n; i++)
			cr_assert_neq(ws.p[i], ws.p[i - 1], "a session slot visited twice");
		for (uint32_t i = 1; i < wm.n; i++)
			cr_assert_neq(wm.p[i], wm.p[i - 1], "a mapping slot visited twice");
		for (uint32_t i = 0; i < M->cap_s; i++)
			cr_assert(!surv_s[i] || seen_has(&ws, sp[i]), "a surviving session not shown");
		for (uint32_t i = 0; i < M->cap_m; i++)
			cr_assert(!surv_m[i] || seen_has(&wm, mp[i]), "a surviving mapping not shown");
		free(ws.p);
		free(wm.p);
		free(surv_s);
		free(surv_m);
		free(sp);
		free(mp);
	}
	rm_fini(M);
	free(M);
}
