//! `multipoll-echo`: the echo server on the command line.
//!
//! The backend is picked at runtime but the loop is not dynamic: `main` hands `serve` to
//! [`Backend::with_poller`], which calls `serve::<Epoll>()` (or `Poll`, ...) once, so each
//! backend runs its own monomorphised loop.

mod cli;

use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;

use clap::{CommandFactory, Parser};
use multipoll::{Backend, Poller, WithPoller};
use multipoll_echo::{Config, Echo, EchoServer, ShutdownHandle, Stats};

use cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let backend = match cli.backend {
        Some(backend) => backend,
        None => {
            Backend::from_env().unwrap_or_else(|e| usage_error(&format!("MULTIPOLL_BACKEND: {e}")))
        }
    };
    let config = cli.config();
    let result = backend
        .with_poller(Serve { cli: &cli, config })
        .unwrap_or_else(|e| usage_error(&e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("multipoll-echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `message` as clap does for bad flags, and exits with clap's code (2).
fn usage_error(message: &str) -> ! {
    Cli::command().error(clap::error::ErrorKind::InvalidValue, message).exit()
}

/// Runs the server on the chosen backend's poller type until a signal (Ctrl-C on
/// Windows) stops it.
struct Serve<'a> {
    cli: &'a Cli,
    config: Config,
}

impl WithPoller for Serve<'_> {
    type Output = io::Result<()>;

    fn run<P: Poller + 'static>(self) -> io::Result<()> {
        serve::<P>(self.cli, self.config)
    }
}

/// Runs the server on backend `P` until a signal stops it.
fn serve<P: Poller + 'static>(cli: &Cli, config: Config) -> io::Result<()> {
    let server = match EchoServer::<P>::bind(cli.addr, config.clone(), Echo) {
        Ok(server) => server,
        // The flags ask for what this backend cannot do (`Server::bind` checks the
        // configuration before binding, with these two kinds): a usage error, exit 2.
        Err(e) if matches!(e.kind(), io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput) => {
            usage_error(&e.to_string())
        }
        Err(e) => return Err(e),
    };
    println!(
        "multipoll-echo listening on {} (backend {}, mode {}, {} thread{})",
        server.local_addr(),
        server.capabilities().name(),
        config.mode,
        config.threads,
        if config.threads == 1 { "" } else { "s" }
    );
    watch_signals(server.shutdown_handle())?;
    let stats = server.stats();
    if let Some(interval) = cli.stats_interval {
        let live = Arc::clone(&stats);
        thread::Builder::new().name("stats".into()).spawn(move || {
            loop {
                thread::sleep(interval);
                print_stats("now", &live);
            }
        })?;
    }
    let result = server.run();
    let signal = SIGNALLED.load(Ordering::Relaxed);
    if signal != 0 {
        let by = stopped_by(signal);
        log::info!("{by}: shut down (a second one would have exited at once)");
    }
    print_stats("final", &stats);
    result
}

/// The first SIGINT/SIGTERM shuts down gracefully; a second one exits at once.
///
/// Handled in the signal handler itself rather than on a thread of its own: a process with
/// a second thread makes glibc wrap every `recv`/`send` in cancellation bookkeeping
/// (locked atomic operations on every syscall: docs/benchmarks.md), which a one-loop
/// server, otherwise single-threaded, need not pay.
#[cfg(unix)]
fn watch_signals(stop: ShutdownHandle) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        let stop = stop.clone();
        // SAFETY: `on_signal` does only async-signal-safe things: atomic loads and
        // stores, the pollers' notify (one write(2), or kevent(2) on kqueue), write(2) to
        // stderr and _exit(2); it allocates and locks nothing. signal-hook saves and
        // restores errno around it.
        unsafe { signal_hook::low_level::register(signal, move || on_signal(&stop, signal)) }?;
    }
    Ok(())
}

/// The signal handler; see [`watch_signals`].
#[cfg(unix)]
fn on_signal(stop: &ShutdownHandle, signal: i32) {
    if stop.is_requested() {
        let _ = write_stderr(b"multipoll-echo: signal again: exiting now\n");
        signal_hook::low_level::exit(130);
    }
    SIGNALLED.store(signal, Ordering::Relaxed);
    // A failed notify leaves the flag set: the loop stops at its next wake-up.
    let _ = stop.shutdown();
}

/// The first Ctrl-C or Ctrl-Break shuts down gracefully; a second one exits at once.
///
/// Windows runs a console control handler on a thread of its own, and ctrlc runs ours on
/// its own thread after it: no signal-handler restrictions here.
#[cfg(windows)]
fn watch_signals(stop: ShutdownHandle) -> io::Result<()> {
    ctrlc::set_handler(move || {
        if stop.is_requested() {
            eprintln!("multipoll-echo: Ctrl-C again: exiting now");
            std::process::exit(130);
        }
        SIGNALLED.store(CONSOLE_EVENT, Ordering::Relaxed);
        // A failed notify leaves the flag set: the loop stops at its next wake-up.
        let _ = stop.shutdown();
    })
    .map_err(|e| io::Error::other(format!("cannot handle Ctrl-C and Ctrl-Break: {e}")))
}

/// What [`SIGNALLED`] holds after a console control event (ctrlc does not say which).
#[cfg(windows)]
const CONSOLE_EVENT: i32 = -1;

/// How the log names the signal or event that stopped the server.
fn stopped_by(signal: i32) -> String {
    #[cfg(windows)]
    if signal == CONSOLE_EVENT {
        return "Ctrl-C or Ctrl-Break".to_string();
    }
    format!("signal {signal}")
}

/// The signal that started the shutdown (0: none), logged once the server has stopped:
/// logging allocates and locks, which a signal handler must not.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// One write(2) to fd 2, async-signal-safe: `stderr()` only names a static and `as_fd`
/// takes no lock (writing through `Stderr` would).
#[cfg(unix)]
fn write_stderr(message: &[u8]) -> io::Result<()> {
    use std::os::fd::AsFd;
    nix::unistd::write(io::stderr().as_fd(), message)?;
    Ok(())
}

/// One line for the total and one per loop (when there are several), `key=value`.
fn print_stats(when: &str, stats: &Stats) {
    println!("stats {when} total: {}", stats.total());
    if stats.loops().len() > 1 {
        for (i, l) in stats.loops().enumerate() {
            println!("stats {when} loop {i}: {}", l.snapshot());
        }
    }
}
