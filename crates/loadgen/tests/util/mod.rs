//! Test servers on 127.0.0.1:0: a thread-per-connection echo, and variants that misbehave.
#![allow(dead_code, reason = "each test file uses a few of these helpers")]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use multipoll_loadgen::{Config, Limit};

/// What a test server does with the bytes it reads, given their offset in the connection.
pub type Transform = fn(offset: u64, data: &mut [u8]);

/// Echoes unchanged.
pub fn unchanged(_: u64, _: &mut [u8]) {}

/// Flips the lowest bit of byte 1000 of every connection.
pub fn flip_byte_1000(offset: u64, data: &mut [u8]) {
    if let Some(i) = 1000u64.checked_sub(offset).filter(|&i| i < data.len() as u64) {
        data[i as usize] ^= 1;
    }
}

/// Starts a server that echoes through `transform`; it lives as long as the test process.
pub fn echo_server(transform: Transform) -> io::Result<SocketAddr> {
    serve(move |stream| echo(stream, transform))
}

/// Starts a server that accepts connections, reads everything and never answers.
pub fn black_hole() -> io::Result<SocketAddr> {
    serve(|mut stream| {
        let mut buf = [0u8; 4096];
        while stream.read(&mut buf)? > 0 {}
        Ok(())
    })
}

/// An address where nothing listens (a port that was just free).
pub fn refusing_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A small configuration against `addr`, bounded tightly for tests.
pub fn config(addr: SocketAddr, limit: Limit) -> Config {
    Config { addr, limit, grace: Duration::from_secs(2), ..Config::default() }
}

fn serve(
    handle: impl Fn(TcpStream) -> io::Result<()> + Copy + Send + 'static,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handle(stream));
        }
    });
    Ok(addr)
}

fn echo(mut stream: TcpStream, transform: Transform) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        transform(offset, &mut buf[..n]);
        offset += n as u64;
        stream.write_all(&buf[..n])?;
    }
}
