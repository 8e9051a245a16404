//! `sip show peers|users|peer|user|registry|settings|inuse`, `sip qualify peer`, `sip set
//! debug`: chan_sip.c's `_sip_show_peers`, `sip_show_users`, `_sip_show_peer`,
//! `sip_show_user`, `sip_show_registry`, `sip_show_settings`, `sip_show_inuse`,
//! `sip_qualify_peer`, `sip_do_debug`, with their columns and words.

use super::format::{codecs, yes_no};
use super::view::{PeerView, Reach, SipDebug, View};
use super::{Action, Answer};
use crate::config::sip_values::{Host, Nat};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// `like <pattern>` or nothing; Err: bad arguments.
fn like<'a>(args: &[&'a str]) -> Result<Option<&'a str>, ()> {
    match args {
        [] => Ok(None),
        [l, p] if l.eq_ignore_ascii_case("like") => Ok(Some(p)),
        _ => Err(()),
    }
}

/// An empty column (the description and realtime columns sipbox has nothing for).
const NONE: &str = "";

fn status(reach: Reach) -> String {
    match reach {
        Reach::Unmonitored => "Unmonitored".into(),
        Reach::Unknown => "UNKNOWN".into(),
        Reach::Ok(rtt) => format!("OK ({} ms)", rtt.as_millis()),
        Reach::Unreachable => "UNREACHABLE".into(),
    }
}

fn nat_words(nat: Nat) -> (&'static str, &'static str) {
    (yes_no(nat.force_rport), yes_no(nat.comedia))
}

/// `name/username` as chan_sip shows it: the registered or default user after the name.
fn name_user(p: &PeerView<'_>) -> String {
    let user = p
        .conf
        .defaultuser
        .as_deref()
        .or_else(|| (!p.bindings.is_empty()).then_some(p.conf.name.as_str()));
    match user {
        Some(u) => format!("{}/{u}", p.conf.name),
        None => p.conf.name.clone(),
    }
}

pub(super) fn peers(view: &View<'_>, args: &[&str]) -> Answer {
    let Ok(pattern) = like(args) else {
        return Answer::usage("sip show peers");
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<25.25} {:<39.39} {:<3.3} {:<10.10} {:<10.10} {:<3.3} {:<8} {:<11} {:<32.32} {}",
        "Name/username",
        "Host",
        "Dyn",
        "Forcerport",
        "Comedia",
        "ACL",
        "Port",
        "Status",
        "Description",
        NONE
    );
    let (mut total, mut mon_on, mut mon_off, mut unmon_on, mut unmon_off) = (0, 0, 0, 0, 0);
    for p in view.peers.iter().filter(|p| p.conf.kind.calls_out()) {
        if pattern.is_some_and(|pat| !p.conf.name.contains(pat)) {
            continue;
        }
        total += 1;
        match p.reach {
            Reach::Ok(_) => mon_on += 1,
            Reach::Unknown | Reach::Unreachable => mon_off += 1,
            Reach::Unmonitored if p.addr.is_some() => unmon_on += 1,
            Reach::Unmonitored => unmon_off += 1,
        }
        let host = p
            .addr
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "(Unspecified)".into());
        let dynamic = if matches!(p.conf.host, Host::Dynamic) {
            " D "
        } else {
            "   "
        };
        let acl = if p.conf.acl.is_empty() { "   " } else { " A " };
        let (rport, comedia) = nat_words(p.conf.nat);
        let _ = writeln!(
            out,
            "{:<25.25} {:<39.39} {:<3.3} {:<10.10} {:<10.10} {:<3.3} {:<8} {:<11} {:<32.32} {}",
            name_user(p),
            host,
            dynamic,
            rport,
            comedia,
            acl,
            p.addr.map(|a| a.port()).unwrap_or(0),
            status(p.reach),
            NONE,
            NONE
        );
    }
    let _ = writeln!(
        out,
        "{total} sip peers [Monitored: {mon_on} online, {mon_off} offline Unmonitored: {unmon_on} online, {unmon_off} offline]"
    );
    Answer::text(out)
}

