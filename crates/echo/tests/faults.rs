//! Injected syscall faults on the server's own paths: `accept`, `read` and `write` fail
//! as a kernel may make them fail, on every backend and mode. `EINTR` everywhere is
//! retried and everything is echoed byte for byte; out of fds or memory, the server backs
//! off from `accept` and serves its clients meanwhile; a per-connection `accept` error is
//! skipped; `EAGAIN` storms end and leave nothing behind; a reset or broken pipe drops that
//! connection alone; a registration the poller refuses costs that connection alone, and
//! never the listener, and a listener the poller refuses to re-arm (oneshot modes) backs off
//! and is re-armed; a wait that fails for want of memory is retried after a back-off, and
//! one that retrying cannot fix stops the loop cleanly. After each, the loop is idle
//! again (its thread's CPU-time clock), holds only the fds it should (the sockets of this
//! process on its port), and no panic reached the test (the loop's thread is joined).
//!
//! Faults are armed per thread, so they are armed on the loop's thread: before it runs
//! (the `around` closure of [`TestServer::start_with`]), or while it runs by [`Arming`],
//! an echo that arms what the test queued when one of the test's clients sends.
//! `EBADF` from a registered fd closed behind the poller's back is the poller's business,
//! checked by the conformance suite (`closed_without_delete`).

// Unix-only: it arms Unix errnos (EINTR, EMFILE, ECONNRESET, EPIPE, ...) at the socket
// and poller calls and reads the sockets of this process by fd number.
#![cfg(unix)]

pub mod util;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use multipoll::{Backend, Mode};
use multipoll_core::fault::{self, Call};
use multipoll_echo::{Config, Output, Protocol, SocketCall};

use util::{Rng, TestServer, check, closed_by_server, first_difference, round_trip, transfer};

/// A fault point of the server: a socket call of its own, or a call of its poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Socket(SocketCall),
    Poller(Call),
}

const ACCEPT: Kind = Kind::Socket(SocketCall::Accept);
const READ: Kind = Kind::Socket(SocketCall::Read);
const WRITE: Kind = Kind::Socket(SocketCall::Write);
const REGISTER: Kind = Kind::Poller(Call::Register);
const WAIT: Kind = Kind::Poller(Call::Wait);

impl Kind {
    fn fail_next(self, errno: i32, times: u32) {
        match self {
            Kind::Socket(call) => fault::fail_next(call, errno, times),
            Kind::Poller(call) => fault::fail_next(call, errno, times),
        }
    }

    fn fail_every_other(self, errno: i32, times: u32) {
        match self {
            Kind::Socket(call) => fault::fail_every_other(call, errno, times),
            Kind::Poller(call) => fault::fail_every_other(call, errno, times),
        }
    }

    fn armed(self) -> u64 {
        match self {
            Kind::Socket(call) => fault::armed(call),
            Kind::Poller(call) => fault::armed(call),
        }
    }
}

/// Faults to arm: kind, errno, how many.
type Arms = &'static [(Kind, i32, u32)];

/// Connected before each case and served throughout; none may be disturbed.
const BYSTANDERS: usize = 10;
/// A loop with nothing to do may use at most this much CPU over [`IDLE`]: 10 %.
const IDLE_CPU: Duration = Duration::from_millis(30);
const IDLE: Duration = Duration::from_millis(300);

/// The echo protocol, arming on the loop's thread the faults a test queued, when any
/// client sends, before answering, or when the loop opens a connection, after registering
/// it; and telling the test how many are still armed.
#[derive(Clone, Debug, Default)]
struct Arming {
    queue: Arc<Mutex<Vec<(Kind, i32, u32)>>>,
    /// Armed when the loop next opens a connection.
    on_open: Arc<Mutex<Vec<(Kind, i32, u32)>>>,
    /// `fault::armed` of each of [`KINDS`] when a client last sent.
    left: Arc<Mutex<[u64; 5]>>,
}

