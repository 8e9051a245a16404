//! sip.conf as a whole: `[general]` ([`General`]), every user/peer/friend ([`SipPeer`]) and the
//! `register =>` lines ([`Registration`]).
//!
//! Repeated sections of one name are merged in order (case-insensitively: chan_sip's peer
//! table compares names without case), as chan_sip re-applies a peer it already knows.
//! `[authentication]` is skipped with a warning. Nothing in sip.conf stops start-up once the
//! reader accepted the file: chan_sip logs bad values, malformed `register =>` lines and
//! unusable entries and loads the rest, and so do we (warnings with `file:line`).
//!
//! Reference: Asterisk 11 `configs/sip.conf.sample` and `reload_config` / `build_peer` in
//! `channels/chan_sip.c`, whose option names, values and defaults we keep.

use super::nocase::NoCase;
use super::raw::{ConfigError, Entry, Section};
pub use super::register_line::{RealmAuth, RealmSecret, Registration};
use super::sip_general::General;
use super::sip_peer::{PeerCommon, SipPeer};
use super::sip_peer_memo::Memo;
use super::values::Warnings;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Typed sip.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipConf {
    /// `[general]`.
    pub general: General,
    /// Users, peers and friends in file order, one per name.
    pub peers: Vec<SipPeer>,
    /// `register =>` lines of `[general]`: outbound registrations.
    pub registrations: Vec<Registration>,
    /// `auth =` lines of `[authentication]`: our credentials by realm.
    pub realm_auth: Vec<RealmAuth>,
}

