//! Call records per outcome on the fake clock, compared field by field with what Asterisk
//! 12+ writes for the same call (its `main/cdr.c` state machine: one record per caller/callee
//! pairing, `dial_status_to_disposition`, the `unanswered` filter; see `src/call/cdr.rs`).
//! `Environment::fixed` puts the start at 2026-01-01 00:00:00 UTC.
#![allow(clippy::disallowed_methods)] // tests may read clocks, files, OS entropy

mod common;
use common::engine_net::{answer, Net, Phone};
use sipbox::cdr::{AmaFlags, CdrRecord, Disposition};
use sipbox::config::cdr_conf::CdrConf;
use sipbox::sip::Request;
use std::time::{Duration, SystemTime};

const SIP_CONF: &str = "\
[general]
context=default
allowguest=no

[phone](!)
type=friend
host=dynamic
context=internal

[1001](phone)
accountcode=acct1
[1002](phone)
[1003](phone)
amaflags=billing
";

const EXTENSIONS: &str = "\
[internal]
exten => 1002,1,Dial(SIP/1002,20)
 same => n,Hangup()
exten => 2000,1,Dial(SIP/1002&SIP/1003,20)
 same => n,Hangup()
exten => 700,1,Hangup(17)
exten => 701,1,Answer()
 same => n,Set(CDR(userfield)=vip)
 same => n,Wait(5)
 same => n,Hangup()
exten => 702,1,NoCDR()
 same => n,Answer()
 same => n,Hangup()
exten => 703,1,Set(CDR(accountcode)=changed)
 same => n,Set(CDR(src)=nope)
 same => n,Dial(SIP/1002,20)
";

const T0: u64 = 1_767_225_600;

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + s)
}

/// The record Asterisk writes for 1001 calling `dst` with callee channel `dstchannel`.
fn base(dst: &str, dstchannel: &str, lastdata: &str) -> CdrRecord {
    CdrRecord {
        accountcode: "acct1".into(),
        src: "1001".into(),
        dst: dst.into(),
        dcontext: "internal".into(),
        clid: "\"\" <1001>".into(),
        channel: "SIP/1001-00000001".into(),
        dstchannel: dstchannel.into(),
        lastapp: "Dial".into(),
        lastdata: lastdata.into(),
        start: at(0),
        answer: None,
        end: at(0),
        duration: 0,
        billsec: 0,
        disposition: Disposition::NoAnswer,
        amaflags: AmaFlags::Documentation,
        uniqueid: format!("{T0}.1").into(),
        userfield: "".into(),
    }
}

struct Scene {
    net: Net,
    a: Phone,
    b: Phone,
    c: Phone,
}

fn scene(conf: CdrConf) -> Scene {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    net.engine.set_cdr(conf);
    let a = Phone::new("1001", 6001);
    let mut b = Phone::new("1002", 6002);
    let mut c = Phone::new("1003", 6003);
    for p in [&mut b, &mut c] {
        let reg = p.register(net.sipbox, 3600);
        net.send(p.addr, &reg);
        assert_eq!(net.recv_response(p.addr).status(), 200);
    }
    Scene { net, a, b, c }
}

impl Scene {
    /// 1001 calls `exten`; the INVITE text.
    fn call(&mut self, exten: &str) -> String {
        let (inv, _, _) = self.a.invite(self.net.sipbox, exten);
        self.net.send(self.a.addr, &inv);
        inv
    }

    fn ringing(&mut self, at: std::net::SocketAddr) -> Request {
        let out = self.net.recv_request(at);
        self.net.send(at, &answer(&out, 180, "t", at, false));
        out
    }

    fn hang_up_answered(&mut self, inv: &str) {
        let ok = loop {
            let r = self.net.recv_non_trying(self.a.addr);
            if r.status() != 180 {
                break r;
            }
        };
        assert_eq!(ok.status(), 200);
        let ack = self.a.ack_2xx(inv, &ok);
        self.net.send(self.a.addr, &ack);
        self.net.advance(Duration::from_secs(10));
        let bye = self.a.bye_as_caller(inv, &ok);
        self.net.send(self.a.addr, &bye);
        self.net.advance(Duration::from_secs(40));
    }
}

