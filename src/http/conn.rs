//! One HTTP connection as a state machine: reading its request head, waiting for the answer,
//! writing it, closed. Every transition is in [`Conn::handle`]; deadlines are data the
//! driver folds into the poll timeout (as it does for the control socket's idle clients),
//! so a slowloris client costs one slab slot until its deadline and no thread.
//!
//! Bounds: the head must be complete within [`HEAD_DEADLINE`] of the accept (or
//! `session_inactivity` if shorter) however slowly it trickles in; an answer must make
//! progress every `session_inactivity`; at most [`Limits::max_head`] bytes are held from the
//! client and at most [`MAX_ANSWER`] bytes towards it.

use super::request::{self, Limits, Parsed, Request, RequestError};
use super::response::Status;
use std::time::{Duration, Instant};

/// How long a client may take to send its whole request head, trickle or not.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// The largest answer queued for one connection (a bigger one becomes a 500).
pub const MAX_ANSWER: usize = 8 << 20;

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Reading the request head; closed at `deadline` if it is not complete.
    Reading {
        /// Accept time + the head deadline.
        deadline: Instant,
    },
    /// A complete request (or a refusal) was handed to the driver; its answer comes next.
    Answering,
    /// Sending the answer; closed if the client takes nothing until `deadline`.
    Writing {
        /// Last progress + `session_inactivity`.
        deadline: Instant,
    },
    /// Answered, timed out or gone: the driver closes the socket.
    Closed,
}

/// What happened on a connection.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes read from the client.
    Bytes(&'a [u8]),
    /// The client closed its side.
    ReadClosed,
    /// The driver's answer to the last [`Step`], as bytes.
    Answer(Vec<u8>),
    /// This many bytes of the answer were written.
    Written(usize),
    /// Time passed.
    Tick,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Serve this request (then give the answer as [`Input::Answer`]).
    Serve(Request),
    /// Answer with this error status.
    Refuse(Status),
}

/// One connection.
#[derive(Debug)]
pub struct Conn {
    state: ConnState,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    limits: Limits,
    inactivity: Duration,
}

impl Conn {
    /// A connection accepted at `now`.
    pub fn new(now: Instant, limits: Limits, inactivity: Duration) -> Conn {
        Conn {
            state: ConnState::Reading {
                deadline: now + HEAD_DEADLINE.min(inactivity),
            },
            inbuf: Vec::new(),
            out: Vec::new(),
            sent: 0,
            limits,
            inactivity,
        }
    }

    /// Its state.
    pub fn state(&self) -> ConnState {
        self.state
    }

    /// When it times out, if it can.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            ConnState::Reading { deadline } | ConnState::Writing { deadline } => Some(deadline),
            ConnState::Answering | ConnState::Closed => None,
        }
    }

    /// The part of the answer not yet written.
    pub fn pending(&self) -> &[u8] {
        match self.state {
            ConnState::Writing { .. } => &self.out[self.sent..],
            _ => &[],
        }
    }

    /// True when the driver should read from the socket.
    pub fn wants_bytes(&self) -> bool {
        matches!(self.state, ConnState::Reading { .. })
    }

    /// The transition function.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Option<Step> {
        match (self.state, input) {
            (ConnState::Reading { .. }, Input::Bytes(data)) => {
                // Hold at most one byte past the head limit: enough to know it is exceeded.
                let room = (self.limits.max_head + 1).saturating_sub(self.inbuf.len());
                self.inbuf.extend_from_slice(&data[..data.len().min(room)]);
                match request::parse(&self.inbuf, &self.limits) {
                    Parsed::Partial => None,
                    Parsed::Done(req) => {
                        self.state = ConnState::Answering;
                        self.inbuf = Vec::new();
                        Some(Step::Serve(req))
                    }
                    Parsed::Bad(e) => {
                        self.state = ConnState::Answering;
                        self.inbuf = Vec::new();
                        Some(Step::Refuse(match e {
                            RequestError::Malformed => Status::BadRequest,
                            RequestError::LineTooLong => Status::UriTooLong,
                            RequestError::HeadTooLarge => Status::HeaderFieldsTooLarge,
                        }))
                    }
                }
            }
            (ConnState::Reading { .. }, Input::ReadClosed) => {
                self.state = ConnState::Closed;
                None
            }
            (ConnState::Answering, Input::Answer(bytes)) => {
                if bytes.len() > MAX_ANSWER {
                    log::warn!(
                        "http: an answer of {} bytes is over the {MAX_ANSWER}-byte bound",
                        bytes.len()
                    );
                    self.state = ConnState::Answering;
                    return Some(Step::Refuse(Status::InternalServerError));
                }
                self.out = bytes;
                self.sent = 0;
                self.state = ConnState::Writing {
                    deadline: now + self.inactivity,
                };
                None
            }
            (ConnState::Writing { .. }, Input::Written(n)) => {
                self.sent = (self.sent + n).min(self.out.len());
                self.state = if self.sent == self.out.len() {
                    self.out = Vec::new();
                    ConnState::Closed
                } else {
                    ConnState::Writing {
                        deadline: now + self.inactivity,
                    }
                };
                None
            }
            (ConnState::Reading { deadline } | ConnState::Writing { deadline }, Input::Tick) => {
                if now >= deadline {
                    self.state = ConnState::Closed;
                }
                None
            }
            // Bytes after the head (we close after one answer), a half-close while we write,
            // and anything once closed change nothing.
            _ => None,
        }
    }
}

