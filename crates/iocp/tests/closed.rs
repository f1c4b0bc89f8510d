//! A socket closed without delete. Alone in its test binary (its own process), so that no
//! other test takes the handle number it waits to see reused.
#![cfg(windows)]

mod util;

use std::io;
use std::os::windows::io::AsRawSocket;

use multipoll_iocp::{AsSource, Interest, Iocp, Mode, Poller};
use util::{expect_none, expect_one, tcp_pair};

/// A socket closed without delete while its request is in flight is never reported; a new
/// socket that reuses its handle number is a new registration (`add` replaces the stale
/// one), and `delete` of the number then forgets it.
#[test]
fn closed_without_delete_is_replaced_by_reuse() -> io::Result<()> {
    let poller = Iocp::new()?;
    let (client, _server) = tcp_pair()?;
    poller.add(client.as_source(), 1, Interest::READABLE, Mode::Level)?;
    let number = client.as_raw_socket();
    drop(client);
    expect_none(&poller)?;
    // Windows hands out a freed handle number again soon; keep every miss open meanwhile.
    let mut misses = Vec::new();
    let reused = loop {
        let (client, server) = tcp_pair()?;
        if client.as_raw_socket() == number {
            break (client, server);
        }
        if server.as_raw_socket() == number {
            break (server, client);
        }
        assert!(misses.len() < 50, "handle number {number} was not reused");
        misses.push((client, server));
    };
    poller.add(reused.0.as_source(), 2, Interest::WRITABLE, Mode::Level)?;
    assert!(expect_one(&poller, 2)?.is_writable());
    poller.delete(reused.0.as_source())?;
    assert_eq!(poller.delete(reused.0.as_source()).unwrap_err().kind(), io::ErrorKind::NotFound);
    Ok(())
}
