//! Thousands of clients without thousands of threads: non-blocking sockets driven by one
//! multipoll poller on the test's thread. Each client sends a message and checks its echo
//! byte for byte as it arrives.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use multipoll::{AsSource, DefaultPoller, Events, Interest, Mode, Poller};
use socket2::{Domain, Socket, Type};

/// One client of a [`Swarm`].
#[derive(Debug)]
struct Client {
    stream: TcpStream,
    connected: bool,
    /// What to send: `out[sent..]` is left.
    out: Vec<u8>,
    sent: usize,
    /// `out[..got]` has come back.
    got: usize,
    /// The server closed the connection (end of file or reset); no longer registered.
    closed: bool,
    interest: Interest,
}

impl Client {
    /// Whether it waits for something: its connection, or the rest of its echo.
    fn waiting(&self) -> bool {
        !self.closed && (!self.connected || self.got < self.out.len())
    }

    fn wanted_interest(&self) -> Interest {
        Interest::new(true, !self.connected || self.sent < self.out.len())
    }
}

/// Many clients of one server, driven by one poller; see the [module docs](self).
#[derive(Debug)]
pub struct Swarm {
    addr: SocketAddr,
    poller: DefaultPoller,
    clients: Vec<Client>,
    /// How many clients [`Client::waiting`], kept up to date so no turn scans them all.
    waiting: usize,
    events: Events,
    buf: Box<[u8]>,
}

impl Swarm {
    /// No clients yet, of the server at `addr`.
    pub fn new(addr: SocketAddr) -> io::Result<Swarm> {
        Ok(Swarm {
            addr,
            poller: DefaultPoller::new()?,
            clients: Vec::new(),
            waiting: 0,
            events: Events::with_capacity(1024),
            buf: vec![0; 64 * 1024].into_boxed_slice(),
        })
    }

    /// How many clients the server closed.
    pub fn closed(&self) -> usize {
        self.clients.iter().filter(|c| c.closed).count()
    }

