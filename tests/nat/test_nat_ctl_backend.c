/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl_backend: the control commands on a real pipeline — the views
 * match what the packets did, and rule / static / timeout changes made
 * through the control server change what the next packets get, or, when
 * refused, change nothing.
 */
#include "ctl_backend_test.h"

NAT_TEST_EAL_SUITE(nat_ctl_backend);

Test(nat_ctl_backend, views_follow_the_packets)
{
	struct env e;
	uint8_t b[256];
	struct nat_stats_view sv;
	char *out, *p;
	int i;

	env_init(&e);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 6, IN2, R2, 5000, 80, 0x02, b), NAT_TX_OUTSIDE);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 1, IN1, R1, 77, 0, 8, b), NAT_TX_OUTSIDE);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IP4(10, 0, 0, 66), R1, 1, 2, 0, b), NAT_DROP);

	cr_assert_eq(e.be.stats(e.be.ctx, &sv), 0);
	for (i = 0; i < NAT_CNT_COUNT; i++)
		cr_assert_eq(sv.counters[i], cnt(&e, i), "%s", nat_counter_name(i));
	cr_assert_eq(sv.sessions, 3);
	cr_assert_eq(sv.sessions_tcp, 1);
	cr_assert_eq(sv.sessions_udp, 1);
	cr_assert_eq(sv.sessions_icmp, 1);
	cr_assert_eq(sv.mappings, 4); /* three dynamic, the dnat */
	cr_assert_eq(sv.port[0].rx, 0);

	out = exec_ok(&e, "show sessions");
	cr_assert(strstr(out, "udp   10.0.0.5:4000         198.51.100.1:4000     192.0.2.1:53          -"),
		  "%s", out);
	cr_assert(strstr(out, "tcp   10.0.0.6:5000         198.51.100.1:5000     192.0.2.2:80          syn_out"),
		  "%s", out);
	cr_assert(strstr(out, "icmp  10.0.0.5:77           198.51.100.1:77       192.0.2.1:0"), "%s", out);
	cr_assert(strstr(out, "3 sessions shown, 3 in the table\nok\n"), "%s", out);
	free(out);
	out = exec_ok(&e, "show sessions proto tcp state syn_out json");
	p = strndup(out, strlen(out) - 3);
	cr_assert(json_valid(p), "%s", p);
	cr_assert(strstr(p, "\"timeout\":240,") && strstr(p, "\"shown\":1,"), "%s", p);
	free(p);
	free(out);
	out = exec_ok(&e, "show mappings static");
	cr_assert(strstr(out, "tcp   10.0.0.80:80          203.0.113.1:8080             0        0 static,masq\n"),
		  "%s", out);
	free(out);
	out = exec_ok(&e, "show stats json");
	p = strndup(out, strlen(out) - 3);
	cr_assert(json_valid(p), "%s", p);
	cr_assert(strstr(p, "\"in2out\":{\"pkts\":3,\"tcp\":1,\"udp\":1,\"icmp\":1,"), "%s", p);
	cr_assert(strstr(p, "\"rule\":1,"), "%s", p);
	free(p);
	free(out);
	nat_pipeline_free(e.p);
}

