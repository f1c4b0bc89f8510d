//! A server that flips one byte makes the run fail, naming the connection and the byte.

mod util;

use std::io;

use multipoll_loadgen::{Config, Limit};

#[test]
fn flipped_byte_fails_the_run() -> io::Result<()> {
    let addr = util::echo_server(util::flip_byte_1000)?;
    let config = Config { size: 64, ..util::config(addr, Limit::Messages(100)) };
    let report = multipoll_loadgen::run(&config)?;
    assert!(!report.is_ok());
    assert_eq!(report.failures.corrupt, 1);
    let first = report.failures.first.as_deref().unwrap_or_default();
    assert!(first.contains("connection 0: echoed byte 1000"), "{first}");
    assert!(report.messages < 100, "the run stops at the first corrupt byte");
    Ok(())
}

#[test]
fn binary_exits_non_zero_on_corruption() -> io::Result<()> {
    let addr = util::echo_server(util::flip_byte_1000)?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_multipoll-loadgen"))
        .args(["--addr", &addr.to_string(), "--messages", "100", "--warmup", "0", "--json"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("{\"ok\":false"), "{stdout}");
    assert!(stdout.contains("\"corrupt\":1"), "{stdout}");
    Ok(())
}