#[cfg(test)]
// Tests may read the real clock (clippy.toml's sans-IO rule); time then moves by hand.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    const IDLE: Duration = Duration::from_secs(30);

    fn conn(t0: Instant) -> Conn {
        Conn::new(t0, Limits::default(), IDLE)
    }

    #[test]
    fn a_request_in_pieces_is_served_then_written_then_closed() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        assert_eq!(c.handle(t0, Input::Bytes(b"GET /me")), None);
        let step = c.handle(t0, Input::Bytes(b"trics HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_eq!(
            step,
            Some(Step::Serve(Request {
                method: Method::Get,
                path: "/metrics".into()
            }))
        );
        assert_eq!(c.state(), ConnState::Answering);
        assert_eq!(c.deadline(), None, "the answer is built in the same turn");
        c.handle(t0, Input::Answer(b"0123456789".to_vec()));
        assert_eq!(c.pending(), b"0123456789");
        let t1 = t0 + Duration::from_secs(1);
        c.handle(t1, Input::Written(4));
        assert_eq!(c.pending(), b"456789");
        assert_eq!(c.deadline(), Some(t1 + IDLE), "progress moves the deadline");
        c.handle(t1, Input::Bytes(b"GET / HTTP/1.1\r\n\r\n"));
        assert_eq!(
            c.pending(),
            b"456789",
            "a second request is ignored (Connection: close)"
        );
        c.handle(t1, Input::Written(6));
        assert_eq!(c.state(), ConnState::Closed);
    }

    #[test]
    fn slowloris_is_cut_at_the_head_deadline_however_it_trickles() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        let mut t = t0;
        // 40 bytes at 300 ms: 12 s of trickle, each byte well inside session_inactivity.
        let trickle = format!("GET / HTTP/1.1\r\nX-Slow: {}", "a".repeat(16));
        assert_eq!(trickle.len(), 40);
        for b in trickle.as_bytes() {
            t += Duration::from_millis(300);
            c.handle(t, Input::Bytes(std::slice::from_ref(b)));
            c.handle(t, Input::Tick);
            if t < t0 + HEAD_DEADLINE {
                assert!(c.wants_bytes(), "still reading at {:?}", t - t0);
            }
        }
        assert_eq!(
            c.state(),
            ConnState::Closed,
            "cut at 10 s, every byte notwithstanding"
        );
        let mut short = Conn::new(t0, Limits::default(), Duration::from_millis(1500));
        short.handle(t0 + Duration::from_millis(1499), Input::Tick);
        assert!(short.wants_bytes());
        short.handle(t0 + Duration::from_millis(1500), Input::Tick);
        assert_eq!(
            short.state(),
            ConnState::Closed,
            "session_inactivity below 10 s wins"
        );
    }

    #[test]
    fn a_client_that_never_reads_is_closed_after_inactivity() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        c.handle(t0, Input::Bytes(b"GET / HTTP/1.0\r\n\r\n"));
        c.handle(t0, Input::Answer(vec![b'x'; 1000]));
        c.handle(t0 + IDLE - Duration::from_millis(1), Input::Tick);
        assert!(matches!(c.state(), ConnState::Writing { .. }));
        c.handle(t0 + IDLE, Input::Tick);
        assert_eq!(c.state(), ConnState::Closed);
    }

    #[test]
    fn bad_heads_are_refused_and_memory_is_bounded() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        assert_eq!(
            c.handle(t0, Input::Bytes(b"GET / HTTP/1.1\r\n\r\n")),
            Some(Step::Refuse(Status::BadRequest))
        );
        let mut c = conn(t0);
        let junk = vec![b'a'; 1 << 20];
        assert_eq!(
            c.handle(t0, Input::Bytes(&junk)),
            Some(Step::Refuse(Status::UriTooLong))
        );
        let mut c = conn(t0);
        c.handle(t0, Input::Bytes(b"GET / HTTP/1.1\r\n"));
        let hdr = format!("X: {}\r\n", "y".repeat(100));
        let mut step = None;
        for _ in 0..200 {
            step = c.handle(t0, Input::Bytes(hdr.as_bytes()));
            assert!(c.inbuf.len() <= Limits::default().max_head + 1);
            if step.is_some() {
                break;
            }
        }
        assert_eq!(step, Some(Step::Refuse(Status::HeaderFieldsTooLarge)));
        let mut c = conn(t0);
        c.handle(t0, Input::Bytes(b"GET / HTTP/1.0\r\n\r\n"));
        assert_eq!(
            c.handle(t0, Input::Answer(vec![0; MAX_ANSWER + 1])),
            Some(Step::Refuse(Status::InternalServerError))
        );
        c.handle(t0, Input::Answer(vec![0; 10]));
        assert_eq!(c.pending().len(), 10);
    }

    #[test]
    fn a_client_that_leaves_before_its_head_is_closed() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        c.handle(t0, Input::Bytes(b"GET /"));
        c.handle(t0, Input::ReadClosed);
        assert_eq!(c.state(), ConnState::Closed);
    }
}
