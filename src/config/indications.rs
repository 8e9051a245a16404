//! indications.conf: country tone zones and `[general] country=`, as Asterisk's
//! `main/indications.c` (`load_indications`, `parse_tone_zone`) reads them.
//!
//! Every section but `[general]` is a country: `description`, `ringcadence` (also the old
//! spelling `ringcadance`) and any other key is a tone (`busy = 480+620/500,0/500`). A
//! country without a description or without tones is a warning and left out, as Asterisk's
//! "Indication country 'x' is invalid". The default zone is `country=`'s; without it (or when
//! it names no zone: a warning, as Asterisk's "Unable to set the default country") the first
//! zone of the file. Tone lists are checked here (Asterisk checks them only when played): a
//! bad one is a `file:line` warning and that tone is left out.

use super::raw::Section;
use super::values::Warnings;

/// At most this many countries (the sample has about 50).
pub const MAX_ZONES: usize = 128;
/// At most this many tones per country.
pub const MAX_TONES: usize = 32;
/// Longest tone list kept, in bytes.
pub const MAX_TONE_LEN: usize = 512;

/// One country's tones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToneZone {
    /// The section name (`us`, `de`), compared without case.
    pub country: String,
    /// `description`.
    pub description: String,
    /// `ringcadence` in ms (kept for `indication show`-style listings; sipbox rings no
    /// analogue line).
    pub ringcadence: Vec<u32>,
    /// (name, tone list) in file order.
    pub tones: Vec<(String, String)>,
}

impl ToneZone {
    /// The tone list named `name` (without case).
    pub fn tone(&self, name: &str) -> Option<&str> {
        self.tones
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, l)| l.as_str())
    }
}

/// indications.conf as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indications {
    /// The valid countries, in file order.
    pub zones: Vec<ToneZone>,
    /// Index of the default zone in `zones`.
    pub default: Option<usize>,
}

impl Indications {
    /// Reads the sections of indications.conf.
    pub fn from_sections(sections: &[Section], w: &mut Warnings) -> Indications {
        let mut out = Indications::default();
        let mut country = None;
        for sec in sections {
            if sec.name.eq_ignore_ascii_case("general") {
                if let Some(e) = sec.get("country") {
                    country = Some((e.value.trim().to_string(), e.loc.clone()));
                }
                continue;
            }
            if out
                .zones
                .iter()
                .any(|z| z.country.eq_ignore_ascii_case(&sec.name))
            {
                // A repeated section adds to the country, as categories merge.
                let i = out
                    .zones
                    .iter()
                    .position(|z| z.country.eq_ignore_ascii_case(&sec.name))
                    .unwrap_or(0);
                let mut z = std::mem::take(&mut out.zones[i]);
                fill(&mut z, sec, w);
                out.zones[i] = z;
                continue;
            }
            if out.zones.len() >= MAX_ZONES {
                w.at(
                    &sec.loc,
                    format!("more than {MAX_ZONES} countries; [{}] ignored", sec.name),
                );
                continue;
            }
            let mut z = ToneZone {
                country: sec.name.clone(),
                ..ToneZone::default()
            };
            fill(&mut z, sec, w);
            if z.description.is_empty() || z.tones.is_empty() {
                w.at(&sec.loc, format!("Indication country '{}' is invalid (it needs a description and a tone); ignored", sec.name));
                continue;
            }
            out.zones.push(z);
        }
        out.default = match country {
            Some((c, loc)) => match out
                .zones
                .iter()
                .position(|z| z.country.eq_ignore_ascii_case(&c))
            {
                Some(i) => Some(i),
                None => {
                    w.at(&loc, format!("Unable to set the default country (for indication tones): no zone '{c}'"));
                    (!out.zones.is_empty()).then_some(0)
                }
            },
            None => (!out.zones.is_empty()).then_some(0),
        };
        out
    }

    /// The default country's zone.
    pub fn default_zone(&self) -> Option<&ToneZone> {
        self.default.and_then(|i| self.zones.get(i))
    }

    /// A country's zone, without case.
    pub fn zone(&self, country: &str) -> Option<&ToneZone> {
        self.zones
            .iter()
            .find(|z| z.country.eq_ignore_ascii_case(country.trim()))
    }
}

