//! The Winsock behaviours (`winsock/behaviours.rs`) on the poll backend: `WSAPoll`.
#![cfg(windows)]

#[macro_use]
#[path = "winsock/behaviours.rs"]
mod behaviours;

winsock_tests!(multipoll_poll::Poll);
