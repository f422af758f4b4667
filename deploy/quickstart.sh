#!/usr/bin/env bash
# deploy/quickstart.sh: run Warden in front of a local MLflow server, from a clean clone.
#
# Installs what is missing (tests/setup.sh: Debian packages and the pinned MLflow venv),
# builds Warden (release, build/), starts `mlflow server` on 127.0.0.1:5000 with a SQLite
# store and proxied artifacts under .cache/quickstart/, then runs Warden in the foreground on
# 127.0.0.1:8080 with conf/quickstart.conf. Ctrl-C stops both.
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
echo "Point the MLflow client at Warden:"
echo "  export MLFLOW_TRACKING_URI=http://127.0.0.1:$WARDEN_PORT"
echo
"$ROOT/build/warden" -c "$STATE/warden.conf"
