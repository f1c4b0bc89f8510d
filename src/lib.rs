//! Integration tests and benchmarks for multipoll live in tests/ and benches/.
//!
//! Here, the examples in the workspace README and in the published crates' READMEs (what
//! crates.io shows) run as this package's doctests, so that they keep to today's API:
//! `cargo test --doc`. The workspace README is included from here rather than from the
//! facade because a packaged crate may not reach a file outside its directory (`cargo
//! publish` would fail), and this package is not published. Not among
//! them: multipoll-conformance's (a one-line test file for *your* backend) and
//! multipoll-kqueue's (this package is Linux-only, its tests and benches name the epoll
//! backend; that example is the kqueue crate's own doctest).
#![doc(test(attr(deny(warnings))))]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct WorkspaceReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/core/README.md")]
struct CoreReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/select/README.md")]
struct SelectReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/poll/README.md")]
struct PollReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/epoll/README.md")]
struct EpollReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/uring/README.md")]
struct UringReadme;

#[cfg(doctest)]
#[doc = include_str!("../crates/multipoll/README.md")]
struct MultipollReadme;
