# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The ncnat namespace lab, sourced by scripts/demo.sh and tests/nat/e2e/run.sh.
#
#   [nin: 10.0.0.2 client, 10.0.0.80 server, 10.0.0.130 client (masquerade)]
#        eth0 --veth-- ncI<id> (af_packet)  ncnat  (af_packet) ncO<id> --veth-- eth0
#                                           [nout: 203.0.113.2 servers]
#
# ncnat owns 10.0.0.1 (inside gateway), 203.0.113.1 (outside address) and the
# pool 203.0.113.100-103 (answered in ARP on the outside link, so nout needs
# no route).  Everything is named after an id ($$ of the caller by default),
# so parallel labs never collide: namespaces ncin<id>/ncout<id>, root-side
# veths ncI<id>/ncO<id> (<= 15 chars), nftables table netdev nclab<id>, EAL
# file prefix nclab<id>.  LAB.md's gotchas are applied: no checksum offload
# in the namespaces, the root-side veth ends keep nothing for the root
# stack (nftables ingress drop; af_packet sees the frames before the hook),
# no IPv6 on the lab links, NAT MACs differ from the hosts'.
#
# Limit: IPv4 fragments never reach ncnat as fragments here.  DPDK 22.11's
# af_packet PMD joins a PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG,
# so the kernel reassembles them first; a datagram larger than the ring
# frame (2048) arrives truncated and ncnat counts drop_parse.  Fragments
# are covered by the golden pcaps (net_pcap), not by this lab.
#
# Functions (all return non-zero on failure, with a message on stderr):
#   nl_init [ID]             names and a work directory ($NL_DIR)
#   nl_up                    namespaces, veths, addresses, nftables
#   nl_down                  kill what nl_bg/nl_ncnat_start started, delete
#                            the nftables table and the namespaces (idempotent)
#   nl_conf FILE             the default NAT config for this lab
#   nl_in CMD... / nl_out CMD...   run in the inside / outside namespace
#   nl_bg NAME NS CMD...     background process (NS: in, out or root); output
#                            in $NL_DIR/NAME.log; nl_stop NAME ends it
#   nl_ncnat_start NCNAT CONF [NCNATCTL]   start ncnat (--ctl on our own
#                            socket when it takes it), wait until it answers
#                            ARP on both sides; NL_CTL=NCNATCTL if usable
#                            (NL_WORKERS=N: N workers on the N highest
#                            lcores, af_packet qpairs=N)
#   nl_ncnat_stop            SIGTERM, wait; exit counters in $NL_NCNAT_ERR
#   nl_stats FILE            counters now (ncnatctl) as "name value" lines;
#                            1 without a control socket
#   nl_wait_port NS PROTO ADDR PORT   wait until something listens there

NL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NL_PY=/usr/bin/python3
NL_TOOL=$NL_ROOT/tests/nat/e2e/labtool.py

NL_GW_IN=10.0.0.1 NL_CLIENT=10.0.0.2 NL_SERVER=10.0.0.80 NL_MASQ_CLIENT=10.0.0.130
NL_OUT_ADDR=203.0.113.1 NL_HOST_OUT=203.0.113.2
NL_POOL_LO=203.0.113.100 NL_POOL_HI=203.0.113.103
NL_FWD_PORT=8080 NL_NAT_MAC_IN=02:00:00:00:01:01 NL_NAT_MAC_OUT=02:00:00:00:02:01

declare -A NL_BGPID=()

nl_log() { printf '%s\n' "$*" >&2; }

nl_init() {
	NL_ID=${1:-$$}
	NL_NS_IN=ncin$NL_ID NL_NS_OUT=ncout$NL_ID
	NL_IF_IN=ncI$NL_ID NL_IF_OUT=ncO$NL_ID
	NL_NFT=nclab$NL_ID NL_PREFIX=nclab$NL_ID
	NL_DIR=${NL_DIR:-$(mktemp -d "/tmp/nclab$NL_ID.XXXXXX")}
	NL_NCNAT_PID="" NL_NCNAT_ERR=$NL_DIR/ncnat.err NL_NAT_LOG=$NL_DIR/nat.log
	NL_CTL="" NL_CTL_SOCK="" NL_NCNAT_RUNS=0
	# the polling lcore: the last CPU we may run on (the other one stays
	# for the hosts, LAB.md gotcha 5)
	NL_LCORE=${NL_LCORE:-$($NL_PY -c 'import os; print(max(os.sched_getaffinity(0)))')}
}

nl_in() { ip netns exec "$NL_NS_IN" "$@"; }
nl_out() { ip netns exec "$NL_NS_OUT" "$@"; }

# One side: namespace NS with eth0 (peer of the root-side RIF), address ADDRS...
_nl_side() {
	local ns=$1 rif=$2 first=$3
	shift 3
	ip netns add "$ns" || return 1
	ip link add "$rif" type veth peer name "${rif}p" || return 1
	ip link set "${rif}p" netns "$ns" || return 1
	ip -n "$ns" link set "${rif}p" name eth0 || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	sysctl -qw "net.ipv6.conf.$rif.disable_ipv6=1" >/dev/null
	ip -n "$ns" addr add "$first" dev eth0 || return 1
	local a
	for a in "$@"; do ip -n "$ns" addr add "$a" dev eth0 || return 1; done
	# gotcha 1: veth TX checksum offload leaves partial checksums
	ip netns exec "$ns" ethtool -K eth0 tx off tso off gso off >/dev/null 2>&1 || return 1
	ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up && ip link set "$rif" up
}

