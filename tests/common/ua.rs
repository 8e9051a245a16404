//! One scripted user agent for both the fake network and real UDP sockets: register with
//! digest auth, call (answering the 407), answer, ACK, BYE, CANCEL, re-INVITE, and RTP
//! (RFC 4733 digits too). Messages are parsed with sipbox's own `sip` module.
#![allow(dead_code, unused_imports)]

pub use super::rtp::*;
pub use super::wire::{UdpWire, Wire};

use super::digest;
use super::fakenet::Datagram;
use sipbox::sip::{self, HeaderName, Message, Method, Request, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// A dialog as the UA sees it (either side).
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our party (with our tag).
    pub local: String,
    /// Their party (with their tag once known).
    pub remote: String,
    /// Our last CSeq number.
    pub cseq: u32,
    /// The Request-URI of our INVITE.
    pub uri: String,
    /// The branch of our last INVITE (for CANCEL and the ACK of a failure).
    pub branch: String,
    /// The body of the last response or request that carried SDP from sipbox.
    pub remote_sdp: String,
}

impl Dialog {
    /// sipbox's media address for this dialog.
    pub fn remote_media(&self) -> SocketAddr {
        sdp_addr(&self.remote_sdp)
    }
}

/// A scripted phone: a SIP address and an RTP/RTCP pair.
pub struct Ua {
    /// User name (and From user).
    pub user: String,
    /// Digest password.
    pub password: String,
    /// SIP address.
    pub sip: SocketAddr,
    /// RTP address.
    pub rtp: SocketAddr,
    /// RTCP address.
    pub rtcp: SocketAddr,
    /// How long receives wait.
    pub wait: Duration,
    /// The Contact URI REGISTER binds (default: our SIP address).
    pub contact: Option<String>,
    /// Max-Forwards of the INVITEs it sends.
    pub max_forwards: u32,
    n: u32,
    reg_cseq: u32,
}

/// The body of a message as text.
pub fn body_of(m: &Message) -> String {
    let b = match m {
        Message::Request(r) => r.body(),
        Message::Response(r) => r.body(),
    };
    String::from_utf8_lossy(b).into_owned()
}

/// A header of a response by table name.
pub fn header(r: &Response, name: HeaderName) -> Option<&str> {
    r.headers().get(&name)
}

/// A parameter of a Digest challenge, e.g. `nonce`.
pub fn auth_param(challenge: &str, param: &str) -> Option<String> {
    let key = format!("{param}=");
    let at = challenge.find(&key)? + key.len();
    let rest = &challenge[at..];
    Some(match rest.strip_prefix('"') {
        Some(q) => q[..q.find('"')?].to_string(),
        None => rest.split(',').next()?.trim().to_string(),
    })
}

impl Ua {
    /// A phone `user` with `password` on fresh addresses of `w`.
    pub fn new(w: &mut impl Wire, user: &str, password: &str) -> Ua {
        let sip = w.open();
        let (rtp, rtcp) = w.open_pair();
        Ua {
            user: user.into(),
            password: password.into(),
            sip,
            rtp,
            rtcp,
            wait: Duration::from_secs(5),
            contact: None,
            max_forwards: 70,
            n: 0,
            reg_cseq: 0,
        }
    }