#[test]
fn answered_one_row_with_both_channels() {
    let mut s = scene(CdrConf::default());
    let inv = s.call("1002");
    let b = s.b.addr;
    let out = s.ringing(b);
    s.net.advance(Duration::from_secs(3));
    s.net.send(b, &answer(&out, 200, "t", b, true));
    s.hang_up_answered(&inv);
    let want = CdrRecord {
        answer: Some(at(3)),
        end: at(13),
        duration: 13,
        billsec: 10,
        disposition: Disposition::Answered,
        ..base("1002", "SIP/1002-00000002", "SIP/1002,20")
    };
    assert_eq!(s.net.cdrs, vec![want]);
}

#[test]
fn busy_one_row_busy_and_the_hangup_after_it_only_with_unanswered() {
    for unanswered in [false, true] {
        let mut s = scene(CdrConf {
            unanswered,
            ..CdrConf::default()
        });
        s.call("1002");
        let b = s.b.addr;
        let out = s.ringing(b);
        s.net.advance(Duration::from_secs(2));
        s.net.send(b, &answer(&out, 486, "t", b, false));
        s.net.advance(Duration::from_secs(40));
        let busy = CdrRecord {
            end: at(2),
            duration: 2,
            disposition: Disposition::Busy,
            ..base("1002", "SIP/1002-00000002", "SIP/1002,20")
        };
        // Asterisk opens a record for the Hangup() that runs after the finished Dial
        // (`finalized_state_process_party_a`); without a callee and unanswered, only
        // `unanswered=yes` writes it.
        let mut want = vec![busy];
        if unanswered {
            want.push(CdrRecord {
                lastapp: "Hangup".into(),
                lastdata: "".into(),
                start: at(2),
                end: at(2),
                duration: 0,
                disposition: Disposition::Busy,
                ..base("1002", "", "")
            });
        }
        assert_eq!(s.net.cdrs, want, "unanswered={unanswered}");
    }
}

#[test]
fn no_answer_after_the_dial_timeout() {
    let mut s = scene(CdrConf::default());
    s.call("1002");
    let b = s.b.addr;
    s.ringing(b);
    s.net.advance(Duration::from_secs(60));
    let want = CdrRecord {
        end: at(20),
        duration: 20,
        disposition: Disposition::NoAnswer,
        ..base("1002", "SIP/1002-00000002", "SIP/1002,20")
    };
    assert_eq!(s.net.cdrs, vec![want]);
}

#[test]
fn cancelled_by_the_caller_is_no_answer() {
    let mut s = scene(CdrConf::default());
    let inv = s.call("1002");
    let b = s.b.addr;
    s.ringing(b);
    s.net.advance(Duration::from_secs(4));
    let cancel = s.a.cancel(&inv);
    s.net.send(s.a.addr, &cancel);
    s.net.advance(Duration::from_secs(40));
    let want = CdrRecord {
        end: at(4),
        duration: 4,
        disposition: Disposition::NoAnswer,
        ..base("1002", "SIP/1002-00000002", "SIP/1002,20")
    };
    assert_eq!(s.net.cdrs, vec![want]);
}

