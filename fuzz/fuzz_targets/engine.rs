//! Fuzz the whole engine with a sequence of datagrams, not only the parser: the input is cut
//! into datagrams (two length bytes each), each preceded by a byte choosing the source (four
//! phones, one of them a trunk) and the socket (SIP, or an RTP socket sipbox opened) and a
//! byte of clock advance. Between datagrams the harness plays the driver: binds succeed,
//! transmits are dropped, timers fire. At the end the clock runs 70 s on and every call,
//! transaction and RTP pair must be gone. Run with `cargo +nightly fuzz run engine`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipbox::engine::{Engine, Environment, SockId, SocketOp};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SIP_CONF: &str = "[general]\nbindaddr=127.0.0.1\ncontext=default\nallowguest=yes\n\
rtptimeout=5\n[phone](!)\ntype=friend\nhost=dynamic\ncontext=internal\n\
[1001](phone)\nsecret=1001pass\n[1002](phone)\n[trunk]\ntype=peer\nhost=127.0.0.1\nport=5090\n\
insecure=invite,port\ncontext=internal\n";
const EXTENSIONS: &str = "[default]\nexten => _X.,1,Answer()\n same => n,Echo()\n\
[internal]\nexten => _100X,1,Dial(SIP/${EXTEN},3)\n same => n,Hangup()\n\
exten => 600,1,Answer()\n same => n,Read(N,,2,,1,1)\n same => n,Playback(x)\n same => n,Hangup()\n";

fn service(engine: &mut Engine, socks: &mut Vec<SockId>) {
    while let Some(op) = engine.poll_socket_op() {
        match op {
            SocketOp::Bind { id, .. } => {
                socks.push(id);
                engine.socket_bound(id, true);
            }
            SocketOp::Close { id } => socks.retain(|s| *s != id),
        }
    }
    while engine.poll_transmit().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    let cfg = sipbox::config::load_str(SIP_CONF, EXTENSIONS, None).expect("config");
    let mut now = Instant::now();
    let local: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let (mut engine, _) = Engine::from_config(&cfg, local, Environment::fixed(now)).unwrap();
    let phones: [SocketAddr; 4] = [
        "127.0.0.1:5070".parse().unwrap(),
        "127.0.0.1:5072".parse().unwrap(),
        "127.0.0.1:5090".parse().unwrap(),
        "127.0.0.1:40000".parse().unwrap(),
    ];
    let mut socks = Vec::new();
    service(&mut engine, &mut socks);
    let mut rest = data;
    while rest.len() >= 4 {
        let (who, advance) = (rest[0], rest[1]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]) % 4096);
        rest = &rest[4..];
        let take = len.min(rest.len());
        let mut datagram = rest[..take].to_vec();
        rest = &rest[take..];
        now += Duration::from_millis(u64::from(advance) * 20);
        engine.handle_timeout(now);
        service(&mut engine, &mut socks);
        let from = phones[usize::from(who & 3)];
        let on = match (who >> 2) as usize {
            0 => SockId::SIP,
            n if !socks.is_empty() => socks[n % socks.len()],
            _ => SockId::SIP,
        };
        let _ = engine.handle_datagram(now, on, from, &mut datagram);
        service(&mut engine, &mut socks);
    }
    // Everything ends: rtptimeout (5 s), Dial (3 s), transaction timers (32 s), 2xx (32 s).
    for _ in 0..700 {
        now += Duration::from_millis(100);
        engine.handle_timeout(now);
        service(&mut engine, &mut socks);
    }
    let t = engine.table_sizes();
    assert_eq!((t.calls, t.server_transactions, t.client_transactions), (0, 0, 0), "{t:?}");
    assert_eq!(engine.media_pairs_in_use(), 0);
});
