#!/usr/bin/env bash
# The main command: the NAT demo, on an embedded default (fresh Debian 12, as
# root).  It installs what is missing (scripts/setup.sh), builds ncnat, sets
# hugepages, builds two network namespaces with real Linux hosts (the lab of
# scripts/nat_lab.sh: nin = inside 10.0.0.0/24, nout = outside 203.0.113.0/24),
# starts ncnat between them on af_packet with a default config, sends real
# traffic through it (ping, HTTP, UDP, a short iperf3, a port forward,
# hairpinning, an unsolicited packet), shows the session table and the
# counters, and removes everything it set up.
#
#   bash scripts/demo.sh            the NAT demo
#   bash scripts/demo.sh --bench    the classifier demo (scripts/bench_demo.sh)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [ "${1:-}" = --bench ]; then
	shift
	exec bash scripts/bench_demo.sh "$@"
fi
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null && exec sudo bash "$0" "$@"
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi
export PATH=$PATH:/usr/sbin:/sbin
B=${NC_DEMO_BUILD:-build/release}  # NC_DEMO_BUILD: another build directory
IPERF_SECONDS=${NC_DEMO_IPERF_SECONDS:-3}

if [ -t 1 ]; then H=$'\e[1m' D=$'\e[2m' N=$'\e[0m'; else H="" D="" N=""; fi
step() { printf '\n%s==> %s%s\n' "$H" "$*" "$N"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
# run NS CMD...: show the command as typed in that namespace, then its output
run() {
	local ns=$1
	shift
	printf '%s[%s]$ %s%s\n' "$D" "$ns" "$*" "$N"
	case $ns in
	nin) nl_in "$@" ;;
	nout) nl_out "$@" ;;
	*) "$@" ;;
	esac 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

step "installing what is missing (scripts/setup.sh)"
bash scripts/setup.sh || die "setup failed"
echo "    packages present"

step "building ncnat ($B)"
if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B" -Dbuildtype=release >"$B.setup.log" 2>&1 || { tail -20 "$B.setup.log"; die "meson setup failed"; }
fi
targets=(apps/nat/ncnat)
ctl_target=$(ninja -C "$B" -t targets all 2>/dev/null | sed -n 's|^\(\(.*/\)\{0,1\}ncnatctl\): .*|\1|p' | head -1)
[ -n "$ctl_target" ] && targets+=("$ctl_target")
ninja -C "$B" "${targets[@]}" >"$B.demo-build.log" 2>&1 || { tail -30 "$B.demo-build.log"; die "build failed"; }
NCNAT=$PWD/$B/apps/nat/ncnat
NCNATCTL=""
[ -n "$ctl_target" ] && [ -x "$B/$ctl_target" ] && NCNATCTL=$PWD/$B/$ctl_target
echo "    $NCNAT${NCNATCTL:+ and $NCNATCTL}"

step "hugepages"
if [ -w /proc/sys/vm/nr_hugepages ]; then
	[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ] || echo 512 >/proc/sys/vm/nr_hugepages || true
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages || true
fi
echo "    $(awk '/^HugePages_(Total|Free)/ {printf "%s %s  ", $1, $2}' /proc/meminfo)(ncnat uses --no-huge if fewer than 128 are free)"

