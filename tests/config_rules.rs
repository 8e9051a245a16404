//! The reader rules of issue 9 end to end, through `config::load_str` and the dialplan, one
//! table per rule: what starts, what is refused, what each warning says and where.

use sipbox::config::load_str;
use sipbox::dialplan::Dialplan;

/// Loads both files; `Err` is the refusal text, `Ok` the warnings of every layer.
fn start(sip: &str, ext: &str) -> Result<(sipbox::config::Config, Dialplan, Vec<String>), String> {
    let cfg = load_str(sip, ext, None).map_err(|e| e.to_string())?;
    let (dp, dpw) = Dialplan::from_sections(&cfg.extensions).map_err(|e| e.to_string())?;
    let mut w = cfg.warnings.clone();
    w.extend(dpw);
    Ok((cfg, dp, w))
}

const EXT: &str = "[default]\nexten => 1,1,NoOp()\n";

#[test]
fn divider_and_block_comments() {
    // (sip.conf, peers expected)
    let cases = [
        (";----------\n[general]\n;--- x ---\n[a]\ntype=friend\n", 1),
        (";-- [a]\ntype=friend\n--;\n[b]\ntype=friend\n", 1),
        (";-- outer ;-- inner --; [a] --;\n[b]\ntype=peer\n", 1),
        ("[a]\ntype=peer\n;----;\n[b]\ntype=peer\n", 2),
    ];
    for (sip, peers) in cases {
        let (cfg, _, w) = start(sip, EXT).expect(sip);
        assert_eq!(cfg.sip.peers.len(), peers, "{sip}");
        assert!(w.is_empty(), "{sip}: {w:?}");
    }
    let (cfg, _, w) = start("[a]\ntype=peer\n;-- never closed\n[b]\ntype=peer\n", EXT).unwrap();
    assert_eq!(
        cfg.sip.peers.len(),
        1,
        "the rest of the file is comment, as in Asterisk"
    );
    assert_eq!(
        w,
        ["sip.conf:3: ';--' block comment never closed with '--;': the rest of the file is comment"]
    );
}

#[test]
fn what_refuses_and_what_warns() {
    // (sip.conf, extensions.conf, Err(refusal) or Ok(warning substrings in order))
    type Want = Result<&'static [&'static str], &'static str>;
    let cases: &[(&str, &str, Want)] = &[
        (
            "bindport=5060\n[general]\n",
            EXT,
            Err("sip.conf:1: 'bindport' is outside any [section]"),
        ),
        (
            "[general]\n",
            "exten => s,1,NoOp()\n",
            Err("extensions.conf:1: 'exten' is outside any [section]"),
        ),
        (
            "[a](nope)\n",
            EXT,
            Err("sip.conf:1: unknown template 'nope' in '[a]'"),
        ),
        (
            "[general]\n#include sip_custom.conf\n",
            EXT,
            Err("sip.conf:2: #include 'sip_custom.conf' is not possible"),
        ),
        (
            "[general]\nnat=route\n",
            EXT,
            Ok(&["sip.conf:2: nat=route taken as force_rport"]),
        ),
        (
            "[general]\nbindport=<LPORT>\n",
            EXT,
            Ok(&["sip.conf:2: bad value '<LPORT>' for 'bindport'"]),
        ),
        (
            "[general]\nregister => nobody\n",
            EXT,
            Ok(&["sip.conf:2: bad register line 'nobody'"]),
        ),
        (
            "[t]\ntype=peer\npermit=PROVIDERIP/255.255.255.0\n",
            EXT,
            Ok(&[
                "sip.conf:3: bad value 'PROVIDERIP/255.255.255.0' for 'permit'",
                "[t] not loaded",
            ]),
        ),
        (
            "[general]\n# register => a:b@c\n",
            EXT,
            Ok(&["sip.conf:2: unknown directive '# register => a:b@c' ignored"]),
        ),
        (
            "[general]\n",
            "[c]\n#exten => 1,1,NoOp()\n",
            Ok(&["extensions.conf:2: unknown directive '#exten"]),
        ),
        (
            "[general]\n",
            "[c]\nexten => ,1,NoOp()\n",
            Ok(&["extensions.conf:2: empty extension name; line skipped"]),
        ),
        (
            "[general]\n",
            "[c]\nSAME = GOTO(c,s,1)\n",
            Ok(&["extensions.conf:2: no previous 'exten =>'"]),
        ),
        (
            "[general]\n",
            "[c]\ninclude => d,alaw\n[d]\n",
            Ok(&["extensions.conf:2: ", "; line skipped"]),
        ),
        (
            "[general]\n",
            "[c]\nexten => 1,x,NoOp()\n",
            Ok(&["extensions.conf:2: invalid priority/label 'x'; line skipped"]),
        ),
        (
            "[general]\ntos_sip=cs3\nlanguage=de\nvideosupport=yes\n",
            EXT,
            Ok(&[]),
        ),
    ];
    for (sip, ext, want) in cases {
        match (start(sip, ext), want) {
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{sip}{ext}: {got}"),
            (Ok((_, _, w)), Ok(parts)) => {
                let all = w.join("\n");
                let mut at = 0;
                for p in *parts {
                    let found = all[at..]
                        .find(p)
                        .unwrap_or_else(|| panic!("{sip}{ext}: '{p}' not in {w:?}"));
                    at += found + p.len();
                }
                if parts.is_empty() {
                    assert!(w.is_empty(), "{sip}{ext}: {w:?}");
                }
            }
            (got, want) => panic!("{sip}{ext}: got {:?}, want {want:?}", got.map(|r| r.2)),
        }
    }
}

