//! `multipoll-echo`: the echo server on the command line.
//!
//! The backend is picked at runtime but the loop is not dynamic: `main` matches the
//! [`Backend`] once and calls `serve::<Epoll>()` (or `Poll`, ...), so each backend runs
//! its own monomorphised loop. A build with one backend feature has one arm.

mod cli;

use std::io;
use std::process::ExitCode;
use std::thread;

use clap::{CommandFactory, Parser};
use multipoll::{AnyPoller, Backend, Poller};
use multipoll_echo::{Config, Echo, EchoServer, ShutdownHandle, Stats};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

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
    // Check the flags against the backend before binding, as a usage error (exit 2).
    match AnyPoller::new(backend) {
        Ok(poller) => {
            if let Err(e) = config.validate(&poller.capabilities()) {
                usage_error(&e.to_string());
            }
        }
        Err(e) => usage_error(&e.to_string()),
    }
    let result = match backend {
        #[cfg(feature = "select")]
        Backend::Select => serve::<multipoll::Select>(&cli, config),
        #[cfg(feature = "poll")]
        Backend::Poll => serve::<multipoll::Poll>(&cli, config),
        #[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
        Backend::Epoll => serve::<multipoll::Epoll>(&cli, config),
        #[cfg(all(
            feature = "kqueue",
            any(
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_os = "openbsd",
                target_vendor = "apple"
            )
        ))]
        Backend::Kqueue => serve::<multipoll::Kqueue>(&cli, config),
        #[allow(unreachable_patterns, reason = "reachable when a backend is compiled out")]
        other => usage_error(&format!("backend `{other}` is not available in this build")),
    };
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

/// Runs the server on backend `P` until a signal stops it.
fn serve<P: Poller + 'static>(cli: &Cli, config: Config) -> io::Result<()> {
    let server = EchoServer::<P>::bind(cli.addr, config.clone(), Echo)?;
    println!(
        "multipoll-echo listening on {} (backend {}, mode {}, {} thread{})",
        server.local_addr(),
        server.capabilities().name,
        config.mode,
        config.threads,
        if config.threads == 1 { "" } else { "s" }
    );
    watch_signals(server.shutdown_handle())?;
    let stats = server.stats();
    if let Some(interval) = cli.stats_interval {
        let stats = server.stats();
        thread::Builder::new().name("stats".into()).spawn(move || {
            loop {
                thread::sleep(interval);
                print_stats("now", &stats);
            }
        })?;
    }
    let result = server.run();
    print_stats("final", &stats);
    result
}

/// The first SIGINT/SIGTERM shuts down gracefully; a second one exits at once.
fn watch_signals(stop: ShutdownHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            if stop.is_requested() {
                eprintln!("multipoll-echo: signal {signal} again: exiting now");
                std::process::exit(130);
            }
            log::info!("signal {signal}: shutting down (send it again to exit at once)");
            if let Err(e) = stop.shutdown() {
                log::error!("shutdown: {e}");
            }
        }
    })?;
    Ok(())
}

/// One line for the total and one per loop (when there are several), `key=value`.
fn print_stats(when: &str, stats: &Stats) {
    println!("stats {when} total: {}", stats.total());
    if stats.loops().len() > 1 {
        for (i, l) in stats.loops().iter().enumerate() {
            println!("stats {when} loop {i}: {}", l.snapshot());
        }
    }
}