/// The kinds of fault [`Arming`] counts.
const KINDS: [Kind; 5] = [ACCEPT, READ, WRITE, REGISTER, WAIT];

impl Arming {
    /// Queues `times` failures of `call` with `errno`, armed when a client next sends.
    fn arm(&self, call: Kind, errno: i32, times: u32) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push((call, errno, times));
    }

    /// Queues `times` failures of `call` with `errno`, armed when the loop next opens a
    /// connection: after its registration, before the listener's next call.
    fn arm_on_open(&self, call: Kind, errno: i32, times: u32) {
        self.on_open.lock().unwrap_or_else(|e| e.into_inner()).push((call, errno, times));
    }

    /// Queues one failure of the loop's next wait with `errno`.
    fn arm_wait(&self, errno: i32) {
        self.arm(WAIT, errno, 1);
    }

    /// Failures of each of [`KINDS`] still armed when a client last sent.
    fn left(&self) -> [u64; 5] {
        *self.left.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Protocol for Arming {
    type Session = ();

    fn open(&mut self) {
        for (call, errno, times) in self.on_open.lock().unwrap_or_else(|e| e.into_inner()).drain(..)
        {
            call.fail_next(errno, times);
        }
    }

    fn on_data(&mut self, _: &mut (), data: &[u8], out: &mut Output<'_>) {
        for (call, errno, times) in self.queue.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            call.fail_next(errno, times);
        }
        *self.left.lock().unwrap_or_else(|e| e.into_inner()) = KINDS.map(Kind::armed);
        out.send(data);
    }
}

/// A server of [`Arming`] and its bystanders, all served.
struct Fixture {
    server: TestServer,
    arming: Arming,
    bystanders: Vec<TcpStream>,
}

impl Fixture {
    fn start(backend: Backend, mode: Mode, config: Config) -> io::Result<Fixture> {
        let arming = Arming::default();
        let server = TestServer::start_with(backend, mode, config, arming.clone(), |run| run())?;
        let bystanders =
            (0..BYSTANDERS).map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
        let fixture = Fixture { server, arming, bystanders };
        fixture.bystanders_served()?;
        Ok(fixture)
    }

    /// Every bystander's round trip is answered.
    #[track_caller]
    fn bystanders_served(&self) -> io::Result<()> {
        for (i, b) in self.bystanders.iter().enumerate() {
            round_trip(b, format!("bystander {i}").as_bytes())?;
        }
        Ok(())
    }

    /// Arms `arms` on the loop's thread now, through a bystander's round trip. Its echo
    /// is written after the arming, so write faults armed this way would hit it: arm
    /// those with the victim's own message.
    fn arm_now(&self, arms: &[(Kind, i32, u32)]) -> io::Result<()> {
        for &(call, errno, times) in arms {
            self.arming.arm(call, errno, times);
        }
        round_trip(&self.bystanders[0], b"arm")?;
        Ok(())
    }

    /// Whether every armed fault was raised: the bystanders' round trips update the
    /// count, and would have failed had one of them met a fault.
    #[track_caller]
    fn all_raised(&self, what: &str) -> io::Result<()> {
        self.bystanders_served()?;
        let left = self.arming.left();
        check(left == [0; 5], || format!("{what}: faults never raised ({KINDS:?}): {left:?}"))
    }

    /// The server holds its listener, its bystanders and `others` more connections: once
    /// a client closes, its server side is closed too (within a few seconds).
    #[track_caller]
    fn holds(&self, others: usize) -> io::Result<()> {
        let want = 1 + self.bystanders.len() + others;
        util::wait_until(Duration::from_secs(5), &format!("{want} server fds"), || {
            Ok(self.server.fd_count()? == want)
        })
    }

    /// The loop is idle: it used at most [`IDLE_CPU`] over [`IDLE`].
    #[track_caller]
    fn idle(&self) -> io::Result<()> {
        let before = self.server.cpu_time()?;
        std::thread::sleep(IDLE);
        let used = self.server.cpu_time()? - before;
        check(used <= IDLE_CPU, || format!("the loop used {used:?} of CPU in {IDLE:?} idle"))
    }

