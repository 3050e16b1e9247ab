/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 5382 state table; the states are explained in nat_tcp.h. */
#include "nat_tcp.h"

#define X NAT_TCP_INVALID
#define CL NAT_TCP_CLOSED
#define SO NAT_TCP_SYN_OUT
#define SI NAT_TCP_SYN_IN
#define SM NAT_TCP_SIM_OPEN
#define SA NAT_TCP_SYN_ACKED
#define ES NAT_TCP_ESTABLISHED
#define FI NAT_TCP_FIN_IN
#define FO NAT_TCP_FIN_OUT
#define CG NAT_TCP_CLOSING
#define RS NAT_TCP_RESET

/*            {SYN, SYNACK, FIN, RST, ACK}  per direction {in2out, out2in} */
const uint8_t nat_tcp_next[NAT_TCP_STATE_COUNT][NAT_DIR_COUNT][NAT_TF_COUNT] = {
	[NAT_TCP_CLOSED] = {
		{SO, X, X, X, X},  /* in2out: only a SYN opens */
		{SI, X, X, X, X},  /* out2in: DNAT sessions only (caller) */
	},
	[NAT_TCP_SYN_OUT] = {
		{SO, X, X, RS, X},  /* SYN retransmitted */
		{SM, SA, X, RS, X}, /* SYN: simultaneous open; SYN+ACK: answered */
	},
	[NAT_TCP_SYN_IN] = {
		{SM, SA, X, RS, X},
		{SI, X, X, RS, X},
	},
	[NAT_TCP_SIM_OPEN] = {
		{SM, SA, X, RS, SM},
		{SM, SA, X, RS, SM},
	},
	[NAT_TCP_SYN_ACKED] = {
		{SA, SA, FI, RS, ES}, /* the final ACK of the handshake */
		{SA, SA, FO, RS, ES},
	},
	[NAT_TCP_ESTABLISHED] = {
		{X, ES, FI, RS, ES},  /* a SYN inside a live connection is invalid */
		{X, ES, FO, RS, ES},
	},
	[NAT_TCP_FIN_IN] = {
		{X, X, FI, RS, FI},
		{X, X, CG, RS, FI},
	},
	[NAT_TCP_FIN_OUT] = {
		{X, X, CG, RS, FO},
		{X, X, FO, RS, FO},
	},
	[NAT_TCP_CLOSING] = {
		{SO, X, CG, RS, CG}, /* a new SYN from inside reuses the mapping */
		{X, X, CG, RS, CG},
	},
	[NAT_TCP_RESET] = {
		{SO, X, X, RS, RS},
		{X, X, X, RS, RS},
	},
};

const char *nat_tcp_state_name(uint8_t state)
{
	static const char *const names[NAT_TCP_STATE_COUNT] = {
		"closed", "syn_out", "syn_in", "sim_open", "syn_acked",
		"established", "fin_in", "fin_out", "closing", "reset",
	};
	return state < NAT_TCP_STATE_COUNT ? names[state] : "invalid";
}
