#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The Linux kernel's NAT (nftables masquerade) measured on this machine, as
# the peer of `ncbench nat` (which runs this with --kernel-peer).
#
#   gen ns --veth--> nat ns (ip_forward, nft masquerade) --veth--> sink ns
#   trafgen on gen0        10.200.0.1/16 | 198.51.100.1/24       198.51.100.2/24
#
# The sink counts, at ingress of its veth, the UDP packets whose source is
# the masquerade address (so only translated packets count) and drops them
# there (no ICMP port unreachable, no socket).  Two measurements:
#   established: 1000 UDP flows (source ports 1024-2023) cycled for
#     --seconds; the rate is the translated packets counted over the middle
#     of the run (conntrack entries exist after the first thousand packets).
#   new flows: every packet a new 5-tuple (source and destination port
#     counting up together, periods 64512 and 64511), --new-packets of
#     them sent as fast as trafgen can; the rate is translated packets per
#     second of the run (each one a new conntrack entry + masquerade
#     binding).  Kept below nf_conntrack_max so that a full table does not
#     cut it short.
# trafgen (netsniff-ng) sends on one CPU; the kernel's forwarding and NAT run
# in softirq on the sending CPU, so this is one core's worth, on a shared
# machine: whole-system numbers, as LAB.md says.
#
# Output lines (parsed by ncbench):
#   kernel_established_pps=N
#   kernel_new_flows_per_s=N
#   skipped: REASON      (and exit 77) when not root or a tool is missing
# Usage: nat_kernel_peer.sh [--seconds S] [--new-packets N] [--cpu C]
set -u

SECONDS_RUN=5
NEW_PKTS=200000
CPU=0
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--new-packets) NEW_PKTS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	*) echo "usage: $0 [--seconds S] [--new-packets N] [--cpu C]" >&2; exit 2 ;;
	esac
done
# whole seconds for sleep/timeout (ncbench may pass 5.0)
SECONDS_RUN=$(printf '%.0f' "$SECONDS_RUN" 2>/dev/null || echo 5)
[ "$SECONDS_RUN" -ge 2 ] 2>/dev/null || SECONDS_RUN=2

