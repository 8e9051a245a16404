//! A tiny SIP user agent on std sockets for the media loopback tests: register, place an
//! authenticated call with SDP, answer one, re-INVITE, hang up; and RTP packet helpers.
#![allow(dead_code)]

#[allow(unused_imports)] // each test crate uses a different subset
pub use crate::common::rtp::{rtp_packet, sdp, sdp_addr, sdp_direction, write_wav};
use crate::common::{digest, register, temp_dir, Msg, Peer, Sipbox};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Starts sipbox with an extra rtp.conf giving it the port range `start..=end`.
pub fn start_with_rtp(sip_conf: &str, ext: &str, start: u16, end: u16) -> Sipbox {
    let dir = temp_dir("sipbox-media");
    std::fs::write(dir.join("sip.conf"), sip_conf).unwrap();
    std::fs::write(dir.join("extensions.conf"), ext).unwrap();
    std::fs::write(
        dir.join("rtp.conf"),
        format!("[general]\nrtpstart={start}\nrtpend={end}\n"),
    )
    .unwrap();
    Sipbox::start_in(&dir)
}

/// A phone: SIP socket plus an RTP/RTCP socket pair.
pub struct Phone {
    pub user: String,
    pub password: String,
    pub sip: Peer,
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

/// Binds an even/odd loopback port pair.
fn rtp_pair() -> (UdpSocket, UdpSocket) {
    for _ in 0..200 {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if !p.is_multiple_of(2) || p == u16::MAX {
            continue;
        }
        if let Ok(b) = UdpSocket::bind(("127.0.0.1", p + 1)) {
            for s in [&a, &b] {
                s.set_read_timeout(Some(Duration::from_millis(1500)))
                    .unwrap();
            }
            return (a, b);
        }
    }
    panic!("no RTP port pair");
}

/// Receives one datagram on `s` (None on timeout).
pub fn recv_raw(s: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    s.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
}

/// A dialog as the test phone sees it.
#[derive(Clone, Debug)]
pub struct Dialog {
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub cseq: u32,
    /// sipbox's SDP address for this phone's leg.
    pub remote_media: SocketAddr,
}

impl Phone {
    /// A phone for `user`.
    pub fn new(user: &str, password: &str) -> Phone {
        let (rtp, rtcp) = rtp_pair();
        Phone {
            user: user.into(),
            password: password.into(),
            sip: Peer::new(),
            rtp,
            rtcp,
        }
    }

    /// Its RTP address.
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().unwrap()
    }

    /// REGISTERs with digest auth; panics unless 200.
    pub fn register(&self, server: SocketAddr) {
        let cid = format!("reg-{}", self.user);
        self.sip.send(
            server,
            register(&self.sip, server, &self.user, &cid, 1, 300, None).as_bytes(),
        );
        let ch = self.sip.recv_final().expect("401");
        assert_eq!(ch.status(), 401);
        let nonce = ch.auth_param("WWW-Authenticate", "nonce").unwrap();
        let uri = format!("sip:{server}");
        let auth = digest(
            &self.user,
            &self.password,
            "sipbox",
            &nonce,
            "REGISTER",
            &uri,
            1,
        );
        self.sip.send(
            server,
            register(&self.sip, server, &self.user, &cid, 2, 300, Some(&auth)).as_bytes(),
        );
        assert_eq!(self.sip.recv_final().expect("200").status(), 200);
    }

