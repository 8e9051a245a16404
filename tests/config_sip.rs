//! Typed sip.conf / rtp.conf through `config::load`: defaults, the embedded examples, a
//! realistic chan_sip admin config, warnings exactly once.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sipbox::config::codec::Codec;
use sipbox::config::reader::read_str;
use sipbox::config::sip_peer::Kind;
use sipbox::config::sip_values::Host;
use sipbox::config::values::Warnings;
use sipbox::config::{self, ConfigSource, RtpConf, SipConf};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "sipbox-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(name), text).expect("write");
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sip(text: &str) -> Result<(SipConf, Vec<String>), String> {
    let s = read_str("sip.conf", text, None).map_err(|e| e.to_string())?;
    let mut w = Warnings::default();
    let c = SipConf::from_sections(&s, &mut w).map_err(|e| e.to_string())?;
    Ok((c, w.into_vec()))
}

#[test]
fn embedded_examples_load_with_users() {
    let c =
        config::load(None, std::path::Path::new("/nonexistent")).expect("built-in config loads");
    assert_eq!(c.source, ConfigSource::Embedded);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // http.conf.example: the status page on loopback, Asterisk's port.
    assert!(c.http.enabled);
    assert_eq!(c.http.bind, "127.0.0.1:8088".parse().unwrap());
    let g = &c.sip.general;
    assert_eq!(g.bind.port(), 5060);
    assert_eq!(g.context, "default");
    assert!(!g.allow_guest);
    assert!(g.always_auth_reject);
    assert_eq!(g.realm, "sipbox");
    assert_eq!(g.codecs, [Codec::Ulaw, Codec::Alaw]);
    let names: Vec<_> = c.sip.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["1001", "1002", "1003"]);
    for (name, secret, cid) in [
        ("1001", "1001pass", "Alice"),
        ("1002", "1002pass", "Bob"),
        ("1003", "1003pass", "Carol"),
    ] {
        let p = c.sip.peer(name).expect("user present");
        assert_eq!(p.kind, Kind::Friend);
        assert_eq!(p.secret.as_deref(), Some(secret));
        assert_eq!(p.host, Host::Dynamic);
        assert_eq!(p.context, "internal");
        assert_eq!(p.qualify, Some(Duration::from_millis(2000)));
        assert!(p.nat.force_rport && p.nat.comedia);
        assert_eq!(p.codecs, [Codec::Ulaw, Codec::Alaw]);
        let callerid = p.callerid.clone().expect("callerid");
        assert_eq!(callerid.name.as_deref(), Some(cid));
        assert_eq!(callerid.number.as_deref(), Some(name));
    }
    let contexts: Vec<_> = c.extensions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(contexts, ["general", "globals", "internal", "default"]);
    let internal = &c.extensions[2];
    let steps: Vec<_> = internal
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.arrow))
        .collect();
    assert_eq!(steps.first(), Some(&("exten", true)));
    assert_eq!(
        internal.all("exten").next().map(|e| e.value.as_str()),
        Some("_100X,1,Dial(SIP/${EXTEN},30)")
    );
    assert_eq!(c.rtp, RtpConf::default());
    // The shipped rtp.conf example states the defaults.
    let rtp = read_str("rtp.conf", config::EXAMPLE_RTP_CONF, None).expect("rtp example");
    let mut w = Warnings::default();
    assert_eq!(RtpConf::from_sections(&rtp, &mut w), Ok(RtpConf::default()));
}

#[test]
fn load_from_dir_matches_embedded_and_rtp_is_optional() {
    let d = TempDir::new("load");
    d.write("sip.conf", config::EXAMPLE_SIP_CONF)
        .write("extensions.conf", config::EXAMPLE_EXTENSIONS_CONF);
    let c = config::load(Some(d.path()), std::path::Path::new("/nonexistent")).expect("loads");
    let e = config::load(None, std::path::Path::new("/nonexistent")).expect("loads");
    assert_eq!(c.sip.general, e.sip.general);
    assert_eq!(c.sip.peers.len(), e.sip.peers.len());
    for (a, b) in c.sip.peers.iter().zip(&e.sip.peers) {
        assert_eq!(
            (&a.name, &a.secret, &a.codecs),
            (&b.name, &b.secret, &b.codecs)
        );
        assert_eq!(a.loc.line, b.loc.line);
        assert!(a.loc.file.ends_with("sip.conf"));
    }
    assert_eq!(c.rtp, RtpConf::default());
    assert_eq!(c.source, ConfigSource::Dir(d.path().to_path_buf()));
    d.write("rtp.conf", "[general]\nrtpstart=40000\nrtpend=40100\n");
    let c = c.reload().expect("reloads");
    assert_eq!((c.rtp.rtp_start, c.rtp.rtp_end), (40000, 40100));

    let only_sip = TempDir::new("noext");
    only_sip.write("sip.conf", "[general]\n");
    let err = config::load(Some(only_sip.path()), std::path::Path::new("/nonexistent"))
        .expect_err("extensions.conf required");
    assert!(
        err.to_string().contains("extensions.conf: cannot read"),
        "{err}"
    );
}

