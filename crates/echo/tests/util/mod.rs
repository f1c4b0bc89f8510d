//! Helpers shared by the echo tests: which backends and modes to run, servers in-process
//! and as child processes, clients (one per thread, or thousands on one poller), process
//! and thread figures, a seeded RNG, bounded waits.
//!
//! The figures of an in-process server (its thread's CPU time, its sockets) are read
//! portably, so those tests run on the BSDs and macOS too (`scripts/test-kqueue.sh`); a
//! child process's (its fds, CPU time, RSS) are read from `/proc/PID`, which only Linux
//! has. On Windows a thread's CPU time is read (`GetThreadTimes`), the in-process
//! server's sockets are not counted (no call lists a process's sockets), and the tests
//! that count a child's fds or bound its CPU time are Unix-only (each file says so).
//!
//! Each test file declares `pub mod util;`: every helper here is `pub`, so the helpers a
//! file does not use are not dead code in its crate, with nothing to allow.

pub mod child;
pub mod client;
pub mod server;
pub mod swarm;
pub mod thread_cpu;

use std::io;
#[cfg(unix)]
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, Backend, Mode, Poller};
#[cfg(unix)]
use nix::sys::socket::{SockaddrStorage, getsockname};

pub use child::ChildServer;
#[cfg(unix)]
pub use child::stop;
pub use client::*;
pub use server::TestServer;
pub use swarm::Swarm;
pub use thread_cpu::ThreadCpu;

/// Generates one `#[test]` per backend (`select`, `poll`, `epoll`, `kqueue`, `uring`, `iocp`)
/// running `$run(backend, mode)` for every mode that backend supports; the test harness
/// runs the backends in parallel. Backends not in this build pass with a note.
/// (Exported, so that a test file that runs no backend has no unused macro.)
#[macro_export]
macro_rules! backend_tests {
    ($run:path) => {
        #[test]
        fn select() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Select, $run)
        }
        #[test]
        fn poll() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Poll, $run)
        }
        #[test]
        fn epoll() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Epoll, $run)
        }
        #[test]
        fn kqueue() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Kqueue, $run)
        }
        #[test]
        fn uring() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Uring, $run)
        }
        #[test]
        fn iocp() -> std::io::Result<()> {
            $crate::util::each_mode(multipoll::Backend::Iocp, $run)
        }
    };
}

/// Like [`backend_tests!`], in one mode only (`Level`, `Edge`, `Oneshot`), for tests whose
/// subject does not depend on the mode; a backend without that mode passes with a note.
#[macro_export]
macro_rules! backend_tests_in {
    ($mode:ident, $run:path) => {
        #[test]
        fn select() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Select, multipoll::Mode::$mode, $run)
        }
        #[test]
        fn poll() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Poll, multipoll::Mode::$mode, $run)
        }
        #[test]
        fn epoll() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Epoll, multipoll::Mode::$mode, $run)
        }
        #[test]
        fn kqueue() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Kqueue, multipoll::Mode::$mode, $run)
        }
        #[test]
        fn uring() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Uring, multipoll::Mode::$mode, $run)
        }
        #[test]
        fn iocp() -> std::io::Result<()> {
            $crate::util::one_mode(multipoll::Backend::Iocp, multipoll::Mode::$mode, $run)
        }
    };
}

/// Runs `run` for every mode `backend` supports, naming the backend and mode in errors.
pub fn each_mode(backend: Backend, run: fn(Backend, Mode) -> io::Result<()>) -> io::Result<()> {
    modes_where(backend, |_| true, run)
}

/// Runs `run(backend, mode)` if this build has `backend` and it supports `mode`.
pub fn one_mode(
    backend: Backend,
    mode: Mode,
    run: fn(Backend, Mode) -> io::Result<()>,
) -> io::Result<()> {
    modes_where(backend, |m| m == mode, run)
}

/// Runs `run` for each mode `backend` supports that `pick` picks; a backend this build
/// lacks, or a pick it cannot do, passes with a note. A backend in this build that the
/// kernel refuses (io_uring) fails, naming the cause, unless the environment says that is
/// expected (`MULTIPOLL_URING_UNAVAILABLE=1`).
fn modes_where(
    backend: Backend,
    pick: impl Fn(Mode) -> bool,
    run: fn(Backend, Mode) -> io::Result<()>,
) -> io::Result<()> {
    if !backend.is_compiled() {
        eprintln!("{backend}: not in this build, skipped");
        return Ok(());
    }
    let refusal_expected =
        std::env::var_os("MULTIPOLL_URING_UNAVAILABLE").is_some_and(|v| v == "1");
    if backend == Backend::Uring && refusal_expected && !backend.is_available() {
        eprintln!("{backend}: refused by this kernel, as MULTIPOLL_URING_UNAVAILABLE says");
        return Ok(());
    }
    let caps = AnyPoller::new(backend)?.capabilities();
    let modes: Vec<Mode> = caps.supported_modes().filter(|&m| pick(m)).collect();
    if modes.is_empty() {
        eprintln!("{backend}: not in a mode it has, skipped");
    }
    for mode in modes {
        let start = Instant::now();
        run(backend, mode)
            .map_err(|e| io::Error::new(e.kind(), format!("{backend}/{mode}: {e}")))?;
        eprintln!("{backend}/{mode}: ok in {:.2?}", start.elapsed());
    }
    Ok(())
}

#[cfg(unix)]
/// The CPU time (user + system) in a `/proc/.../stat` file: of a process
/// (`/proc/PID/stat`) or of one thread (`/proc/self/task/TID/stat`).
pub fn cpu_time(stat: &str) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(stat)?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime field 14, stime field 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let total = ticks(11) + ticks(12);
    Ok(Duration::from_secs_f64(total as f64 / clock_ticks() as f64))
}

