//! `multipoll-loadgen`: drive an echo server, verify every byte, report throughput and
//! latency. Exits 0 when every reply came back intact; 1 when any connection failed
//! (refused, reset, closed early, corrupt or missing replies; the report says which);
//! 2 when it could not run at all (bad arguments, no poller).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use multipoll::Backend;
use multipoll_loadgen::{Config, Limit, Progress, Report};

/// Echo load generator over multipoll. Every echoed byte is checked.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The echo server.
    #[arg(long, default_value = "127.0.0.1:7007")]
    addr: SocketAddr,
    /// TCP connections.
    #[arg(long, short = 'c', default_value_t = 1)]
    connections: usize,
    /// Extra connections held idle for the run (no traffic), at most 100000.
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Bytes per message.
    #[arg(long, short = 's', default_value_t = 64)]
    size: usize,
    /// Seconds to measure (default 10 unless --messages is given).
    #[arg(long, short = 'd', conflicts_with = "messages")]
    duration: Option<f64>,
    /// Messages to echo in total over all connections, instead of --duration.
    #[arg(long, short = 'm')]
    messages: Option<u64>,
    /// Messages in flight per connection (1 = ping-pong).
    #[arg(long, short = 'p', default_value_t = 1)]
    pipeline: usize,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Readiness backend: select, poll, epoll, kqueue, uring (default: $MULTIPOLL_BACKEND,
    /// else the platform's best).
    #[arg(long, short = 'b')]
    backend: Option<Backend>,
    /// Event-loop threads; connections are spread over them.
    #[arg(long, short = 't', default_value_t = 1)]
    threads: usize,
    /// Seconds to wait for missing replies (and the connect timeout).
    #[arg(long, default_value_t = 5.0)]
    grace: f64,
    /// Print the report as one line of JSON.
    #[arg(long)]
    json: bool,
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|e| format!("--{name} {s}: {e}"))
}

impl Args {
    fn config(&self) -> Result<Config, String> {
        let limit = match (self.messages, self.duration) {
            (Some(m), _) => Limit::Messages(m),
            (None, d) => Limit::Duration(seconds("duration", d.unwrap_or(10.0))?),
        };
        let backend = match self.backend {
            Some(b) => b,
            None => Backend::from_env().map_err(|e| e.to_string())?,
        };
        Ok(Config {
            addr: self.addr,
            connections: self.connections,
            idle: self.idle,
            size: self.size,
            limit,
            pipeline: self.pipeline,
            warmup: seconds("warmup", self.warmup)?,
            backend,
            threads: self.threads,
            grace: seconds("grace", self.grace)?,
        })
    }
}

/// Rewrites one status line in place on a terminal.
fn show_progress(p: Progress, last: &mut (Duration, u64)) {
    let (then, count) = *last;
    let dt = (p.elapsed - then).as_secs_f64();
    let rate = if dt > 0.0 { (p.messages - count) as f64 / dt } else { 0.0 };
    *last = (p.elapsed, p.messages);
    let phase = if p.measuring { "measuring" } else { "warming up" };
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "\r\x1b[2K{:6.1} s  {phase}  {} messages  {rate:.0} msg/s",
        p.elapsed.as_secs_f64(),
        p.messages
    );
    let _ = out.flush();
}

fn print(report: &Report, json: bool, terminal: bool) {
    let mut out = std::io::stdout().lock();
    if terminal {
        let _ = write!(out, "\r\x1b[2K");
    }
    let _ = if json { writeln!(out, "{}", report.to_json()) } else { write!(out, "{report}") };
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("multipoll-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let terminal = std::io::stdout().is_terminal();
    let result = if terminal {
        let mut last = (Duration::ZERO, 0);
        multipoll_loadgen::run_with_progress(&config, Duration::from_secs(1), |p| {
            show_progress(p, &mut last)
        })
    } else {
        multipoll_loadgen::run(&config)
    };
    match result {
        Ok(report) => {
            print(&report, args.json, terminal);
            if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("multipoll-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}
