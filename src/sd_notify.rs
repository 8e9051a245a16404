//! systemd's readiness protocol (`sd_notify(3)`, the unit's `Type=notify`): one datagram per
//! state change to the Unix socket `$NOTIFY_SOCKET` names — `READY=1` once the SIP socket, the
//! control socket and the stores are open, `RELOADING=1` when a reload starts and `READY=1`
//! again when it is applied (or refused), `STOPPING=1` when sipbox starts to stop. Each message
//! carries a `STATUS=` line for `systemctl status`.
//!
//! The protocol is a few lines over std's `UnixDatagram`, so no crate: a path, or an abstract
//! socket when the name starts with `@` (how systemd itself passes it). The variable is removed
//! from the environment so that `System()` commands do not speak for sipbox. Without it (not
//! started by systemd) nothing is sent. A failed send is logged once and never stops sipbox.
//!
//! This is the binary's (declared by `src/main.rs`), like the driver.

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where notifications go (None: not started by a service manager).
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    /// A send failed already (said once in the log).
    failed: bool,
}

/// The states sipbox reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Serving (after start, and after a reload).
    Ready,
    /// A reload is being read and applied.
    Reloading,
    /// Stopping (unregistering trunks, then leaving).
    Stopping,
}

impl Notifier {
    /// Sends nothing.
    pub fn none() -> Notifier {
        Notifier {
            target: None,
            failed: false,
        }
    }

    /// Reads and clears `$NOTIFY_SOCKET` (call it before any thread starts).
    pub fn from_env() -> Notifier {
        let name = std::env::var_os("NOTIFY_SOCKET");
        std::env::remove_var("NOTIFY_SOCKET");
        let target = name.and_then(|n| match open(&n.to_string_lossy()) {
            Ok(t) => Some(t),
            Err(e) => {
                log::warn!("NOTIFY_SOCKET {n:?}: {e}; systemd is not told when sipbox is ready");
                None
            }
        });
        Notifier {
            target,
            failed: false,
        }
    }

    /// Tells the service manager about `state`, with `status` for `systemctl status`.
    pub fn send(&mut self, state: State, status: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        let word = match state {
            State::Ready => "READY=1",
            State::Reloading => "RELOADING=1",
            State::Stopping => "STOPPING=1",
        };
        let msg = format!("{word}\nSTATUS={status}\n");
        let mut sent = sock.send_to_addr(msg.as_bytes(), addr);
        if matches!(&sent, Err(e) if e.kind() == std::io::ErrorKind::Interrupted) {
            sent = sock.send_to_addr(msg.as_bytes(), addr); // a signal arrived: once more
        }
        if let Err(e) = sent {
            if !self.failed {
                log::warn!("NOTIFY_SOCKET: cannot send {word}: {e}");
                self.failed = true;
            }
        }
    }
}

/// An unbound datagram socket and the address `name` stands for (`@name`: abstract).
fn open(name: &str) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    let addr = match name.strip_prefix('@') {
        Some(abs) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abs.as_bytes())?
        }
        None if name.starts_with('/') => SocketAddr::from_pathname(name)?,
        None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "neither an absolute path nor @abstract",
            ))
        }
    };
    Ok((UnixDatagram::unbound()?, addr))
}
