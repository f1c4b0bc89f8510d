//! The tokio load generator of `multipoll_loadgen::peers::tokio_client`, from the command
//! line, to compare with `multipoll-loadgen` against the same server:
//!
//! ```text
//! cargo run --release -p multipoll-loadgen --features peers --example tokio_client -- \
//!     --addr 127.0.0.1:7007 --connections 50 --size 64 --pipeline 1 --duration 5
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use multipoll_loadgen::peers::tokio_client::{self, ClientConfig};

/// A tokio echo client: prints messages/s as JSON.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:7007")]
    addr: SocketAddr,
    #[arg(long, default_value_t = 1)]
    connections: usize,
    #[arg(long, default_value_t = 64)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let report = tokio_client::run(&ClientConfig {
        addr: args.addr,
        connections: args.connections,
        size: args.size,
        pipeline: args.pipeline,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
    })?;
    println!(
        "{{\"client\":\"tokio\",\"messages\":{},\"elapsed_s\":{:.6},\"msgs_per_sec\":{:.1}}}",
        report.messages,
        report.elapsed.as_secs_f64(),
        report.messages_per_sec()
    );
    Ok(())
}
