//! Typed features.conf (optional): Asterisk's `main/features_config.c` and
//! `configs/samples/features.conf.sample`. `[general] pickupexten` (default `*8`) is acted on;
//! `[featuremap] blindxfer` (`#`) and `atxfer` (`*2`) are read for the DTMF transfers, which
//! are not acted on yet; the Asterisk 1.8–11 parking options of `[general]` (`parkext`, ...)
//! are [`super::parking_conf`]'s; other options are warned about with `file:line`.

use super::raw::Section;
use super::values::Warnings;

/// features.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeaturesConf {
    /// `pickupexten`: dialling it answers a ringing call of the caller's pickup groups.
    pub pickup_exten: String,
    /// `[featuremap] blindxfer`.
    pub blind_xfer: String,
    /// `[featuremap] atxfer`.
    pub at_xfer: String,
}

impl Default for FeaturesConf {
    fn default() -> Self {
        FeaturesConf {
            pickup_exten: "*8".into(),
            blind_xfer: "#".into(),
            at_xfer: "*2".into(),
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
    }
}
