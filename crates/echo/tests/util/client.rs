//! Clients: connect with timeouts (a bug fails a test instead of hanging it), send while
//! reading on another thread, round trips.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long any client read or write may block before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Connects with [`IO_TIMEOUT`] on reads and writes.
#[track_caller]
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// One blocking read, as [`Read::read`], retried while it fails with `Interrupted`. A read
/// with a timeout (`SO_RCVTIMEO`) fails with `EINTR` at any interruption, and io_uring
/// interrupts the threads that made or used a ring when the ring is dropped
/// (multipoll-uring's docs, *Interrupted calls*): a client that gave up there would leave
/// the server with full buffers, which looks like a stalled server.
pub fn read_some(mut stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// Sends `data` in writes of `chunks` sizes from one thread while another reads the
/// echo; half-closes after the last write and returns everything read until end of file.
pub fn transfer(stream: &TcpStream, data: &[u8], chunks: &[usize]) -> io::Result<Vec<u8>> {
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> io::Result<()> {
            let mut sent = 0;
            for &n in chunks {
                (&*stream).write_all(&data[sent..sent + n])?;
                sent += n;
            }
            stream.shutdown(Shutdown::Write)
        });
        let mut got = Vec::with_capacity(data.len());
        let read = (&*stream).read_to_end(&mut got);
        let written = writer.join().map_err(|_| io::Error::other("writer panicked"))?;
        written?;
        read?;
        Ok(got)
    })
}

/// Sends `msg` and reads it back; returns how long that took.
#[track_caller]
pub fn round_trip(mut stream: &TcpStream, msg: &[u8]) -> io::Result<Duration> {
    let start = Instant::now();
    stream.write_all(msg)?;
    let mut got = vec![0; msg.len()];
    stream.read_exact(&mut got)?;
    if got != msg {
        let at = std::panic::Location::caller();
        return Err(io::Error::other(format!("{at}: round trip returned different bytes")));
    }
    Ok(start.elapsed())
}

/// Whether the server closed `stream`: a read returns end of file or a reset within
/// `timeout` (data is an error: the caller expected none).
pub fn closed_by_server(stream: &TcpStream, timeout: Duration) -> io::Result<bool> {
    stream.set_read_timeout(Some(timeout))?;
    let mut byte = [0];
    let result = match read_some(stream, &mut byte) {
        Ok(0) => Ok(true),
        Ok(_) => Err(io::Error::other("expected end of file, read data")),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(true),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Ok(false)
        }
        Err(e) => Err(e),
    };
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    result
}

/// The first index where `got` differs from `want`, or where one ends.
pub fn first_difference(got: &[u8], want: &[u8]) -> Option<usize> {
    if got == want {
        return None;
    }
    Some(got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len())))
}

/// Connects one client per job (all before any sends, so they are served at the same
/// time), then each sends its data in its chunks while reading the echo on another
/// thread; fails naming the first client whose echo differs. The streams are closed on
/// return.
pub fn echo_all(addr: SocketAddr, jobs: &[(Vec<u8>, Vec<usize>)]) -> io::Result<()> {
    let streams = jobs.iter().map(|_| connect(addr)).collect::<io::Result<Vec<_>>>()?;
    std::thread::scope(|s| {
        let clients: Vec<_> = streams
            .iter()
            .zip(jobs)
            .map(|(stream, (data, chunks))| s.spawn(move || transfer(stream, data, chunks)))
            .collect();
        for (i, (client, (data, _))) in clients.into_iter().zip(jobs).enumerate() {
            let got = client.join().map_err(|_| io::Error::other("client panicked"))??;
            super::check(got == *data, || {
                format!(
                    "client {i}: sent {} bytes, got {} back, first difference at {:?}",
                    data.len(),
                    got.len(),
                    first_difference(&got, data)
                )
            })?;
        }
        Ok(())
    })
}