#[test]
fn general_defaults() {
    let (c, w) = sip("[general]\n").expect("loads");
    assert!(w.is_empty());
    let g = &c.general;
    assert_eq!(g.bind.to_string(), "0.0.0.0:5060");
    assert_eq!(g.context, "default");
    assert_eq!(g.realm, "sipbox");
    // Safe defaults, deliberately unlike chan_sip's (README: Security): no guests.
    assert!(!g.allow_guest && g.always_auth_reject);
    assert_eq!(g.default_expiry, Duration::from_secs(120));
    assert_eq!(g.min_expiry, Duration::from_secs(60));
    assert_eq!(g.max_expiry, Duration::from_secs(3600));
    assert_eq!(g.user_agent, "sipbox");
    assert_eq!(g.timer_t1, Duration::from_millis(500));
    assert_eq!(g.timer_b, Duration::from_millis(32000));
    // A call whose media stopped is cleared (chan_sip: never).
    assert_eq!(g.rtp_timeout, Some(Duration::from_secs(60)));
    assert_eq!(g.rtp_hold_timeout, Some(Duration::from_secs(300)));
    assert_eq!(g.sounds_dir, Path::new("/usr/share/asterisk/sounds/en"));
    assert_eq!(g.qualify_freq, Duration::from_secs(60));
    assert_eq!((g.max_calls, g.max_registrations), (1000, 100_000));
    assert!(c.peers.is_empty());
}

#[test]
fn allow_disallow_order_general_then_entry() {
    let (c, _) = sip("[general]\ndisallow=all\nallow=alaw\nallow=ulaw\n\
         [a]\ntype=peer\n\
         [b]\ntype=peer\nallow=g722\ndisallow=alaw\n\
         [c]\ntype=peer\ndisallow=all\nallow=g722,alaw\n")
    .expect("loads");
    assert_eq!(c.general.codecs, [Codec::Alaw, Codec::Ulaw]);
    assert_eq!(
        c.peer("a").map(|p| p.codecs.clone()),
        Some(vec![Codec::Alaw, Codec::Ulaw])
    );
    assert_eq!(
        c.peer("b").map(|p| p.codecs.clone()),
        Some(vec![Codec::Ulaw, Codec::G722])
    );
    assert_eq!(
        c.peer("c").map(|p| p.codecs.clone()),
        Some(vec![Codec::G722, Codec::Alaw])
    );
    // Asterisk warns about an unknown format and applies the rest of the list.
    let (c, w) = sip("[general]\ndisallow=all\nallow=ulaw\nallow=speexy,alaw\n").expect("loads");
    assert_eq!(c.general.codecs, [Codec::Ulaw, Codec::Alaw]);
    assert_eq!(
        w,
        ["sip.conf:4: bad value 'speexy,alaw' for 'allow': unknown codec 'speexy'; ignored"]
    );
}

/// chan_sip logs a bad value and keeps the default; it drops an entry without a type or
/// with a bad ACL. Every such case is a warning naming `file:line`, and the rest loads.
#[test]
fn bad_values_name_file_and_line() {
    let cases = [
        ("[general]\nbindport=fivethousand\n", "sip.conf:2: bad value 'fivethousand' for 'bindport': expected a port number 0-65535; ignored", 0),
        ("[general]\nallowguest=perhaps\n", "sip.conf:2: bad value 'perhaps' for 'allowguest': expected yes or no; ignored", 0),
        ("[general]\n[x]\nsecret=s\n", "sip.conf:2: [x] has no 'type=' (user, peer or friend); [x] not loaded", 0),
        ("[x]\ntype=friend\ndeny=10.0.0.0/255.0.255.0.1\n", "sip.conf:3: bad value '10.0.0.0/255.0.255.0.1' for 'deny': '255.0.255.0.1' is not a netmask for '10.0.0.0'; [x] not loaded", 0),
        ("[x]\ntype=friend\npermit=PROVIDERIP/255.255.255.0\n[y]\ntype=peer\n", "sip.conf:3: bad value 'PROVIDERIP/255.255.255.0' for 'permit': 'PROVIDERIP' is not an IP address; [x] not loaded", 1),
        ("[x]\ntype=phone\n", "sip.conf:2: bad value 'phone' for 'type': expected user, peer or friend; [x] not loaded", 0),
        ("[general]\nregister => <user>\n", "sip.conf:2: bad register line '<user>': missing '@host' (expected [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/extension][~expiry]); ignored", 0),
    ];
    for (text, want, peers) in cases {
        let (c, w) = sip(text).expect(text);
        assert_eq!(w, [want], "{text}");
        assert_eq!(c.peers.len(), peers, "{text}");
    }
}