    fn next(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    /// Sends raw SIP text to sipbox.
    pub fn send(&self, w: &mut impl Wire, text: &str) {
        let to = w.sipbox();
        w.send(self.sip, to, text.as_bytes());
    }

    /// The next SIP message within the wait.
    pub fn recv(&self, w: &mut impl Wire) -> Option<Message> {
        let d = w.recv(self.sip, self.wait)?;
        Some(sip::parse(&d.bytes).expect("sipbox sends parsable SIP"))
    }

    /// The next message satisfying `pred` (others are skipped), within the wait.
    pub fn wait_for(&self, w: &mut impl Wire, pred: impl Fn(&Message) -> bool) -> Option<Message> {
        loop {
            let m = self.recv(w)?;
            if pred(&m) {
                return Some(m);
            }
        }
    }

    /// The next response (panics on a request or silence).
    #[track_caller]
    pub fn response(&self, w: &mut impl Wire) -> Response {
        match self.recv(w) {
            Some(Message::Response(r)) => r,
            other => panic!("{}: expected a response, got {other:?}", self.user),
        }
    }

    /// The next final response, skipping provisional ones and requests.
    #[track_caller]
    pub fn final_response(&self, w: &mut impl Wire) -> Response {
        match self.wait_for(
            w,
            |m| matches!(m, Message::Response(r) if r.status() >= 200),
        ) {
            Some(Message::Response(r)) => r,
            _ => panic!("{}: no final response", self.user),
        }
    }

    /// The next response with this status, skipping others.
    #[track_caller]
    pub fn response_with(&self, w: &mut impl Wire, status: u16) -> Response {
        match self.wait_for(
            w,
            |m| matches!(m, Message::Response(r) if r.status() == status),
        ) {
            Some(Message::Response(r)) => r,
            _ => panic!("{}: no {status}", self.user),
        }
    }

    /// The next request with this method, skipping other messages.
    #[track_caller]
    pub fn request(&self, w: &mut impl Wire, method: Method) -> Request {
        let what = format!("{method:?}");
        self.try_request(w, method)
            .unwrap_or_else(|| panic!("{}: no {what} arrived", self.user))
    }

    /// As [`Ua::request`], None on silence.
    pub fn try_request(&self, w: &mut impl Wire, method: Method) -> Option<Request> {
        match self.wait_for(
            w,
            |m| matches!(m, Message::Request(r) if *r.method() == method),
        ) {
            Some(Message::Request(r)) => Some(r),
            _ => None,
        }
    }

    // ---- REGISTER ----

    /// A REGISTER for `expires` seconds with an optional Authorization value; with the
    /// User-Agent, Allow and Supported a phone sends (which also make it larger than its
    /// 401, as real phones' are: sipbox answers an untrusted source with no more bytes than
    /// it sent).
    pub fn register_text(
        &mut self,
        server: SocketAddr,
        expires: u32,
        auth: Option<&str>,
    ) -> String {
        self.reg_cseq += 1;
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:{server} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bKreg-{u}-{c};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{u}@{server}>;tag=r{u}\r\n\
             To: <sip:{u}@{server}>\r\n\
             Call-ID: reg-{u}-{me}\r\n\
             CSeq: {c} REGISTER\r\n\
             Contact: <{contact}>\r\n\
             Expires: {expires}\r\n\
             User-Agent: sipbox-test-phone/1.0\r\n\
             Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, MESSAGE\r\n\
             Supported: replaces\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            me = self.sip,
            u = self.user,
            c = self.reg_cseq,
            contact = self
                .contact
                .clone()
                .unwrap_or_else(|| format!("sip:{}@{}", self.user, self.sip))
        )
    }

    /// Sends a REGISTER without credentials; returns the final answer (the 401).
    pub fn register_challenge(&mut self, w: &mut impl Wire, expires: u32) -> Response {
        let text = self.register_text(w.sipbox(), expires, None);
        self.send(w, &text);
        self.final_response(w)
    }

    /// REGISTERs for `expires`, answering the 401; returns the final answer.
    pub fn register(&mut self, w: &mut impl Wire, expires: u32) -> Response {
        let ch = self.register_challenge(w, expires);
        assert_eq!(ch.status(), 401, "{ch:?}");
        let www = header(&ch, HeaderName::WwwAuthenticate).expect("WWW-Authenticate");
        let nonce = auth_param(www, "nonce").unwrap();
        let realm = auth_param(www, "realm").unwrap();
        let server = w.sipbox();
        let uri = format!("sip:{server}");
        let auth = digest(
            &self.user,
            &self.password,
            &realm,
            &nonce,
            "REGISTER",
            &uri,
            1,
        );
        let text = self.register_text(server, expires, Some(&auth));
        self.send(w, &text);
        self.final_response(w)
    }

    /// REGISTERs for 300 s; panics unless 200.
    #[track_caller]
    pub fn registered(mut self, w: &mut impl Wire) -> Ua {
        let r = self.register(w, 300);
        assert_eq!(r.status(), 200, "{} registers: {r:?}", self.user);
        self
    }

