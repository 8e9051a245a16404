//! The binary's FastAGI connections, on the loop: a non-blocking `mio::net::TcpStream` per
//! session, registered with the poll; what the server sends is cut into lines for the
//! engine, what the engine sends is queued and written as the socket takes it. The deadline
//! for the server's answers is the engine's (a call timer): the loop never waits.
//!
//! A host name that is not an address is resolved on a helper thread (the system resolver
//! blocks); the connection starts when its answer comes back through the poll's waker.
//! Bounds: a line is cut at `AGI_LINE_MAX` bytes, a session's input at `agi::INPUT_MAX`,
//! its unsent output at [`OUT_MAX`]; past either the session fails.
//!
//! Reading list: Asterisk `res/res_agi.c` (`launch_netscript`, `HANGUP` to the server on
//! hang-up).

use mio::net::TcpStream;
use mio::{Interest, Registry, Token, Waker};
use sipbox::dialplan::agi::INPUT_MAX;
use sipbox::engine::{AgiEvent, JobId, AGI_LINE_MAX};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Bytes queued for a server that does not read, at most.
pub const OUT_MAX: usize = 64 * 1024;

struct Conn {
    stream: Option<TcpStream>,
    token: usize,
    connected: bool,
    out: Vec<u8>,
    line: Vec<u8>,
    input: usize,
    /// Close once `out` is written (the `HANGUP` line).
    close_after_write: bool,
}

/// Every FastAGI session of the loop.
pub struct FastAgi {
    conns: HashMap<JobId, Conn>,
    resolved_tx: Sender<(JobId, Option<SocketAddr>)>,
    resolved_rx: Receiver<(JobId, Option<SocketAddr>)>,
}

impl FastAgi {
    /// No sessions yet.
    pub fn new() -> FastAgi {
        let (resolved_tx, resolved_rx) = channel();
        FastAgi {
            conns: HashMap::new(),
            resolved_tx,
            resolved_rx,
        }
    }

    /// Starts session `id` to `host:port` with slab key `token`; an event to report at once
    /// when it cannot start.
    pub fn open(
        &mut self,
        registry: &Registry,
        id: JobId,
        host: &str,
        port: u16,
        token: usize,
        waker: &Arc<Waker>,
    ) -> Option<AgiEvent> {
        self.conns.insert(
            id,
            Conn {
                stream: None,
                token,
                connected: false,
                out: Vec::new(),
                line: Vec::new(),
                input: 0,
                close_after_write: false,
            },
        );
        let ip = if host.eq_ignore_ascii_case("localhost") {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            host.parse::<IpAddr>().ok()
        };
        if let Some(ip) = ip {
            return self.connect(registry, id, SocketAddr::new(ip, port));
        }
        let (tx, waker, host) = (self.resolved_tx.clone(), waker.clone(), host.to_string());
        let spawned = std::thread::Builder::new()
            .name("agi-resolve".into())
            .spawn(move || {
                let addr = crate::resolve::first_addr(&host, port);
                if addr.is_none() {
                    log::warn!("FastAGI: unable to locate host '{host}'");
                }
                let _ = tx.send((id, addr));
                let _ = waker.wake();
            });
        if spawned.is_err() {
            self.conns.remove(&id);
            return Some(AgiEvent::Failed);
        }
        None
    }

    /// Connections whose host name was resolved meanwhile; the events of those that failed.
    pub fn resolved(&mut self, registry: &Registry) -> Vec<(JobId, AgiEvent)> {
        let done: Vec<_> = self.resolved_rx.try_iter().collect();
        let mut events = Vec::new();
        for (id, addr) in done {
            if !self.conns.contains_key(&id) {
                continue; // closed meanwhile
            }
            let ev = match addr {
                Some(a) => self.connect(registry, id, a),
                None => {
                    self.conns.remove(&id);
                    Some(AgiEvent::Failed)
                }
            };
            events.extend(ev.map(|e| (id, e)));
        }
        events
    }

