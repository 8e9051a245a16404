//! Answers on server transactions: a [`Reply`] (status, optional reason, extra headers) shaped
//! into a response with our To tag, the stamped Via, Contact on dialog-making answers, Server
//! and a body (RFC 3261 §8.2.6, §12.1.1).

use super::build;
use crate::flow::Outbox;
use crate::nat::Advertise;
use crate::sched::Scheduler;
use crate::sip::{HeaderName, Method, Response, StatusCode};
use crate::transaction::{Handle, Transactions, TxTimer};
use std::borrow::Cow;
use std::time::Instant;

/// A final or provisional answer, before it is shaped into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase, when not the table's.
    pub reason: Option<Cow<'static, str>>,
    /// Extra headers in order (a fixed value is borrowed, not copied).
    pub headers: Vec<(HeaderName, Cow<'static, str>)>,
}

impl Reply {
    /// A reply with the table's reason phrase and no extra headers.
    pub fn new(status: StatusCode) -> Reply {
        Reply {
            status,
            reason: None,
            headers: Vec::new(),
        }
    }

    /// A reply whose reason phrase says more (e.g. which header was bad).
    pub fn with_reason(status: StatusCode, reason: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            status,
            reason: Some(reason.into()),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<Cow<'static, str>>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// The reason phrase to send.
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or(self.status.reason())
    }
}

/// An SDP (or other) body with its content type.
pub type Body = Option<(Cow<'static, str>, Vec<u8>)>;

/// Builds a response on server transaction `h` from a reply.
pub fn build<P: Clone>(
    txs: &Transactions<P>,
    h: Handle,
    reply: Reply,
    body: Body,
    adv: &Advertise,
    user_agent: &str,
) -> Option<Response> {
    let tx = txs.server(h)?;
    let local = adv.sip(tx.dest.remote);
    let answering = tx.answering.as_ref()?;
    let request = &answering.request;
    let status = reply.status;
    let tag = (status != StatusCode::TRYING).then_some(tx.to_tag());
    let mut resp =
        Response::for_request_top(request, status.code(), reply.reason(), tag, &answering.via);
    for (name, value) in reply.headers {
        resp.push_header(name, value);
    }
    let code = status.code();
    if *request.method() == Method::Invite && (101..300).contains(&code)
        || *request.method() == Method::Update && code < 300
    {
        let user = request.uri().user.as_deref().unwrap_or("sipbox");
        resp.push_header_with(HeaderName::Contact, |s| {
            build::write_contact(s, user, local)
        });
    }
    resp.push_header(HeaderName::Server, user_agent);
    if let Some((ct, b)) = body {
        resp.set_body(Some(&ct), b);
    }
    Some(resp)
}

/// Sends a reply (with an optional body) on server transaction `h`.
#[allow(clippy::too_many_arguments)]
pub fn send<P: Clone, W: From<TxTimer>>(
    now: Instant,
    txs: &mut Transactions<P>,
    sched: &mut Scheduler<W>,
    out: &mut Outbox,
    h: Handle,
    reply: Reply,
    body: Body,
    adv: &Advertise,
    user_agent: &str,
) {
    if let Some(resp) = build(txs, h, reply, body, adv, user_agent) {
        txs.server_send(now, sched, out, h, &resp);
    }
}
