//! The `select(2)` call on Unix, over growable bit sets ([`FdSet`]).

use std::io;
use std::ops::Range;
use std::os::fd::RawFd;
use std::ptr;
use std::time::Duration;

use multipoll_core::Interest;
use multipoll_core::backend::emulated::ReadinessSyscall;
use multipoll_core::backend::probe::{is_open, peer_closed, poll_now};
use multipoll_core::backend::readiness::{POLL_RDHUP, Readiness};
use multipoll_core::backend::syscall::cvt;
use multipoll_core::backend::timeout::timeout_timeval;

use crate::fdset::{self, FdSet};

/// The `select(2)` call and its bit sets.
#[derive(Debug, Default)]
pub struct SelectSyscall {
    /// What to watch, read, write and except sets (rebuilt on registration changes) ...
    want: [FdSet; 3],
    /// ... and the copies the kernel overwrites on each call.
    got: [FdSet; 3],
    /// Whether any registration wants priority data: if none does, `exceptfds` is null.
    except: bool,
    /// The registered fds, in ascending order (as `rebuild` gets them).
    fds: Vec<RawFd>,
    /// Each registered fd's index in `fds`, by fd (`NOT_WATCHED` for the rest), so the
    /// scan of the result sets maps a set bit to its entry without a search.
    index_of: Vec<u32>,
    wake: RawFd,
    nfds: libc::c_int,
    /// Whether the last `wait` failed with `EBADF`: then `got[READ]` holds the closed fds
    /// found, and nothing else is reported.
    found_closed: bool,
    /// What `poll(2)` said of the fds the last `wait` reported. Boxed: the facade holds a
    /// poller by value in an enum of every backend, which must not grow by the buffers.
    asked: Box<Asked>,
}

/// The fds a `select` reported, asked of `poll(2)` for what select has no bit for (hang-up,
/// error), and the answers.
#[derive(Debug, Default)]
struct Asked {
    /// The `pollfd`s of one zero-timeout call for all of them.
    fds: Vec<libc::pollfd>,
    /// The answer for each registration, by index into `SelectSyscall::fds`: current only
    /// for the fds the last `wait` reported, which are the only ones `scan` reads.
    revents: Vec<libc::c_short>,
}

/// `index_of` for an fd that is not registered (the wake-up fd, a gap).
const NOT_WATCHED: u32 = u32::MAX;

const READ: usize = 0;
const WRITE: usize = 1;
/// `exceptfds`: urgent (out-of-band) data, for [`Interest::PRIORITY`] only.
const EXCEPT: usize = 2;

impl SelectSyscall {
    /// Asks `poll(2)`, in one zero-timeout call, for the hang-up and error state of every
    /// registered fd the last `select` reported. select has no bit for either, and reading
    /// them from the socket (a peek, `SO_ERROR`) would consume a pending error, which the
    /// user's `take_error()` must still find; `poll(2)` reads the state without changing it.
    fn ask_reported(&mut self) -> io::Result<()> {
        let (Some(&first), Some(&last)) = (self.fds.first(), self.fds.last()) else {
            return Ok(());
        };
        let asked = &mut *self.asked;
        asked.fds.clear();
        let [r, w, e] = &self.got;
        for fd in FdSet::union_range([r, w, e], first, last) {
            if self.index_of.get(fd as usize).is_some_and(|&i| i != NOT_WATCHED) {
                // POLLIN only so that POLL_RDHUP (a half-close) is asked for: hang-up and
                // error are always reported.
                let events = libc::POLLIN | POLL_RDHUP as libc::c_short;
                asked.fds.push(libc::pollfd { fd, events, revents: 0 });
            }
        }
        if asked.fds.is_empty() {
            return Ok(());
        }
        poll_now(&mut asked.fds)?;
        for pfd in &asked.fds {
            asked.revents[self.index_of[pfd.fd as usize] as usize] = pfd.revents;
        }
        Ok(())
    }
}

impl ReadinessSyscall for SelectSyscall {
    const NAME: &'static str = "select";
    const TIMEOUT_PRECISION: Duration = Duration::from_micros(1);
    const REPORTS_ERRORS: bool = true;
    const EARLY_HANGUP: bool = POLL_RDHUP != 0;

