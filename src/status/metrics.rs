//! `/metrics`: the [`Snapshot`] in Prometheus' text exposition format (version 0.0.4:
//! `# HELP`, `# TYPE`, one `name{label="value"} number` per line, counters named `_total`,
//! a histogram as cumulative `_bucket{le=...}` lines with `+Inf`, `_sum` and `_count`).
//! README's "HTTP status page and metrics" lists every name.

use super::counters::{AuthFailure, Outcome};
use super::snapshot::{PeerState, Snapshot};
use std::fmt::Write;

/// The Content-Type Prometheus expects for this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric family's header.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped, as the format asks.
fn label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A one-sample family.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// The text for `snap`.
pub fn render(snap: &Snapshot) -> String {
    let mut o = String::with_capacity(4096);
    let c = &snap.counters;
    single(
        &mut o,
        "sipbox_uptime_seconds",
        "gauge",
        "Seconds since sipbox started.",
        snap.uptime.as_secs(),
    );
    single(
        &mut o,
        "sipbox_calls_active",
        "gauge",
        "Calls up now (ringing or answered).",
        snap.calls.len() as u64,
    );
    family(
        &mut o,
        "sipbox_calls_total",
        "counter",
        "Calls ended, by how the caller saw them end.",
    );
    for out in Outcome::ALL {
        let _ = writeln!(
            o,
            "sipbox_calls_total{{outcome=\"{}\"}} {}",
            out.label(),
            c.calls(out)
        );
    }
    single(
        &mut o,
        "sipbox_registrations",
        "gauge",
        "Contacts registered now.",
        snap.registrations.len() as u64,
    );
    single(
        &mut o,
        "sipbox_registers_accepted_total",
        "counter",
        "REGISTER requests accepted (bindings added, refreshed or removed).",
        c.registers_accepted,
    );
    family(
        &mut o,
        "sipbox_peers",
        "gauge",
        "sip.conf entries by qualify status.",
    );
    for st in PeerState::ALL {
        let n = snap.peers.iter().filter(|p| p.state == st).count();
        let _ = writeln!(o, "sipbox_peers{{status=\"{}\"}} {n}", st.label());
    }
    family(
        &mut o,
        "sipbox_trunk_registrations",
        "gauge",
        "Outbound registrations (register =>) by state.",
    );
    let mut states: Vec<&str> = vec!["Registered"];
    for t in &snap.trunks {
        if !states.contains(&t.state.as_str()) {
            states.push(&t.state);
        }
    }
    for st in states {
        let n = snap.trunks.iter().filter(|t| t.state == st).count();
        let _ = writeln!(
            o,
            "sipbox_trunk_registrations{{state=\"{}\"}} {n}",
            label(st)
        );
    }
    family(
        &mut o,
        "sipbox_transactions",
        "gauge",
        "SIP transactions alive, by side.",
    );
    let _ = writeln!(
        o,
        "sipbox_transactions{{side=\"server\"}} {}",
        snap.transactions.0
    );
    let _ = writeln!(
        o,
        "sipbox_transactions{{side=\"client\"}} {}",
        snap.transactions.1
    );
    let rtp = &snap.rtp;
    for (name, help, v) in [
        (
            "sipbox_rtp_packets_relayed_total",
            "RTP and RTCP packets relayed between legs (and echoed).",
            rtp.relayed,
        ),
        (
            "sipbox_rtp_packets_dropped_total",
            "Media packets dropped: STUN, garbage, unknown source, held or unbridged leg.",
            rtp.dropped,
        ),
        (
            "sipbox_rtp_packets_transcoded_total",
            "Relayed RTP packets rewritten between ulaw and alaw.",
            rtp.transcoded,
        ),
        (
            "sipbox_rtp_packets_played_total",
            "RTP packets sipbox sent itself (prompts, tones, music on hold).",
            rtp.played,
        ),
    ] {
        single(&mut o, name, "counter", help, v);
    }
    family(
        &mut o,
        "sipbox_auth_failures_total",
        "counter",
        "Refused credentials, by reason (what fail2ban counts).",
    );
    for why in AuthFailure::ALL {
        let _ = writeln!(
            o,
            "sipbox_auth_failures_total{{reason=\"{}\"}} {}",
            why.label(),
            c.auth_failures(why)
        );
    }
    single(
        &mut o,
        "sipbox_bans_total",
        "counter",
        "Sources banned after too many authentication failures.",
        c.bans,
    );
    single(
        &mut o,
        "sipbox_banned_sources",
        "gauge",
        "Sources banned now.",
        snap.banned_now as u64,
    );
    let sip = &snap.sip;
    single(
        &mut o,
        "sipbox_sip_datagrams_total",
        "counter",
        "Datagrams read on the SIP socket.",
        sip.datagrams,
    );
    family(
        &mut o,
        "sipbox_sip_dropped_total",
        "counter",
        "SIP datagrams dropped unanswered, by reason.",
    );
    for (why, v) in [
        ("unparsable", sip.unparsable),
        ("banned", sip.banned),
        ("scanner", sip.scanners),
        ("rate_limited", sip.rate_limited),
    ] {
        let _ = writeln!(o, "sipbox_sip_dropped_total{{reason=\"{why}\"}} {v}");
    }
    single(
        &mut o,
        "sipbox_sip_refused_total",
        "counter",
        "Requests refused with a 4xx/5xx before reaching a handler.",
        sip.refused,
    );
    single(
        &mut o,
        "sipbox_sip_reflection_withheld_total",
        "counter",
        "Stateless answers not sent: more bytes than their untrusted source sent.",
        sip.reflection_withheld,
    );
    family(
        &mut o,
        "sipbox_loop_turn_seconds",
        "histogram",
        "Time the event loop spent per turn (the most a new datagram waited).",
    );
    for (le, n) in snap.latency.cumulative() {
        match le {
            Some(us) => {
                let _ = writeln!(
                    o,
                    "sipbox_loop_turn_seconds_bucket{{le=\"{}\"}} {n}",
                    seconds(us)
                );
            }
            None => {
                let _ = writeln!(o, "sipbox_loop_turn_seconds_bucket{{le=\"+Inf\"}} {n}");
            }
        }
    }
    let _ = writeln!(
        o,
        "sipbox_loop_turn_seconds_sum {}",
        seconds(snap.latency.sum_us())
    );
    let _ = writeln!(o, "sipbox_loop_turn_seconds_count {}", snap.latency.count());
    family(
        &mut o,
        "sipbox_config_reloads_total",
        "counter",
        "Config reloads (SIGHUP, core reload, sip reload, ...), by result.",
    );
    let _ = writeln!(
        o,
        "sipbox_config_reloads_total{{result=\"ok\"}} {}",
        c.reloads_ok
    );
    let _ = writeln!(
        o,
        "sipbox_config_reloads_total{{result=\"failed\"}} {}",
        c.reloads_failed
    );
    o
}

