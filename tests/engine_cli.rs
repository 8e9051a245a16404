//! The admin CLI against the engine on the fake network: a registered phone, a call up, and
//! what `sip show peers`, `core show channels`, `sip show channel`, `channel request hangup`,
//! `database put/get`, `sip set debug`, `core stop gracefully` and bad input answer and do.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::engine_net::{answer, Net, Phone};
use common::fakenet::LogCapture;
use sipbox::cli::Levels;
use sipbox::engine::ForDriver;
use sipbox::sip::Method;
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
call-limit=2
[trunk]
type=peer
host=127.0.0.1
port=5099
qualify=yes
";

const EXTENSIONS: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
exten => 600,1,Answer()
 same => n,Wait(10)
";

fn cli(net: &mut Net, line: &str) -> String {
    let now = net.now;
    net.engine.cli(now, line, Levels::default()).text
}

fn setup() -> (Net, Phone, Phone) {
    let mut net = Net::new(SIP_CONF, EXTENSIONS);
    let a = Phone::new("1001", 6001);
    let mut b = Phone::new("1002", 6002);
    let reg = b.register(net.sipbox, 300);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    (net, a, b)
}

/// 1001 calls 1002, 1002 answers: returns the caller's INVITE text and the 200 it got.
fn call_up(net: &mut Net, a: &mut Phone, b: &Phone) -> (String, sipbox::sip::Response) {
    let (inv, _, _) = a.invite(net.sipbox, "1002");
    net.send(a.addr, &inv);
    assert_eq!(net.recv_response(a.addr).status(), 100);
    let out = net.recv_request(b.addr);
    net.send(b.addr, &answer(&out, 180, "bt", b.addr, false));
    assert_eq!(net.recv_response(a.addr).status(), 180);
    net.send(b.addr, &answer(&out, 200, "bt", b.addr, true));
    let ok = net.recv_response(a.addr);
    assert_eq!(ok.status(), 200);
    assert_eq!(*net.recv_request(b.addr).method(), Method::Ack);
    net.send(a.addr, &a.ack_2xx(&inv, &ok));
    (inv, ok)
}

#[test]
fn sip_show_peers_lists_the_registered_phone_in_asterisks_columns() {
    let (mut net, _a, b) = setup();
    let out = cli(&mut net, "sip show peers");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Name/username             Host"),
        "{out}"
    );
    for col in [
        "Dyn",
        "Forcerport",
        "Comedia",
        "ACL",
        "Port",
        "Status",
        "Description",
    ] {
        assert!(lines[0].contains(col), "{col}: {out}");
    }
    let row = lines
        .iter()
        .find(|l| l.starts_with("1002/1002"))
        .expect(&out);
    assert!(row.contains(&b.addr.ip().to_string()), "{row}");
    assert!(row.contains(" D "), "dynamic: {row}");
    assert!(row.contains(&b.addr.port().to_string()), "{row}");
    assert!(row.contains("Unmonitored"), "{row}");
    let unregistered = lines.iter().find(|l| l.starts_with("1001 ")).expect(&out);
    assert!(unregistered.contains("(Unspecified)"), "{unregistered}");
    let trunk = lines.iter().find(|l| l.starts_with("trunk ")).expect(&out);
    assert!(
        trunk.contains("UNKNOWN") && trunk.contains("5099"),
        "{trunk}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        "3 sip peers [Monitored: 0 online, 1 offline Unmonitored: 1 online, 1 offline]"
    );
    let peer = cli(&mut net, "sip show peer 1002");
    assert!(peer.contains("  * Name       : 1002"), "{peer}");
    assert!(
        peer.contains(&format!("Addr->IP     : {}", b.addr)),
        "{peer}"
    );
    assert!(peer.contains("Call limit   : 2"), "{peer}");
    assert!(peer.contains("Sess-Timers  : Originate"), "{peer}");
    assert!(peer.contains("Sess-Expires : 1800 secs"), "{peer}");
    assert!(peer.contains("Min-Sess     : 90 secs"), "{peer}");
    assert_eq!(
        cli(&mut net, "sip show peer nobody"),
        "Peer nobody not found.\n"
    );
    let users = cli(&mut net, "sip show users");
    assert!(users.starts_with("Username"), "{users}");
    assert!(
        users.contains("1001") && !users.contains("trunk"),
        "{users}"
    );
    let reg = cli(&mut net, "sip show registry");
    assert!(
        reg.starts_with("Host ") && reg.contains("Reg.Time"),
        "{reg}"
    );
    assert!(reg.ends_with("0 SIP registrations.\n"), "{reg}");
    let inuse = cli(&mut net, "sip show inuse");
    assert!(
        inuse.contains("* Peer name") && inuse.contains("1002"),
        "{inuse}"
    );
    assert!(
        !inuse.contains("1001"),
        "no call-limit, not listed without 'all': {inuse}"
    );
    assert!(cli(&mut net, "sip show inuse all").contains("1001"));
    assert!(cli(&mut net, "sip show settings").contains("Realm. (Auth.)"));
}

