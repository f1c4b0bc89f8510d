//! The kernel matches `POLLERR`, `POLLHUP` and `POLLRDHUP` whether asked or not. A
//! write-only registration on a socket whose peer has shut down its side, with no room to
//! write, hears only `POLLRDHUP`: nothing it asked for, so nothing is reported, and a
//! poll that would complete again at once must not be re-armed as such (the wait would
//! spin). Once the peer reads and room frees up, writable is reported.
#![cfg(all(any(target_os = "linux", target_os = "android"), not(uring_unavailable)))]

use std::io::{self, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use multipoll_conformance::util::{
    CpuMeter, QUIET, Want, drain, expect_events, expect_no_events, unix_pair,
};
use multipoll_uring::{Events, Interest, Mode, Poller, Uring};

/// Writes to `stream` until its buffer is full.
fn fill(mut stream: &UnixStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    let chunk = [0u8; 4096];
    loop {
        match stream.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn peer_shutdown_is_not_reported_to_a_full_writer() -> io::Result<()> {
    for &mode in Mode::ALL {
        let poller = Uring::new()?;
        let mut events = Events::new();
        let (a, b) = unix_pair()?;
        fill(&b)?;
        a.shutdown(Shutdown::Write)?;
        poller.add(b.as_fd(), 1, Interest::WRITABLE, mode)?;
        let meter = CpuMeter::start();
        expect_no_events(&poller, &mut events, QUIET)?;
        expect_no_events(&poller, &mut events, QUIET)?;
        meter.assert_blocked(&format!("{mode}: a write-only registration hearing POLLRDHUP"));
        assert!(drain(&a)? > 0);
        expect_events(&poller, &mut events, &[Want::writable(1)])?;
    }
    Ok(())
}
