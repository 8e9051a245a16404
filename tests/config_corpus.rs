//! Real sip.conf / extensions.conf sets from public repositories (`tests/data/corpus/`, sources
//! in its README) go through the start-up path of the binary: `config::load` of the directory,
//! then `Engine::from_config` (the dialplan is built there). Every set Asterisk accepts must
//! start; the table says what each set is expected to load and warn about. Warnings about
//! unknown applications are not asserted on (applications are being added elsewhere); their
//! share is printed instead.
//!
//! `cargo test --test config_corpus -- --nocapture` prints every warning and the share of
//! extensions whose applications sipbox knows, with the missing application names.
#![allow(clippy::disallowed_methods)] // tests may read files and clocks

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sipbox::dialplan::apps::App;
use sipbox::dialplan::technologies;
use sipbox::engine::{Engine, Environment};

/// What one set must give.
struct Expect {
    /// Directory under `tests/data/corpus/`.
    name: &'static str,
    /// Users/peers/friends loaded from sip.conf.
    peers: usize,
    /// Contexts in the dialplan.
    contexts: usize,
    /// Each must occur in some warning (sip.conf, reader or dialplan).
    warns: &'static [&'static str],
    /// None of the warnings may contain these.
    never: &'static [&'static str],
    /// `Some(text)`: Asterisk refuses this set too; start-up must fail with this text.
    refuses: Option<&'static str>,
}

/// Warning texts no set of the corpus should produce: the reader rules fixed by issue 9.
const NEVER: &[&str] = &[
    "block comment never closed",
    "unknown option 'language'",
    "unknown option 'tos_",
    "unknown option 'videosupport'",
];

