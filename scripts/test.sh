#!/usr/bin/env bash
# Install, build twice (optimised; address+undefined sanitizers) and run every
# test in both builds. Ends with "N passed, N failed".
# NC_LONG=1 runs the long differential mode.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

pass=0; fail=0
run_build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
  # failing tests are counted from the test log below, not here
  meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 2 || true
}
count() {
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || return
  pass=$((pass + $(grep -c '"result": "OK"' "$log")))
  fail=$((fail + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")))
}
mkdir -p build
run_build build/release -Dbuildtype=release || fail=$((fail + 1))
count build/release
run_build build/asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
  -Db_lundef=false || fail=$((fail + 1))
count build/asan
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