nl_up() {
	_nl_side "$NL_NS_IN" "$NL_IF_IN" "$NL_CLIENT/24" "$NL_SERVER/24" "$NL_MASQ_CLIENT/24" ||
		{ nl_log "nat_lab: cannot build the inside namespace"; return 1; }
	ip -n "$NL_NS_IN" route add default via "$NL_GW_IN" ||
		{ nl_log "nat_lab: inside default route"; return 1; }
	_nl_side "$NL_NS_OUT" "$NL_IF_OUT" "$NL_HOST_OUT/24" ||
		{ nl_log "nat_lab: cannot build the outside namespace"; return 1; }
	# gotcha 2: the root stack must not see (and answer) lab traffic
	nft -f - <<-EOF || { nl_log "nat_lab: nftables netdev table failed"; return 1; }
	table netdev $NL_NFT {
		chain in_inside { type filter hook ingress device "$NL_IF_IN" priority 0; policy drop; }
		chain in_outside { type filter hook ingress device "$NL_IF_OUT" priority 0; policy drop; }
	}
	EOF
}

nl_conf() {
	cat >"$1" <<-EOF
	# ncnat lab config (scripts/nat_lab.sh)
	inside  $NL_GW_IN/24    mac $NL_NAT_MAC_IN
	outside $NL_OUT_ADDR/24 mac $NL_NAT_MAC_OUT
	pool $NL_POOL_LO-$NL_POOL_HI
	log on

	# 10.0.0.0/25 to a pool address, 10.0.0.128/25 to the outside address
	snat       src 10.0.0.0/25
	masquerade src 10.0.0.128/25
	# port forwarding (also reachable from inside: hairpinning)
	dnat dst $NL_OUT_ADDR proto tcp dport $NL_FWD_PORT to $NL_SERVER:80
	dnat dst $NL_OUT_ADDR proto udp dport $NL_FWD_PORT to $NL_SERVER:7000
	EOF
}

nl_bg() {
	local name=$1 ns=$2
	shift 2
	case $ns in
	in) ip netns exec "$NL_NS_IN" "$@" >"$NL_DIR/$name.log" 2>&1 & ;;
	out) ip netns exec "$NL_NS_OUT" "$@" >"$NL_DIR/$name.log" 2>&1 & ;;
	*) "$@" >"$NL_DIR/$name.log" 2>&1 & ;;
	esac
	NL_BGPID[$name]=$!
}

# Stop one process by its pid: TERM, then KILL after ${2:-3} s.
_nl_kill_pid() {
	local pid=$1 t=$((${2:-3} * 10))
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null && [ "$t" -gt 0 ]; do sleep 0.1; t=$((t - 1)); done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

nl_stop() {
	local pid=${NL_BGPID[$1]:-}
	[ -n "$pid" ] && _nl_kill_pid "$pid"
	unset "NL_BGPID[$1]"
}

nl_wait_port() {
	local ns=$1 proto=$2 addr=$3 port=$4 n
	for ((n = 0; n < 100; n++)); do
		ip netns exec "$ns" ss -Hln"${proto:0:1}" "src $addr:$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	nl_log "nat_lab: nothing listens on $proto $addr:$port in $ns"
	return 1
}

# ncnat's EAL arguments: one lcore, no PCI, af_packet on the root-side veths,
# hugepages when enough are free (in memory: no files left behind), else
# --no-huge (which --in-memory refuses; --no-shconf keeps /var/run clean).
nl_eal_args() {
	local free
	free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo 2>/dev/null)
	local lcores=$NL_LCORE qp=""
	if [ "${NL_WORKERS:-1}" -gt 1 ]; then
		# NL_WORKERS polling lcores: the highest ones this shell may use
		lcores=$($NL_PY -c "import os; print(','.join(map(str, sorted(os.sched_getaffinity(0))[-$NL_WORKERS:])))")
		qp=",qpairs=$NL_WORKERS"
	fi
	NL_EAL=(-l "$lcores" --no-pci --file-prefix="$NL_PREFIX" --no-telemetry
		--vdev="net_af_packet0,iface=$NL_IF_IN$qp" --vdev="net_af_packet1,iface=$NL_IF_OUT$qp")
	if [ "${NL_HUGE:-1}" = 1 ] && [ "${free:-0}" -ge 128 ] && mountpoint -q /dev/hugepages 2>/dev/null; then
		NL_EAL+=(--in-memory -m 128)
	else
		NL_EAL+=(--no-huge --no-shconf -m 256)
	fi
}

