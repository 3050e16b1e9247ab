/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NETCHANNEL_NC_SLAB_H
#define NETCHANNEL_NC_SLAB_H

/*
 * Netchannel memory: fixed-size objects carved from 2 MiB chunks
 * ================================================================
 *
 * Internal to lib/netchannel (netchannel.c).  A NAT keeps one netchannel per
 * session, tens of millions of them, and touches a random one per packet:
 * with malloc every object pays a 16-byte header and rounding, and the
 * random accesses miss the TLB on 4 KiB pages.  A slab hands out objects of
 * one size from 2 MiB-aligned chunks advised as transparent huge pages
 * (MADV_HUGEPAGE), with no per-object header: the chunk's first line tells
 * the slab, so nc_slab_free() needs only the pointer.  Freed objects go on
 * a free list and are reused first; chunks are kept until the slab goes.
 *
 * Ownership: the engine creates one slab per object size it sees and
 * orphans them when it is freed (nc_slab_orphan); objects still alive then
 * (netchannels referenced elsewhere) keep their memory, and the slab frees
 * itself with its last object.  The owner given to nc_slab_create() is
 * written in every chunk's header, so nc_slab_owner(obj) finds it with one
 * load from the object's own huge page (a netchannel finds its engine so,
 * without a pointer of its own); it reads NULL once the slab is orphaned.
 *
 * Thread safety: alloc and free on the owner's thread while it lives (the
 * engine's); after nc_slab_orphan(), nc_slab_free() from any thread.
 * Under AddressSanitizer free objects are poisoned.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NC_SLAB_MAX_OBJ 4096 /* larger objects: malloc */
#define NC_SLAB_CHUNK ((size_t)2 << 20) /* chunk size and alignment */

struct nc_slab;

/* The head of every chunk (its first line, never handed out). */
struct nc_slab_chunk {
	void *_Atomic owner;         /* nc_slab_create()'s; NULL once orphaned */
	struct nc_slab *slab;
	struct nc_slab_chunk *next;
};

/** A slab of obj_size-byte objects (8 .. NC_SLAB_MAX_OBJ, rounded up to 8)
 *  belonging to owner (any pointer, for nc_slab_owner()); NULL on failure. */
struct nc_slab *nc_slab_create(size_t obj_size, void *owner);

/** The owner of obj's slab, or NULL after nc_slab_orphan().  Any thread
 *  (acquire: pairs with the orphaning's release). */
static inline void *nc_slab_owner(const void *obj)
{
	struct nc_slab_chunk *ch =
		(struct nc_slab_chunk *)((uintptr_t)obj & ~(uintptr_t)(NC_SLAB_CHUNK - 1));

	return atomic_load_explicit(&ch->owner, memory_order_acquire);
}

/** A slab whose chunks are carved in order from one range of address
 *  space reserved here for max_objs objects (obj_size a power of two, 8 ..
 *  NC_SLAB_MAX_OBJ), so that an object is named by its slot: object i
 *  of the arena sits at nc_slab_arena_base() + i * obj_size (the slots of
 *  each chunk's first line, or its first slot if larger, are never handed
 *  out).  Pages are backed as
 *  chunks come into use.  Holds at least max_objs objects; NULL on failure.
 *  The flow table keeps 32-bit slots instead of pointers for these
 *  objects (nc_flow.h, object flows). */
struct nc_slab *nc_slab_create_arena(size_t obj_size, void *owner, uint32_t max_objs);

/** An arena's first slot (2 MiB aligned); NULL for other slabs. */
void *nc_slab_arena_base(const struct nc_slab *s);

/** Slots in an arena (0 for other slabs): objects are below base + this. */
size_t nc_slab_arena_slots(const struct nc_slab *s);

/** Object size of the slab. */
size_t nc_slab_obj_size(const struct nc_slab *s);

/** An object (8-byte aligned, contents undefined); NULL without memory.
 *  Objects follow the chunk's first line back to back, so those of a size
 *  that is a multiple of 64 are 64-byte aligned (a NAT session's
 *  netchannel: one line). */
void *nc_slab_alloc(struct nc_slab *s);

/** Give back an object of any slab. */
void nc_slab_free(void *obj);

/** The owner is gone: nc_slab_owner() reads NULL from now on; free the
 *  slab now if it has no live object, else with its last one.  NULL-safe. */
void nc_slab_orphan(struct nc_slab *s);

/** Bytes the slab holds (its chunks). */
size_t nc_slab_bytes(const struct nc_slab *s);

#endif /* NETCHANNEL_NC_SLAB_H */