#[test]
fn a_call_shows_in_core_show_channels_and_sip_show_channel_and_hangup_ends_it() {
    LogCapture::install();
    let (mut net, mut a, b) = setup();
    let (_inv, ok) = call_up(&mut net, &mut a, &b);
    let chans = cli(&mut net, "core show channels");
    let lines: Vec<&str> = chans.lines().collect();
    assert!(lines[0].starts_with("Channel              Location             State   Application"));
    let caller = lines
        .iter()
        .find(|l| l.starts_with("SIP/1001-"))
        .expect(&chans);
    assert!(
        caller.contains("1002@internal:1") && caller.contains("Up"),
        "{caller}"
    );
    assert!(caller.contains("Dial(SIP/1002,20)"), "{caller}");
    let callee = lines
        .iter()
        .find(|l| l.starts_with("SIP/1002-"))
        .expect(&chans);
    assert!(callee.contains("AppDial((Outgoing Line))"), "{callee}");
    assert!(
        chans.contains("2 active channels\n1 active call\n1 call processed\n"),
        "{chans}"
    );
    let name = caller.split_whitespace().next().unwrap().to_string();
    assert_eq!(name, "SIP/1001-00000001", "Asterisk's channel names");
    // The verbose lines an admin reads.
    for line in [
        "Executing [1002@internal:1] Dial(\"SIP/1001-00000001\", \"SIP/1002,20\") in new stack",
        "Called SIP/1002",
        "SIP/1002-00000002 is ringing",
        "SIP/1002-00000002 answered SIP/1001-00000001",
        "Registered SIP '1002' at ",
    ] {
        assert!(net.logged(line), "{line}: {:?}", net.log());
    }
    let concise = cli(&mut net, "core show channels concise");
    assert!(
        concise.starts_with("SIP/1001-00000001!internal!1002!1!Up!Dial!SIP/1002,20!"),
        "{concise}"
    );
    let verbose = cli(&mut net, "core show channels verbose");
    assert!(
        verbose.contains("BridgeID") && verbose.contains("SIP/1002-00000002"),
        "{verbose}"
    );
    assert_eq!(
        cli(&mut net, "core show calls"),
        "1 active call\n1 call processed\n"
    );

    let call_id = ok.call_id().to_string();
    let sip_chans = cli(&mut net, "sip show channels");
    assert!(
        sip_chans.starts_with("Peer             User/ANR"),
        "{sip_chans}"
    );
    assert!(sip_chans.ends_with("2 active SIP dialogs\n"), "{sip_chans}");
    let one = cli(&mut net, &format!("sip show channel {}", &call_id[..6]));
    assert!(one.contains("* SIP Call"), "{one}");
    assert!(
        one.contains(&format!("Call-ID:                {call_id}")),
        "{one}"
    );
    assert!(
        one.contains("Owner channel ID:       SIP/1001-00000001"),
        "{one}"
    );
    assert!(one.contains("Curr. trans. direction: Incoming"), "{one}");
    assert_eq!(
        cli(&mut net, "sip show channel nosuchcall"),
        "No such SIP Call ID starting with 'nosuchcall'\n"
    );

    // Bad arguments change nothing.
    assert!(cli(&mut net, "channel request hangup").starts_with("Usage: channel request hangup"));
    assert_eq!(
        cli(&mut net, "channel request hangup SIP/9999-00000009"),
        "SIP/9999-00000009 is not a known channel\n"
    );
    assert_eq!(net.engine.calls_up(), 1);
    assert!(net.quiet(a.addr) && net.quiet(b.addr));

    assert_eq!(
        cli(&mut net, &format!("channel request hangup {name}")),
        format!("Requested Hangup on channel '{name}'\n")
    );
    let bye_a = net.recv_request(a.addr);
    assert_eq!(*bye_a.method(), Method::Bye, "the caller is hung up");
    let bye_b = net.recv_request(b.addr);
    assert_eq!(*bye_b.method(), Method::Bye, "and the callee");
    net.send(a.addr, &answer(&bye_a, 200, "x", a.addr, false));
    net.send(b.addr, &answer(&bye_b, 200, "bt", b.addr, false));
    assert_eq!(net.engine.calls_up(), 0);
    assert!(cli(&mut net, "core show channels").contains("0 active channels"));
}

