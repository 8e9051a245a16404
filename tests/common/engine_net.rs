//! Text-level call scenarios on the fake network: a [`Net`] hands SIP texts to sipbox and
//! returns what it sent back, parsed, without moving the clock; [`Phone`] builds the texts a
//! UA would send. The engine runs inside [`FakeNet`], the one harness that services socket
//! operations and timers.
#![allow(dead_code)]

use super::fakenet::FakeNet;
use sipbox::sip::{self, Message, Request, Response};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// The fake network, read one parsed message at a time. Derefs to [`FakeNet`] (`engine`,
/// `now`, `sipbox`, `advance`).
pub struct Net(FakeNet);

impl Deref for Net {
    type Target = FakeNet;
    fn deref(&self) -> &FakeNet {
        &self.0
    }
}

impl DerefMut for Net {
    fn deref_mut(&mut self) -> &mut FakeNet {
        &mut self.0
    }
}

impl Net {
    /// An engine on the given config texts.
    pub fn new(sip_conf: &str, extensions: &str) -> Net {
        Net(FakeNet::new(sip_conf, extensions))
    }

    /// Delivers a datagram from `from` to sipbox.
    pub fn send(&mut self, from: SocketAddr, text: &str) {
        let to = self.0.sipbox;
        self.0.deliver(from, to, text.as_bytes());
    }

    /// The next datagram sipbox sent to `to`, parsed (the clock does not move).
    pub fn recv(&mut self, to: SocketAddr) -> Option<Message> {
        let d = self.0.recv(to, Duration::ZERO)?;
        Some(sip::parse(&d.bytes).expect("sipbox sends parsable SIP"))
    }

    /// Every datagram queued for `to`, with the time it was sent.
    pub fn drain(&mut self, to: SocketAddr) -> Vec<(Instant, Message)> {
        self.0
            .drain(to)
            .into_iter()
            .map(|d| (d.at, sip::parse(&d.bytes).expect("parsable")))
            .collect()
    }

    /// The next request sent to `to` (panics if it is a response).
    #[track_caller]
    pub fn recv_request(&mut self, to: SocketAddr) -> Request {
        match self.recv(to) {
            Some(Message::Request(r)) => r,
            other => panic!("expected a request at {to}, got {other:?}"),
        }
    }

    /// The next response sent to `to`.
    #[track_caller]
    pub fn recv_response(&mut self, to: SocketAddr) -> Response {
        match self.recv(to) {
            Some(Message::Response(r)) => r,
            other => panic!("expected a response at {to}, got {other:?}"),
        }
    }

    /// The next response to `to` whose status is not 100.
    pub fn recv_non_trying(&mut self, to: SocketAddr) -> Response {
        loop {
            let r = self.recv_response(to);
            if r.status() != 100 {
                return r;
            }
        }
    }
}

/// A phone at an address, building the messages a UA would send.
pub struct Phone {
    /// Its address.
    pub addr: SocketAddr,
    /// Its user name.
    pub user: String,
    n: u32,
}

impl Phone {
    /// A phone `user` at `127.0.0.1:port`.
    pub fn new(user: &str, port: u16) -> Phone {
        Phone {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            user: user.into(),
            n: 0,
        }
    }

    fn next(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    /// REGISTER for `expires` seconds.
    pub fn register(&mut self, sipbox: SocketAddr, expires: u32) -> String {
        let n = self.next();
        format!(
            "REGISTER sip:{sipbox} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bKreg{n};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{u}@{sipbox}>;tag=r{n}\r\nTo: <sip:{u}@{sipbox}>\r\nCall-ID: reg-{u}\r\nCSeq: {n} REGISTER\r\n\
             Contact: <sip:{u}@{a}>\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n",
            a = self.addr,
            u = self.user
        )
    }

    /// An INVITE to `exten`, returning (text, call-id, branch).
    pub fn invite(&mut self, sipbox: SocketAddr, exten: &str) -> (String, String, String) {
        let n = self.next();
        let call_id = format!("call-{}-{n}", self.user);
        let branch = format!("z9hG4bKinv{}{n}", self.user);
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        let text = format!(
            "INVITE sip:{exten}@{sipbox} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch={branch};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{u}@{sipbox}>;tag=f{n}\r\nTo: <sip:{exten}@{sipbox}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:{u}@{a}>\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
            a = self.addr,
            u = self.user,
            len = sdp.len()
        );
        (text, call_id, branch)
    }

    /// CANCEL for the INVITE `invite` (same branch, Call-ID, From, To, CSeq number).
    pub fn cancel(&self, invite: &str) -> String {
        let req = parse_req(invite);
        format!(
            "CANCEL {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} CANCEL\r\nContent-Length: 0\r\n\r\n",
            req.uri(),
            req.top_via(),
            req.from(),
            req.to(),
            req.call_id(),
            req.cseq().seq
        )
    }

    /// ACK for a 2xx (`resp`) to the INVITE `invite`: new branch, To with the tag.
    pub fn ack_2xx(&mut self, invite: &str, resp: &Response) -> String {
        let req = parse_req(invite);
        let n = self.next();
        format!(
            "ACK sip:x@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKack{n}{};rport\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            self.user,
            req.from(),
            resp.to(),
            req.call_id(),
            req.cseq().seq
        )
    }

    /// ACK for a non-2xx (`resp`): the INVITE's branch.
    pub fn ack_failure(&self, invite: &str, resp: &Response) -> String {
        let req = parse_req(invite);
        format!(
            "ACK {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            req.uri(),
            req.top_via(),
            req.from(),
            resp.to(),
            req.call_id(),
            req.cseq().seq
        )
    }

    /// BYE inside the dialog of the caller side: From = our From (tag), To = their To (tag).
    pub fn bye_as_caller(&mut self, invite: &str, resp: &Response) -> String {
        let req = parse_req(invite);
        let n = self.next();
        format!(
            "BYE sip:x@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye{n}{};rport\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            self.user,
            req.from(),
            resp.to(),
            req.call_id(),
            req.cseq().seq + 1
        )
    }

    /// BYE from the callee side of a dialog whose INVITE (from sipbox) was `inv`, after we
    /// answered with To tag `tag`.
    pub fn bye_as_callee(&mut self, inv: &Request, tag: &str) -> String {
        let n = self.next();
        format!(
            "BYE sip:x@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye{n}{};rport\r\nMax-Forwards: 70\r\nFrom: {};tag={tag}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            self.user,
            inv.to(),
            inv.from(),
            inv.call_id()
        )
    }
}

/// A response to a request sipbox sent: copies Via/From/To/Call-ID/CSeq, adds our To tag.
pub fn answer(req: &Request, status: u16, tag: &str, contact: SocketAddr, sdp: bool) -> String {
    let mut s = format!("SIP/2.0 {status} Whatever\r\n");
    for v in req.vias() {
        s += &format!("Via: {v}\r\n");
    }
    let to = if req.to().tag().is_some() {
        req.to().to_string()
    } else {
        format!("{};tag={tag}", req.to())
    };
    s += &format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n",
        req.from(),
        req.call_id(),
        req.cseq().seq,
        req.cseq().method.as_str()
    );
    s += &format!("Contact: <sip:callee@{contact}>\r\n");
    if sdp {
        let body = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        s += &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    } else {
        s += "Content-Length: 0\r\n\r\n";
    }
    s
}

fn parse_req(text: &str) -> Request {
    match sip::parse(text.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test message did not parse: {other:?}"),
    }
}
