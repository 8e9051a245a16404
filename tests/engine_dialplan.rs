//! The dialplan on the fake network: contexts, `include =>`, patterns, a literal beating a
//! pattern, `GotoIf` on `${CALLERID(num)}` and `${DIALSTATUS}`, `Set`, labels, `Goto`, and the
//! `h` extension. 1001 (authenticated) dials numbers; three phones registered as different
//! sip.conf entries record the Request-URI user they are called on (two answer, one is busy),
//! or the caller gets the expected failure code.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::fakenet::{FakeNet, LogCapture};
use common::ua::*;
use sipbox::sip::{Message, Method};
use std::time::Duration;

const SIP_CONF: &str = "\
[general]
bindaddr=127.0.0.1
bindport=0
context=default
allowguest=no
alwaysauthreject=yes
realm=sipbox

[phone](!)
type=friend
host=dynamic
context=internal
contactdeny=0.0.0.0/0.0.0.0
contactpermit=127.0.0.0/255.0.0.0

[1001](phone)
secret=1001pass

[2001](phone)
secret=2001pass

[2002](phone)
secret=2002pass

[2003](phone)
secret=2003pass

; never registered: a Dial to it fails with CHANUNAVAIL
[2009](phone)
secret=2009pass
";

const EXTENSIONS_CONF: &str = "\
[general]
autofallthrough=yes

[globals]
SALES=2002

[internal]
; the context's own extensions come before its includes
include => routes
exten => 2001,1,Verbose(1,literal 2001 in internal)
 same => n,Dial(SIP/2001,5)
 same => n,Hangup()
