//! The whole multipoll conformance suite, on the kqueue backend (BSDs and macOS only; this
//! file is type-checked for them by `.ci/bsd-check`).
#![cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
multipoll_conformance::conformance_tests!(multipoll_kqueue::Kqueue);
