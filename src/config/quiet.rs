//! sip.conf options Asterisk's chan_sip reads (`reload_config`, `build_peer`,
//! `handle_common_options` in `channels/chan_sip.c`, `configs/samples/sip.conf.sample`) that
//! sipbox does not act on, sorted into two kinds:
//!
//! - [`Verdict::Quiet`]: nothing observable changes here (QoS marks, language, features sipbox
//!   does not have and whose absence a call does not show: video, realtime caching, CDR
//!   fields, jitter buffers for a relay that does not mix, ...). Accepted without a word, so
//!   that a copied sip.conf does not bury the warnings that matter;
//! - [`Verdict::Missed`]: something the admin set up and would miss (NAT addresses, TCP/TLS,
//!   fax, an outbound proxy, WebRTC). Warned about once per option name, not at every peer.
//!
//! Anything else is unknown and warned at each line, as a typo should be.

/// What to say about an option sipbox does not act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted silently.
    Quiet,
    /// Warned once: the admin would miss what it asks for. The text says what is missing.
    Missed(&'static str),
    /// Not an option we know of: warned at each line.
    Unknown,
}

/// Options whose value never matters here.
const QUIET: &[&str] = &[
    "accountcode",
    "allowexternaldomains",
    "amaflags",
    "auth_options_requests",
    "authfailureevents",
    "autodomain",
    "autoframing",
    "buggymwi",
    "callevents",
    "checkmwi",
    "compactheaders",
    "cos_audio",
    "cos_sip",
    "cos_text",
    "cos_video",
    "description",
    "directrtpsetup",
    "disallowed_methods",
    "dynamic_exclude_static",
    "g726nonstandard",
    "hash_dialog",
    "hash_peer",
    "hash_user",
    "ignoreregexpire",
    "ignoresdpversion",
    "jbenable",
    "jbforce",
    "jbimpl",
    "jblog",
    "jbmaxsize",
    "jbresyncthreshold",
    "jbtargetextra",
    "legacy_useroption_parsing",
    "limitonpeers",
    "match_auth_username",
    "maxcallbitrate",
    "maxforwards",
    "mwi_from",
    "mwiexpiry",
    "parkinglot",
    "pedantic",
    "preferred_codec_only",
    "progressinband",
    "promiscredir",
    "qualifygap",
    "qualifypeers",
    "recordhistory",
    "dumphistory",
    "regcontext",
    "regexten",
    "regextenonqualify",
    "relaxdtmf",
    "rfc2833compensate",
    "ringinuse",
    "rpid_immediate",
    "rpid_update",
    "rtautoclear",
    "rtcachefriends",
    "rtp_engine",
    "rtsavepath",
    "rtsavesysname",
    "rtupdate",
    "sdpowner",
    "sdpsession",
    "send_diversion",
    "shrinkcallerid",
    "sipdebug",
    "storesipcause",
    "subscribemwi",
    "supportpath",
    "t1min",
    "textsupport",
    "tos_audio",
    "tos_sip",
    "tos_text",
    "tos_video",
    "unsolicited_mailbox",
    "useclientcode",
    "usereqphone",
    "videosupport",
    "namedcallgroup",
    "namedpickupgroup",
    "cc_agent_policy",
    "cc_monitor_policy",
    "counteronpeer",
    "trunkname",
    "registertrying",
    "callerid_tag",
    "cid_tag",
    "snom_aoc_enabled",
    "use_q850_reason",
    "allowguestpeer",
    // Read by chan_sip 1.4's reload_config (channels/chan_sip.c), nothing to do here.
    "callerid",
    "tos",
    "autocreatepeer",
    "notifymimetype",
    "musicclass",
    "musiconhold",
    "localmask",
    "matchexterniplocally",
    "matchexternaddrlocally",
    "outboundproxyport",
    "externtcpport",
    "externtlsport",
    // rtp.conf
    "rtpchecksums",
    "dtmftimeout",
    "rtcpinterval",
    "probation",
];

