//! One TCP round trip through every backend this build has, in code with no `cfg`: the
//! listener and the connection are registered with `as_source()` (the fd on Unix, the
//! socket on Windows), so the same file builds for every platform multipoll supports.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use multipoll::{AnyPoller, AsSource, Backend, DefaultPoller, Events, Interest, Mode, Poller};

const LISTENER: usize = 0;
const CONNECTION: usize = 1;
const PATIENCE: Duration = Duration::from_secs(5);

/// Waits until the registration under `key` is reported with `flag`.
fn wait_for(
    poller: &impl Poller,
    events: &mut Events,
    key: usize,
    flag: fn(&multipoll::Event) -> bool,
) -> io::Result<()> {
    loop {
        if poller.wait(events, Some(PATIENCE))? == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("no event for key {key}")));
        }
        if events.iter().any(|e| e.key() == key && flag(e)) {
            return Ok(());
        }
    }
}

/// Accepts a connection and echoes one message on it, driven by `poller`.
fn round_trip(poller: &impl Poller) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    poller.add(listener.as_source(), LISTENER, Interest::READABLE, Mode::Level)?;
    let mut events = Events::with_capacity(8);

    let mut client = TcpStream::connect(listener.local_addr()?)?;
    wait_for(poller, &mut events, LISTENER, |e| e.is_readable())?;
    let (mut server, _) = listener.accept()?;
    server.set_nonblocking(true)?;
    poller.add(server.as_source(), CONNECTION, Interest::READABLE, Mode::Level)?;

    client.write_all(b"ping")?;
    wait_for(poller, &mut events, CONNECTION, |e| e.is_readable())?;
    let mut buf = [0; 4];
    server.read_exact(&mut buf)?;
    server.write_all(&buf)?;
    let mut echoed = [0; 4];
    client.read_exact(&mut echoed)?;
    assert_eq!(&echoed, b"ping");

    drop(client);
    wait_for(poller, &mut events, CONNECTION, |e| e.is_hangup() || e.is_readable())?;
    poller.delete(server.as_source())?;
    poller.delete(listener.as_source())
}

fn main() -> io::Result<()> {
    round_trip(&DefaultPoller::new()?)?;
    println!("portable-tcp: default backend {}", Backend::compiled_default());
    for backend in Backend::available() {
        round_trip(&AnyPoller::new(backend)?)?;
        println!("portable-tcp: {backend} ok");
    }
    Ok(())
}