    fn connect(&mut self, registry: &Registry, id: JobId, addr: SocketAddr) -> Option<AgiEvent> {
        let conn = self.conns.get_mut(&id)?;
        let started = TcpStream::connect(addr).and_then(|mut s| {
            registry
                .register(
                    &mut s,
                    Token(conn.token),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map(|()| s)
        });
        match started {
            Ok(s) => {
                conn.stream = Some(s);
                None
            }
            Err(e) => {
                log::warn!("FastAGI: connect to {addr} failed: {e}");
                self.conns.remove(&id);
                Some(AgiEvent::Failed)
            }
        }
    }

    /// Queues bytes for session `id` (sent when connected and writable).
    pub fn send(&mut self, id: JobId, bytes: &[u8]) -> Option<AgiEvent> {
        let conn = self.conns.get_mut(&id)?;
        if conn.out.len() + bytes.len() > OUT_MAX {
            log::warn!("FastAGI: the server reads nothing ({OUT_MAX} bytes unsent): closed");
            return Some(AgiEvent::Failed);
        }
        conn.out.extend_from_slice(bytes);
        flush(conn).err().map(|_| AgiEvent::Failed)
    }

    /// Ends session `id`; `hangup`: the server gets `HANGUP` first. The slab key to free
    /// when the connection is gone now.
    pub fn close(&mut self, registry: &Registry, id: JobId, hangup: bool) -> Option<usize> {
        let conn = self.conns.get_mut(&id)?;
        if hangup && conn.connected {
            conn.out.extend_from_slice(b"HANGUP\n");
            conn.close_after_write = true;
            if flush(conn).is_ok() && !conn.out.is_empty() {
                return None; // written when the socket takes it, then closed
            }
        }
        self.drop_conn(registry, id)
    }

    fn drop_conn(&mut self, registry: &Registry, id: JobId) -> Option<usize> {
        let mut conn = self.conns.remove(&id)?;
        if let Some(s) = conn.stream.as_mut() {
            let _ = registry.deregister(s);
        }
        Some(conn.token)
    }

    /// Readiness on session `id`'s socket: the lines read and how the session ended, if it
    /// did (then its slab key is free: the second value).
    pub fn ready(
        &mut self,
        registry: &Registry,
        id: JobId,
        readable: bool,
        writable: bool,
    ) -> (Vec<AgiEvent>, Option<usize>) {
        let mut events = Vec::new();
        let Some(conn) = self.conns.get_mut(&id) else {
            return (events, None);
        };
        let mut end = None;
        if writable && !conn.connected {
            // A non-blocking connect is over when the socket turns writable: an error, or a
            // peer address (none yet: still connecting).
            let Some(s) = conn.stream.as_ref() else {
                return (events, None);
            };
            match (s.take_error(), s.peer_addr()) {
                (Ok(Some(e)) | Err(e), _) => {
                    log::warn!("FastAGI: connect failed: {e}");
                    end = Some(AgiEvent::Failed);
                }
                (Ok(None), Ok(_)) => conn.connected = true,
                (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => {}
                (Ok(None), Err(e)) => {
                    log::warn!("FastAGI: connect failed: {e}");
                    end = Some(AgiEvent::Failed);
                }
            }
        }
        if end.is_none() && conn.connected {
            if flush(conn).is_err() {
                end = Some(AgiEvent::Failed);
            } else if conn.close_after_write && conn.out.is_empty() {
                let key = self.drop_conn(registry, id);
                return (events, key);
            }
        }
        if end.is_none() && readable && conn.connected {
            end = read(conn, &mut events);
        }
        match end {
            Some(ev) => {
                if conn.close_after_write {
                    // Closed by us already: the engine expects nothing more.
                    return (Vec::new(), self.drop_conn(registry, id));
                }
                events.push(ev);
                (events, self.drop_conn(registry, id))
            }
            None => (events, None),
        }
    }
}

/// Writes what the socket takes.
fn flush(conn: &mut Conn) -> io::Result<()> {
    let Some(s) = conn.stream.as_mut() else {
        return Ok(());
    };
    if !conn.connected {
        return Ok(());
    }
    while !conn.out.is_empty() {
        match s.write(&conn.out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                conn.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads to WouldBlock, cutting lines; the session's end when the server closed or broke a
/// bound.
fn read(conn: &mut Conn, events: &mut Vec<AgiEvent>) -> Option<AgiEvent> {
    let mut buf = [0u8; 4096];
    loop {
        let s = conn.stream.as_mut()?;
        let n = match s.read(&mut buf) {
            Ok(0) => return Some(AgiEvent::Closed { exit: None }),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Some(AgiEvent::Failed),
        };
        conn.input = conn.input.saturating_add(n);
        if conn.input > INPUT_MAX {
            log::warn!("FastAGI: the server sent over {INPUT_MAX} bytes: closed");
            return Some(AgiEvent::Failed);
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                if conn.line.last() == Some(&b'\r') {
                    conn.line.pop();
                }
                let line = String::from_utf8_lossy(&conn.line).into_owned();
                conn.line.clear();
                events.push(AgiEvent::Line(line));
            } else if conn.line.len() < AGI_LINE_MAX {
                // Past the bound the rest of the line is dropped (cut, as res_agi.c's buffer).
                conn.line.push(b);
            }
        }
    }
}