    /// The common ending: bystanders served, no fd left over, idle loop, clean stop.
    #[track_caller]
    fn finish(mut self) -> io::Result<()> {
        self.bystanders_served()?;
        self.holds(0)?;
        self.idle()?;
        // Gone before the stop, which would otherwise wait for them to close.
        self.bystanders.clear();
        self.holds(0)?;
        self.server.stop()
    }
}

/// `EINTR` before every `accept`, `read`, `write` and wait of the loop: each syscall is
/// interrupted once and retried. 20 clients send up to 256 KiB each in random writes; all
/// of it comes back.
mod eintr_everywhere {
    use super::*;

    crate::backend_tests!(run);

    const CLIENTS: usize = 20;
    /// Enough for every syscall of the test: arming is per failure, not per call.
    const ARMED: u32 = 10_000_000;
    const CALLS: [Kind; 4] = [ACCEPT, READ, WRITE, WAIT];

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let raised = Arc::new(Mutex::new(None));
        let report = Arc::clone(&raised);
        let server = TestServer::start_with(
            backend,
            mode,
            Config::default(),
            Arming::default(),
            move |run| {
                for call in CALLS {
                    call.fail_every_other(libc::EINTR, ARMED);
                }
                let result = run();
                let left = CALLS.map(Kind::armed);
                fault::clear();
                *report.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(left.map(|l| u64::from(ARMED) - l));
                result
            },
        )?;
        let mut rng = Rng::new(0xe1e1);
        let jobs: Vec<(Vec<u8>, Vec<usize>)> = (0..CLIENTS)
            .map(|_| {
                let len = rng.log_size(256 * 1024);
                (rng.bytes(len), rng.chunks(len))
            })
            .collect();
        util::echo_all(server.addr, &jobs)?;
        util::wait_until(Duration::from_secs(5), "all closed", || Ok(server.fd_count()? == 1))?;
        let total: usize = jobs.iter().map(|(d, _)| d.len()).sum();
        let stats = server.total();
        check(stats.accepted == CLIENTS as u64 && stats.bytes_out == total as u64, || {
            format!("{total} bytes sent by {CLIENTS} clients: {stats}")
        })?;
        server.stop()?;
        let raised = raised.lock().unwrap_or_else(|e| e.into_inner()).take();
        let raised = raised.ok_or_else(|| io::Error::other("the loop did not report"))?;
        // At least one interrupted call per accepted client, and per read and write that
        // moved data (a read moves at most 64 KiB, a write at most a 256 KiB queue).
        let least = [CLIENTS, total / 65536, total / (256 * 1024), 1].map(|n| n.max(1) as u64);
        check(raised.iter().zip(least).all(|(r, l)| *r >= l), || {
            format!("EINTR raised {raised:?} times (accept, read, write, wait), expected {least:?}")
        })?;
        eprintln!("{backend}/{mode}: {total} bytes echoed; EINTR raised {raised:?} times");
        Ok(())
    }
}

/// Out of fds or memory in `accept`: the server backs off for `accept_backoff` per
/// failure instead of spinning, serves its bystanders meanwhile, and then accepts the
/// client that waited.
mod accept_exhaustion {
    use super::*;

    crate::backend_tests!(run);