pub(super) fn users(view: &View<'_>, args: &[&str]) -> Answer {
    let Ok(pattern) = like(args) else {
        return Answer::usage("sip show users");
    };
    let mut out = String::new();
    let row = |out: &mut String, a: &str, b: &str, c: &str, d: &str, e: &str, f: &str| {
        let _ = writeln!(
            out,
            "{a:<25.25}  {b:<15.15}  {c:<15.15}  {d:<15.15}  {e:<5.5}{f:<10.10}"
        );
    };
    row(
        &mut out,
        "Username",
        "Secret",
        "Accountcode",
        "Def.Context",
        "ACL",
        "Forcerport",
    );
    for p in view.peers.iter().filter(|p| p.conf.kind.calls_in()) {
        if pattern.is_some_and(|pat| !p.conf.name.contains(pat)) {
            continue;
        }
        // Asterisk prints the secret itself; sipbox says whether there is one.
        let secret = if p.conf.secret.is_some() || p.conf.md5secret.is_some() {
            "<Set>"
        } else {
            ""
        };
        row(
            &mut out,
            &p.conf.name,
            secret,
            "",
            &p.conf.context,
            yes_no(!p.conf.acl.is_empty()),
            yes_no(p.conf.nat.force_rport),
        );
    }
    Answer::text(out)
}

fn find<'v, 'a>(view: &'v View<'a>, name: &str) -> Option<&'v PeerView<'a>> {
    view.peers.iter().find(|p| p.conf.name == name)
}

fn set<T>(v: &Option<T>) -> &'static str {
    if v.is_some() {
        "<Set>"
    } else {
        "<Not set>"
    }
}

fn callerid(p: &PeerView<'_>) -> String {
    let (n, num) = p
        .conf
        .callerid
        .as_ref()
        .map(|c| {
            (
                c.name.clone().unwrap_or_default(),
                c.number.clone().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    format!("\"{n}\" <{num}>")
}

pub(super) fn peer(view: &View<'_>, args: &[&str]) -> Answer {
    let name = match args {
        [n] => *n,
        [n, l] if l.eq_ignore_ascii_case("load") => *n,
        _ => return Answer::usage("sip show peer"),
    };
    let Some(p) = find(view, name).filter(|p| p.conf.kind.calls_out()) else {
        return Answer::text(format!("Peer {name} not found."));
    };
    let c = p.conf;
    let g = view.general;
    let mut o = String::from("\n\n");
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "  {k:<13}: {v}");
    };
    line("* Name", &c.name);
    line("Description", &"");
    line("Secret", &set(&c.secret));
    line("MD5Secret", &set(&c.md5secret));
    line("Context", &c.context);
    line("Call limit", &c.call_limit.unwrap_or(0));
    line("Dynamic", &yes_no(matches!(c.host, Host::Dynamic)));
    line("Callerid", &callerid(p));
    let expire = p
        .bindings
        .iter()
        .map(|b| b.expires_at.saturating_duration_since(view.now).as_secs() as i64)
        .max()
        .unwrap_or(-1);
    line("Expire", &expire);
    let insecure = match (c.insecure.port, c.insecure.invite) {
        (false, false) => "no",
        (true, false) => "port",
        (false, true) => "invite",
        (true, true) => "port,invite",
    };
    line("Insecure", &insecure);
    line("Force rport", &yes_no(c.nat.force_rport));
    line("Symmetric RTP", &yes_no(c.nat.comedia));
    line("ACL", &yes_no(!c.acl.is_empty()));
    line(
        "DirectMedia",
        &yes_no(c.directmedia.as_deref().is_some_and(|d| d != "no")),
    );
    line(
        "Transfer mode",
        &if c.allow_transfer { "open" } else { "closed" },
    );
    line("DTMFmode", &c.dtmfmode.as_str());
    line("Timer T1", &g.timer_t1.as_millis());
    line("Timer B", &g.timer_b.as_millis());
    // chan_sip's sip_show_peer wording.
    let st = &c.session_timers;
    use crate::config::sip_session_timers::{StMode, StRefresher};
    let mode = match st.mode {
        StMode::Accept => "Accept",
        StMode::Originate => "Originate",
        StMode::Refuse => "Refuse",
    };
    line("Sess-Timers", &mode);
    let refresher = match st.refresher {
        StRefresher::Uas => "uas",
        StRefresher::Uac => "uac",
    };
    line("Sess-Refresh", &refresher);
    line("Sess-Expires", &format!("{} secs", st.expires));
    line("Min-Sess", &format!("{} secs", st.min_se));
    line(
        "ToHost",
        &match &c.host {
            Host::Static { host, .. } => host.as_str(),
            _ => "",
        },
    );
    line(
        "Addr->IP",
        &p.addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(null)".into()),
    );
    line("Prim.Transp.", &"UDP");
    line("Allowed.Trsp", &"UDP");
    line("Def. Username", &c.defaultuser.as_deref().unwrap_or(""));
    line("Codecs", &codecs(&c.codecs));
    line("Status", &status(p.reach));
    line("Useragent", &"");
    let contact = p.bindings.first().map(|b| b.contact.as_str()).unwrap_or("");
    line("Reg. Contact", &contact);
    line(
        "Qualify Freq",
        &format!("{} ms", g.qualify_freq.as_millis()),
    );
    line(
        "Qualify",
        &c.qualify
            .map(|q| format!("{} ms", q.as_millis()))
            .unwrap_or_else(|| "no".into()),
    );
    line("In use", &p.in_use);
    o.push('\n');
    Answer::text(o)
}

pub(super) fn user(view: &View<'_>, args: &[&str]) -> Answer {
    let name = match args {
        [n] => *n,
        [n, l] if l.eq_ignore_ascii_case("load") => *n,
        _ => return Answer::usage("sip show user"),
    };
    let Some(p) = find(view, name).filter(|p| p.conf.kind.calls_in()) else {
        return Answer::text(format!("User {name} not found."));
    };
    let c = p.conf;
    let mut o = String::from("\n\n");
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "  {k:<18}: {v}");
    };
    line("* User name", &c.name);
    line("Secret", &set(&c.secret));
    line("MD5Secret", &set(&c.md5secret));
    line("Context", &c.context);
    line("Language", &"");
    line("Accountcode", &"");
    line(
        "Transfer mode",
        &if c.allow_transfer { "open" } else { "closed" },
    );
    line("Call limit", &c.call_limit.unwrap_or(0));
    line("Callerid", &callerid(p));
    line("ACL", &yes_no(!c.acl.is_empty()));
    line("Codec Order", &codecs(&c.codecs));
    o.push('\n');
    Answer::text(o)
}

