/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_slab (lib/netchannel/nc_slab.h): objects never overlap or alias while
 * live (a random alloc/free run against a model of the live set, each
 * object stamped with its owner's number), freed objects are reused before
 * new memory is taken, chunks are 2 MiB, and an orphaned slab stays usable
 * for its live objects, which other threads may free (the sanitizer build
 * checks that nothing is touched after the last one).  Every object finds
 * its slab's owner (nc_slab_owner), in any chunk, until the orphaning,
 * and objects of a multiple of 64 bytes are line aligned.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "nc_slab.h"

#define CHUNK ((size_t)2 << 20)

static void stamp(void *o, size_t size, uint64_t tag)
{
	for (size_t i = 0; i + 8 <= size; i += 8)
		memcpy((char *)o + i, &tag, 8);
}

static bool stamped(const void *o, size_t size, uint64_t tag)
{
	for (size_t i = 0; i + 8 <= size; i += 8)
		if (memcmp((const char *)o + i, &tag, 8) != 0)
			return false;
	return true;
}

Test(nc_slab, sizes)
{
	struct nc_slab *s;

	cr_assert_null(nc_slab_create(0, NULL));
	cr_assert_null(nc_slab_create(NC_SLAB_MAX_OBJ + 1, NULL));
	s = nc_slab_create(1, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(nc_slab_obj_size(s), 8);
	cr_assert_eq(nc_slab_bytes(s), 0, "memory before the first object");
	nc_slab_orphan(s);
	s = nc_slab_create(112, NULL);
	cr_assert_eq(nc_slab_obj_size(s), 112);
	nc_slab_orphan(s);
	nc_slab_orphan(NULL);
	nc_slab_free(NULL);
}

Test(nc_slab, random_against_model)
{
	enum { N = 50000, OPS = 400000 };
	size_t size = 112;
	struct nc_slab *s = nc_slab_create(size, NULL);
	void **live = calloc(N, sizeof(*live));
	uint64_t rng = 0x9e3779b97f4a7c15ull, peak = 0, n_live = 0;

	cr_assert_not_null(s);
	for (unsigned op = 0; op < OPS; op++) {
		unsigned i;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		i = (unsigned)(rng % N);
		if (live[i]) {
			cr_assert(stamped(live[i], size, i + 1), "object %u was overwritten", i);
			nc_slab_free(live[i]);
			live[i] = NULL;
			n_live--;
		} else {
			live[i] = nc_slab_alloc(s);
			cr_assert_not_null(live[i]);
			cr_assert_eq((uintptr_t)live[i] % 8, 0);
			/* inside a chunk, after its header line */
			cr_assert_geq((uintptr_t)live[i] % CHUNK, 64);
			cr_assert_leq((uintptr_t)live[i] % CHUNK + size, CHUNK);
			stamp(live[i], size, i + 1);
			if (++n_live > peak)
				peak = n_live;
		}
	}
	/* memory follows the peak: whole chunks, none more than needed */
	{
		size_t per = (CHUNK - 64) / size, chunks = (peak + per - 1) / per;

		cr_assert_eq(nc_slab_bytes(s), chunks * CHUNK, "%zu bytes for a peak of %llu",
			     nc_slab_bytes(s), (unsigned long long)peak);
	}
	for (unsigned i = 0; i < N; i++)
		if (live[i]) {
			cr_assert(stamped(live[i], size, i + 1));
			nc_slab_free(live[i]);
		}
	/* everything back: a new round reuses it all */
	{
		size_t before = nc_slab_bytes(s);

		for (unsigned i = 0; i < peak; i++)
			live[i] = nc_slab_alloc(s);
		cr_assert_eq(nc_slab_bytes(s), before, "freed objects not reused");
		for (unsigned i = 0; i < peak; i++)
			nc_slab_free(live[i]);
	}
	nc_slab_orphan(s);
	free(live);
}

struct freer {
	void **objs;
	unsigned n;
};

static void *free_all(void *arg)
{
	struct freer *f = arg;

	for (unsigned i = 0; i < f->n; i++)
		nc_slab_free(f->objs[i]);
	return NULL;
}

/* The owner goes with objects still alive; two threads free them later. */
Test(nc_slab, orphan_freed_by_other_threads)
{
	enum { N = 40000 };
	struct nc_slab *s = nc_slab_create(200, NULL);
	void **objs = malloc(N * sizeof(*objs));
	struct freer f[2] = {{objs, N / 2}, {objs + N / 2, N / 2}};
	pthread_t t[2];

	for (unsigned i = 0; i < N; i++) {
		objs[i] = nc_slab_alloc(s);
		stamp(objs[i], 200, i);
	}
	nc_slab_orphan(s); /* live objects keep it */
	for (unsigned i = 0; i < N; i++)
		cr_assert(stamped(objs[i], 200, i));
	for (int k = 0; k < 2; k++)
		cr_assert_eq(pthread_create(&t[k], NULL, free_all, &f[k]), 0);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	free(objs);
}

/* The owner is found from any object of any chunk, and reads NULL once
 * the slab is orphaned (the objects still alive then included). */
Test(nc_slab, owner_of_objects)
{
	enum { N = 60000 }; /* 88-byte objects: three chunks */
	int owner;
	struct nc_slab *s = nc_slab_create(88, &owner);
	void **objs = malloc(N * sizeof(*objs));

	cr_assert_not_null(s);
	for (unsigned i = 0; i < N; i++) {
		objs[i] = nc_slab_alloc(s);
		cr_assert_not_null(objs[i]);
		cr_assert_eq(nc_slab_owner(objs[i]), &owner, "object %u", i);
	}
	cr_assert_geq(nc_slab_bytes(s), 3 * CHUNK);
	for (unsigned i = 0; i < N; i += 2)
		nc_slab_free(objs[i]);
	for (unsigned i = 0; i < N; i += 2) {
		objs[i] = nc_slab_alloc(s); /* reused */
		cr_assert_eq(nc_slab_owner(objs[i]), &owner);
	}
	nc_slab_orphan(s);
	for (unsigned i = 0; i < N; i++)
		cr_assert_null(nc_slab_owner(objs[i]), "object %u after the orphaning", i);
	for (unsigned i = 0; i < N; i++)
		nc_slab_free(objs[i]);
	free(objs);
}

/* Objects of a size that is a multiple of 64 are line aligned in every
 * chunk, new or reused (a NAT session's netchannel is one line). */
Test(nc_slab, line_sized_objects_are_line_aligned)
{
	enum { N = 40000 }; /* 64-byte objects: two chunks */
	struct nc_slab *s = nc_slab_create(64, NULL);
	void **objs = malloc(N * sizeof(*objs));

	cr_assert_not_null(s);
	for (unsigned i = 0; i < N; i++) {
		objs[i] = nc_slab_alloc(s);
		cr_assert_not_null(objs[i]);
		cr_assert_eq((uintptr_t)objs[i] % 64, 0, "object %u", i);
	}
	cr_assert_geq(nc_slab_bytes(s), 2 * CHUNK);
	for (unsigned i = 0; i < N; i += 3)
		nc_slab_free(objs[i]);
	for (unsigned i = 0; i < N; i += 3) {
		objs[i] = nc_slab_alloc(s);
		cr_assert_eq((uintptr_t)objs[i] % 64, 0, "reused object %u", i);
	}
	for (unsigned i = 0; i < N; i++)
		nc_slab_free(objs[i]);
	nc_slab_orphan(s);
	free(objs);
}

/* ---- arenas (nc_slab_create_arena) ------------------------------------ */

Test(nc_slab, arena_arguments)
{
	struct nc_slab *s;

	cr_assert_null(nc_slab_create_arena(0, NULL, 10));
	cr_assert_null(nc_slab_create_arena(4, NULL, 10), "below 8 bytes");
	cr_assert_null(nc_slab_create_arena(24, NULL, 10), "not a power of two");
	cr_assert_null(nc_slab_create_arena(96, NULL, 10), "not a power of two");
	cr_assert_null(nc_slab_create_arena(2 * NC_SLAB_MAX_OBJ, NULL, 10));
	cr_assert_null(nc_slab_create_arena(64, NULL, 0), "no objects");
	cr_assert_null(nc_slab_arena_base(NULL));
	cr_assert_eq(nc_slab_arena_slots(NULL), 0);
	s = nc_slab_create(64, NULL);
	cr_assert_null(nc_slab_arena_base(s), "an ordinary slab is no arena");
	cr_assert_eq(nc_slab_arena_slots(s), 0);
	nc_slab_orphan(s);
	s = nc_slab_create_arena(64, NULL, 1);
	cr_assert_not_null(s);
	cr_assert_eq(nc_slab_obj_size(s), 64);
	cr_assert_eq(nc_slab_bytes(s), 0, "address space only until the first object");
	cr_assert_eq((uintptr_t)nc_slab_arena_base(s) % CHUNK, 0);
	cr_assert_geq(nc_slab_arena_slots(s), 1);
	nc_slab_orphan(s);
}

/*
 * The arena's contract, checked for one object size: objects are handed
 * out in address order from base (chunks carved in order), every object is
 * a whole slot (base + i * obj_size, below base + slots * obj_size, never
 * in a chunk's first line), objects never overlap (each stamped with its
 * number and checked at the end), at least max_objs fit and then alloc
 * fails, freed objects come back first, and the memory shows chunk by
 * chunk.  The model: the slot each object must occupy.
 */
static void arena_check(size_t size, uint32_t max_objs)
{
	int owner;
	struct nc_slab *s = nc_slab_create_arena(size, &owner, max_objs);
	char *base, *prev = NULL;
	size_t slots, n = 0, cap;
	void **objs;

	cr_assert_not_null(s, "arena of %zu-byte objects", size);
	base = nc_slab_arena_base(s);
	slots = nc_slab_arena_slots(s);
	cr_assert_not_null(base);
	cr_assert_eq((uintptr_t)base % CHUNK, 0, "base 2 MiB aligned");
	cr_assert_geq(slots, max_objs, "size %zu: %zu slots for %u objects", size, slots,
		      max_objs);
	cap = slots;
	objs = malloc(cap * sizeof(*objs));
	cr_assert_not_null(objs);
	for (;;) {
		char *o = nc_slab_alloc(s);
		size_t off;

		if (o == NULL)
			break;
		cr_assert_lt(n, cap, "size %zu: more objects than slots", size);
		off = (size_t)(o - base);
		cr_assert(o >= base && off < slots * size, "size %zu: object %zu outside the arena",
			  size, n);
		cr_assert_eq(off % size, 0, "size %zu: object %zu at offset %zu is not a slot",
			     size, n, off);
		cr_assert_geq(off % CHUNK, 64, "size %zu: object %zu in a chunk's first line",
			      size, n);
		cr_assert(prev == NULL || o > prev, "size %zu: object %zu out of order", size, n);
		cr_assert_eq(nc_slab_owner(o), &owner);
		cr_assert_eq(nc_slab_bytes(s), (off / CHUNK + 1) * CHUNK, "chunks as they are used");
		stamp(o, size, n);
		objs[n++] = o;
		prev = o;
	}
	cr_assert_geq(n, max_objs, "size %zu: %zu objects for max_objs %u", size, n, max_objs);
	for (size_t i = 0; i < n; i++)
		cr_assert(stamped(objs[i], size, i), "size %zu: object %zu overwritten", size, i);
	/* full: a freed object is the next one handed out, stamps elsewhere intact */
	for (size_t i = 1; i < n; i += 97) {
		nc_slab_free(objs[i]);
		cr_assert_eq(nc_slab_alloc(s), objs[i], "size %zu: freed slot reused", size);
		stamp(objs[i], size, i);
	}
	cr_assert_null(nc_slab_alloc(s), "still full");
	nc_slab_orphan(s);
	for (size_t i = 0; i < n; i++) {
		cr_assert(stamped(objs[i], size, i));
		nc_slab_free(objs[i]); /* the last one unmaps the arena */
	}
	free(objs);
}

/* The netchannel size (64 bytes) and the smaller ones. */
Test(nc_slab, arena_objects_are_slots)
{
	arena_check(64, 70000); /* three chunks */
	arena_check(64, 1);
	arena_check(8, 300000);
	arena_check(32, 40000);
}

/* Objects larger than the chunk's 64-byte first line: the header says any
 * power of two up to NC_SLAB_MAX_OBJ is named by its slot. */
Test(nc_slab, arena_large_objects_are_slots)
{
	arena_check(128, 20000);
	arena_check(4096, 1200);
}
