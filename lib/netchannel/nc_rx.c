/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine's receive path (see netchannel.h for the contract): parse a
 * burst into keys (nc_engine_prep), look the keys up in the flow table in
 * bulk, classify the misses in their zone's listeners, and hand each
 * netchannel its packets in one process() call (nc_engine_run).  The
 * objects, ids and deferred destruction it relies on are in netchannel.c,
 * the mbuf entry point in nc_mbuf.c.
 */
#include "netchannel_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

_Static_assert(NC_BURST_MAX <= NC_FLOW_BULK_MAX, "a burst is one bulk flow lookup");
_Static_assert(NC_BURST_MAX <= 64, "burst bookkeeping uses 64-bit masks");

/* ---- the receive pipeline ---------------------------------------------- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* memset(o, 0, sizeof(*o)) in 16-byte stores: the compiler's choice for
 * 136 bytes (rep stosq) costs more than the whole common-case parse.  The
 * stores are written out (no loop GCC could turn back into memset); the
 * last one overlaps the one before when the size is not a multiple of 16. */
static inline void zero_info(struct nc_pkt_info *o)
{
#if defined(__SSE2__)
	char *b = (char *)o;
	const __m128i z = _mm_setzero_si128();

	_Static_assert(sizeof(*o) >= 16 && sizeof(*o) <= 192, "zero_info covers 16..192 bytes");
#define ZERO_AT(off)                                                                    \
	do {                                                                            \
		if ((off) + 16 <= sizeof(*o))                                           \
			_mm_storeu_si128((__m128i *)(void *)(b + (off)), z);            \
	} while (0)
	ZERO_AT(0);
	ZERO_AT(16);
	ZERO_AT(32);
	ZERO_AT(48);
	ZERO_AT(64);
	ZERO_AT(80);
	ZERO_AT(96);
	ZERO_AT(112);
	ZERO_AT(128);
	ZERO_AT(144);
	ZERO_AT(160);
	ZERO_AT(176);
#undef ZERO_AT
	if (sizeof(*o) % 16 != 0)
		_mm_storeu_si128((__m128i *)(void *)(b + sizeof(*o) - 16), z);
#else
	memset(o, 0, sizeof(*o));
#endif
}

/*
 * nc_parse() for the frames that make up nearly all traffic: Ethernet
 * without VLAN tags, IPv4 without options, not a fragment, the datagram in
 * the buffer, a complete TCP or UDP header that nc_parse accepts.  Fills *o
 * exactly as nc_parse() does (every field, zeroes included) and returns
 * true; returns false (o undefined) for anything else, which nc_parse()
 * then handles.  It saves the general parser's calls and branches, a third
 * of the engine's per-packet work on a cached flow.
 */
static bool parse_common(const uint8_t *pkt, uint32_t len, uint16_t in_port,
			 struct nc_pkt_info *o)
{
	const uint8_t *ip = pkt + 14, *l4 = pkt + 34;
	unsigned tot, fo, avail, doff = 0, ulen;
	uint8_t proto;

	if (len < 34 + 8 || rd16(pkt + 12) != 0x0800 || ip[0] != 0x45)
		return false;
	tot = rd16(ip + 2);
	fo = rd16(ip + 6);
	proto = ip[9];
	if (tot < 20 || tot > len - 14 || (fo & 0x3fff) != 0)
		return false;
	avail = tot - 20; /* the datagram fits: L4 ends where it ends */
	if (proto == 6) {
		if (avail < 20)
			return false;
		doff = (unsigned)(l4[12] >> 4) * 4;
		if (doff < 20 || avail < doff)
			return false;
	} else if (proto == 17) {
		ulen = rd16(l4 + 4);
		if (avail < 8 || ulen < 8 || ulen > avail)
			return false;
	} else {
		return false;
	}
	zero_info(o);
	o->key.family = CLS_IPV4;
	o->key.proto = proto;
	o->key.src.v4 = rd32(ip + 12);
	o->key.dst.v4 = rd32(ip + 16);
	o->key.sport = rd16(l4);
	o->key.dport = rd16(l4 + 2);
	o->in_port = in_port;
	o->status = NC_PARSE_OK;
	o->layers = NC_LAYER_L2 | NC_LAYER_L3 | NC_LAYER_L4;
	o->flags = (uint16_t)((fo & 0x4000 ? NC_PF_DONT_FRAG : 0) |
			      (tot < len - 14 ? NC_PF_TRAILER : 0));
	o->ethertype = 0x0800;
	o->link = NC_LINK_ETHERNET;
	o->l3_off = 14;
	o->l3_len = 20;
	o->l4_off = 34;
	o->l4_len = proto == 6 ? (uint16_t)doff : 8;
	o->ip_len = tot;
	o->frag_id = rd16(ip + 4);
	o->ttl = ip[8];
	o->tos = ip[1];
	if (proto == 6)
		o->tcp_flags = l4[13];
	return true;
}