pub(super) fn registry(view: &View<'_>, args: &[&str]) -> Answer {
    if !args.is_empty() {
        return Answer::usage("sip show registry");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<39.39} {:<6.6} {:<12.12}  {:>8.8} {:<20.20} {:<25.25}",
        "Host", "dnsmgr", "Username", "Refresh", "State", "Reg.Time"
    );
    for r in &view.registry {
        let when = r.reg_time.map(super::format::date).unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<39.39} {:<6.6} {:<12.12}  {:>8} {:<20.20} {:<25.25}",
            r.host, "N", r.username, r.refresh, r.state, when
        );
    }
    let _ = writeln!(out, "{} SIP registrations.", view.registry.len());
    Answer::text(out)
}

pub(super) fn settings(view: &View<'_>, args: &[&str]) -> Answer {
    if !args.is_empty() {
        return Answer::usage("sip show settings");
    }
    let g = view.general;
    let mut o = String::from("\n\nGlobal Settings:\n----------------\n");
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "  {:<24}{v}", format!("{k}:"));
    };
    line("UDP Bindaddress", &view.local);
    line("TCP SIP Bindaddress", &"Disabled");
    line("TLS SIP Bindaddress", &"Disabled");
    line("Realm. (Auth.)", &g.realm);
    line("User Agent", &g.user_agent);
    line("Allow unknown access", &yes_no(g.allow_guest));
    line("Always auth rejects", &yes_no(g.always_auth_reject));
    line("SIP realtime", &"Disabled");
    line(
        "Qualify Freq",
        &format!("{} ms", g.qualify_freq.as_millis()),
    );
    line(
        "Reg. min duration",
        &format!("{} secs", g.min_expiry.as_secs()),
    );
    line(
        "Reg. max duration",
        &format!("{} secs", g.max_expiry.as_secs()),
    );
    line(
        "Reg. default duration",
        &format!("{} secs", g.default_expiry.as_secs()),
    );
    line("Timer T1", &g.timer_t1.as_millis());
    line("Timer B", &g.timer_b.as_millis());
    line(
        "RTP Timeout",
        &g.rtp_timeout.map(|d| d.as_secs()).unwrap_or(0),
    );
    line(
        "RTP Hold Timeout",
        &g.rtp_hold_timeout.map(|d| d.as_secs()).unwrap_or(0),
    );
    line("Max calls", &g.max_calls);
    line("Max registrations", &g.max_registrations);
    line(
        "SIP debugging",
        &match view.sip_debug {
            SipDebug::Off => "No".to_string(),
            SipDebug::All => "Yes (all)".to_string(),
            SipDebug::Addr { ip, port: Some(p) } => format!("Yes ({})", SocketAddr::new(ip, p)),
            SipDebug::Addr { ip, port: None } => format!("Yes ({ip})"),
        },
    );
    o.push_str("\nDefault Settings:\n-----------------\n");
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "  {:<24}{v}", format!("{k}:"));
    };
    line("Allowed transports", &"UDP");
    line("Context", &g.context);
    line("Force rport", &yes_no(g.nat.force_rport));
    line("Symmetric RTP", &yes_no(g.nat.comedia));
    line("DTMF", &g.dtmfmode.as_str());
    line("Qualify", &g.qualify.map(|q| q.as_millis()).unwrap_or(0));
    line("Codecs", &codecs(&g.codecs));
    line("Allow transfer", &yes_no(g.allow_transfer));
    o.push('\n');
    Answer::text(o)
}

