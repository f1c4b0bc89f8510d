#!/usr/bin/env bash
# Compares echo servers under the same load: multipoll-echo on each backend, and the
# reference peers (tokio current_thread, plain mio, raw-libc epoll), one after the other.
# The server is pinned to one core (SERVER_CPU, default 1) and multipoll-loadgen to the
# other (CLIENT_CPU, default 0). For each server it reports throughput, latency p50/p99,
# and the server's CPU per echoed message (user and system, from /proc/PID/stat over the
# measured window).
#
# Usage: scripts/compare-echo.sh [SERVER...]
#        (default: select poll epoll uring tokio mio raw-epoll;
#        BACKEND:MODE for another mode than level, e.g. uring:oneshot)
# Load:  CONNECTIONS=50 SIZE=64 PIPELINE=1 DURATION=5 WARMUP=1 ROUNDS=1 IDLE=0 (environment)
#
# IDLE=N adds N connections that stay silent for the run (the loadgen's --idle), to
# measure what registered-but-quiet fds cost each backend's wait. Each is an fd in the
# server and one in the loadgen, so the soft fd limit is raised to the hard one. select
# cannot register fds past FD_SETSIZE (1024): keep CONNECTIONS + IDLE below ~1000 for it.
#
# With ROUNDS > 1 the servers take turns, round after round, so a burst of noise from
# the rest of the machine hits all of them alike.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

CONNECTIONS="${CONNECTIONS:-50}"
SIZE="${SIZE:-64}"
PIPELINE="${PIPELINE:-1}"
DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-1}"
ROUNDS="${ROUNDS:-1}"
IDLE="${IDLE:-0}"
PORT="${PORT:-17300}"
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(select poll epoll uring tokio mio raw-epoll)

build
# Inherited by the servers and the loadgen started below.
[ "$IDLE" -eq 0 ] || ulimit -n "$(ulimit -Hn)"
hz=$(getconf CLK_TCK)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "# $(date -u +%FT%TZ)  $(uname -r)  $(nproc) cores  connections=$CONNECTIONS size=$SIZE" \
    "idle=$IDLE pipeline=$PIPELINE duration=${DURATION}s warmup=${WARMUP}s rounds=$ROUNDS"
echo "# server on cpu $SERVER_CPU, loadgen on cpu $CLIENT_CPU; CPU columns are server µs per message"
printf '| %-9s | %5s | %10s | %8s | %8s | %8s | %9s | %9s | %9s |\n' \
    server round "msgs/s" "MiB/s" "p50 µs" "p99 µs" "user µs" "sys µs" "total µs"
printf '|%s\n' "-----------|-------|------------|----------|----------|----------|-----------|-----------|-----------|"
for round in $(seq "$ROUNDS"); do
    for name in "${servers[@]}"; do
        PORT=$((PORT + 1))
        addr="127.0.0.1:$PORT"
        if ! start_server "$name" "$addr"; then
            continue
        fi
        out=$(mktemp)
        taskset -c "$CLIENT_CPU" "$LOADGEN" --addr "$addr" --connections "$CONNECTIONS" \
            --idle "$IDLE" --size "$SIZE" --pipeline "$PIPELINE" --duration "$DURATION" --warmup "$WARMUP" \
            --json >"$out" &
        client=$!
        # The measured window starts after the warm-up and lasts DURATION seconds.
        sleep "$WARMUP"
        read -r u0 s0 < <(cpu_ticks "$SERVER_PID")
        sleep "$DURATION"
        read -r u1 s1 < <(cpu_ticks "$SERVER_PID")
        status=0
        wait "$client" || status=$?
        stop_server
        if [ "$status" -ne 0 ]; then
            echo "| $name | $round | FAILED: $(json_field failures.first <"$out" 2>/dev/null || cat "$out") |"
            rm -f "$out"
            continue
        fi
        msgs=$(json_field messages <"$out")
        python3 - "$name" "$round" "$out" "$msgs" "$hz" "$u0" "$s0" "$u1" "$s1" "$results" <<'PY'
import json, sys
name, rnd, path, msgs, hz, u0, s0, u1, s1, results = sys.argv[1:]
r = json.load(open(path))
msgs, hz = int(msgs), int(hz)
per = lambda ticks: ticks / hz / max(msgs, 1) * 1e6
user, system = per(int(u1) - int(u0)), per(int(s1) - int(s0))
print(f"| {name:<9} | {rnd:>5} | {r['msgs_per_sec']:>10.0f} | {r['mib_per_sec']:>8.2f} | "
      f"{r['latency']['p50_us']:>8.1f} | {r['latency']['p99_us']:>8.1f} | "
      f"{user:>9.2f} | {system:>9.2f} | {user + system:>9.2f} |")
with open(results, "a") as f:
    f.write(f"{name}\t{r['msgs_per_sec']}\t{r['latency']['p99_us']}\t{user}\t{system}\n")
PY
        rm -f "$out"
    done
done

# With several rounds, the median of each column per server (rows keep their own order).
if [ "$ROUNDS" -gt 1 ]; then
    python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *values = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append([float(v) for v in values])
print("\nmedian over rounds:\n")
print("| server | rounds | msgs/s | p99 µs | user µs/msg | sys µs/msg | total µs/msg |")
print("|---|---|---|---|---|---|---|")
for name, runs in rows.items():
    msgs, p99, user, system = (statistics.median(col) for col in zip(*runs))
    total = statistics.median(u + s for _, _, u, s in runs)
    print(f"| {name} | {len(runs)} | {msgs:.0f} | {p99:.1f} | {user:.2f} | {system:.2f} | {total:.2f} |")
PY
fi
