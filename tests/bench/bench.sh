#!/usr/bin/env bash
# tests/bench/bench.sh: Warden's throughput and latency against nginx's plain reverse proxy.
#
# One run, one worker each, all on 127.0.0.1 ports picked at start:
#   (a) upstream: nginx (1 worker_process) answering every request with a fixed ~200-byte
#       JSON body, like an MLflow reply;
#   (b) nginx:    nginx (1 worker_process) proxy_pass to (a) with upstream keep-alive;
#   (c) warden:   warden (workers = 1) in front of (a).
# wrk (1 thread, CONNS connections, --latency) drives each target for DURATION seconds, the
# three interleaved, ROUNDS times, after a short warm-up. Printed: the median requests/s, p50
# and p99 per target, the ratios warden/nginx (target: throughput >= 0.9, p99 <= 1.2) and
# warden's RSS. Every process it starts is stopped on exit. Not part of tests/run.sh.
#
# Every request carries the same `Authorization: Bearer <token>` header (Warden authenticates
# every request, nginx ignores the header): with BENCH_TOKEN=pat (default) a personal access
# token, with BENCH_TOKEN=jwt a ~2 KB RS256 JWT from a development issuer (wardenctl dev-key
# --alg RS256; groups claim padded to reach the size), verified once and then served from
# Warden's token cache.
#
# Full authorisation: Warden runs with a policy granting the token's user READ on catalog
# `bench`, and the upstream's experiment is named bench.lab.exp0, so every request to Warden
# is authenticated (cached), routed, its experiment id resolved by a look-up (answered by the
# same upstream, then cached) and decided by the policy before it is forwarded.
# BENCH_MISS=1 measures the cost of a look-up miss instead: every request asks
# /api/2.0/mlflow/runs/get for a run id never seen before (wrk script), so Warden first asks
# the upstream which experiment the run belongs to (one extra upstream round trip), then
# decides and forwards.
# Environment: WARDEN_BIN (default build/warden, built if missing; wardenctl next to it),
# ROUNDS (5), DURATION (5), CONNS (50), BENCH_PATH (the request path), BENCH_TOKEN (pat|jwt),
# BENCH_MISS (0|1), BENCH_AUDIT (0|1).
# BENCH_AUDIT=1 adds a fourth target, "audited": a second Warden configured like the first plus
# an audit journal and a file sink (JSON lines, async commit, fsync interval), measured in the
# same interleaved rounds, and prints the cost of auditing (audited/warden throughput).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WARDEN_BIN=${WARDEN_BIN:-$ROOT/build/warden}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
BENCH_PATH=${BENCH_PATH:-/api/2.0/mlflow/experiments/get?experiment_id=0}

bash "$ROOT/tests/setup.sh" >/dev/null
WARDENCTL_BIN=${WARDENCTL_BIN:-$(dirname "$WARDEN_BIN")/wardenctl}
if [ ! -x "$WARDEN_BIN" ] || [ ! -x "$WARDENCTL_BIN" ]; then
  echo "bench: building $WARDEN_BIN (release)" >&2
  cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build" -j"$(nproc)" --target warden wardenctl >/dev/null
fi