void nc_engine_prep(struct nc_engine *e, unsigned i, const uint8_t *data, uint32_t len,
		    void *cookie, uint16_t flags, uint16_t in_port)
{
	struct nc_pkt *p = &e->pkts[i];

	p->data = data;
	p->len = len;
	p->in_port = in_port;
	p->flags = flags;
	p->mbuf = cookie;
	if (data != NULL && e->cfg.link == NC_LINK_ETHERNET &&
	    parse_common(data, len, in_port, &p->info)) {
		(void)nc_flow_key_from_pkt(&p->key, &p->info, in_port);
		return;
	}
	if (data == NULL || nc_parse(data, len, in_port, e->cfg.link, &p->info) != 0) {
		memset(&p->info, 0, sizeof(p->info));
		memset(&p->key, 0, sizeof(p->key));
		return;
	}
	(void)nc_flow_key_from_pkt(&p->key, &p->info, in_port);
}

static void unclaimed(struct nc_engine *e, struct nc_pkt *const pkts[], unsigned n)
{
	if (n == 0)
		return;
	e->st.unclaimed += n;
	if (e->cfg.unclaimed != NULL) {
		e->cfg.unclaimed(e->cfg.ctx, pkts, n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		nc_pkt_drop(e, pkts[i]);
}

/* Look up the packets that missed the flow table in the classifier and ask
 * the listeners; fills e->owner for those accepted. */
static void resolve_misses(struct nc_engine *e, const unsigned *miss, unsigned nm, uint64_t now)
{
	const struct cls_key *ck[NC_BURST_MAX];
	struct cls_match m[NC_BURST_MAX];
	unsigned sub[NC_BURST_MAX], ns;
	bool inserted = false, zoned = false;

	for (unsigned j = 0; j < nm; j++) {
		ck[j] = &e->pkts[miss[j]].info.key;
		m[j].udata = NULL;
		zoned |= e->pkts[miss[j]].in_port < NC_ENGINE_ZONES &&
			 e->zcls[e->pkts[miss[j]].in_port] != NULL;
	}
	if (zoned) {
		/* Zone listeners first, one bulk lookup per zone present (a
		 * burst comes from one port, so usually one). */
		uint32_t todo = 0;

		for (unsigned j = 0; j < nm; j++) {
			uint16_t z = e->pkts[miss[j]].in_port;
			if (z < NC_ENGINE_ZONES && e->zcls[z] != NULL)
				todo |= 1u << z;
		}
		while (todo) {
			uint16_t z = (uint16_t)__builtin_ctz(todo);
			const struct cls_key *zk[NC_BURST_MAX];
			struct cls_match zm[NC_BURST_MAX];

			todo &= todo - 1;
			ns = 0;
			for (unsigned j = 0; j < nm; j++)
				if (e->pkts[miss[j]].in_port == z) {
					sub[ns] = j;
					zk[ns++] = ck[j];
				}
			(void)cls_lookup_bulk(e->zcls[z], zk, ns, zm);
			for (unsigned k = 0; k < ns; k++)
				m[sub[k]] = zm[k];
		}
		ns = 0;
		for (unsigned j = 0; j < nm; j++)
			if (m[j].udata == NULL)
				sub[ns++] = j;
		if (ns > 0) {
			const struct cls_key *ak[NC_BURST_MAX];
			struct cls_match am[NC_BURST_MAX];

			for (unsigned k = 0; k < ns; k++)
				ak[k] = ck[sub[k]];
			(void)cls_lookup_bulk(e->cls, ak, ns, am);
			for (unsigned k = 0; k < ns; k++)
				m[sub[k]] = am[k];
		}
	} else {
		(void)cls_lookup_bulk(e->cls, ck, nm, m);
	}
	for (unsigned j = 0; j < nm; j++) {
		unsigned i = miss[j];
		struct nc_pkt *p = &e->pkts[i];
		void *v;

		/* An earlier packet of this burst may have created the flow. */
		if (inserted && nc_flow_lookup(e->flows, &p->key, now, &v) == 0) {
			e->owner[i] = flow_nc(v);
			continue;
		}
		if (m[j].udata == NULL) {
			e->st.no_listener++;
			continue;
		}
		struct netchannel *l = m[j].udata;
		e->st.listener_hits++;
		struct netchannel *nc = l->ops->accept(l, p);
		if (nc == NULL) {
			e->st.refused++;
			continue;
		}
		e->st.accepted++;
		e->owner[i] = nc;
		if (nc != l)
			inserted = true; /* later misses look in the flow table again */
	}
}

/* The lines a process() call touches in a netchannel: from ops to the end
 * of priv, without reading the netchannel (its line is what we wait for):
 * the line of ops, and the next one only if the flow table's value says
 * the bytes reach into it (flow_value).  A NAT session is one line. */
static inline void prefetch_hot(const void *v)
{
	const struct netchannel *nc = flow_nc(v);

	__builtin_prefetch(&nc->ops, 1);
	if ((uintptr_t)v & NC_FV_TWO_LINES)
		__builtin_prefetch((const char *)&nc->ops + 64, 1);
}

/* process_many's list of a burst holds more than one type */
#define MANY_TYPES ((const struct nc_ops *)1)

/*
 * Hand the burst's packets of process_many types (ncs[i] owns pkts[i], in
 * arrival order) to their types: one call when they are all of one type
 * (mops; the usual case), else one per type with its packets in order.
 */
static unsigned process_many(struct nc_engine *e, const struct nc_ops *mops,
			     struct netchannel *ncs[], struct nc_pkt *pkts[], unsigned n)
{
	struct netchannel *tnc[NC_BURST_MAX];
	struct nc_pkt *tpkt[NC_BURST_MAX];

	if (mops != MANY_TYPES) {
		e->st.process_calls++;
		mops->process_many(ncs, pkts, n);
		return n;
	}
	/* each pass takes the first type left and the packets of that type */
	for (unsigned left = n; left > 0;) {
		const struct nc_ops *ops = NULL;
		unsigned k = 0, rest = 0;

		for (unsigned i = 0; i < left; i++) {
			if (ops == NULL)
				ops = ncs[i]->ops;
			if (ncs[i]->ops == ops) {
				tnc[k] = ncs[i];
				tpkt[k++] = pkts[i];
			} else {
				ncs[rest] = ncs[i];
				pkts[rest++] = pkts[i];
			}
		}
		e->st.process_calls++;
		ops->process_many(tnc, tpkt, k);
		left = rest;
	}
	return n;
}

static inline uint32_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(x >> 40);
}

unsigned nc_engine_run(struct nc_engine *e, unsigned n, uint64_t now)
{
	const struct nc_flow_key *keys[NC_BURST_MAX];
	void *vals[NC_BURST_MAX];
	unsigned kidx[NC_BURST_MAX], miss[NC_BURST_MAX], nk = 0, nm = 0, handed = 0;
	struct nc_pkt *batch[NC_BURST_MAX], *lost[NC_BURST_MAX];
	struct netchannel *gnc[NC_BURST_MAX];
	uint8_t gid[NC_BURST_MAX], gcount[NC_BURST_MAX], gpos[NC_BURST_MAX];
	struct netchannel *mnc[NC_BURST_MAX];
	struct nc_pkt *mpkt[NC_BURST_MAX];
	const struct nc_ops *mops = NULL;
	unsigned nlost = 0, ng = 0, nmany = 0;
	uint64_t hits = 0;
	uint32_t stamp;

	nc_defer_begin(e);
	e->now = now;
	e->st.rx += n;
	for (unsigned i = 0; i < n; i++) {
		e->owner[i] = NULL;
		if (nc_pkt_has_key(&e->pkts[i].info)) {
			kidx[nk] = i;
			keys[nk++] = &e->pkts[i].key;
		} else {
			e->st.no_key++;
		}
	}
	if (nk > 0 && nc_flow_lookup_bulk(e->flows, keys, nk, now, vals, &hits) >= 0) {
		for (unsigned j = 0; j < nk; j++) {
			if (hits & (1ull << j)) {
				e->owner[kidx[j]] = flow_nc(vals[j]);
				prefetch_hot(vals[j]);
			} else {
				miss[nm++] = kidx[j];
			}
		}
	} else {
		for (unsigned j = 0; j < nk; j++)
			miss[nm++] = kidx[j];
	}
	e->st.flow_hits += nk - nm;
	e->st.flow_misses += nm;
	if (nm > 0)
		resolve_misses(e, miss, nm, now);

	/*
	 * One process() per netchannel with its packets in arrival order, the
	 * netchannels in the order of their first packet.  Groups are found
	 * with a small open-addressing table on the netchannel pointer (twice
	 * the burst, stamped per burst instead of cleared): O(n) per burst.
	 * Netchannels whose type has process_many skip the table: their
	 * packets are listed in arrival order (with the type) and each type
	 * gets one call after the groups.
	 */
	stamp = ++e->burst_seq;
	if (stamp == 0) { /* wrapped: forget every stamp */
		memset(e->gtab, 0, sizeof(e->gtab));
		stamp = e->burst_seq = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct netchannel *nc = e->owner[i];
		uint32_t h;

		gid[i] = UINT8_MAX;
		if (nc == NULL) {
			lost[nlost++] = &e->pkts[i];
			continue;
		}
		if (nc->ops->process_many != NULL) {
			nc->rx_pkts++;
			mnc[nmany] = nc;
			mpkt[nmany++] = &e->pkts[i];
			if (nc->ops != mops)
				mops = mops == NULL ? nc->ops : MANY_TYPES;
			continue;
		}
		for (h = ptr_hash(nc) % (2 * NC_BURST_MAX);; h = (h + 1) % (2 * NC_BURST_MAX)) {
			if (e->gtab[h].stamp != stamp) {
				e->gtab[h].stamp = stamp;
				e->gtab[h].nc = nc;
				e->gtab[h].group = ng;
				gnc[ng] = nc;
				gcount[ng++] = 0;
				break;
			}
			if (e->gtab[h].nc == nc)
				break;
		}
		gid[i] = (uint8_t)e->gtab[h].group;
		gcount[gid[i]]++;
	}
	for (unsigned g = 0, pos = 0; g < ng; g++) {
		gpos[g] = (uint8_t)pos;
		pos += gcount[g];
	}
	for (unsigned i = 0; i < n; i++)
		if (gid[i] != UINT8_MAX)
			batch[gpos[gid[i]]++] = &e->pkts[i];
	for (unsigned g = 0, pos = 0; g < ng; g++) {
		struct netchannel *nc = gnc[g];
		unsigned nb = gcount[g];

		nc->rx_pkts += nb;
		handed += nb;
		e->st.process_calls++;
		nc->ops->process(nc, batch + pos, nb);
		pos += nb;
	}
	if (nmany > 0)
		handed += process_many(e, mops, mnc, mpkt, nmany);
	unclaimed(e, lost, nlost);
	nc_defer_end(e);
	return handed;
}

int nc_engine_rx(struct nc_engine *e, const uint8_t *const bufs[], const uint32_t lens[],
		 void *const cookies[], unsigned n, uint16_t in_port, uint64_t now)
{
	unsigned handed = 0;

	if (e == NULL || (n > 0 && (bufs == NULL || lens == NULL)))
		return -EINVAL;
	if (e->closing)
		return -ESHUTDOWN;
	for (unsigned off = 0; off < n; off += NC_BURST_MAX) {
		unsigned m = n - off < NC_BURST_MAX ? n - off : NC_BURST_MAX;
		for (unsigned i = 0; i < m; i++)
			nc_engine_prep(e, i, bufs[off + i], lens[off + i],
				       cookies ? cookies[off + i] : NULL, 0, in_port);
		handed += nc_engine_run(e, m, now);
	}
	return (int)handed;
}