const SETS: &[Expect] = &[
    Expect {
        // `;--- SIP timers ---` dividers: refused before issue 9.
        name: "asterisk-1.6-era-samples",
        peers: 0,
        contexts: 23,
        warns: &[
            "unsupported directive 'switch'",
            "includes unknown context 'parkedcalls'",
        ],
        // [authentication] is read since issue 11.
        never: &["[authentication]"],
        refuses: None,
    },
    Expect {
        // configs/samples/ layout (16+), chan_sip still shipped; `[general]` options all quiet.
        name: "asterisk-modern-samples",
        peers: 0,
        contexts: 28,
        warns: &["includes unknown context 'iaxtel700'"],
        never: &[
            "unknown option",
            "ignored: SIP over",
            "'transport'",
            "[authentication]",
        ],
        refuses: None,
    },
    Expect {
        // Asterisk: "parse error: No category context for line 1".
        name: "coldline-fritzbox",
        peers: 0,
        contexts: 0,
        warns: &[],
        never: &[],
        refuses: Some("extensions.conf:1: 'exten' is outside any [section]"),
    },
    Expect {
        // `;-----` dividers, a lone `:` line, `s,PRIVMGR+101`, duplicate priority.
        name: "freepbx-2-framework",
        peers: 0,
        contexts: 36,
        warns: &[
            "extensions.conf:884: no '=' in ':': line ignored",
            "sip.conf:7: 'port' ignored: chan_sip's [general] port is bindport",
            "priority 4 of extension 's' in context 'macro-hangupcall' already used",
        ],
        never: &["PRIVMGR", "tos", "callerid"],
        refuses: None,
    },
    Expect {
        name: "gotrunk-itsp",
        peers: 3,
        contexts: 3,
        warns: &[
            "sip.conf:9: codec 'gsm' is not supported",
            "sip.conf:19: unknown option 'password' ignored",
        ],
        never: &[],
        refuses: None,
    },
    Expect {
        // `permit=PROVIDERIP/...` drops [provider] (chan_sip build_peer); `[111](internal)`
        // inherits `[Internal](!)` (categories match without case).
        name: "kopacb-templates",
        peers: 1,
        contexts: 2,
        warns: &[
            "sip.conf:221: bad value 'PROVIDERIP/255.255.255.252' for 'permit'",
            "[provider] not loaded",
            "'tcpenable' ignored: SIP over TCP is not supported",
            "sip.conf:188: unknown option 'alow' ignored",
        ],
        // externaddr and localnet are acted on (NAT rewriting).
        never: &["unknown template", "tcpbindaddr", "allowsubscribe", "externaddr", "localnet"],
        refuses: None,
    },
    Expect {
        name: "phonewave-huawei",
        peers: 1,
        contexts: 1,
        warns: &[
            "sip.conf:9: unknown option 'permit' ignored",
            "'_.' also matches",
        ],
        never: &["qualify", "canreinvite"],
        refuses: None,
    },
    Expect {
        // The repository's dialplan/*.conf are not copied: Asterisk refuses a missing include.
        name: "phreaknet-boilerplate",
        peers: 0,
        contexts: 0,
        warns: &[],
        never: &[],
        refuses: Some("extensions.conf:13: cannot read included file"),
    },
    Expect {
        name: "raspberrymatic-fritzbox",
        peers: 1,
        contexts: 1,
        warns: &[
            "sip.conf:24: unknown option 'contect' ignored",
            "unsupported [general] option 'exten' ignored",
        ],
        // register => is acted on since issue 11: no warning, no parse error.
        never: &["videosupport", "srvlookup", "directmedia", "register"],
        refuses: None,
    },
    Expect {
        name: "ru-lab-static-phones",
        peers: 3,
        contexts: 3,
        warns: &[],
        never: &["qualifyfreq"],
        refuses: None,
    },
    Expect {
        name: "stuartj-templates",
        peers: 5,
        contexts: 8,
        warns: &[
            "'t38pt_udptl' ignored: T.38 fax is not supported (said once)",
            "unknown option 'contactacl' ignored",
        ],
        // nat=auto_force_rport is understood as itself.
        never: &["allowoverlap", "use_q850_reason", "namedcallgroup", "auto_force_rport"],
        refuses: None,
    },
    Expect {
        // Every section sits inside `;-- ... --;` block comments, so nothing is defined.
        name: "atdg-book",
        peers: 0,
        contexts: 0,
        warns: &[],
        never: &[],
        refuses: None,
    },
    Expect {
        name: "ht503-fxo",
        peers: 4,
        contexts: 2,
        warns: &[
            "sip.conf:3: unknown option 'binaddr' ignored",
            "sip.conf:30: unknown option 'dtmf' ignored",
        ],
        never: &["insecure", "canreinvite"],
        refuses: None,
    },
    Expect {
        // `[options]` has no type: chan_sip's "Section 'options' lacks type" and goes on.
        name: "metalhearf-school",
        peers: 21,
        contexts: 6,
        warns: &[
            "sip.conf:7: [options] has no 'type=' (user, peer or friend); [options] not loaded",
            "unknown option 'careinvite' ignored",
        ],
        never: &[],
        refuses: None,
    },
    Expect {
        name: "msteams-tls-trunk",
        peers: 1,
        contexts: 3,
        warns: &[
            "sip.conf:4: 'tlsenable' ignored: SIP over TLS is not supported",
            "'transport' ignored: only UDP is supported",
            "'encryption' ignored: SRTP is not supported",
        ],
        never: &["tlsbindaddr", "tlscipher", "callerid"],
        refuses: None,
    },
    Expect {
        name: "octothorpe",
        peers: 2,
        contexts: 2,
        warns: &[],
        // remotesecret answers the peer's challenges since issue 11.
        never: &["remotesecret"],
        refuses: None,
    },
    Expect {
        // `same => _[+0-9]!,n,...`: pbx_config reads the priority as `_[` and skips the line.
        name: "openbts-rangenetworks",
        peers: 1,
        contexts: 9,
        warns: &["extensions.conf:76: invalid priority/label '_['; line skipped"],
        never: &["autocreatepeer", "cos_audio", "dynamic_exclude_static"],
        refuses: None,
    },
    Expect {
        // `# register => ...` is an unknown directive to Asterisk: a warning, not a refusal.
        name: "openwrt-sipgate",
        peers: 2,
        contexts: 7,
        warns: &[
            "sip.conf:37: unknown directive '# register => sipgate:password@sipgate.de/sipgate' ignored",
            "sip.conf:2: 'port' ignored",
        ],
        never: &["externhost", "rtautoclear", "subscribecontext"],
        refuses: None,
    },
    Expect {
        name: "kasadaka-rpi",
        peers: 0,
        contexts: 3,
        warns: &["sip.conf:3: 'port' ignored"],
        never: &[],
        refuses: None,
    },
    Expect {
        // `[office-phone] (!)`: Asterisk would make a peer of the would-be template.
        name: "ladyk-broadvoice",
        peers: 2,
        contexts: 6,
        warns: &[
            "sip.conf:15: space before '(' in '[office-phone] (...)'",
            "sip.conf:52: unknown option 'dtfm' ignored",
            "sip.conf:71: unknown option 'bindport' ignored",
        ],
        never: &["pedantic", "tcpenable"],
        refuses: None,
    },
    Expect {
        name: "openbts-danielo",
        peers: 0,
        contexts: 2,
        warns: &["sip.conf:2: 'port' ignored"],
        never: &["canreinvite"],
        refuses: None,
    },
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus")
}

/// What loading one set gave.
struct Loaded {
    peers: usize,
    contexts: usize,
    warnings: Vec<String>,
    /// Extensions, and those whose every priority names an application sipbox knows (and
    /// whose Dials name only technologies it dials).
    exts: (usize, usize),
    /// Unknown application name -> number of priorities using it.
    missing: BTreeMap<String, usize>,
}