#[test]
fn database_put_get_del_and_bad_arguments() {
    let (mut net, _a, _b) = setup();
    assert_eq!(
        cli(&mut net, "database get cf 1001"),
        "Database entry not found.\n"
    );
    assert_eq!(
        cli(&mut net, "database put cf 1001 \"5551 234\""),
        "Updated database successfully\n"
    );
    assert_eq!(cli(&mut net, "database get cf 1001"), "Value: 5551 234\n");
    net.service();
    assert!(
        net.db_ops
            .iter()
            .any(|op| format!("{op:?}").contains("/cf/1001")),
        "the change goes to the disk: {:?}",
        net.db_ops
    );
    cli(&mut net, "database put cf 1002 x");
    let show = cli(&mut net, "database show cf");
    assert!(
        show.contains("/cf/1001") && show.ends_with("2 results found.\n"),
        "{show}"
    );
    assert!(cli(&mut net, "database put cf").starts_with("Usage: database put"));
    assert!(cli(&mut net, "database get").starts_with("Usage: database get"));
    assert_eq!(
        cli(&mut net, "database get cf 1001"),
        "Value: 5551 234\n",
        "unchanged"
    );
    assert_eq!(
        cli(&mut net, "database del cf 1001"),
        "Database entry removed.\n"
    );
    assert_eq!(
        cli(&mut net, "database del cf 1001"),
        "Database entry does not exist.\n"
    );
    assert_eq!(
        cli(&mut net, "database deltree cf"),
        "1 database entries removed.\n"
    );
    assert_eq!(
        cli(&mut net, "database deltree cf"),
        "Database entries do not exist.\n"
    );
}

#[test]
fn unknown_commands_usage_help_and_levels() {
    let (mut net, _a, _b) = setup();
    assert_eq!(
        cli(&mut net, "x"),
        "No such command 'x' (type 'core show help x' for other possible commands)\n"
    );
    assert_eq!(
        cli(&mut net, "sip show peerss"),
        "No such command 'sip show peerss' (type 'core show help sip show' for other possible commands)\n"
    );
    assert!(cli(&mut net, "sip show peer").starts_with("Usage: sip show peer <name>"));
    assert!(
        cli(&mut net, "help").contains("sip show peers                 -- List defined SIP peers")
    );
    assert!(cli(&mut net, "help sip show peers").starts_with("Usage: sip show peers"));
    assert!(cli(&mut net, "dialplan show 600@internal").contains("'600' =>"));
    assert_eq!(
        cli(&mut net, "dialplan show 601@internal"),
        "There is no existence of 601@internal extension\n"
    );
    assert!(
        cli(&mut net, "dialplan show").contains("-= 2 extensions (4 priorities) in 1 context. =-")
    );
    let now = net.now;
    let r = net.engine.cli(now, "core set verbose 3", Levels::default());
    assert_eq!(r.text, "Console verbose was OFF and is now 3.\n");
    assert_eq!(r.driver, Some(ForDriver::Verbose(3)));
    let r = net
        .engine
        .cli(now, "core set verbose loud", Levels::default());
    assert!(r.text.starts_with("Usage: core set verbose") && r.driver.is_none());
    let r = net.engine.cli(now, "sip reload", Levels::default());
    assert_eq!(r.driver, Some(ForDriver::Reload(sipbox::cli::Reload::Sip)));
    net.advance(Duration::from_secs(3_723));
    assert!(cli(&mut net, "core show uptime")
        .starts_with("System uptime: 1 hour, 2 minutes, 3 seconds\n"));
    assert!(cli(&mut net, "core show version").starts_with("sipbox "));
}

