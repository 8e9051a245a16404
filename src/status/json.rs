//! `/status.json`: the [`Snapshot`] for the page's script (and for scripts of the admin's).
//! Written by hand (a few kinds of value; no serializer crate needed); strings are escaped
//! as RFC 8259 §7 asks, so a peer name or a User-Agent cannot break out of its string.

use super::counters::Outcome;
use super::snapshot::Snapshot;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// `"text"` with JSON escapes.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` too, so the text is safe even if someone pastes it into a <script>.
            c if (c as u32) < 0x20 || c == '<' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn opt_string(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("null"),
    }
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Writes `"key":` (with a leading comma unless first).
fn key(out: &mut String, first: &mut bool, k: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    string(out, k);
    out.push(':');
}

/// The JSON text for `snap`.
pub fn render(snap: &Snapshot) -> String {
    let mut o = String::with_capacity(1024 + 160 * (snap.peers.len() + snap.registrations.len()));
    let mut f = true;
    o.push('{');
    key(&mut o, &mut f, "time");
    let _ = write!(o, "{}", epoch(snap.wall));
    key(&mut o, &mut f, "uptime");
    let _ = write!(o, "{}", snap.uptime.as_secs());
    key(&mut o, &mut f, "calls_total");
    o.push('{');
    let mut g = true;
    for out in Outcome::ALL {
        key(&mut o, &mut g, out.label());
        let _ = write!(o, "{}", snap.counters.calls(out));
    }
    o.push('}');

    key(&mut o, &mut f, "peers");
    o.push('[');
    for (i, p) in snap.peers.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut g = true;
        o.push('{');
        key(&mut o, &mut g, "name");
        string(&mut o, &p.name);
        key(&mut o, &mut g, "addr");
        opt_string(&mut o, p.addr.map(|a| a.to_string()).as_deref());
        key(&mut o, &mut g, "status");
        string(&mut o, p.state.label());
        key(&mut o, &mut g, "latency_ms");
        match p.latency {
            Some(d) => {
                let _ = write!(o, "{}", d.as_millis());
            }
            None => o.push_str("null"),
        }
        key(&mut o, &mut g, "in_use");
        let _ = write!(o, "{}", p.in_use);
        o.push('}');
    }
    o.push(']');

    key(&mut o, &mut f, "registrations");
    o.push('[');
    for (i, r) in snap.registrations.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut g = true;
        o.push('{');
        key(&mut o, &mut g, "aor");
        string(&mut o, &r.aor);
        key(&mut o, &mut g, "contact");
        string(&mut o, &r.contact);
        key(&mut o, &mut g, "source");
        string(&mut o, &r.source.to_string());
        key(&mut o, &mut g, "expires_in");
        let _ = write!(o, "{}", r.expires_in);
        key(&mut o, &mut g, "user_agent");
        string(&mut o, &r.user_agent);
        o.push('}');
    }
    o.push(']');

    key(&mut o, &mut f, "calls");
    o.push('[');
    for (i, c) in snap.calls.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut g = true;
        o.push('{');
        key(&mut o, &mut g, "exten");
        string(&mut o, &c.exten);
        key(&mut o, &mut g, "duration");
        let _ = write!(o, "{}", c.duration.as_secs());
        key(&mut o, &mut g, "answered");
        o.push_str(if c.answered { "true" } else { "false" });
        key(&mut o, &mut g, "legs");
        o.push('[');
        for (j, l) in c.legs.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            let mut h = true;
            o.push('{');
            key(&mut o, &mut h, "channel");
            string(&mut o, &l.channel);
            key(&mut o, &mut h, "peer");
            opt_string(&mut o, l.peer.as_deref());
            key(&mut o, &mut h, "state");
            string(&mut o, l.state);
            key(&mut o, &mut h, "codec");
            opt_string(&mut o, l.codec.as_deref());
            o.push('}');
        }
        o.push_str("]}");
    }
    o.push(']');

    key(&mut o, &mut f, "trunks");
    o.push('[');
    for (i, t) in snap.trunks.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut g = true;
        o.push('{');
        key(&mut o, &mut g, "host");
        string(&mut o, &t.host);
        key(&mut o, &mut g, "username");
        string(&mut o, &t.username);
        key(&mut o, &mut g, "state");
        string(&mut o, &t.state);
        key(&mut o, &mut g, "refresh");
        let _ = write!(o, "{}", t.refresh);
        o.push('}');
    }
    o.push(']');

    key(&mut o, &mut f, "failures");
    o.push('[');
    // Newest first: what a person looks for.
    for (i, x) in snap.failures.iter().rev().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut g = true;
        o.push('{');
        key(&mut o, &mut g, "time");
        let _ = write!(o, "{}", epoch(x.at));
        key(&mut o, &mut g, "kind");
        string(&mut o, x.kind.label());
        key(&mut o, &mut g, "text");
        string(&mut o, &x.text);
        o.push('}');
    }
    o.push(']');
    o.push('}');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        string(&mut s, "a\"b\\c\n\u{1}<x>é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001\\u003cx>é\"");
    }
}
