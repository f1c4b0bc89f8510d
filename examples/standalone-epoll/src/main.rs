//! Waits for readiness on a TCP socket with `multipoll-epoll` alone: no facade, no other
//! backend in the dependency tree.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use multipoll_epoll::{Epoll, Events, Interest, Mode, Poller};

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let poller = Epoll::new()?;
    poller.add(listener.as_fd(), 0, Interest::READABLE, Mode::Level)?;

    let mut client = TcpStream::connect(listener.local_addr()?)?;
    let mut events = Events::with_capacity(8);
    poller.wait(&mut events, Some(Duration::from_secs(5)))?;
    assert!(events.iter().any(|e| e.key() == 0 && e.is_readable()), "listener readable");

    let (mut server, _) = listener.accept()?;
    poller.add(server.as_fd(), 1, Interest::READABLE, Mode::Edge)?;
    client.write_all(b"ping")?;
    poller.wait(&mut events, Some(Duration::from_secs(5)))?;
    assert!(events.iter().any(|e| e.key() == 1 && e.is_readable()), "connection readable");
    let mut buf = [0; 4];
    server.read_exact(&mut buf)?;
    println!(
        "standalone multipoll-epoll: got {:?} via {}",
        String::from_utf8_lossy(&buf),
        poller.capabilities().name()
    );
    Ok(())
}
