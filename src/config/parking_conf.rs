//! Typed call parking settings: parking lots as Asterisk 12+'s `res/res_parking.c` reads them
//! from `res_parking.conf` (`[default]` and any other section is a lot; `[general]` holds
//! `parkeddynamic`, which sipbox does not do), and the Asterisk 1.8–11 layout chan_sip-era
//! admins still have in `features.conf` `[general]` (`parkext`, `parkpos`, `context`,
//! `parkingtime`, ...), which fills the `default` lot. Both files are read, features.conf
//! first: an option res_parking.conf gives for `[default]` wins. See
//! `configs/samples/res_parking.conf.sample` for every option.
//!
//! Defaults are res_parking's: no `parkext` (no extensions are made until one is given),
//! `parkpos` 701-750, `context` parkedcalls, `parkingtime` 45 s, `comebacktoorigin` yes,
//! `comebackdialtime` 30 s, `comebackcontext` parkedcallstimeout, `findslot` first. A bad
//! value is warned about with `file:line` and the default stays (res_parking refuses the lot
//! and Asterisk runs on without it; sipbox keeps the lot usable).

use super::raw::{Entry, Loc, Section};
use super::values::{bad, parse_bool_str, Warnings};
use std::time::Duration;

/// Most positions one lot may have (a `parkpos => 1-99999999` stays small).
pub const MAX_POSITIONS: u32 = 10_000;

/// How a free position is chosen (`findslot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindSlot {
    /// The lowest free position.
    First,
    /// The next free position after the one last used.
    Next,
}

/// One parking lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkingLot {
    /// The lot's name (`default`, or the res_parking.conf section).
    pub name: String,
    /// `parkext`: dialling it parks (an extension `Park(lot)` in `context`), with where it
    /// was written (the generated extensions point there).
    pub parkext: Option<(String, Loc)>,
    /// `parkpos`: the first and last position.
    pub positions: (u32, u32),
    /// `context`: where the extensions are made.
    pub context: String,
    /// `parkingtime`: how long a call stays parked (0: forever).
    pub parking_time: Duration,
    /// `comebacktoorigin`: on timeout, ring the parker back.
    pub comeback_to_origin: bool,
    /// `comebackcontext`: where a timed-out call goes without `comebacktoorigin`.
    pub comeback_context: String,
    /// `comebackdialtime`: how long the parker's phone rings on timeout.
    pub comeback_dial_time: Duration,
    /// `parkedmusicclass`: the parked call's music (unless `CHANNEL(musicclass)` is set).
    pub music_class: String,
    /// `findslot`.
    pub find_slot: FindSlot,
    /// `parkinghints`: a `hint` for each position extension (BLF `park:701@parkedcalls`).
    pub hints: bool,
}

impl ParkingLot {
    /// A lot with res_parking's defaults.
    pub fn new(name: &str) -> ParkingLot {
        ParkingLot {
            name: name.to_string(),
            parkext: None,
            positions: (701, 750),
            context: "parkedcalls".into(),
            parking_time: Duration::from_secs(45),
            comeback_to_origin: true,
            comeback_context: "parkedcallstimeout".into(),
            comeback_dial_time: Duration::from_secs(30),
            music_class: String::new(),
            find_slot: FindSlot::First,
            hints: false,
        }
    }

    /// True when `slot` is one of the lot's positions.
    pub fn holds(&self, slot: u32) -> bool {
        (self.positions.0..=self.positions.1).contains(&slot)
    }

