#!/usr/bin/env bash
# Counts the user-space instructions of one `wait_paired` contender per iteration (for the
# edge contenders: one eventfd write and one wait), with valgrind's callgrind on the
# release bench binary. Deterministic, unlike the times: the number to compare when a
# change to a wait's path is too small for a noisy machine to show.
#
# Each contender runs alone (`wait_paired --count LABEL WAITS`, N = 1 000 fds) twice, for
# 2 000 and for 12 000 iterations; the difference of the two totals, over 10 000, is what
# one iteration costs, with the setup (sockets, registrations) cancelled out. Under
# valgrind `epoll_pwait2` is refused (ENOSYS), so the epoll backend uses `epoll_wait`, as
# it does anyway for waits without a timeout.
#
# Usage: scripts/wait-instructions.sh [LABEL...]
#        (default: "epoll edge" "mio edge" "bump only" "epoll level" "polling edge")
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
labels=("$@")
[ ${#labels[@]} -gt 0 ] || labels=("epoll edge" "mio edge" "bump only" "epoll level" "polling edge")
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }

bench=$(cd "$ROOT" && cargo bench --bench wait_paired --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "wait_paired" and m.get("executable"):
        print(m["executable"])')
[ -n "$bench" ] || { echo "wait-instructions: the wait_paired bench did not build" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Total instructions of `wait_paired --count LABEL WAITS`.
total() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bench" --count "$1" "$2" \
        >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
    awk '/^(summary|totals):/ { print $2; exit }' "$out/cg"
}

echo "| contender | instructions per iteration |"
echo "|---|---|"
for label in "${labels[@]}"; do
    few=$(total "$label" 2000)
    many=$(total "$label" 12000)
    echo "| $label | $(((many - few) / 10000)) |"
done