    const BACKOFF: Duration = Duration::from_millis(50);
    const FAILURES: u32 = 4;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let config = Config { accept_backoff: BACKOFF, ..Config::default() };
        let fixture = Fixture::start(backend, mode, config)?;
        let mut errors = 0;
        let mut report = Vec::new();
        let errnos = [
            ("EMFILE", libc::EMFILE),
            ("ENFILE", libc::ENFILE),
            ("ENOBUFS", libc::ENOBUFS),
            ("ENOMEM", libc::ENOMEM),
        ];
        for (name, errno) in errnos {
            fixture.arm_now(&[(ACCEPT, errno, FAILURES)])?;
            let cpu_before = fixture.server.cpu_time()?;
            let start = Instant::now();
            let late = util::connect(fixture.server.addr)?;
            late.set_nonblocking(true)?;
            (&late).write_all(b"late")?;
            // Served meanwhile: the bystanders, while the late client waits (polled every
            // 20 ms, pacing the bystanders).
            let mut got = Vec::new();
            let what = format!("errno {errno}: the late client served");
            util::wait_until_every(
                Duration::from_secs(5),
                Duration::from_millis(20),
                &what,
                || {
                    fixture.bystanders_served()?;
                    let mut buf = [0; 4];
                    match (&late).read(&mut buf) {
                        Ok(0) => return Err(io::Error::other("the late client was closed")),
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                    Ok(got.len() >= 4)
                },
            )?;
            let waited = start.elapsed();
            let cpu = fixture.server.cpu_time()? - cpu_before;
            check(got == b"late", || format!("echo {got:?}"))?;
            errors += FAILURES as u64;
            let stats = fixture.server.total();
            check(stats.accept_errors == errors, || format!("errno {errno}: {stats}"))?;
            // One back-off per failure, not one retry per wake-up.
            check(waited >= BACKOFF * FAILURES * 9 / 10, || {
                format!("errno {errno}: served after {waited:?}, under {FAILURES} back-offs")
            })?;
            // 10 % of a core, and a clock tick (10 ms) of slack: the bystanders' round trips
            // cost a few ms; a loop retrying `accept` on every wake-up would use it all.
            check(cpu.as_secs_f64() < 0.1 * waited.as_secs_f64() + 0.01, || {
                format!("errno {errno}: the loop used {cpu:?} of CPU in {waited:?} of back-off")
            })?;
            fixture.all_raised(&format!("errno {errno}"))?;
            fixture.holds(1)?;
            drop(late);
            fixture.holds(0)?;
            report.push(format!("{name}: served after {waited:.0?}, {cpu:?} of CPU"));
        }
        eprintln!("{backend}/{mode}: {FAILURES} failed accepts of each: {}", report.join("; "));
        fixture.finish()
    }
}

/// An `accept` error that concerns only the connection being accepted (it was aborted in
/// the backlog) is skipped at once: no back-off.
mod accept_aborted {
    use super::*;

    crate::backend_tests!(run);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        // A back-off longer than the test, so that one would show.
        let config = Config { accept_backoff: Duration::from_secs(30), ..Config::default() };
        let fixture = Fixture::start(backend, mode, config)?;
        fixture.arm_now(&[(ACCEPT, libc::ECONNABORTED, 3), (ACCEPT, libc::EPROTO, 1)])?;
        let client = util::connect(fixture.server.addr)?;
        let took = round_trip(&client, b"not held up")?;
        check(took < Duration::from_secs(5), || format!("served after {took:?}"))?;
        fixture.all_raised("ECONNABORTED, EPROTO")?;
        let stats = fixture.server.total();
        check(stats.accept_errors == 0, || format!("{stats}"))?;
        fixture.holds(1)?;
        drop(client);
        fixture.finish()
    }
}

/// A storm of `EAGAIN` from `accept`, `read` and `write` while the socket is ready: each
/// is a wake-up for nothing, the storm ends, and every byte is still echoed. Not in edge
/// mode: there `EAGAIN` is the kernel's promise of a new edge when the socket becomes
/// ready, and a socket that is ready already gives none; the kernel never returns `EAGAIN`
/// for a socket with data queued or buffer room, so the loop rightly trusts it.
mod eagain_storm {
    use super::*;

    crate::backend_tests!(run);

