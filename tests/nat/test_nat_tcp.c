/* SPDX-License-Identifier: BSD-3-Clause */
/* nat_tcp: the RFC 5382 state table, path by path. */
#include <criterion/criterion.h>

#include "nat_tcp.h"

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04

static uint8_t run(uint8_t st, const enum nat_dir *d, const uint8_t *f, int n)
{
	int i;

	for (i = 0; i < n && st != NAT_TCP_INVALID; i++)
		st = nat_tcp_transition(st, d[i], f[i]);
	return st;
}

#define I NAT_DIR_IN2OUT
#define O NAT_DIR_OUT2IN

Test(nat_tcp, bad_arguments)
{
	cr_assert_eq(nat_tcp_transition(NAT_TCP_STATE_COUNT, I, SYN), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, (enum nat_dir)2, SYN), NAT_TCP_INVALID);
	cr_assert_str_eq(nat_tcp_state_name(200), "invalid");
	cr_assert_str_eq(nat_tcp_state_name(NAT_TCP_ESTABLISHED), "established");
}

Test(nat_tcp, flag_classes)
{
	cr_assert_eq(nat_tcp_flag_class(SYN), NAT_TF_SYN);
	cr_assert_eq(nat_tcp_flag_class(SYN | ACK), NAT_TF_SYNACK);
	cr_assert_eq(nat_tcp_flag_class(FIN | ACK), NAT_TF_FIN);
	cr_assert_eq(nat_tcp_flag_class(RST | ACK), NAT_TF_RST);
	cr_assert_eq(nat_tcp_flag_class(SYN | RST), NAT_TF_RST);
	cr_assert_eq(nat_tcp_flag_class(ACK), NAT_TF_ACK);
	cr_assert_eq(nat_tcp_flag_class(0x18), NAT_TF_ACK);
}

Test(nat_tcp, three_way_handshake_and_close)
{
	const enum nat_dir d[] = {I, O, I, I, O, O, I, O};
	const uint8_t f[] = {SYN, SYN | ACK, ACK, 0x18, 0x18, FIN | ACK, FIN | ACK, ACK};
	uint8_t st = NAT_TCP_CLOSED;

	st = run(st, d, f, 2);
	cr_assert_eq(st, NAT_TCP_SYN_ACKED);
	st = run(st, d + 2, f + 2, 1);
	cr_assert_eq(st, NAT_TCP_ESTABLISHED);
	st = run(st, d + 3, f + 3, 2);
	cr_assert_eq(st, NAT_TCP_ESTABLISHED);
	st = run(st, d + 5, f + 5, 1);
	cr_assert_eq(st, NAT_TCP_FIN_OUT);
	st = run(st, d + 6, f + 6, 1);
	cr_assert_eq(st, NAT_TCP_CLOSING);
	st = run(st, d + 7, f + 7, 1);
	cr_assert_eq(st, NAT_TCP_CLOSING);
	/* the port can be reused by a new SYN from inside */
	cr_assert_eq(nat_tcp_transition(st, I, SYN), NAT_TCP_SYN_OUT);
}

Test(nat_tcp, simultaneous_open)
{
	const enum nat_dir d[] = {I, O, I, O, I};
	const uint8_t f[] = {SYN, SYN, SYN | ACK, SYN | ACK, ACK};

	cr_assert_eq(run(NAT_TCP_CLOSED, d, f, 2), NAT_TCP_SIM_OPEN);
	cr_assert_eq(run(NAT_TCP_CLOSED, d, f, 3), NAT_TCP_SYN_ACKED);
	cr_assert_eq(run(NAT_TCP_CLOSED, d, f, 5), NAT_TCP_ESTABLISHED);
}

Test(nat_tcp, rst_everywhere)
{
	uint8_t st;

	for (st = NAT_TCP_SYN_OUT; st < NAT_TCP_STATE_COUNT; st++) {
		cr_assert_eq(nat_tcp_transition(st, I, RST), NAT_TCP_RESET, "%s", nat_tcp_state_name(st));
		cr_assert_eq(nat_tcp_transition(st, O, RST | ACK), NAT_TCP_RESET);
	}
	cr_assert_eq(nat_tcp_transition(NAT_TCP_RESET, I, SYN), NAT_TCP_SYN_OUT);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_RESET, O, SYN), NAT_TCP_INVALID);
}

Test(nat_tcp, no_state_without_syn)
{
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, I, ACK), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, I, FIN), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, I, RST), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, I, SYN | ACK), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, O, ACK), NAT_TCP_INVALID);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_ESTABLISHED, I, SYN), NAT_TCP_INVALID);
	/* an outside SYN to a DNAT session, answered from inside */
	cr_assert_eq(nat_tcp_transition(NAT_TCP_CLOSED, O, SYN), NAT_TCP_SYN_IN);
	cr_assert_eq(nat_tcp_transition(NAT_TCP_SYN_IN, I, SYN | ACK), NAT_TCP_SYN_ACKED);
}

Test(nat_tcp, timeouts)
{
	uint8_t st;

	for (st = 0; st < NAT_TCP_STATE_COUNT; st++)
		cr_assert_eq(nat_tcp_timeout(st, 7440, 240),
			     st == NAT_TCP_ESTABLISHED ? 7440u : 240u);
}

Test(nat_tcp, table_closed_under_transitions)
{
	uint8_t st;
	int d, f;

	/* every entry is a state or INVALID */
	for (st = 0; st < NAT_TCP_STATE_COUNT; st++)
		for (d = 0; d < NAT_DIR_COUNT; d++)
			for (f = 0; f < NAT_TF_COUNT; f++) {
				uint8_t n = nat_tcp_next[st][d][f];

				cr_assert(n < NAT_TCP_STATE_COUNT || n == NAT_TCP_INVALID);
			}
}