/// Microseconds as decimal seconds without float formatting noise (`250` → `0.00025`).
fn seconds(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return s.to_string();
    }
    let f = format!("{frac:06}");
    format!("{s}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::super::counters::{Counters, Histogram};
    use super::super::snapshot::*;
    use super::*;
    use std::time::{Duration, SystemTime};

    fn snap() -> Snapshot {
        let mut counters = Counters::default();
        counters.call_ended(Outcome::Answered);
        counters.call_ended(Outcome::Busy);
        counters.call_ended(Outcome::Busy);
        counters.auth_failed(AuthFailure::WrongPassword);
        counters.bans = 1;
        counters.reloads_ok = 2;
        let mut latency = Histogram::default();
        latency.observe(Duration::from_micros(80));
        latency.observe(Duration::from_millis(3));
        Snapshot {
            wall: SystemTime::UNIX_EPOCH,
            uptime: Duration::from_secs(42),
            counters,
            latency,
            sip: SipCounters {
                datagrams: 10,
                unparsable: 1,
                ..Default::default()
            },
            rtp: RtpCounters {
                relayed: 500,
                dropped: 3,
                transcoded: 250,
                played: 0,
            },
            transactions: (2, 1),
            banned_now: 1,
            peers: vec![
                PeerRow {
                    name: "1001".into(),
                    addr: None,
                    state: PeerState::Reachable,
                    latency: Some(Duration::from_millis(3)),
                    in_use: 1,
                },
                PeerRow {
                    name: "1002".into(),
                    addr: None,
                    state: PeerState::Unmonitored,
                    latency: None,
                    in_use: 0,
                },
            ],
            registrations: vec![],
            calls: vec![],
            trunks: vec![TrunkRow {
                host: "itsp:5060".into(),
                username: "u".into(),
                state: "Request \"Sent\"".into(),
                refresh: 120,
            }],
            failures: vec![],
        }
    }

    /// Every sample line: `name{labels} value`, the value an integer or decimal.
    fn samples(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.rsplit_once(' ').expect("name value");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn text_format_is_prometheus_and_values_are_the_snapshots() {
        let text = render(&snap());
        assert!(text.ends_with('\n'));
        let s = samples(&text);
        let get = |k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("sipbox_uptime_seconds"), Some("42"));
        assert_eq!(get("sipbox_calls_total{outcome=\"busy\"}"), Some("2"));
        assert_eq!(get("sipbox_calls_total{outcome=\"answered\"}"), Some("1"));
        assert_eq!(get("sipbox_calls_total{outcome=\"failed\"}"), Some("0"));
        assert_eq!(get("sipbox_peers{status=\"reachable\"}"), Some("1"));
        assert_eq!(get("sipbox_peers{status=\"unmonitored\"}"), Some("1"));
        assert_eq!(get("sipbox_transactions{side=\"server\"}"), Some("2"));
        assert_eq!(get("sipbox_rtp_packets_transcoded_total"), Some("250"));
        assert_eq!(
            get("sipbox_auth_failures_total{reason=\"wrong_password\"}"),
            Some("1")
        );
        assert_eq!(
            get("sipbox_trunk_registrations{state=\"Request \\\"Sent\\\"\"}"),
            Some("1"),
            "label values are escaped"
        );
        assert_eq!(
            get("sipbox_trunk_registrations{state=\"Registered\"}"),
            Some("0")
        );
        assert_eq!(
            get("sipbox_loop_turn_seconds_bucket{le=\"0.0001\"}"),
            Some("1")
        );
        assert_eq!(
            get("sipbox_loop_turn_seconds_bucket{le=\"0.005\"}"),
            Some("2")
        );
        assert_eq!(
            get("sipbox_loop_turn_seconds_bucket{le=\"+Inf\"}"),
            Some("2")
        );
        assert_eq!(get("sipbox_loop_turn_seconds_sum"), Some("0.00308"));
        assert_eq!(get("sipbox_loop_turn_seconds_count"), Some("2"));
        assert_eq!(get("sipbox_config_reloads_total{result=\"ok\"}"), Some("2"));
        // Every family has HELP then TYPE; every sample belongs to the last TYPE'd family;
        // counters end in _total; names are [a-z_:]; values are numbers.
        let mut current = String::new();
        let mut kinds = std::collections::HashMap::new();
        let mut lines = text.lines().peekable();
        while let Some(l) = lines.next() {
            if let Some(rest) = l.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                let ty = lines.next().unwrap();
                let (tname, kind) = ty.strip_prefix("# TYPE ").unwrap().split_once(' ').unwrap();
                assert_eq!(tname, name);
                assert!(["counter", "gauge", "histogram"].contains(&kind));
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "{name}");
                }
                assert!(
                    kinds.insert(name.to_string(), kind).is_none(),
                    "{name} twice"
                );
                current = name.to_string();
                continue;
            }
            let name = l.split(['{', ' ']).next().unwrap();
            assert!(
                name.starts_with(&current),
                "{l} outside its family {current}"
            );
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            let v = l.rsplit(' ').next().unwrap();
            assert!(v.parse::<f64>().is_ok(), "{l}");
        }
        assert_eq!(kinds.get("sipbox_loop_turn_seconds"), Some(&"histogram"));
    }

    #[test]
    fn seconds_print_exactly() {
        assert_eq!(seconds(250), "0.00025");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(2_500_000), "2.5");
    }
}
