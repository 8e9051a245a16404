//! The control socket (`astctl`, Asterisk's `asterisk.ctl`): a Unix stream socket on the
//! driver's poll that `sipbox -rx` and `sipbox -r` talk to.
//!
//! Protocol: the client sends command lines (`\n`-terminated); each answer is the command's
//! text followed by one NUL byte. A client whose first line is `!console [N]` is a console:
//! it also gets the live log, at verbosity N (default: the daemon's `-v`), as plain lines.
//!
//! Bounds: at most [`MAX_CLIENTS`] clients (more are told so and closed), lines of at most
//! `sipbox::cli::MAX_LINE` bytes (a longer one closes the client), at most [`MAX_OUT`] bytes
//! waiting for a client that does not read (then it is dropped: a client that never reads
//! cannot stall the loop or grow memory), and [`IDLE`] without a complete command for a
//! client that is not a console. Reads and writes never block.

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use sipbox::cli::Levels;
use slab::Slab;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Clients at once.
pub const MAX_CLIENTS: usize = 16;
/// Bytes waiting to be sent to one client before it is dropped.
pub const MAX_OUT: usize = 1 << 20;
/// How long a client that is not a console may stay without sending a command.
pub const IDLE: Duration = Duration::from_secs(10);

/// One connected client.
pub struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    last: Instant,
    /// Its levels (verbose used only by consoles).
    pub levels: Levels,
    /// A console (gets the log).
    pub console: bool,
    /// Tells this client from a later one on the same slab key (a reload's answer comes late).
    pub serial: u64,
    dead: bool,
}

/// The listener and its clients.
pub struct CtlServer {
    listener: UnixListener,
    path: PathBuf,
    /// Clients by slab key (the driver maps tokens to keys).
    pub clients: Slab<Client>,
    accepted: u64,
}

/// Why the control socket was not opened.
pub enum OpenError {
    /// Another sipbox answers on it: refuse to start.
    InUse(PathBuf),
    /// Could not create it (the reason).
    Io(PathBuf, io::Error),
}