#[test]
fn template_unknown_options_warn_once() {
    let (c, w) = sip(
        "[general]\nlanguage=en\n[t](!)\ntype=friend\nsubscribecontext=blf\nlangauge=en\n\
         setvar=A=1\n[1](t)\n[2](t)\n[3](t)\ncallgroup=1\nsetvar=B=2\n",
    )
    .expect("loads");
    assert_eq!(c.peers.len(), 3);
    // language, subscribecontext, callgroup: quiet (nothing observable changes); a typo is
    // warned once per line even though three entries inherit it; setvar once per name.
    assert_eq!(
        w,
        [
            "sip.conf:6: unknown option 'langauge' ignored",
            "sip.conf:7: 'setvar' ignored: channel variables from sip.conf are not set on calls (said once)",
        ]
    );
}

const ADMIN_SIP_CONF: &str = r#"
; sip.conf as a chan_sip admin writes it (Asterisk 11 era)
[general]
context=from-guest              ; default context for incoming calls
allowoverlap=no
udpbindaddr=0.0.0.0:5060
tcpenable=no
tcpbindaddr=0.0.0.0
transport=udp
srvlookup=yes
allowguest=no
alwaysauthreject=yes
language=en
disallow=all
allow=ulaw
allow=alaw
allow=gsm
dtmfmode=rfc2833
relaxdtmf=yes
sdpsession=Asterisk PBX
useragent=Asterisk PBX
videosupport=no
nat=force_rport,comedia
externip=203.0.113.10
localnet=192.168.0.0/255.255.0.0
directmedia=no
rtptimeout=60
rtpholdtimeout=300
registertimeout=20
registerattempts=0
defaultexpiry=3600
maxexpiry=7200
minexpiry=60
qualifyfreq=60
register => 4420001:trunkpass@sip.provider.example/4420001

[authentication]

[office-phone](!)
type=friend
host=dynamic
context=from-internal
dtmfmode=rfc2833
directmedia=no
canreinvite=no
qualify=yes
nat=yes
call-limit=4
deny=0.0.0.0/0.0.0.0
permit=192.168.10.0/255.255.255.0
contactdeny=0.0.0.0/0.0.0.0
contactpermit=192.168.10.0/24
mailbox=200@default
language=en
subscribecontext=blf
callgroup=1
pickupgroup=1
disallow=all
allow=ulaw
allow=g722

[200](office-phone)
secret=Xy7sec\;ret
callerid="Front Desk" <200>

[201](office-phone)
secret=q1w2e3r4
callerid=Sales <201>
qualify=3000

[202](office-phone)
md5secret=5f4dcc3b5aa765d61d8327deb882cf99
callerid=202
insecure=no

[provider]
type=peer
host=sip.provider.example
port=5060
fromuser=4420001
fromdomain=sip.provider.example
defaultuser=4420001
secret=trunkpass
insecure=port,invite
context=from-trunk
qualify=no
disallow=all
allow=alaw
"#;

