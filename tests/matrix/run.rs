//! Running behaviours and recording what each did, without letting one failure stop the
//! others or fill the output with expected panics.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Once, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use multipoll_conformance::{Behaviour, Isolation};
use multipoll_core::Poller;

/// What one behaviour did on one poller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned `Ok`.
    Pass,
    /// It panicked (a broken promise) or returned an error other than `Unsupported`.
    Fail(String),
    /// It returned `Unsupported`: the poller refused something the behaviour needs in
    /// order to check its promise (a mode, an interest), as the contract says it must.
    NotApplicable(String),
}

impl Outcome {
    /// The word used in the expected table and the matrix: `pass`, `fail`, `n/a`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::NotApplicable(_) => "n/a",
        }
    }

    /// The failure or refusal message (empty for a pass).
    pub fn message(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(m) | Outcome::NotApplicable(m) => m,
        }
    }
}

/// One poller and the suite instantiated for it.
#[derive(Debug)]
pub struct Subject {
    /// The column name: `polling`, `mio`, `epoll`, …
    pub name: &'static str,
    /// Every behaviour of the suite, for this poller, in documentation order.
    pub behaviours: Vec<Behaviour>,
}

impl Subject {
    /// The suite on `P`.
    pub fn of<P: Poller>(name: &'static str) -> Subject {
        Subject { name, behaviours: multipoll_conformance::behaviours::<P>() }
    }
}

/// One run: `outcomes[s][b]` is behaviour `b` of subject `s`, with how long it took.
pub type Results = Vec<Vec<Timed>>;

/// How long one behaviour may take before it counts as hung. Behaviours bound themselves
/// (a failing one takes ten to thirty seconds), so this only catches a poller on which a
/// behaviour's own bound cannot work; the test then ends instead of hanging CI.
pub const HANG: Duration = Duration::from_secs(60);

/// Where a behaviour sits: `(subject, behaviour)` indexes into [`Results`].
type At = (usize, usize);

/// One behaviour to run, and where its outcome goes.
type Job = (At, Behaviour);

/// An outcome and how long the behaviour took.
type Timed = (Outcome, Duration);

/// Runs every behaviour of every subject: first the [`Isolation::Alone`] ones, one at a
/// time, then the [`Isolation::Shared`] ones on `threads` threads at once (they mostly
/// sleep in bounded waits, so failing ones cost their ten seconds in parallel, not in
/// series). Each holds the suite's isolation lock ([`Behaviour::run`]) while it runs. A
/// behaviour still running after [`HANG`] fails as hung, its thread left behind; one
/// that hangs alone holds the lock, so nothing runs after it.
pub fn run(subjects: &[Subject], threads: usize) -> Results {
    install_panic_capture();
    let jobs: Vec<Job> = subjects
        .iter()
        .enumerate()
        .flat_map(|(s, subject)| {
            subject.behaviours.iter().enumerate().map(move |(b, &x)| ((s, b), x))
        })
        .collect();
    let (alone, shared): (Vec<Job>, Vec<Job>) =
        jobs.iter().partition(|(_, b)| b.isolation == Isolation::Alone);

    let mut done: HashMap<At, Timed> = HashMap::new();
    let mut blocked_by = None;
    for job in alone {
        let (outcomes, hung) = run_pool(vec![job], 1);
        done.extend(outcomes);
        if hung {
            blocked_by = Some(job.1.name);
            break;
        }
    }
    match blocked_by {
        None => done.extend(run_pool(shared, threads).0),
        Some(name) => {
            let skipped = format!("not run: `{name}` hung while holding the isolation lock");
            for (at, _) in &jobs {
                done.entry(*at).or_insert_with(|| (Outcome::Fail(skipped.clone()), Duration::ZERO));
            }
        }
    }
    subjects
        .iter()
        .enumerate()
        .map(|(s, subject)| {
            (0..subject.behaviours.len())
                .map(|b| done.remove(&(s, b)).expect("every behaviour has an outcome"))
                .collect()
        })
        .collect()
}

