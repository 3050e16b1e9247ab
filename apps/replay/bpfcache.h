/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCREPLAY_BPFCACHE_H
#define NCREPLAY_BPFCACHE_H
/*
 * A memo in front of the BPF prefilter: the bytes the program reads -> its
 * verdict.
 *
 * Why it is exact
 * ---------------
 * libpcap's interpreter (pcap_offline_filter) is a pure function of the
 * packet bytes its loads read, the captured length (a load past it makes the
 * program return 0) and, for BPF_LEN loads, the wire length; A, X and the
 * scratch words start at 0 and only ever hold values derived from those.
 * When every load of the program is absolute (BPF_ABS: a fixed offset, no
 * BPF_IND / BPF_MSH whose offset depends on the packet) and ends within the
 * first BPFC_SPAN bytes, those inputs are known before running it:
 *   - the bytes at the offsets the loads cover (the set S);
 *   - min(caplen, span), span = the end of the furthest load: a load
 *     [k, k + size) is in bounds iff k + size <= caplen, and every k + size
 *     is <= span;
 *   - the wire length, if the program has a BPF_LEN load.
 * Two packets that agree on these get the same verdict, so the verdict of
 * the first is remembered (a direct-mapped table of BPFC_ENTRIES keys) and
 * the interpreter runs only on a miss.  'ip or ip6' on Ethernet reads bytes
 * 12-13 only: every packet of a capture then hits one of a handful of keys.
 * Programs that do not qualify ('tcp port 80' loads the IPv4 header length
 * with BPF_MSH) run the interpreter on every packet, as before.  The memo
 * never changes what passes (the tests and fuzz_capture compare it with
 * pcap_offline_filter on every packet: replay_cfg.libpcap_only).
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define BPFC_SPAN 64       /* loads must end within the first 64 bytes */
#define BPFC_WORDS (BPFC_SPAN / 8)
#define BPFC_ENTRIES 1024  /* power of two */

struct bpfc_entry {
	uint64_t w[BPFC_WORDS]; /* masked words of the key (unused ones 0) */
	uint32_t clamp;         /* min(caplen, span) */
	uint32_t len;           /* wire length, 0 if the program ignores it */
	uint8_t valid;
	uint8_t pass;
};

struct bpfcache {
	bool on;                   /* the program qualifies */
	bool use_len;              /* it reads the wire length */
	unsigned nw;               /* words of the key */
	uint32_t span;             /* end of the furthest load */
	uint32_t direct;           /* span rounded up to 8: caplen >= it reads in place */
	uint8_t word[BPFC_WORDS];  /* which 8-byte words of the packet */
	uint64_t mask[BPFC_WORDS]; /* the bytes of each that the program reads */
	uint64_t hits, misses;
	struct bpfc_entry *e;      /* BPFC_ENTRIES */
	struct bpfc_entry *last;   /* the entry that answered last: tried first */
};

static inline bool bpfc_same(const struct bpfc_entry *e, const uint64_t *w, unsigned nw,
			     uint32_t clamp, uint32_t wl)
{
	unsigned i = 0;

	if (!e->valid || e->clamp != clamp || e->len != wl)
		return false;
	while (i < nw && e->w[i] == w[i])
		i++;
	return i == nw;
}

/**
 * Look at the program; when it qualifies (see above) allocate the table.
 * A program that does not qualify leaves bc->on false (not an error).
 * @return 0, or -ENOMEM.
 */
int bpfc_init(struct bpfcache *bc, const struct bpf_program *prog);
void bpfc_free(struct bpfcache *bc);

/** The filter's verdict for one packet (nonzero: it passes). */
static inline bool bpfc_filter(struct bpfcache *bc, const struct bpf_program *prog,
			       const uint8_t *d, uint32_t caplen, uint32_t len)
{
	uint64_t w[BPFC_WORDS] = { 0 }, h;
	uint32_t clamp, wl = bc->use_len ? len : 0;
	struct bpfc_entry *e;
	struct pcap_pkthdr ph = { .caplen = caplen, .len = len };
	bool pass;

	if (!bc->on)
		return pcap_offline_filter(prog, &ph, d) != 0;
	if (caplen >= bc->direct) {
		clamp = bc->span;
		for (unsigned i = 0; i < bc->nw; i++) {
			memcpy(&w[i], d + 8 * bc->word[i], 8);
			w[i] &= bc->mask[i];
		}
	} else {
		/* short packet: bytes past caplen are never read by the program
		 * (the load fails first), so they are 0 in the key */
		uint8_t tmp[BPFC_SPAN] = { 0 };

		clamp = caplen < bc->span ? caplen : bc->span;
		memcpy(tmp, d, clamp);
		for (unsigned i = 0; i < bc->nw; i++) {
			memcpy(&w[i], tmp + 8 * bc->word[i], 8);
			w[i] &= bc->mask[i];
		}
	}
	/* a capture repeats few keys ('ip or ip6': the EtherType), often in
	 * a row: no hash for those */
	if (bpfc_same(bc->last, w, bc->nw, clamp, wl)) {
		bc->hits++;
		return bc->last->pass;
	}
	h = (uint64_t)clamp << 32 ^ wl;
	for (unsigned i = 0; i < bc->nw; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
	e = &bc->e[(h ^ h >> 29) & (BPFC_ENTRIES - 1)];
	bc->last = e;
	if (bpfc_same(e, w, bc->nw, clamp, wl)) {
		bc->hits++;
		return e->pass;
	}
	bc->misses++;
	pass = pcap_offline_filter(prog, &ph, d) != 0;
	memcpy(e->w, w, sizeof(w));
	e->clamp = clamp;
	e->len = wl;
	e->valid = 1;
	e->pass = pass;
	return pass;
}

#endif
