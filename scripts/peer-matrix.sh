#!/usr/bin/env bash
# Regenerates the peer matrix in docs/backends.md from a real run: the conformance suite on
# polling and mio (checked against tests/matrix/expected.txt) and on our select, poll,
# epoll and uring. The matrix replaces what stands between the peer-matrix markers; the rest of the
# file is left as it is. Fails, changing nothing, if the run differs from the table.
#
#     bash scripts/peer-matrix.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOC="$ROOT/docs/backends.md"
MATRIX="$(mktemp)"
trap 'rm -f "$MATRIX"' EXIT

(cd "$ROOT" && MATRIX_MD="$MATRIX" cargo test --locked --quiet --test peer_matrix -- --nocapture)

python3 - "$DOC" "$MATRIX" <<'PY'
import sys

doc_path, matrix_path = sys.argv[1:]
doc = open(doc_path).read()
matrix = open(matrix_path).read().strip("\n")
begin = doc.find("<!-- peer-matrix begin")
end = doc.find("<!-- peer-matrix end -->")
if begin < 0 or end < begin:
    sys.exit(f"{doc_path}: no peer-matrix markers; add the begin and end lines first")
begin = doc.index("\n", begin) + 1
open(doc_path, "w").write(doc[:begin] + "\n" + matrix + "\n\n" + doc[end:])
print(f"{doc_path}: peer matrix updated")
PY
