#!/usr/bin/env bash
# Runs every test that exercises the kqueue backend, on a FreeBSD, macOS, NetBSD, OpenBSD or
# DragonFly host (kqueue exists nowhere else; on Linux, `.ci/bsd-check` type-checks all of
# this instead, and this script refuses to run):
#
#   1. multipoll-kqueue: the unit tests of the platform-neutral logic (src/changes_tests.rs,
#      src/record_tests.rs) and the whole conformance suite on `Kqueue` (tests/conformance.rs).
#   2. multipoll (the facade), with MULTIPOLL_BACKEND=kqueue: the conformance suite again,
#      on `AnyPoller` forwarding to kqueue; the fault-injection tests (tests/faults.rs) on
#      every backend of the build, kqueue among them; the nesting tests (tests/nesting.rs:
#      a kqueue registered in select, poll and another kqueue); the backend tests, of which
#      `bsd_builds_kqueue` fails if this build has no kqueue (so that nothing below can
#      pass by skipping it).
#   3. multipoll-echo: the kqueue instance (`<case>::kqueue`, selected by the `kqueue`
#      filter), in every mode, of each per-backend echo-server test that can run off Linux:
#      the fault tests (eintr_everywhere, register_fails, wait_fails, ...) and those of
#      ECHO_TESTS below.
#
# Not run here:
#   - the echo tests of LINUX_ONLY below: they measure a child server process through
#     /proc/PID (its fds, CPU time, RSS), which only Linux has;
#   - the echo tests that are not per backend (the command line's);
#   - the root package: tests/poller_model.rs and the benches name the epoll backend,
#     which does not exist on these hosts.
#
# Usage: scripts/test-kqueue.sh [CARGO TEST OPTION...]   (e.g. --release)
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -s)" in
FreeBSD | Darwin | NetBSD | OpenBSD | DragonFly) ;;
*)
    echo "test-kqueue: no kqueue on $(uname -s); .ci/bsd-check type-checks the backend here" >&2
    exit 2
    ;;
esac

ECHO_TESTS=(faults echo limits protocol shutdown slow_reader threads)
LINUX_ONLY=(churn close fd_exhaustion flood scale slowloris)
# A new echo test file must be sorted into one list or the other (cli is not per backend).
for file in crates/echo/tests/*.rs; do
    name=$(basename "$file" .rs)
    case " cli ${ECHO_TESTS[*]} ${LINUX_ONLY[*]} " in
    *" $name "*) ;;
    *)
        echo "test-kqueue: crates/echo/tests/$name.rs is in neither ECHO_TESTS nor LINUX_ONLY" >&2
        exit 1
        ;;
    esac
done

run() {
    printf '\n=== %s\n' "$*" >&2
    "$@"
}

run cargo test --locked "$@" -p multipoll-kqueue
MULTIPOLL_BACKEND=kqueue run cargo test --locked "$@" -p multipoll
echo "test-kqueue: echo tests left out, Linux only (/proc): ${LINUX_ONLY[*]}" >&2
run cargo test --locked "$@" -p multipoll-echo "${ECHO_TESTS[@]/#/--test=}" -- kqueue
echo "test-kqueue: all kqueue tests passed" >&2
