//! The Winsock behaviours on the select backend: Winsock `select`. They live once, with
//! the poll backend's (`crates/poll/tests/winsock/behaviours.rs`), until the conformance
//! suite runs on Windows.
#![cfg(windows)]

#[macro_use]
#[path = "../../poll/tests/winsock/behaviours.rs"]
mod behaviours;

winsock_tests!(multipoll_select::Select);
