//! The transports a scripted UA runs on: the fake network, or real UDP sockets on 127.0.0.1
//! towards a running binary.
#![allow(dead_code)]

use super::fakenet::{Datagram, FakeNet};
use super::Sipbox;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// What a UA needs from the network it lives on.
pub trait Wire {
    /// sipbox's SIP address.
    fn sipbox(&self) -> SocketAddr;
    /// A fresh local address for a UA.
    fn open(&mut self) -> SocketAddr;
    /// A fresh even/odd pair (RTP, RTCP).
    fn open_pair(&mut self) -> (SocketAddr, SocketAddr);
    /// Sends from one of our addresses.
    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]);
    /// The next datagram arriving at `at` within `wait` (virtual time on the fake net).
    fn recv(&mut self, at: SocketAddr, wait: Duration) -> Option<Datagram>;
    /// Lets `d` pass.
    fn pause(&mut self, d: Duration);
}

impl Wire for FakeNet {
    fn sipbox(&self) -> SocketAddr {
        self.sipbox
    }
    fn open(&mut self) -> SocketAddr {
        FakeNet::open(self)
    }
    fn open_pair(&mut self) -> (SocketAddr, SocketAddr) {
        FakeNet::open_pair(self)
    }
    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.deliver(from, to, bytes);
    }
    fn recv(&mut self, at: SocketAddr, wait: Duration) -> Option<Datagram> {
        FakeNet::recv(self, at, wait)
    }
    fn pause(&mut self, d: Duration) {
        self.advance(d);
    }
}

/// Real UDP sockets on 127.0.0.1 towards a running binary.
pub struct UdpWire {
    /// The binary's SIP address.
    pub sipbox: SocketAddr,
    socks: HashMap<SocketAddr, UdpSocket>,
}

impl UdpWire {
    /// Sockets talking to `sb`.
    pub fn to(sb: &Sipbox) -> UdpWire {
        UdpWire {
            sipbox: sb.addr,
            socks: HashMap::new(),
        }
    }

    fn keep(&mut self, s: UdpSocket) -> SocketAddr {
        let a = s.local_addr().unwrap();
        self.socks.insert(a, s);
        a
    }
}

impl Wire for UdpWire {
    fn sipbox(&self) -> SocketAddr {
        self.sipbox
    }
    fn open(&mut self) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        self.keep(s)
    }
    fn open_pair(&mut self) -> (SocketAddr, SocketAddr) {
        for _ in 0..200 {
            let a = UdpSocket::bind("127.0.0.1:0").unwrap();
            let p = a.local_addr().unwrap().port();
            if !p.is_multiple_of(2) || p == u16::MAX {
                continue;
            }
            if let Ok(b) = UdpSocket::bind(("127.0.0.1", p + 1)) {
                return (self.keep(a), self.keep(b));
            }
        }
        panic!("no RTP port pair");
    }
    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        assert!(to.ip().is_loopback(), "tests send only to loopback");
        self.socks[&from].send_to(bytes, to).unwrap();
    }
    fn recv(&mut self, at: SocketAddr, wait: Duration) -> Option<Datagram> {
        let s = &self.socks[&at];
        s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = vec![0u8; 65535];
        let (n, from) = s.recv_from(&mut buf).ok()?;
        buf.truncate(n);
        Some(Datagram {
            at: Instant::now(),
            from,
            bytes: buf,
        })
    }
    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}