/// What a pool's thread tells the pool.
enum Report {
    Started(At),
    Finished(At, Timed),
}

/// Runs `jobs` on `threads` threads of their own. A job still running [`HANG`] after it
/// started fails as hung (its thread is left behind, the others go on with the queue);
/// if every thread hangs, the jobs never started fail as not run. Returns the outcomes,
/// and whether any job hung.
fn run_pool(jobs: Vec<Job>, threads: usize) -> (Vec<(At, Timed)>, bool) {
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs.clone())));
    let (sender, receiver) = mpsc::channel();
    for _ in 0..threads.min(jobs.len()) {
        let (queue, sender) = (Arc::clone(&queue), sender.clone());
        // Detached: a hung behaviour keeps its thread until the process exits.
        thread::spawn(move || {
            while let Some((at, behaviour)) = pop(&queue) {
                let _ = sender.send(Report::Started(at));
                if sender.send(Report::Finished(at, run_one(&behaviour))).is_err() {
                    return;
                }
            }
        });
    }
    drop(sender);
    let mut running: HashMap<At, Instant> = HashMap::new();
    let mut done: HashMap<At, Timed> = HashMap::new();
    let mut hung = false;
    while done.len() < jobs.len() {
        let next_deadline = running.values().min().map_or(Instant::now() + HANG, |t| *t + HANG);
        match receiver.recv_timeout(next_deadline.saturating_duration_since(Instant::now())) {
            Ok(Report::Started(at)) => {
                running.insert(at, Instant::now());
            }
            Ok(Report::Finished(at, timed)) => {
                running.remove(&at);
                // A job already failed as hung keeps that outcome.
                done.entry(at).or_insert(timed);
            }
            Err(_) if running.is_empty() => break,
            Err(_) => {
                let now = Instant::now();
                for (at, _) in running.extract_if(|_, started| now >= *started + HANG) {
                    hung = true;
                    let message = format!("hung: no outcome within {HANG:?}");
                    done.insert(at, (Outcome::Fail(message), HANG));
                }
            }
        }
    }
    for (at, _) in jobs {
        let not_run = || (Outcome::Fail("not run: every thread of its pool hung".to_owned()), HANG);
        done.entry(at).or_insert_with(not_run);
    }
    (done.into_iter().collect(), hung)
}

fn pop(queue: &Mutex<VecDeque<Job>>) -> Option<Job> {
    // The lock guards a plain queue that no panic can leave half-changed.
    queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
}

/// Runs one behaviour, catching its panic.
fn run_one(behaviour: &Behaviour) -> Timed {
    let start = Instant::now();
    CAPTURING.set(true);
    let result = panic::catch_unwind(AssertUnwindSafe(|| behaviour.run()));
    CAPTURING.set(false);
    let outcome = match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(e)) if e.kind() == io::ErrorKind::Unsupported => {
            Outcome::NotApplicable(one_line(&e.to_string()))
        }
        Ok(Err(e)) => Outcome::Fail(one_line(&format!("error {:?}: {e}", e.kind()))),
        Err(_) => Outcome::Fail(CAUGHT.take().unwrap_or_else(|| "panicked".to_owned())),
    };
    (outcome, start.elapsed())
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

thread_local! {
    /// Whether a panic on this thread is a behaviour's, to be recorded rather than printed.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// The last recorded panic on this thread: its message and where it was raised.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Expected failures would otherwise each print a panic message (and, under
/// `RUST_BACKTRACE=1`, a backtrace). Panics on a running behaviour's own thread are
/// recorded with their location instead; any other thread's go to the usual hook.
fn install_panic_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.get() {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("panicked");
                let place = info.location().map(|l| format!(" ({}:{})", l.file(), l.line()));
                let caught = one_line(&format!("{message}{}", place.unwrap_or_default()));
                CAUGHT.set(Some(caught));
            } else {
                default(info);
            }
        }));
    });
}