pub(super) fn inuse(view: &View<'_>, args: &[&str]) -> Answer {
    let all = match args {
        [] => false,
        [a] if a.eq_ignore_ascii_case("all") => true,
        _ => return Answer::usage("sip show inuse"),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<25.25} {:<15.15} {:<15.15} ",
        "* Peer name", "In use", "Limit"
    );
    for p in &view.peers {
        if !all && p.conf.call_limit.is_none() {
            continue;
        }
        let limit = p
            .conf
            .call_limit
            .map(|l| l.to_string())
            .unwrap_or_else(|| "N/A".into());
        let used = format!("{}/0/0", p.in_use);
        let _ = writeln!(out, "{:<25.25} {used:<15.15} {limit:<15.15} ", p.conf.name);
    }
    Answer::text(out)
}

pub(super) fn qualify(view: &View<'_>, args: &[&str]) -> Answer {
    let name = match args {
        [n] => *n,
        [n, l] if l.eq_ignore_ascii_case("load") => *n,
        _ => return Answer::usage("sip qualify peer"),
    };
    match find(view, name) {
        None => Answer::text(format!("Peer '{name}' not found")),
        Some(p) if p.conf.qualify.is_none() => Answer::text(format!(
            "Peer '{name}' is not qualified (qualify=no): nothing sent"
        )),
        Some(p) => Answer::act("", Action::Qualify(p.id)),
    }
}

/// `ip addr[:port]`: an IP, or IP:port (`[v6]:port`).
fn parse_ip_port(s: &str) -> Option<SipDebug> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(SipDebug::Addr {
            ip: a.ip(),
            port: Some(a.port()),
        });
    }
    let ip = s
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .ok()?;
    Some(SipDebug::Addr { ip, port: None })
}

pub(super) fn debug(view: &View<'_>, args: &[&str]) -> Answer {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match l.as_slice() {
        ["on"] => Answer::act("SIP Debugging enabled", Action::SipDebug(SipDebug::All)),
        ["off"] => Answer::act("SIP Debugging Disabled", Action::SipDebug(SipDebug::Off)),
        ["ip", _] => match parse_ip_port(args[1]) {
            Some(d) => Answer::act(
                format!("SIP Debugging Enabled for IP: {}", args[1]),
                Action::SipDebug(d),
            ),
            None => Answer::usage("sip set debug"),
        },
        ["peer", _] => {
            let name = args[1];
            match find(view, name) {
                None => Answer::text(format!("No such peer '{name}'")),
                Some(p) => match p.addr {
                    // chan_sip takes the peer's address now: it does not follow a move.
                    Some(a) => Answer::act(
                        format!("SIP Debugging Enabled for IP: {a}"),
                        Action::SipDebug(SipDebug::Addr {
                            ip: a.ip(),
                            port: Some(a.port()),
                        }),
                    ),
                    None => Answer::text(format!("Unable to get IP address of peer '{name}'")),
                },
            }
        }
        _ => Answer::usage("sip set debug"),
    }
}
