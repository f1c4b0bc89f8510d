//! The tutorial examples and the programs ported from polling and mio (`examples/*.rs`),
//! run over every backend this build has.
//!
//! Cargo gives tests no path to example binaries (`CARGO_BIN_EXE_*` exists for `[[bin]]`
//! targets only), and one found in `target/*/examples/` may be stale: `cargo test --test
//! examples` does not rebuild it. So each example keeps its logic in a `pub fn` that
//! returns what it observed, and this file compiles the example's own source as a module
//! (`#[path]`) and calls that function: what runs here is always the code in the file.
//! Their `main`s are three lines over `common::run_main`, whose argument parsing is tested
//! below; `cargo test` builds every example binary besides.
//!
//! All seven run on Windows too (their sockets are loopback TCP, registered with
//! `as_source()`), and `.ci/windows-check` runs this file under Wine.
#![allow(
    clippy::duplicate_mod,
    reason = "each example is its own binary with its own `mod common`, so each module here has a copy"
)]

use std::io;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use multipoll::{Backend, Mode, Poller};

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/nonblocking.rs"]
mod nonblocking;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/wait_readable.rs"]
mod wait_readable;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/busy_loop_vs_wait.rs"]
mod busy_loop_vs_wait;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/echo_queue.rs"]
mod echo_queue;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/polling_two_listeners.rs"]
mod polling_two_listeners;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/polling_tcp_client.rs"]
mod polling_tcp_client;

#[allow(dead_code, reason = "the binary's main; this test calls the logic")]
#[path = "../examples/mio_tcp_server.rs"]
mod mio_tcp_server;

#[path = "../examples/common/mod.rs"]
mod common;

/// The backends to run each example over; at least select and poll exist on every Unix and
/// on Windows, so an empty list is a broken build, not a reason to pass.
#[track_caller]
fn backends() -> Vec<Backend> {
    let backends: Vec<Backend> = Backend::available().collect();
    assert!(backends.len() >= 2, "only {backends:?} available");
    backends
}

/// Held shared by the tests that use sockets, and alone by the one that measures CPU time:
/// under Wine every socket call of every thread is a round trip to the one wineserver
/// process, so an echo test beside it cut the busy loop's reads tenfold (1500 in a second
/// instead of 19500), and on two shared cores any neighbour takes its CPU.
static SOCKETS: RwLock<()> = RwLock::new(());

fn sockets_shared() -> RwLockReadGuard<'static, ()> {
    SOCKETS.read().unwrap_or_else(PoisonError::into_inner)
}

fn sockets_alone() -> RwLockWriteGuard<'static, ()> {
    SOCKETS.write().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn nonblocking_shows_eagain_and_full_buffers() -> io::Result<()> {
    let _sockets = sockets_shared();
    for backend in backends() {
        let report = nonblocking::run(backend)?;
        assert_eq!(report.empty_read.kind(), io::ErrorKind::WouldBlock, "{backend}");
        assert_eq!(report.empty_read.raw_os_error(), Some(common::WOULD_BLOCK.0), "{backend}");
        assert!(report.buffered > 0 && report.writes > 0, "{backend}: {report:?}");
        // All of it came back in order (run checks every byte) before end of file.
        assert_eq!(report.received, report.buffered, "{backend}");
        // Room comes back only when the reader makes some: not while nobody reads.
        assert!(!report.writable_while_full, "{backend}: writable with full buffers");
        assert!(report.drained_before_writable > 0, "{backend}: writable before any drain");
    }
    Ok(())
}

#[test]
fn wait_readable_answers_each_question() -> io::Result<()> {
    let _sockets = sockets_shared();
    for backend in backends() {
        let report = wait_readable::run(backend)?;
        assert!(!report.readable_at_start, "{backend}: readable with nothing sent");
        let (quiet, took) = report.quiet_wait;
        assert!(!quiet, "{backend}: readable with nothing sent");
        assert!(took >= Duration::from_millis(100), "{backend}: timed out early, {took:?}");
        let (data, took) = report.data_wait;
        assert!(data, "{backend}: data never reported");
        assert!(took < Duration::from_secs(5), "{backend}: reported only at the timeout");
        assert!(report.readable_before_read, "{backend}: level readiness lost before reading");
        assert!(!report.readable_after_read, "{backend}: still readable after reading");
        assert_eq!(report.closed_wait, (true, 0), "{backend}: end of file not readable");
    }
    Ok(())
}

