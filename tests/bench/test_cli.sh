#!/bin/sh
# The command-line contract: bad arguments -> usage on stderr, exit 2; a bad
# rule or trace file -> "file:line: what" on stderr, exit 1; never a crash.
# Usage: test_cli.sh NCBENCH
set -u
NCBENCH=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect STATUS PATTERN ARGS...: exit status and a pattern in stderr
expect() {
	want=$1
	pat=$2
	shift 2
	"$NCBENCH" "$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ $got -ne "$want" ] || ! grep -q -- "$pat" "$tmp/err"; then
		echo "FAIL: ncbench $*: exit $got (want $want), stderr:"
		sed 's/^/  /' "$tmp/err" | head -5
		fail=1
	fi
}

printf '@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x06/0xFF\n@bogus line\n' > "$tmp/bad.rules"
printf '@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x06/0xFF\n' > "$tmp/good.rules"
printf '167772161 1 1000 80 6 0 1\nnot a trace line\n' > "$tmp/bad.trace"
printf '167772161 1 1000 80 6 0 1\n167772161 1 1000 81 6 0 1\n' > "$tmp/good.trace"

expect 2 usage
expect 2 "unknown command" frobnicate
expect 2 usage lookup --burst 0
expect 2 usage lookup --seconds abc
expect 2 usage lookup --bogus
expect 2 usage lookup --rules
expect 2 usage match extra-argument
expect 2 usage gen --family xyz
expect 2 usage gen --size 0
expect 2 usage match --impl fancy
expect 2 usage update --repeat 0
expect 2 usage plot --sizes 10,x
expect 2 usage lookup --rules "$tmp/good.rules" --size 10
expect 1 "bad.rules:2:" match --rules "$tmp/bad.rules" --trace "$tmp/good.trace"
expect 1 "bad.rules:2:" lookup --rules "$tmp/bad.rules" --no-acl --seconds 0.01 --repeat 1
expect 1 "bad.trace:2:" match --rules "$tmp/good.rules" --trace "$tmp/bad.trace"
expect 1 "No such file" match --rules "$tmp/missing.rules"

"$NCBENCH" match --rules "$tmp/good.rules" --trace "$tmp/good.trace" > "$tmp/out" 2> "$tmp/err"
if [ $? -ne 0 ] || [ "$(tr '\n' ' ' < "$tmp/out")" != "1 0 " ]; then
	echo "FAIL: match on a two-line trace: $(cat "$tmp/out" "$tmp/err")"
	fail=1
fi
"$NCBENCH" lookup --help > "$tmp/out" 2>&1 && grep -q ratio_vs_rte_acl_best "$tmp/out" ||
	{ echo "FAIL: lookup --help"; fail=1; }
# smoke runs: the last line of lookup is the ratio; update and plot finish
"$NCBENCH" lookup --gen fw --size 300 --trace-size 3000 --seconds 0.02 --repeat 1 \
	--csv "$tmp/l.csv" > "$tmp/out" 2> "$tmp/err" &&
	tail -n 1 "$tmp/out" | grep -Eq '^ratio_vs_rte_acl_best=([0-9]+\.[0-9][0-9]|n/a)$' ||
	{ echo "FAIL: lookup smoke run:"; tail -n 5 "$tmp/out" "$tmp/err"; fail=1; }
"$NCBENCH" update --gen ipc --size 300 --trace-size 3000 --seconds 0.02 --repeat 1 \
	> "$tmp/out" 2> "$tmp/err" && grep -q '^alone  *insert' "$tmp/out" ||
	{ echo "FAIL: update smoke run:"; tail -n 5 "$tmp/out" "$tmp/err"; fail=1; }
if command -v gnuplot > /dev/null; then
	"$NCBENCH" plot --from "$tmp/l.csv" --svg "$tmp/l.svg" > "$tmp/out" 2> "$tmp/err" &&
		grep -q '<svg' "$tmp/l.svg" ||
		{ echo "FAIL: plot:"; cat "$tmp/err"; fail=1; }
fi
[ $fail -eq 0 ] && echo "ok: command-line contract"
exit $fail