    // ---- calls, caller side ----

    /// The INVITE of `d` with `body` and no credentials (sent by nobody yet).
    pub fn invite_text_for(&self, d: &Dialog, body: &str) -> String {
        self.invite_text(d, "", body)
    }

    fn invite_text(&self, d: &Dialog, auth: &str, body: &str) -> String {
        let ct = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch={b};rport\r\n\
             Max-Forwards: {mf}\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} INVITE\r\n\
             Contact: <sip:{u}@{me}>\r\n{auth}{ct}Content-Length: {len}\r\n\r\n{body}",
            uri = d.uri,
            me = self.sip,
            b = d.branch,
            from = d.local,
            to = d.remote,
            cid = d.call_id,
            c = d.cseq,
            u = self.user,
            mf = self.max_forwards,
            len = body.len()
        )
    }

    /// A new dialog towards `exten` (nothing sent).
    pub fn dialog_to(&mut self, server: SocketAddr, exten: &str) -> Dialog {
        let n = self.next();
        let cid = format!("c{n}-{}-{}", self.user, self.sip.port());
        Dialog {
            call_id: cid.clone(),
            local: format!("<sip:{}@{server}>;tag=f{cid}", self.user),
            remote: format!("<sip:{exten}@{server}>"),
            cseq: 1,
            uri: format!("sip:{exten}@{server}"),
            branch: format!("z9hG4bK-{cid}-1"),
            remote_sdp: String::new(),
        }
    }

    /// Sends an INVITE without credentials and returns its dialog.
    pub fn invite_noauth(&mut self, w: &mut impl Wire, exten: &str, body: &str) -> Dialog {
        let d = self.dialog_to(w.sipbox(), exten);
        let text = self.invite_text(&d, "", body);
        self.send(w, &text);
        d
    }

    /// Answers the challenge `ch` to the INVITE of `d` (ACK, then the INVITE again with
    /// Proxy-Authorization and the next CSeq).
    pub fn reinvite_with_auth(
        &mut self,
        w: &mut impl Wire,
        d: &mut Dialog,
        ch: &Response,
        body: &str,
    ) {
        self.ack_failure(w, d, ch);
        let pa = header(ch, HeaderName::ProxyAuthenticate).unwrap_or_default();
        let nonce = auth_param(pa, "nonce").unwrap_or_default();
        let realm = auth_param(pa, "realm").unwrap_or_else(|| "sipbox".into());
        let auth = digest(
            &self.user,
            &self.password,
            &realm,
            &nonce,
            "INVITE",
            &d.uri,
            1,
        );
        d.cseq += 1;
        d.branch = format!("z9hG4bK-{}-{}", d.call_id, d.cseq);
        let text = self.invite_text(d, &format!("Proxy-Authorization: {auth}\r\n"), body);
        self.send(w, &text);
    }

    /// As [`Ua::call_start`], with extra header lines (each ending in CRLF) on both INVITEs
    /// (a `Replaces`, say).
    #[track_caller]
    pub fn call_start_with(
        &mut self,
        w: &mut impl Wire,
        exten: &str,
        headers: &str,
        body: &str,
    ) -> Dialog {
        let mut d = self.dialog_to(w.sipbox(), exten);
        let text = self.invite_text(&d, headers, body);
        self.send(w, &text);
        let ch = self.final_response(w);
        assert_eq!(ch.status(), 407, "{ch:?}");
        self.ack_failure(w, &d, &ch);
        let pa = header(&ch, HeaderName::ProxyAuthenticate).unwrap_or_default();
        let nonce = auth_param(pa, "nonce").unwrap_or_default();
        let realm = auth_param(pa, "realm").unwrap_or_else(|| "sipbox".into());
        let auth = digest(
            &self.user,
            &self.password,
            &realm,
            &nonce,
            "INVITE",
            &d.uri,
            1,
        );
        d.cseq += 1;
        d.branch = format!("z9hG4bK-{}-{}", d.call_id, d.cseq);
        let extra = format!("{headers}Proxy-Authorization: {auth}\r\n");
        let text = self.invite_text(&d, &extra, body);
        self.send(w, &text);
        d
    }

    /// Sends the INVITE, answers the 407 and sends it again with credentials; the answer to
    /// that is left to read.
    #[track_caller]
    pub fn call_start(&mut self, w: &mut impl Wire, exten: &str, body: &str) -> Dialog {
        let mut d = self.invite_noauth(w, exten, body);
        let ch = self.final_response(w);
        assert_eq!(ch.status(), 407, "{ch:?}");
        self.ack_failure(w, &d, &ch);
        self.reinvite_with_auth(w, &mut d, &ch, body);
        d
    }

    /// Waits for the final answer to our INVITE; takes the To tag and SDP; ACKs a failure.
    #[track_caller]
    pub fn invite_outcome(&mut self, w: &mut impl Wire, d: &mut Dialog) -> Response {
        let r = self.final_response(w);
        if r.status() >= 300 {
            // A failure makes no dialog: the To tag is only for its ACK.
            self.ack_failure(w, d, &r);
        } else {
            self.learn(d, &r);
        }
        r
    }

    fn learn(&self, d: &mut Dialog, r: &Response) {
        d.remote = r.to().to_string();
        if !r.body().is_empty() {
            d.remote_sdp = String::from_utf8_lossy(r.body()).into_owned();
        }
    }

    /// Takes the To tag and SDP of a provisional or final response into the dialog.
    pub fn learn_from(&self, d: &mut Dialog, r: &Response) {
        self.learn(d, r);
    }

    /// Calls `exten` with `body` (digest-authenticated); returns the dialog and the final
    /// answer (a failure is ACKed, a 2xx is not: see [`Ua::ack`]).
    #[track_caller]
    pub fn call(&mut self, w: &mut impl Wire, exten: &str, body: &str) -> (Dialog, Response) {
        let mut d = self.call_start(w, exten, body);
        let r = self.invite_outcome(w, &mut d);
        (d, r)
    }

    /// Calls with this phone's PCMU + telephone-event offer, expects 200 and ACKs it.
    #[track_caller]
    pub fn call_answered(&mut self, w: &mut impl Wire, exten: &str) -> Dialog {
        let offer = sdp(self.rtp, &[0, 101], "sendrecv");
        let (d, r) = self.call(w, exten, &offer);
        assert_eq!(r.status(), 200, "{r:?}");
        self.ack(w, &d, None);
        d
    }

    /// The ACK of a failure: the INVITE's branch.
    pub fn ack_failure(&self, w: &mut impl Wire, d: &Dialog, r: &Response) {
        let text = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={b};rport\r\nMax-Forwards: 70\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} ACK\r\nContent-Length: 0\r\n\r\n",
            uri = d.uri,
            me = self.sip,
            b = d.branch,
            from = d.local,
            to = r.to(),
            cid = d.call_id,
            c = d.cseq
        );
        self.send(w, &text);
    }

    /// The ACK of a 2xx (a new branch), with the answer to a late offer when given.
    pub fn ack(&mut self, w: &mut impl Wire, d: &Dialog, body: Option<&str>) {
        let n = self.next();
        let (ct, b) = match body {
            Some(b) => ("Content-Type: application/sdp\r\n", b),
            None => ("", ""),
        };
        let text = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ack-{tok}-{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} ACK\r\n\
             {ct}Content-Length: {len}\r\n\r\n{b}",
            uri = d.uri,
            me = self.sip,
            from = d.local,
            to = d.remote,
            cid = d.call_id,
            // A branch is a token: sipbox's own Call-IDs carry an '@'.
            tok = d.call_id.replace('@', "-"),
            c = d.cseq,
            len = b.len()
        );
        self.send(w, &text);
    }

    /// CANCEL of our pending INVITE.
    pub fn cancel(&self, w: &mut impl Wire, d: &Dialog) {
        let text = format!(
            "CANCEL {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={b};rport\r\nMax-Forwards: 70\r\n\
             From: {from}\r\nTo: <{uri}>\r\nCall-ID: {cid}\r\nCSeq: {c} CANCEL\r\nContent-Length: 0\r\n\r\n",
            uri = d.uri,
            me = self.sip,
            b = d.branch,
            from = d.local,
            cid = d.call_id,
            c = d.cseq
        );
        self.send(w, &text);
    }

    /// Sends an in-dialog request (BYE, INVITE, ...) with the next CSeq.
    pub fn in_dialog(
        &mut self,
        w: &mut impl Wire,
        d: &mut Dialog,
        method: &str,
        body: Option<&str>,
    ) {
        self.in_dialog_typed(w, d, method, body.map(|b| ("application/sdp", b)));
    }

    /// Sends `method` inside `d` with an optional body of the given content type.
    pub fn in_dialog_typed(
        &mut self,
        w: &mut impl Wire,
        d: &mut Dialog,
        method: &str,
        body: Option<(&str, &str)>,
    ) {
        self.in_dialog_with(w, d, method, "", body)
    }

    /// As [`Ua::in_dialog_typed`], with extra header lines (each ending in CRLF).
    pub fn in_dialog_with(
        &mut self,
        w: &mut impl Wire,
        d: &mut Dialog,
        method: &str,
        headers: &str,
        body: Option<(&str, &str)>,
    ) {
        d.cseq += 1;
        let n = self.next();
        d.branch = format!("z9hG4bK-{}-{n}", method.to_lowercase());
        let ct_line;
        let (ct, b) = match body {
            Some((t, b)) => {
                ct_line = format!("Content-Type: {t}\r\n");
                (ct_line.as_str(), b)
            }
            None => ("", ""),
        };
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={br};rport\r\nMax-Forwards: 70\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} {method}\r\n\
             Contact: <sip:{u}@{me}>\r\n{headers}{ct}Content-Length: {len}\r\n\r\n{b}",
            uri = d.uri,
            me = self.sip,
            br = d.branch,
            from = d.local,
            to = d.remote,
            cid = d.call_id,
            c = d.cseq,
            u = self.user,
            len = b.len()
        );
        self.send(w, &text);
    }

    /// Hangs up with BYE; panics unless 200.
    #[track_caller]
    pub fn hang_up(&mut self, w: &mut impl Wire, d: &mut Dialog) {
        self.in_dialog(w, d, "BYE", None);
        let r = self.final_response(w);
        assert_eq!(r.status(), 200, "200 to the BYE: {r:?}");
    }

    /// A re-INVITE with `body`; returns sipbox's 200 (ACKed).
    #[track_caller]
    pub fn reinvite(&mut self, w: &mut impl Wire, d: &mut Dialog, body: &str) -> Response {
        self.in_dialog(w, d, "INVITE", Some(body));
        let r = self.final_response(w);
        assert_eq!(r.status(), 200, "{r:?}");
        self.ack(w, d, None);
        r
    }

    // ---- callee side ----

    /// Answers `req` with `status` (adding our To tag), with an SDP body when given.
    pub fn respond(&self, w: &mut impl Wire, req: &Request, status: u16, body: Option<&str>) {
        self.respond_with(w, req, status, "", body)
    }

    /// As [`Ua::respond`], with extra header lines (each ending in CRLF).
    pub fn respond_with(
        &self,
        w: &mut impl Wire,
        req: &Request,
        status: u16,
        headers: &str,
        body: Option<&str>,
    ) {
        let to = if req.to().tag().is_some() {
            req.to().to_string()
        } else {
            format!("{};tag=callee{}", req.to(), self.user)
        };
        let mut r = format!("SIP/2.0 {status} X\r\n");
        for v in req.vias() {
            r.push_str(&format!("Via: {v}\r\n"));
        }
        r.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:{}@{}>\r\n",
            req.from(),
            req.call_id(),
            req.cseq(),
            self.user,
            self.sip
        ));
        r.push_str(headers);
        match body {
            Some(b) => r.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => r.push_str("Content-Length: 0\r\n\r\n"),
        }
        self.send(w, &r);
    }

    /// Waits for an INVITE, rings (180), answers 200 with `pts` and waits for the ACK;
    /// returns the INVITE.
    #[track_caller]
    pub fn answer(&self, w: &mut impl Wire, pts: &[u8]) -> Request {
        let inv = self.request(w, Method::Invite);
        self.respond(w, &inv, 180, None);
        self.respond(w, &inv, 200, Some(&sdp(self.rtp, pts, "sendrecv")));
        self.request(w, Method::Ack);
        inv
    }

    /// Waits for a BYE and answers 200.
    #[track_caller]
    pub fn answer_bye(&self, w: &mut impl Wire) {
        let bye = self.request(w, Method::Bye);
        self.respond(w, &bye, 200, None);
    }

    /// A phone at fixed addresses (for peers whose host:port sip.conf names).
    pub fn at(user: &str, password: &str, sip: SocketAddr, rtp: SocketAddr) -> Ua {
        Ua {
            user: user.into(),
            password: password.into(),
            sip,
            rtp,
            rtcp: SocketAddr::new(rtp.ip(), rtp.port() + 1),
            wait: Duration::from_secs(5),
            contact: None,
            max_forwards: 70,
            n: 0,
            reg_cseq: 0,
        }
    }

    /// The dialog of a call sipbox sent us (`inv`), as we answered it.
    pub fn callee_dialog(&self, w: &impl Wire, inv: &Request) -> Dialog {
        let to = if inv.to().tag().is_some() {
            inv.to().to_string()
        } else {
            format!("{};tag=callee{}", inv.to(), self.user)
        };
        Dialog {
            call_id: inv.call_id().to_string(),
            local: to,
            remote: inv.from().to_string(),
            cseq: 100,
            uri: format!("sip:x@{}", w.sipbox()),
            branch: String::new(),
            remote_sdp: String::from_utf8_lossy(inv.body()).into_owned(),
        }
    }

    // ---- media ----

    /// Sends an RTP packet from our RTP port.
    pub fn send_rtp(&self, w: &mut impl Wire, to: SocketAddr, p: &[u8]) {
        w.send(self.rtp, to, p);
    }

    /// Sends an RTCP packet from our RTCP port.
    pub fn send_rtcp(&self, w: &mut impl Wire, to: SocketAddr, p: &[u8]) {
        w.send(self.rtcp, to, p);
    }

    /// The next datagram on our RTP port within `wait`.
    pub fn recv_rtp(&self, w: &mut impl Wire, wait: Duration) -> Option<Datagram> {
        w.recv(self.rtp, wait)
    }

    /// The next datagram on our RTCP port within `wait`.
    pub fn recv_rtcp(&self, w: &mut impl Wire, wait: Duration) -> Option<Datagram> {
        w.recv(self.rtcp, wait)
    }

    /// RTP packets until `max` or `quiet` without one.
    pub fn collect_rtp(&self, w: &mut impl Wire, max: usize, quiet: Duration) -> Vec<Rtp> {
        let mut got = Vec::new();
        while got.len() < max {
            match self.recv_rtp(w, quiet) {
                Some(d) => got.push(Rtp::parse(&d)),
                None => break,
            }
        }
        got
    }

    /// One RFC 4733 event as a phone sends it: three updates (the first with the marker),
    /// then the end packet three times, 5 ms apart, all with timestamp `ts`.
    pub fn send_dtmf(
        &self,
        w: &mut impl Wire,
        to: SocketAddr,
        pt: u8,
        event: u8,
        seq: u16,
        ts: u32,
    ) {
        for i in 0..6u16 {
            let end = i >= 3;
            let duration = 160 * (i.min(3) + 1);
            let mut payload = vec![event, if end { 0x80 | 10 } else { 10 }];
            payload.extend_from_slice(&duration.to_be_bytes());
            let mut p = rtp_packet(pt, seq.wrapping_add(i), ts, 0xD7F0, &payload);
            if i == 0 {
                p[1] |= 0x80;
            }
            self.send_rtp(w, to, &p);
            w.pause(Duration::from_millis(5));
        }
    }
}
