/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_TCP_H
#define NCNAT_NAT_TCP_H

/*
 * ncnat TCP state tracking (RFC 5382) — one table [state][direction][flag]
 * =======================================================================
 *
 * A NAT session tracks just enough of a TCP connection to pick its idle
 * timeout: "established" (at least 2 h 4 min) or "transitory" (at least
 * 4 min: opening, closing, reset).  It does not check sequence numbers.
 *
 * The packet's flags are reduced to one class (nat_tcp_flag_class):
 *   RST if RST is set; else SYN (SYN without ACK); SYNACK; FIN (FIN set);
 *   else ACK (anything else, data included).
 * Directions: NAT_DIR_IN2OUT (from the inside), NAT_DIR_OUT2IN.
 *
 * States and the transitions the table encodes:
 *   CLOSED       no connection yet (a new session) or after a reset
 *   SYN_OUT      inside sent SYN                 (CLOSED + in2out SYN)
 *   SYN_IN       outside sent SYN                (CLOSED + out2in SYN: only for a
 *                static DNAT session; an unsolicited inbound SYN never
 *                creates a session — the caller enforces that)
 *   SIM_OPEN     both sent SYN (simultaneous open, RFC 5382 REQ-2)
 *   SYN_ACKED    the SYN was answered with SYN+ACK (or both sides sent
 *                SYN+ACK after a simultaneous open)
 *   ESTABLISHED  an ACK after SYN_ACKED
 *   FIN_IN / FIN_OUT   one side sent FIN (inside / outside)
 *   CLOSING      both sides sent FIN
 *   RESET        an RST was seen (in any state); a new SYN from the side
 *                allowed to open reopens (as from CLOSED)
 * Only ESTABLISHED uses the established timeout; every other state the
 * transitory one.  NAT_TCP_INVALID in the table means "the packet does not
 * fit this state": the caller drops it (drop_tcp_state) and the state and
 * timer stay unchanged.  CLOSED + in2out non-SYN is invalid: a session is
 * only created by a SYN from the inside (or from outside to a DNAT).
 *
 * Thread safety: pure functions and a const table; any thread.
 */

#include <stdint.h>

enum nat_dir { NAT_DIR_IN2OUT = 0, NAT_DIR_OUT2IN = 1, NAT_DIR_COUNT };

enum nat_tcp_state {
	NAT_TCP_CLOSED = 0,
	NAT_TCP_SYN_OUT,
	NAT_TCP_SYN_IN,
	NAT_TCP_SIM_OPEN,
	NAT_TCP_SYN_ACKED,
	NAT_TCP_ESTABLISHED,
	NAT_TCP_FIN_IN,
	NAT_TCP_FIN_OUT,
	NAT_TCP_CLOSING,
	NAT_TCP_RESET,
	NAT_TCP_STATE_COUNT,
	NAT_TCP_INVALID = 0xff,
};

enum nat_tcp_flag {
	NAT_TF_SYN = 0,
	NAT_TF_SYNACK,
	NAT_TF_FIN,
	NAT_TF_RST,
	NAT_TF_ACK,
	NAT_TF_COUNT
};

/** The table itself: next state, or NAT_TCP_INVALID. */
extern const uint8_t nat_tcp_next[NAT_TCP_STATE_COUNT][NAT_DIR_COUNT][NAT_TF_COUNT];

/** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) -> class. */
static inline enum nat_tcp_flag nat_tcp_flag_class(uint8_t flags)
{
	if (flags & 0x04)
		return NAT_TF_RST;
	if (flags & 0x02)
		return (flags & 0x10) ? NAT_TF_SYNACK : NAT_TF_SYN;
	if (flags & 0x01)
		return NAT_TF_FIN;
	return NAT_TF_ACK;
}

/**
 * Next state for a packet with TCP flags `flags` in direction dir;
 * NAT_TCP_INVALID if it does not fit (also for out-of-range arguments).
 */
static inline uint8_t nat_tcp_transition(uint8_t state, enum nat_dir dir, uint8_t flags)
{
	if (state >= NAT_TCP_STATE_COUNT || (unsigned)dir >= NAT_DIR_COUNT)
		return NAT_TCP_INVALID;
	return nat_tcp_next[state][dir][nat_tcp_flag_class(flags)];
}

/** Idle timeout of a state: est for ESTABLISHED, trans for the others. */
static inline uint32_t nat_tcp_timeout(uint8_t state, uint32_t est, uint32_t trans)
{
	return state == NAT_TCP_ESTABLISHED ? est : trans;
}

/** "established", "syn_out"...; "invalid" for others. */
const char *nat_tcp_state_name(uint8_t state);

#endif /* NCNAT_NAT_TCP_H */