/// The binary's start-up path, without sockets.
fn load(dir: &Path) -> Result<Loaded, String> {
    let cfg = sipbox::config::load(Some(dir), std::path::Path::new("/nonexistent"))
        .map_err(|e| e.to_string())?;
    let local: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
    let (engine, dp_warnings) =
        Engine::from_config(&cfg, local, Environment::fixed(Instant::now()))
            .map_err(|e| e.to_string())?;
    drop(engine);
    // The engine owns its dialplan; build the same one again to look inside.
    let (dp, _) =
        sipbox::dialplan::Dialplan::from_sections(&cfg.extensions).map_err(|e| e.to_string())?;
    let mut missing = BTreeMap::new();
    let (mut total, mut known) = (0, 0);
    for (_, ext) in dp.extensions() {
        total += 1;
        let mut all = true;
        for p in ext.prios.values() {
            let app = App::from_name(&p.app);
            if app.is_none() {
                all = false;
                *missing.entry(p.app.to_ascii_lowercase()).or_insert(0) += 1;
            }
            if matches!(app, Some(App::Dial)) {
                // A Dial whose every target is of a technology sipbox has not got does
                // nothing useful here: counted as missing `Dial(TECH/)`.
                for tech in technologies::named(&p.args) {
                    if !technologies::supported(tech) {
                        all = false;
                        let key = format!("dial({}/)", tech.to_ascii_uppercase());
                        *missing.entry(key).or_insert(0) += 1;
                    }
                }
            }
        }
        known += usize::from(all);
    }
    let contexts = cfg
        .extensions
        .iter()
        .filter(|s| !["general", "globals"].contains(&s.name.to_ascii_lowercase().as_str()))
        .map(|s| s.name.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut warnings = cfg.warnings.clone();
    warnings.extend(dp_warnings);
    Ok(Loaded {
        peers: cfg.sip.peers.len(),
        contexts,
        warnings,
        exts: (total, known),
        missing,
    })
}

/// Prints what every directory of the corpus gives, in the table or not (for adding a set:
/// `cargo test --test config_corpus -- --ignored --nocapture`).
#[test]
#[ignore]
fn report_every_directory() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match load(&dir) {
            Err(e) => println!("{name}: REFUSED: {e}"),
            Ok(l) => {
                println!("{name}: {} peers, {} contexts", l.peers, l.contexts);
                for w in l.warnings {
                    println!("    {}", w.replace(&format!("{}/", dir.display()), ""));
                }
            }
        }
    }
}

#[test]
fn every_corpus_set_is_in_the_table() {
    let mut dirs: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut names: Vec<String> = SETS.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(dirs, names);
}

#[test]
fn every_corpus_set_starts() {
    let mut failed = Vec::new();
    let mut started = 0;
    let mut refused = 0;
    let (mut exts, mut known) = (0, 0);
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    for set in SETS {
        let got = match (load(&corpus_dir().join(set.name)), set.refuses) {
            (Ok(l), None) => l,
            (Err(e), None) => {
                failed.push(format!("{}: does not start: {e}", set.name));
                continue;
            }
            (Err(e), Some(want)) => {
                println!("{}: refused, as by Asterisk: {e}", set.name);
                if !e.contains(want) {
                    failed.push(format!(
                        "{}: refused with '{e}', expected '{want}'",
                        set.name
                    ));
                }
                refused += 1;
                continue;
            }
            (Ok(_), Some(want)) => {
                failed.push(format!(
                    "{}: starts, but Asterisk refuses it ({want})",
                    set.name
                ));
                continue;
            }
        };
        started += 1;
        println!(
            "{}: {} peers, {} contexts, {} warnings, {}/{} extensions with known applications",
            set.name,
            got.peers,
            got.contexts,
            got.warnings.len(),
            got.exts.1,
            got.exts.0
        );
        for w in &got.warnings {
            println!("    {w}");
        }
        exts += got.exts.0;
        known += got.exts.1;
        for (app, n) in got.missing {
            *missing.entry(app).or_insert(0) += n;
        }
        if got.peers != set.peers {
            failed.push(format!(
                "{}: {} peers, expected {}",
                set.name, got.peers, set.peers
            ));
        }
        if got.contexts != set.contexts {
            failed.push(format!(
                "{}: {} contexts, expected {}",
                set.name, got.contexts, set.contexts
            ));
        }
        for want in set.warns {
            if !got.warnings.iter().any(|w| w.contains(want)) {
                failed.push(format!("{}: no warning with '{want}'", set.name));
            }
        }
        for bad in NEVER.iter().chain(set.never) {
            if let Some(w) = got.warnings.iter().find(|w| w.contains(bad)) {
                failed.push(format!("{}: unexpected warning: {w}", set.name));
            }
        }
        // Every warning names the file and line it is about.
        for w in &got.warnings {
            let loc = w.split(": ").next().unwrap_or("");
            let line = loc.rsplit(':').next().unwrap_or("");
            if !loc.contains(".conf:") || line.parse::<u32>().is_err() {
                failed.push(format!("{}: warning without file:line: {w}", set.name));
            }
        }
    }
    println!(
        "corpus: {started} of {} sets start; {refused} refused, as Asterisk refuses them",
        SETS.len()
    );
    if exts > 0 {
        println!(
            "corpus: {known} of {exts} extensions ({:.0} %) use only applications and Dial \
             technologies sipbox has",
            100.0 * known as f64 / exts as f64
        );
    }
    let mut by_use: Vec<_> = missing.into_iter().collect();
    by_use.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let list: Vec<String> = by_use.iter().map(|(a, n)| format!("{a} ({n})")).collect();
    println!(
        "corpus: applications missing (priorities): {}",
        list.join(", ")
    );
    assert!(failed.is_empty(), "{failed:#?}");
}