#[test]
fn names_and_case() {
    let sip = "[General]\ncontext=from-phones\n[general](+)\nallowguest=no\n\
               [Phone](!)\ntype=friend\nhost=dynamic\n[Alice](phone)\nsecret=x\n[ALICE](+)\ncallerid=A <1>\n";
    let ext = "[from-phones]\nexten => 1,1,NoOp()\n[From-Phones]\nexten => 2,1,NoOp()\n\
               [GLOBALS]\nX=1\n[General]\nautofallthrough=no\n";
    let (cfg, dp, w) = start(sip, ext).expect("starts");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(cfg.sip.general.context, "from-phones");
    assert!(!cfg.sip.general.allow_guest);
    assert_eq!(cfg.sip.peers.len(), 1);
    let alice = cfg.sip.peer("alice").expect("found without case");
    assert_eq!(
        alice.callerid.as_ref().and_then(|c| c.number.as_deref()),
        Some("1")
    );
    let settings = sipbox::config::settings::Settings::new(cfg.sip.general.clone(), cfg.sip.peers);
    assert!(settings.entry("ALICE").is_some());
    // Contexts are case-sensitive in Asterisk's pbx.c; [globals] and [general] are not.
    assert!(dp.has_context("from-phones") && dp.has_context("From-Phones"));
    assert!(!dp.has_context("FROM-PHONES"));
    assert_eq!(dp.global("X"), Some("1"));
}

#[test]
fn priority_arithmetic_end_to_end() {
    let ext = "[c]\nexten => 100,1(start),NoOp()\n same => n+2,NoOp()\n same => start+101,NoOp()\n\
               exten => 100,1+199,NoOp()\nexten => 100,hint,SIP/100\nexten => 200,1,NoOp()\n same => s+5,NoOp()\n";
    let (_, dp, w) = start("[general]\n", ext).expect("starts");
    assert!(w.is_empty(), "{w:?}");
    let prios: Vec<u32> = dp
        .extensions()
        .filter(|(_, e)| e.name.text == "100")
        .flat_map(|(_, e)| e.prios.keys().copied().collect::<Vec<_>>())
        .collect();
    assert_eq!(prios, [1, 4, 102, 200]);
    let two: Vec<u32> = dp
        .extensions()
        .filter(|(_, e)| e.name.text == "200")
        .flat_map(|(_, e)| e.prios.keys().copied().collect::<Vec<_>>())
        .collect();
    assert_eq!(two, [1, 6]);
}
