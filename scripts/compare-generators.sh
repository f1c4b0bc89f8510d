#!/usr/bin/env bash
# Checks that multipoll-loadgen drives an echo server at least as hard as a load generator
# written the obvious way with tokio (crates/loadgen/examples/tokio_client.rs: one
# current_thread runtime, a task per connection, the same byte verification). Both run,
# in turns, against the same server with the same parameters; the server is pinned to
# SERVER_CPU (default 1), the client to CLIENT_CPU (default 0).
#
# Reports messages/s and the client's own CPU per message (user + system, from
# getrusage over the whole client run, no warm-up), the fairer number on a shared machine.
#
# Usage: scripts/compare-generators.sh [SERVER]    (default raw-epoll; or tokio, mio, epoll, ...)
# Load:  CONNECTIONS=50 SIZE=64 PIPELINE=1 DURATION=5 ROUNDS=3 (environment)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

SERVER="${1:-raw-epoll}"
CONNECTIONS="${CONNECTIONS:-50}"
SIZE="${SIZE:-64}"
PIPELINE="${PIPELINE:-1}"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-17400}"

build
addr="127.0.0.1:$PORT"
start_server "$SERVER" "$addr"
trap stop_server EXIT

common=(--addr "$addr" --connections "$CONNECTIONS" --size "$SIZE" --pipeline "$PIPELINE"
    --duration "$DURATION" --warmup 0)
echo "# $(date -u +%FT%TZ)  $(uname -r)  $(nproc) cores  server=$SERVER connections=$CONNECTIONS" \
    "size=$SIZE pipeline=$PIPELINE duration=${DURATION}s"
printf '| %-8s | %5s | %10s | %14s |\n' client round "msgs/s" "client µs/msg"
echo "|----------|-------|------------|----------------|"
for round in $(seq "$ROUNDS"); do
    for client in loadgen tokio; do
        case "$client" in
            loadgen) cmd=("$LOADGEN" "${common[@]}" --json) ;;
            tokio) cmd=("$TOKIO_CLIENT" "${common[@]}") ;;
        esac
        # Runs the client pinned and prints its JSON line plus its CPU seconds.
        python3 - "$client" "$round" "$CLIENT_CPU" "${cmd[@]}" <<'PY'
import json, resource, subprocess, sys
client, rnd, cpu, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
out = subprocess.run(["taskset", "-c", cpu] + cmd, capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
if out.returncode != 0:
    sys.exit(f"{client} failed: {out.stdout}{out.stderr}")
r = json.loads(out.stdout)
per = (usage.ru_utime + usage.ru_stime) / max(r["messages"], 1) * 1e6
print(f"| {client:<8} | {rnd:>5} | {r['msgs_per_sec']:>10.0f} | {per:>14.2f} |")
PY
    done
done
