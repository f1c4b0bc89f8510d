//! The conformance suite on the runtime-chosen poller: `AnyPoller::new()` takes the backend
//! from `MULTIPOLL_BACKEND`, or the compile-time default (`DefaultPoller`'s) when it is
//! unset, so one binary checks the facade's forwarding to any backend
//! (`scripts/test-kqueue.sh` runs it with `MULTIPOLL_BACKEND=kqueue`).
mod any {
    multipoll_conformance::conformance_tests!(multipoll::AnyPoller);
}
