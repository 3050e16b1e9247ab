/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Retired memory: a FIFO of objects that readers may still hold.  Every
 * writer call retires what it replaced and then seals: one grace-period token
 * (the hook's start()) covers the whole call's items.  Tokens only grow, so
 * the queue is drained from the head while done(token) holds.
 *
 * Without a hook there are no concurrent readers and sealed items are freed
 * at once; they are still deferred to the seal because the writer itself may
 * read a node it has just replaced until its call ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cls_internal.h"

#define TOKEN_UNSEALED UINT64_MAX

static void run_item(struct cls *c, struct cls_retired *it)
{
	if (it->fn)
		it->fn(c, it->p);
	else
		free(it->p);
	c->rq.bytes -= it->bytes;
}

static int grow(struct cls_reclaimq *q)
{
	size_t ncap = q->cap ? q->cap * 2 : 256;
	struct cls_retired *n = malloc(ncap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < q->count; i++)
		n[i] = q->items[(q->head + i) % q->cap];
	free(q->items);
	q->items = n;
	q->cap = ncap;
	q->head = 0;
	return 0;
}

void cls_retire(struct cls *c, void *p, uint64_t bytes, cls_retire_fn fn)
{
	struct cls_reclaimq *q = &c->rq;

	if (p == NULL)
		return;
	if (q->count == q->cap && grow(q) < 0) {
		/* No memory for bookkeeping: wait out a grace period for every
		 * sealed item, then for this one, instead of failing. */
		cls_retire_poll(c, true, SIZE_MAX);
		if (q->count == q->cap) {
			/* everything left is unsealed (the current call's own) */
			cls_retire_seal(c);
			cls_retire_poll(c, true, SIZE_MAX);
		}
	}
	struct cls_retired *it = &q->items[(q->head + q->count) % q->cap];
	it->p = p;
	it->fn = fn;
	it->bytes = bytes;
	it->token = TOKEN_UNSEALED;
	q->count++;
	q->unsealed++;
	q->bytes += bytes;
}

void cls_retire_seal(struct cls *c)
{
	struct cls_reclaimq *q = &c->rq;

	if (q->unsealed == 0)
		return;
	uint64_t t = c->reclaim.start ? c->reclaim.start(c->reclaim.ctx) : 0;
	for (size_t i = q->count - q->unsealed; i < q->count; i++)
		q->items[(q->head + i) % q->cap].token = t;
	q->unsealed = 0;
}

void cls_retire_poll(struct cls *c, bool wait, size_t budget)
{
	struct cls_reclaimq *q = &c->rq;

	while (q->count > q->unsealed && budget-- > 0) {
		struct cls_retired *it = &q->items[q->head];
		if (c->reclaim.start && !c->reclaim.done(c->reclaim.ctx, it->token)) {
			if (!wait)
				return;
			continue; /* readers keep reporting quiescent states */
		}
		struct cls_retired item = *it;
		q->head = (q->head + 1) % q->cap;
		q->count--;
		run_item(c, &item);
	}
}

void cls_reclaimq_fini(struct cls *c)
{
	struct cls_reclaimq *q = &c->rq;

	/* The caller guarantees no reader is left: run everything. */
	while (q->count) {
		struct cls_retired item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		run_item(c, &item);
	}
	q->unsealed = 0;
	free(q->items);
	q->items = NULL;
	q->cap = 0;
}
