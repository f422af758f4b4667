#!/bin/sh
# Builds and runs the policy benchmark against the project library.
#   tests/bench/policy/run.sh [--instructions] [BUILD_DIR]   (default build dir: build-policy)
# --instructions also counts instructions per decision with valgrind (callgrind), which is
# independent of machine load and caches: the "flat with policy size" figure.
# Set WARDEN_CORE_LIB to use another libwarden_core.a.
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
count=0
if [ "${1:-}" = "--instructions" ]; then
    count=1
    shift
fi
build=${1:-$root/build-policy}
lib=${WARDEN_CORE_LIB:-$build/libwarden_core.a}
if [ ! -f "$lib" ]; then
    echo "no $lib: run cmake -S $root -B $build && cmake --build $build first" >&2
    exit 2
fi
out=${TMPDIR:-/tmp}/bench_policy.$$
cc -std=c11 -O2 -D_GNU_SOURCE -I "$root/gateway" "$root/tests/bench/policy/bench_policy.c" \
    "$lib" $(pkg-config --libs libevent_core libevent_extra libevent_openssl libevent_pthreads \
    openssl jansson libjwt hiredis) -lpthread -lm -o "$out"
rc=0
"$out" || rc=$?
if [ $count = 1 ] && command -v valgrind >/dev/null; then
    for n in 10 1000 100000; do
        cg=${TMPDIR:-/tmp}/bench_policy.cg.$$
        # 4096 warm-up + 5 x 4096 timed decisions run inside policy_decide.
        valgrind --tool=callgrind --toggle-collect=policy_decide --callgrind-out-file="$cg" \
            "$out" $n 5 >/dev/null 2>&1
        ir=$(callgrind_annotate "$cg" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
        echo "grants~$n decide: $((ir / 24576)) instructions/op (callgrind)"
        rm -f "$cg"
    done
fi
rm -f "$out"
exit $rc
