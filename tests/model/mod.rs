//! A reference model of the `Poller` contract, and a driver that runs the same random
//! operation sequence on a real backend and checks every result against the model.
//!
//! The fds are Unix socket pairs and pipes, where a write is readable on the other end at
//! once, so a zero-timeout wait sees exactly what the model expects: no sleeps, no races.
//! The model says, before each wait, which keys *must* be reported (and with which flags)
//! and which *may* be; the driver checks the backend's answer, then advances the model
//! (oneshot disarmed, edge consumed) by what was actually reported.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multipoll::{Events, Interest, Mode, Poller};
use proptest::prelude::*;

/// How many fds the sequences play with.
pub const SLOTS: usize = 4;

/// One step of a sequence.
#[derive(Clone, Debug)]
pub enum Op {
    Add {
        slot: usize,
        key: u8,
        interest: u8,
        mode: u8,
    },
    Modify {
        slot: usize,
        key: u8,
        interest: u8,
        mode: u8,
    },
    Delete {
        slot: usize,
    },
    /// The peer writes this many bytes.
    Write {
        slot: usize,
        len: u16,
    },
    /// Read everything queued on the watched end.
    Drain {
        slot: usize,
    },
    /// The peer closes its end.
    ClosePeer {
        slot: usize,
    },
    /// Delete (if registered), close both ends, open a fresh pair (often the same fd numbers).
    Reopen {
        slot: usize,
        pipe: bool,
    },
    Notify,
    Wait,
}

fn interest_of(i: u8) -> Interest {
    [Interest::READABLE, Interest::WRITABLE, Interest::BOTH, Interest::NONE][usize::from(i % 4)]
}

fn mode_of(m: u8) -> Mode {
    [Mode::Level, Mode::Oneshot, Mode::Edge][usize::from(m % 3)]
}

/// A key per slot, with a few variants so `modify` can change it; one variant sits next to
/// the reserved key.
fn key_of(slot: usize, k: u8) -> usize {
    match k % 4 {
        3 => usize::MAX - 1 - slot,
        v => slot * 16 + usize::from(v),
    }
}

pub fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        3 => (slot.clone(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(slot, key, interest, mode)| Op::Add { slot, key, interest, mode }),
        3 => (slot.clone(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(slot, key, interest, mode)| Op::Modify { slot, key, interest, mode }),
        1 => slot.clone().prop_map(|slot| Op::Delete { slot }),
        3 => (slot.clone(), 1..2048u16).prop_map(|(slot, len)| Op::Write { slot, len }),
        2 => slot.clone().prop_map(|slot| Op::Drain { slot }),
        1 => slot.clone().prop_map(|slot| Op::ClosePeer { slot }),
        1 => (slot, any::<bool>()).prop_map(|(slot, pipe)| Op::Reopen { slot, pipe }),
        1 => Just(Op::Notify),
        5 => Just(Op::Wait),
    ]
}

/// What one wait reported, normalised for comparison between backends.
pub type Report = BTreeMap<usize, (bool, bool, bool)>;

/// The observable result of one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done(Result<(), io::ErrorKind>),
    Waited(Report),
}

/// What the model knows of one registration: what was asked, and what is owed.
#[derive(Clone, Copy, Debug)]
struct Modelled {
    key: usize,
    interest: Interest,
    mode: Mode,
    /// Oneshot: not yet reported since (re-)arming.
    armed: bool,
    /// Edge: something happened since the last report that must be reported.
    dirty: bool,
    /// Edge: something happened that a kernel may or may not report (a peer's close, to a
    /// write-only registration: the wake-up names no event, so epoll re-checks the fd).
    maybe: bool,
}

impl Modelled {
    /// An edge for new data or a peer's close: owed to readable registrations.
    fn arrival(&mut self) {
        if self.interest.is_readable() {
            self.dirty = true;
        }
    }
}

struct Slot {
    watched: OwnedFd,
    peer: Option<OwnedFd>,
    pipe: bool,
    queued: usize,
    reg: Option<Modelled>,
}

impl Slot {
    fn open(pipe: bool) -> io::Result<Slot> {
        let (watched, peer) = if pipe {
            let (r, w) = std::io::pipe()?;
            (OwnedFd::from(r), OwnedFd::from(w))
        } else {
            let (a, b) = UnixStream::pair()?;
            (OwnedFd::from(a), OwnedFd::from(b))
        };
        set_nonblocking(&watched)?;
        Ok(Slot { watched, peer: Some(peer), pipe, queued: 0, reg: None })
    }

