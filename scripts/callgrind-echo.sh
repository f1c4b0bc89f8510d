#!/usr/bin/env bash
# Instructions per echoed message, counted by callgrind: deterministic where CPU time is
# not (the same binary and load give the same count within ~1 %, whatever else the
# machine runs).
#
# Each server (the release multipoll-echo on a backend, or a reference peer) runs under
# `valgrind --tool=callgrind`, pinned to SERVER_CPU. multipoll-loadgen (pinned to
# CLIENT_CPU) first sends WARMUP messages; then the counters are zeroed
# (`callgrind_control -z`), the loadgen sends MESSAGES more over fresh connections, and
# the counters are dumped (`callgrind_control -d`). The result is the server process's
# instructions in that window (every thread, user space; the kernel's work is not
# counted) divided by MESSAGES; the window includes accepting and closing the
# CONNECTIONS connections, a few instructions per message at the default load.
#
# "wait" is the part spent in the poller's wait, inclusive (the backend's `Poller::wait`,
# mio's `Poll::poll`), per message; "the rest" is the server's own work around it.
#
# Usage: scripts/callgrind-echo.sh [SERVER...]   (default: epoll poll select mio raw-epoll)
#        SERVER is a backend name (multipoll-echo on it, level-triggered unless MODE is
#        set, with ECHO_FLAGS added, e.g. ECHO_FLAGS="--idle-timeout 60s"), or tokio,
#        mio, raw-epoll (the peers of crates/loadgen/src/peers).
# Load:  CONNECTIONS=50 SIZE=64 PIPELINE=1 WARMUP=20000 MESSAGES=100000 (environment)
# Keep:  KEEP=DIR keeps each server's dump there (callgrind_annotate DIR/NAME.out).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

CONNECTIONS="${CONNECTIONS:-50}"
SIZE="${SIZE:-64}"
PIPELINE="${PIPELINE:-1}"
WARMUP="${WARMUP:-20000}"
MESSAGES="${MESSAGES:-100000}"
MODE="${MODE:-level}"
ECHO_FLAGS="${ECHO_FLAGS:-}"
PORT="${PORT:-17600}"
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(epoll poll select mio raw-epoll)
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }

build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load=(--connections "$CONNECTIONS" --size "$SIZE" --pipeline "$PIPELINE" --warmup 0 --grace 60)

# Prints one table row from a callgrind dump: instructions per message in all, in the
# poller's wait (inclusive) and outside it.
row() {
    python3 - "$@" <<'PY'
import re, subprocess, sys
name, path, messages = sys.argv[1], sys.argv[2], int(sys.argv[3])
total = next(int(l.split()[1]) for l in open(path) if l.startswith(("summary:", "totals:")))
out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                     capture_output=True, text=True, check=True).stdout
# The wait: our backends' `Poller::wait` (the emulated ones' work is the closure that
# their `wait` hands `PerWaiter::with`: the wait rule and its turns), mio's `Poll::poll`,
# tokio's driver turn, or the raw loop's bare `epoll_wait`.
wait_fn = re.compile(r"(Poller>::wait(::\{\{closure\}\})?|mio::poll::Poll::poll|"
                     r"runtime::io::driver::Driver::turn|:epoll_wait)( |$)")
wait = 0
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(?:.*?\.(?:rs|c|S|h)|\?\?\?):(.*?)( \[.*\])?$", line)
    if m and wait_fn.search(":" + m.group(2)):
        wait = max(wait, int(m.group(1).replace(",", "")))
per = lambda ir: ir / messages
print(f"| {name:<22} | {per(total):>9.0f} | {per(wait):>6.0f} | {per(total - wait):>9.0f} |")
PY
}

echo "# $(date -u +%FT%TZ)  $(uname -r)  $(valgrind --version)  connections=$CONNECTIONS" \
    "size=$SIZE pipeline=$PIPELINE warmup=$WARMUP messages=$MESSAGES mode=$MODE" \
    "echo flags: ${ECHO_FLAGS:-none}"
printf '| %-22s | %9s | %6s | %9s |\n' server "instr/msg" "wait" "the rest"
echo "|------------------------|-----------|--------|-----------|"
for name in "${servers[@]}"; do
    PORT=$((PORT + 1))
    addr="127.0.0.1:$PORT"
    case "$name" in
        tokio | mio | raw-epoll) label=$name ;;
        *) label="multipoll-echo $name" ;;
    esac
    out="$work/$name.out"
    cmd=$(server_cmd "$name" "$addr")
    case "$name" in
        tokio | mio | raw-epoll) ;;
        *) cmd="$cmd --mode $MODE $ECHO_FLAGS" ;;
    esac
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$out" \
        $cmd >/dev/null 2>"$work/$name.log" &
    SERVER_PID=$!
    # Valgrind takes a few seconds to start a program.
    for _ in $(seq 300); do
        ss -Hltn "sport = :${addr##*:}" | grep -q . && break
        sleep 0.1
    done
    taskset -c "$CLIENT_CPU" "$LOADGEN" --addr "$addr" "${load[@]}" --messages "$WARMUP" >/dev/null
    callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
    taskset -c "$CLIENT_CPU" "$LOADGEN" --addr "$addr" "${load[@]}" --messages "$MESSAGES" >/dev/null
    callgrind_control -d "$SERVER_PID" >/dev/null 2>&1
    stop_server
    dump=$(ls "$out".* 2>/dev/null | head -1)
    [ -n "$dump" ] || { echo "| $label | no dump: $(tail -3 "$work/$name.log") |"; continue; }
    row "$label" "$dump" "$MESSAGES"
    if [ -n "${KEEP:-}" ]; then
        mkdir -p "$KEEP"
        cp "$dump" "$KEEP/$name.out"
    fi
done