impl SipConf {
    /// Builds the typed settings from the sections the reader produced. Nothing of them is
    /// copied (a repeated name is joined into one section, the only copy): the caller may
    /// keep the raw sections where they are and drop them all at once.
    pub fn from_sections(
        sections: &[Section],
        warnings: &mut Warnings,
    ) -> Result<SipConf, ConfigError> {
        let merged = merge(sections);
        // `[general]` first, wherever it was: every entry is built with all of it.
        let general_at = merged
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case("general"));
        let general_entries: &[Entry] = match general_at {
            Some(i) => &merged[i].entries,
            None => &[],
        };
        let general = General::parse(general_entries.iter(), warnings)?;
        let mut registrations = Vec::new();
        for e in general_entries
            .iter()
            .filter(|e| e.key.eq_ignore_ascii_case("register"))
        {
            // chan_sip's `sip_register` logs a malformed line and reads on.
            match Registration::parse(e, warnings) {
                Ok(r) => registrations.push(r),
                Err(err) => warnings.ignored(err),
            }
        }
        let mut realm_auth = Vec::new();
        let mut peers = Vec::with_capacity(merged.len());
        let mut recent = Vec::with_capacity(RECENT);
        let mut memo = Memo::default();
        for (i, s) in merged.iter().enumerate() {
            if Some(i) == general_at {
                continue;
            }
            if s.name.eq_ignore_ascii_case("authentication") {
                // chan_sip reads only `auth =` lines there.
                for e in &s.entries {
                    if !e.key.eq_ignore_ascii_case("auth") {
                        warnings.unknown(e);
                        continue;
                    }
                    match RealmAuth::parse(e) {
                        Ok(a) => realm_auth.push(a),
                        Err(err) => warnings.ignored(err),
                    }
                }
                continue;
            }
            // chan_sip's `reload_config` skips a section without a usable type and
            // `build_peer` drops an entry with a bad ACL or host; the others still load.
            match SipPeer::parse_shared(s, &general, warnings, &mut memo) {
                Ok(mut p) => {
                    share(&mut recent, &mut p.common);
                    peers.push(p)
                }
                Err(err) => warnings.at(
                    err.loc.as_ref().unwrap_or(&s.loc),
                    format!("{}; [{}] not loaded", err.msg, s.name),
                ),
            }
        }
        peers.shrink_to_fit();
        Ok(SipConf {
            general,
            peers,
            registrations,
            realm_auth,
        })
    }

    /// Gives the entries' and `register =>` lines' places copies of the file names of their
    /// own, so nothing typed points into the memory the raw sections were read into (which
    /// `aside.rs` frees on the thread that read them).
    pub fn own_file_names(&mut self) {
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut own = |file: &mut Arc<str>| match names.iter().find(|n| ***n == **file) {
            Some(n) => *file = n.clone(),
            None => {
                *file = Arc::from(&**file);
                names.push(file.clone());
            }
        };
        for p in &mut self.peers {
            own(&mut p.loc.file);
        }
        for r in &mut self.registrations {
            own(&mut r.loc.file);
        }
    }

    /// The user/peer/friend called `name` (case-insensitive, as chan_sip).
    pub fn peer(&self, name: &str) -> Option<&SipPeer> {
        self.peers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// How many distinct [`PeerCommon`]s are kept to compare new entries with.
const RECENT: usize = 8;

/// Makes `common` the copy an earlier entry with equal values has: users of one template
/// come in runs, so the last few distinct ones are compared; a new one joins them.
fn share(recent: &mut Vec<Arc<PeerCommon>>, common: &mut Arc<PeerCommon>) {
    // The memo's copy (`sip_peer_memo.rs`) is found by address, before any comparison.
    if let Some(same) = recent
        .iter()
        .find(|r| Arc::ptr_eq(r, common))
        .or_else(|| recent.iter().find(|r| ***r == **common))
    {
        *common = same.clone();
        return;
    }
    if recent.len() == RECENT {
        recent.remove(0);
    }
    recent.push(common.clone());
}

/// Sections of one name joined in first-seen order (indexed by name without case: a
/// sip.conf of 10 000 entries is merged in linear time). A name seen once is borrowed; only
/// a repeated one is copied into one joined section.
fn merge(sections: &[Section]) -> Vec<Cow<'_, Section>> {
    // Where each section goes: its own place, or the first section of its name.
    let mut first: HashMap<NoCase<'_>, usize> = HashMap::with_capacity(sections.len());
    let leader: Vec<usize> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| *first.entry(NoCase(&s.name)).or_insert(i))
        .collect();
    drop(first);
    let mut out: Vec<Cow<'_, Section>> = Vec::with_capacity(sections.len());
    let mut place = vec![usize::MAX; sections.len()];
    for (i, s) in sections.iter().enumerate() {
        if leader[i] == i {
            place[i] = out.len();
            out.push(Cow::Borrowed(s));
        } else {
            out[place[leader[i]]]
                .to_mut()
                .entries
                .extend(s.entries.iter().cloned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::reader::read_str;
    use super::*;

    fn conf(text: &str) -> Result<(SipConf, Vec<String>), String> {
        let s = read_str("sip.conf", text, None).map_err(|e| e.to_string())?;
        let mut w = Warnings::default();
        let c = SipConf::from_sections(&s, &mut w).map_err(|e| e.to_string())?;
        Ok((c, w.into_vec()))
    }

    #[test]
    fn register_lines() {
        let (c, w) = conf(
            "[general]\nregister => 2000:pw@sip.example.com:5061/1001\n\
             register => udp://alice@example.org:pw:authy@10.0.0.1~300\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let r = &c.registrations[0];
        assert_eq!(
            (
                r.user.as_str(),
                r.secret.as_deref(),
                r.host.as_str(),
                r.port
            ),
            ("2000", Some("pw"), "sip.example.com", Some(5061))
        );
        assert_eq!(r.extension.as_deref(), Some("1001"));
        let r = &c.registrations[1];
        assert_eq!(r.user, "alice");
        assert_eq!(r.domain.as_deref(), Some("example.org"));
        assert_eq!(r.authuser.as_deref(), Some("authy"));
        assert_eq!(r.expiry, Some(300));
        // A malformed line is a warning and dropped, as chan_sip's sip_register does.
        let (c, w) = conf("[general]\nregister => nohost\nregister => u@h:99999\n").unwrap();
        assert!(c.registrations.is_empty());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("sip.conf:2: bad register line 'nohost': missing '@host'"));
        assert!(w[1].starts_with("sip.conf:3: bad register line 'u@h:99999': bad port"));
    }

    /// The users of a template share one `PeerCommon`, built once (`sip_peer_memo.rs`); every
    /// warning is still given at its own line, and a difference in a shared option is seen.
    #[test]
    fn template_users_share_and_still_warn_at_every_line() {
        const TEXT: &str = "[t](!)\ntype=friend\nallow=ulaw\nhost=dynamic\n\
             [a](t)\nsecret=1\nport=x\n[b](t)\nsecret=2\n[c](t)\nsecret=3\nport=y\n\
             [d](t)\ndtmfmode=bad\n[e](t)\ndtmfmode=bad\n[f](t)\ncontext=other\n\
             [g](t)\nhost=10.0.0.1:5070\n[h](t)\n\
             [t2](!)\ntype=friend\ndtmfmode=bad\n[x](t2)\n[y](t2)\n[z]\ntype=friend\ndtmfmode=bad\n";
        let (c, w) = conf(TEXT).unwrap();
        let lines: Vec<&str> = w.iter().map(|w| w.split(' ').next().unwrap()).collect();
        assert_eq!(
            lines,
            [
                "sip.conf:7:",
                "sip.conf:12:",
                "sip.conf:14:",
                "sip.conf:16:",
                "sip.conf:24:",
                "sip.conf:29:"
            ],
            "{w:?}"
        );
        let p = |n: &str| c.peer(n).unwrap();
        assert!(Arc::ptr_eq(&p("b").common, &p("c").common));
        assert!(Arc::ptr_eq(&p("a").common, &p("h").common));
        assert_eq!(p("c").secret.as_deref(), Some("3"));
        assert_eq!(p("f").context, "other");
        assert_eq!(p("h").context, "default");
        assert!(p("g").port_given && !p("h").port_given);
        assert!(!p("g").is_dynamic() && p("h").is_dynamic());
        assert_eq!(p("h").codecs, p("a").codecs);
        // Each entry read alone (nothing to share) is the same peer.
        let s = read_str("sip.conf", TEXT, None).unwrap();
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "x", "y", "z"] {
            let section = s.iter().find(|s| s.name == name).unwrap();
            let alone = SipPeer::parse(section, &c.general, &mut Warnings::default()).unwrap();
            assert_eq!(&alone, p(name));
        }
    }

    #[test]
    fn repeated_sections_merge() {
        let (c, _) = conf(
            "[general]\ncontext=a\n[1001]\ntype=friend\nsecret=x\n[general]\ncontext=b\n\
             [1001]\nsecret=y\n",
        )
        .unwrap();
        assert_eq!(c.general.context, "b");
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.peer("1001").unwrap().secret.as_deref(), Some("y"));
        // the peer was built after the whole [general] was read
        assert_eq!(c.peer("1001").unwrap().context, "b");
    }
}