; GotoIf on the caller's number (1001 is the boss), then a label
exten => 555,1,GotoIf($[\"${CALLERID(num)}\" = \"1001\"]?boss)
 same => n,Busy()
 same => n(boss),Set(TARGET=2001)
 same => n,Dial(SIP/${TARGET},5)
; Set CALLERID(num) changes what the GotoIf above sees: not the boss, Busy -> 486
exten => 556,1,Set(CALLERID(num)=999)
 same => n,Goto(555,1)
; Hangup(17) is 'user busy' -> 486
exten => 17,1,Hangup(17)
; a Dial that fails (2009 is not registered), then off the end -> 480
exten => 2009,1,Dial(SIP/2009,2)
; a busy callee: DIALSTATUS drives a GotoIf to a second Dial that answers
exten => 301,1,Dial(SIP/2003,5)
 same => n,Verbose(1,after busy dial DIALSTATUS=${DIALSTATUS})
 same => n,GotoIf($[${DIALSTATUS} = BUSY]?busy:other)
 same => n(other),Hangup()
 same => n(busy),Set(N=$[${EXTEN} - 299])
 same => n,Dial(SIP/200${N},5)
exten => h,1,Log(NOTICE,h ran for ${SIPCALLID} dialstatus=${DIALSTATUS})

[routes]
include => loop
exten => _X.,1,Congestion()
exten => _1[2-5]XX,1,Dial(SIP/${SALES},5)
exten => 1555,1,Dial(SIP/2001,5)
exten => _NXX,1,Busy()

; an include loop must not hang the lookup
[loop]
include => routes
include => loop
";

/// A registered callee that answers (or is busy) and records the users it is called on.
struct Callee {
    ua: Ua,
    busy: bool,
    called_as: Vec<String>,
}

/// sipbox with 2001 and 2002 answering and 2003 busy.
struct Office {
    net: FakeNet,
    caller: Ua,
    callees: Vec<Callee>,
}

impl Office {
    fn new() -> Office {
        let mut net = FakeNet::new(SIP_CONF, EXTENSIONS_CONF);
        let callees = [("2001", false), ("2002", false), ("2003", true)]
            .into_iter()
            .map(|(u, busy)| Callee {
                ua: Ua::new(&mut net, u, &format!("{u}pass")).registered(&mut net),
                busy,
                called_as: Vec::new(),
            })
            .collect();
        let caller = Ua::new(&mut net, "1001", "1001pass");
        Office {
            net,
            caller,
            callees,
        }
    }

    /// Lets every callee handle what reached it.
    fn pump(&mut self) {
        for c in &mut self.callees {
            while let Some(d) = self.net.recv(c.ua.sip, Duration::ZERO) {
                let Ok(Message::Request(req)) = sipbox::sip::parse(&d.bytes) else {
                    continue;
                };
                match req.method() {
                    Method::Invite => {
                        c.called_as.push(
                            req.uri()
                                .to_string()
                                .trim_start_matches("sip:")
                                .split('@')
                                .next()
                                .unwrap_or_default()
                                .to_string(),
                        );
                        if c.busy {
                            c.ua.respond(&mut self.net, &req, 486, None);
                        } else {
                            c.ua.respond(&mut self.net, &req, 180, None);
                            let body = sdp(c.ua.rtp, &[0], "sendrecv");
                            c.ua.respond(&mut self.net, &req, 200, Some(&body));
                        }
                    }
                    Method::Bye | Method::Cancel => c.ua.respond(&mut self.net, &req, 200, None),
                    _ => {}
                }
            }
        }
    }

    /// The next final response to the caller, pumping the callees meanwhile.
    fn caller_final(&mut self) -> sipbox::sip::Response {
        let deadline = self.net.now + Duration::from_secs(30);
        while self.net.now < deadline {
            self.pump();
            if let Some(d) = self.net.recv(self.caller.sip, Duration::from_millis(10)) {
                if let Ok(Message::Response(r)) = sipbox::sip::parse(&d.bytes) {
                    if r.status() >= 200 {
                        return r;
                    }
                }
            }
        }
        panic!("no final response; log {:?}", self.net.log());
    }

    /// 1001 dials `num`: returns the final status; an answered call is ACKed and hung up.
    fn dial(&mut self, num: &str) -> u16 {
        let offer = sdp(self.caller.rtp, &[0], "sendrecv");
        let mut d = self.caller.call_start(&mut self.net, num, &offer);
        let r = self.caller_final();
        let status = r.status();
        if status >= 300 {
            self.caller.ack_failure(&mut self.net, &d, &r);
        } else {
            self.caller.learn_from(&mut d, &r);
            self.caller.ack(&mut self.net, &d, None);
            self.caller.in_dialog(&mut self.net, &mut d, "BYE", None);
            assert_eq!(self.caller_final().status(), 200, "BYE answered");
        }
        self.pump();
        status
    }

    fn called_as(&self, user: &str) -> Vec<String> {
        self.callees
            .iter()
            .find(|c| c.ua.user == user)
            .map(|c| c.called_as.clone())
            .unwrap_or_default()
    }
}

#[test]
fn literal_escaped_and_included_numbers_reach_2001() {
    let mut o = Office::new();
    assert_eq!(o.dial("2001"), 200);
    // matching is on the unescaped Request-URI user: %32001 is 2001
    assert_eq!(o.dial("%32001"), 200);
    // 1555 in [routes]: the literal beats _1[2-5]XX
    assert_eq!(o.dial("1555"), 200);
    assert_eq!(o.called_as("2001"), ["2001", "2001", "2001"]);
    assert!(o.called_as("2002").is_empty());
    let verbose = o
        .net
        .log()
        .iter()
        .filter(|l| l.starts_with("INFO") && l.ends_with(": literal 2001 in internal"))
        .count();
    assert_eq!(verbose, 2, "{:?}", o.net.log());
    o.net.assert_idle();
}

#[test]
fn gotoif_on_callerid_num_and_set_callerid() {
    let mut o = Office::new();
    assert_eq!(o.dial("555"), 200, "1001 is the boss: to 2001");
    assert_eq!(o.called_as("2001"), ["2001"]);
    assert_eq!(
        o.dial("556"),
        486,
        "CALLERID(num)=999 is not the boss: Busy"
    );
    assert_eq!(o.called_as("2001").len(), 1);
    o.net.assert_idle();
}

#[test]
fn patterns_globals_and_hangup_causes() {
    let mut o = Office::new();
    // _1[2-5]XX beats _X., and dials ${SALES} from [globals]
    assert_eq!(o.dial("1300"), 200);
    assert_eq!(o.called_as("2002"), ["2002"]);
    assert_eq!(o.dial("1600"), 503, "_X.: Congestion");
    assert_eq!(o.dial("888"), 486, "_NXX: Busy");
    assert_eq!(o.dial("17"), 486, "Hangup(17) is user busy");
    o.net.assert_idle();
}

#[test]
fn dialstatus_busy_drives_a_second_dial() {
    let mut o = Office::new();
    assert_eq!(o.dial("301"), 200);
    assert_eq!(o.called_as("2003"), ["2003"], "the busy callee first");
    assert_eq!(o.called_as("2002"), ["2002"], "then 200${{N}} = 2002");
    assert!(
        o.net.logged("after busy dial DIALSTATUS=BUSY"),
        "{:?}",
        o.net.log()
    );
    o.net.assert_idle();
}

#[test]
fn unregistered_target_is_480_and_no_extension_404() {
    let mut o = Office::new();
    assert_eq!(o.dial("2009"), 480);
    assert_eq!(o.dial("nobody"), 404);
    o.net.assert_idle();
}

#[test]
fn every_case_lands_right_and_h_runs_after_each_dialplan_call() {
    let mut o = Office::new();
    let cases: &[(&str, u16)] = &[
        ("2001", 200),
        ("%32001", 200),
        ("1555", 200),
        ("555", 200),
        ("1300", 200),
        ("301", 200),
        ("556", 486),
        ("17", 486),
        ("1600", 503),
        ("888", 486),
        ("2009", 480),
        ("nobody", 404),
    ];
    for (num, want) in cases {
        assert_eq!(o.dial(num), *want, "call to {num}");
    }
    // Each callee got exactly its calls.
    assert_eq!(o.called_as("2001").len(), 4);
    assert_eq!(o.called_as("2002").len(), 2);
    assert_eq!(o.called_as("2003").len(), 1);
    // h runs after every call that entered the dialplan, with the channel's variables (the
    // 404 for 'nobody' never started one, as in Asterisk).
    o.net.advance(Duration::from_secs(1));
    assert_eq!(LogCapture::count("h ran for "), cases.len() - 1);
    assert!(o.net.logged("dialstatus=ANSWER") && o.net.logged("dialstatus=CHANUNAVAIL"));
    o.net.assert_idle();
}

const SYSTEM_EXT: &str = "\
[internal]
exten => 700,1,Answer()
 same => n,System(touch /tmp/sipbox-never-run)
 same => n,Verbose(1,status ${SYSTEMSTATUS})
 same => n,TrySystem(false)
 same => n,Verbose(1,try ${SYSTEMSTATUS})
 same => n,TrySystem(no-such-command)
 same => n,Verbose(1,try again ${SYSTEMSTATUS})
 same => n,System(no-such-command)
 same => n,Verbose(1,not reached)
";

#[test]
fn system_waits_for_the_driver_and_sets_systemstatus() {
    let mut net = FakeNet::new(SIP_CONF, SYSTEM_EXT);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "700");
    let (id, cmd) = net.jobs.pop().expect("a job for System()");
    assert_eq!(cmd, "touch /tmp/sipbox-never-run");
    assert!(!net.logged("status "), "the dialplan waits for the command");
    net.complete_job(id, sipbox::engine::JobOutcome::Exited(0));
    assert!(net.logged("status SUCCESS"), "{:?}", net.log());
    let (id, cmd) = net.jobs.pop().expect("TrySystem's job");
    assert_eq!(cmd, "false");
    net.complete_job(id, sipbox::engine::JobOutcome::Exited(1));
    assert!(net.logged("try APPERROR"));
    let (id, _) = net.jobs.pop().unwrap();
    net.complete_job(id, sipbox::engine::JobOutcome::Exited(127));
    assert!(
        net.logged("try again FAILURE"),
        "TrySystem goes on after FAILURE"
    );
    let (id, _) = net.jobs.pop().unwrap();
    net.complete_job(id, sipbox::engine::JobOutcome::Failed);
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    assert!(!net.logged("not reached"), "System hangs up on FAILURE");
    net.assert_idle();
}

const AVAIL_EXT: &str = "\
[internal]
exten => 720,1,Answer()
 same => n,ChanIsAvail(SIP/2009&SIP/2002&SIP/2001)
 same => n,Verbose(1,first ${AVAILCHAN} status ${AVAILSTATUS})
 same => n,ChanIsAvail(SIP/2009&SIP/2002&SIP/2001&IAX2/x,a)
 same => n,Verbose(1,all ${AVAILCHAN})
 same => n,ChanIsAvail(SIP/2009&SIP/nobody)
 same => n,Verbose(1,none '${AVAILCHAN}' status ${AVAILSTATUS})
 same => n,Hangup()
";

#[test]
fn chanisavail_reports_registered_entries() {
    let mut net = FakeNet::new(SIP_CONF, AVAIL_EXT);
    let _b = Ua::new(&mut net, "2002", "2002pass").registered(&mut net);
    let _c = Ua::new(&mut net, "2001", "2001pass").registered(&mut net);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "720");
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    // 2009 never registered: unavailable; 2002 and 2001 are.
    assert!(net.logged("first SIP/2002 status 1"), "{:?}", net.log());
    assert!(net.logged("all SIP/2002&SIP/2001"));
    assert!(
        net.logged("none '' status 4"),
        "an unknown entry is invalid"
    );
}

