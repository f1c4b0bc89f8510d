//! What the tutorial examples share: their command line, a loopback socket pair, a byte
//! pattern to check echoes against, and the few things Unix and Windows name differently
//! (the would-block error code, a connect in progress, CPU time in [`cpu_time`]).
//!
//! The command line is parsed with `std::env::args` alone, so that reading an example
//! never means learning an argument-parsing crate first. Every example takes
//! `--backend NAME` (`select`, `poll`, `epoll`, `kqueue`, `uring`, `iocp`: those of this
//! build; default: the best one built in, [`Backend::compiled_default`]), and `--help`.
#![allow(dead_code, reason = "each example uses part of what is shared")]

pub mod cpu_time;

use std::fmt::Display;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::str::FromStr;

use multipoll::Backend;

/// An example's parsed command line.
#[derive(Debug)]
pub struct Args {
    /// The backend to run over.
    pub backend: Backend,
    flags: Vec<String>,
    values: Vec<(String, String)>,
}

impl Args {
    /// Parses `args` (without the program name): `--backend NAME`, the boolean `flags`, and
    /// the `options` that take a value (`--name VALUE` or `--name=VALUE`).
    ///
    /// # Errors
    /// `InvalidInput` for an unknown argument, a missing value or an unknown backend;
    /// `Unsupported` for a backend this build does not have.
    pub fn parse_from(
        args: impl IntoIterator<Item = String>,
        flags: &[&str],
        options: &[&str],
    ) -> io::Result<Args> {
        let mut parsed =
            Args { backend: Backend::compiled_default(), flags: Vec::new(), values: Vec::new() };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            if name == "--backend" || options.contains(&name.as_str()) {
                let value = match inline.or_else(|| args.next()) {
                    Some(value) => value,
                    None => return Err(invalid(format!("`{name}` needs a value"))),
                };
                if name == "--backend" {
                    // An unavailable backend (kqueue on Linux) is refused here, with the
                    // list of the available ones in the message.
                    parsed.backend = value.parse()?;
                } else {
                    parsed.values.push((name, value));
                }
            } else if flags.contains(&name.as_str()) && inline.is_none() {
                parsed.flags.push(name);
            } else {
                return Err(invalid(format!("unknown argument `{arg}` (try --help)")));
            }
        }
        Ok(parsed)
    }

    /// Whether the boolean flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The value of option `name`, or `default` when it was not given.
    ///
    /// # Errors
    /// `InvalidInput` when the value does not parse as a `T`.
    pub fn value<T: FromStr>(&self, name: &str, default: T) -> io::Result<T>
    where
        T::Err: Display,
    {
        match self.values.iter().rev().find(|(n, _)| n == name) {
            Some((_, value)) => {
                value.parse().map_err(|e| invalid(format!("`{name} {value}`: {e}")))
            }
            None => Ok(default),
        }
    }
}

/// Runs an example's `main`: parses the command line (printing `usage` for `--help`),
/// calls `run`, and turns an error into a message and an exit code instead of a panic or
/// a `Debug` dump: 2 when the arguments do not parse, 1 when `run` fails (which includes
/// an option value that `run` could not parse with [`Args::value`]).
pub fn run_main(
    usage: &str,
    flags: &[&str],
    options: &[&str],
    run: impl FnOnce(&Args) -> io::Result<()>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        let available: Vec<&str> = Backend::available().map(Backend::name).collect();
        println!("{usage}");
        println!(
            "  --backend NAME   one of: {} (default: {})",
            available.join(", "),
            Backend::compiled_default()
        );
        return ExitCode::SUCCESS;
    }
    let args = match Args::parse_from(args, flags, options) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A connected pair of loopback TCP sockets, `(client, server)`: blocking, as every new
/// socket is.
///
/// # Errors
/// Those of binding `127.0.0.1:0` (an ephemeral port), connecting and accepting.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

/// The bytes at `offset..offset + len` of stream number `seed`: a pattern in which a lost,
/// repeated or reordered byte shows (its period, 251, is prime, so it never lines up with
/// a buffer size), and two streams differ.
pub fn pattern(seed: usize, offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| ((i + seed * 7) % 251) as u8).collect()
}

/// An `InvalidInput` error with `message`.
pub fn invalid(message: impl Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}

/// `"yes"` or `"no"`, for printing answers.
pub fn yes_no(answer: bool) -> &'static str {
    if answer { "yes" } else { "no" }
}

/// The OS error code of a would-block ([`io::ErrorKind::WouldBlock`]) and its C name:
/// `EAGAIN` on Unix (`EWOULDBLOCK` is the same number on Linux and the BSDs).
#[cfg(unix)]
pub const WOULD_BLOCK: (i32, &str) = (libc::EAGAIN, "EAGAIN");
/// The OS error code of a would-block ([`io::ErrorKind::WouldBlock`]) and its C name:
/// Winsock's `WSAEWOULDBLOCK`.
#[cfg(windows)]
pub const WOULD_BLOCK: (i32, &str) =
    (windows_sys::Win32::Networking::WinSock::WSAEWOULDBLOCK, "WSAEWOULDBLOCK");

/// Whether `e`, from a non-blocking `connect`, means "begun, not finished": `EINPROGRESS`
/// on Unix; on Windows `WSAEWOULDBLOCK`, which std reads as `WouldBlock`.
pub fn connect_in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    #[cfg(windows)]
    return e.kind() == io::ErrorKind::WouldBlock;
}
