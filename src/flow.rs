//! Where datagrams come from and go: the vocabulary between the sans-IO core and the driver.
//!
//! A [`Flow`] is a transport, one of our sockets and a remote address: legs, transactions and
//! bindings keep a flow, never a bare address, so adding TCP or TLS touches the driver and the
//! wire layer only. The engine queues what it wants sent in an [`Outbox`]; the driver drains it.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;

/// Which local socket a datagram came in on or goes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SockId(pub u32);

impl SockId {
    /// The SIP UDP socket.
    pub const SIP: SockId = SockId(0);
    /// The DNS client socket (`crate::dns`), bound on first use to an ephemeral port.
    pub const DNS: SockId = SockId(u32::MAX);
}

/// A SIP transport (RFC 3261 §18). Only UDP exists today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Unreliable datagrams: retransmissions are the transaction layer's (§17.1.1.2).
    Udp,
}

impl Transport {
    /// The token in a Via (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
        }
    }

    /// True when the transport itself retransmits (TCP, TLS): timers A, E, G are not run.
    pub fn is_reliable(self) -> bool {
        match self {
            Transport::Udp => false,
        }
    }
}

/// One path to a peer: the transport, our socket and the remote address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// The transport.
    pub transport: Transport,
    /// Our socket.
    pub local: SockId,
    /// The peer's address.
    pub remote: SocketAddr,
}

impl Flow {
    /// A flow over the SIP UDP socket.
    pub fn udp(remote: SocketAddr) -> Flow {
        Flow {
            transport: Transport::Udp,
            local: SockId::SIP,
            remote,
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.remote)
    }
}

/// What the driver should do with a datagram it handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The engine took it (and may have queued datagrams).
    Consumed,
    /// Resend the same (possibly rewritten in place) buffer out of `via` to `to`: the RTP relay's
    /// per-packet path, which copies and queues nothing.
    Forward {
        /// The socket to send from.
        via: SockId,
        /// The destination.
        to: SocketAddr,
    },
}

/// A datagram the engine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The socket to send from.
    pub via: SockId,
    /// The destination.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: Datagram,
}

/// The bytes of a datagram: owned, or shared with the transaction that keeps them for
/// retransmission (sent without a copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram {
    /// Built for this send only.
    Owned(Vec<u8>),
    /// Kept by a transaction (or the 2xx retransmitter) too.
    Shared(std::rc::Rc<[u8]>),
}

impl std::ops::Deref for Datagram {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Datagram::Owned(v) => v,
            Datagram::Shared(r) => r,
        }
    }
}

impl From<Vec<u8>> for Datagram {
    fn from(v: Vec<u8>) -> Self {
        Datagram::Owned(v)
    }
}

impl Datagram {
    /// The bytes as an owned vector (copied when shared).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Datagram::Owned(v) => v,
            Datagram::Shared(r) => r.to_vec(),
        }
    }
}

/// A request to open or close an RTP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketOp {
    /// Bind a UDP socket at `addr` and report back with `Engine::socket_bound`.
    Bind {
        /// The id the engine will use for it.
        id: SockId,
        /// Where to bind.
        addr: SocketAddr,
    },
    /// Close it.
    Close {
        /// Which.
        id: SockId,
    },
    /// Read and discard what is queued on it (a pooled RTP socket given to a new call: what
    /// arrived for the previous one is not handed in). The driver skips the read when it
    /// knows the socket is empty (read to WouldBlock, no readable event since).
    Drain {
        /// Which.
        id: SockId,
    },
}

/// Names a job the driver runs for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub u32);

/// Blocking work the driver does off the loop thread (a helper thread per job) and reports
/// back with `Engine::job_done`: the engine never waits for a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Run `command` with `/bin/sh -c`, stdin and stderr on /dev/null, stdout too unless
    /// `capture`; kill it after `timeout`.
    Run {
        /// The job.
        id: JobId,
        /// The shell command.
        command: String,
        /// Its limit.
        timeout: std::time::Duration,
        /// Report its standard output ([`JobOutcome::Output`], at most
        /// `SHELL_MAX` bytes) instead of its exit status.
        capture: bool,
    },
    /// Write an AstDB change to disk (no completion is reported: the dialplan already sees
    /// the change in memory).
    Db(crate::dialplan::astdb::DbOp),
    /// Resolve `host` (port `port`) to an address and report it with
    /// [`JobOutcome::Resolved`] (the `externhost` refresh).
    Resolve {
        /// The job.
        id: JobId,
        /// The name.
        host: String,
        /// The port to resolve for.
        port: u16,
    },
    /// Apply a registration change to `sipbox.db` (no completion: the registrar already holds
    /// it in memory; the writer batches these into transactions).
    Store(crate::store::StoreOp),
    /// Append a call record to the CDR files, formatted with these `[csv]` options (the
    /// cdr.conf of the call's start); no completion.
    Cdr(Box<crate::cdr::CdrRecord>, crate::cdr::csv::CsvOptions),
    /// Write `bytes` to the file at `path` (a Record() recording); no completion is reported.
    WriteFile {
        /// Where.
        path: std::path::PathBuf,
        /// What.
        bytes: Vec<u8>,
    },
    /// A voicemail spool change (message, greeting, e-mail, password): the driver performs
    /// these on one thread in the order given; no completion is reported.
    Voicemail(crate::voicemail::FsOp),
    /// An AGI session's transport (a script's pipes or a FastAGI connection); the driver
    /// reports what the script sends with [`JobOutcome::Agi`].
    Agi(AgiOp),
    /// A MixMonitor recording's write (open, append, close, post-command): the driver performs
    /// these on one writer thread in the order given; no completion is reported.
    Monitor(crate::media::monitor::FileOp),
    /// The state a burst left was dropped: give the freed heap back to the kernel (the
    /// binary calls glibc's `malloc_trim`, which returns free pages anywhere in the heap, not
    /// only at its top). Done on the loop thread, at most once per sweep; no completion.
    TrimHeap,
}

