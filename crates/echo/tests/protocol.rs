//! The loop serves protocols other than echo: one that answers in upper case and closes
//! the connection when asked, through [`Output::close`].

pub mod util;

use std::io::{self, Read, Write};
use std::time::Duration;

use multipoll::{Backend, Mode};
use multipoll_echo::{Config, Output, Protocol};

use util::{TestServer, check};

crate::backend_tests!(run);

/// Upper-cases what it receives; `q` ends the session with `BYE`.
#[derive(Clone, Debug)]
struct Shout;

impl Protocol for Shout {
    /// Bytes answered on this connection.
    type Session = usize;

    fn open(&mut self) -> usize {
        0
    }

    fn on_data(&mut self, answered: &mut usize, data: &[u8], out: &mut Output<'_>) {
        for &byte in data {
            if byte == b'q' {
                out.send(b"BYE");
                out.close();
                return;
            }
            out.send(&[byte.to_ascii_uppercase()]);
            *answered += 1;
        }
    }
}

fn run(backend: Backend, mode: Mode) -> io::Result<()> {
    let server = TestServer::start_with(backend, mode, Config::default(), Shout, |run| run())?;

    let mut client = util::connect(server.addr)?;
    client.write_all(b"hello q ignored")?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply)?; // the server closes its side after BYE
    check(reply == b"HELLO BYE", || format!("got {:?}", String::from_utf8_lossy(&reply)))?;
    drop(client); // the server lingers until we close, then closes too
    util::wait_until(Duration::from_secs(5), "closed", || Ok(server.total().closed == 1))?;

    server.stop()
}