skip() {
	echo "skipped: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "not root (needs network namespaces and nftables)"
for t in ip nft trafgen setsid taskset; do
	command -v $t > /dev/null 2>&1 || skip "$t not found (Debian: iproute2 nftables netsniff-ng coreutils)"
done

P=ncbk$$
GEN=$P-gen
NAT=$P-nat
SINK=$P-sink
TMP=$(mktemp -d) || exit 1
TG_PID=

# trafgen forks a worker per CPU: stop its whole process group (started
# with setsid; dash's kill takes -PGID but not "--"; background jobs of a
# script ignore SIGINT, so TERM, then KILL)
stop_trafgen() {
	[ -n "$TG_PID" ] || return 0
	kill -TERM "-$TG_PID" 2> /dev/null
	i=0
	while kill -0 "$TG_PID" 2> /dev/null && [ $i -lt 10 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "-$TG_PID" 2> /dev/null
	wait "$TG_PID" 2> /dev/null
	TG_PID=
}

cleanup() {
	rc=$?
	stop_trafgen
	ip netns del "$GEN" 2> /dev/null
	ip netns del "$NAT" 2> /dev/null
	ip netns del "$SINK" 2> /dev/null
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "skipped: set-up failed: $*"
	exit 77
}

ip netns add "$GEN" && ip netns add "$NAT" && ip netns add "$SINK" || fail "ip netns add"
ip -n "$GEN" link add gen0 type veth peer name nati0 netns "$NAT" || fail "veth gen0"
ip -n "$NAT" link add nato0 type veth peer name sink0 netns "$SINK" || fail "veth nato0"
for ns in "$GEN" "$NAT" "$SINK"; do
	ip -n "$ns" link set lo up
done
ip -n "$GEN" addr add 10.200.0.2/16 dev gen0
ip -n "$GEN" link set gen0 up
ip -n "$NAT" addr add 10.200.0.1/16 dev nati0
ip -n "$NAT" addr add 198.51.100.1/24 dev nato0
ip -n "$NAT" link set nati0 up
ip -n "$NAT" link set nato0 up
ip -n "$SINK" addr add 198.51.100.2/24 dev sink0
ip -n "$SINK" link set sink0 up
ip netns exec "$NAT" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward
	echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter
	echo 0 > /proc/sys/net/ipv4/conf/nati0/rp_filter' || fail "sysctl"
ip netns exec "$NAT" nft -f - << 'EOF' || fail "nft masquerade"
table ip ncbk {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "nato0" masquerade
	}
}
EOF
ip netns exec "$SINK" nft -f - << 'EOF' || fail "nft sink counter"
table netdev ncbk {
	counter xlated { }
	chain in {
		type filter hook ingress device "sink0" priority 0; policy accept;
		ip saddr 198.51.100.1 udp dport != 0 counter name "xlated" drop
	}
}
EOF
# the router's MAC for trafgen's frames; the sink's MAC learned by the router
NAT_MAC=$(ip netns exec "$NAT" cat /sys/class/net/nati0/address) || fail "MAC"
GEN_MAC=$(ip netns exec "$GEN" cat /sys/class/net/gen0/address) || fail "MAC"
ip netns exec "$NAT" ping -c 1 -W 2 198.51.100.2 > /dev/null 2>&1 || fail "router cannot reach the sink"

xlated() {
	ip netns exec "$SINK" nft list counter netdev ncbk xlated |
		awk '/packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'
}

now_ns() {
	date +%s%N
}

# established: 1000 flows
cat > "$TMP/est.cfg" << EOF
{ eth(da=$NAT_MAC, sa=$GEN_MAC, type=0x0800),
  ipv4(saddr=10.200.0.2, daddr=198.51.100.2, ttl=64),
  udp(sport=dinc(1024, 2023), dport=53),
  fill(0x41, 18) }
EOF
setsid ip netns exec "$GEN" taskset -c "$CPU" trafgen --dev gen0 --conf "$TMP/est.cfg" \
	--cpus 1 --num 0 --ring-size 1MiB -q > "$TMP/tg_est.log" 2>&1 &
TG_PID=$!
sleep 1 # conntrack entries made, warm
c0=$(xlated)
t0=$(now_ns)
sleep $((SECONDS_RUN - 1))
c1=$(xlated)
t1=$(now_ns)
stop_trafgen
if [ -z "$c0" ] || [ -z "$c1" ] || [ "$c1" -le "$c0" ]; then
	echo "established: no translated packets counted (trafgen: $(tail -2 "$TMP/tg_est.log" | tr '\n' ' '))"
	exit 1
fi
echo "established: $((c1 - c0)) translated packets in $(((t1 - t0) / 1000000)) ms, 1000 flows"
echo "kernel_established_pps=$(((c1 - c0) * 1000000000 / (t1 - t0)))"

# new flows: every packet a new 5-tuple; stay under the conntrack limit
ip netns exec "$NAT" sh -c 'echo 1 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout' 2> /dev/null
sleep 2 # let the established flows' entries go (timeout above, if allowed)
MAXCT=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2> /dev/null || echo 65536)
CT=$(ip netns exec "$NAT" cat /proc/sys/net/netfilter/nf_conntrack_count 2> /dev/null || echo 0)
if [ "$NEW_PKTS" -gt $(((MAXCT - CT) * 9 / 10)) ]; then
	NEW_PKTS=$(((MAXCT - CT) * 9 / 10))
fi
cat > "$TMP/new.cfg" << EOF
{ eth(da=$NAT_MAC, sa=$GEN_MAC, type=0x0800),
  ipv4(saddr=10.200.0.2, daddr=198.51.100.2, ttl=64),
  udp(sport=dinc(1024, 65535), dport=dinc(1025, 65535)),
  fill(0x41, 18) }
EOF
c0=$(xlated)
t0=$(now_ns)
setsid ip netns exec "$GEN" taskset -c "$CPU" trafgen --dev gen0 --conf "$TMP/new.cfg" \
	--cpus 1 --num "$NEW_PKTS" --ring-size 1MiB -q > "$TMP/tg_new.log" 2>&1 &
TG_PID=$!
(sleep 60; kill -KILL "-$TG_PID" 2> /dev/null) & # a watchdog: at most 60 s
WD_PID=$!
wait "$TG_PID" 2> /dev/null
kill "$WD_PID" 2> /dev/null
TG_PID=
t1=$(now_ns)
sleep 0.2
c1=$(xlated)
if [ -z "$c1" ] || [ "$c1" -le "$c0" ]; then
	echo "new flows: no translated packets counted"
	exit 1
fi
echo "new flows: $((c1 - c0)) of $NEW_PKTS new 5-tuples translated in $(((t1 - t0) / 1000000)) ms" \
	"(conntrack max $MAXCT)"
echo "kernel_new_flows_per_s=$(((c1 - c0) * 1000000000 / (t1 - t0)))"
exit 0