    const STORM: u32 = 1000;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        if mode.is_edge() {
            eprintln!("{backend}/{mode}: no EAGAIN storm in the edge modes (see the docs)");
            return Ok(());
        }
        let fixture = Fixture::start(backend, mode, Config::default())?;
        // The client's accept meets the accept storm; its first byte arms the read and
        // write storms, which its echo and the rest of its exchange meet.
        fixture.arm_now(&[(ACCEPT, libc::EAGAIN, STORM)])?;
        let client = util::connect(fixture.server.addr)?;
        for call in [READ, WRITE] {
            fixture.arming.arm(call, libc::EAGAIN, STORM);
        }
        let data = Rng::new(0xa9a1).bytes(100_000);
        let got = transfer(&client, &data, &[1, 99_999])?;
        check(got == data, || {
            let at = first_difference(&got, &data);
            format!("{} bytes back of {}, first difference at {at:?}", got.len(), data.len())
        })?;
        fixture.all_raised("EAGAIN storms")?;
        let stats = fixture.server.total();
        check(stats.accept_errors == 0, || format!("{stats}"))?;
        drop(client);
        fixture.finish()
    }
}

/// A connection whose `read` fails with `ECONNRESET`, or whose `write` fails with `EPIPE`
/// or `ECONNRESET` (straight away, or when flushing its queue), is closed quietly; the
/// bystanders never notice.
mod dropped_connection {
    use super::*;

    crate::backend_tests!(run);

    /// Name, the faults armed by the victim's own message, and whether the victim gets
    /// that message back (yes when only its next read fails).
    const CASES: [(&str, Arms, bool); 4] = [
        ("ECONNRESET on read", &[(READ, libc::ECONNRESET, 1)], true),
        ("EPIPE on write", &[(WRITE, libc::EPIPE, 1)], false),
        ("ECONNRESET on write", &[(WRITE, libc::ECONNRESET, 1)], false),
        ("EPIPE when flushing", &[(WRITE, libc::EAGAIN, 1), (WRITE, libc::EPIPE, 1)], false),
    ];

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let fixture = Fixture::start(backend, mode, Config::default())?;
        for (i, (name, arms, echoed)) in CASES.into_iter().enumerate() {
            let victim = util::connect(fixture.server.addr)?;
            round_trip(&victim, b"hello")?;
            fixture.holds(1)?;
            for &(call, errno, times) in arms {
                fixture.arming.arm(call, errno, times);
            }
            // The victim's message arms the faults on the loop's thread, then meets them.
            (&victim).write_all(b"boom")?;
            if echoed {
                let mut got = [0; 4];
                (&victim).read_exact(&mut got)?;
                check(&got == b"boom", || format!("{name}: echo {got:?}"))?;
                // Its next read fails (in edge mode, the one that would find nothing).
                let _ = (&victim).write_all(b"x");
            }
            check(closed_by_server(&victim, Duration::from_secs(5))?, || {
                format!("{name}: the victim is still open")
            })?;
            fixture.holds(0).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
            fixture.all_raised(name)?;
            let stats = fixture.server.total();
            check(stats.closed == i as u64 + 1 && stats.active == BYSTANDERS as u64, || {
                format!("{name}: {stats}")
            })?;
        }
        fixture.finish()
    }
}

/// A registration the poller refuses (`ENOMEM` from `epoll_ctl`, `kevent`, or uring's
/// `add`/`modify`/`delete`, whose fault point is where `epoll_ctl` would be; poll and select can only fail an `add`): a new connection that cannot be registered is dropped alone; a
/// listener that cannot be silenced for a back-off does not make the loop spin; one that
/// cannot be watched again after it still accepts new clients.
mod register_fails {
    use super::*;

    crate::backend_tests_in!(Level, run);

    const BACKOFF: Duration = Duration::from_millis(300);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let config = Config { accept_backoff: BACKOFF, ..Config::default() };
        let fixture = Fixture::start(backend, mode, config)?;
        // In level mode nothing re-registers a bystander after its round trip, so the
        // fault waits for the next registration: the new connection's.
        fixture.arm_now(&[(REGISTER, libc::ENOMEM, 1)])?;
        let dropped = util::connect(fixture.server.addr)?;
        (&dropped).write_all(b"x")?;
        check(closed_by_server(&dropped, Duration::from_secs(5))?, || {
            "a connection that could not be registered is still open".into()
        })?;
        fixture.all_raised("ENOMEM registering a connection")?;
        fixture.holds(0)?;
        let stats = fixture.server.total();
        check(stats.active == BYSTANDERS as u64, || format!("{stats}"))?;
        drop(dropped);

