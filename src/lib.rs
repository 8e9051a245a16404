//! sipbox: a single-threaded SIP PBX in the spirit of Asterisk's chan_sip.
//!
//! The crate is layered bottom up; every arrow points down and no module reaches up.
//!
//! - [`sip`]: the wire format. Parse and serialize messages, URIs, typed headers, digest
//!   math. No state, no sockets.
//! - [`sched`]: a deadline-ordered heap of cancellable timers with generation-checked ids.
//! - [`transaction`]: RFC 3261 §17 client/server INVITE and non-INVITE machines, timers A–K.
//! - [`registrar`] and [`auth`]: AOR → contact bindings with expiry; nonces and digest checks.
//! - [`call`]: the private-call table (Call-ID → call), dialogs, the two legs of a B2BUA call.
//! - [`dialplan`]: the extensions.conf model, pattern matching, expressions, applications;
//!   it ends calls with Q.850 causes ([`dialplan::Cause`]), never SIP statuses.
//! - [`media`]: RTP relay, SDP offer/answer, G.711, playback.
//! - [`dns`]: RFC 3263 SRV and A/AAAA lookups, sans-IO: queries out as datagrams, answers
//!   in with `now`, a TTL cache.
//! - [`nat`]: which address we advertise toward a destination (externaddr/localnet) and
//!   whether a device is behind NAT (Via vs source).
//! - [`config`]: Asterisk-dialect config files read into typed settings with `file:line` errors.
//! - [`cli`]: the admin commands (`sip show peers`, `core show channels`, ...) over read-only
//!   views of the engine, answered as Asterisk lays them out; [`verbose`]: Asterisk's verbose
//!   lines.
//! - [`http`] and [`status`]: the status page, `/status.json` and Prometheus `/metrics`,
//!   sans-IO: request heads parsed under limits, one connection's state machine with its
//!   deadlines, and the renderings of an engine snapshot.
//! - [`engine`]: the sans-IO entry point. It takes `now` and datagrams and hands back datagrams
//!   to send and the next deadline; it never touches a socket or the clock.
//!
//! The library opens no socket and reads no clock: the binary (`src/main.rs`) owns the mio
//! driver (one `mio::Poll`, the sockets, signals, the clock) and the sound files on disk. The
//! library's one file access is [`config::load`], which reads the config files and their
//! `#include`s once at start.
#![forbid(unsafe_code)]

pub mod auth;
pub mod call;
pub mod cdr;
pub mod cli;
pub mod config;
pub mod dialplan;
pub mod dns;
pub mod engine;
pub mod flow;
pub mod handle;
pub mod hash;
pub mod http;
pub mod media;
pub mod nat;
pub mod presence;
pub mod registrar;
pub mod sched;
pub mod security;
pub mod shrink;
pub mod sip;
pub mod status;
pub mod store;
pub mod transaction;
pub mod trunk;
pub mod tz;
pub mod verbose;
pub mod voicemail;
pub mod wake;