TMP=$(mktemp -d /tmp/warden-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { # n -> n distinct free loopback ports
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
read -r P_UP P_NGINX P_WARDEN P_AUDITED <<<"$(free_ports 4)"

BENCH_TOKEN=${BENCH_TOKEN:-pat}
ISSUER_CONF=""
if [ "$BENCH_TOKEN" = jwt ]; then
  "$WARDENCTL_BIN" dev-key --out "$TMP/keys" --alg RS256 >/dev/null
  TOKEN_GROUPS=$(python3 -c 'print(",".join("bench-team-group-%03d" % i for i in range(60)))')
  TOKEN=$("$WARDENCTL_BIN" mint --key "$TMP/keys/signing-key.pem" --issuer https://bench.local \
    --audience mlflow --user bench@acme.example --groups "$TOKEN_GROUPS" --ttl 2h)
  ISSUER_CONF="[issuer bench]
issuer = https://bench.local
audiences = mlflow
jwks_file = $TMP/keys/jwks.json"
  : >"$TMP/pats.jsonl"
else
  TOKEN=$("$WARDENCTL_BIN" pat create --user bench --ttl never --file "$TMP/pats.jsonl" 2>/dev/null | head -n 1)
fi
[ -n "$TOKEN" ] || { echo "bench: could not make a $BENCH_TOKEN token" >&2; exit 1; }
echo "token: $BENCH_TOKEN, ${#TOKEN} bytes"
AUTH="Authorization: Bearer $TOKEN"

BENCH_MISS=${BENCH_MISS:-0}
RUN_BODY='{"run": {"info": {"run_id": "r", "experiment_id": "0", "status": "FINISHED"}, "data": {}}}'
cat >"$TMP/policy.policy" <<'EOF'
GRANT USE CATALOG, USE SCHEMA, READ ON CATALOG bench TO `user:bench`;
GRANT USE CATALOG, USE SCHEMA, READ ON CATALOG bench TO `bench@acme.example`;
EOF
cat >"$TMP/miss.lua" <<'EOF'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", string.format("/api/2.0/mlflow/runs/get?run_id=%x%08x", math.random(1, 2^30), n))
end
EOF
WRK_SCRIPT=()
if [ "$BENCH_MISS" = 1 ]; then WRK_SCRIPT=(-s "$TMP/miss.lua"); fi

BODY='{"experiment": {"experiment_id": "0", "name": "bench.lab.exp0", "artifact_location": "mlflow-artifacts:/0", "lifecycle_stage": "active", "last_update_time": 1764337000000, "creation_time": 1764337000000, "tags": []}}'

nginx_conf() { # name server-block
  mkdir -p "$TMP/$1"
  cat >"$TMP/$1/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $TMP/$1/nginx.pid;
error_log $TMP/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/$1/body;
  proxy_temp_path $TMP/$1/proxy;
  fastcgi_temp_path $TMP/$1/fastcgi;
  uwsgi_temp_path $TMP/$1/uwsgi;
  scgi_temp_path $TMP/$1/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  $2
}
EOF
}

nginx_conf upstream "server {
    listen 127.0.0.1:$P_UP reuseport backlog=4096;
    location / { default_type application/json; return 200 '$BODY'; }
    location = /api/2.0/mlflow/runs/get { default_type application/json; return 200 '$RUN_BODY'; }
  }"
nginx_conf nginx "upstream origin { server 127.0.0.1:$P_UP; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$P_NGINX backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"

nginx -p "$TMP/upstream" -c "$TMP/upstream/nginx.conf" &
PIDS+=($!)
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
PIDS+=($!)

cat >"$TMP/warden.conf" <<EOF
[server]
workers = 1
log_level = warn
shutdown_timeout = 2s
ready_file = $TMP/warden.ready

[listener]
address = 127.0.0.1:$P_WARDEN

[upstream]
url = http://127.0.0.1:$P_UP
max_idle = 64

[admin]
address = 127.0.0.1:0

[auth]
pat_file = $TMP/pats.jsonl

[policy]
paths = $TMP/policy.policy

$ISSUER_CONF
EOF
"$WARDEN_BIN" -c "$TMP/warden.conf" 2>"$TMP/warden.log" &
WARDEN_PID=$!
PIDS+=("$WARDEN_PID")
BENCH_AUDIT=${BENCH_AUDIT:-0}
if [ "$BENCH_AUDIT" = 1 ]; then
  sed -e "s#127.0.0.1:$P_WARDEN#127.0.0.1:$P_AUDITED#" -e "s#$TMP/warden.ready#$TMP/audited.ready#" \
    "$TMP/warden.conf" >"$TMP/audited.conf"
  cat >>"$TMP/audited.conf" <<EOF

[audit]
journal_dir = $TMP/audit

[audit_file local]
path = $TMP/audit.log
EOF
  "$WARDEN_BIN" -c "$TMP/audited.conf" 2>"$TMP/audited.log" &
  PIDS+=($!)
fi

