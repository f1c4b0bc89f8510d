//! Step 1 of the tutorial: what a non-blocking socket does, observed.
//!
//! Python's `sock.setblocking(False)` is `set_nonblocking(true)` in Rust. From then on, a
//! call that would have to wait returns at once with an error of kind
//! [`io::ErrorKind::WouldBlock`]: the C library's `EAGAIN` (`EWOULDBLOCK` is the same
//! number on Linux and the BSDs; Winsock's `WSAEWOULDBLOCK` on Windows). It is not a
//! failure. It means "nothing to do now, come
//! back later", and a non-blocking program must handle it at every read and write:
//!
//! 1. **A read with no data** fails with `WouldBlock`. It does not return `Ok(0)`: that
//!    means end of file, the peer closed, and it will never have more.
//! 2. **A write returns how much the kernel took**, which may be less than you gave it (a
//!    *partial write*, Python's `send` returning less than `len(data)`). Once the socket's
//!    buffers are full it fails with `WouldBlock`. The rest is still yours: keep it and send
//!    it later (step 4, `echo_queue`, keeps it in a queue per client).
//! 3. **"Come back later" means: ask a poller.** Retrying in a loop works but burns a core
//!    (step 3, `busy_loop_vs_wait`, measures how much). Instead, register the socket and
//!    `wait`: here the writer is reported writable again once the reader has drained what
//!    filled the buffers.
//!
//! Watch for: the number of bytes the kernel takes before `WouldBlock` (on loopback, the
//! send buffer plus the peer's receive buffer, often megabytes, and it varies: Linux grows
//! the buffers as it goes); and the last write before it, which is usually partial.
//!
//! Run: `cargo run --example nonblocking -- --backend poll`

mod common;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};

/// How much each `write` offers.
const CHUNK: usize = 64 * 1024;
/// More than any loopback socket buffers hold: past it, the socket is not non-blocking.
const MAX_BUFFERED: usize = 256 * 1024 * 1024;
/// How long the writer is watched while nobody reads.
const STILL_FULL: Duration = Duration::from_millis(100);
/// The keys under which the two sockets are registered.
const READER: usize = 0;
const WRITER: usize = 1;

/// What the example saw.
#[derive(Debug)]
pub struct Report {
    /// The error of the first read, with nothing sent yet.
    pub empty_read: io::Error,
    /// Bytes the kernel took before a write failed with `WouldBlock`.
    pub buffered: usize,
    /// The writes that took them.
    pub writes: usize,
    /// Of [`Report::writes`], those that took less than they were offered.
    pub partial_writes: usize,
    /// Whether the writer was reported writable within [`STILL_FULL`] of its
    /// `WouldBlock`, with nobody reading.
    pub writable_while_full: bool,
    /// Bytes the reader had drained when the writer was reported writable again.
    pub drained_before_writable: usize,
    /// Bytes the reader got in all, checked against what was written; then end of file.
    pub received: usize,
}

fn main() -> ExitCode {
    common::run_main("usage: nonblocking [--backend NAME]", &[], &[], |args| {
        run(args.backend).map(drop)
    })
}

