//! An echo server on tokio's `current_thread` runtime: one task per connection, the way
//! tokio's own echo example is written.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ECHO_BUF, EchoServer, stopping};

/// Starts the server on `listener`.
///
/// # Errors
/// As [`EchoServer::spawn`].
pub fn spawn(listener: TcpListener) -> io::Result<EchoServer> {
    EchoServer::spawn("tokio-echo", listener, serve)
}

/// Serves `listener` on the calling thread until `stop` is set (checked at each accept).
///
/// # Errors
/// The runtime cannot be built, or accepting fails.
pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            if stopping(&stop) {
                return Ok(());
            }
            stream.set_nodelay(true)?;
            tokio::spawn(echo(stream));
        }
    })
    // Dropping the runtime cancels the connection tasks still running.
}

async fn echo(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; ECHO_BUF];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
