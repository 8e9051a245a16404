//! Where an AGI script runs (`agi://host[:port]/script` or a program) and the `agi_*`
//! environment block it gets first, in res_agi.c's order (`launch_netscript`, `setup_env`).

use crate::dialplan::command::AgiTarget;
use crate::dialplan::cursor::Execution;
use crate::dialplan::functions::channel::{CID_DNID, CID_RDNIS};

/// FastAGI's port when the address does not say (res_agi.c's `AGI_PORT`).
pub const FASTAGI_PORT: u16 = 4573;

/// `agi://host[:port][/script]` → a FastAGI target; anything else a program. None for an
/// `agi://` address without a host or with a bad port.
pub fn parse_target(script: &str, args: &[String]) -> Option<AgiTarget> {
    let Some(rest) = strip_scheme(script) else {
        return Some(AgiTarget::Process {
            script: script.to_string(),
            args: args.to_vec(),
        });
    };
    let hostport = rest.split(['/', '?']).next().unwrap_or("");
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => FASTAGI_PORT,
            None => return None,
        };
        (h, port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, FASTAGI_PORT),
        }
    };
    if host.is_empty() || port == 0 {
        return None;
    }
    Some(AgiTarget::Fast {
        host: host.to_string(),
        port,
    })
}

fn strip_scheme(s: &str) -> Option<&str> {
    let head = s.get(..6)?;
    head.eq_ignore_ascii_case("agi://").then(|| &s[6..])
}

/// The block the script reads before its first command, the blank line included.
pub(super) fn block(ex: &Execution, script: &str, target: &AgiTarget, args: &[String]) -> String {
    use std::fmt::Write;
    let mut b = String::with_capacity(512);
    if let AgiTarget::Fast { .. } = target {
        b.push_str("agi_network: yes\n");
        let path = strip_scheme(script)
            .and_then(|r| r.split_once('/'))
            .map_or("", |(_, p)| p);
        if !path.is_empty() {
            let _ = writeln!(b, "agi_network_script: {path}");
        }
    }
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "unknown".to_string()
        } else {
            s.to_string()
        }
    };
    let hidden = |k: &str| {
        ex.vars
            .get(k)
            .map(String::as_str)
            .or(ex.hidden_var(k))
            .unwrap_or_default()
            .to_string()
    };
    let seq = ex
        .chan
        .unique_id
        .rsplit('.')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let fields: [(&str, String); 18] = [
        ("request", script.to_string()),
        ("channel", ex.channel_name()),
        ("language", ex.language.to_string()),
        ("type", "SIP".into()),
        ("uniqueid", ex.chan.unique_id.to_string()),
        ("version", env!("CARGO_PKG_VERSION").into()),
        ("callerid", or_unknown(&ex.chan.callerid_num)),
        ("calleridname", or_unknown(&ex.chan.callerid_name)),
        ("callingpres", "0".into()),
        ("callingani2", "0".into()),
        ("callington", "0".into()),
        ("callingtns", "0".into()),
        ("dnid", or_unknown(&hidden(CID_DNID))),
        ("rdnis", or_unknown(&hidden(CID_RDNIS))),
        ("context", ex.context.to_string()),
        ("extension", ex.exten.to_string()),
        ("priority", ex.prio.to_string()),
        ("enhanced", "0.0".into()),
    ];
    for (k, v) in fields {
        let _ = writeln!(b, "agi_{k}: {}", one_line(&v));
    }
    let _ = writeln!(b, "agi_accountcode: {}", one_line(&ex.cdr.accountcode));
    // One thread runs every call: the channel's sequence number stands for the thread id.
    let _ = writeln!(b, "agi_threadid: {seq}");
    for (i, a) in args.iter().enumerate() {
        let _ = writeln!(b, "agi_arg_{}: {}", i + 1, one_line(a));
    }
    b.push('\n');
    b
}

/// A value with a newline would end the block early: cut there.
fn one_line(s: &str) -> &str {
    s.split(['\n', '\r']).next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastagi_addresses() {
        let t = |s: &str| parse_target(s, &[]);
        assert_eq!(
            t("agi://127.0.0.1/script?x=1"),
            Some(AgiTarget::Fast {
                host: "127.0.0.1".into(),
                port: 4573
            })
        );
        assert_eq!(
            t("AGI://agi.example:4600"),
            Some(AgiTarget::Fast {
                host: "agi.example".into(),
                port: 4600
            })
        );
        assert_eq!(
            t("agi://[::1]:4000/x"),
            Some(AgiTarget::Fast {
                host: "::1".into(),
                port: 4000
            })
        );
        assert_eq!(t("agi://"), None);
        assert_eq!(t("agi://h:port"), None);
        assert_eq!(t("agi://h:0"), None);
        assert!(matches!(t("my.agi"), Some(AgiTarget::Process { .. })));
    }
}