#[test]
fn busy_loop_costs_cpu_and_wait_does_not() -> io::Result<()> {
    let _alone = sockets_alone();
    // Windows counts a thread's CPU time in clock ticks (under Wine every `GetThreadTimes`
    // value was a multiple of 10 ms; Windows' default tick is 15.6 ms), so one tick of the
    // wait's setup would already be `time / 20` of 200 ms. And under Wine each `recv` is a
    // round trip to the wineserver process: the busy loop made 400 to 4300 reads in 200 ms
    // (millions on Linux), most of their cost in the wineserver's CPU, not this thread's.
    // A second leaves every bound below room for both.
    let time = Duration::from_millis(if cfg!(windows) { 1000 } else { 200 });
    for backend in backends() {
        let report = busy_loop_vs_wait::run(backend, 8, time)?;
        let (busy, wait) = (report.busy.cpu.total(), report.wait.cpu.total());
        // A blocked wait costs microseconds however loaded the machine; the busy loop
        // gets whatever CPU it is given: all of a core when idle, still far more than
        // wait's when other work shares the two cores here.
        assert!(report.wait.wall >= time && report.busy.wall >= time, "{backend}: {report:?}");
        assert!(wait <= time / 20, "{backend}: wait used {wait:?} of CPU in {time:?}");
        assert!(busy >= time / 20, "{backend}: the busy loop used only {busy:?}");
        // 5×, not more: on a loaded machine the busy loop may get a tenth of a core, and
        // the wait's few milliseconds of setup and scheduling stay.
        assert!(busy >= wait * 5, "{backend}: busy {busy:?} vs wait {wait:?}");
        assert!(report.busy.calls > report.wait.calls * 1000, "{backend}: {report:?}");
    }
    Ok(())
}

#[test]
fn echo_queue_once_echoes_in_order_through_the_queues() -> io::Result<()> {
    let _sockets = sockets_shared();
    let (clients, bytes) = (4, echo_queue::HIGH_WATER);
    for backend in backends() {
        let stats = echo_queue::self_test(backend, clients, bytes)?;
        assert_eq!(stats.accepted, clients, "{backend}");
        assert_eq!(stats.echoed, clients * bytes, "{backend}");
        assert_eq!(stats.errors, 0, "{backend}");
        // The self-test's small send buffers leave most of each megabyte to the queue.
        assert!(stats.queued_writes > 0, "{backend}: the queue was never used");
        assert!(stats.max_queued > bytes / 2, "{backend}: queues held only {}", stats.max_queued);
    }
    Ok(())
}

#[test]
fn polling_two_listeners_answers_through_each_listener() -> io::Result<()> {
    let _sockets = sockets_shared();
    for backend in backends() {
        // self_test checks that each client is answered by the listener it dialled.
        assert_eq!(polling_two_listeners::self_test(backend, 3)?, [3, 3], "{backend}");
    }
    Ok(())
}

#[test]
fn polling_tcp_client_connects_without_blocking() -> io::Result<()> {
    let _sockets = sockets_shared();
    for backend in backends() {
        let answer = polling_tcp_client::self_test(backend)?;
        assert!(answer.starts_with(b"HTTP/1.0 200 OK"), "{backend}: {answer:?}");
    }
    Ok(())
}

#[test]
fn polling_tcp_client_reports_a_refused_connect() -> io::Result<()> {
    let _sockets = sockets_shared();
    // A port nobody listens on: bound, then closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    for backend in backends() {
        let err = polling_tcp_client::fetch(backend, addr, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{backend}: {err}");
    }
    Ok(())
}

#[test]
fn mio_tcp_server_picks_edge_where_supported() -> io::Result<()> {
    let _sockets = sockets_shared();
    let (clients, bytes) = (4, 64 * 1024);
    for backend in backends() {
        let report = mio_tcp_server::self_test(backend, clients, bytes)?;
        let edge = multipoll::AnyPoller::new(backend)?.capabilities().supports(Mode::Edge);
        let expected = if edge { Mode::Edge } else { Mode::Level };
        assert_eq!(report.mode, expected, "{backend}");
        if matches!(backend, Backend::Select | Backend::Poll) {
            assert_eq!(report.mode, Mode::Level, "{backend} has no edge mode");
        }
        assert_eq!(report.accepted, clients, "{backend}");
        assert_eq!(report.echoed, clients * bytes, "{backend}");
    }
    Ok(())
}

#[test]
fn arguments_parse_as_documented() -> io::Result<()> {
    let parse = |args: &[&str]| {
        common::Args::parse_from(args.iter().map(|a| a.to_string()), &["--once"], &["--port"])
    };
    let args = parse(&["--backend", "poll", "--once", "--port=7"])?;
    assert_eq!(args.backend, Backend::Poll);
    assert!(args.flag("--once"));
    assert_eq!(args.value("--port", 0u16)?, 7);

    let args = parse(&["--backend=select"])?;
    assert_eq!(args.backend, Backend::Select);
    assert!(!args.flag("--once"));
    assert_eq!(args.value("--port", 9u16)?, 9, "the default when not given");
    assert_eq!(parse(&[])?.backend, Backend::compiled_default());

    let kind = |args: &[&str]| parse(args).err().map(|e| e.kind());
    assert_eq!(kind(&["--backend", "nope"]), Some(io::ErrorKind::InvalidInput));
    assert_eq!(kind(&["--backend"]), Some(io::ErrorKind::InvalidInput), "missing value");
    assert_eq!(kind(&["--bogus"]), Some(io::ErrorKind::InvalidInput));
    assert_eq!(kind(&["--once=yes"]), Some(io::ErrorKind::InvalidInput), "a flag takes none");
    assert_eq!(
        parse(&["--port", "x"])?.value("--port", 0u16).err().map(|e| e.kind()),
        Some(io::ErrorKind::InvalidInput)
    );
    // Named, but not in this build: refused with the available ones listed.
    #[cfg(target_os = "linux")]
    assert_eq!(kind(&["--backend", "kqueue"]), Some(io::ErrorKind::Unsupported));
    Ok(())
}
