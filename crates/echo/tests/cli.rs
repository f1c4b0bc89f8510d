//! The command line: `--help` documents every flag; bad flags, unknown or unavailable
//! backends and modes a backend cannot do are clear usage errors with exit code 2.

pub mod util;

use std::io;
use std::process::Output;

use multipoll::Backend;

use util::check;

fn echo(args: &[&str]) -> io::Result<Output> {
    util::child::command().args(args).output()
}

/// Runs the binary with `args`; expects exit code 2 and `needle` in its stderr.
#[track_caller]
fn usage_error(args: &[&str], needle: &str) -> io::Result<()> {
    let out = echo(args)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(2), || format!("{args:?}: exit {}: {stderr}", out.status))?;
    check(stderr.contains(needle), || format!("{args:?}: `{needle}` not in: {stderr}"))
}

#[test]
fn help_lists_every_flag() -> io::Result<()> {
    let out = echo(&["--help"])?;
    check(out.status.success(), || format!("exit {}", out.status))?;
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--backend",
        "--mode",
        "--max-conns",
        "--high-water",
        "--idle-timeout",
        "--drain-timeout",
        "--threads",
        "--stats-interval",
        "--accept-backoff",
    ] {
        check(help.contains(flag), || format!("{flag} missing from --help:\n{help}"))?;
    }
    Ok(())
}

#[test]
fn unknown_backend() -> io::Result<()> {
    let available: Vec<&str> = Backend::available().map(Backend::name).collect();
    usage_error(&["--backend", "fancy"], &format!("available: {}", available.join(", ")))
}

#[test]
fn unavailable_backend() -> io::Result<()> {
    let Some(missing) = Backend::ALL.iter().copied().find(|b| !b.is_available()) else {
        return Ok(()); // Every backend is here (a BSD with all features).
    };
    usage_error(&["--backend", missing.name()], "not available")
}

#[test]
fn unknown_backend_from_env() -> io::Result<()> {
    let out = util::child::command().env("MULTIPOLL_BACKEND", "fancy").output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(2) && stderr.contains("MULTIPOLL_BACKEND"), || {
        format!("exit {}: {stderr}", out.status)
    })
}

#[test]
fn edge_on_poll() -> io::Result<()> {
    usage_error(&["--mode", "edge", "--backend", "poll"], "does not support mode `edge`")
}

#[test]
fn bad_values() -> io::Result<()> {
    usage_error(&["--mode", "sideways"], "unknown mode")?;
    usage_error(&["--threads", "0"], "--threads")?;
    usage_error(&["--threads", "many"], "--threads")?;
    usage_error(&["--high-water", "12X"], "unknown size unit")?;
    usage_error(&["--idle-timeout", "soon"], "unknown duration unit")?;
    usage_error(&["--drain-timeout", "1.2.3s"], "not a duration")?;
    usage_error(&["--addr", "nowhere"], "--addr")?;
    usage_error(&["--no-such-flag"], "unexpected argument")
}