Test(nat_ctl_backend, rules_change_what_packets_get)
{
	struct env e;
	uint8_t b[256];
	char *out;

	env_init(&e);
	out = exec_ok(&e, "add rule at 1 drop src 10.0.0.5 proto udp");
	cr_assert_str_eq(out, "rule 1: drop src 10.0.0.5 proto udp\nok\n");
	free(out);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_DROP);
	cr_assert_eq(cnt(&e, NAT_CNT_DROP_RULE), 1);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN2, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	/* rules decide for packets without a session: IN2's session lives on */
	free(exec_ok(&e, "add rule at 1 drop src 10.0.0.6"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN2, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN2, R2, 4000, 53, 0, b), NAT_DROP);
	cr_assert_eq(cnt(&e, NAT_CNT_DROP_RULE), 2);
	free(exec_ok(&e, "delete rule 1"));
	/* the first matching rule wins: a bypass in front of the drop */
	free(exec_ok(&e, "add rule at 1 bypass src 10.0.0.5 dst 192.0.2.1"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	cr_assert_eq(src_of(b), IN1);
	cr_assert_eq(cnt(&e, NAT_CNT_BYPASS_PKTS), 1);
	out = exec_ok(&e, "show rules");
	cr_assert_str_eq(out, "1 bypass src 10.0.0.5 dst 192.0.2.1\n"
			      "2 drop src 10.0.0.5 proto udp\n"
			      "3 drop src 10.0.0.66\n"
			      "4 snat src 10.0.0.0/25\n"
			      "5 dnat dst 203.0.113.1 proto tcp dport 8080 to 10.0.0.80:80\n"
			      "ok\n");
	free(out);
	free(exec_ok(&e, "delete rule 1"));
	free(exec_ok(&e, "delete rule 1"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	cr_assert_eq(src_of(b), POOL);
	/* the first masquerade rule at run time: the outside address */
	free(exec_ok(&e, "add rule at 2 masquerade src 10.0.0.7"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN7, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	cr_assert_eq(src_of(b), OUTA);
	/* ... its port space does not hand out the dnat's port */
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 6, IN7, R1, 8080, 80, 0x02, b), NAT_TX_OUTSIDE);
	cr_assert_eq(src_of(b), OUTA);
	cr_assert_neq(((uint16_t)b[34] << 8 | b[35]), 8080);
	/* deleting every rule: nothing matches */
	while (nat_pipeline_config(e.p)->n_rules)
		free(exec_ok(&e, "delete rule 1"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN2, R2, 4001, 53, 0, b), NAT_DROP);
	cr_assert_eq(cnt(&e, NAT_CNT_DROP_NO_RULE), 1);
	free(exec_ok(&e, "add rule snat"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN2, R2, 4001, 53, 0, b), NAT_TX_OUTSIDE);
	nat_pipeline_free(e.p);
}

Test(nat_ctl_backend, static_mappings)
{
	struct env e;
	uint8_t b[256];
	char *out, *before;

	env_init(&e);
	/* the server must be known inside (its MAC) for frames to reach it */
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 1, SRV53, R1, 9, 0, 8, b), NAT_TX_OUTSIDE);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0, b), NAT_DROP);
	cr_assert_eq(cnt(&e, NAT_CNT_DROP_NO_SESSION), 1);
	out = exec_ok(&e, "add static dst 198.51.100.1 proto udp dport 5353 to 10.0.0.53");
	cr_assert_str_eq(out, "rule 4: dnat dst 198.51.100.1 proto udp dport 5353 to 10.0.0.53:5353\nok\n");
	free(out);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0, b), NAT_TX_INSIDE);
	cr_assert_eq(dst_of(b), SRV53);
	out = exec_ok(&e, "show mappings static");
	cr_assert(strstr(out, "udp   10.0.0.53:5353        198.51.100.1:5353            1"), "%s", out);
	cr_assert(strstr(out, "2 mappings shown"), "%s", out);
	free(out);
	/* endpoints in use by a dynamic mapping: refused, nothing changed */
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	before = exec_ok(&e, "show rules");
	out = exec_err(&e, "add static dst 198.51.100.1 proto udp dport 4000 to 10.0.0.9");
	cr_assert_str_eq(out, "error: 198.51.100.1:4000 is in use by the mapping of 10.0.0.5:4000\n");
	free(out);
	out = exec_err(&e, "add static dst 198.51.100.1 proto udp dport 4444 to 10.0.0.5:4000");
	cr_assert_str_eq(out, "error: target 10.0.0.5:4000 has a mapping (to 198.51.100.1:4000)\n");
	free(out);
	out = exec_ok(&e, "show rules");
	cr_assert_str_eq(out, before);
	free(out);
	free(before);
	/* deleted: its mapping and sessions go, the traffic stops */
	free(exec_ok(&e, "delete static 4"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0, b), NAT_DROP);
	cr_assert_eq(cnt(&e, NAT_CNT_DROP_NO_SESSION), 2);
	/* and can come back (its port stayed reserved) */
	free(exec_ok(&e, "add static dst 198.51.100.1 proto udp dport 5353 to 10.0.0.53"));
	cr_assert_eq(send_pkt(&e, NAT_SIDE_OUTSIDE, 17, R1, POOL, 999, 5353, 0, b), NAT_TX_INSIDE);
	nat_pipeline_free(e.p);
}

Test(nat_ctl_backend, timeouts)
{
	struct env e;
	uint8_t b[256];
	char *out;

	env_init(&e);
	free(exec_ok(&e, "set timeout udp 600"));
	out = exec_err(&e, "set timeout udp 100");
	cr_assert_str_eq(out, "error: timeout udp 100 is below the RFC 4787 minimum of 120 seconds\n");
	free(out);
	cr_assert_eq(nat_pipeline_config(e.p)->timeout_udp, 600);
	cr_assert_eq(send_pkt(&e, NAT_SIDE_INSIDE, 17, IN1, R1, 4000, 53, 0, b), NAT_TX_OUTSIDE);
	out = exec_ok(&e, "show sessions proto udp json");
	cr_assert(strstr(out, "\"timeout\":600,"), "%s", out);
	free(out);
	out = exec_ok(&e, "show timeouts");
	cr_assert_str_eq(out, "timeout udp 600\ntimeout tcp-established 7440\n"
			      "timeout tcp-transitory 240\ntimeout icmp 60\nok\n");
	free(out);
	/* the session outlives the old 300 s but not the new 600 s */
	cr_assert_eq(nat_pipeline_expire(e.p, e.now + 400, 1u << 20), 0);
	cr_assert_eq(nat_pipeline_expire(e.p, e.now + 601, 1u << 20), 1);
	nat_pipeline_free(e.p);
}