wait_http() { # url
  local i
  for i in $(seq 1 100); do
    if curl -sf -o /dev/null -H "$AUTH" "$1"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not answer" >&2
  cat "$TMP"/*/error.log "$TMP/warden.log" >&2 || true
  exit 1
}
declare -A URL=(
  [upstream]="http://127.0.0.1:$P_UP$BENCH_PATH"
  [nginx]="http://127.0.0.1:$P_NGINX$BENCH_PATH"
  [warden]="http://127.0.0.1:$P_WARDEN$BENCH_PATH"
)
TARGETS=(upstream nginx warden)
if [ "$BENCH_AUDIT" = 1 ]; then
  URL[audited]="http://127.0.0.1:$P_AUDITED$BENCH_PATH"
  TARGETS+=(audited)
fi
for t in "${TARGETS[@]}"; do wait_http "${URL[$t]}"; done
for t in nginx warden; do
  got=$(curl -sf -H "$AUTH" "${URL[$t]}")
  [ "$got" = "$BODY" ] || { echo "bench: $t returned a different body: $got" >&2; exit 1; }
done

# wrk output -> "rps p50_ms p99_ms errors"
parse_wrk() {
  python3 -c '
import re, sys
text = sys.stdin.read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
errs = 0
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if m: errs += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m: errs += sum(int(x) for x in m.groups())
print(rps, ms(lat["50"]), ms(lat["99"]), errs)
'
}

echo "bench: warm-up"
for t in "${TARGETS[@]}"; do wrk -t1 -c"$CONNS" -d1s "${WRK_SCRIPT[@]}" -H "$AUTH" "${URL[$t]}" >/dev/null; done

RESULTS="$TMP/results"
: >"$RESULTS"
for r in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    line=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${WRK_SCRIPT[@]}" -H "$AUTH" "${URL[$t]}" | parse_wrk)
    echo "$t $line" >>"$RESULTS"
    printf 'round %d %-8s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %s\n' "$r" "$t" $line
  done
done

ADMIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$TMP/warden.ready")
curl -s "http://$ADMIN/metrics" | grep -E '^warden_(lookups_total|lookup_cache_hits_total|authz_decisions_total)' \
  | sed 's/^/warden metrics: /'
rss=$(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f MiB (peak %.1f MiB)", r/1024, h/1024}' "/proc/$WARDEN_PID/status")

python3 - "$RESULTS" "$rss" "$ROUNDS" "$DURATION" "$CONNS" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    t, rps, p50, p99, errs = line.split()
    rows.setdefault(t, []).append((float(rps), float(p50), float(p99), int(errs)))
med = {t: tuple(statistics.median(x[i] for x in v) for i in range(3)) for t, v in rows.items()}
errors = {t: sum(x[3] for x in v) for t, v in rows.items()}
print()
print("median of %s rounds x %ss, wrk -t1 -c%s, one worker each" % tuple(sys.argv[3:6]))
print("%-9s %12s %10s %10s %8s" % ("target", "req/s", "p50 ms", "p99 ms", "errors"))
for t in ("upstream", "nginx", "warden", "audited"):
    if t not in med:
        continue
    rps, p50, p99 = med[t]
    print("%-9s %12.0f %10.3f %10.3f %8d" % (t, rps, p50, p99, errors[t]))
tput = med["warden"][0] / med["nginx"][0]
p99 = med["warden"][2] / med["nginx"][2]
print()
print("warden/nginx throughput: %.3f  (target >= 0.9: %s)" % (tput, "met" if tput >= 0.9 else "NOT met"))
print("warden/nginx p99:        %.3f  (target <= 1.2: %s)" % (p99, "met" if p99 <= 1.2 else "NOT met"))
print("warden RSS after the run: %s" % sys.argv[2])
if "audited" in med:
    cost = 1 - med["audited"][0] / med["warden"][0]
    print("auditing cost (1 - audited/warden throughput): %.1f%%  (target <= 5%%: %s)"
          % (100 * cost, "met" if cost <= 0.05 else "NOT met"))
if any(errors.values()):
    print("bench: some requests failed (see errors column)")
    sys.exit(1)
EOF