/// What the engine asks of an AGI session's transport (`res/res_agi.c`'s `launch_script`,
/// `launch_netscript`, the writes to `agi->fd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgiOp {
    /// Start the script (its stdin and stdout become the session) or connect to the FastAGI
    /// server; what the server sends comes back line by line.
    Open {
        /// The session.
        id: JobId,
        /// Where the script is.
        target: AgiTarget,
    },
    /// Send these bytes (the environment block, a result line).
    Send {
        /// The session.
        id: JobId,
        /// What to send.
        bytes: Vec<u8>,
    },
    /// End the session. `hangup`: the channel hung up, so a process gets SIGHUP
    /// (unless `AGISIGHUP=no`) and a FastAGI server the line `HANGUP` before the close; a
    /// process still running after a short grace is killed. No completion is reported.
    Close {
        /// The session.
        id: JobId,
        /// Why.
        hangup: bool,
        /// `AGISIGHUP` was not `no`.
        sighup: bool,
    },
}

pub use crate::dialplan::command::AgiTarget;

/// What an AGI session's transport reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgiEvent {
    /// One line from the script, its newline removed (at most [`AGI_LINE_MAX`] bytes: a
    /// longer line is cut there).
    Line(String),
    /// The script ended (EOF on its output, the connection closed); the exit status of a
    /// process when known.
    Closed {
        /// Its exit status (None: killed, or a FastAGI server).
        exit: Option<i32>,
    },
    /// The program does not exist (`AGISTATUS=NOTFOUND`).
    NotFound,
    /// It could not be started, or the connection failed (`AGISTATUS=FAILURE`).
    Failed,
}

/// Bytes of a `SHELL()` command's output kept (the rest is read and dropped), as Asterisk's
/// function buffer.
pub const SHELL_MAX: usize = 4095;

/// The longest line an AGI script may send (res_agi.c's `AGI_BUF_LEN`).
pub const AGI_LINE_MAX: usize = 2048;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The command exited with this status.
    Exited(i32),
    /// It could not be started, was killed by a signal or ran past its timeout.
    Failed,
    /// A [`Job::Resolve`]'s answer (None: the name did not resolve).
    Resolved(Option<std::net::IpAddr>),
    /// A captured command's standard output (None: it could not run, or ran past its
    /// timeout).
    Output(Option<String>),
    /// An AGI session's news (many per session; a session ends with `Closed`, `NotFound`
    /// or `Failed`).
    Agi(AgiEvent),
}

/// The core's outputs, kept apart so handlers can borrow them beside other state.
#[derive(Default)]
pub struct Outbox {
    transmits: VecDeque<Transmit>,
    socket_ops: VecDeque<SocketOp>,
    jobs: VecDeque<Job>,
    /// Voicemail boxes whose counts changed (message-waiting NOTIFYs to send).
    mailboxes: Vec<(String, String)>,
    /// Wrong PINs the dialplan was given, for the brute-force ban.
    pin_failures: Vec<SourcedPinFailure>,
}

/// A wrong PIN of a call, with where the call came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedPinFailure {
    /// The application and account.
    pub pin: crate::dialplan::PinFailure,
    /// The caller leg's source address.
    pub source: SocketAddr,
    /// The caller leg's Call-ID.
    pub call_id: String,
}

impl Outbox {
    /// Queues a SIP message on a flow.
    pub fn sip(&mut self, flow: Flow, bytes: Vec<u8>) {
        self.send(flow.local, flow.remote, bytes);
    }

    /// Queues a SIP message whose bytes a transaction keeps for retransmission: shared, not
    /// copied.
    pub fn sip_shared(&mut self, flow: Flow, bytes: std::rc::Rc<[u8]>) {
        self.transmits.push_back(Transmit {
            via: flow.local,
            to: flow.remote,
            bytes: Datagram::Shared(bytes),
        });
    }

    /// Queues a datagram from a socket.
    pub fn send(&mut self, via: SockId, to: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            via,
            to,
            bytes: Datagram::Owned(bytes),
        });
    }

    /// Queues a socket operation.
    pub fn socket_op(&mut self, op: SocketOp) {
        self.socket_ops.push_back(op);
    }

    /// The next datagram to send.
    pub fn pop_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next socket operation.
    pub fn pop_socket_op(&mut self) -> Option<SocketOp> {
        self.socket_ops.pop_front()
    }

    /// Queues a job for the driver.
    pub fn job(&mut self, job: Job) {
        self.jobs.push_back(job);
    }

    /// The next job to run.
    pub fn pop_job(&mut self) -> Option<Job> {
        self.jobs.pop_front()
    }

    /// Notes that voicemail box (context, box) changed.
    pub fn mailbox_changed(&mut self, context: String, mailbox: String) {
        if !self.mailboxes.contains(&(context.clone(), mailbox.clone())) {
            self.mailboxes.push((context, mailbox));
        }
    }

    /// The boxes changed since the last call.
    pub fn take_mailbox_changes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.mailboxes)
    }

    /// True when some box changed.
    pub fn has_mailbox_changes(&self) -> bool {
        !self.mailboxes.is_empty()
    }

    /// Notes a wrong PIN keyed on a call that came from `source`.
    pub fn pin_failed(&mut self, failure: SourcedPinFailure) {
        self.pin_failures.push(failure);
    }

    /// The wrong PINs noted since the last call.
    pub fn take_pin_failures(&mut self) -> Vec<SourcedPinFailure> {
        std::mem::take(&mut self.pin_failures)
    }
}