        if matches!(backend, Backend::Epoll | Backend::Kqueue | Backend::Uring) {
            silence_fails(&fixture)?;
            resume_fails(&fixture)?;
        }
        fixture.finish()
    }

    /// Out of fds, and the listener cannot be silenced: no spinning for the back-off.
    fn silence_fails(fixture: &Fixture) -> io::Result<()> {
        fixture.arm_now(&[(ACCEPT, libc::EMFILE, 1), (REGISTER, libc::ENOMEM, 1)])?;
        let cpu_before = fixture.server.cpu_time()?;
        let start = Instant::now();
        let late = util::connect(fixture.server.addr)?;
        let took = round_trip(&late, b"late")?;
        let cpu = fixture.server.cpu_time()? - cpu_before;
        let waited = start.elapsed();
        check(cpu.as_secs_f64() < 0.1 * waited.as_secs_f64() + 0.01, || {
            format!("the loop used {cpu:?} of CPU in {waited:?} of back-off (served in {took:?})")
        })?;
        fixture.all_raised("ENOMEM silencing the listener")
    }

    /// Out of fds, and the listener cannot be watched again after the back-off: it still
    /// accepts the client that waited, and the ones after.
    fn resume_fails(fixture: &Fixture) -> io::Result<()> {
        let errors = fixture.server.total().accept_errors;
        fixture.arm_now(&[(ACCEPT, libc::EMFILE, 1)])?;
        let late = util::connect(fixture.server.addr)?;
        (&late).write_all(b"late")?;
        util::wait_until(Duration::from_secs(5), "backing off", || {
            Ok(fixture.server.total().accept_errors > errors)
        })?;
        // Armed within the back-off: the next registration is the listener's resumption.
        fixture.arm_now(&[(REGISTER, libc::ENOMEM, 1)])?;
        let mut echo = [0; 4];
        (&late).read_exact(&mut echo)?;
        fixture.all_raised("ENOMEM resuming the listener")?;
        for i in 0..3 {
            let next = util::connect(fixture.server.addr)?;
            next.set_read_timeout(Some(BACKOFF * 10))?;
            round_trip(&next, b"next")
                .map_err(|e| io::Error::new(e.kind(), format!("client {i} after: {e}")))?;
        }
        Ok(())
    }
}

/// In a oneshot mode, the poller refuses to re-arm the listener after it accepted a
/// client (`ENOMEM` from `epoll_ctl`, `kevent`, or uring's `modify`; poll and select
/// cannot fail a `modify`): the listener backs off and is re-armed when the back-off ends,
/// so every later client is served.
mod rearm_fails {
    use super::*;

    crate::backend_tests!(run);

    const BACKOFF: Duration = Duration::from_millis(50);
    const LATER: usize = 3;

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        if !mode.is_oneshot() || matches!(backend, Backend::Select | Backend::Poll) {
            eprintln!("{backend}/{mode}: no listener re-arm that can fail (see the docs)");
            return Ok(());
        }
        let config = Config { accept_backoff: BACKOFF, ..Config::default() };
        let fixture = Fixture::start(backend, mode, config)?;
        // Armed once the first client is registered: the next registration change is the
        // listener's re-arm, when `accept` finds the backlog empty.
        fixture.arming.arm_on_open(REGISTER, libc::ENOMEM, 1);
        let first = util::connect(fixture.server.addr)?;
        round_trip(&first, b"first")?;
        fixture.all_raised("ENOMEM re-arming the listener")?;
        let errors = fixture.server.total().accept_errors;
        check(errors == 0, || format!("{errors} accept errors counted for a re-arm"))?;
        let mut later = Vec::new();
        for i in 0..LATER {
            let client = util::connect(fixture.server.addr)?;
            client.set_read_timeout(Some(BACKOFF * 20))?;
            round_trip(&client, b"later")
                .map_err(|e| io::Error::new(e.kind(), format!("client {i} after: {e}")))?;
            later.push(client);
        }
        fixture.holds(1 + LATER)?;
        drop((first, later));
        fixture.finish()
    }
}

