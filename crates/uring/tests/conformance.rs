//! The whole multipoll conformance suite, on the io_uring backend.
#![cfg(any(target_os = "linux", target_os = "android"))]
multipoll_conformance::conformance_tests!(multipoll_uring::Uring);
