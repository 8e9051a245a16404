//! Rewriting a description for the other leg (the model path; `emit.rs` is the lean one).
//!
//! Reading list, before working on this file:
//! - RFC 3264 §8 (modifying a session: o= version +1 exactly when the content changes; hold
//!   with sendonly/inactive) and §8.4 (the old c=0.0.0.0 hold).
//! - RFC 4566 §5.2 (o= fields) and §5.7 (c=, IP4/IP6).
//! - RFC 3605 (a=rtcp), RFC 5761 §5.1.1 (a=rtcp-mux), RFC 8839 §5 (ICE attributes): the
//!   transport attributes a rewrite must drop because they name the phone's sockets.

use std::net::IpAddr;

use super::{Attribute, Connection, Direction, LocalSession, Origin, Sdp, Timing};

/// Attributes that describe the phone's own transport (ICE, RTCP port, rtcp-mux): meaningless
/// once sipbox's address replaces the phone's, so a rewrite drops them.
pub(super) const TRANSPORT_ATTRIBUTES: &[&str] = &[
    "candidate",
    "remote-candidates",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "rtcp",
    "rtcp-mux",
];

fn is_transport(a: &Attribute) -> bool {
    TRANSPORT_ATTRIBUTES.contains(&a.name())
}

impl Sdp {
    /// Rewrite this description for the other leg: our address in o= and c=, our RTP port in
    /// the first audio m= (a disabled stream stays at port 0), other streams disabled (sipbox
    /// relays audio only), transport attributes (ICE, a=rtcp, a=rtcp-mux) dropped; codecs,
    /// fmtp, ptime and direction kept. An old-style c=0.0.0.0 hold becomes a=sendonly (or
    /// a=inactive if it was recvonly), since our c= can no longer say it. The o= version comes
    /// from `local`, the other leg's session.
    pub fn rewrite(&self, local: &mut LocalSession, ip: IpAddr, rtp_port: u16) -> Sdp {
        let mut out = self.clone();
        let old_hold = self
            .audio_connection()
            .and_then(Connection::ip)
            .is_some_and(|ip| ip.is_unspecified());
        let direction = self.direction();
        out.connection = Some(Connection::from_ip(ip));
        out.attributes.retain(|a| !is_transport(a));
        let audio_index = out.media.iter().position(|m| m.kind == "audio");
        for (i, m) in out.media.iter_mut().enumerate() {
            m.connection = None;
            m.attributes.retain(|a| !is_transport(a));
            if Some(i) == audio_index {
                if m.port != 0 {
                    m.port = rtp_port;
                }
                m.port_count = None;
                if old_hold {
                    m.set_direction(match direction {
                        Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
                        _ => Direction::SendOnly,
                    });
                }
            } else {
                m.port = 0;
            }
        }
        local.stamp(&mut out, ip);
        out
    }

    /// An empty description from us (used to build answers): `s=sipbox`, our c=, `t=0 0`, no
    /// media yet, a placeholder o=. Call [`LocalSession::stamp`] after adding media.
    pub fn ours(ip: IpAddr) -> Sdp {
        Sdp {
            origin: Origin {
                username: "sipbox".to_string(),
                session_id: 0,
                session_version: 0,
                connection: Connection::from_ip(ip),
            },
            session_name: "sipbox".to_string(),
            connection: Some(Connection::from_ip(ip)),
            timing: Timing { start: 0, stop: 0 },
            extra: Vec::new(),
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn parse(s: &str) -> Sdp {
        Sdp::parse(s.as_bytes()).unwrap()
    }

    const US: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));