/// Options quiet only with a value that matches what sipbox does anyway (UDP, no TLS, no
/// encryption, no T.38); any other value is [`Verdict::Missed`] with this text.
const QUIET_WHEN_OFF: &[(&str, &str)] = &[
    ("tcpenable", "SIP over TCP is not supported (UDP only)"),
    ("tlsenable", "SIP over TLS is not supported (UDP only)"),
    ("websocket_enabled", "SIP over WebSocket is not supported"),
    ("encryption", "SRTP is not supported"),
    ("icesupport", "ICE is not supported"),
    ("avpf", "AVPF (WebRTC) is not supported"),
    ("force_avp", "AVPF (WebRTC) is not supported"),
    ("rtcp_mux", "RTCP multiplexing is not supported"),
    ("dtlsenable", "DTLS-SRTP is not supported"),
    ("t38pt_udptl", "T.38 fax is not supported"),
    ("faxdetect", "fax detection is not supported"),
];

/// Options an admin would miss, with what is missing.
const MISSED: &[(&str, &str)] = &[
    (
        "tonezone",
        "a per-peer tonezone is not applied: PlayTones uses indications.conf's country",
    ),
    ("media_address", "sipbox advertises the bind address in SDP"),
    ("stunaddr", "STUN is not supported"),
    (
        "setvar",
        "channel variables from sip.conf are not set on calls",
    ),
    (
        "defaultip",
        "a dynamic peer is not reachable before it registers",
    ),
    (
        "domain",
        "SIP domain lists are not supported; any domain is served",
    ),
    ("mailbox_context", "voicemail is not sipbox's job"),
    ("nat_keepalive", "NAT keep-alives are not sent"),
    // Only reaches here from [general], where chan_sip reads bindport, not port (peers
    // handle their own port=).
    (
        "port",
        "chan_sip's [general] port is bindport; this line leaves the port at its default",
    ),
];

/// The verdict on `key` (lower case) written with `value`.
pub fn sip_option(key: &str, value: &str) -> Verdict {
    if QUIET.contains(&key) {
        return Verdict::Quiet;
    }
    if let Some((_, why)) = QUIET_WHEN_OFF.iter().find(|(k, _)| *k == key) {
        return match off(value) {
            true => Verdict::Quiet,
            false => Verdict::Missed(why),
        };
    }
    if key == "transport" {
        // `transport=udp` (also `udp,tcp` with UDP first) is what sipbox does.
        let first = value.split(',').next().unwrap_or("").trim();
        return match first.eq_ignore_ascii_case("udp") || first.is_empty() {
            true => Verdict::Quiet,
            false => Verdict::Missed("only UDP is supported; this entry is reached over UDP"),
        };
    }
    if key == "tcpbindaddr" || key.starts_with("tls") || key.starts_with("dtls") {
        // Only read when `tcpenable` / `tlsenable` / `dtlsenable` is on, which is warned.
        return Verdict::Quiet;
    }
    match MISSED.iter().find(|(k, _)| *k == key) {
        // `stunaddr =` with nothing after it asks for nothing.
        Some(_) if value.trim().is_empty() => Verdict::Quiet,
        Some((_, why)) => Verdict::Missed(why),
        None => Verdict::Unknown,
    }
}

/// True for values that leave the feature off (`no`, `0`, `off`, empty; `encryption=no`).
fn off(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "no" | "false" | "n" | "f" | "0" | "off" | "never"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        type Check = fn(Verdict) -> bool;
        let missed = |v: Verdict| matches!(v, Verdict::Missed(_));
        let cases: &[(&str, &str, Check)] = &[
            ("tos_sip", "cs3", |v| v == Verdict::Quiet),
            ("videosupport", "yes", |v| v == Verdict::Quiet),
            ("tcpenable", "no", |v| v == Verdict::Quiet),
            ("tcpenable", "yes", missed),
            ("tlsenable", "yes", missed),
            ("tlsenable", "no", |v| v == Verdict::Quiet),
            ("encryption", "yes", missed),
            ("transport", "udp", |v| v == Verdict::Quiet),
            ("transport", "udp,tcp", |v| v == Verdict::Quiet),
            ("transport", "tls", missed),
            ("port", "5060", missed),
            ("stunaddr", " ", |v| v == Verdict::Quiet),
            ("frobnicate", "1", |v| v == Verdict::Unknown),
        ];
        for (k, v, ok) in cases {
            assert!(ok(sip_option(k, v)), "{k}={v}: {:?}", sip_option(k, v));
        }
    }

    #[test]
    fn lists_are_lower_case_and_disjoint() {
        for k in QUIET {
            assert_eq!(*k, k.to_ascii_lowercase());
            assert!(!MISSED.iter().any(|(m, _)| m == k), "{k}");
            assert!(!QUIET_WHEN_OFF.iter().any(|(m, _)| m == k), "{k}");
        }
    }
}
