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
                // res_rtp_asterisk logs a bad value and keeps its default; so do we.
                let r = match e.key.to_ascii_lowercase().as_str() {
                    "rtpstart" => port_of(e, false).map(|p| c.rtp_start = p),
                    "rtpend" => port_of(e, false).map(|p| {
                        c.rtp_end = p;
                        end_entry = Some(e);
                    }),
                    // `strictrtp=seqno` (Asterisk 13+) is strict too.
                    "strictrtp" if e.value.eq_ignore_ascii_case("seqno") => {
                        c.strict_rtp = true;
                        Ok(())
                    }
                    "strictrtp" => bool_of(e).map(|b| c.strict_rtp = b),
                    _ => {
                        warnings.other(e);
                        Ok(())
                    }
                };
                if let Err(err) = r {
                    warnings.ignored(err);
                }
            }
        }
        if c.rtp_start % 2 == 1 {
            c.rtp_start = c.rtp_start.saturating_add(1);
        }
        if c.rtp_end <= c.rtp_start {
            // res_rtp_asterisk warns about "unreasonable values" and uses its defaults.
            let d = RtpConf::default();
            let msg = format!(
                "rtpend {} must be above rtpstart {} (a pair needs two ports); using {}-{}",
                c.rtp_end, c.rtp_start, d.rtp_start, d.rtp_end
            );
            match end_entry {
                Some(e) => warnings.at(&e.loc, msg),
                None => warnings.extend_lines([msg]),
            }
            (c.rtp_start, c.rtp_end) = (d.rtp_start, d.rtp_end);
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
        assert!(w.is_empty(), "icesupport=no is what sipbox does: {w:?}");
        let (c, w) = rtp("[general]\nrtpstart=20000\nrtpend=10000\n").unwrap();
        assert_eq!((c.rtp_start, c.rtp_end), (10000, 20000));
        assert_eq!(
            w,
            [
                "rtp.conf:3: rtpend 10000 must be above rtpstart 20000 (a pair needs two ports); \
              using 10000-20000"
            ]
        );
        // Bad values are warnings; the option keeps its default.
        for (text, want) in [
            (
                "[general]\nrtpstart=0\n",
                "rtp.conf:2: bad value '0' for 'rtpstart': port 0 is not allowed here; ignored",
            ),
            (
                "[general]\nstrictrtp=maybe\n",
                "rtp.conf:2: bad value 'maybe' for 'strictrtp': expected yes or no; ignored",
            ),
            (
                "[general]\nicesupport=yes\n",
                "rtp.conf:2: 'icesupport' ignored: ICE is not supported (said once)",
            ),
        ] {
            let (c, w) = rtp(text).unwrap();
            assert_eq!(c, RtpConf::default(), "{text}");
            assert_eq!(w, [want]);
        }
        assert!(rtp("[general]\nstrictrtp=seqno\n").unwrap().0.strict_rtp);
    }
}
