//! The HTTP listener (http.conf; Asterisk's `main/http.c` serves its manager and ARI the same
//! way): a TCP socket on the driver's poll serving the status page, `/status.json` and
//! `/metrics`. Everything about a connection but its socket is `sipbox::http::Conn`, sans-IO:
//! this file reads, writes, accepts and closes.
//!
//! Bounds: `sessionlimit` connections (one more is told 503 and closed at accept), the
//! request head's limits and deadlines (`sipbox::http::conn`), one answer per connection
//! (`Connection: close`), at most `MAX_ANSWER` bytes queued towards a client and
//! `session_inactivity` for it to take them. Reads and writes never block, so a client that
//! connects and never reads costs one slot until its deadline and never stalls the loop.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use sipbox::config::http_conf::HttpConf;
use sipbox::http::conn::{Input, Step};
use sipbox::http::{Conn, ConnState, Limits, Method, Response, Status};
use sipbox::status::Snapshot;
use slab::Slab;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

/// One client.
pub struct Client {
    stream: TcpStream,
    conn: Conn,
}

/// The listener and its clients.
pub struct HttpServer {
    listener: TcpListener,
    conf: HttpConf,
    limits: Limits,
    /// Clients by slab key (the driver maps tokens to keys).
    pub clients: Slab<Client>,
}

impl HttpServer {
    /// Binds `conf.bind`.
    pub fn open(conf: HttpConf) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(conf.bind)?;
        Ok(HttpServer {
            listener,
            conf,
            limits: Limits::default(),
            clients: Slab::new(),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Its settings.
    pub fn conf(&self) -> &HttpConf {
        &self.conf
    }

    /// New settings that keep the bind address (a changed one needs a new listener): they
    /// apply to connections accepted from now on.
    pub fn set_conf(&mut self, conf: HttpConf) {
        self.conf = conf;
    }

    /// Registers the listener under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.listener, token, Interest::READABLE)
    }

    /// Closes every client and the listener.
    pub fn close(mut self, registry: &Registry) -> Vec<usize> {
        let _ = registry.deregister(&mut self.listener);
        let keys: Vec<usize> = self.clients.iter().map(|(k, _)| k).collect();
        for &k in &keys {
            let mut c = self.clients.remove(k);
            let _ = registry.deregister(&mut c.stream);
        }
        keys
    }

    /// Accepts every waiting client; `add` gives a new client's token from its key. Returns
    /// the tokens `add` gave whose registration then failed (the driver forgets them).
    pub fn accept(
        &mut self,
        registry: &Registry,
        now: Instant,
        mut add: impl FnMut(usize) -> Token,
    ) -> Vec<Token> {
        let mut failed = Vec::new();
        loop {
            let (mut stream, from) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: the waiting client stays queued in the kernel.
                    log::debug!("http accept: {e}");
                    break;
                }
            };
            if self.clients.len() >= self.conf.session_limit {
                log::debug!(
                    "http: sessionlimit {} reached, {from} refused",
                    self.conf.session_limit
                );
                let busy = Response::error(Status::ServiceUnavailable)
                    .to_bytes(&self.conf.server_name, false);
                // Best effort on a fresh socket (its send buffer is empty); then closed.
                let _ = stream.write(&busy);
                continue;
            }
            let entry = self.clients.vacant_entry();
            let token = add(entry.key());
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                failed.push(token);
                continue;
            }
            entry.insert(Client {
                stream,
                conn: Conn::new(now, self.limits, self.conf.session_inactivity),
            });
        }
        failed
    }

    /// Reads what client `key` sent and, once its request head is complete, answers it
    /// (`snapshot` is taken only for the pages that show one).
    pub fn readable(&mut self, key: usize, now: Instant, snapshot: impl FnOnce() -> Snapshot) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut step = None;
        while c.conn.wants_bytes() && step.is_none() {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    c.conn.handle(now, Input::ReadClosed);
                }
                Ok(n) => step = c.conn.handle(now, Input::Bytes(&buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.conn.handle(now, Input::ReadClosed);
                }
            }
        }
        let Some(step) = step else { return };
        let server = self.conf.server_name.as_str();
        let mut bytes = match step {
            Step::Serve(req) => {
                let head = req.method == Method::Head;
                sipbox::status::serve(&req, &self.conf.prefix, snapshot).to_bytes(server, head)
            }
            Step::Refuse(status) => Response::error(status).to_bytes(server, false),
        };
        while let Some(Step::Refuse(status)) = c.conn.handle(now, Input::Answer(bytes)) {
            bytes = Response::error(status).to_bytes(server, false);
        }
        Self::write_out(c, now);
    }

    /// Writes what client `key` has waiting, as far as the socket takes it.
    pub fn writable(&mut self, key: usize, now: Instant) {
        if let Some(c) = self.clients.get_mut(key) {
            Self::write_out(c, now);
        }
    }

    fn write_out(c: &mut Client, now: Instant) {
        while !c.conn.pending().is_empty() {
            match c.stream.write(c.conn.pending()) {
                Ok(0) => break,
                Ok(n) => {
                    c.conn.handle(now, Input::Written(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // The client is gone: nothing more to write; the deadline closes it.
                    break;
                }
            }
        }
        if c.conn.state() == ConnState::Closed {
            let _ = c.stream.shutdown(std::net::Shutdown::Write);
        }
    }

    /// Times out clients past their deadline and closes finished ones; returns the keys
    /// removed.
    pub fn reap(&mut self, registry: &Registry, now: Instant) -> Vec<usize> {
        let mut gone = Vec::new();
        for (k, c) in self.clients.iter_mut() {
            let reading = c.conn.wants_bytes();
            c.conn.handle(now, Input::Tick);
            if c.conn.state() == ConnState::Closed {
                if reading {
                    log::debug!("http: no complete request in time (slowloris?): closed");
                }
                gone.push(k);
            }
        }
        for &k in &gone {
            let mut c = self.clients.remove(k);
            let _ = registry.deregister(&mut c.stream);
        }
        gone
    }

    /// When the next client times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .iter()
            .filter_map(|(_, c)| c.conn.deadline())
            .min()
    }
}
