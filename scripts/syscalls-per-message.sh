#!/usr/bin/env bash
# Counts syscalls per echoed message with `strace -c -f`, for each echo server (attached to
# the running server while multipoll-loadgen sends MESSAGES messages) and for the loadgen
# itself on each of its backends (against the raw-epoll peer).
#
# strace slows every syscall down a lot, so the counts, not the times, are the result; the
# batching (events per wait) under strace may be smaller than without it.
#
# Usage: scripts/syscalls-per-message.sh [SERVER...]
#        (default: select poll epoll uring tokio mio raw-epoll;
#        BACKEND:MODE for another mode than level, e.g. uring:oneshot)
# Load:  CONNECTIONS=50 SIZE=64 PIPELINE=1 MESSAGES=50000 (environment)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

CONNECTIONS="${CONNECTIONS:-50}"
SIZE="${SIZE:-64}"
PIPELINE="${PIPELINE:-1}"
MESSAGES="${MESSAGES:-50000}"
PORT="${PORT:-17500}"
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(select poll epoll uring tokio mio raw-epoll)
command -v strace >/dev/null || { echo "strace is missing: apt-get install -y strace" >&2; exit 1; }

build
load=(--connections "$CONNECTIONS" --size "$SIZE" --pipeline "$PIPELINE"
    --messages "$MESSAGES" --warmup 0 --grace 30)

# Prints one table row from an `strace -c` summary: calls per message, total and by syscall.
row() {
    python3 - "$@" <<'PY'
import sys
who, path, messages = sys.argv[1], sys.argv[2], int(sys.argv[3])
calls = {}
for line in open(path):
    parts = line.split()
    # Rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
        calls[parts[-1]] = int(parts[3])
total = sum(calls.values())
top = sorted(calls.items(), key=lambda kv: -kv[1])[:4]
detail = ", ".join(f"{name} {n / messages:.2f}" for name, n in top)
print(f"| {who:<22} | {total / messages:>6.2f} | {detail} |")
PY
}

echo "# $(date -u +%FT%TZ)  $(uname -r)  connections=$CONNECTIONS size=$SIZE pipeline=$PIPELINE messages=$MESSAGES"
printf '| %-22s | %6s | %s |\n' "traced" "per msg" "top syscalls per message"
echo "|------------------------|--------|--------------------------|"
for name in "${servers[@]}"; do
    PORT=$((PORT + 1))
    addr="127.0.0.1:$PORT"
    start_server "$name" "$addr" || continue
    trace=$(mktemp)
    strace -c -f -o "$trace" -p "$SERVER_PID" 2>/dev/null &
    tracer=$!
    sleep 0.5 # let strace attach before the load starts
    taskset -c "$CLIENT_CPU" "$LOADGEN" --addr "$addr" "${load[@]}" >/dev/null ||
        echo "note: loadgen reported failures against $name" >&2
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    stop_server
    row "server $name" "$trace" "$MESSAGES"
    rm -f "$trace"
done

# The client side: the loadgen on each backend, against the raw-epoll floor.
PORT=$((PORT + 1))
addr="127.0.0.1:$PORT"
start_server raw-epoll "$addr"
for backend in select poll epoll uring; do
    trace=$(mktemp)
    strace -c -f -o "$trace" "$LOADGEN" --addr "$addr" --backend "$backend" "${load[@]}" \
        >/dev/null || echo "note: loadgen on $backend reported failures" >&2
    row "loadgen $backend" "$trace" "$MESSAGES"
    rm -f "$trace"
done
stop_server