/// A wait that fails for want of memory (`ENOMEM`, as poll(2), select(2) and kevent(2)
/// document) is retried after a short back-off that doubles while the failures last, with
/// no busy loop: the bystanders are served throughout, and a new client after. A wait that
/// fails with something retrying cannot fix (`EBADF` on that server, `EINVAL` on a new
/// one) stops the loop: `Server::run` returns that error, after closing every connection
/// and the listener; nothing leaks, nothing panics.
mod wait_fails {
    use super::*;

    crate::backend_tests!(run);

    /// Back-offs of 1, 2, 4 ... 32 ms.
    const FAILURES: u32 = 6;
    /// Their sum: a loop that retried at once would take a few round trips' time.
    const LEAST: Duration = Duration::from_millis(63);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        // The server that survived the transient failures is the one a fatal one stops.
        let survivor = transient(backend, mode)?;
        fatal(survivor, libc::EBADF)?;
        fatal(Fixture::start(backend, mode, Config::default())?, libc::EINVAL)
    }

    /// Returns the fixture, its bystanders served and nothing else held.
    fn transient(backend: Backend, mode: Mode) -> io::Result<Fixture> {
        let fixture = Fixture::start(backend, mode, Config::default())?;
        let cpu_before = fixture.server.cpu_time()?;
        // Before the first failure, so that every back-off is within the time measured.
        let start = Instant::now();
        // The round trip arms them; the loop's next waits fail.
        fixture.arm_now(&[(WAIT, libc::ENOMEM, FAILURES)])?;
        // Until the last failure: a wait that finds completions already in io_uring's
        // ring makes no syscall, so some round trips may be served before the failures.
        util::wait_until_every(
            Duration::from_secs(5),
            Duration::from_millis(20),
            "every failed wait raised",
            || {
                fixture.bystanders_served()?;
                Ok(fixture.arming.left() == [0; 5])
            },
        )?;
        let waited = start.elapsed();
        let cpu = fixture.server.cpu_time()? - cpu_before;
        check(waited >= LEAST, || format!("{FAILURES} failed waits passed in {waited:?}"))?;
        check(cpu.as_secs_f64() < 0.1 * waited.as_secs_f64() + 0.01, || {
            format!("the loop used {cpu:?} of CPU in {waited:?} of back-off")
        })?;
        let client = util::connect(fixture.server.addr)?;
        round_trip(&client, b"new")?;
        fixture.holds(1)?;
        drop(client);
        fixture.holds(0)?;
        eprintln!(
            "{backend}/{mode}: {FAILURES} failed waits passed in {waited:.0?}, {cpu:?} of CPU"
        );
        Ok(fixture)
    }

    fn fatal(mut fixture: Fixture, errno: i32) -> io::Result<()> {
        fixture.arming.arm_wait(errno);
        // The round trip arms it; the loop's next wait fails.
        round_trip(&fixture.bystanders[1], b"last")?;
        for (i, b) in fixture.bystanders.iter().enumerate() {
            check(closed_by_server(b, Duration::from_secs(5))?, || {
                format!("errno {errno}: bystander {i} still open after the loop stopped")
            })?;
        }
        util::wait_until(Duration::from_secs(5), "no server fd left", || {
            Ok(fixture.server.fd_count()? == 0)
        })?;
        fixture.bystanders.clear();
        let stopped = fixture.server.stop();
        check(stopped.as_ref().err().and_then(io::Error::raw_os_error) == Some(errno), || {
            format!("errno {errno}: run returned {stopped:?}")
        })
    }
}