/// Runs the three observations over `backend`, printing each.
///
/// # Errors
/// Socket and poller errors, and `InvalidData`/`TimedOut` when the sockets do not behave
/// as described above.
pub fn run(backend: Backend) -> io::Result<Report> {
    let (mut writer, mut reader) = common::tcp_pair()?;
    writer.set_nonblocking(true)?;
    reader.set_nonblocking(true)?;
    println!("backend {backend}: a loopback TCP pair, both ends non-blocking");

    // 1. Nothing was sent: a blocking socket would sleep here; this one answers at once.
    let mut buf = vec![0; CHUNK];
    let empty_read = match reader.read(&mut buf) {
        Ok(n) => return Err(unexpected(format!("read {n} bytes before anything was sent"))),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => e,
        Err(e) => return Err(e),
    };
    let (code, name) = common::WOULD_BLOCK;
    let is_would_block = empty_read.raw_os_error() == Some(code);
    println!(
        "1. read, nothing sent:   Err({empty_read}), kind {:?}{}",
        empty_read.kind(),
        if is_would_block { format!(", that is {name}") } else { String::new() }
    );

    // 2. Nobody reads: write until the kernel has no room left.
    let (mut buffered, mut writes, mut partial_writes) = (0, 0, 0);
    loop {
        let chunk = common::pattern(0, buffered, CHUNK);
        match writer.write(&chunk) {
            Ok(n) => {
                writes += 1;
                if n < chunk.len() {
                    partial_writes += 1;
                    println!(
                        "   write {writes}: offered {} bytes, the kernel took {n}",
                        chunk.len()
                    );
                }
                buffered += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
        if buffered > MAX_BUFFERED {
            return Err(unexpected(format!("wrote {buffered} bytes without WouldBlock")));
        }
    }
    println!(
        "2. write until full:     {buffered} bytes in {writes} writes ({partial_writes} partial), \
         then WouldBlock: our send buffer and the peer's receive buffer are full"
    );

    // 3. Instead of retrying, ask the poller when the writer can go on.
    let poller = AnyPoller::new(backend)?;
    poller.add(writer.as_source(), WRITER, Interest::WRITABLE, Mode::Level)?;
    let mut events = Events::new();
    poller.wait(&mut events, Some(STILL_FULL))?;
    let writable_while_full = events.iter().any(|e| e.key() == WRITER && e.is_writable());
    println!(
        "3. nobody reads: writable within {STILL_FULL:?}? {} (retrying meanwhile would spin for nothing)",
        common::yes_no(writable_while_full)
    );

    // The reader drains as the poller reports it readable, until the writer is writable.
    poller.add(reader.as_source(), READER, Interest::READABLE, Mode::Level)?;
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    let drained_before_writable = 'drain: loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "never writable again"));
        }
        poller.wait(&mut events, Some(left))?;
        for event in &events {
            if event.key() == WRITER && event.is_writable() {
                break 'drain received;
            }
            if event.key() == READER && event.is_readable() {
                received += read_available(&mut reader, &mut buf, received)?.0;
            }
        }
    };
    println!(
        "   the reader drained {drained_before_writable} bytes, then the writer was reported \
         writable: there is room again, write the rest"
    );

    // Ok(0) is the other answer a read can give: the peer closed, and nothing more comes.
    writer.shutdown(Shutdown::Write)?;
    poller.delete(reader.as_source())?;
    poller.delete(writer.as_source())?;
    // Blocking is fine for the rest: after the shutdown, an end is certain to come.
    reader.set_nonblocking(false)?;
    loop {
        let (n, eof) = read_available(&mut reader, &mut buf, received)?;
        received += n;
        if eof {
            break;
        }
    }
    if received != buffered {
        return Err(unexpected(format!("wrote {buffered} bytes, read {received}")));
    }
    println!("   after shutdown: the reader got all {received} bytes, then Ok(0): end of file");

    Ok(Report {
        empty_read,
        buffered,
        writes,
        partial_writes,
        writable_while_full,
        drained_before_writable,
        received,
    })
}

/// Reads until `WouldBlock` or end of file, checking each byte against the pattern the
/// writer sent from stream offset `offset` on; returns the bytes read and whether end of
/// file was reached.
fn read_available(
    reader: &mut impl Read,
    buf: &mut [u8],
    mut offset: usize,
) -> io::Result<(usize, bool)> {
    let start = offset;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok((offset - start, true)),
            Ok(n) => {
                if buf[..n] != common::pattern(0, offset, n)[..] {
                    return Err(unexpected(format!("wrong bytes at stream offset {offset}")));
                }
                offset += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((offset - start, false)),
            Err(e) => return Err(e),
        }
    }
}

fn unexpected(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