fn fill(z: &mut ToneZone, sec: &Section, w: &mut Warnings) {
    for e in &sec.entries {
        let key = e.key.trim();
        let value = e.value.trim();
        if key.eq_ignore_ascii_case("description") {
            z.description = value.to_string();
        } else if key.eq_ignore_ascii_case("ringcadence") || key.eq_ignore_ascii_case("ringcadance")
        {
            for part in value.split(',').map(str::trim) {
                match part.parse::<u32>() {
                    Ok(ms) if z.ringcadence.len() < MAX_TONES => z.ringcadence.push(ms),
                    Ok(_) => {}
                    Err(_) => w.at(&e.loc, format!("Invalid ringcadence given '{part}'")),
                }
            }
        } else if value.len() > MAX_TONE_LEN {
            w.at(
                &e.loc,
                format!("tone '{key}' longer than {MAX_TONE_LEN} bytes; ignored"),
            );
        } else if let Err(err) = crate::media::tones::check(value) {
            w.at(&e.loc, format!("tone '{key}': {err}; ignored"));
        } else if let Some(t) = z
            .tones
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(key))
        {
            t.1 = value.to_string();
        } else if z.tones.len() >= MAX_TONES {
            w.at(
                &e.loc,
                format!(
                    "more than {MAX_TONES} tones in [{}]; '{key}' ignored",
                    sec.name
                ),
            );
        } else {
            z.tones.push((key.to_string(), value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Indications, Vec<String>) {
        let s =
            crate::config::reader::read_str_with("indications.conf", text, None, &mut Vec::new())
                .expect("parses");
        let mut w = Warnings::default();
        let i = Indications::from_sections(&s, &mut w);
        (i, w.into_vec())
    }

    #[test]
    fn countries_tones_and_the_default() {
        let (i, w) = read(
            "[general]\ncountry=de\n\
             [us]\ndescription = United States / North America\nringcadence = 2000,4000\n\
             dial = 350+440\nbusy = 480+620/500,0/500\nring = 440+480/2000,0/4000\n\
             [de]\ndescription = Germany\nringcadence = 1000,4000\n\
             dial = 425\nbusy = 425/480,0/480\nring = 425/1000,0/4000\n\
             congestion = 425/240,0/240\ncallwaiting = !425/200,!0/200,!425/200,!0/5000,0\n\
             record = 1400/80,0/15000\ninfo = 950/330,1400/330,1800/330,0/1000\n\
             stutter = 425+400\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(i.zones.len(), 2);
        let de = i.default_zone().expect("default");
        assert_eq!(de.country, "de");
        assert_eq!(de.ringcadence, [1000, 4000]);
        assert_eq!(de.tone("BUSY"), Some("425/480,0/480"));
        assert_eq!(de.tone("nosuch"), None);
        assert_eq!(i.zone("US").and_then(|z| z.tone("dial")), Some("350+440"));
    }

    #[test]
    fn bad_zones_and_tones_are_warnings() {
        let (i, w) = read(
            "[general]\ncountry=xx\n\
             [empty]\ndescription = Nothing\n\
             [nodesc]\nbusy = 480+620/500,0/500\n\
             [fr]\ndescription = France\nringcadence = 1500,x\nbusy = 440/500,0/500\n\
             dial = 440/abc\nring = 99999\n",
        );
        assert_eq!(i.zones.len(), 1, "{i:?}");
        assert_eq!(
            i.default_zone().map(|z| z.country.as_str()),
            Some("fr"),
            "the first zone"
        );
        assert_eq!(i.zones[0].tones.len(), 1);
        let want = [
            "indications.conf:2: Unable to set the default country",
            "indications.conf:3: Indication country 'empty' is invalid",
            "indications.conf:5: Indication country 'nodesc' is invalid",
            "indications.conf:9: Invalid ringcadence given 'x'",
            "indications.conf:11: tone 'dial'",
            "indications.conf:12: tone 'ring'",
        ];
        assert_eq!(w.len(), want.len(), "{w:?}");
        for want in want {
            assert!(w.iter().any(|l| l.starts_with(want)), "{want} in {w:?}");
        }
        let (none, w) = read("[general]\n");
        assert_eq!((none.default_zone(), w.len()), (None, 0));
    }

    /// The power of `hz` in µ-law frames (Goertzel).
    fn power(frames: &[crate::media::wav::Frame], hz: f64) -> f64 {
        let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for b in frames.iter().flatten() {
            let x = f64::from(crate::media::g711::ULAW_TO_LINEAR[usize::from(*b)]);
            let s = x + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    }

    /// indications.conf read from a config directory, `country=de`: PlayTones(busy) plays
    /// Germany's 425 Hz at 480 ms on, 480 ms off, not the US 480+620.
    #[test]
    #[allow(clippy::disallowed_methods)] // the test writes its own config directory
    fn playtones_busy_plays_the_countrys_tone() {
        use crate::dialplan::{ChannelInfo, Command, Dialplan, Execution, Resume};
        let dir = std::env::temp_dir().join(format!("sipbox-indications-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sip.conf"), "[general]\n").unwrap();
        std::fs::write(
            dir.join("extensions.conf"),
            "[t]\nexten => b,1,PlayTones(busy)\nexten => l,1,PlayTones(440/100)\n\
             exten => u,1,PlayTones(dialrecall)\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("indications.conf"),
            "[general]\ncountry = de\n[us]\ndescription = US\nbusy = 480+620/500,0/500\n\
             [de]\ndescription = Germany\nbusy = 425/480,0/480\n",
        )
        .unwrap();
        let cfg = crate::config::load(Some(&dir), &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = cfg.expect("loads");
        assert_eq!(cfg.indications.zones.len(), 2);
        let (mut dp, _) = Dialplan::from_sections(&cfg.extensions).unwrap();
        dp.set_tones(cfg.indications.default_zone().cloned());
        let chan = ChannelInfo {
            callerid_num: "1001".into(),
            callerid_name: String::new().into(),
            sip_call_id: "c".into(),
            unique_id: "1.1".into(),
            peer: "p".into(),
            name: None,
            sip_headers: Default::default(),
        };
        let tone = |exten: &str| {
            let mut ex = Execution::new(&dp, "t", exten, chan.clone());
            match ex.step(&dp, std::time::UNIX_EPOCH, Resume::Start) {
                Command::PlayTones { tone } => tone,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(tone("b"), "425/480,0/480");
        assert_eq!(tone("l"), "440/100", "a list stays a list");
        assert_eq!(
            tone("u"),
            "dialrecall",
            "a name the zone lacks: the built-in US tone"
        );
        let t = crate::media::tones::render(&tone("b"), crate::media::g711::Law::Ulaw).unwrap();
        assert_eq!(
            (t.loop_from, t.frames.len()),
            (0, 48),
            "24 frames on, 24 off"
        );
        let (on, off) = t.frames.split_at(24);
        assert!(
            power(on, 425.0) > 1000.0 * power(on, 620.0),
            "425 Hz, not 620"
        );
        assert!(
            power(on, 425.0) > 1000.0 * power(on, 480.0),
            "425 Hz, not 480"
        );
        assert!(power(off, 425.0) < 1.0, "then silence");
    }
}
