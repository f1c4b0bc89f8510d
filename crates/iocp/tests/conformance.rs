//! The whole multipoll conformance suite, on the IOCP backend (the behaviours Windows has;
//! under Wine in CI).
#![cfg(windows)]
multipoll_conformance::conformance_tests!(multipoll_iocp::Iocp);
