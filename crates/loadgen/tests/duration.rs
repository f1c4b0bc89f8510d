//! A timed run measures its window and ends; a silent server cannot make it hang.

mod util;

use std::io;
use std::time::Duration;

use multipoll_loadgen::{Config, Limit};

#[test]
fn timed_run_measures_its_window() -> io::Result<()> {
    let addr = util::echo_server(util::unchanged)?;
    let window = Duration::from_millis(300);
    let config =
        Config { connections: 2, pipeline: 2, ..util::config(addr, Limit::Duration(window)) };
    let report = multipoll_loadgen::run(&config)?;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.elapsed, window);
    assert!(report.messages > 0);
    Ok(())
}

#[test]
fn silent_server_ends_with_missing_replies() -> io::Result<()> {
    let addr = util::black_hole()?;
    let config = Config {
        connections: 2,
        pipeline: 3,
        grace: Duration::from_millis(300),
        ..util::config(addr, Limit::Duration(Duration::from_millis(200)))
    };
    let report = multipoll_loadgen::run(&config)?;
    assert!(!report.is_ok());
    assert_eq!((report.messages, report.failures.missing), (0, 6), "{report}");
    let first = report.failures.first.as_deref().unwrap_or_default();
    assert!(first.starts_with("timeout: 6 replies missing"), "{first}");
    Ok(())
}

#[test]
fn silent_server_ends_a_counted_run_too() -> io::Result<()> {
    let addr = util::black_hole()?;
    let config =
        Config { grace: Duration::from_millis(300), ..util::config(addr, Limit::Messages(10)) };
    let report = multipoll_loadgen::run(&config)?;
    assert_eq!(report.failures.missing, 1, "{report}");
    Ok(())
}
