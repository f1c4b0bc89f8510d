//! Connecting where nothing listens is counted as refused and fails the run at once.

mod util;

use std::io;

use multipoll_loadgen::{Config, Limit};

#[test]
fn refused_connections_are_counted() -> io::Result<()> {
    let addr = util::refusing_addr()?;
    let config = Config { connections: 3, ..util::config(addr, Limit::Messages(10)) };
    let report = multipoll_loadgen::run(&config)?;
    assert!(!report.is_ok());
    assert_eq!((report.connected, report.failures.refused, report.messages), (0, 3, 0));
    let first = report.failures.first.as_deref().unwrap_or_default();
    assert!(first.contains("refused"), "{first}");
    Ok(())
}

#[test]
fn binary_reports_refused_and_exits_1() -> io::Result<()> {
    let addr = util::refusing_addr()?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_multipoll-loadgen"))
        .args(["--addr", &addr.to_string(), "--connections", "2", "--duration", "30"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED: refused 2"), "{stdout}");
    Ok(())
}
