/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: does a BPF program qualify for the verdict memo (bpfcache.h)?
 * One pass over the instructions: every load must be absolute and end
 * within BPFC_SPAN bytes; the bytes they cover make the key.
 */
#include <errno.h>
#include <stdlib.h>

#include "bpfcache.h"

int bpfc_init(struct bpfcache *bc, const struct bpf_program *prog)
{
	uint8_t used[BPFC_SPAN] = { 0 };
	uint32_t span = 0;
	bool use_len = false;

	memset(bc, 0, sizeof(*bc));
	if (!prog || !prog->bf_insns || prog->bf_len == 0)
		return 0;
	for (u_int i = 0; i < prog->bf_len; i++) {
		const struct bpf_insn *in = &prog->bf_insns[i];
		uint32_t size;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			switch (BPF_MODE(in->code)) {
			case BPF_ABS:
				switch (BPF_SIZE(in->code)) {
				case BPF_W: size = 4; break;
				case BPF_H: size = 2; break;
				case BPF_B: size = 1; break;
				default: return 0; /* not an instruction libpcap runs */
				}
				/* also keeps out the Linux ancillary offsets (SKF_AD_OFF) */
				if (in->k >= BPFC_SPAN || size > BPFC_SPAN - in->k)
					return 0;
				for (uint32_t b = 0; b < size; b++)
					used[in->k + b] = 1;
				if (in->k + size > span)
					span = in->k + size;
				break;
			case BPF_LEN:
				use_len = true;
				break;
			case BPF_IMM:
			case BPF_MEM:
				break;
			default: /* BPF_IND: the offset depends on the packet */
				return 0;
			}
			break;
		case BPF_LDX:
			switch (BPF_MODE(in->code)) {
			case BPF_LEN:
				use_len = true;
				break;
			case BPF_IMM:
			case BPF_MEM:
				break;
			default: /* BPF_MSH: a load at a fixed offset into X, but
				  * then X feeds BPF_IND loads; not worth the case */
				return 0;
			}
			break;
		case BPF_ST:
		case BPF_STX:
		case BPF_ALU:
		case BPF_JMP:
		case BPF_RET:
		case BPF_MISC:
			break; /* registers and scratch memory only */
		default:
			return 0;
		}
	}
	bc->e = calloc(BPFC_ENTRIES, sizeof(*bc->e));
	if (!bc->e)
		return -ENOMEM;
	bc->last = bc->e; /* not valid yet: never matches */
	for (unsigned wi = 0; wi < BPFC_WORDS; wi++) {
		uint8_t mb[8];
		uint64_t m;

		for (unsigned b = 0; b < 8; b++)
			mb[b] = used[8 * wi + b] ? 0xff : 0;
		memcpy(&m, mb, 8); /* the word is loaded with memcpy too: any byte order */
		if (m) {
			bc->word[bc->nw] = (uint8_t)wi;
			bc->mask[bc->nw++] = m;
		}
	}
	bc->span = span;
	bc->direct = (span + 7) & ~7u;
	bc->use_len = use_len;
	bc->on = true;
	return 0;
}

void bpfc_free(struct bpfcache *bc)
{
	free(bc->e);
	bc->e = NULL;
	bc->on = false;
}
