//! Opening the connections, with each failure counted by cause.

use std::io;
use std::net::TcpStream;

use crate::{Config, Failures};

/// Opens `config.connections` connections one after the other (blocking, each bounded by
/// `config.grace`): the server's accept backlog sees them arrive in order, and a refused
/// address fails in microseconds. Returns the established ones, non-blocking with
/// `TCP_NODELAY` (small messages must not wait for Nagle), by connection number.
pub(crate) fn connect_all(config: &Config, failures: &mut Failures) -> Vec<(usize, TcpStream)> {
    let mut streams = Vec::with_capacity(config.connections);
    for index in 0..config.connections {
        match open(config) {
            Ok(stream) => streams.push((index, stream)),
            Err(e) => {
                match e.kind() {
                    io::ErrorKind::ConnectionRefused => failures.refused += 1,
                    _ => failures.connect_failed += 1,
                }
                failures.note(|| format!("connection {index}: connect to {}: {e}", config.addr));
            }
        }
    }
    streams
}

/// Opens `config.idle` connections that the run never uses, after the busy ones (so a
/// server that numbers fds in order gives the busy ones the low numbers). Failures are
/// not failures of the run: the report says how many were established.
pub(crate) fn connect_idle(config: &Config) -> Vec<TcpStream> {
    (0..config.idle).filter_map(|_| open(config).ok()).collect()
}

fn open(config: &Config) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&config.addr, config.grace)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}
