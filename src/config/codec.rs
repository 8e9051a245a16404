//! `allow=` / `disallow=` codec preference lists with Asterisk's semantics
//! (`ast_parse_allow_disallow`): applied in file order; `allow=x` moves `x` to the end of the
//! list (appending it if absent), `disallow=x` removes it, `all` means every codec sipbox
//! knows, values may be comma lists (`allow=ulaw,alaw`), `!x` inverts, and a `:ms` framing
//! suffix (`ulaw:20`) is accepted and ignored. telephone-event (RFC 4733 DTMF) is always
//! offered and is not part of the list.
//!
//! Codec names Asterisk knows but sipbox does not carry (gsm, g729, opus, video, ...) are
//! warned about and skipped, so a chan_sip config loads; any other name is an error.

use super::raw::Entry;
use super::values::{bad, Warnings};

/// An audio codec sipbox can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Ulaw,
    /// G.711 A-law, static payload type 8.
    Alaw,
    /// G.722, static payload type 9.
    G722,
}

impl Codec {
    /// Every codec, in the order `allow=all` adds them.
    pub const ALL: [Codec; 3] = [Codec::Ulaw, Codec::Alaw, Codec::G722];

    /// The Asterisk name (`ulaw`, `alaw`, `g722`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Ulaw => "ulaw",
            Codec::Alaw => "alaw",
            Codec::G722 => "g722",
        }
    }

    /// The static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Ulaw => 0,
            Codec::Alaw => 8,
            Codec::G722 => 9,
        }
    }

    /// Looks a name up, case-insensitively (`mulaw` and `g711u` are aliases of `ulaw`).
    pub fn from_name(name: &str) -> Option<Codec> {
        match super::nocase::lowered(name).as_ref() {
            "ulaw" | "mulaw" | "g711u" | "pcmu" => Some(Codec::Ulaw),
            "alaw" | "g711a" | "pcma" => Some(Codec::Alaw),
            "g722" => Some(Codec::G722),
            _ => None,
        }
    }
}

/// Codec names Asterisk accepts that sipbox does not implement: a warning, not an error.
const ASTERISK_ONLY: &[&str] = &[
    "gsm",
    "g729",
    "g723",
    "g726",
    "g726aal2",
    "adpcm",
    "lpc10",
    "ilbc",
    "speex",
    "speex16",
    "speex32",
    "slin",
    "slin16",
    "g719",
    "siren7",
    "siren14",
    "testlaw",
    "opus",
    "silk",
    "silk8",
    "silk12",
    "silk16",
    "silk24",
    "celt",
    "h261",
    "h263",
    "h263p",
    "h264",
    "h265",
    "mpeg4",
    "vp8",
    "vp9",
    "red",
    "t140",
    "t140red",
    "jpeg",
    "png",
    "all_video",
];

/// The default preference list: G.711 µ-law then A-law.
pub fn default_prefs() -> Vec<Codec> {
    vec![Codec::Ulaw, Codec::Alaw]
}

/// Applies one `allow=` (`allowing`) or `disallow=` entry to `prefs`. An unknown codec or a
/// bad `:framing` is a warning and that item is skipped, as Asterisk's
/// `ast_format_cap_update_by_allow_disallow` logs "Cannot allow/disallow unknown format" and
/// goes on with the rest of the list.
pub fn apply(prefs: &mut Vec<Codec>, allowing: bool, e: &Entry, warnings: &mut Warnings) {
    for item in e.value.split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let (allow, item) = match item.strip_prefix('!') {
            Some(rest) => (!allowing, rest.trim()),
            None => (allowing, item),
        };
        let name = match item.split_once(':') {
            Some((n, ms)) if ms.trim().parse::<u32>().is_ok() => n.trim(),
            Some(_) => {
                warnings.ignored(bad(
                    e,
                    &format!("codec framing in '{item}' must be ':milliseconds'"),
                ));
                continue;
            }
            None => item,
        };
        if name.eq_ignore_ascii_case("all") {
            prefs.clear();
            if allow {
                prefs.extend(Codec::ALL);
            }
            continue;
        }
        match Codec::from_name(name) {
            Some(c) => {
                prefs.retain(|x| *x != c);
                if allow {
                    prefs.push(c);
                }
            }
            None if ASTERISK_ONLY.contains(&name.to_ascii_lowercase().as_str()) => {
                warnings.at(
                    &e.loc,
                    format!("codec '{name}' is not supported by sipbox, ignored"),
                );
            }
            None => warnings.ignored(bad(e, &format!("unknown codec '{name}'"))),
        }
    }
}

