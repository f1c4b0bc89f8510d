//! Winsock's `select` on Windows, over sets sized to the registrations.

use std::io;
use std::ops::Range;
use std::time::Duration;

use multipoll_core::backend::emulated::ReadinessSyscall;
use multipoll_core::backend::probe::{is_open, poll_now};
use multipoll_core::backend::readiness::Readiness;
use multipoll_core::backend::syscall::select_sets;
use multipoll_core::{Interest, RawSource};
use windows_sys::Win32::Networking::WinSock::{
    FD_SET, POLLRDNORM, SOCKET, TIMEVAL, WSAENOTSOCK, WSAPOLLFD,
};

/// A Winsock `fd_set` of any length: `FD_SET`'s layout (a `u32` count, padded to the
/// `SOCKET` array's alignment, then the sockets) with as many entries as it holds, so
/// there is no 64-socket `FD_SETSIZE` limit. Word 0 holds the count (its low 32 bits, on
/// Windows' little-endian targets); Winsock's `select` reads that many sockets and
/// rewrites the set to the ready ones.
#[derive(Clone, Debug, Default)]
struct SocketSet {
    words: Vec<SOCKET>,
}

// The count and the array must sit where `FD_SET` puts them.
const _: () = assert!(std::mem::offset_of!(FD_SET, fd_array) == size_of::<SOCKET>());

impl SocketSet {
    fn clear(&mut self) {
        self.words.clear();
        self.words.push(0);
    }

    fn insert(&mut self, s: SOCKET) {
        self.words.push(s);
        self.words[0] = self.words.len() - 1;
    }

    /// The sockets in the set (after a `select`, the ready ones).
    fn sockets(&self) -> &[SOCKET] {
        let n = self.words.first().map_or(0, |&c| c as u32 as usize);
        self.words.get(1..1 + n).unwrap_or(&[])
    }

    fn copy_from(&mut self, other: &SocketSet) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
    }

    /// The set as `select`'s pointer: null when empty (Winsock takes null for "none").
    fn as_mut_ptr(&mut self) -> *mut FD_SET {
        if self.sockets().is_empty() {
            std::ptr::null_mut()
        } else {
            self.words.as_mut_ptr().cast()
        }
    }
}

const READ: usize = 0;
const WRITE: usize = 1;
/// `exceptfds`: where Winsock reports a failed connect, for writable registrations.
const EXCEPT: usize = 2;

/// Per registration, what the last `wait` found (bits), so `scan` reads one byte each.
const IN_READ: u8 = 1;
const IN_WRITE: u8 = 2;
const IN_EXCEPT: u8 = 4;
const CLOSED: u8 = 8;

/// Winsock's `select` call and its sets.
#[derive(Debug, Default)]
pub struct SelectSyscall {
    /// What to watch (rebuilt on registration changes) ...
    want: [SocketSet; 3],
    /// ... and the copies `select` overwrites on each call.
    got: [SocketSet; 3],
    /// The registered sockets, ascending (as `rebuild` gets them), for a binary search
    /// from a ready socket to its index.
    fds: Vec<RawSource>,
    /// By index into `fds`: what the last `wait` found.
    found: Vec<u8>,
    /// By index into `fds`: what `WSAPoll` said just after select (hang-up, error).
    asked: Vec<i16>,
    wake: RawSource,
    woken: bool,
}

impl SelectSyscall {
    /// Marks `bit` for each socket of `set` that is registered; notes the wake-up socket.
    fn mark(&mut self, which: usize, bit: u8) {
        for &s in self.got[which].sockets() {
            let s = s as RawSource;
            if s == self.wake {
                self.woken = true;
            } else if let Ok(i) = self.fds.binary_search(&s) {
                self.found[i] |= bit;
            }
        }
    }

    /// Asks `WSAPoll`, in one zero-timeout call, for the hang-up and error state of every
    /// socket the last `select` reported: select has no bit for either, and `SO_ERROR`
    /// would clear a refused connect's error before the user's `take_error()`.
    fn ask_reported(&mut self) -> io::Result<()> {
        let mut asked: Vec<WSAPOLLFD> = (0..self.fds.len())
            .filter(|&i| self.found[i] != 0)
            .map(|i| WSAPOLLFD { fd: self.fds[i] as SOCKET, events: POLLRDNORM, revents: 0 })
            .collect();
        if asked.is_empty() {
            return Ok(());
        }
        poll_now(&mut asked)?;
        for pfd in &asked {
            if let Ok(i) = self.fds.binary_search(&(pfd.fd as RawSource)) {
                self.asked[i] = pfd.revents;
            }
        }
        Ok(())
    }
}

