//! The command line: bad values are usage errors (exit 2) whose message names the flag or
//! variable and says what is accepted; sizes and durations take the forms
//! `multipoll-echo` takes.

mod util;

use std::io;
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args` against an address where nothing listens, so a value it
/// should refuse but accepts ends the run at once (refused, exit 1) instead of hanging.
fn loadgen(args: &[&str], env: Option<(&str, &str)>) -> io::Result<Output> {
    let addr = util::refusing_addr()?.to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_multipoll-loadgen"));
    cmd.env_remove("MULTIPOLL_BACKEND").args(["--addr", &addr]).args(args);
    if let Some((name, value)) = env {
        cmd.env(name, value);
    }
    cmd.stdin(Stdio::null()).output()
}

/// Expects exit code 2 and every one of `needles` in stderr.
#[track_caller]
fn usage_error(args: &[&str], needles: &[&str]) -> io::Result<()> {
    let out = loadgen(args, None)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) || !needles.iter().all(|n| stderr.contains(n)) {
        return Err(io::Error::other(format!(
            "{args:?}: exit {}, wanted 2 and {needles:?} in: {stderr}",
            out.status
        )));
    }
    Ok(())
}

/// `-d 0`, `-m 0` and `--grace 0` ran (and reported "ok" against a server, or failed
/// every connect): each is refused up front now, like the other zero counts.
#[test]
fn zero_values_refused() -> io::Result<()> {
    usage_error(&["-d", "0"], &["--duration", "more than zero"])?;
    usage_error(&["-m", "0"], &["--messages", "at least 1"])?;
    usage_error(&["--grace", "0"], &["--grace", "more than zero"])?;
    usage_error(&["-c", "0"], &["--connections", "at least 1"])?;
    usage_error(&["--pipeline", "0"], &["--pipeline", "at least 1"])?;
    usage_error(&["--threads", "0"], &["--threads", "at least 1"])?;
    usage_error(&["-s", "0"], &["--size", "at least 1 byte"])
}

/// Negative values reach the parser (clap alone said "unexpected argument '-1'") and no
/// Rust internals leak ("cannot convert float seconds to Duration").
#[test]
fn negative_values_refused() -> io::Result<()> {
    for args in [&["-d=-1"][..], &["-d", "-1"], &["--warmup", "-1s"], &["--grace", "-5s"]] {
        usage_error(args, &["must be positive"])?;
    }
    usage_error(&["-d=-1"], &["--duration"])?;
    usage_error(&["-c", "-1"], &["--connections"])?;
    usage_error(&["-s", "-4K"], &["--size"])?;
    let out = loadgen(&["-d=-1"], None)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("float") || stderr.contains("Duration") {
        return Err(io::Error::other(format!("Rust internals in: {stderr}")));
    }
    Ok(())
}

/// `-s 4K` and `-d 2s` were "invalid digit" / "invalid float literal"; they parse now.
/// Against a refusing address the run fails at once (exit 1), past the parsing.
#[test]
fn size_and_duration_forms() -> io::Result<()> {
    let out = loadgen(&["-s", "4K", "-d", "2s", "--warmup", "500ms"], None)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(1) || !stdout.contains("size 4096 B") {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(io::Error::other(format!("exit {}: {stdout}{stderr}", out.status)));
    }
    usage_error(&["-s", "12X"], &["--size", "not a size"])?;
    usage_error(&["-d", "soon"], &["--duration", "not a duration"])
}

/// A bad `MULTIPOLL_BACKEND` is named in the message, as `multipoll-echo` names it.
#[test]
fn unknown_backend_from_env() -> io::Result<()> {
    let out = loadgen(&[], Some(("MULTIPOLL_BACKEND", "bogus")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) || !stderr.contains("MULTIPOLL_BACKEND") {
        return Err(io::Error::other(format!("exit {}: {stderr}", out.status)));
    }
    Ok(())
}

/// The report says whose backend it names: the load generator's own.
#[test]
fn report_names_its_own_backend() -> io::Result<()> {
    let out = loadgen(&["-m", "1"], None)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.starts_with("loadgen backend ") {
        return Err(io::Error::other(format!("exit {}: {stdout}", out.status)));
    }
    Ok(())
}