    #[test]
    fn rewrite_puts_our_address_and_port_keeps_codecs() {
        let mut leg = LocalSession::new(555, 1000);
        let out = parse(BARESIP).rewrite(&mut leg, US, 12000);
        let text = out.to_string();
        assert!(text.starts_with("v=0\r\no=sipbox 555 1000 IN IP4 203.0.113.1\r\ns=-\r\n"));
        assert!(text.contains("c=IN IP4 203.0.113.1\r\n"));
        assert!(text.contains("m=audio 12000 RTP/AVP 96 9 0 8 101\r\n"));
        for kept in [
            "a=fmtp:96 stereo=1;sprop-stereo=1",
            "a=fmtp:101 0-15",
            "a=ptime:20",
        ] {
            assert!(text.contains(kept), "{kept}");
        }
        assert!(text.contains("a=sendrecv\r\n") && text.contains("a=ssrc:"));
        assert!(!text.contains("a=rtcp:") && !text.contains("192.168.1.23"));
        assert_eq!(out.remote_rtp(), Some("203.0.113.1:12000".parse().unwrap()));
    }

    #[test]
    fn rewrite_drops_ice_and_disables_video() {
        let mut leg = LocalSession::new(1, 1);
        let out = parse(LINPHONE).rewrite(&mut leg, US, 12000);
        let text = out.to_string();
        for gone in [
            "candidate",
            "ice-",
            "rtcp-mux",
            "192.168.1.50",
            "203.0.113.9",
        ] {
            assert!(!text.contains(gone), "{gone}");
        }
        assert!(text.contains("a=rtcp-fb:* ccm tmmbr") && text.contains("a=record:off"));
        assert_eq!(out.media[1].port, 0);
        assert!(text.contains("m=video 0 RTP/AVP 96\r\n"));
    }

    #[test]
    fn rewrite_keeps_direction_and_ipv6() {
        let mut leg = LocalSession::new(1, 1);
        let held = parse(HOLD_SENDONLY).rewrite(&mut leg, US, 12000);
        assert_eq!(held.direction(), Direction::SendOnly);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let out = parse(IPV6_DESK).rewrite(&mut leg, v6, 14000);
        let text = out.to_string();
        assert!(text.contains("o=sipbox 1 2 IN IP6 2001:db8::1\r\n"));
        assert!(text.contains("c=IN IP6 2001:db8::1\r\nt=0 0\r\n"));
        assert!(text.contains("a=ptime:30\r\n"));
        assert_eq!(out.audio().unwrap().connection, None);
    }

    #[test]
    fn old_style_hold_becomes_sendonly() {
        let mut leg = LocalSession::new(1, 1);
        let out = parse(HOLD_ZERO).rewrite(&mut leg, US, 12000);
        assert_eq!(out.direction(), Direction::SendOnly);
        assert_eq!(out.remote_rtp(), Some("203.0.113.1:12000".parse().unwrap()));
        let mut recvonly = parse(HOLD_ZERO);
        recvonly.set_direction(Direction::RecvOnly);
        let out = recvonly.rewrite(&mut leg, US, 12000);
        assert_eq!(out.direction(), Direction::Inactive);
    }

    #[test]
    fn version_bumps_only_on_change() {
        let mut leg = LocalSession::new(77, 10);
        let offer = parse(BARESIP);
        let v = |s: &Sdp| s.origin.session_version;
        assert_eq!(v(&offer.rewrite(&mut leg, US, 12000)), 10);
        // Same content again (a refresh re-INVITE): same version, even if the phone bumped its.
        let mut refreshed = offer.clone();
        refreshed.origin.session_version += 1;
        assert_eq!(v(&refreshed.rewrite(&mut leg, US, 12000)), 10);
        // Hold: the content changes, the version goes up by one.
        let mut hold = offer.clone();
        hold.set_direction(Direction::SendOnly);
        assert_eq!(v(&hold.rewrite(&mut leg, US, 12000)), 11);
        // Resume: changes again.
        assert_eq!(v(&offer.rewrite(&mut leg, US, 12000)), 12);
        assert_eq!(leg.version(), 12);
        // Another port (e.g. a new leg socket) is a change as well.
        assert_eq!(v(&offer.rewrite(&mut leg, US, 12002)), 13);
    }

    #[test]
    fn disabled_audio_stays_disabled() {
        let mut sdp = parse(BARESIP);
        sdp.audio_mut().unwrap().port = 0;
        let out = sdp.rewrite(&mut LocalSession::new(1, 1), US, 12000);
        assert_eq!(out.audio().unwrap().port, 0);
        assert_eq!(out.remote_rtp(), None);
    }
}
