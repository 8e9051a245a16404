//! Registrations across a restart, on the fake clock: the store operations the registrar's
//! changes become (register, refresh, unregister, expiry, `*`), and bindings read back at
//! start restored with the lifetime they had left (wall clock), expired and stale ones
//! deleted, and a call reaching a restored phone without it registering again.
#![allow(clippy::disallowed_methods)] // tests may read clocks, files, OS entropy

mod common;
use common::engine_net::{Net, Phone};
use sipbox::sip::Method;
use sipbox::store::{StoreOp, StoredBinding};
use std::time::Duration;

const SIP_CONF: &str = "\
[general]
context=default
allowguest=no
minexpiry=60

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
[1002](phone)
[static]
type=peer
host=127.0.0.1
";

const EXTENSIONS: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
";

/// `Environment::fixed`'s wall clock at the fake start.
const T0: u64 = 1_767_225_600;

fn put(op: &StoreOp) -> &StoredBinding {
    match op {
        StoreOp::Put(b) => b,
        other => panic!("expected a Put, got {other:?}"),
    }
}

#[test]
fn register_refresh_unregister_and_expiry_become_store_ops() {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let mut b = Phone::new("1002", 6002);
    let reg = b.register(net.sipbox, 300).replace(
        "Expires: 300\r\n",
        "Expires: 300\r\nUser-Agent: deskphone 1.0\r\n",
    );
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    assert_eq!(net.store_ops.len(), 1, "{:?}", net.store_ops);
    let s = put(&net.store_ops[0]).clone();
    assert_eq!(
        s,
        StoredBinding {
            aor: "1002".into(),
            contact: "sip:1002@127.0.0.1:6002".into(),
            remote: b.addr,
            transport: "udp".into(),
            expires_unix: T0 + 300,
            user_agent: "deskphone 1.0".into(),
            path: String::new(),
            call_id: "reg-1002".into(),
            cseq: 1,
        }
    );
    // A refresh 100 s later moves the absolute expiry.
    net.advance(Duration::from_secs(100));
    net.store_ops.clear();
    let reg = b.register(net.sipbox, 300);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    assert_eq!(net.store_ops.len(), 1);
    assert_eq!(put(&net.store_ops[0]).expires_unix, T0 + 400);
    assert_eq!(put(&net.store_ops[0]).cseq, 2);
    // Unregister: a Remove.
    net.store_ops.clear();
    let unreg = b.register(net.sipbox, 0);
    net.send(b.addr, &unreg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    assert_eq!(
        net.store_ops,
        vec![StoreOp::Remove {
            aor: "1002".into(),
            contact: "sip:1002@127.0.0.1:6002".into()
        }]
    );
    // Registered again, then left to expire: a Remove when the timer fires, none before.
    net.store_ops.clear();
    let reg = b.register(net.sipbox, 60);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    assert_eq!(net.store_ops.len(), 1);
    net.advance(Duration::from_secs(59));
    assert_eq!(net.store_ops.len(), 1, "nothing before the expiry");
    net.advance(Duration::from_secs(2));
    assert!(
        matches!(&net.store_ops[1], StoreOp::Remove { aor, .. } if aor == "1002"),
        "{:?}",
        net.store_ops
    );
    assert_eq!(net.store_ops.len(), 2);
    assert_eq!(net.engine.table_sizes().bindings, 0);
}

#[test]
fn a_refused_register_writes_nothing() {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let mut s = Phone::new("static", 6009);
    let reg = s.register(net.sipbox, 300);
    net.send(s.addr, &reg);
    assert_eq!(net.recv_response(s.addr).status(), 403, "not host=dynamic");
    let mut x = Phone::new("nobody", 6008);
    let reg = x.register(net.sipbox, 300);
    net.send(x.addr, &reg);
    assert_eq!(net.recv_response(x.addr).status(), 401, "alwaysauthreject");
    assert!(net.store_ops.is_empty(), "{:?}", net.store_ops);
}

fn stored(aor: &str, port: u16, expires_unix: u64) -> StoredBinding {
    StoredBinding {
        aor: aor.into(),
        contact: format!("sip:{aor}@127.0.0.1:{port}"),
        remote: format!("127.0.0.1:{port}").parse().unwrap(),
        transport: "udp".into(),
        expires_unix,
        user_agent: "ua".into(),
        path: String::new(),
        call_id: format!("reg-{aor}"),
        cseq: 7,
    }
}

#[test]
fn restored_bindings_keep_their_remaining_lifetime_and_take_calls() {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let now = net.now;
    let rows = vec![
        stored("1002", 6002, T0 + 100),
        stored("1001", 6001, T0 - 5),
        stored("gone", 6003, T0 + 500),
        stored("static", 6004, T0 + 500),
    ];
    let r = net.engine.restore_bindings(now, rows, false);
    assert_eq!((r.restored, r.expired, r.dropped), (1, 1, 2));
    net.service();
    // The restored row is on disk already; the three others are deleted.
    assert_eq!(net.store_ops.len(), 3, "{:?}", net.store_ops);
    assert!(net
        .store_ops
        .iter()
        .all(|op| matches!(op, StoreOp::Remove { aor, .. } if aor != "1002")));
    let b = &net.engine.registrar().bindings("1002")[0];
    assert_eq!(b.expires_at, now + Duration::from_secs(100));
    assert_eq!((b.user_agent.as_str(), b.cseq), ("ua", 7));
    // A call to 1002 goes to the stored address without any REGISTER.
    let mut a = Phone::new("1001", 6001);
    let (inv, _, _) = a.invite(net.sipbox, "1002");
    net.send(a.addr, &inv);
    assert_eq!(net.recv_response(a.addr).status(), 100);
    let out = net.recv_request("127.0.0.1:6002".parse().unwrap());
    assert_eq!(*out.method(), Method::Invite);
    // The same REGISTER (Call-ID, CSeq) as before the restart is out of order (§10.3).
    let mut b2 = Phone::new("1002", 6002);
    let stale = b2
        .register(net.sipbox, 300)
        .replace("CSeq: 1 REGISTER", "CSeq: 7 REGISTER");
    net.send(b2.addr, &stale);
    assert_eq!(net.recv_non_trying(b2.addr).status(), 500);
    // It expires when its remaining 100 s are up.
    net.store_ops.clear();
    net.advance(Duration::from_secs(101));
    assert!(net.engine.registrar().bindings("1002").is_empty());
    assert!(net
        .store_ops
        .iter()
        .any(|op| matches!(op, StoreOp::Remove { aor, .. } if aor == "1002")));
}

#[test]
fn imported_chan_sip_registrations_are_written_to_the_store() {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let now = net.now;
    let row = sipbox::store::parse_asterisk_registry(
        "1001",
        "127.0.0.1:6001:3600:1001:sip:1001@127.0.0.1:6001",
        T0,
    )
    .unwrap();
    let r = net.engine.restore_bindings(now, vec![row], true);
    assert_eq!(r.restored, 1);
    net.service();
    assert_eq!(net.store_ops.len(), 1);
    assert_eq!(put(&net.store_ops[0]).expires_unix, T0 + 3600);
}

#[test]
fn restore_stops_at_the_registrar_bound() {
    let conf = SIP_CONF.replace("minexpiry=60", "minexpiry=60\nmaxregistrations=1");
    let mut net = Net::new(&conf, EXTENSIONS);
    let now = net.now;
    let rows = vec![
        stored("1001", 6001, T0 + 100),
        stored("1002", 6002, T0 + 100),
    ];
    let r = net.engine.restore_bindings(now, rows, false);
    assert_eq!((r.restored, r.dropped), (1, 1));
    assert_eq!(net.engine.table_sizes().bindings, 1);
}
