//! Out of fds: the server (a child process limited to 64 fds) stops accepting for a
//! back-off period instead of spinning on `EMFILE`, keeps serving the connections it has,
//! and accepts the waiting ones once clients leave.

// Unix-only: it limits the child's fds (RLIMIT_NOFILE), which Windows does not have.
#![cfg(unix)]

pub mod util;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use multipoll::{Backend, Mode};

use util::{ChildServer, check, round_trip};

crate::backend_tests!(run);

const NOFILE: u64 = 64;
const CLIENTS: usize = 100;
const LEAVING: usize = 20;

/// A client that sent its number and waits for it to come back.
struct Client {
    stream: TcpStream,
    got: Vec<u8>,
    tag: [u8; 4],
}

impl Client {
    /// Whether its echo has arrived (reads without blocking).
    fn served(&mut self) -> io::Result<bool> {
        let mut buf = [0; 4];
        while self.got.len() < 4 {
            match self.stream.read(&mut buf[..4 - self.got.len()]) {
                Ok(0) => return Err(io::Error::other("closed by the server")),
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        check(self.got == self.tag, || "wrong echo".into())?;
        Ok(true)
    }
}

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let mut server =
        ChildServer::start(backend, mode, &["--accept-backoff", "100ms"], Some(NOFILE))?;
    let mut clients = (0..CLIENTS)
        .map(|i| {
            let mut stream = util::connect(server.addr)?;
            let tag = (i as u32).to_be_bytes();
            stream.write_all(&tag)?;
            stream.set_nonblocking(true)?;
            Ok(Client { stream, got: Vec::new(), tag })
        })
        .collect::<io::Result<Vec<_>>>()?;

    // The server fills its fd table and starts backing off.
    util::wait_until(Duration::from_secs(5), "out of fds", || {
        Ok(server.fd_count()? as u64 >= NOFILE
            && server.output().iter().any(|l| l.contains("not accepting for")))
    })?;
    std::thread::sleep(Duration::from_millis(100)); // let the accepted ones echo
    let mut served = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        if client.served()? {
            served.push(i);
        }
    }
    check(served.len() > 30 && served.len() < CLIENTS - LEAVING, || {
        format!("{} of {CLIENTS} clients served with {NOFILE} fds", served.len())
    })?;

    // Saturated, it does not spin.
    let before = server.cpu_time()?;
    std::thread::sleep(Duration::from_secs(1));
    let used = server.cpu_time()? - before;
    check(used < Duration::from_millis(100), || format!("used {used:?} of CPU in 1 s"))?;

    // It keeps serving what it has.
    for &i in &served {
        clients[i].stream.set_nonblocking(false)?;
        round_trip(&clients[i].stream, b"more")?;
    }

    // Clients leave; the server accepts as many waiting ones, by itself.
    let leaving: Vec<usize> = served.iter().copied().take(LEAVING).collect();
    for &i in leaving.iter().rev() {
        clients.remove(i);
    }
    let waiting = clients.len() - (served.len() - LEAVING);
    util::wait_until(Duration::from_secs(5), "accepting again", || {
        let mut now_served = 0;
        for client in &mut clients {
            if client.served()? {
                now_served += 1;
            }
        }
        Ok(now_served >= served.len())
    })?;
    check(server.running()?, || "the server died".into())?;
    drop(clients);
    eprintln!(
        "{backend}/{mode}: {} served at once, {waiting} waited, {used:?} CPU in 1 s",
        served.len()
    );
    util::stop(&mut server)
}
