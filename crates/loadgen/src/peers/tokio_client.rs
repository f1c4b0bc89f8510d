//! A load generator written the obvious way with tokio, to compare `multipoll-loadgen`
//! with: a `current_thread` runtime (one thread, like the loadgen's default), one task
//! per connection, `write_all`/`read_exact` of whole messages, and the same per-byte
//! verification ([`crate::pattern`]), so both do the same work per message.
//!
//! Pipelining writes up to `pipeline` messages ahead without reading, so
//! `pipeline × size` must fit in the socket buffers (a few hundred KiB on loopback);
//! that covers the small-message comparisons it exists for.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::pattern;

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// The echo server.
    pub addr: SocketAddr,
    /// Connections.
    pub connections: usize,
    /// Bytes per message.
    pub size: usize,
    /// Messages in flight per connection.
    pub pipeline: usize,
    /// Load before measuring.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// What it measured.
#[derive(Clone, Copy, Debug)]
pub struct ClientReport {
    /// Messages echoed (and verified) in the window.
    pub messages: u64,
    /// The window.
    pub elapsed: Duration,
}

impl ClientReport {
    /// Messages per second.
    pub fn messages_per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs the load.
///
/// # Errors
/// Connecting, I/O errors, or `InvalidData` for an echoed byte that differs.
pub fn run(config: &ClientConfig) -> io::Result<ClientReport> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            let stream = TcpStream::connect(config.addr).await?;
            stream.set_nodelay(true)?;
            streams.push(stream);
        }
        let start = Instant::now() + config.warmup;
        let end = start + config.duration;
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(index, stream)| tokio::spawn(connection(stream, index, *config, start, end)))
            .collect();
        let mut messages = 0;
        for task in tasks {
            messages += task.await.map_err(io::Error::other)??;
        }
        Ok(ClientReport { messages, elapsed: config.duration })
    })
}

/// One connection's loop; returns the messages that completed inside the window.
async fn connection(
    mut stream: TcpStream,
    index: usize,
    config: ClientConfig,
    start: Instant,
    end: Instant,
) -> io::Result<u64> {
    let seed = pattern::seed(index);
    let size = config.size as u64;
    let mut out = vec![0u8; config.size];
    let mut back = vec![0u8; config.size];
    let (mut sent, mut received, mut counted) = (0u64, 0u64, 0u64);
    let mut stopping = false;
    loop {
        while !stopping && sent < received + config.pipeline as u64 {
            pattern::fill(seed, sent * size, &mut out);
            stream.write_all(&out).await?;
            sent += 1;
        }
        if received == sent {
            return Ok(counted);
        }
        stream.read_exact(&mut back).await?;
        if let Some(m) = pattern::check(seed, received * size, &back) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("connection {index}: echoed byte {} differs", m.offset),
            ));
        }
        received += 1;
        let now = Instant::now();
        if now >= start && now < end {
            counted += 1;
        }
        stopping = now >= end;
    }
}
