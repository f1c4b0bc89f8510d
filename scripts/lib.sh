# Shared by the echo comparison scripts: build once, start a pinned server, wait for its
# port, read its CPU time, stop it. Source it; it expects `set -euo pipefail`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release"
# Server on one core, client on the other (this machine has two).
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
LOADGEN="$BIN/multipoll-loadgen"
ECHO="$BIN/multipoll-echo"
PEER="$BIN/examples/echo_peer"
TOKIO_CLIENT="$BIN/examples/tokio_client"

# Builds the loadgen, the reference peers and (when the crate has its binary) multipoll-echo.
build() {
    (cd "$ROOT" && cargo build --release --quiet -p multipoll-loadgen --features peers \
        --bins --example echo_peer --example tokio_client)
    (cd "$ROOT" && cargo build --release --quiet -p multipoll-echo --bins) ||
        echo "note: multipoll-echo did not build; only the peers will run" >&2
}

# The command line of server NAME on ADDR: a backend name runs multipoll-echo on it, in
# level mode or in the mode after a colon (`uring:oneshot`); tokio, mio and raw-epoll run
# that reference peer.
server_cmd() {
    local name=$1 addr=$2
    case "$name" in
        tokio | mio | raw-epoll) echo "$PEER --peer $name --addr $addr" ;;
        *:*) echo "$ECHO --backend ${name%%:*} --mode ${name#*:} --addr $addr" ;;
        *) echo "$ECHO --backend $name --addr $addr" ;;
    esac
}

# Starts server NAME on ADDR pinned to SERVER_CPU; sets SERVER_PID.
start_server() {
    local name=$1 addr=$2
    # shellcheck disable=SC2046
    taskset -c "$SERVER_CPU" $(server_cmd "$name" "$addr") >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_port "${addr##*:}" || { echo "server $name did not start on $addr" >&2; return 1; }
}

# Waits (up to 10 s) until something listens on 127.0.0.1:PORT.
wait_port() {
    local port=$1 i
    for i in $(seq 100); do
        if ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.1
    done
    return 1
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# User and system CPU time of PID and its threads, in clock ticks: "utime stime".
cpu_ticks() {
    # Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may hold spaces,
    # so count from the closing parenthesis.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'
}

# Reads one field of a JSON object on stdin, e.g. `json_field msgs_per_sec` or
# `json_field latency.p99_us`.
json_field() {
    python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$1"
}
