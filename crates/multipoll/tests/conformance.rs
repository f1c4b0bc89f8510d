//! The conformance suite on the runtime-chosen poller (its default backend) and on the
//! compile-time default.
mod any {
    multipoll_conformance::conformance_tests!(multipoll::AnyPoller);
}
