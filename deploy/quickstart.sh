#!/usr/bin/env bash
# deploy/quickstart.sh: run Warden in front of a local MLflow server, from a clean clone.
#
# Installs what is missing (tests/setup.sh: Debian packages and the pinned MLflow venv),
# builds Warden (release, build/), creates a development identity provider (a signing key
# made by `wardenctl dev-key`) and mints a token for alice@acme.example of the example
# policies' risk team, starts `mlflow server` on 127.0.0.1:5000 with a SQLite store and
# proxied artifacts under .cache/quickstart/, then runs Warden in the foreground on
# 127.0.0.1:8080 with conf/quickstart.conf and policies/. Ctrl-C stops both.
# QUICKSTART_USER / QUICKSTART_GROUPS choose whom the printed token names.
# Environment: WARDEN_PORT (8080), MLFLOW_PORT (5000) override the ports.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WARDEN_PORT=${WARDEN_PORT:-8080}
MLFLOW_PORT=${MLFLOW_PORT:-5000}
STATE="$ROOT/.cache/quickstart"

bash tests/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target warden wardenctl >/dev/null

mkdir -p "$STATE/artifacts"
sed -e "s/127.0.0.1:8080/127.0.0.1:$WARDEN_PORT/" -e "s/127.0.0.1:5000/127.0.0.1:$MLFLOW_PORT/" \
    conf/quickstart.conf >"$STATE/warden.conf"
[ -f "$STATE/keys/jwks.json" ] || build/wardenctl dev-key --out "$STATE/keys" >/dev/null
[ -f "$STATE/pats.jsonl" ] || : >"$STATE/pats.jsonl"
USER_NAME=${QUICKSTART_USER:-alice@acme.example}
TOKEN_GROUPS=${QUICKSTART_GROUPS:-risk,data-scientists}
TOKEN=$(build/wardenctl mint --key "$STATE/keys/signing-key.pem" --issuer https://dev.warden.local \
    --audience mlflow --user "$USER_NAME" --groups "$TOKEN_GROUPS" --ttl 12h)
build/warden --check "$STATE/warden.conf" >/dev/null

"$ROOT/.venv/bin/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$STATE/mlflow.db" \
    --serve-artifacts --artifacts-destination "$STATE/artifacts" \
    >"$STATE/mlflow.log" 2>&1 &
MLFLOW_PID=$!
trap 'kill $MLFLOW_PID 2>/dev/null; wait $MLFLOW_PID 2>/dev/null' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$MLFLOW_PORT/health" >/dev/null 2>&1 && break
  kill -0 $MLFLOW_PID 2>/dev/null || { cat "$STATE/mlflow.log" >&2; exit 1; }
  sleep 0.5
done
echo "MLflow is up on 127.0.0.1:$MLFLOW_PORT (log: $STATE/mlflow.log)"
echo
echo "Point the MLflow client at Warden, as $USER_NAME (groups $TOKEN_GROUPS, valid 12 h):"
echo "  export MLFLOW_TRACKING_URI=http://127.0.0.1:$WARDEN_PORT"
echo "  export MLFLOW_TRACKING_TOKEN=$TOKEN"
echo "Other identities: build/wardenctl mint --key $STATE/keys/signing-key.pem \\"
echo "    --issuer https://dev.warden.local --audience mlflow --user bob@acme.example --groups marketing"
echo "Personal access tokens: build/wardenctl pat create --user U --file $STATE/pats.jsonl"
echo "Audit trail (one JSON line per request): $STATE/audit.log"
echo
"$ROOT/build/warden" -c "$STATE/warden.conf"