#[test]
fn congestion_is_failed_unless_congestion_yes() {
    for congestion in [false, true] {
        let mut s = scene(CdrConf {
            congestion,
            ..CdrConf::default()
        });
        s.call("1002");
        let b = s.b.addr;
        let out = s.net.recv_request(b);
        s.net.send(b, &answer(&out, 503, "t", b, false));
        s.net.advance(Duration::from_secs(40));
        let disposition = if congestion {
            Disposition::Congestion
        } else {
            Disposition::Failed
        };
        let mut want = vec![CdrRecord {
            disposition,
            ..base("1002", "SIP/1002-00000002", "SIP/1002,20")
        }];
        // CONGESTION ranks above ANSWERED in `ast_cdr_disposition`, so the `unanswered`
        // filter lets the record of the Hangup() after the Dial through.
        if congestion {
            want.push(CdrRecord {
                lastapp: "Hangup".into(),
                lastdata: "".into(),
                disposition,
                ..base("1002", "", "")
            });
        }
        assert_eq!(s.net.cdrs, want, "congestion={congestion}");
    }
}

#[test]
fn a_call_that_never_dials_is_written_only_with_unanswered_yes() {
    let mut s = scene(CdrConf::default());
    s.call("700");
    s.net.advance(Duration::from_secs(40));
    assert!(s.net.cdrs.is_empty(), "{:?}", s.net.cdrs);
    let mut s = scene(CdrConf {
        unanswered: true,
        ..CdrConf::default()
    });
    s.call("700");
    s.net.advance(Duration::from_secs(40));
    let want = CdrRecord {
        lastapp: "Hangup".into(),
        lastdata: "17".into(),
        disposition: Disposition::Busy,
        ..base("700", "", "")
    };
    assert_eq!(s.net.cdrs, vec![want]);
}

#[test]
fn answered_by_the_dialplan_with_a_userfield() {
    let mut s = scene(CdrConf::default());
    let inv = s.call("701");
    let ok = s.net.recv_non_trying(s.a.addr);
    assert_eq!(ok.status(), 200);
    let ack = s.a.ack_2xx(&inv, &ok);
    s.net.send(s.a.addr, &ack);
    s.net.advance(Duration::from_secs(40));
    let want = CdrRecord {
        lastapp: "Hangup".into(),
        lastdata: "".into(),
        answer: Some(at(0)),
        end: at(5),
        duration: 5,
        billsec: 5,
        disposition: Disposition::Answered,
        userfield: "vip".into(),
        ..base("701", "", "")
    };
    assert_eq!(s.net.cdrs, vec![want]);
}

#[test]
fn nocdr_writes_nothing_and_read_only_fields_stay() {
    let mut s = scene(CdrConf::default());
    s.call("702");
    s.net.advance(Duration::from_secs(40));
    assert!(s.net.cdrs.is_empty(), "{:?}", s.net.cdrs);
    let mut s = scene(CdrConf::default());
    let inv = s.call("703");
    let b = s.b.addr;
    let out = s.ringing(b);
    s.net.send(b, &answer(&out, 200, "t", b, true));
    s.hang_up_answered(&inv);
    assert_eq!(s.net.cdrs.len(), 1);
    assert_eq!(s.net.cdrs[0].accountcode, "changed");
    assert_eq!(s.net.cdrs[0].src, "1001", "CDR(src) is read-only");
    assert!(s.net.logged("read-only CDR variable"));
}

#[test]
fn two_phones_rung_two_rows_in_dial_order() {
    let mut s = scene(CdrConf::default());
    let inv = s.call("2000");
    let (b, c) = (s.b.addr, s.c.addr);
    s.ringing(b);
    let out_c = s.ringing(c);
    s.net.advance(Duration::from_secs(2));
    s.net.send(c, &answer(&out_c, 200, "t", c, true));
    s.hang_up_answered(&inv);
    let b_row = CdrRecord {
        end: at(2),
        duration: 2,
        disposition: Disposition::NoAnswer,
        ..base("2000", "SIP/1002-00000002", "SIP/1002&SIP/1003,20")
    };
    let c_row = CdrRecord {
        answer: Some(at(2)),
        end: at(12),
        duration: 12,
        billsec: 10,
        disposition: Disposition::Answered,
        ..base("2000", "SIP/1003-00000003", "SIP/1002&SIP/1003,20")
    };
    assert_eq!(s.net.cdrs, vec![b_row, c_row]);
}