    /// Applies one option; false when it is no parking lot option.
    fn set(&mut self, e: &Entry, w: &mut Warnings) -> bool {
        let v = e.value.trim();
        let secs = |w: &mut Warnings| match v.parse::<u32>() {
            Ok(s) => Some(Duration::from_secs(u64::from(s))),
            Err(_) => {
                w.ignored(bad(e, "expected whole seconds"));
                None
            }
        };
        let yes = |w: &mut Warnings| {
            let b = parse_bool_str(v);
            if b.is_none() {
                w.ignored(bad(e, "expected yes or no"));
            }
            b
        };
        match e.key.to_ascii_lowercase().as_str() {
            "parkext" if v.is_empty() => self.parkext = None,
            "parkext" => self.parkext = Some((v.to_string(), e.loc.clone())),
            "parkpos" => match parse_positions(v) {
                Some(p) => self.positions = p,
                None => w.ignored(bad(
                    e,
                    &format!("expected first-last, at most {MAX_POSITIONS} positions"),
                )),
            },
            "context" if !v.is_empty() => self.context = v.to_string(),
            "parkingtime" => {
                if let Some(d) = secs(w) {
                    self.parking_time = d;
                }
            }
            "comebacktoorigin" => {
                if let Some(b) = yes(w) {
                    self.comeback_to_origin = b;
                }
            }
            "comebackcontext" if !v.is_empty() => self.comeback_context = v.to_string(),
            "comebackdialtime" => {
                if let Some(d) = secs(w) {
                    self.comeback_dial_time = d;
                }
            }
            "parkedmusicclass" => self.music_class = v.to_string(),
            "findslot" => match v.to_ascii_lowercase().as_str() {
                "first" => self.find_slot = FindSlot::First,
                "next" => self.find_slot = FindSlot::Next,
                _ => w.ignored(bad(e, "expected first or next")),
            },
            "parkinghints" => {
                if let Some(b) = yes(w) {
                    self.hints = b;
                }
            }
            // Options of features Sipbox has no counterpart for yet (DTMF features in the
            // retrieved call, the courtesy tone): read, warned, no effect.
            "parkext_exclusive"
            | "courtesytone"
            | "parkedplay"
            | "parkedcalltransfers"
            | "parkedcallreparking"
            | "parkedcallhangup"
            | "parkedcallrecording" => {
                w.at(
                    &e.loc,
                    format!("parking option '{}' not supported yet; ignored", e.key),
                );
            }
            _ => return false,
        }
        true
    }
}

/// `701-720` (or a single `701`), leading zeros ignored as res_parking does.
fn parse_positions(v: &str) -> Option<(u32, u32)> {
    let (a, b) = match v.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
        None => {
            let a = v.trim().parse::<u32>().ok()?;
            (a, a)
        }
    };
    (a <= b && b - a < MAX_POSITIONS).then_some((a, b))
}

/// Every parking lot; the first is always `default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkingConf {
    /// The lots, `default` first.
    pub lots: Vec<ParkingLot>,
}

impl Default for ParkingConf {
    fn default() -> Self {
        ParkingConf {
            lots: vec![ParkingLot::new("default")],
        }
    }
}

/// The features.conf `[general]` keys that are parking options (Asterisk 1.8–11).
pub fn is_features_parking_key(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "parkext"
            | "parkpos"
            | "context"
            | "parkingtime"
            | "comebacktoorigin"
            | "comebackcontext"
            | "comebackdialtime"
            | "parkedmusicclass"
            | "findslot"
            | "parkinghints"
            | "parkext_exclusive"
            | "courtesytone"
            | "parkedplay"
            | "parkedcalltransfers"
            | "parkedcallreparking"
            | "parkedcallhangup"
            | "parkedcallrecording"
    )
}

impl ParkingConf {
    /// The lots of a features.conf and a res_parking.conf given as texts (tests, embedding),
    /// with the warnings.
    pub fn from_texts(
        features: &str,
        res_parking: &str,
    ) -> Result<(ParkingConf, Vec<String>), super::raw::ConfigError> {
        let mut raw = Vec::new();
        let f = super::reader::read_str_with("features.conf", features, None, &mut raw)?;
        let r = super::reader::read_str_with("res_parking.conf", res_parking, None, &mut raw)?;
        let mut w = Warnings::default();
        w.extend_lines(raw);
        let mut c = ParkingConf::default();
        c.apply_features(&f, &mut w);
        c.apply_res_parking(&r, &mut w);
        Ok((c, w.into_vec()))
    }

