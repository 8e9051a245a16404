//! Typed features.conf (optional): Asterisk's `main/features_config.c` and
//! `configs/samples/features.conf.sample`. `[general] pickupexten` (default `*8`); the DTMF
//! transfers of Dial's `t`/`T`: `[featuremap] blindxfer` (`#`) and `atxfer` (`*2`),
//! `[general] featuredigittimeout` (1000 ms), `transferdigittimeout` (3 s),
//! `atxferabort` (`*1`), `atxfercomplete` (`*2`) and
//! `atxferdropcall` (only `no`); the Asterisk 1.8–11 parking options of `[general]`
//! (`parkext`, ...) are [`super::parking_conf`]'s. Other options are warned about with
//! `file:line`.

use super::raw::{Entry, Section};
use super::values::Warnings;
use std::time::Duration;

/// A number of `unit`s between 1 and `max` (Asterisk refuses 0 and junk, keeping the default).
fn positive(e: &Entry, unit: Duration, max: u32, warnings: &mut Warnings) -> Option<Duration> {
    match e.value.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Some(unit * n),
        _ => {
            warnings.at(
                &e.loc,
                format!(
                    "features.conf '{}': '{}' is not a valid time; default kept",
                    e.key, e.value
                ),
            );
            None
        }
    }
}

/// features.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeaturesConf {
    /// `pickupexten`: dialling it answers a ringing call of the caller's pickup groups.
    pub pickup_exten: String,
    /// `[featuremap] blindxfer`.
    pub blind_xfer: String,
    /// `[featuremap] atxfer`.
    pub at_xfer: String,
    /// `featuredigittimeout`: how long a partial feature code waits for its next digit.
    pub feature_digit_timeout: Duration,
    /// `transferdigittimeout`: how long the transferer has for each digit of the target.
    pub transfer_digit_timeout: Duration,
    /// `atxferabort`: the transferer gives up the consultation and returns.
    pub atxfer_abort: String,
    /// `atxfercomplete`: the transferer leaves, joining transferee and target.
    pub atxfer_complete: String,
}

impl Default for FeaturesConf {
    fn default() -> Self {
        FeaturesConf {
            pickup_exten: "*8".into(),
            blind_xfer: "#".into(),
            at_xfer: "*2".into(),
            feature_digit_timeout: Duration::from_millis(1000),
            transfer_digit_timeout: Duration::from_secs(3),
            atxfer_abort: "*1".into(),
            atxfer_complete: "*2".into(),
        }
    }
}

impl FeaturesConf {
    /// The settings of features.conf's sections; unsupported options are warnings.
    pub fn from_sections(sections: &[Section], warnings: &mut Warnings) -> FeaturesConf {
        let mut f = FeaturesConf::default();
        for s in sections {
            let general = s.name.eq_ignore_ascii_case("general");
            let featuremap = s.name.eq_ignore_ascii_case("featuremap");
            for e in &s.entries {
                let v = e.value.trim();
                match (general, featuremap, e.key.to_ascii_lowercase().as_str()) {
                    (true, _, "pickupexten") if !v.is_empty() => f.pickup_exten = v.into(),
                    (_, true, "blindxfer") if !v.is_empty() => f.blind_xfer = v.into(),
                    (_, true, "atxfer") if !v.is_empty() => f.at_xfer = v.into(),
                    (true, _, k) if super::parking_conf::is_features_parking_key(k) => {}
                    (true, _, "featuredigittimeout") => {
                        let ms = Duration::from_millis(1);
                        if let Some(d) = positive(e, ms, 60_000, warnings) {
                            f.feature_digit_timeout = d;
                        }
                    }
                    (true, _, "transferdigittimeout") => {
                        let s = Duration::from_secs(1);
                        if let Some(d) = positive(e, s, 600, warnings) {
                            f.transfer_digit_timeout = d;
                        }
                    }
                    (true, _, "atxferabort") if !v.is_empty() => f.atxfer_abort = v.into(),
                    (true, _, "atxfercomplete") if !v.is_empty() => f.atxfer_complete = v.into(),
                    (true, _, "atxferdropcall")
                        if !crate::config::values::parse_bool_str(v).unwrap_or(false) => {}
                    _ => warnings.at(
                        &e.loc,
                        format!("features.conf option '{}' not supported; ignored", e.key),
                    ),
                }
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> (FeaturesConf, Vec<String>) {
        let mut raw = Vec::new();
        let sections = super::super::reader::read_str_with("features.conf", text, None, &mut raw)
            .expect("reads");
        let mut w = Warnings::default();
        let f = FeaturesConf::from_sections(&sections, &mut w);
        (f, w.into_vec())
    }

    #[test]
    fn defaults_and_options_with_file_line_warnings() {
        assert_eq!(conf("").0, FeaturesConf::default());
        assert_eq!(FeaturesConf::default().pickup_exten, "*8");
        let (f, w) = conf(
            "[general]\npickupexten = *9\nparkext => 700\nfoo=1\n[featuremap]\nblindxfer=##\natxfer=*3\n",
        );
        assert_eq!(
            (
                f.pickup_exten.as_str(),
                f.blind_xfer.as_str(),
                f.at_xfer.as_str()
            ),
            ("*9", "##", "*3")
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("features.conf:4:"),
            "parkext is parking's: {w:?}"
        );
        let d = FeaturesConf::default();
        assert_eq!(
            (d.feature_digit_timeout, d.transfer_digit_timeout),
            (Duration::from_millis(1000), Duration::from_secs(3))
        );
        let (f, w) = conf(
            "[general]\nfeaturedigittimeout=500\ntransferdigittimeout => 5\n\
             atxferabort=*9\natxfercomplete=*8\natxferdropcall=no\n\
             featuredigittimeout=0\natxferdropcall=yes\n",
        );
        assert_eq!(f.feature_digit_timeout, Duration::from_millis(500));
        assert_eq!(f.transfer_digit_timeout, Duration::from_secs(5));
        assert_eq!(
            (f.atxfer_abort.as_str(), f.atxfer_complete.as_str()),
            ("*9", "*8")
        );
        assert_eq!(w.len(), 2, "0 ms and atxferdropcall=yes: {w:?}");
        assert!(w[0].starts_with("features.conf:7:") && w[1].starts_with("features.conf:8:"));
    }
}
