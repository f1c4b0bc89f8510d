//! A run against a correct echo server counts exactly the messages asked for, on every
//! backend, in ping-pong and pipelined modes, with messages larger than a socket buffer.

mod util;

use std::io;

use multipoll::Backend;
use multipoll_loadgen::{Config, Limit};

#[test]
fn message_count_on_every_backend() -> io::Result<()> {
    let addr = util::echo_server(util::unchanged)?;
    for backend in Backend::available() {
        let config = Config {
            connections: 4,
            size: 100,
            backend,
            ..util::config(addr, Limit::Messages(1001))
        };
        let report = multipoll_loadgen::run(&config)?;
        assert!(report.is_ok(), "{backend}: {report}");
        assert_eq!((report.messages, report.connected), (1001, 4), "{backend}");
        assert!(report.latency.p50 > std::time::Duration::ZERO, "{backend}");
        assert!(report.latency.p50 <= report.latency.max, "{backend}");
    }
    Ok(())
}

#[test]
fn pipelined_large_messages() -> io::Result<()> {
    let addr = util::echo_server(util::unchanged)?;
    let config = Config {
        connections: 2,
        size: 300_000,
        pipeline: 3,
        threads: 2,
        ..util::config(addr, Limit::Messages(20))
    };
    let report = multipoll_loadgen::run(&config)?;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.messages, 20);
    Ok(())
}

#[test]
fn warmup_messages_are_not_counted() -> io::Result<()> {
    let addr = util::echo_server(util::unchanged)?;
    let config = Config {
        connections: 3,
        pipeline: 4,
        warmup: std::time::Duration::from_millis(100),
        ..util::config(addr, Limit::Messages(50))
    };
    let report = multipoll_loadgen::run(&config)?;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.messages, 50);
    Ok(())
}
