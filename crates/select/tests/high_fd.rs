//! select past `FD_SETSIZE`: an fd above 1024 is watched correctly where the kernel allows
//! it (Linux, FreeBSD), and refused with `InvalidInput` where it does not.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use multipoll_select::{Events, Interest, Mode, Poller, Select};

/// Moves `fd` to the number `target` (and closes the old number).
fn renumber(fd: OwnedFd, target: i32) -> io::Result<OwnedFd> {
    // SAFETY: dup2 only takes fd numbers; `target` is unused by this test process.
    let new = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    if new == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just returned by dup2, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn raise_nofile(to: u64) -> io::Result<()> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into `lim`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < to as libc::rlim_t {
        lim.rlim_cur = (to as libc::rlim_t).min(lim.rlim_max);
        // SAFETY: setrlimit reads one rlimit from `lim`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[test]
fn fd_above_fd_setsize() -> io::Result<()> {
    raise_nofile(4096)?;
    let (mut writer, reader) = UnixStream::pair()?;
    let reader = renumber(OwnedFd::from(reader), 3000)?;
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
