//! polling's `two-listeners` example, ported to multipoll: two TCP listeners on one
//! poller, each connection accepted and answered with the name of the listener it came
//! through.
//!
//! What changes from polling (see `multipoll::porting`):
//!
//! - polling's `add` is `unsafe` (the caller promises to delete before closing) and takes
//!   the source; here `add` is safe and takes `listener.as_source()`. The promise stays a
//!   rule: `delete` before dropping the listener.
//! - polling's plain `add` is oneshot, so its loop re-arms each listener with `modify`
//!   after handling it. Here the mode is named: [`Mode::Oneshot`], kept from polling, with
//!   the same re-arm; every backend has it.
//! - polling's `wait` appends to its buffer, so its loop clears it first; ours clears it.
//! - The listeners are set non-blocking and accepted from until `WouldBlock`: one
//!   readiness may stand for several connections.
//!
//! Run: `cargo run --example polling_two_listeners -- --backend poll` listens on two free
//! loopback ports until stopped; `--once` connects clients to both, checks that each is
//! answered by the listener it dialled, and exits (0 on success).

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multipoll::{AnyPoller, AsSource, Backend, Events, Interest, Mode, Poller};

/// The listeners' keys, in the order `bind` returns them.
const KEYS: [usize; 2] = [1, 2];
/// How long `--once` may take before it gives up (it takes milliseconds).
const SELF_TEST_LIMIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let usage = "usage: polling_two_listeners [--backend NAME] [--once]";
    common::run_main(usage, &["--once"], &[], |args| {
        if args.flag("--once") {
            let accepted = self_test(args.backend, 3)?;
            println!("self-test passed: accepted {accepted:?} per listener");
            return Ok(());
        }
        let listeners = bind()?;
        for (key, l) in KEYS.iter().zip(&listeners) {
            println!("listener {key} on {} (backend {})", l.local_addr()?, args.backend);
        }
        serve(args.backend, &listeners, None).map(drop)
    })
}

/// Two listeners on free loopback ports.
fn bind() -> io::Result<[TcpListener; 2]> {
    Ok([TcpListener::bind("127.0.0.1:0")?, TcpListener::bind("127.0.0.1:0")?])
}

/// Accepts on both `listeners` until each has accepted `stop_after` connections (or
/// forever), answering each with `"listener KEY\n"`; returns the count per listener.
pub fn serve(
    backend: Backend,
    listeners: &[TcpListener; 2],
    stop_after: Option<(usize, Instant)>,
) -> io::Result<[usize; 2]> {
    let poller = AnyPoller::new(backend)?;
    for (&key, listener) in KEYS.iter().zip(listeners) {
        listener.set_nonblocking(true)?;
        poller.add(listener.as_source(), key, Interest::READABLE, Mode::Oneshot)?;
    }
    let mut accepted = [0; 2];
    let mut events = Events::new();
    loop {
        if let Some((count, deadline)) = stop_after {
            if accepted.iter().all(|&n| n >= count) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{accepted:?}")));
            }
        }
        poller.wait(&mut events, Some(Duration::from_millis(100)))?;
        for event in &events {
            let Some(index) = KEYS.iter().position(|&k| k == event.key()) else { continue };
            let listener = &listeners[index];
            loop {
                match listener.accept() {
                    Ok((mut stream, peer)) => {
                        println!("accepted {peer} on listener {}", event.key());
                        // A few bytes into a fresh socket's empty send buffer: this
                        // blocking write cannot block.
                        stream.write_all(format!("listener {}\n", event.key()).as_bytes())?;
                        accepted[index] += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            // Oneshot: disarmed by the report until re-armed, as with polling's `add`.
            poller.modify(listener.as_source(), event.key(), Interest::READABLE, Mode::Oneshot)?;
        }
    }
    for listener in listeners {
        poller.delete(listener.as_source())?;
    }
    Ok(accepted)
}

/// Connects `per_listener` clients to each listener and checks each answer.
pub fn self_test(backend: Backend, per_listener: usize) -> io::Result<[usize; 2]> {
    let listeners = bind()?;
    let addrs = [listeners[0].local_addr()?, listeners[1].local_addr()?];
    let clients = thread::spawn(move || -> io::Result<()> {
        for _ in 0..per_listener {
            for (key, addr) in KEYS.iter().zip(addrs) {
                check_answer(addr, *key)?;
            }
        }
        Ok(())
    });
    let deadline = Instant::now() + SELF_TEST_LIMIT;
    let accepted = serve(backend, &listeners, Some((per_listener, deadline)))?;
    clients.join().map_err(|_| io::Error::other("the clients panicked"))??;
    Ok(accepted)
}

/// Connects to `addr` and checks that listener `key` answers.
fn check_answer(addr: SocketAddr, key: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(SELF_TEST_LIMIT))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer != format!("listener {key}\n") {
        return Err(io::Error::other(format!("{addr} answered {answer:?}, not listener {key}")));
    }
    Ok(())
}