# shellcheck source=scripts/nat_lab.sh
. scripts/nat_lab.sh
nl_init
cleanup() {
	step "cleaning up"
	nl_down
	rm -rf "$NL_DIR"
	echo "    ncnat and the hosts' servers stopped; namespaces $NL_NS_IN, $NL_NS_OUT, veths and nftables table $NL_NFT removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "two network namespaces with ncnat between them"
nl_up || die "could not build the namespaces"
cat <<EOF
    $NL_NS_IN (inside hosts)                                                $NL_NS_OUT (outside host)
    eth0 $NL_CLIENT, $NL_SERVER, $NL_MASQ_CLIENT          ncnat          eth0 $NL_HOST_OUT
      default via $NL_GW_IN  --veth-- $NL_IF_IN [af_packet] [af_packet] $NL_IF_OUT --veth--
    ncnat answers $NL_GW_IN inside, $NL_OUT_ADDR and the pool $NL_POOL_LO-$NL_POOL_HI outside.
    Root-side veth ends: nftables netdev ingress drop (table $NL_NFT), so only ncnat sees them;
    namespaces: checksum offload off (ethtool), IPv6 off.
EOF
run nin ip -br addr show dev eth0
run nout ip -br addr show dev eth0

CONF=$NL_DIR/nat.conf
nl_conf "$CONF"
step "ncnat config ($CONF)"
sed 's/^/    /' "$CONF"

step "servers on the hosts"
mkdir -p "$NL_DIR/www-out" "$NL_DIR/www-in"
echo "hello from the outside host $NL_HOST_OUT" >"$NL_DIR/www-out/index.html"
echo "hello from the inside server $NL_SERVER" >"$NL_DIR/www-in/index.html"
nl_bg http-out out "$NL_PY" -u "$NL_TOOL" http-serve "$NL_HOST_OUT" 80 "$NL_DIR/www-out" --lifetime 600
nl_bg udp-out out "$NL_PY" -u "$NL_TOOL" udp-echo "$NL_HOST_OUT" 7000 --lifetime 600
nl_bg iperf3-s out iperf3 -s -1 -B "$NL_HOST_OUT" -p 5201
nl_bg http-in in "$NL_PY" -u "$NL_TOOL" http-serve "$NL_SERVER" 80 "$NL_DIR/www-in" --lifetime 600
nl_wait_port "$NL_NS_OUT" tcp "$NL_HOST_OUT" 80 && nl_wait_port "$NL_NS_OUT" udp "$NL_HOST_OUT" 7000 &&
	nl_wait_port "$NL_NS_OUT" tcp "$NL_HOST_OUT" 5201 && nl_wait_port "$NL_NS_IN" tcp "$NL_SERVER" 80 ||
	die "a server did not start"
echo "    $NL_NS_OUT: HTTP on $NL_HOST_OUT:80, UDP echo on :7000, iperf3 on :5201"
echo "    $NL_NS_IN:  HTTP on $NL_SERVER:80 (port-forwarded from $NL_OUT_ADDR:$NL_FWD_PORT)"

step "starting ncnat"
nl_ncnat_start "$NCNAT" "$CONF" "$NCNATCTL" || { cat "$NL_NCNAT_ERR" >&2; die "ncnat did not start"; }
echo "    $NCNAT ${NL_EAL[*]} -- -c $CONF --log $NL_NAT_LOG${NL_CTL_SOCK:+ --ctl $NL_CTL_SOCK}"
echo "    pid $NL_NCNAT_PID, polling on lcore $NL_LCORE; it answers ARP on both sides"

step "traffic through the NAT"
echo "ping, inside -> outside:"
run nin ping -c 3 -i 0.2 -W 2 "$NL_HOST_OUT" | grep -E 'nin\]\$|bytes from|transmitted'
echo "HTTP, inside $NL_CLIENT -> outside (the server logs the source it sees: a pool address):"
run nin curl -sS -m 10 --interface "$NL_CLIENT" "http://$NL_HOST_OUT/"
echo "    server log: $(tail -1 "$NL_DIR/http-out.log")"
echo "HTTP from $NL_MASQ_CLIENT (masquerade rule: the outside address):"
run nin curl -sS -m 10 --interface "$NL_MASQ_CLIENT" "http://$NL_HOST_OUT/"
echo "    server log: $(tail -1 "$NL_DIR/http-out.log")"
echo "UDP round trip with socat:"
printf 'hello over UDP\n' | run nin timeout 10 socat -t 1 - "UDP4:$NL_HOST_OUT:7000,bind=$NL_CLIENT"
echo "    echo server log: $(tail -1 "$NL_DIR/udp-out.log")"
echo "TCP throughput, iperf3 for $IPERF_SECONDS s (veth + af_packet bound it; correctness, not speed):"
run nin timeout 60 iperf3 -c "$NL_HOST_OUT" -B "$NL_CLIENT" -p 5201 -t "$IPERF_SECONDS" --connect-timeout 5000 |
	grep -E 'nin\]\$|sender|receiver'
echo "port forward, outside -> $NL_OUT_ADDR:$NL_FWD_PORT -> $NL_SERVER:80:"
run nout curl -sS -m 10 "http://$NL_OUT_ADDR:$NL_FWD_PORT/"
echo "    inside server log: $(tail -1 "$NL_DIR/http-in.log")"
echo "hairpinning, inside -> $NL_OUT_ADDR:$NL_FWD_PORT comes back inside, from the client's external address:"
run nin curl -sS -m 10 --interface "$NL_CLIENT" "http://$NL_OUT_ADDR:$NL_FWD_PORT/"
echo "    inside server log: $(tail -1 "$NL_DIR/http-in.log")"
echo "ICMP error: UDP to a closed outside port; the port unreachable comes back translated:"
run nin "$NL_PY" "$NL_TOOL" udp-refused "$NL_HOST_OUT" 9 --src "$NL_CLIENT"
echo "unsolicited, outside -> a pool address with no mapping (dropped, no answer):"
run nout curl -sS -m 2 "http://$NL_POOL_LO:80/" || true

step "session table"
if [ -n "$NL_CTL" ]; then
	run root "$NL_CTL" -s "$NL_CTL_SOCK" show sessions
else
	echo "    (no ncnatctl in this build: the mappings from ncnat's RFC 6888 log instead)"
	sed 's/^/    /' "$NL_NAT_LOG"
fi

step "counters"
if [ -n "$NL_CTL" ]; then
	run root "$NL_CTL" -s "$NL_CTL_SOCK" show stats | grep -vE '^ +[a-z0-9_]+ +0$'
	nl_ncnat_stop >/dev/null
else
	nl_ncnat_stop
	echo "    (ncnat stopped; the counters it printed at exit, zeros left out)"
	grep '^ncnat:' "$NL_NCNAT_ERR" | sed 's/^ncnat: */    /'
fi
exit 0