    /// Receives until a message satisfies `pred` (skipping others), within `d`.
    pub fn wait_for(&self, d: Duration, pred: impl Fn(&Msg) -> bool) -> Option<Msg> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if let Some(m) = self.sip.recv() {
                if pred(&m) {
                    return Some(m);
                }
            }
        }
        None
    }

    fn invite(
        &self,
        server: SocketAddr,
        exten: &str,
        cid: &str,
        cseq: u32,
        auth: &str,
        body: &str,
    ) -> String {
        format!(
            "INVITE sip:{exten}@{server} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-{cid}-{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{server}>;tag=f{cid}\r\n\
             To: <sip:{exten}@{server}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} INVITE\r\n\
             Contact: <sip:{user}@{me}>\r\n\
             {auth}Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            me = self.sip.addr,
            user = self.user,
            len = body.len()
        )
    }

    /// Calls `exten` with `body` (digest-authenticated); returns the final response.
    pub fn call(&self, server: SocketAddr, exten: &str, cid: &str, body: &str) -> Msg {
        self.call_start(server, exten, cid, body);
        self.wait_for(Duration::from_secs(5), |m| m.status() >= 200)
            .expect("final response")
    }

    /// Sends the INVITE, answers the 407 and sends it again with credentials; the final
    /// response is left to read.
    pub fn call_start(&self, server: SocketAddr, exten: &str, cid: &str, body: &str) {
        self.sip.send(
            server,
            self.invite(server, exten, cid, 1, "", body).as_bytes(),
        );
        let ch = self.sip.recv_final().expect("407");
        assert_eq!(ch.status(), 407, "{ch:?}");
        self.ack(server, &ch, cid, 1, &format!("z9hG4bK-{cid}-1"));
        let nonce = ch.auth_param("Proxy-Authenticate", "nonce").unwrap();
        let uri = format!("sip:{exten}@{server}");
        let auth = digest(
            &self.user,
            &self.password,
            "sipbox",
            &nonce,
            "INVITE",
            &uri,
            1,
        );
        let auth = format!("Proxy-Authorization: {auth}\r\n");
        self.sip.send(
            server,
            self.invite(server, exten, cid, 2, &auth, body).as_bytes(),
        );
    }

    /// ACKs a response to our INVITE (same branch for non-2xx, a new one for 2xx).
    pub fn ack(&self, server: SocketAddr, resp: &Msg, cid: &str, cseq: u32, branch: &str) {
        let ack = format!(
            "ACK sip:x@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            me = self.sip.addr,
            from = resp.header("From").unwrap(),
            to = resp.header("To").unwrap(),
        );
        self.sip.send(server, ack.as_bytes());
    }

    /// The dialog of our answered call.
    pub fn dialog_of(resp: &Msg, cseq: u32) -> Dialog {
        Dialog {
            call_id: resp.header("Call-ID").unwrap().into(),
            from: resp.header("From").unwrap().into(),
            to: resp.header("To").unwrap().into(),
            cseq,
            remote_media: sdp_addr(&resp.body),
        }
    }

    /// Answers a request `req` from sipbox with `status` (adding a To tag), optional SDP.
    pub fn respond(&self, server: SocketAddr, req: &Msg, status: u16, body: Option<&str>) {
        let to = req.header("To").unwrap();
        let to = if to.contains("tag=") {
            to.to_string()
        } else {
            format!("{to};tag=callee{}", self.user)
        };
        let mut r = format!("SIP/2.0 {status} X\r\n");
        for v in req.headers_named("Via") {
            r.push_str(&format!("Via: {v}\r\n"));
        }
        r.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:{}@{}>\r\n",
            req.header("From").unwrap(),
            req.header("Call-ID").unwrap(),
            req.header("CSeq").unwrap(),
            self.user,
            self.sip.addr
        ));
        match body {
            Some(b) => r.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            )),
            None => r.push_str("Content-Length: 0\r\n\r\n"),
        }
        self.sip.send(server, r.as_bytes());
    }

    /// Sends an in-dialog request (we are the caller side of `d`).
    pub fn in_dialog(&self, server: SocketAddr, d: &mut Dialog, method: &str, body: Option<&str>) {
        d.cseq += 1;
        let (ct, b) = match body {
            Some(b) => ("Content-Type: application/sdp\r\n", b),
            None => ("", ""),
        };
        let req = format!(
            "{method} sip:x@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-{m}-{c};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {c} {method}\r\n\
             Contact: <sip:{user}@{me}>\r\n{ct}Content-Length: {len}\r\n\r\n{b}",
            me = self.sip.addr,
            m = method.to_lowercase(),
            c = d.cseq,
            from = d.from,
            to = d.to,
            cid = d.call_id,
            user = self.user,
            len = b.len()
        );
        self.sip.send(server, req.as_bytes());
    }
}

/// Sends one RFC 4733 event (`event` 0-15, PT `pt`) to `to` as a phone does: three updates,
/// the first with the marker, then the end packet three times; all with timestamp `ts`.
pub fn send_dtmf(s: &UdpSocket, to: SocketAddr, pt: u8, event: u8, seq: u16, ts: u32) {
    for i in 0..6u16 {
        let end = i >= 3;
        let duration = 160 * (i.min(3) + 1);
        let mut payload = vec![event, if end { 0x80 | 10 } else { 10 }];
        payload.extend_from_slice(&duration.to_be_bytes());
        let mut p = rtp_packet(pt, seq.wrapping_add(i), ts, 0xD7F0, &payload);
        if i == 0 {
            p[1] |= 0x80;
        }
        s.send_to(&p, to).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Phone {
    /// ACKs our answered INVITE (CSeq `cseq`) with an SDP body: the answer to a late offer.
    pub fn ack_with_sdp(&self, server: SocketAddr, resp: &Msg, cseq: u32, body: &str) {
        let ack = format!(
            "ACK sip:x@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ack-{cseq}-sdp;rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} ACK\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{body}",
            me = self.sip.addr,
            from = resp.header("From").unwrap(),
            to = resp.header("To").unwrap(),
            cid = resp.header("Call-ID").unwrap(),
            len = body.len()
        );
        self.sip.send(server, ack.as_bytes());
    }
}

/// A number from the environment (`SIPBOX_LOAD_CALLS=...`), else `default`.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime of a process, in clock ticks (USER_HZ = 100).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}