    /// The lot named `name` (case-insensitive, as Asterisk's container compares).
    pub fn lot(&self, name: &str) -> Option<&ParkingLot> {
        self.lots.iter().find(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// The `default` lot.
    pub fn default_lot(&self) -> &ParkingLot {
        &self.lots[0]
    }

    /// The features.conf `[general]` parking options into the default lot (the other
    /// options of the file are features_conf's).
    pub fn apply_features(&mut self, sections: &[Section], w: &mut Warnings) {
        for s in sections
            .iter()
            .filter(|s| s.name.eq_ignore_ascii_case("general"))
        {
            for e in s.entries.iter().filter(|e| is_features_parking_key(&e.key)) {
                self.lots[0].set(e, w);
            }
        }
    }

    /// res_parking.conf: `[general]` (`parkeddynamic` is warned about), every other section
    /// a lot (`[default]` changes the default one).
    pub fn apply_res_parking(&mut self, sections: &[Section], w: &mut Warnings) {
        for s in sections {
            if s.name.eq_ignore_ascii_case("general") {
                for e in &s.entries {
                    w.at(
                        &e.loc,
                        format!("res_parking.conf option '{}' not supported; ignored", e.key),
                    );
                }
                continue;
            }
            let i = match self
                .lots
                .iter()
                .position(|l| l.name.eq_ignore_ascii_case(&s.name))
            {
                Some(i) => i,
                None => {
                    self.lots.push(ParkingLot::new(&s.name));
                    self.lots.len() - 1
                }
            };
            for e in &s.entries {
                if !self.lots[i].set(e, w) {
                    w.unknown(e);
                }
            }
        }
    }

    /// The extensions res_parking makes for each lot with a `parkext`: `parkext => Park(lot)`
    /// and one `ParkedCall(lot,N)` per position in the lot's context (with `parkinghints`, a
    /// `hint` of `park:N@context` too). Appended to extensions.conf's sections, they merge
    /// with a context of the same name and are reached by `include => parkedcalls`.
    pub fn dialplan_sections(&self) -> Vec<Section> {
        let mut out = Vec::new();
        for lot in &self.lots {
            let Some((ext, loc)) = &lot.parkext else {
                continue;
            };
            let entry = |value: String| Entry {
                key: "exten".into(),
                value: value.into(),
                arrow: true,
                loc: loc.clone(),
            };
            let mut entries = vec![entry(format!("{ext},1,Park({})", lot.name))];
            for n in lot.positions.0..=lot.positions.1 {
                entries.push(entry(format!("{n},1,ParkedCall({},{n})", lot.name)));
                if lot.hints {
                    entries.push(entry(format!("{n},hint,park:{n}@{}", lot.context)));
                }
            }
            out.push(Section {
                name: lot.context.clone(),
                entries,
                loc: loc.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(file: &str, text: &str) -> Vec<Section> {
        let mut raw = Vec::new();
        super::super::reader::read_str_with(file, text, None, &mut raw).expect("reads")
    }

    #[test]
    fn features_conf_general_fills_the_default_lot() {
        let mut c = ParkingConf::default();
        let mut w = Warnings::default();
        let s = sections(
            "features.conf",
            "[general]\nparkext => 700\nparkpos => 701-720\ncontext => parkedcalls\n\
             parkingtime => 45\ncomebacktoorigin=no\nparkedmusicclass=jazz\nfindslot=>next\n\
             parkinghints=yes\npickupexten=*8\nparkpos => 9-1\n",
        );
        c.apply_features(&s, &mut w);
        let l = c.default_lot();
        assert_eq!(l.parkext.as_ref().map(|p| p.0.as_str()), Some("700"));
        assert_eq!(
            l.positions,
            (701, 720),
            "the bad parkpos keeps the last good one"
        );
        assert!(!l.comeback_to_origin);
        assert_eq!(l.music_class, "jazz");
        assert_eq!(l.find_slot, FindSlot::Next);
        assert!(l.hints);
        let w = w.into_vec();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("features.conf:11:"), "{w:?}");
    }

    #[test]
    fn res_parking_conf_lots_and_generated_extensions() {
        let mut c = ParkingConf::default();
        let mut w = Warnings::default();
        c.apply_features(
            &sections("features.conf", "[general]\nparkext=>700\n"),
            &mut w,
        );
        let s = sections(
            "res_parking.conf",
            "[general]\nparkeddynamic=yes\n[default]\nparkpos=>701-703\nparkingtime=>10\n\
             [sales]\ncontext=>sales_park\nparkext=>800\nparkpos=>801-802\nbogus=1\n",
        );
        c.apply_res_parking(&s, &mut w);
        let w = w.into_vec();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("res_parking.conf:2:"), "{w:?}");
        assert!(w[1].starts_with("res_parking.conf:10:"), "{w:?}");
        assert_eq!(c.lots.len(), 2);
        assert_eq!(c.default_lot().parking_time, Duration::from_secs(10));
        assert!(c
            .lot("SALES")
            .is_some_and(|l| l.holds(802) && !l.holds(803)));
        let dp = c.dialplan_sections();
        assert_eq!(dp.len(), 2);
        assert_eq!(dp[0].name, "parkedcalls");
        let values: Vec<&str> = dp[0].entries.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "700,1,Park(default)",
                "701,1,ParkedCall(default,701)",
                "702,1,ParkedCall(default,702)",
                "703,1,ParkedCall(default,703)"
            ]
        );
        assert!(dp[0].entries[0].loc.file.contains("features.conf"));
        assert_eq!(dp[1].name, "sales_park");
    }

    #[test]
    fn positions_are_bounded() {
        assert_eq!(parse_positions("0701-0720"), Some((701, 720)));
        assert_eq!(parse_positions("5"), Some((5, 5)));
        assert_eq!(parse_positions("1-99999999"), None);
        assert_eq!(parse_positions("x-3"), None);
        assert_eq!(ParkingConf::default().dialplan_sections().len(), 0);
    }
}
