//! The command line: `--help` documents every flag; bad flags, unknown or unavailable
//! backends and modes a backend cannot do are clear usage errors with exit code 2.

pub mod util;

use std::io;
use std::process::{Output, Stdio};
use std::time::Duration;

use multipoll::Backend;

use util::check;

/// Runs the binary with `args` to its end, or for 10 s at most: a value it should refuse
/// but accepts starts a server that would run forever. Killed then, it fails the caller's
/// exit-code check.
fn echo(args: &[&str]) -> io::Result<Output> {
    let mut child = util::child::command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let exited = util::wait_until(Duration::from_secs(10), "the binary to exit", || {
        Ok(child.try_wait()?.is_some())
    });
    if exited.is_err() {
        child.kill()?;
    }
    child.wait_with_output()
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
    usage_error(&["--high-water", "12X"], "--high-water")?;
    usage_error(&["--idle-timeout", "soon"], "--idle-timeout")?;
    usage_error(&["--drain-timeout", "1.2.3s"], "not a duration")?;
    usage_error(&["--addr", "nowhere"], "--addr")?;
    usage_error(&["--no-such-flag"], "unexpected argument")
}

/// Zero limits, intervals and timeouts are refused: `--stats-interval 0s` printed stats in
/// a busy loop, `--idle-timeout 0s` closed every connection at once, `--max-conns 0`
/// refused every client, `--accept-backoff 0` would retry a failing accept in a busy loop.
#[test]
fn zero_values_refused() -> io::Result<()> {
    for (flag, zero) in [
        ("--stats-interval", "0s"),
        ("--idle-timeout", "0s"),
        ("--idle-timeout", "0"),
        ("--drain-timeout", "0ms"),
        ("--accept-backoff", "0"),
    ] {
        usage_error(&["--addr", "127.0.0.1:0", flag, zero], flag)?;
        usage_error(&["--addr", "127.0.0.1:0", flag, zero], "more than zero")?;
    }
    for (flag, zero) in [("--max-conns", "0"), ("--threads", "0"), ("--high-water", "0")] {
        usage_error(&["--addr", "127.0.0.1:0", flag, zero], flag)?;
        usage_error(&["--addr", "127.0.0.1:0", flag, zero], "at least 1")?;
    }
    Ok(())
}

/// A negative value reaches the value parser, which says it must be positive (clap alone
/// took `-5` for an unknown flag).
#[test]
fn negative_values_refused() -> io::Result<()> {
    for flag in ["--idle-timeout", "--drain-timeout", "--stats-interval", "--accept-backoff"] {
        usage_error(&[flag, "-5s"], flag)?;
        usage_error(&[flag, "-5s"], "must be positive")?;
    }
    usage_error(&["--high-water", "-4K"], "must be positive")?;
    usage_error(&["--max-conns", "-1"], "--max-conns")?;
    usage_error(&["--threads", "-1"], "--threads")?;
    usage_error(&["--threads", "70000"], "too large")
}

/// Sizes and durations take the forms the load generator takes too (clap checks values as
/// it meets them, so a bad one before `--help` would fail).
#[test]
fn size_and_duration_forms() -> io::Result<()> {
    let out = echo(&["--high-water", "4KiB", "--idle-timeout", "1m 30s", "--help"])?;
    check(out.status.success(), || format!("exit {}", out.status))?;
    usage_error(&["--idle-timeout", "5 fortnights"], "not a duration")
}

/// A bind failure names the address and the step, and exits 1 (the flags were fine).
#[test]
fn address_in_use() -> io::Result<()> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let out = echo(&["--addr", &addr])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(1), || format!("exit {}: {stderr}", out.status))?;
    check(stderr.contains(&format!("cannot listen on {addr}: bind: ")), || stderr.to_string())
}

/// An address that is not this host's (TEST-NET-1, RFC 5737: bind fails at once, nothing
/// is sent): the message names it too.
#[test]
fn address_not_here() -> io::Result<()> {
    let out = echo(&["--addr", "192.0.2.1:7007"])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(1), || format!("exit {}: {stderr}", out.status))?;
    check(stderr.contains("cannot listen on 192.0.2.1:7007: bind: "), || stderr.to_string())
}
