//! Every way a connection ends — half-close, reset mid-transfer, abrupt close with unread
//! data, a client process killed mid-write — leaves the server running and its fd count
//! back at its baseline. The server is a child process, so `/proc/PID/fd` counts only its
//! fds.

// Unix-only: it counts the child's fds in /proc, and kills a bash writer.
#![cfg(unix)]

pub mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use multipoll::{Backend, Mode};
use socket2::SockRef;

use util::{ChildServer, Rng, check, round_trip, transfer};

crate::backend_tests!(run);

const CLIENTS: usize = 8;

/// One way of ending connections, given the server and its baseline fd count.
type Case = fn(&ChildServer, usize) -> io::Result<()>;

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let mut server = ChildServer::start(backend, mode, &[], None)?;
    let baseline = server.fd_count()?;
    let cases: [(&str, Case); 4] = [
        ("half-close", half_close),
        ("reset mid-transfer", reset_mid_transfer),
        ("close with unread data", close_with_unread_data),
        ("killed mid-write", killed_mid_write),
    ];
    for (name, case) in cases {
        case(&server, baseline).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
        util::wait_until(
            Duration::from_secs(5),
            &format!("back to {baseline} fds after {name}"),
            || Ok(server.fd_count()? == baseline),
        )?;
    }
    check(server.running()?, || "the server died".into())?;
    // And it still serves.
    round_trip(&util::connect(server.addr)?, b"still here")?;
    util::stop(&mut server)?;
    let stats = server.final_stats().unwrap_or_default();
    let served = (3 * CLIENTS + 2) as u64;
    check(stats.get("accepted") == Some(&served) && stats.get("active") == Some(&0), || {
        format!("expected {served} connections accepted and none left: {stats:?}")
    })?;
    // Resets and kills are routine: nothing worth a warning.
    let noisy: Vec<String> = server
        .output()
        .into_iter()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    check(noisy.is_empty(), || format!("the server complained: {noisy:?}"))
}

/// The client sends, half-closes, and reads everything back before end of file.
fn half_close(server: &ChildServer, _: usize) -> io::Result<()> {
    let mut rng = Rng::new(11);
    let streams =
        (0..CLIENTS).map(|_| util::connect(server.addr)).collect::<io::Result<Vec<_>>>()?;
    for stream in &streams {
        let len = rng.log_size(512 * 1024);
        let (data, chunks) = (rng.bytes(len), rng.chunks(len));
        let got = transfer(stream, &data, &chunks)?;
        check(got == data, || format!("half-close: {} of {len} bytes back", got.len()))?;
    }
    Ok(())
}

/// The client sends 1 MiB, reads a little, and resets (SO_LINGER 0).
fn reset_mid_transfer(server: &ChildServer, _: usize) -> io::Result<()> {
    for _ in 0..CLIENTS {
        let stream = util::connect(server.addr)?;
        send_without_reading(&stream, 1 << 20)?;
        (&stream).read_exact(&mut [0; 1000])?;
        SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    }
    Ok(())
}

/// The client sends 1 MiB and closes with echoed data unread: the kernel resets the
/// connection, as it does for a process that dies.
fn close_with_unread_data(server: &ChildServer, _: usize) -> io::Result<()> {
    for _ in 0..CLIENTS {
        let stream = util::connect(server.addr)?;
        send_without_reading(&stream, 1 << 20)?;
        stream.shutdown(Shutdown::Write)?;
    }
    Ok(())
}

/// Writes up to `len` bytes with a short write timeout: the server stops reading once its
/// queue for us is full, so a stalled write just ends the sending.
fn send_without_reading(mut stream: &TcpStream, len: usize) -> io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    let chunk = vec![0x5a; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                break;
            }
            Err(e) => return Err(e),
        }
    }
    stream.set_write_timeout(Some(util::IO_TIMEOUT))
}

/// A shell writes zeros to the server and never reads; it is killed with SIGKILL.
fn killed_mid_write(server: &ChildServer, baseline: usize) -> io::Result<()> {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{} && exec head -c 100000000 /dev/zero >&3",
        server.addr.port()
    );
    let Ok(mut child) = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        eprintln!("no bash: skipping the killed-client case");
        return Ok(());
    };
    // Connected, and stalled: the server stopped reading from it.
    util::wait_until(Duration::from_secs(5), "connected", || Ok(server.fd_count()? > baseline))?;
    std::thread::sleep(Duration::from_millis(100));
    child.kill()?;
    child.wait()?;
    Ok(())
}
