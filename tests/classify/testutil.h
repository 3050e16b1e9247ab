/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TESTUTIL_H
#define NC_TESTUTIL_H
/*
 * Helpers for the classify suites: a seeded RNG whose seed is printed and can
 * be replayed with NC_SEED, random rules and keys drawn from small value sets
 * (so that probes really hit rules), a simple QSBR for the reclamation hook,
 * and ClassBench trace loading.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

struct tu_rng {
	uint64_t s;
};

/* The seed: NC_SEED if set, else from the clock; printed with the test name. */
uint64_t tu_seed(const char *test);
uint64_t tu_next(struct tu_rng *r);
uint32_t tu_below(struct tu_rng *r, uint32_t n); /* [0, n) */
bool tu_long_mode(void);                         /* NC_LONG=1 */

/* Value pools shared by rule and key generation. */
struct tu_pools {
	uint32_t v4[12];
	struct cls_ip6 v6[8];
	uint16_t ports[8];
	uint8_t protos[4];
};
void tu_pools_init(struct tu_pools *p, struct tu_rng *r);

/* A random valid rule of the family (0: either), from the pools. */
void tu_rand_rule(struct tu_rng *r, const struct tu_pools *p, uint8_t family,
		  struct cls_rule *out);
/* A random key, near the pools' values most of the time. */
void tu_rand_key(struct tu_rng *r, const struct tu_pools *p, uint8_t family, struct cls_key *k);

/* Two classifiers of the given backends with the same hook (may be NULL). */
struct cls *tu_create(enum cls_backend b, const struct cls_reclaim *hook);

/* Compare a classifier with the reference on one key; on a difference print
 * both answers and the key and return false. */
bool tu_same_answer(const struct cls *got, const struct cls *ref, const struct cls_key *k);

/* ---- a test QSBR: readers report quiescent states, the writer polls ---- */
enum { TU_QSBR_MAX = 16 };
struct tu_qsbr {
	_Atomic uint64_t epoch;
	_Atomic uint64_t seen[TU_QSBR_MAX];
	unsigned nreaders;
};
void tu_qsbr_init(struct tu_qsbr *q, unsigned nreaders);
void tu_qsbr_quiescent(struct tu_qsbr *q, unsigned reader);
void tu_qsbr_offline(struct tu_qsbr *q, unsigned reader);
struct cls_reclaim tu_qsbr_hook(struct tu_qsbr *q);

/* ---- ClassBench ---- */
/* Directory of the shared sets (NC_CLASSBENCH_DIR), or NULL if absent. */
const char *tu_classbench_dir(void);
/* Load a trace file as keys; returns the count (0 on error). */
size_t tu_load_trace(const char *path, struct cls_key **keys);

#endif
