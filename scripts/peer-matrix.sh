#!/usr/bin/env bash
# Regenerates the peer matrix in docs/backends.md from a real run: the conformance suite on
# polling and mio (checked against tests/matrix/expected.txt) and on our select, poll,
# epoll and uring. The matrix replaces what stands between the peer-matrix markers; the rest of the
# file is left as it is. Fails, changing nothing, if the run differs from the table.
#
# With `wine`: the Windows section instead, polling on IOCP built for x86_64-pc-windows-gnu
# and run under Wine (checked against tests/matrix/expected-wine.txt), between the
# peer-matrix-wine markers.
#
#     bash scripts/peer-matrix.sh
#     bash scripts/peer-matrix.sh wine
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOC="$ROOT/docs/backends.md"
MATRIX="$(mktemp)"
trap 'rm -f "$MATRIX"' EXIT

case "${1:-linux}" in
linux)
    MARKER=peer-matrix
    (cd "$ROOT" && MATRIX_MD="$MATRIX" cargo test --locked --quiet --test peer_matrix -- --nocapture)
    ;;
wine)
    MARKER=peer-matrix-wine
    bash "$ROOT/.ci/windows/setup"
    # shellcheck source=/dev/null
    . "$ROOT/.ci/windows/env"
    # The test runs under Wine, where this Unix path is on Wine's Z: drive, the host's root.
    (cd "$ROOT" && MATRIX_MD="$MATRIX" cargo test --locked --quiet \
        --target x86_64-pc-windows-gnu --test peer_matrix -- --nocapture)
    ;;
*)
    echo "usage: $0 [linux|wine]" >&2
    exit 2
    ;;
esac

python3 - "$DOC" "$MATRIX" "$MARKER" <<'PY'
import sys

doc_path, matrix_path, marker = sys.argv[1:]
doc = open(doc_path).read()
matrix = open(matrix_path).read().strip("\n")
begin = doc.find(f"<!-- {marker} begin")
end = doc.find(f"<!-- {marker} end -->")
if begin < 0 or end < begin:
    sys.exit(f"{doc_path}: no {marker} markers; add the begin and end lines first")
begin = doc.index("\n", begin) + 1
open(doc_path, "w").write(doc[:begin] + "\n" + matrix + "\n\n" + doc[end:])
print(f"{doc_path}: {marker} updated")
PY