impl CtlServer {
    /// Creates `dirs.run` if needed, replaces a stale socket file, binds, sets the mode and
    /// (when names resolve) the owner and group.
    #[allow(clippy::disallowed_methods)]
    pub fn open(dirs: &sipbox::config::Directories) -> Result<CtlServer, OpenError> {
        let path = dirs.ctl.clone();
        let io_err = |e| OpenError::Io(path.clone(), e);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(OpenError::InUse(path));
            }
            // Left by a sipbox that died: nobody answers on it.
            std::fs::remove_file(&path).map_err(io_err)?;
        }
        let listener = UnixListener::bind(&path).map_err(io_err)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(dirs.ctl_mode))
            .map_err(io_err)?;
        let uid = dirs
            .ctl_owner
            .as_deref()
            .map(|n| (n, id_of("/etc/passwd", n)));
        let gid = dirs
            .ctl_group
            .as_deref()
            .map(|n| (n, id_of("/etc/group", n)));
        for (what, n, id) in [("astctlowner", uid), ("astctlgroup", gid)]
            .into_iter()
            .filter_map(|(w, x)| x.map(|(n, id)| (w, n, id)))
        {
            if id.is_none() {
                log::warn!("control socket: {what} '{n}' is not known; left as is");
            }
        }
        let (u, g) = (uid.and_then(|x| x.1), gid.and_then(|x| x.1));
        if u.is_some() || g.is_some() {
            if let Err(e) = std::os::unix::fs::chown(&path, u, g) {
                log::warn!(
                    "control socket: cannot change owner of {}: {e}",
                    path.display()
                );
            }
        }
        Ok(CtlServer {
            listener,
            path,
            clients: Slab::new(),
            accepted: 0,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Registers the listener under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.listener, token, Interest::READABLE)
    }

    /// Accepts every waiting client; `token_of` gives a new client's token from its key.
    pub fn accept(
        &mut self,
        registry: &Registry,
        now: Instant,
        default_verbose: u8,
        mut add: impl FnMut(usize) -> Token,
    ) -> Vec<usize> {
        let mut new = Vec::new();
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("control socket accept: {e}");
                    break;
                }
            };
            if self.clients.len() >= MAX_CLIENTS {
                let _ = stream.write(b"Too many remote consoles connected\n\0");
                continue;
            }
            let entry = self.clients.vacant_entry();
            let key = entry.key();
            let token = add(key);
            // A client the poll refused is kept as dead, so that the next reap drops it with
            // the driver's token for it (a `continue` here left that token behind).
            let dead = registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err();
            entry.insert(Client {
                stream,
                inbuf: Vec::new(),
                out: Vec::new(),
                sent: 0,
                last: now,
                levels: Levels {
                    verbose: default_verbose,
                    debug: 0,
                },
                console: false,
                serial: self.accepted,
                dead,
            });
            self.accepted += 1;
            if !dead {
                new.push(key);
            }
        }
        new
    }

    /// Reads what client `key` sent; returns its complete lines (a `!console` line is
    /// handled here). A client that closed, erred or sent an over-long line is marked dead.
    pub fn read(&mut self, key: usize, now: Instant) -> Vec<String> {
        let Some(c) = self.clients.get_mut(key) else {
            return Vec::new();
        };
        let mut buf = [0u8; 4096];
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    c.dead = true;
                    break;
                }
                Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.dead = true;
                    break;
                }
            }
            if c.inbuf.len() > sipbox::cli::MAX_LINE * 4 {
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(pos) = c.inbuf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = c.inbuf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&raw).trim().to_string();
            c.last = now;
            if let Some(rest) = line.strip_prefix("!console") {
                c.console = true;
                if let Ok(v) = rest.trim().parse::<u8>() {
                    c.levels.verbose = v;
                }
                continue;
            }
            if raw.len() > sipbox::cli::MAX_LINE + 1 {
                lines.push(String::new());
                c.dead = true;
                break;
            }
            lines.push(line);
        }
        if c.inbuf.len() > sipbox::cli::MAX_LINE {
            // No newline in sight: not a command line.
            let _ = c.stream.write(b"Command line too long\n\0");
            c.dead = true;
        }
        lines
    }

    /// Queues `text` for client `key`; a client already holding [`MAX_OUT`] unsent bytes is
    /// dropped instead.
    pub fn send(&mut self, key: usize, text: &[u8]) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if c.out.len() - c.sent > MAX_OUT {
            log::warn!(
                "control socket: a client stopped reading ({MAX_OUT} bytes waiting): dropped"
            );
            c.dead = true;
            return;
        }
        if c.sent > 0 && c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
        }
        c.out.extend_from_slice(text);
        Self::write_out(c);
    }

    /// Writes what client `key` has waiting, as far as the socket takes it.
    pub fn writable(&mut self, key: usize) {
        if let Some(c) = self.clients.get_mut(key) {
            Self::write_out(c);
        }
    }

    fn write_out(c: &mut Client) {
        while c.sent < c.out.len() {
            match c.stream.write(&c.out[c.sent..]) {
                Ok(0) => {
                    c.dead = true;
                    return;
                }
                Ok(n) => c.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.dead = true;
                    return;
                }
            }
        }
        c.out.clear();
        c.sent = 0;
    }

    /// Closes dead clients and idle non-consoles; returns the keys removed.
    pub fn reap(&mut self, registry: &Registry, now: Instant) -> Vec<usize> {
        let gone: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.dead || (!c.console && now.saturating_duration_since(c.last) >= IDLE)
            })
            .map(|(k, _)| k)
            .collect();
        for &k in &gone {
            let mut c = self.clients.remove(k);
            let _ = registry.deregister(&mut c.stream);
        }
        gone
    }

    /// When the next idle client times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .iter()
            .filter(|(_, c)| !c.console)
            .map(|(_, c)| c.last + IDLE)
            .min()
    }

    /// The highest verbosity of any console, None without consoles.
    pub fn console_verbose(&self) -> Option<u8> {
        self.clients
            .iter()
            .filter(|(_, c)| c.console)
            .map(|(_, c)| c.levels.verbose)
            .max()
    }
}

impl Drop for CtlServer {
    fn drop(&mut self) {
        // As Asterisk unlinks its socket on the way out: the next start finds no stale file.
        #[allow(clippy::disallowed_methods)]
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The numeric id of `name` in `/etc/passwd` or `/etc/group` (`name:x:id:...`).
#[allow(clippy::disallowed_methods)]
fn id_of(file: &str, name: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}