#[cfg(unix)]
fn clock_ticks() -> u64 {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK);
    ticks.ok().flatten().and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0).unwrap_or(100)
}

#[cfg(unix)]
/// Whether process `pid` (a number, or `self`) runs under AddressSanitizer, whose shadow
/// memory shows as a reservation of some 20 TiB in `VmSize`. There its RSS (quarantined
/// frees, shadow pages) and its CPU time (2 to 5 times ours) measure ASan, not the server:
/// tests still report those figures but bound them only without it.
pub fn under_asan(pid: &str) -> io::Result<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let vm_kib = status.lines().find_map(|l| {
        l.strip_prefix("VmSize:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
    });
    Ok(vm_kib.is_some_and(|kib| kib > 1 << 30))
}

#[cfg(unix)]
/// How many fds of this process are sockets on local port `port`: an in-process server's
/// listener and accepted connections (its clients' sockets have other local ports),
/// counted exactly even while other tests open and close fds in parallel. One
/// `getsockname` per open fd: `/proc/net/tcp` would do on Linux, but it lists every
/// socket of the machine, tens of thousands while other tests run.
pub fn socket_fds_on_port(port: u16) -> io::Result<usize> {
    Ok(open_fds()?.into_iter().filter(|fd| local_port(*fd) == Some(port)).count())
}

#[cfg(unix)]
/// The fds open in this process: every number below the fd table's size that `poll(2)`
/// does not call invalid (`POLLNVAL`), asked a thousand at a time. Portable, where
/// `/proc/self/fd` is Linux's (FreeBSD's `/dev/fd` shows 0 to 2 only, unless fdescfs is
/// mounted).
fn open_fds() -> io::Result<Vec<RawFd>> {
    const BATCH: RawFd = 1024;
    // SAFETY: getdtablesize takes no arguments.
    let size = unsafe { libc::getdtablesize() };
    let mut open = Vec::new();
    let mut batch = Vec::new();
    for start in (0..size).step_by(BATCH as usize) {
        batch.clear();
        let fds = start..size.min(start + BATCH);
        batch.extend(fds.map(|fd| libc::pollfd { fd, events: 0, revents: 0 }));
        loop {
            // SAFETY: poll reads and writes `batch.len()` pollfds, all of them in `batch`;
            // a zero timeout never blocks.
            let n = unsafe { libc::poll(batch.as_mut_ptr(), batch.len() as libc::nfds_t, 0) };
            if n != -1 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        open.extend(batch.iter().filter(|p| p.revents & libc::POLLNVAL == 0).map(|p| p.fd));
    }
    Ok(open)
}

#[cfg(unix)]
/// The local port of socket `fd`, if it is an IPv4 or IPv6 one.
fn local_port(fd: RawFd) -> Option<u16> {
    // The fd number may have been closed (or reused) since the listing: then the call
    // fails (or names another socket), nothing worse; nix's getsockname takes a number.
    let addr: SockaddrStorage = getsockname(fd).ok()?;
    addr.as_sockaddr_in().map(|a| a.port()).or_else(|| addr.as_sockaddr_in6().map(|a| a.port()))
}

/// Whether a non-blocking `connect` error only says the connection is under way:
/// `EINPROGRESS` on Unix, `WSAEWOULDBLOCK` (`WouldBlock`) on Windows.
pub fn connect_in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    #[cfg(windows)]
    return e.kind() == io::ErrorKind::WouldBlock;
}

/// The duration of a reliability test: `$MULTIPOLL_SOAK_SECS` seconds when set (a soak
/// of minutes), else `default` (what CI runs).
pub fn soak_duration(default: Duration) -> io::Result<Duration> {
    match std::env::var("MULTIPOLL_SOAK_SECS") {
        Ok(secs) => secs
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("MULTIPOLL_SOAK_SECS={secs:?}: not a number of seconds"),
                )
            }),
        Err(_) => Ok(default),
    }
}

/// Polls `cond` every 10 ms until it holds; fails after `timeout`, naming `what`.
#[track_caller]
pub fn wait_until(
    timeout: Duration,
    what: &str,
    cond: impl FnMut() -> io::Result<bool>,
) -> io::Result<()> {
    wait_until_every(timeout, Duration::from_millis(10), what, cond)
}

/// Polls `cond` every `every` until it holds; fails after `timeout`, naming `what`. The
/// one polling loop of the tests: every bounded wait for a condition is this one.
#[track_caller]
pub fn wait_until_every(
    timeout: Duration,
    every: Duration,
    what: &str,
    mut cond: impl FnMut() -> io::Result<bool>,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let at = std::panic::Location::caller();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{at}: still not {what} after {timeout:?}"),
            ));
        }
        std::thread::sleep(every);
    }
}

/// Fails with `message` unless `cond` holds (tests return `io::Result`, so no panics).
#[track_caller]
pub fn check(cond: bool, message: impl FnOnce() -> String) -> io::Result<()> {
    if cond {
        return Ok(());
    }
    let at = std::panic::Location::caller();
    Err(io::Error::other(format!("{at}: {}", message())))
}

/// SplitMix64: a tiny seeded generator, so every run sends the same bytes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Log-uniform in `1..=max`: as many sizes near 10 B as near 100 KiB.
    pub fn log_size(&mut self, max: usize) -> usize {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((max as f64).powf(unit) as usize).clamp(1, max)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Splits `len` bytes into random chunk sizes, from single bytes to 256 KiB.
    pub fn chunks(&mut self, len: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = len;
        while left > 0 {
            let cap = [16, 4096, 65536, 256 * 1024][self.range(0, 3)];
            let n = self.range(1, cap.min(left));
            sizes.push(n);
            left -= n;
        }
        sizes
    }
}
