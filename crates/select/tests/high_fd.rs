//! select past `FD_SETSIZE`: an fd above 1024 is watched correctly where the kernel allows
//! it (Linux, FreeBSD), and refused with `InvalidInput` where it does not.
//! (Unix fds; on Windows, `more_than_64_sockets` in tests/winsock.rs.)
#![cfg(unix)]

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multipoll_conformance::util::{dup_at_least, raise_fd_limit};
use multipoll_select::{Events, Interest, Mode, Poller, Select};

#[test]
fn fd_above_fd_setsize() -> io::Result<()> {
    raise_fd_limit(4096)?;
    let (mut writer, reader) = UnixStream::pair()?;
    // Number 3000 or the first free one above it: past FD_SETSIZE (1024) either way. The
    // block drops the low original, so the high copy is the reader's only fd.
    let reader = {
        let low = reader;
        dup_at_least(low.as_fd(), 3000)?
    };
    // A neighbour below the limit shares the sets, to catch bit-layout mistakes.
    let (mut low_writer, low_reader) = UnixStream::pair()?;

    let poller = Select::new()?;
    let res = poller.add(reader.as_fd(), 1, Interest::READABLE, Mode::Level);
    match poller.capabilities().max_fd() {
        Some(max) => {
            assert!(max < 3000);
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::InvalidInput);
            return Ok(());
        }
        None => res?,
    }
    poller.add(low_reader.as_fd(), 2, Interest::READABLE, Mode::Level)?;

    let mut events = Events::new();
    assert_eq!(poller.wait(&mut events, Some(Duration::from_millis(50)))?, 0);

    writer.write_all(b"high")?;
    poller.wait(&mut events, Some(Duration::from_secs(5)))?;
    let keys: Vec<usize> = events.iter().filter(|e| e.is_readable()).map(|e| e.key()).collect();
    assert_eq!(keys, [1]);

    low_writer.write_all(b"low")?;
    poller.wait(&mut events, Some(Duration::from_secs(5)))?;
    let mut keys: Vec<usize> = events.iter().filter(|e| e.is_readable()).map(|e| e.key()).collect();
    keys.sort();
    assert_eq!(keys, [1, 2]);
    Ok(())
}
