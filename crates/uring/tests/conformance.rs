//! The whole multipoll conformance suite, on the io_uring backend.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]
multipoll_conformance::conformance_tests!(multipoll_uring::Uring);
