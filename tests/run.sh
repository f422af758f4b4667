#!/usr/bin/env bash
# tests/run.sh: runs every Warden test; the command the README gives and .ci/run calls.
#
# Steps: tests/setup.sh (Debian packages, .venv); a release build (build/) and an ASan+UBSan
# build (build-asan/); ctest on both; the pytest integration suite against the release binary
# and again against the ASan binary; each libFuzzer target briefly (clang build in build-fuzz/).
# Every step runs even when an earlier one failed (a failed build skips what needs it); the
# last line printed is `N passed, N failed` (test cases from ctest, pytest and the fuzzers, plus
# any build step that failed). Exit status 0 only when nothing failed.
#
# Environment knobs (all optional):
#   WARDEN_FUZZ_SECONDS   seconds per fuzz target (default 10; 0 skips fuzzing)
#   WARDEN_SKIP_ASAN=1    skip the sanitizer build and its runs (quick local iterations)
#   PYTEST_ARGS           extra arguments for pytest (e.g. "-k framing")
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${WARDEN_FUZZ_SECONDS:-10}
OUT="$ROOT/build-results"
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/figures.txt"
START=$(date +%s)

extra_failed=0 # steps without a junit report (builds, setup) that failed
STATUS=()

note() { printf '\n=== %s ===\n' "$*"; }
record() { # name rc
  if [ "$2" -eq 0 ]; then STATUS+=("ok    $1"); else STATUS+=("FAIL  $1"); fi
}

# --- setup --------------------------------------------------------------------------------------
note "setup"
if ! bash "$ROOT/tests/setup.sh"; then
  echo "setup failed: nothing else can run"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- builds --------------------------------------------------------------------------------------
build() { # dir, cmake args...
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >"$OUT/$dir.configure.log" 2>&1 &&
    cmake --build "$ROOT/$dir" -j"$JOBS" >"$OUT/$dir.build.log" 2>&1
}

note "release build (build/)"
build build -DCMAKE_BUILD_TYPE=Release
release_ok=$?
record "release build" $release_ok
[ $release_ok -eq 0 ] || { extra_failed=$((extra_failed + 1)); tail -n 40 "$OUT/build.build.log" "$OUT/build.configure.log"; }

asan_ok=1
if [ "${WARDEN_SKIP_ASAN:-0}" != 1 ]; then
  note "ASan+UBSan build (build-asan/)"
  build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARDEN_SANITIZE=ON
  asan_ok=$?
  record "asan build" $asan_ok
  [ $asan_ok -eq 0 ] || { extra_failed=$((extra_failed + 1)); tail -n 40 "$OUT/build-asan.build.log" "$OUT/build-asan.configure.log"; }
fi

# --- unit tests ------------------------------------------------------------------------------------
run_ctest() { # dir label
  note "ctest ($2)"
  (cd "$ROOT/$1" && ctest --output-on-failure -j"$JOBS" --timeout 300 --output-junit "$OUT/ctest-$2.xml")
  record "ctest $2" $?
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ $release_ok -eq 0 ] && run_ctest build release
[ $asan_ok -eq 0 ] && run_ctest build-asan asan

# --- integration tests -------------------------------------------------------------------------------
run_pytest() { # binary label sanitized [extra pytest args...]
  local bin=$1 label=$2 san=$3
  shift 3
  note "integration tests ($label: $bin)"
  # shellcheck disable=SC2086
  WARDEN_BIN="$bin" WARDEN_SANITIZED="$san" WARDEN_FIGURES="$OUT/figures.txt" \
    "$ROOT/.venv/bin/python" -m pytest "$ROOT/tests/integration" -p no:cacheprovider -q -rfE \
    --timeout 600 --durations=8 --junitxml="$OUT/pytest-$label.xml" \
    -o junit_suite_name="integration-$label" "$@" ${PYTEST_ARGS:-}
  record "pytest $label" $?
}
[ $release_ok -eq 0 ] && run_pytest "$ROOT/build/warden" release 0
# Under ASan every module runs except those whose time goes into MLflow rather than into
# Warden's code paths (already covered under ASan by the other modules): the MLflow client
# through every credential kind, MLflow's own basic-auth app behind passthrough, 1 GiB
# artifacts (memory bounds are asserted on the release build only) and the 500-experiment
# pagination; and the route-coverage report, a property of the suite rather than of the binary.
# The release pass above runs them all.
[ $asan_ok -eq 0 ] && run_pytest "$ROOT/build-asan/warden" asan 1 \
  --ignore="$ROOT/tests/integration/auth/test_passthrough_basic_auth.py" \
  --ignore="$ROOT/tests/integration/auth/test_auth_mlflow_client.py" \
  --ignore="$ROOT/tests/integration/test_large_body.py" \
  --ignore="$ROOT/tests/integration/test_enforce_filtering.py" \
  --ignore="$ROOT/tests/integration/test_enforce_zz_coverage.py"

