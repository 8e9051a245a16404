//! HTTP/1.1, sans-IO, as much as a read-only status page needs: one request per connection
//! (`Connection: close`), GET and HEAD, bounded in every dimension. The driver
//! (`src/http_driver.rs`) moves bytes and time; everything here takes `now` and bytes.
//!
//! Reading list: RFC 9112 (message syntax: §2.2 robustness, §3 request line, §3.2 Host,
//! §9.6 closing), RFC 9110 §15 (status codes: 400, 404, 405 with `Allow`, 408, 414, 431 is
//! RFC 6585 §5, 503), Asterisk `main/http.c` (`http.conf`, `sessionlimit`,
//! `session_inactivity`).
//!
//! - [`request`]: the request head, parsed with `httparse` under [`Limits`];
//! - [`response`]: typed statuses and the bytes of an answer;
//! - [`conn`]: one connection's state machine and its deadlines (the slowloris bound).

pub mod conn;
pub mod request;
pub mod response;

pub use conn::{Conn, ConnState};
pub use request::{Limits, Method, Request, RequestError};
pub use response::{Response, Status};
