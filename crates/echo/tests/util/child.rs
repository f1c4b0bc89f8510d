//! The `multipoll-echo` binary as a child process, for what needs a process of its own:
//! counting its fds and CPU time in `/proc`, limiting its fds, signalling it (these on
//! Unix); and [`command`], the one way the tests start it.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use multipoll::{Backend, Mode};
#[cfg(unix)]
use nix::sys::resource::{Resource, setrlimit};

use super::wait_until;

/// The `multipoll-echo` binary of this build, with no `MULTIPOLL_BACKEND` from the
/// environment (a test sets the backend itself): how every test starts it.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_multipoll-echo"));
    cmd.env_remove("MULTIPOLL_BACKEND");
    cmd
}

/// A running `multipoll-echo`; killed on drop if still running.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl ChildServer {
    /// Starts the binary on 127.0.0.1:0 with `backend`, `mode` and the flags `args` (and
    /// `RLIMIT_NOFILE` set to `nofile` in the child, if given), and waits for its
    /// listening line.
    #[track_caller]
    pub fn start(
        backend: Backend,
        mode: Mode,
        args: &[&str],
        nofile: Option<u64>,
    ) -> io::Result<ChildServer> {
        let mut cmd = command();
        cmd.args(["--addr", "127.0.0.1:0", "--backend", backend.name(), "--mode", mode.name()])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        if let Some(limit) = nofile {
            // SAFETY: the closure only calls setrlimit(2) (nix's wrapper is that one call),
            // which is async-signal-safe, and allocates nothing, as code between fork and
            // exec must.
            unsafe { cmd.pre_exec(move || set_nofile(limit)) };
        }
        #[cfg(windows)]
        if let Some(limit) = nofile {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("a limit of {limit} sockets: Windows has no RLIMIT_NOFILE"),
            ));
        }
        let mut child = cmd.spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped"), Arc::clone(&lines)),
            collect(child.stderr.take().expect("piped"), Arc::clone(&lines)),
        ];
        let pid = child.id();
        let mut server = ChildServer { child, addr: ([0, 0, 0, 0], 0).into(), pid, lines, readers };
        wait_until(Duration::from_secs(10), "listening", || Ok(server.listening_addr().is_some()))?;
        server.addr = server.listening_addr().expect("just seen");
        Ok(server)
    }

    fn listening_addr(&self) -> Option<SocketAddr> {
        self.output().iter().find_map(|l| {
            l.strip_prefix("multipoll-echo listening on ")?.split(' ').next()?.parse().ok()
        })
    }

    /// Every line the server printed so far, stdout and stderr interleaved.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[cfg(unix)]
    /// How many fds the server has open.
    pub fn fd_count(&self) -> io::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid))?.count())
    }

    #[cfg(unix)]
    /// The CPU time (user + system) the server has used.
    pub fn cpu_time(&self) -> io::Result<Duration> {
        super::cpu_time(&format!("/proc/{}/stat", self.pid))
    }

    #[cfg(unix)]
    /// The server's resident memory, from `/proc/PID/status` `VmRSS`.
    pub fn rss_kib(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
            .ok_or_else(|| io::Error::other("no VmRSS"))
    }

    #[cfg(unix)]
    /// Whether the server runs under AddressSanitizer (see [`super::under_asan`]).
    pub fn under_asan(&self) -> io::Result<bool> {
        super::under_asan(&self.pid.to_string())
    }

    #[cfg(unix)]
    /// Sends `signal` to the server.
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        let pid = libc::pid_t::try_from(self.pid).map_err(io::Error::other)?;
        // libc, not nix: nix's `signal` feature turns on `process`, which does not build
        // for tvOS, watchOS and visionOS.
        // SAFETY: kill(2) takes no pointers; `pid` is our own child, not yet reaped.
        if unsafe { libc::kill(pid, signal) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` for the server to exit.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let mut status = None;
        wait_until(timeout, "exited", || {
            status = self.child.try_wait()?;
            Ok(status.is_some())
        })?;
        // The pipes close with the process: collect everything it printed.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status.ok_or_else(|| io::Error::other("no exit status"))
    }

    /// Whether the server is still running.
    pub fn running(&mut self) -> io::Result<bool> {
        Ok(self.child.try_wait()?.is_none())
    }

    /// The `key=value` pairs of the `stats final total:` line, once the server has exited.
    pub fn final_stats(&self) -> Option<HashMap<String, u64>> {
        self.output().iter().find_map(|l| l.strip_prefix("stats final total: ")).map(parse_stats)
    }

    /// The `key=value` pairs of the latest `stats now total:` line (started with
    /// `--stats-interval`), `None` before the first.
    pub fn stats_now(&self) -> Option<HashMap<String, u64>> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().rev().find_map(|l| l.strip_prefix("stats now total: ")).map(parse_stats)
    }

    /// The pairs of a `stats now total:` line taken after this call, so they count all
    /// that happened before it.
    #[track_caller]
    pub fn fresh_stats(&self) -> io::Result<HashMap<String, u64>> {
        // The first line printed after this call may have been taken just before it; the
        // second was taken after.
        let seen = self.stats_lines();
        super::wait_until(Duration::from_secs(5), "two new stats lines", || {
            Ok(self.stats_lines() >= seen + 2)
        })?;
        self.stats_now().ok_or_else(|| io::Error::other("no stats line"))
    }

    fn stats_lines(&self) -> usize {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().filter(|l| l.starts_with("stats now total: ")).count()
    }
}

/// `key=value` pairs, as `Snapshot`'s `Display` writes them.
fn parse_stats(line: &str) -> HashMap<String, u64> {
    line.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Sends SIGTERM and checks the server exits with status 0 within 10 s.
#[cfg(unix)]
#[track_caller]
pub fn stop(server: &mut ChildServer) -> io::Result<()> {
    server.signal(libc::SIGTERM)?;
    let status = server.wait_exit(Duration::from_secs(10))?;
    super::check(status.success(), || format!("exit status {status}: {:?}", server.output()))
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(pipe: impl Read + Send + 'static, lines: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

#[cfg(unix)]
fn set_nofile(limit: u64) -> io::Result<()> {
    let limit = limit as libc::rlim_t;
    Ok(setrlimit(Resource::RLIMIT_NOFILE, limit, limit)?)
}
