//! Step 3 of the tutorial: why not just retry? A busy loop next to a blocking `wait`,
//! measured.
//!
//! With non-blocking sockets the tempting loop is "try every socket; on `WouldBlock` try
//! the next; repeat". It is correct, and it uses all the CPU it is given (a whole core on
//! an idle machine) doing nothing: every try is a `read(2)` that the kernel answers with
//! `EAGAIN`. `Poller::wait` instead sleeps in the kernel until one of the sockets is ready
//! (or the timeout passes), and costs next to no CPU meanwhile. That is the point of
//! `select()` and of this project.
//!
//! This example watches the same idle sockets (nothing is ever sent on them) both ways,
//! for the same time, and prints the CPU time the thread used in each, measured as it runs
//! with `getrusage(2)` (`GetThreadTimes` on Windows, which counts in clock ticks): *user*
//! time is our loop, *system* time is the kernel answering the reads. A run (select backend, debug build; with other work on the machine the busy
//! loop gets less than a whole core, and `wait` still needs almost none):
//!
//! ```text
//! busy loop: 500 ms wall,  497.5 ms CPU (100% of a core; user 148.0 ms, system 349.6 ms), 1734736 reads, every one WouldBlock
//! wait     : 501 ms wall,    1.7 ms CPU (0% of a core; user 0.6 ms, system 1.1 ms), 1 call(s) to wait, 0 events
//! ```
//!
//! Run: `cargo run --example busy_loop_vs_wait -- --backend epoll --millis 500 --sockets 8`

mod common;

use std::io::{self, Read};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::cpu_time::CpuTime;
use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};

/// What one way of watching cost.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// Wall-clock time it ran.
    pub wall: Duration,
    /// CPU time the thread used meanwhile.
    pub cpu: CpuTime,
    /// Syscalls made: `read`s for the busy loop, `wait`s for the poller.
    pub calls: u64,
}

/// What the example measured.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The busy non-blocking read loop.
    pub busy: Cost,
    /// The blocking `wait`.
    pub wait: Cost,
}

fn main() -> ExitCode {
    let usage = "usage: busy_loop_vs_wait [--backend NAME] [--millis N (500)] [--sockets N (8)]";
    common::run_main(usage, &[], &["--millis", "--sockets"], |args| {
        let time = Duration::from_millis(args.value("--millis", 500)?);
        run(args.backend, args.value("--sockets", 8)?, time).map(drop)
    })
}

/// Watches `sockets` idle sockets for `time` with a busy loop, then for `time` with a
/// `wait` over `backend`, printing what each cost.
///
/// # Errors
/// Socket and poller errors; `InvalidData` if an idle socket turns out not to be idle;
/// `InvalidInput` for no sockets.
pub fn run(backend: Backend, sockets: usize, time: Duration) -> io::Result<Report> {
    if sockets == 0 {
        return Err(common::invalid("--sockets: at least one socket to watch"));
    }
    // Keep both ends: if the peers were dropped, the sockets would be at end of file
    // (readable), not idle.
    let pairs = (0..sockets).map(|_| common::tcp_pair()).collect::<io::Result<Vec<_>>>()?;
    let mut idle: Vec<&TcpStream> = pairs.iter().map(|(_, server)| server).collect();
    for socket in &idle {
        socket.set_nonblocking(true)?;
    }
    println!(
        "backend {backend}: watching {} idle loopback TCP sockets for {time:?}, each way",
        idle.len()
    );

    let busy = measure(|| busy_loop(&mut idle, time))?;
    print_cost("busy loop", &busy, format!("{} reads, every one WouldBlock", busy.calls));

    let poller = AnyPoller::new(backend)?;
    for (key, socket) in idle.iter().enumerate() {
        poller.add(socket.as_source(), key, Interest::READABLE, Mode::Level)?;
    }
    let wait = measure(|| wait_loop(&poller, time))?;
    print_cost("wait     ", &wait, format!("{} call(s) to wait, 0 events", wait.calls));

    let (busy_cpu, wait_cpu) = (busy.cpu.total(), wait.cpu.total());
    println!(
        "for the same answer (nothing to read), the busy loop used {:.1} ms of CPU and wait {:.1} ms",
        millis(busy_cpu),
        millis(wait_cpu)
    );
    Ok(Report { busy, wait })
}

/// Tries every socket until `time` has passed; returns the reads made.
fn busy_loop(sockets: &mut [&TcpStream], time: Duration) -> io::Result<u64> {
    let start = Instant::now();
    let mut buf = [0; 4096];
    let mut reads = 0;
    while start.elapsed() < time {
        for socket in sockets.iter_mut() {
            reads += 1;
            match socket.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(_) => return Err(not_idle("a read returned data or end of file")),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(reads)
}

/// Waits on `poller` until `time` has passed; returns the waits made.
fn wait_loop(poller: &AnyPoller, time: Duration) -> io::Result<u64> {
    let deadline = Instant::now() + time;
    let mut events = Events::new();
    let mut waits = 0;
    // One wait normally covers the whole time; loop because `wait` may return early.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(waits);
        }
        waits += 1;
        if poller.wait(&mut events, Some(left))? > 0 {
            return Err(not_idle("wait reported an event"));
        }
    }
}

/// Runs `work`, measuring its wall-clock and CPU time.
fn measure(work: impl FnOnce() -> io::Result<u64>) -> io::Result<Cost> {
    let (cpu_before, wall_before) = (CpuTime::now()?, Instant::now());
    let calls = work()?;
    let (cpu_after, wall) = (CpuTime::now()?, wall_before.elapsed());
    Ok(Cost { wall, cpu: cpu_after.since(cpu_before), calls })
}

fn print_cost(name: &str, cost: &Cost, calls: String) {
    let share = cost.cpu.total().as_secs_f64() / cost.wall.as_secs_f64().max(1e-9);
    println!(
        "{name}: {:.0} ms wall, {:6.1} ms CPU ({:.0}% of a core; user {:.1} ms, system {:.1} ms), {calls}",
        millis(cost.wall),
        millis(cost.cpu.total()),
        share * 100.0,
        millis(cost.cpu.user),
        millis(cost.cpu.system),
    );
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn not_idle(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what} on an idle socket"))
}