    fn readable(&self) -> bool {
        self.queued > 0 || self.peer.is_none()
    }

    fn writable(&self) -> bool {
        !self.pipe
    }

    /// The flags a report for this slot must carry: (readable, writable, hangup), and
    /// whether hang-up is certain (select sees it only once the queue is read).
    fn flags(&self, interest: Interest) -> ((bool, bool, bool), bool) {
        let r = self.readable() && interest.is_readable();
        let w = self.writable() && interest.is_writable();
        let hangup = self.peer.is_none() && interest.is_readable();
        ((r, w, hangup), self.queued == 0)
    }

    /// Whether a write-only registration of a pipe's read end may be reported writable:
    /// poll and epoll report the writer's close as `POLLHUP`, which makes any registration
    /// ready (a write fails at once); select has no bit for it.
    fn maybe_writable(&self, interest: Interest) -> bool {
        self.pipe && self.peer.is_none() && interest.is_writable()
    }
}

/// `O_NONBLOCK` on `fd` (std's pipes and Unix pairs are close-on-exec already).
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Runs `ops` on backend `P`, checking each step against the model; returns the outcomes.
pub fn run<P: Poller>(ops: &[Op], capacity: usize) -> Result<Vec<Outcome>, TestCaseError> {
    let poller = P::new().map_err(fail)?;
    let caps = poller.capabilities();
    let mut slots =
        (0..SLOTS).map(|i| Slot::open(i % 2 == 1)).collect::<io::Result<Vec<_>>>().map_err(fail)?;
    let mut events = Events::with_capacity(capacity);
    let mut outcomes = Vec::new();
    let mut notified = false;

    for op in ops {
        let outcome = match *op {
            Op::Add { slot, key, interest, mode } | Op::Modify { slot, key, interest, mode } => {
                let adding = matches!(op, Op::Add { .. });
                let (key, interest, mode) =
                    (key_of(slot, key), interest_of(interest), mode_of(mode));
                let s = &mut slots[slot];
                let fd = s.watched.as_fd();
                let got = if adding {
                    poller.add(fd, key, interest, mode)
                } else {
                    poller.modify(fd, key, interest, mode)
                };
                let want = if !caps.supports(mode) {
                    Err(io::ErrorKind::Unsupported)
                } else if adding && s.reg.is_some() {
                    Err(io::ErrorKind::AlreadyExists)
                } else if !adding && s.reg.is_none() {
                    Err(io::ErrorKind::NotFound)
                } else {
                    s.reg = Some(Modelled {
                        key,
                        interest,
                        mode,
                        armed: true,
                        dirty: true,
                        maybe: false,
                    });
                    Ok(())
                };
                let got = got.map_err(|e| e.kind());
                prop_assert_eq!(got, want, "{:?}", op);
                Outcome::Done(got)
            }
            Op::Delete { slot } => {
                let s = &mut slots[slot];
                let got = poller.delete(s.watched.as_fd()).map_err(|e| e.kind());
                let want =
                    if s.reg.take().is_some() { Ok(()) } else { Err(io::ErrorKind::NotFound) };
                prop_assert_eq!(got, want, "{:?}", op);
                Outcome::Done(got)
            }
            Op::Write { slot, len } => {
                let s = &mut slots[slot];
                if let Some(peer) = &s.peer {
                    let buf = vec![0x5a; usize::from(len)];
                    let mut f = std::fs::File::from(peer.try_clone().map_err(fail)?);
                    f.write_all(&buf).map_err(fail)?;
                    s.queued += buf.len();
                    if let Some(r) = &mut s.reg {
                        r.arrival();
                    }
                }
                Outcome::Done(Ok(()))
            }
            Op::Drain { slot } => {
                let s = &mut slots[slot];
                let mut f = std::fs::File::from(s.watched.try_clone().map_err(fail)?);
                let mut buf = vec![0; 4096];
                loop {
                    match f.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => s.queued -= n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(fail(e)),
                    }
                }
                prop_assert_eq!(s.queued, 0);
                Outcome::Done(Ok(()))
            }
            Op::ClosePeer { slot } => {
                let s = &mut slots[slot];
                if s.peer.take().is_some()
                    && let Some(r) = &mut s.reg
                {
                    r.arrival();
                    r.maybe = true;
                }
                Outcome::Done(Ok(()))
            }
            Op::Reopen { slot, pipe } => {
                let s = &mut slots[slot];
                if s.reg.take().is_some() {
                    poller.delete(s.watched.as_fd()).map_err(fail)?;
                }
                // Close first so the new pair can reuse the numbers.
                slots[slot] = Slot::open(pipe).map_err(fail)?;
                Outcome::Done(Ok(()))
            }
            Op::Notify => {
                poller.notify().map_err(fail)?;
                notified = true;
                Outcome::Done(Ok(()))
            }
            Op::Wait => {
                let report = check_wait(&poller, &mut slots, &mut events, notified)?;
                // The wait that returns nothing may be the one the notify woke. A wait
                // that returns events may or may not have consumed it.
                if events.is_empty() {
                    notified = false;
                }
                Outcome::Waited(report)
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One zero-timeout wait. While a notify may be pending, the wait may return nothing (a
/// notify may take the place of events, see the contract); otherwise it owes every ready
/// registration up to the capacity.
fn check_wait<P: Poller>(
    poller: &P,
    slots: &mut [Slot],
    events: &mut Events,
    notified: bool,
) -> Result<Report, TestCaseError> {
    // What must and may be reported, by key.
    let mut must = BTreeMap::new();
    let mut may = BTreeMap::new();
    for s in slots.iter() {
        let Some(r) = s.reg else { continue };
        if r.interest.is_none() {
            continue;
        }
        let (flags, hangup_certain) = s.flags(r.interest);
        let maybe = s.maybe_writable(r.interest) && !flags.1;
        let ready = flags.0 || flags.1;
        let (owed, allowed) = match r.mode {
            Mode::Level => (ready, ready || maybe),
            Mode::Oneshot => (ready && r.armed, (ready || maybe) && r.armed),
            Mode::Edge => (ready && r.dirty, (ready || maybe) && (r.dirty || r.maybe)),
            // The model draws only the three modes every backend here has (`mode_of`).
            _ => unreachable!("the model does not generate {}", r.mode),
        };
        if owed {
            must.insert(r.key, (flags, hangup_certain, maybe));
        }
        if allowed {
            may.insert(r.key, (flags, hangup_certain, maybe));
        }
    }

    let n = poller.wait(events, Some(Duration::ZERO)).map_err(fail)?;
    prop_assert_eq!(n, events.len());

    let mut report = Report::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in events.iter() {
        let Some(&((r, w, h), hangup_certain, maybe_w)) = may.get(&e.key()) else {
            return Err(TestCaseError::fail(format!(
                "unexpected event {e:?}; expected only {must:?}"
            )));
        };
        prop_assert!(!seen.contains(&e.key()), "key {} reported twice", e.key());
        prop_assert_eq!(e.is_readable(), r, "readable of {:?}", e);
        prop_assert!(e.is_writable() == w || maybe_w, "writable of {:?}", e);
        prop_assert!(!e.is_error(), "no error is pending: {:?}", e);
        if hangup_certain {
            prop_assert_eq!(e.is_hangup(), h, "hang-up of {:?}", e);
        } else {
            prop_assert!(!e.is_hangup() || h, "hang-up of {:?}", e);
        }
        // Normalised: hang-up only where every backend must see it.
        seen.insert(e.key());
        let normal =
            (e.is_readable(), e.is_writable() && !maybe_w, e.is_hangup() && hangup_certain);
        if normal != (false, false, false) {
            report.insert(e.key(), normal);
        }
    }
    // A pending notify may take one place in the buffer (epoll hands it over with the rest).
    let room = events.capacity() - usize::from(notified);
    let owed = if notified && seen.is_empty() { 0 } else { must.len().min(room) };
    prop_assert!(seen.len() >= owed, "reported {:?}, owed {} of {:?}", seen, owed, must);
    for key in must.keys().filter(|k| !seen.contains(k)) {
        // What was owed but did not fit must still be owed (checked by the next wait).
        prop_assert!(seen.len() == room || notified, "key {} owed, not reported", key);
    }

    for s in slots.iter_mut() {
        if let Some(r) = &mut s.reg
            && seen.contains(&r.key)
        {
            r.armed = false;
            r.dirty = false;
            r.maybe = false;
        }
    }
    Ok(report)
}

/// A setup error as a test failure.
pub fn fail(e: io::Error) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}