    /// Opens `n` more connections; client `i` sends `msg(i)` once connected. At most
    /// `window` of them wait for their echo at a time, so the server's accept queue does
    /// not overflow (a dropped SYN costs a retransmit a second later). Returns once every
    /// one has its echo back, all of them still open; fails after `timeout`, or if the
    /// server closes one or echoes a wrong byte.
    #[track_caller]
    pub fn open(
        &mut self,
        n: usize,
        window: usize,
        msg: impl Fn(usize) -> Vec<u8>,
        timeout: Duration,
    ) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let end = self.clients.len() + n;
        while self.clients.len() < end || self.waiting > 0 {
            while self.clients.len() < end && self.waiting < window {
                let out = msg(self.clients.len());
                self.connect(out)?;
            }
            self.turn(deadline, false)?;
        }
        Ok(())
    }

    /// Every client still open sends `msg(i)` at once; returns once each has its echo
    /// back. Fails as [`Swarm::open`] does.
    #[track_caller]
    pub fn send_all(
        &mut self,
        msg: impl Fn(usize) -> Vec<u8>,
        timeout: Duration,
    ) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        for key in 0..self.clients.len() {
            let client = &mut self.clients[key];
            if client.closed {
                continue;
            }
            if client.waiting() {
                return Err(io::Error::other(format!("client {key}: still waiting for its echo")));
            }
            (client.out, client.sent, client.got) = (msg(key), 0, 0);
            if client.waiting() {
                self.waiting += 1;
            }
            // Write at once: ten thousand clients need not wait for ten thousand events.
            self.serve(key, true, false, false)?;
        }
        while self.waiting > 0 {
            self.turn(deadline, false)?;
        }
        Ok(())
    }

    /// Waits until the server has closed every client (they send nothing meanwhile).
    #[track_caller]
    pub fn wait_all_closed(&mut self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        while self.clients.iter().any(|c| !c.closed) {
            self.turn(deadline, true)?;
        }
        Ok(())
    }

    /// Starts a non-blocking connect; the client sends `out` once connected.
    fn connect(&mut self, out: Vec<u8>) -> io::Result<()> {
        let socket = Socket::new(Domain::for_address(self.addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        socket.set_tcp_nodelay(true)?;
        match socket.connect(&self.addr.into()) {
            Ok(()) => {}
            Err(e) if super::connect_in_progress(&e) => {}
            Err(e) => {
                let n = self.clients.len();
                return Err(io::Error::new(e.kind(), format!("connect #{n}: {e}")));
            }
        }
        let stream = TcpStream::from(socket);
        let key = self.clients.len();
        let interest = Interest::BOTH;
        self.poller.add(stream.as_source(), key, interest, Mode::Level)?;
        let client =
            Client { stream, connected: false, out, sent: 0, got: 0, closed: false, interest };
        self.clients.push(client);
        self.waiting += 1;
        Ok(())
    }

    /// One wait and the events it reports.
    #[track_caller]
    fn turn(&mut self, deadline: Instant, closing: bool) -> io::Result<()> {
        let now = Instant::now();
        if now >= deadline {
            let at = std::panic::Location::caller();
            let connecting = self.clients.iter().filter(|c| !c.connected).count();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{at}: timed out: {} clients waiting ({connecting} not connected), {} \
                     closed by the server, of {}",
                    self.waiting,
                    self.closed(),
                    self.clients.len()
                ),
            ));
        }
        self.poller.wait(&mut self.events, Some(deadline - now))?;
        let events: Vec<_> = self.events.iter().copied().collect();
        for event in events {
            let readable = event.is_readable() || event.is_hangup() || event.is_error();
            self.serve(event.key(), event.is_writable(), readable, closing)?;
        }
        Ok(())
    }

    /// Connects, writes and reads what client `key` can without blocking. A close by the
    /// server is an error unless `closing`.
    fn serve(
        &mut self,
        key: usize,
        writable: bool,
        readable: bool,
        closing: bool,
    ) -> io::Result<()> {
        let was_waiting = self.clients[key].waiting();
        let result = self.serve_client(key, writable, readable, closing);
        let client = &mut self.clients[key];
        match (was_waiting, client.waiting()) {
            (true, false) => self.waiting -= 1,
            (false, true) => self.waiting += 1,
            _ => {}
        }
        result.map_err(|e| io::Error::new(e.kind(), format!("client {key}: {e}")))?;
        if client.closed {
            // Level-triggered: an end of file left registered would be reported for ever.
            return self.poller.delete(client.stream.as_source());
        }
        let want = client.wanted_interest();
        if want != client.interest {
            self.poller.modify(client.stream.as_source(), key, want, Mode::Level)?;
            client.interest = want;
        }
        Ok(())
    }

    fn serve_client(
        &mut self,
        key: usize,
        writable: bool,
        readable: bool,
        closing: bool,
    ) -> io::Result<()> {
        let client = &mut self.clients[key];
        if client.closed {
            return Ok(());
        }
        if !client.connected {
            if let Some(e) = client.stream.take_error()? {
                return Err(e);
            }
            if !writable {
                return Ok(()); // still connecting
            }
            client.connected = true;
        }
        while client.sent < client.out.len() {
            match (&client.stream).write(&client.out[client.sent..]) {
                Ok(n) => client.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !readable {
            return Ok(());
        }
        loop {
            match (&client.stream).read(&mut self.buf) {
                Ok(0) => break client.closed = true,
                Ok(n) => {
                    let want = &client.out[client.got.min(client.out.len())..];
                    if n > want.len() || self.buf[..n] != want[..n] {
                        return Err(io::Error::other(format!(
                            "wrong echo: {n} bytes at offset {} of a {}-byte message",
                            client.got,
                            client.out.len()
                        )));
                    }
                    client.got += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break client.closed = true,
                Err(e) => return Err(e),
            }
        }
        if !closing {
            return Err(io::Error::other(format!(
                "closed by the server after {} of {} bytes",
                client.got,
                client.out.len()
            )));
        }
        Ok(())
    }
}