/// A `TIMEVAL` for `select`: microseconds, rounded up so 0.5 µs is not a zero timeout,
/// whole seconds clamped to what its `i32` holds.
fn timeval(t: Duration) -> TIMEVAL {
    let mut secs = t.as_secs();
    let mut micros = t.subsec_nanos().div_ceil(1000);
    if micros == 1_000_000 {
        // `Duration::MAX` has 999_999_999 ns over `u64::MAX` s: saturate, it is clamped below.
        secs = secs.saturating_add(1);
        micros = 0;
    }
    TIMEVAL { tv_sec: i32::try_from(secs).unwrap_or(i32::MAX), tv_usec: micros as i32 }
}

impl ReadinessSyscall for SelectSyscall {
    const NAME: &'static str = "select";
    const TIMEOUT_PRECISION: Duration = Duration::from_micros(1);
    const REPORTS_ERRORS: bool = true;
    /// Hang-ups come from `WSAPoll`, which under Wine reports one only once the queued
    /// data is read (see the poll backend).
    const EARLY_HANGUP: bool = false;
    /// Winsock reports out-of-band data in `exceptfds`, but also failed connects there,
    /// and `WSAPoll` (which would tell them apart) refuses `POLLPRI`: not offered.
    const PRIORITY: bool = false;

    fn max_fd() -> Option<RawSource> {
        None
    }

    fn new() -> io::Result<Self> {
        Ok(SelectSyscall::default())
    }

    fn rebuild(&mut self, wake: RawSource, fds: &[(RawSource, Interest)]) {
        for set in &mut self.want {
            set.clear();
        }
        self.want[READ].insert(wake as SOCKET);
        self.wake = wake;
        self.fds.clear();
        for &(s, interest) in fds {
            if interest.is_readable() {
                self.want[READ].insert(s as SOCKET);
            }
            if interest.is_writable() {
                self.want[WRITE].insert(s as SOCKET);
                self.want[EXCEPT].insert(s as SOCKET);
            }
            self.fds.push(s);
        }
        self.found.clear();
        self.found.resize(self.fds.len(), 0);
        self.asked.clear();
        self.asked.resize(self.fds.len(), 0);
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for (got, want) in self.got.iter_mut().zip(&self.want) {
            got.copy_from(want);
        }
        self.found.fill(0);
        self.asked.fill(0);
        self.woken = false;
        let tv = timeout.map(timeval);
        let [r, w, e] = &mut self.got;
        // SAFETY: each pointer is null or a `SocketSet` in `FD_SET`'s layout whose count
        // is the number of sockets it holds (`insert` keeps it so).
        let res =
            unsafe { select_sets(r.as_mut_ptr(), w.as_mut_ptr(), e.as_mut_ptr(), tv.as_ref()) };
        match res {
            Ok(0) => Ok(()),
            Ok(_) => {
                self.mark(READ, IN_READ);
                self.mark(WRITE, IN_WRITE);
                self.mark(EXCEPT, IN_EXCEPT);
                self.ask_reported()
            }
            Err(err) if err.raw_os_error() == Some(WSAENOTSOCK) => {
                // A registered socket was closed: report those, and nothing else this time.
                for (i, &s) in self.fds.iter().enumerate() {
                    if !is_open(s) {
                        self.found[i] = CLOSED;
                    }
                }
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    fn woken(&self) -> bool {
        self.woken
    }

    #[inline] // The wait's hot loop (see the trait).
    fn scan(
        &self,
        range: Range<usize>,
        mut report: impl FnMut(usize, RawSource, Readiness) -> bool,
    ) -> bool {
        let Some(found) = self.found.get(range.clone()) else {
            return true;
        };
        for (index, &bits) in range.zip(found) {
            if bits == 0 {
                continue;
            }
            let readiness = if bits & CLOSED != 0 {
                Readiness { closed: true, ..Readiness::default() }
            } else {
                // What WSAPoll said just after select adds hang-up and error (and, with
                // them, readable and writable, as on the poll backend); a socket in
                // exceptfds is a failed connect.
                let asked = Readiness::from_poll_bits(self.asked[index]);
                let failed = bits & IN_EXCEPT != 0;
                Readiness {
                    readable: bits & IN_READ != 0 || asked.readable || failed,
                    writable: bits & IN_WRITE != 0 || asked.writable || failed,
                    hangup: asked.hangup,
                    error: asked.error || failed,
                    priority: false,
                    closed: asked.closed,
                }
            };
            if !report(index, self.fds[index], readiness) {
                return false;
            }
        }
        true
    }
}
