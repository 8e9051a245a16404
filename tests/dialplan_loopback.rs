//! The dialplan through the real binary: a test extensions.conf with contexts, `include =>`,
//! patterns, a literal beating a pattern, `GotoIf` on `${CALLERID(num)}` and `${DIALSTATUS}`,
//! `Set`, labels, `Goto`, and the `h` extension. SIPp callers (1001, authenticated) dial
//! several numbers at once; three SIPp callees registered as different sip.conf entries on
//! different ports check the Request-URI user they are called on, or the caller gets the
//! expected failure code.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::scen::{self, collect};
use common::sipp;
use common::*;
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

#[test]
fn calls_land_on_the_right_callee_or_code() {
    let sb = Sipbox::start(SIP_CONF, EXTENSIONS_CONF);
    let (pa, pb, pc) = (sipp::free_port(), sipp::free_port(), sipp::free_port());
    // Registering three callees with SIPp, in parallel.
    std::thread::scope(|s| {
        for (user, port) in [("2001", pa), ("2002", pb), ("2003", pc)] {
            let addr = sb.addr;
            s.spawn(move || sipp::register_at(addr, user, &format!("{user}pass"), port));
        }
    });
    let ua = scen::fill("uas_answer_check_ruri.xml.tmpl", &[("RUSER", "2001")]);
    let ub = scen::fill("uas_answer_check_ruri.xml.tmpl", &[("RUSER", "2002")]);
    let busy = sipp::scenario("uas_busy.xml");
    // Callee A: 2001, %32001, 1555 (literal beats _1[2-5]XX), 555 (GotoIf on CALLERID(num)).
    let callee_a = scen::spawn_callee(sb.addr, pa, &ua, 4, 25);
    // Callee B: 1300 (_1[2-5]XX beats _X., via ${SALES} from [globals]) and 301 (after busy).
    let callee_b = scen::spawn_callee(sb.addr, pb, &ub, 2, 25);
    // Callee C: busy, once (301's first Dial).
    let callee_c = scen::spawn_callee(sb.addr, pc, &busy, 1, 25);
    std::thread::sleep(Duration::from_millis(300));

    let answer = sipp::scenario("uac_auth_call.xml");
    let cases: Vec<(&str, Option<u16>)> = vec![
        ("2001", None),
        // matching is on the unescaped Request-URI user: %32001 is 2001
        ("%32001", None),
        ("1555", None),
        ("555", None),
        ("1300", None),
        ("301", None),
        ("556", Some(486)),
        ("17", Some(486)),
        ("1600", Some(503)),
        ("888", Some(486)),
        ("2009", Some(480)),
        ("nobody", Some(404)),
    ];
    let callers: Vec<_> = cases
        .iter()
        .map(|(num, fail)| {
            let sf = match fail {
                Some(code) => scen::failing_caller(*code),
                None => answer.clone(),
            };
            let child = scen::spawn_caller(sb.addr, &sf, num, "1001", "1001pass", &[], 20);
            std::thread::sleep(Duration::from_millis(50));
            (num, fail, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (num, fail, child) in callers {
        let (ok, _) = collect(&format!("caller of {num}"), child);
        if !ok {
            failures.push(format!("call to {num}: expected {fail:?}"));
        }
    }
    for (what, child) in [
        ("callee 2001", callee_a),
        ("callee 2002", callee_b),
        ("callee 2003 (busy)", callee_c),
    ] {
        if !collect(what, child).0 {
            failures.push(format!("{what} did not get exactly its calls"));
        }
    }
    let log = sb.log();
    let has = |s: &str| log.iter().any(|l| l.contains(s));
    if !has("literal 2001 in internal") {
        failures.push("Verbose of 2001 missing".into());
    }
    if !has("after busy dial DIALSTATUS=BUSY") {
        failures.push("DIALSTATUS=BUSY not seen after the busy Dial".into());
    }
    // h runs after every call that entered the dialplan, with the channel's variables (the
    // 404 for 'nobody' never started one, as in Asterisk).
    let h_lines = log.iter().filter(|l| l.contains("h ran for ")).count();
    if h_lines != cases.len() - 1 {
        failures.push(format!(
            "h ran {h_lines} times for {} calls",
            cases.len() - 1
        ));
    }
    if !has("dialstatus=ANSWER") || !has("dialstatus=CHANUNAVAIL") {
        failures.push("h did not see DIALSTATUS".into());
    }
    if !failures.is_empty() {
        let path = std::env::temp_dir().join("sipbox-dialplan-loopback.log");
        std::fs::write(&path, log.join("\n")).unwrap();
        panic!("{}\nlog in {}", failures.join("\n"), path.display());
    }
}