/// Applies every `allow=` / `disallow=` of `entries` in order, starting from `prefs`.
pub fn apply_all<'a>(
    mut prefs: Vec<Codec>,
    entries: impl IntoIterator<Item = &'a Entry>,
    warnings: &mut Warnings,
) -> Vec<Codec> {
    for e in entries {
        if e.key.eq_ignore_ascii_case("allow") {
            apply(&mut prefs, true, e, warnings);
        } else if e.key.eq_ignore_ascii_case("disallow") {
            apply(&mut prefs, false, e, warnings);
        }
    }
    prefs
}

#[cfg(test)]
mod tests {
    use super::super::raw::Loc;
    use super::*;
    use std::sync::Arc;

    fn run(start: Vec<Codec>, lines: &[(&str, &str)]) -> Result<Vec<Codec>, String> {
        let entries: Vec<Entry> = lines
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Entry {
                key: (*k).into(),
                value: (*v).into(),
                arrow: false,
                loc: Loc {
                    file: Arc::from("s.conf"),
                    line: i as u32 + 1,
                },
            })
            .collect();
        let mut w = Warnings::default();
        let prefs = apply_all(start, &entries, &mut w);
        match w.into_vec().into_iter().find(|m| m.contains("bad value")) {
            Some(warning) => Err(warning),
            None => Ok(prefs),
        }
    }

    use Codec::*;

    #[test]
    fn order_semantics() {
        let d = default_prefs();
        assert_eq!(run(d.clone(), &[]), Ok(vec![Ulaw, Alaw]));
        assert_eq!(
            run(
                d.clone(),
                &[("disallow", "all"), ("allow", "alaw"), ("allow", "ulaw")]
            ),
            Ok(vec![Alaw, Ulaw])
        );
        assert_eq!(run(d.clone(), &[("allow", "ulaw")]), Ok(vec![Alaw, Ulaw]));
        assert_eq!(
            run(d.clone(), &[("disallow", "ulaw"), ("allow", "g722")]),
            Ok(vec![Alaw, G722])
        );
        assert_eq!(
            run(d.clone(), &[("disallow", "all"), ("allow", "g722,ulaw:20")]),
            Ok(vec![G722, Ulaw])
        );
        assert_eq!(run(d.clone(), &[("allow", "!ulaw")]), Ok(vec![Alaw]));
        assert_eq!(
            run(d.clone(), &[("allow", "all")]),
            Ok(vec![Ulaw, Alaw, G722])
        );
        assert_eq!(run(d, &[("disallow", "all"), ("allow", "gsm")]), Ok(vec![]));
    }

    #[test]
    fn unknown_codec_is_a_warning_and_the_rest_applies() {
        assert_eq!(
            run(default_prefs(), &[("allow", "ulaw"), ("allow", "bogus")]),
            Err("s.conf:2: bad value 'bogus' for 'allow': unknown codec 'bogus'; ignored".into())
        );
        let entries = [Entry {
            key: "allow".into(),
            value: "bogus,g722".into(),
            arrow: false,
            loc: Loc {
                file: Arc::from("s.conf"),
                line: 1,
            },
        }];
        let mut w = Warnings::default();
        assert_eq!(apply_all(vec![], &entries, &mut w), vec![G722]);
    }
}
