/* SPDX-License-Identifier: BSD-3-Clause */
/* Netchannel memory in 2 MiB chunks; see nc_slab.h. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "nc_slab.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK NC_SLAB_CHUNK /* one huge page */
#define CHUNK_HDR 64        /* the chunk's first line; keeps 64-byte objects aligned */

_Static_assert(sizeof(struct nc_slab_chunk) <= CHUNK_HDR, "chunk header: one line");

struct nc_slab {
	size_t obj;
	void *owner;
	struct nc_slab_chunk *chunks;
	char *bump, *bump_end; /* the newest chunk's untouched tail */
	void *free_list;       /* linked through the objects' first word */
	_Atomic size_t live;   /* live objects + 1 while the owner has it */
	_Atomic bool orphan;
	size_t bytes;
	/* an arena (nc_slab_create_arena): chunks are carved in order from
	 * one reserved range, so objects have indexes */
	char *map;             /* the whole mapping (munmap'd at the end) */
	size_t map_len;
	char *arena, *arena_next, *arena_end; /* 2 MiB-aligned part */
};

struct nc_slab *nc_slab_create(size_t obj_size, void *owner)
{
	struct nc_slab *s;

	if (obj_size == 0 || obj_size > NC_SLAB_MAX_OBJ)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->obj = (obj_size + 7) & ~(size_t)7;
	s->owner = owner;
	atomic_init(&s->live, 1);
	atomic_init(&s->orphan, false);
	return s;
}

struct nc_slab *nc_slab_create_arena(size_t obj_size, void *owner, uint32_t max_objs)
{
	struct nc_slab *s;
	size_t per_chunk, chunks;

	if (obj_size < 8 || obj_size > NC_SLAB_MAX_OBJ || (obj_size & (obj_size - 1)) != 0 ||
	    max_objs == 0)
		return NULL;
	per_chunk = (CHUNK - CHUNK_HDR) / obj_size;
	chunks = ((size_t)max_objs + per_chunk - 1) / per_chunk;
	s = nc_slab_create(obj_size, owner);
	if (s == NULL)
		return NULL;
	/* Address space only: pages are backed as chunks come into use
	 * (MAP_NORESERVE: no commit charge for the untouched rest). */
	s->map_len = (chunks + 1) * CHUNK;
	s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED) {
		free(s);
		return NULL;
	}
	s->arena = (char *)(((uintptr_t)s->map + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
	s->arena_next = s->arena;
	s->arena_end = s->arena + chunks * CHUNK;
	return s;
}

void *nc_slab_arena_base(const struct nc_slab *s)
{
	return s ? s->arena : NULL;
}

size_t nc_slab_arena_slots(const struct nc_slab *s)
{
	return s && s->arena ? (size_t)(s->arena_end - s->arena) / s->obj : 0;
}

size_t nc_slab_obj_size(const struct nc_slab *s)
{
	return s->obj;
}

size_t nc_slab_bytes(const struct nc_slab *s)
{
	return s ? s->bytes : 0;
}

/* A 2 MiB-aligned chunk: map twice the size and cut the ends off. */
static char *chunk_map(struct nc_slab *s)
{
	char *m, *c;
	size_t head;

	if (s->arena != NULL) {
		if (s->arena_next == s->arena_end)
			return NULL;
		c = s->arena_next;
		s->arena_next += CHUNK;
		return c;
	}
	m = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	c = (char *)(((uintptr_t)m + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
	head = (size_t)(c - m);
	if (head)
		munmap(m, head);
	munmap(c + CHUNK, CHUNK - head);
	return c;
}

static struct nc_slab_chunk *chunk_new(struct nc_slab *s)
{
	char *c = chunk_map(s);
	struct nc_slab_chunk *ch;

	if (c == NULL)
		return NULL;
	(void)madvise(c, CHUNK, MADV_HUGEPAGE); /* best effort: THP may be off */
	ch = (struct nc_slab_chunk *)c;
	atomic_init(&ch->owner, s->owner);
	ch->slab = s;
	ch->next = s->chunks;
	s->chunks = ch;
	s->bytes += CHUNK;
	/* an arena's objects stay on their slots: past 64 bytes the header
	 * takes a whole one */
	s->bump = c + (s->arena != NULL && s->obj > CHUNK_HDR ? s->obj : CHUNK_HDR);
	s->bump_end = c + CHUNK;
	POISON(s->bump, (size_t)(s->bump_end - s->bump));
	return ch;
}

void *nc_slab_alloc(struct nc_slab *s)
{
	void *o = s->free_list;

	if (o != NULL) {
		UNPOISON(o, s->obj);
		s->free_list = *(void **)o;
		if (s->free_list != NULL) /* the next allocation reads it: long cold */
			__builtin_prefetch(s->free_list, 1);
	} else {
		if (s->bump == NULL || (size_t)(s->bump_end - s->bump) < s->obj) {
			if (chunk_new(s) == NULL)
				return NULL;
		}
		o = s->bump;
		s->bump += s->obj;
		UNPOISON(o, s->obj);
	}
	atomic_fetch_add_explicit(&s->live, 1, memory_order_relaxed);
	return o;
}

static void slab_destroy(struct nc_slab *s)
{
	struct nc_slab_chunk *ch = s->chunks;

	while (ch != NULL) {
		struct nc_slab_chunk *next = ch->next;

		UNPOISON(ch, CHUNK);
		if (s->arena == NULL)
			munmap(ch, CHUNK);
		ch = next;
	}
	if (s->arena != NULL)
		munmap(s->map, s->map_len);
	free(s);
}

void nc_slab_free(void *obj)
{
	struct nc_slab_chunk *ch;
	struct nc_slab *s;

	if (obj == NULL)
		return;
	ch = (struct nc_slab_chunk *)((uintptr_t)obj & ~(uintptr_t)(CHUNK - 1));
	s = ch->slab;
	if (atomic_load_explicit(&s->orphan, memory_order_acquire)) {
		/* any thread; the last one frees the whole slab */
		POISON(obj, s->obj);
		if (atomic_fetch_sub_explicit(&s->live, 1, memory_order_acq_rel) == 1)
			slab_destroy(s);
		return;
	}
	*(void **)obj = s->free_list;
	s->free_list = obj;
	POISON(obj, s->obj);
	atomic_fetch_sub_explicit(&s->live, 1, memory_order_relaxed);
}

void nc_slab_orphan(struct nc_slab *s)
{
	if (s == NULL)
		return;
	/* No chunk is added after this (the owner allocates no more). */
	for (struct nc_slab_chunk *ch = s->chunks; ch != NULL; ch = ch->next)
		atomic_store_explicit(&ch->owner, NULL, memory_order_release);
	s->owner = NULL;
	/* the owner's last act: frees from now on only count down, and
	 * whoever drops the count to zero (the owner's 1 included) frees */
	atomic_store_explicit(&s->orphan, true, memory_order_release);
	if (atomic_fetch_sub_explicit(&s->live, 1, memory_order_acq_rel) == 1)
		slab_destroy(s);
}