#[test]
fn astdb_changes_reach_the_driver_from_the_dialplan_and_the_h_extension() {
    let ext = "[internal]\nexten => 730,1,Answer()\n same => n,Set(DB(cf/1001)=2000)\n \
               same => n,Wait(10)\nexten => h,1,DBdel(cf/1001)\n";
    let mut net = FakeNet::new(SIP_CONF, ext);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let mut d = a.call_answered(&mut net, "730");
    assert_eq!(net.db_ops.len(), 1, "{:?}", net.db_ops);
    a.hang_up(&mut net, &mut d);
    assert_eq!(
        net.db_ops.len(),
        2,
        "the h extension's DBdel too: {:?}",
        net.db_ops
    );
}

const SHELL_EXT: &str = "\
[internal]
exten => 710,1,Answer()
 same => n,Set(X=${SHELL(echo bar)}-${SHELL(echo baz)}-${SHELL(echo bar)})
 same => n,Verbose(1,x is ${X})
 same => n,Verbose(1,empty [${SHELL()}])
 same => n,Set(Y=${SHELL(exit 3)})
 same => n,Verbose(1,y is [${Y}])
 same => n,Hangup()
";

#[test]
fn shell_waits_for_the_output_then_substitutes_the_priority_again() {
    let mut net = FakeNet::new(SIP_CONF, SHELL_EXT);
    let mut a = Ua::new(&mut net, "1001", "1001pass");
    let _d = a.call_answered(&mut net, "710");
    let (id, cmd) = net.jobs.pop().expect("a job for SHELL()");
    assert_eq!(cmd, "echo bar");
    assert!(!net.logged("x is"), "the priority waits for the output");
    net.complete_job(id, sipbox::engine::JobOutcome::Output(Some("bar".into())));
    let (id, cmd) = net.jobs.pop().expect("the second SHELL()");
    assert_eq!(cmd, "echo baz");
    net.complete_job(id, sipbox::engine::JobOutcome::Output(Some("baz".into())));
    // The same command twice in one priority runs once.
    assert!(net.logged("x is bar-baz-bar"), "{:?}", net.log());
    assert!(net.logged("empty []"));
    assert!(net.logged("SHELL(): missing argument"), "{:?}", net.log());
    // A command that could not run reads empty.
    let (id, cmd) = net.jobs.pop().expect("SHELL(exit 3)");
    assert_eq!(cmd, "exit 3");
    net.complete_job(id, sipbox::engine::JobOutcome::Output(None));
    assert!(net.logged("y is []"));
    assert!(net.jobs.is_empty());
    let bye = a.request(&mut net, Method::Bye);
    a.respond(&mut net, &bye, 200, None);
    net.assert_idle();
}