# --- fuzzing ---------------------------------------------------------------------------------------
if [ "$FUZZ_SECONDS" -gt 0 ] && ls "$ROOT"/tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  note "fuzz build (build-fuzz/, clang)"
  # Only the fuzz targets: the daemon and wardenctl are not built with the fuzzer runtime.
  fuzz_targets=()
  for src in "$ROOT"/tests/fuzz/fuzz_*.c; do fuzz_targets+=("$(basename "$src" .c)"); done
  cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DWARDEN_FUZZ=ON -DWARDEN_TESTS=OFF >"$OUT/build-fuzz.configure.log" 2>&1 &&
    cmake --build "$ROOT/build-fuzz" -j"$JOBS" --target "${fuzz_targets[@]}" >"$OUT/build-fuzz.build.log" 2>&1
  fuzz_ok=$?
  record "fuzz build" $fuzz_ok
  if [ $fuzz_ok -ne 0 ]; then
    extra_failed=$((extra_failed + 1))
    tail -n 40 "$OUT/build-fuzz.build.log" "$OUT/build-fuzz.configure.log"
  else
    {
      echo '<?xml version="1.0" encoding="UTF-8"?>'
      echo '<testsuite name="fuzz">'
    } >"$OUT/fuzz.xml"
    for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
      name=$(basename "$src" .c)
      short=${name#fuzz_}
      note "fuzz $name (${FUZZ_SECONDS}s)"
      work="$ROOT/build-fuzz/corpus-$short"
      mkdir -p "$work" "$ROOT/build-fuzz/artifacts"
      args=("$work")
      [ -d "$ROOT/tests/fuzz/corpus/$short" ] && args+=("$ROOT/tests/fuzz/corpus/$short")
      [ -f "$ROOT/tests/fuzz/$short.dict" ] && args+=("-dict=$ROOT/tests/fuzz/$short.dict")
      # Undefined behaviour found while fuzzing fails the target, as a crash does.
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$ROOT/build-fuzz/$name" "${args[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$ROOT/build-fuzz/artifacts/$name-" >"$OUT/$name.log" 2>&1
      rc=$?
      tail -12 "$OUT/$name.log"
      record "fuzz $name" $rc
      if [ $rc -eq 0 ]; then
        echo "  <testcase classname=\"fuzz\" name=\"$name\"/>" >>"$OUT/fuzz.xml"
      else
        echo "  <testcase classname=\"fuzz\" name=\"$name\"><failure message=\"exit $rc; see build-results/$name.log\"/></testcase>" >>"$OUT/fuzz.xml"
      fi
    done
    echo '</testsuite>' >>"$OUT/fuzz.xml"
  fi
fi

# --- summary -----------------------------------------------------------------------------------------
note "summary ($(($(date +%s) - START)) s)"
printf '%s\n' "${STATUS[@]}"
if [ -s "$OUT/figures.txt" ]; then
  echo "figures:"
  sed 's/^/  /' "$OUT/figures.txt"
fi
counts=$(python3 - "$OUT" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    for case in root.iter("testcase"):
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            failed += 1
        elif "skipped" in kinds:
            continue
        else:
            passed += 1
print(passed, failed)
EOF
)
passed=${counts% *}
failed=$((${counts#* } + extra_failed))
for s in "${STATUS[@]}"; do
  case "$s" in FAIL*) [ "$failed" -gt 0 ] || failed=1 ;; esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
