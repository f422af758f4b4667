#!/usr/bin/env bash
# tests/setup.sh: installs everything Warden's build, tests and benchmark need, idempotently.
#
# What it owns: the Debian packages listed below (apt-get, as root or through sudo) and the
# Python virtual environment <repo>/.venv built from tests/requirements.txt. Every step is
# skipped when already done: packages are checked with dpkg-query (apt-get update runs only
# when one is missing) and the venv carries a stamp keyed on the SHA-256 of the requirements
# file and the Python version, so a second run takes well under a second.
# Works from any working directory; all paths are relative to this script's repository.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
REQS="$ROOT/tests/requirements.txt"

DEB_PACKAGES=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev clang-format
  libevent-dev libssl-dev libjansson-dev libjwt-dev libhiredis-dev libcmocka-dev
  nginx-light wrk redis-server
  rsyslog rsyslog-openssl
  python3 python3-venv
  curl openssl procps
)

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root (or sudo) to run: $*"
    return 1
  fi
}

# --- Debian packages ------------------------------------------------------------------
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python virtual environment --------------------------------------------------------
py_version=$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
want=$( (sha256sum "$REQS" | cut -d' ' -f1; echo "python $py_version") | sha256sum | cut -d' ' -f1)
stamp="$VENV/.warden-requirements.sha256"

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  rm -f "$stamp"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  log "installing Python packages from tests/requirements.txt (a few minutes the first time)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  "$VENV/bin/python" -c 'import mlflow, pytest, requests' # fail here, not in the tests
  echo "$want" >"$stamp"
fi
log "ok"
