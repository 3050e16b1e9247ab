/* SPDX-License-Identifier: BSD-3-Clause */
/* ncnat session table: the consistency check for tests
 * (nat_session_check, nat_session.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat_session_int.h"

/*
 * One index: every live record of `n` (live[i]) is found by its key through
 * ht_find, the index holds exactly the live records once each, and every
 * bucket's n_alt counts its entries living in their alternates by group.
 * Returns the overflow entries, or -1.
 */
static long ht_check(const struct nat_session_table *t, const struct ht *h, uint32_t n,
		     bool (*live)(const struct nat_session_table *t, uint32_t i),
		     uint64_t (*hash)(const struct nat_session_table *t, uint32_t i),
		     key_eq_fn eq, const void *(*key)(const struct nat_session_table *t, uint32_t i,
						      void *buf))
{
	uint32_t *seen = calloc(n, sizeof(*seen)), *n_alt = calloc((size_t)h->nb * 8, sizeof(*n_alt));
	uint64_t entries = 0, n_live = 0;
	long rc = -1;

	if (!seen || !n_alt)
		goto out;
	for (uint32_t b = 0; b < h->nb; b++) {
		for (unsigned k = 0; k < HT_SLOTS; k++) {
			uint32_t idx = h->b[b].idx[k] & ~HT_ALT;
			uint16_t sig = h->b[b].sig[k];

			if (sig == 0)
				continue;
			if (idx >= n || !live(t, idx) || seen[idx]++)
				goto out;
			/* it sits in one of its key's two buckets, with its signature */
			{
				uint64_t hv = hash(t, idx);
				uint32_t p = ht_prim(h, hv);
				bool alt = h->b[b].idx[k] & HT_ALT;

				if (ht_sig(hv) != sig || (alt ? ht_other(h, p, sig, false) : p) != b)
					goto out;
				if (alt)
					n_alt[(size_t)p * 8 + nalt_shift(sig) / 4]++;
			}
			entries++;
		}
	}
	for (uint32_t k = 0; k < h->n_over; k++) {
		uint32_t idx = h->over[k].idx;

		if (idx >= n || !live(t, idx) || seen[idx]++ ||
		    ht_prim(h, hash(t, idx)) != h->over[k].prim ||
		    ht_sig(hash(t, idx)) != h->over[k].sig)
			goto out;
		entries++;
	}
	for (uint32_t b = 0; b < h->nb; b++) {
		for (unsigned g = 0; g < 8; g++) {
			uint32_t c = (h->b[b].n_alt >> (g * 4)) & 15u;

			/* a saturated counter stays: any count is right then */
			if (c != HT_SAT && c != n_alt[(size_t)b * 8 + g])
				goto out;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t buf[2]; /* room for either key */

		if (!live(t, i))
			continue;
		n_live++;
		if (ht_find(t, h, hash(t, i), eq, key(t, i, buf)) != i)
			goto out;
	}
	if (entries != n_live)
		goto out;
	rc = (long)h->n_over;
out:
	free(seen);
	free(n_alt);
	return rc;
}

static bool map_live(const struct nat_session_table *t, uint32_t i)
{
	return t->maps[i].live;
}

static bool sess_indexed(const struct nat_session_table *t, uint32_t i)
{
	return (t->sess[i].live & NAT_SESS_INDEXED) != 0;
}

static uint64_t map_hash_in(const struct nat_session_table *t, uint32_t i)
{
	const struct nat_mapping *m = &t->maps[i];

	return hash_ep(t, m->proto, m->in_addr, m->in_port);
}

static uint64_t map_hash_out(const struct nat_session_table *t, uint32_t i)
{
	const struct nat_mapping *m = &t->maps[i];

	return hash_ep(t, m->proto, m->out_addr, m->out_port);
}

static uint64_t sess_hash(const struct nat_session_table *t, uint32_t i)
{
	const struct nat_sess *s = &t->sess[i];

	return hash_sess_of(t, &t->maps[s->map], s->rem_addr, s->rem_port);
}

static const void *map_key_in(const struct nat_session_table *t, uint32_t i, void *buf)
{
	struct ep_key *k = buf;

	*k = (struct ep_key){t->maps[i].in_addr, t->maps[i].in_port, t->maps[i].proto};
	return k;
}

static const void *map_key_out(const struct nat_session_table *t, uint32_t i, void *buf)
{
	struct ep_key *k = buf;

	*k = (struct ep_key){t->maps[i].out_addr, t->maps[i].out_port, t->maps[i].proto};
	return k;
}

static const void *sess_key_of(const struct nat_session_table *t, uint32_t i, void *buf)
{
	struct sess_key *k = buf;

	*k = (struct sess_key){t->sess[i].map, t->sess[i].rem_addr, t->sess[i].rem_port};
	return k;
}

int nat_session_check(const struct nat_session_table *t)
{
	long a, b, c;
	uint32_t i, n = 0, per[4] = {0, 0, 0, 0};

	if (!t)
		return -EINVAL;
	a = ht_check(t, &t->h_in, t->cfg.max_mappings, map_live, map_hash_in, eq_in, map_key_in);
	b = ht_check(t, &t->h_out, t->cfg.max_mappings, map_live, map_hash_out, eq_out,
		     map_key_out);
	c = ht_check(t, &t->h_sess, t->cfg.max_sessions, sess_indexed, sess_hash, eq_sess,
		     sess_key_of);
	if (a < 0 || b < 0 || c < 0)
		return -EFAULT;
	/* the mappings' session lists hold exactly the live sessions */
	for (i = 0; i < t->cfg.max_mappings; i++) {
		const struct nat_mapping *m = &t->maps[i];
		uint32_t k, cnt = 0, prev = NIL;

		if (!m->live)
			continue;
		for (k = m->sess_head; k != NIL; prev = k, k = t->sess[k].mnext) {
			if (k >= t->cfg.max_sessions || !t->sess[k].live || t->sess[k].map != i ||
			    t->sess[k].mprev != prev || ++cnt > m->n_sessions)
				return -EFAULT;
			/* past LIST_MAX sessions, nat_sess_find reads only the index */
			if (m->n_sessions > LIST_MAX && !(t->sess[k].live & NAT_SESS_INDEXED))
				return -EFAULT;
		}
		if (cnt != m->n_sessions)
			return -EFAULT;
		n += cnt;
		per[proto_slot(m->proto)] += cnt;
	}
	if (n != t->n_sess || memcmp(per, t->n_sess_proto, sizeof(per)) != 0)
		return -EFAULT;
	for (i = 0, n = 0; i < t->cfg.max_mappings; i++)
		n += t->maps[i].live;
	if (n != t->n_maps)
		return -EFAULT;
	return (int)(a + b + c);
}
