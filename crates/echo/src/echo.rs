//! [`Echo`]: the protocol that sends every byte back. All the work (writing straight
//! back, queueing what the kernel refuses, backpressure) is the loop's; echo only says
//! "answer with the input".

use crate::{Output, Protocol};

/// The echo protocol: every byte received is sent back, in order.
///
/// ```
/// use multipoll::DefaultPoller;
/// use multipoll_echo::{Config, Echo, EchoServer};
///
/// let server: EchoServer<DefaultPoller> = EchoServer::bind("127.0.0.1:0", Config::default(), Echo)?;
/// assert_eq!(server.local_addr().ip().to_string(), "127.0.0.1");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Protocol for Echo {
    type Session = ();

    fn open(&mut self) {}

    #[inline(always)]
    fn on_data(&mut self, _: &mut (), data: &[u8], out: &mut Output<'_>) {
        out.send(data);
    }
}
