//! `multipoll-loadgen`: drive an echo server, verify every byte, report throughput and
//! latency. Exits 0 when every reply came back intact; 1 when any connection failed
//! (refused, reset, closed early, corrupt or missing replies; the report says which);
//! 2 when it could not run at all (bad arguments, no poller).

mod cli;
mod progress;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("multipoll-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if args.json {
        multipoll_loadgen::run(&config)
    } else {
        let mut line = progress::Line::stderr();
        let result =
            multipoll_loadgen::run_with_progress(&config, Duration::from_secs(1), |p| line.show(p));
        line.finish();
        result
    };
    match result {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let _ = if args.json {
                writeln!(out, "{}", report.to_json())
            } else {
                write!(out, "{report}")
            };
            if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("multipoll-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}