    fn max_fd() -> Option<RawFd> {
        fdset::max_fd()
    }

    fn new() -> io::Result<Self> {
        Ok(SelectSyscall::default())
    }

    fn rebuild(&mut self, wake: RawFd, fds: &[(RawFd, Interest)]) {
        let highest = fds.iter().map(|&(fd, _)| fd).chain([wake]).max().unwrap_or(wake);
        for set in &mut self.want {
            set.reset(highest);
        }
        self.want[READ].insert(wake);
        self.wake = wake;
        self.fds.clear();
        self.index_of.clear();
        self.index_of.resize(highest as usize + 1, NOT_WATCHED);
        self.except = false;
        for &(fd, interest) in fds {
            if interest.is_priority() {
                self.want[EXCEPT].insert(fd);
                self.except = true;
            }
            if interest.is_readable() {
                self.want[READ].insert(fd);
            }
            if interest.is_writable() {
                self.want[WRITE].insert(fd);
            }
            // Fewer than u32::MAX fds fit in a process.
            self.index_of[fd as usize] = self.fds.len() as u32;
            self.fds.push(fd);
        }
        self.asked.revents.clear();
        self.asked.revents.resize(self.fds.len(), 0);
        self.nfds = highest + 1;
        self.found_closed = false;
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for (got, want) in self.got.iter_mut().zip(&self.want) {
            got.copy_from(want);
        }
        self.found_closed = false;
        let mut tv = timeout.map(timeout_timeval);
        let tv_ptr = tv.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let [r, w, e] = &mut self.got;
        let e_ptr = if self.except { e.as_mut_ptr() } else { ptr::null_mut() };
        // SAFETY: every set passed holds at least `nfds` bits in the kernel's fd_mask layout
        // (`FdSet::reset` sized them), exceptfds is one of them or null (no registration
        // wants priority data), and `tv_ptr` is null or points to a live timeval.
        let res =
            cvt(unsafe { libc::select(self.nfds, r.as_mut_ptr(), w.as_mut_ptr(), e_ptr, tv_ptr) });
        match res {
            Ok(0) => Ok(()),
            Ok(_) => self.ask_reported(),
            Err(err) if err.raw_os_error() == Some(libc::EBADF) => {
                // Some registered fd was closed: report those, and nothing else this time.
                for set in &mut self.got {
                    set.clear();
                }
                for &fd in &self.fds {
                    if !is_open(fd) {
                        self.got[READ].insert(fd);
                    }
                }
                self.found_closed = true;
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    fn woken(&self) -> bool {
        self.got[READ].contains(self.wake)
    }

    #[inline] // The wait's hot loop (see the trait).
    fn scan(
        &self,
        range: Range<usize>,
        mut report: impl FnMut(usize, RawFd, Readiness) -> bool,
    ) -> bool {
        let Some(fds) = self.fds.get(range) else {
            return true;
        };
        let (Some(&first), Some(&last)) = (fds.first(), fds.last()) else {
            return true;
        };
        // `fds` ascends, so the range's entries are the set bits from its first fd to its
        // last, less the wake-up fd (which has no entry).
        let [r, w, e] = &self.got;
        for fd in FdSet::union_range([r, w, e], first, last) {
            let Some(&index) = self.index_of.get(fd as usize).filter(|&&i| i != NOT_WATCHED) else {
                continue;
            };
            let readiness = if self.found_closed {
                Readiness { closed: true, ..Readiness::default() }
            } else {
                // What poll(2) said just after select adds hang-up and error (and, with
                // them, readable and writable, as on poll's backend).
                let asked =
                    Readiness::from_poll_bits(i32::from(self.asked.revents[index as usize]));
                let mut readiness = Readiness {
                    readable: r.contains(fd) | asked.readable,
                    writable: w.contains(fd) | asked.writable,
                    hangup: asked.hangup,
                    error: asked.error,
                    priority: self.except && e.contains(fd),
                    closed: asked.closed,
                };
                if POLL_RDHUP == 0 && readiness.readable && !readiness.hangup {
                    readiness.hangup = peer_closed(fd);
                }
                readiness
            };
            // One call site, so that `report` inlines.
            if !report(index as usize, fd, readiness) {
                return false;
            }
        }
        true
    }
}
