//! The whole multipoll conformance suite, on the epoll backend.
#![cfg(any(target_os = "linux", target_os = "android"))]
multipoll_conformance::conformance_tests!(multipoll_epoll::Epoll);