# Returns 0 (running, both sides answer ARP), 1 (failed), 2 (no af_packet PMD).
# NL_HUGE=0 forces --no-huge.  The control socket is always our own
# ($NL_DIR/ctl.sock, never ncnat's default path, which parallel labs would
# share); NL_CTL is set (counters and sessions through ncnatctl) when a
# ncnatctl is given.  An ncnat without --ctl is started without it.
nl_ncnat_start() {
	local ncnat=$1 conf=$2 ctl=${3:-} args
	nl_eal_args
	NL_NCNAT_RUNS=$((NL_NCNAT_RUNS + 1))
	args=(-c "$conf" --log "$NL_NAT_LOG")
	[ "${NL_WORKERS:-1}" -le 1 ] || args+=(--workers "$NL_WORKERS")
	NL_CTL="" NL_CTL_SOCK=""
	if [ "${NL_NO_CTL_OPT:-0}" != 1 ]; then
		NL_CTL_SOCK=$NL_DIR/ctl.sock
		args+=(--ctl "$NL_CTL_SOCK")
	fi
	"$ncnat" "${NL_EAL[@]}" -- "${args[@]}" >"$NL_DIR/ncnat.out" 2>"$NL_NCNAT_ERR" &
	NL_NCNAT_PID=$!
	# ready = it answers ARP for its outside address, then for the inside
	# gateway from every inside address (which also teaches it their MACs)
	local t0=$SECONDS
	while :; do
		if ! kill -0 "$NL_NCNAT_PID" 2>/dev/null; then
			wait "$NL_NCNAT_PID" 2>/dev/null
			NL_NCNAT_PID=""
			if [ -n "$NL_CTL_SOCK" ] && grep -qE "unrecognized option|usage:" "$NL_NCNAT_ERR"; then
				nl_log "nat_lab: this ncnat has no --ctl; counters from its exit log"
				NL_NO_CTL_OPT=1
				nl_ncnat_start "$ncnat" "$conf"
				return
			fi
			if grep -q 'failed to parse device "net_af_packet' "$NL_NCNAT_ERR"; then
				return 2
			fi
			nl_log "nat_lab: ncnat exited:"; sed 's/^/  /' "$NL_NCNAT_ERR" >&2
			return 1
		fi
		if nl_out "$NL_PY" "$NL_TOOL" arp-ready eth0 "$NL_HOST_OUT" "$NL_OUT_ADDR" --timeout 1 >/dev/null 2>&1; then
			break
		fi
		if [ $((SECONDS - t0)) -gt 60 ]; then
			nl_log "nat_lab: ncnat does not answer ARP after 60 s"
			return 1
		fi
	done
	local a
	for a in "$NL_CLIENT" "$NL_SERVER" "$NL_MASQ_CLIENT"; do
		nl_in "$NL_PY" "$NL_TOOL" arp-ready eth0 "$a" "$NL_GW_IN" --timeout 10 >/dev/null ||
			{ nl_log "nat_lab: no ARP answer for $NL_GW_IN from $a"; return 1; }
	done
	if [ -n "$NL_CTL_SOCK" ] && [ -n "$ctl" ]; then
		if [ ! -x "$ctl" ]; then
			nl_log "nat_lab: $ctl is not built; counters from the exit log"
		elif [ -S "$NL_CTL_SOCK" ]; then
			NL_CTL=$ctl
		else
			nl_log "nat_lab: no control socket at $NL_CTL_SOCK; counters from the exit log"
		fi
	fi
	return 0
}

# Returns ncnat's exit status (1 if it had to be killed).
nl_ncnat_stop() {
	local pid=$NL_NCNAT_PID t=200 rc
	[ -n "$pid" ] || return 0
	NL_NCNAT_PID=""
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ "$t" -gt 0 ]; do sleep 0.1; t=$((t - 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		nl_log "nat_lab: ncnat ignored SIGTERM for 20 s, killed"
		return 1
	fi
	wait "$pid"
	rc=$?
	cp "$NL_NCNAT_ERR" "$NL_DIR/ncnat.$NL_NCNAT_RUNS.err" 2>/dev/null
	NL_CTL="" NL_CTL_SOCK=""
	return $rc
}

nl_ctl() {
	[ -n "$NL_CTL" ] || return 1
	timeout 10 "$NL_CTL" -s "$NL_CTL_SOCK" "$@"
}

nl_stats() {
	nl_ctl show stats json >"$1.json" 2>"$1.err" || return 1
	"$NL_PY" "$NL_TOOL" counters "$1.json" >"$1"
}

nl_down() {
	local name pid ns
	[ -n "${NL_ID:-}" ] || return 0
	[ -n "${NL_NCNAT_PID:-}" ] && nl_ncnat_stop
	for name in "${!NL_BGPID[@]}"; do nl_stop "$name"; done
	# anything still inside our own namespaces was started by us
	for ns in "$NL_NS_IN" "$NL_NS_OUT"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do _nl_kill_pid "$pid" 1; done
	done
	nft delete table netdev "$NL_NFT" 2>/dev/null
	for ns in "$NL_NS_IN" "$NL_NS_OUT"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	ip link del "$NL_IF_IN" 2>/dev/null
	ip link del "$NL_IF_OUT" 2>/dev/null
	return 0
}
