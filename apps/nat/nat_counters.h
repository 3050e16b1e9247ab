/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCNAT_NAT_COUNTERS_H
#define NCNAT_NAT_COUNTERS_H

/*
 * ncnat counters — one list, the enum and the names come from it
 * ==============================================================
 *
 * Every per-packet outcome of the NAT that is not "translated and sent" is a
 * counter, never an error return (STYLE.md).  NAT_COUNTER_LIST(X) expands
 * X(NAME, "name", "description") once per counter; the enum
 * (NAT_CNT_NAME), the short names used by the CLI/telemetry and the texts
 * are generated from it, so a counter can never lack a name.
 *
 * Counters are nested by convention in the name: "in2out_*" and "out2in_*"
 * are per direction (_pkts all, then per protocol), "drop_*" are drop reasons (each dropped packet bumps
 * exactly one drop_* counter), the rest are events (sessions, ports, logs).
 *
 * Storage: struct nat_counters is a plain array of uint64_t owned by one
 * worker (no atomics); a reader sums the workers' copies.
 */

#include <stdint.h>

#define NAT_COUNTER_LIST(X)                                                              \
	X(IN2OUT_PKTS, "in2out_pkts", "packets translated inside -> outside")             \
	X(OUT2IN_PKTS, "out2in_pkts", "packets translated outside -> inside")             \
	X(IN2OUT_TCP, "in2out_tcp", "TCP packets translated inside -> outside")         \
	X(IN2OUT_UDP, "in2out_udp", "UDP packets translated inside -> outside")         \
	X(IN2OUT_ICMP, "in2out_icmp", "ICMP queries translated inside -> outside")      \
	X(OUT2IN_TCP, "out2in_tcp", "TCP packets translated outside -> inside")         \
	X(OUT2IN_UDP, "out2in_udp", "UDP packets translated outside -> inside")         \
	X(OUT2IN_ICMP, "out2in_icmp", "ICMP queries translated outside -> inside")      \
	X(HAIRPIN_PKTS, "hairpin_pkts", "packets hairpinned inside -> inside")            \
	X(BYPASS_PKTS, "bypass_pkts", "packets forwarded untranslated (bypass rule)")     \
	X(FRAGMENTS, "fragments", "later IPv4 fragments following their first one")      \
	X(IN2OUT_ICMP_ERR, "in2out_icmp_err", "ICMP errors translated inside -> outside") \
	X(OUT2IN_ICMP_ERR, "out2in_icmp_err", "ICMP errors translated outside -> inside") \
	X(ICMP_UNREACH_SENT, "icmp_unreach_sent", "ICMP host unreachable sent on exhaustion") \
	X(ICMP_TIME_EXCEEDED_SENT, "icmp_time_exceeded_sent",                              \
	  "ICMP time exceeded sent for TTL-expired packets")                              \
	X(ARP_REPLIES, "arp_replies", "ARP requests answered")                            \
	X(ARP_REQUESTS, "arp_requests", "ARP requests sent for unknown next hops")       \
	X(SESSIONS_CREATED, "sessions_created", "sessions created")                       \
	X(SESSIONS_EXPIRED, "sessions_expired", "sessions removed by idle expiry")        \
	X(MAPPINGS_CREATED, "mappings_created", "dynamic mappings created")               \
	X(MAPPINGS_FREED, "mappings_freed", "dynamic mappings freed")                     \
	X(DROP_PARSE, "drop_parse", "dropped: packet did not parse")                     \
	X(DROP_NOT_IPV4, "drop_not_ipv4", "dropped: not IPv4")                           \
	X(DROP_FRAGMENT, "drop_fragment", "dropped: fragment before its first one")       \
	X(DROP_PROTO, "drop_proto", "dropped: protocol not translated")                 \
	X(DROP_TTL, "drop_ttl", "dropped: TTL expired")                                  \
	X(DROP_RULE, "drop_rule", "dropped: matched a drop rule")                        \
	X(DROP_NO_RULE, "drop_no_rule", "dropped: inside packet matched no rule")        \
	X(DROP_NO_SESSION, "drop_no_session", "dropped: outside packet with no mapping")  \
	X(DROP_FILTERED, "drop_filtered", "dropped: refused by the filtering mode")      \
	X(DROP_TCP_NO_SYN, "drop_tcp_no_syn", "dropped: TCP non-SYN without a session")  \
	X(DROP_TCP_UNSOLICITED_SYN, "drop_tcp_unsolicited_syn",                          \
	  "dropped: unsolicited inbound TCP SYN")                                         \
	X(DROP_TCP_STATE, "drop_tcp_state", "dropped: TCP flags invalid in this state")  \
	X(DROP_ICMP_TYPE, "drop_icmp_type", "dropped: ICMP type not translated")         \
	X(DROP_ICMP_ERR_NO_SESSION, "drop_icmp_err_no_session",                          \
	  "dropped: ICMP error about no known mapping")                                   \
	X(DROP_ICMP_ERR_BAD_INNER, "drop_icmp_err_bad_inner",                            \
	  "dropped: ICMP error with an unusable embedded packet")                         \
	X(DROP_PORTS_EXHAUSTED, "drop_ports_exhausted", "dropped: no free external port") \
	X(DROP_QUOTA, "drop_quota", "dropped: subscriber port quota reached")            \
	X(DROP_SESSIONS_FULL, "drop_sessions_full", "dropped: session table full")       \
	X(DROP_HAIRPIN, "drop_hairpin", "dropped: hairpin target has no mapping")        \
	X(DROP_NO_NEIGH, "drop_no_neigh", "dropped: next-hop MAC unknown")             \
	X(DROP_TO_SELF, "drop_to_self", "dropped: IP packet for the NAT itself")         \
	X(DROP_NOT_FOR_US, "drop_not_for_us", "dropped: outside packet not to our addresses") \
	X(DROP_ARP, "drop_arp", "dropped: ARP not for us (learned from)")              \
	X(DROP_TX, "drop_tx", "dropped: transmit queue full")                            \
	X(HAIRPIN_HANDOFF, "hairpin_handoff",                                            \
	  "hairpinned packets passed to the worker that owns their destination")

enum nat_counter {
#define NAT_CNT_X_ENUM(name, s, t) NAT_CNT_##name,
	NAT_COUNTER_LIST(NAT_CNT_X_ENUM)
#undef NAT_CNT_X_ENUM
	NAT_CNT_COUNT
};

struct nat_counters {
	uint64_t v[NAT_CNT_COUNT];
};

/** Short name ("drop_quota"); "unknown" out of range.  Static storage. */
static inline const char *nat_counter_name(int c)
{
	static const char *const names[] = {
#define NAT_CNT_X_NAME(name, s, t) s,
		NAT_COUNTER_LIST(NAT_CNT_X_NAME)
#undef NAT_CNT_X_NAME
	};
	return c >= 0 && c < NAT_CNT_COUNT ? names[c] : "unknown";
}

/** Description text; "unknown counter" out of range.  Static storage. */
static inline const char *nat_counter_text(int c)
{
	static const char *const texts[] = {
#define NAT_CNT_X_TEXT(name, s, t) t,
		NAT_COUNTER_LIST(NAT_CNT_X_TEXT)
#undef NAT_CNT_X_TEXT
	};
	return c >= 0 && c < NAT_CNT_COUNT ? texts[c] : "unknown counter";
}

static inline void nat_count(struct nat_counters *c, enum nat_counter which)
{
	c->v[which]++;
}

#endif /* NCNAT_NAT_COUNTERS_H */
