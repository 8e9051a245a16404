//! rtp.conf `[general]`: the RTP port range and strict RTP.

use super::raw::{ConfigError, Section};
use super::values::{bool_of, port_of, Warnings};

/// Typed rtp.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpConf {
    /// `rtpstart` (10000), rounded up to even as Asterisk does (RTP on even, RTCP on odd).
    pub rtp_start: u16,
    /// `rtpend` (20000), inclusive.
    pub rtp_end: u16,
    /// `strictrtp` (yes): drop RTP from sources other than the one learned first.
    pub strict_rtp: bool,
}

impl Default for RtpConf {
    fn default() -> Self {
        RtpConf {
            rtp_start: 10000,
            rtp_end: 20000,
            strict_rtp: true,
        }
    }
}

impl RtpConf {
    /// Builds the settings from rtp.conf's sections; only `[general]` is read, other
    /// sections and unknown options are warned about.
    pub fn from_sections(
        sections: &[Section],
        warnings: &mut Warnings,
    ) -> Result<RtpConf, ConfigError> {
        let mut c = RtpConf::default();
        let mut end_entry = None;
        for s in sections {
            if !s.name.eq_ignore_ascii_case("general") {
                warnings.at(&s.loc, format!("section [{}] ignored", s.name));
                continue;
            }
            for e in &s.entries {
                match e.key.to_ascii_lowercase().as_str() {
                    "rtpstart" => c.rtp_start = port_of(e, false)?,
                    "rtpend" => {
                        c.rtp_end = port_of(e, false)?;
                        end_entry = Some(e);
                    }
                    "strictrtp" => c.strict_rtp = bool_of(e)?,
                    _ => warnings.unknown(e),
                }
            }
        }
        if c.rtp_start % 2 == 1 {
            c.rtp_start = c.rtp_start.saturating_add(1);
        }
        if c.rtp_end <= c.rtp_start {
            let msg = format!(
                "rtpend {} must be above rtpstart {} (a pair needs two ports)",
                c.rtp_end, c.rtp_start
            );
            return Err(match end_entry {
                Some(e) => ConfigError::at(&e.loc, msg),
                None => ConfigError { loc: None, msg },
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::read_str;
    use super::*;

    fn rtp(text: &str) -> Result<(RtpConf, Vec<String>), String> {
        let s = read_str("rtp.conf", text, None).map_err(|e| e.to_string())?;
        let mut w = Warnings::default();
        let c = RtpConf::from_sections(&s, &mut w).map_err(|e| e.to_string())?;
        Ok((c, w.into_vec()))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(rtp("").unwrap().0, RtpConf::default());
        let (c, w) =
            rtp("[general]\nrtpstart=30001\nrtpend=30100\nstrictrtp=no\nicesupport=no\n").unwrap();
        assert_eq!(
            (c.rtp_start, c.rtp_end, c.strict_rtp),
            (30002, 30100, false)
        );
        assert_eq!(w, ["rtp.conf:5: unknown option 'icesupport' ignored"]);
        assert_eq!(
            rtp("[general]\nrtpstart=20000\nrtpend=10000\n").unwrap_err(),
            "rtp.conf:3: rtpend 10000 must be above rtpstart 20000 (a pair needs two ports)"
        );
        assert!(rtp("[general]\nrtpstart=0\n").is_err());
        assert!(rtp("[general]\nstrictrtp=maybe\n").is_err());
    }
}
