//! `--idle`: extra connections held silent for the run, counted in the report, bounded.

mod util;

use std::io;

use multipoll_loadgen::{Config, Limit};

#[test]
fn idle_connections_are_held_and_counted() -> io::Result<()> {
    let addr = util::echo_server(util::unchanged)?;
    let config = Config { connections: 2, idle: 5, ..util::config(addr, Limit::Messages(100)) };
    let report = multipoll_loadgen::run(&config)?;
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.connected, report.idle, report.messages), (2, 5, 100));
    assert!(report.to_json().contains("\"idle\":5"), "{}", report.to_json());
    Ok(())
}

#[test]
fn idle_is_bounded() {
    let config = Config { idle: Config::MAX_IDLE + 1, ..Config::default() };
    let err = config.validate().expect_err("too many idle connections");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