#[test]
fn realistic_admin_sip_conf_loads() {
    let (c, w) = sip(ADMIN_SIP_CONF).expect("an Asterisk admin's sip.conf loads");
    let g = &c.general;
    assert_eq!(g.bind.to_string(), "0.0.0.0:5060");
    assert_eq!(g.context, "from-guest");
    assert!(!g.allow_guest);
    assert_eq!(g.user_agent, "Asterisk PBX");
    assert_eq!(g.codecs, [Codec::Ulaw, Codec::Alaw]);
    assert_eq!(g.rtp_timeout, Some(Duration::from_secs(60)));
    assert_eq!(g.max_expiry, Duration::from_secs(7200));
    assert_eq!(c.registrations.len(), 1);
    assert_eq!(c.registrations[0].host, "sip.provider.example");

    let names: Vec<_> = c.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["200", "201", "202", "provider"]);
    let p200 = c.peer("200").expect("200");
    assert_eq!(p200.secret.as_deref(), Some("Xy7sec;ret"));
    assert_eq!(p200.context, "from-internal");
    assert_eq!(p200.call_limit, Some(4));
    assert_eq!(p200.codecs, [Codec::Ulaw, Codec::G722]);
    assert!(p200.acl.allows("192.168.10.20".parse().expect("ip")));
    assert!(!p200.acl.allows("192.168.11.20".parse().expect("ip")));
    assert!(!p200.contact_acl.allows("8.8.8.8".parse().expect("ip")));
    assert_eq!(p200.directmedia.as_deref(), Some("no"));
    assert_eq!(
        c.peer("201").and_then(|p| p.qualify),
        Some(Duration::from_millis(3000))
    );
    assert_eq!(
        c.peer("202").and_then(|p| p.md5secret.clone()).as_deref(),
        Some("5f4dcc3b5aa765d61d8327deb882cf99")
    );
    let trunk = c.peer("provider").expect("trunk");
    assert_eq!(trunk.kind, Kind::Peer);
    assert!(trunk.insecure.port && trunk.insecure.invite);
    assert_eq!(trunk.codecs, [Codec::Alaw]);
    assert_eq!(
        trunk.directmedia.as_deref(),
        Some("no"),
        "general's default"
    );
    assert_eq!(trunk.dtmfmode.as_str(), "rfc2833");
    assert_eq!(
        trunk.host,
        Host::Static {
            host: "sip.provider.example".into(),
            ip: None,
            port: 5060
        }
    );

    // Every warning is for a distinct line, and the ignored options are all named.
    let mut lines: Vec<_> = w
        .iter()
        .map(|m| m.split(": ").next().unwrap_or(""))
        .collect();
    lines.sort();
    let before = lines.len();
    lines.dedup();
    assert_eq!(before, lines.len(), "{w:#?}");
    // Quiet now: these change nothing observable in sipbox (formerly "unknown option").
    for opt in [
        "transport",
        "srvlookup",
        "relaxdtmf",
        "sdpsession",
        "videosupport",
        "subscribecontext",
        "language",
        "tcpbindaddr",
    ] {
        assert!(
            !w.iter().any(|m| m.contains(&format!("'{opt}'"))),
            "{opt}: {w:#?}"
        );
    }
    // externip and localnet are acted on (NAT rewriting): nothing to warn about.
    for opt in ["externip", "localnet"] {
        assert!(
            !w.iter().any(|m| m.contains(&format!("'{opt}'"))),
            "{opt}: {w:#?}"
        );
    }
    assert!(w
        .iter()
        .any(|m| m.ends_with("codec 'gsm' is not supported by sipbox, ignored")));
    // Since issue 11 the register line and [authentication] are acted on, without a word.
    assert!(!w.iter().any(|m| m.contains("register")), "{w:#?}");
    assert!(!w.iter().any(|m| m.contains("[authentication]")), "{w:#?}");
    assert_eq!(c.registrations.len(), 1);
    assert_eq!(c.registrations[0].extension.as_deref(), Some("4420001"));
    assert!(!w.iter().any(|m| m.contains("mailbox")));
}

/// Mutations of the example sip.conf (every value replaced by junk, one at a time) give an
/// error or a config, never a panic.
#[test]
fn mutated_values_never_panic() {
    let lines: Vec<&str> = ADMIN_SIP_CONF.lines().collect();
    let junk = [
        "",
        "-1",
        "99999999999",
        "[",
        "::",
        "a,b,,c",
        "/",
        "\"",
        "<",
        "yes,no",
        "0",
    ];
    for i in 0..lines.len() {
        let Some((key, _)) = lines[i].split_once('=') else {
            continue;
        };
        for j in junk {
            let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            text[i] = format!("{key}={j}");
            let _ = sip(&text.join("\n"));
        }
    }
}

#[test]
fn parking_lots_come_from_features_conf_and_res_parking_conf() {
    let d = TempDir::new("parking");
    d.write("sip.conf", config::EXAMPLE_SIP_CONF)
        .write(
            "extensions.conf",
            "[internal]\ninclude => parkedcalls\nexten => 1,1,NoOp()\n",
        )
        .write(
            "features.conf",
            "[general]\npickupexten = *8\nparkext => 700\nparkpos => 701-720\n\
             context => parkedcalls\nparkingtime => 45\n",
        )
        .write(
            "res_parking.conf",
            "[default]\nparkingtime => 60\n[sales]\nparkext => 800\nparkpos => 801-805\n\
             context => sales_park\nfindslot => sideways\n",
        );
    let c = config::load(Some(d.path()), std::path::Path::new("/nonexistent")).expect("loads");
    let lot = c.parking.default_lot();
    assert_eq!(lot.positions, (701, 720), "features.conf");
    assert_eq!(lot.parking_time.as_secs(), 60, "res_parking.conf wins");
    assert!(c.parking.lot("sales").is_some());
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("res_parking.conf:7: bad value 'sideways' for 'findslot'"),
        "{:?}",
        c.warnings
    );
    let (dp, w) = sipbox::dialplan::Dialplan::from_sections(&c.dialplan_sections()).unwrap();
    assert!(w.is_empty(), "parkedcalls exists now: {w:?}");
    let now = std::time::SystemTime::UNIX_EPOCH;
    assert!(
        dp.exists("internal", "700", 1, "", now),
        "through the include"
    );
    assert!(dp.exists("internal", "720", 1, "", now));
    assert!(!dp.exists("internal", "721", 1, "", now));
    assert!(dp.exists("sales_park", "805", 1, "", now));
}
