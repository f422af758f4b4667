#!/usr/bin/env bash
# Regenerate the route-by-route table in policies/README.md from the route table in the code
# (`wardenctl routes`). Usage: tests/tools/update_route_doc.sh [BUILD_DIR]  (default: build)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
DOC="$ROOT/policies/README.md"
table=$("$BUILD/wardenctl" routes)
python3 - "$DOC" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- routes:begin -->\n", "<!-- routes:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(path, "w").write(text[:a] + table.rstrip("\n") + "\n" + text[b:])
PY
echo "updated $DOC"
