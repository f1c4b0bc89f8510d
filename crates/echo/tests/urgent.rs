//! Urgent (out-of-band) data from a client, in every backend and mode. A TCP read stops
//! at the urgent mark, so a read that returns less than it asked for has not always
//! emptied the socket: the bytes after the mark are still there, and in the edge modes no
//! new event announces them. The server must echo every ordinary byte around the urgent
//! one (which is not part of the stream: `SO_OOBINLINE` is off) without waiting for more
//! input.

// Unix-only: Winsock's urgent data follows neither TCP's mark nor its reads (Microsoft's
// "Protocol-Independent Out-of-Band Data" recommends against using it), so there is no
// common behaviour to hold the server to.
#![cfg(unix)]

pub mod util;

use std::io::{self, Read, Write};
use std::time::Duration;

use multipoll::{Backend, Mode};
use multipoll_echo::{Config, Output, Protocol};
use socket2::SockRef;

use util::{TestServer, check, round_trip};

/// The echo protocol, slow to open a connection: what the client sends at once is all
/// queued, urgent byte and mark included, before the loop first waits on it, so the
/// first event reports the socket with the mark in the middle of its data.
#[derive(Clone, Copy, Debug)]
struct SlowOpen;

/// How long opening a connection takes: ample for loopback to deliver three segments.
const OPEN_DELAY: Duration = Duration::from_millis(100);
/// How long the echo may take: a stalled connection fails the test at this point.
const STALL: Duration = Duration::from_secs(5);

impl Protocol for SlowOpen {
    type Session = ();

    fn open(&mut self) {
        std::thread::sleep(OPEN_DELAY);
    }

    fn on_data(&mut self, _: &mut (), data: &[u8], out: &mut Output<'_>) {
        out.send(data);
    }
}

mod urgent_byte_mid_stream {
    use super::*;

    crate::backend_tests!(run);

    fn run(backend: Backend, mode: Mode) -> io::Result<()> {
        let server =
            TestServer::start_with(backend, mode, Config::default(), SlowOpen, |run| run())?;
        let client = util::connect(server.addr)?;
        client.set_nodelay(true)?;
        (&client).write_all(b"before")?;
        SockRef::from(&client).send_out_of_band(b"!")?;
        (&client).write_all(b"after")?;
        let mut got = [0; 11];
        client.set_read_timeout(Some(STALL))?;
        (&client).read_exact(&mut got).map_err(|e| {
            io::Error::new(e.kind(), format!("no echo of the 11 ordinary bytes in {STALL:?}: {e}"))
        })?;
        client.set_read_timeout(Some(util::IO_TIMEOUT))?;
        check(&got == b"beforeafter", || format!("echo {:?}", String::from_utf8_lossy(&got)))?;
        // The connection still works.
        round_trip(&client, b"more")?;
        Ok(())
    }
}