#[test]
fn sip_set_debug_prints_only_the_named_address() {
    LogCapture::install();
    let (mut net, a, mut b) = setup();
    assert_eq!(
        cli(&mut net, &format!("sip set debug ip {}", a.addr.ip())),
        format!("SIP Debugging Enabled for IP: {}\n", a.addr.ip())
    );
    assert_eq!(
        cli(&mut net, "sip set debug peer 1001"),
        "Unable to get IP address of peer '1001'\n"
    );
    assert_eq!(
        cli(&mut net, "sip set debug peer 1002"),
        format!("SIP Debugging Enabled for IP: {}\n", b.addr)
    );
    let reg = b.register(net.sipbox, 300);
    net.send(b.addr, &reg);
    assert_eq!(net.recv_response(b.addr).status(), 200);
    assert!(
        net.logged(&format!("<--- SIP read from UDP:{} --->", b.addr)),
        "{:?}",
        net.log()
    );
    assert!(net.logged(&format!("<--- Transmitting to UDP:{} --->", b.addr)));
    assert!(cli(&mut net, "sip set debug ip not-an-ip").starts_with("Usage: sip set debug"));
    assert_eq!(
        cli(&mut net, "sip set debug off"),
        "SIP Debugging Disabled\n"
    );
    assert_eq!(net.engine.sip_debug(), sipbox::cli::SipDebug::Off);
}

#[test]
fn core_stop_gracefully_refuses_new_calls_and_waits_for_the_last() {
    let (mut net, mut a, b) = setup();
    let (inv, ok) = call_up(&mut net, &mut a, &b);
    let now = net.now;
    let r = net
        .engine
        .cli(now, "core stop gracefully", Levels::default());
    assert_eq!(
        r.driver,
        Some(ForDriver::Stop(sipbox::cli::StopMode::Gracefully))
    );
    assert!(r.text.contains("1 call up"), "{}", r.text);
    assert!(!net.engine.may_stop(), "a call is up");
    let mut c = Phone::new("1001", 6003);
    let (inv2, _, _) = c.invite(net.sipbox, "600");
    net.send(c.addr, &inv2);
    assert_eq!(
        net.recv_non_trying(c.addr).status(),
        503,
        "new calls refused"
    );
    net.send(a.addr, &a.bye_as_caller(&inv, &ok));
    assert_eq!(net.recv_response(a.addr).status(), 200);
    let bye = net.recv_request(b.addr);
    net.send(b.addr, &answer(&bye, 200, "bt", b.addr, false));
    assert!(net.engine.may_stop(), "the last call ended");
}

#[test]
fn sip_show_registry_lists_register_lines_with_their_state() {
    let conf = format!("{SIP_CONF}\n").replacen(
        "[general]\n",
        "[general]\nregister => itsp:secret@127.0.0.1:5099/1001\n",
        1,
    );
    let mut net = Net::new(&conf, EXTENSIONS);
    net.advance(Duration::from_secs(2));
    let out = cli(&mut net, "sip show registry");
    let row = out.lines().nth(1).unwrap_or_default().to_string();
    assert!(row.starts_with("127.0.0.1:5099"), "{out}");
    assert!(row.contains("itsp"), "{out}");
    assert!(!row.contains("Registered"), "nobody answered: {out}");
    assert!(out.ends_with("1 SIP registrations.\n"), "{out}");
}
