//! RTP, SDP and WAV helpers for the scripted UA: build and parse packets, write offers,
//! read the address and direction of an answer.
#![allow(dead_code)]

use super::fakenet::Datagram;
use std::net::SocketAddr;
use std::time::Instant;

/// An RTP packet as received: header fields and payload, with its arrival time.
#[derive(Debug, Clone)]
pub struct Rtp {
    pub at: Instant,
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

impl Rtp {
    /// Parses a received datagram; panics unless it is RTP.
    #[track_caller]
    pub fn parse(d: &Datagram) -> Rtp {
        let p = &d.bytes;
        assert!(p.len() >= 12 && p[0] >> 6 == 2, "not RTP: {p:?}");
        Rtp {
            at: d.at,
            marker: p[1] & 0x80 != 0,
            pt: p[1] & 0x7f,
            seq: u16::from_be_bytes([p[2], p[3]]),
            ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
            payload: p[12..].to_vec(),
        }
    }
}

/// One RTP packet: PT, sequence, timestamp, SSRC, payload.
pub fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, pt];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// The `m=audio` port and `c=` address of an SDP body.
#[track_caller]
pub fn sdp_addr(body: &str) -> SocketAddr {
    let ip = body
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap_or_else(|| panic!("c= line in {body:?}"))
        .trim();
    let port = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split_whitespace().next())
        .expect("m=audio line");
    format!("{ip}:{port}").parse().unwrap()
}

/// The direction attribute of an SDP body (sendrecv when absent).
pub fn sdp_direction(body: &str) -> &'static str {
    for d in ["sendonly", "recvonly", "inactive", "sendrecv"] {
        if body.lines().any(|l| l.trim() == format!("a={d}")) {
            return d;
        }
    }
    "sendrecv"
}

/// An SDP offer/answer for `rtp` with payload types `pts` (0, 8, 101 known).
pub fn sdp(rtp: SocketAddr, pts: &[u8], dir: &str) -> String {
    let fmts: Vec<String> = pts.iter().map(u8::to_string).collect();
    let mut s = format!(
        "v=0\r\no=phone 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {}\r\n",
        rtp.port(),
        fmts.join(" "),
        ip = rtp.ip()
    );
    for pt in pts {
        match pt {
            0 => s.push_str("a=rtpmap:0 PCMU/8000\r\n"),
            8 => s.push_str("a=rtpmap:8 PCMA/8000\r\n"),
            101 => s.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"),
            _ => {}
        }
    }
    s.push_str(&format!("a=ptime:20\r\na={dir}\r\n"));
    s
}

/// `samples` as an 8 kHz mono 16-bit PCM WAV file's bytes.
pub fn wav_bytes(samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut wav = Vec::with_capacity(44 + data.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [8000u32, 16000] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [2u16, 16] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    wav
}

/// Writes `samples` as an 8 kHz mono 16-bit PCM WAV.
pub fn write_wav(path: &std::path::Path, samples: &[i16]) {
    std::fs::write(path, wav_bytes(samples)).unwrap();
}
