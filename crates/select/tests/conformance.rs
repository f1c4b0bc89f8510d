//! The whole multipoll conformance suite, on the select backend (Unix only so far; on
//! Windows, tests/winsock.rs).
#![cfg(unix)]
multipoll_conformance::conformance_tests!(multipoll_select::Select);
