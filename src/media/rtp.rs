//! RTP/RTCP wire format: classify a datagram, read an RTP header zero-copy, patch it in place,
//! and write a fresh header.
//!
//! Reading list, before working on this file:
//! - RFC 3550 §5.1 (RTP fixed header), §6.4 (SR/RR), appendix A.1 (header validity checks).
//! - RFC 5761 §4 (multiplexing RTP and RTCP on one port: RTCP packet types 200..=204 collide
//!   with RTP payload types 72..=76 with the marker bit set, which is why those PTs are never
//!   used for RTP).
//! - RFC 7983 §7 (demultiplexing STUN, DTLS, RTP by the first byte) and RFC 5389 §6 (the STUN
//!   header and its magic cookie 0x2112A442).
//! - RFC 4733 (telephone-event payloads, whose dynamic PT is rewritten between legs).
//!
//! Two levels, as in smoltcp: [`classify`] and [`RtpPacket`] are views over borrowed bytes
//! (no copy, no allocation: this is the per-packet relay path), [`RtpHeader`] is a plain value
//! that can be written into a buffer.

/// Length of the fixed RTP header, without CSRCs or extension.
pub const RTP_HEADER_LEN: usize = 12;
/// Minimum RTCP packet: the 4-byte common header plus the sender SSRC.
pub const RTCP_MIN_LEN: usize = 8;
/// STUN magic cookie (RFC 5389 §6), bytes 4..8 of every STUN message.
pub const STUN_MAGIC_COOKIE: u32 = 0x2112_A442;

/// Which socket of a leg's port pair a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// The even RTP port (also carries RTCP when rtcp-mux is in use).
    Rtp,
    /// The odd RTCP port: only RTCP is accepted there.
    Rtcp,
}

/// What a datagram is, for the relay: only [`Class::Rtp`] and [`Class::Rtcp`] are forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A valid RTP packet (version 2, header and padding within bounds).
    Rtp,
    /// An RTCP packet or compound (version 2, type 192..=223, first length within bounds).
    Rtcp,
    /// A STUN message (first byte 0 or 1, magic cookie): dropped, never forwarded.
    Stun,
    /// Anything else (wrong version, too short, RTP on the RTCP port, ...): dropped.
    Other,
}

/// Classify a datagram that arrived on `port`, following RFC 5761 §4 and RFC 7983.
///
/// Never panics; never forwards STUN or garbage.
pub fn classify(data: &[u8], port: Port) -> Class {
    let Some(&first) = data.first() else {
        return Class::Other;
    };
    if first <= 1 {
        // STUN: 20-byte header, top two bits zero, magic cookie at 4..8.
        if data.len() >= 20 && data[4..8] == STUN_MAGIC_COOKIE.to_be_bytes() {
            return Class::Stun;
        }
        return Class::Other;
    }
    if first >> 6 != 2 || data.len() < RTCP_MIN_LEN {
        return Class::Other;
    }
    let second = data[1];
    // RTCP packet types 192..=223 (SR 200, RR 201, SDES 202, BYE 203, APP 204, AVPF feedback
    // 205/206, XR 207) are RTP PT 64..=95 with the marker set, a range RFC 5761 §4 forbids
    // for RTP: on either port they are RTCP.
    if (192..=223).contains(&second) {
        // RTCP: the first packet's length (in 32-bit words minus one) must fit the datagram.
        let words = usize::from(u16::from_be_bytes([data[2], data[3]]));
        if (words + 1) * 4 <= data.len() {
            return Class::Rtcp;
        }
        return Class::Other;
    }
    match port {
        Port::Rtcp => Class::Other,
        Port::Rtp => {
            if RtpPacket::new_checked(data).is_ok() {
                Class::Rtp
            } else {
                Class::Other
            }
        }
    }
}

/// Why bytes are not a valid RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than the header it announces (fixed part, CSRCs, extension or padding).
    Truncated,
    /// Version field is not 2.
    BadVersion,
    /// The padding count is zero or larger than the payload.
    BadPadding,
    /// The output buffer is too small for the header or packet to write.
    BufferTooSmall,
}

impl std::fmt::Display for RtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            RtpError::Truncated => "truncated RTP packet",
            RtpError::BadVersion => "RTP version is not 2",
            RtpError::BadPadding => "invalid RTP padding",
            RtpError::BufferTooSmall => "buffer too small for RTP packet",
        };
        f.write_str(s)
    }
}

impl std::error::Error for RtpError {}

/// A zero-copy view of an RTP packet over any byte buffer (read-only or mutable).
///
/// Build it with [`RtpPacket::new_checked`]; every accessor is then in bounds.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buf: T,
    header_len: usize,
    padding_len: usize,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Validate the header (RFC 3550 A.1: version 2, CSRCs, extension, padding in bounds).
    pub fn new_checked(buf: T) -> Result<Self, RtpError> {
        let data = buf.as_ref();
        if data.len() < RTP_HEADER_LEN {
            return Err(RtpError::Truncated);
        }
        if data[0] >> 6 != 2 {
            return Err(RtpError::BadVersion);
        }
        let cc = usize::from(data[0] & 0x0F);
        let mut header_len = RTP_HEADER_LEN + 4 * cc;
        if data[0] & 0x10 != 0 {
            // Extension: 16-bit profile, 16-bit length in words.
            let ext = data
                .get(header_len..header_len + 4)
                .ok_or(RtpError::Truncated)?;
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            header_len += 4 + 4 * words;
        }
        if data.len() < header_len {
            return Err(RtpError::Truncated);
        }
        let padding_len = if data[0] & 0x20 != 0 {
            let n = usize::from(data[data.len() - 1]);
            if n == 0 || header_len + n > data.len() {
                return Err(RtpError::BadPadding);
            }
            n
        } else {
            0
        };
        Ok(RtpPacket {
            buf,
            header_len,
            padding_len,
        })
    }

    fn data(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// The padding flag (P).
    pub fn padding(&self) -> bool {
        self.data()[0] & 0x20 != 0
    }
    /// The extension flag (X).
    pub fn extension(&self) -> bool {
        self.data()[0] & 0x10 != 0
    }
    /// Number of CSRC identifiers (CC).
    pub fn csrc_count(&self) -> u8 {
        self.data()[0] & 0x0F
    }
    /// The marker bit (M).
    pub fn marker(&self) -> bool {
        self.data()[1] & 0x80 != 0
    }
    /// The payload type (7 bits).
    pub fn payload_type(&self) -> u8 {
        self.data()[1] & 0x7F
    }
    /// The sequence number.
    pub fn sequence(&self) -> u16 {
        let d = self.data();
        u16::from_be_bytes([d[2], d[3]])
    }
    /// The RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        let d = self.data();
        u32::from_be_bytes([d[4], d[5], d[6], d[7]])
    }
    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        let d = self.data();
        u32::from_be_bytes([d[8], d[9], d[10], d[11]])
    }
    /// Length of the header: fixed part, CSRCs and extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    /// The payload, without header and padding.
    pub fn payload(&self) -> &[u8] {
        let d = self.data();
        &d[self.header_len..d.len() - self.padding_len]
    }
    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }
    /// Rewrite the payload type in place, keeping the marker bit (DTMF PT mapping between legs).
    pub fn set_payload_type(&mut self, pt: u8) {
        let d = self.data_mut();
        d[1] = (d[1] & 0x80) | (pt & 0x7F);
    }
    /// Set or clear the marker bit.
    pub fn set_marker(&mut self, marker: bool) {
        let d = self.data_mut();
        d[1] = (d[1] & 0x7F) | if marker { 0x80 } else { 0 };
    }
    /// Rewrite the sequence number.
    pub fn set_sequence(&mut self, seq: u16) {
        self.data_mut()[2..4].copy_from_slice(&seq.to_be_bytes());
    }
    /// Rewrite the timestamp.
    pub fn set_timestamp(&mut self, ts: u32) {
        self.data_mut()[4..8].copy_from_slice(&ts.to_be_bytes());
    }
    /// Rewrite the SSRC.
    pub fn set_ssrc(&mut self, ssrc: u32) {
        self.data_mut()[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }
    /// The payload, mutable (for in-place transcoding).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, pad) = (self.header_len, self.padding_len);
        let d = self.data_mut();
        let end = d.len() - pad;
        &mut d[start..end]
    }
}

/// Rewrite the payload type of the RTP packet in `buf`, in place. Returns an error (and leaves
/// the bytes untouched) when `buf` is not a valid RTP packet.
pub fn rewrite_payload_type(buf: &mut [u8], pt: u8) -> Result<(), RtpError> {
    RtpPacket::new_checked(buf)?.set_payload_type(pt);
    Ok(())
}

/// A fixed RTP header without CSRCs or extension, as sipbox writes it when it is the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit: first packet of a talk spurt.
    pub marker: bool,
    /// Payload type (7 bits; higher bits are masked off).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp in the clock rate of the payload (8 kHz for G.711).
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Read the fixed fields of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &RtpPacket<T>) -> Self {
        RtpHeader {
            marker: p.marker(),
            payload_type: p.payload_type(),
            sequence: p.sequence(),
            timestamp: p.timestamp(),
            ssrc: p.ssrc(),
        }
    }

    /// Write the 12-byte header at the start of `buf`; returns [`RTP_HEADER_LEN`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, RtpError> {
        let h = buf
            .get_mut(..RTP_HEADER_LEN)
            .ok_or(RtpError::BufferTooSmall)?;
        h[0] = 0x80;
        h[1] = (u8::from(self.marker) << 7) | (self.payload_type & 0x7F);
        h[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        h[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        h[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        Ok(RTP_HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCMU packet as a phone sends it: V=2, M=1, PT=0, seq 0x1234, ts 0xA0, ssrc 0xDEADBEEF.
    const RTP_PCMU: [u8; 16] = [
        0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x00, 0xA0, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFF, 0x7F,
        0x00,
    ];
    /// RTCP receiver report (PT 201) with one report block: 32 bytes, length 7.
    const RTCP_RR: [u8; 32] = [
        0x81, 0xC9, 0x00, 0x07, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0, 0,
        0x10, 0x00, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    /// RTCP sender report (PT 200) with no report blocks: 28 bytes, length 6.
    const RTCP_SR: [u8; 28] = [
        0x80, 0xC8, 0x00, 0x06, 0xDE, 0xAD, 0xBE, 0xEF, 0xE9, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0xA0, 0, 0, 0, 50, 0, 0, 0x1F, 0x40,
    ];
    /// RTCP payload-specific feedback (PT 206, FMT 1 = PLI): 12 bytes, length 2.
    const PSFB_PLI: [u8; 12] = [0x81, 0xCE, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2];
    /// STUN binding request (type 0x0001, length 0, cookie, transaction id).
    const STUN_BINDING: [u8; 20] = [
        0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];

    #[test]
    fn classification_table() {
        let cases: &[(&[u8], Port, Class)] = &[
            (&RTP_PCMU, Port::Rtp, Class::Rtp),
            (&RTP_PCMU, Port::Rtcp, Class::Other),
            (&RTCP_RR, Port::Rtcp, Class::Rtcp),
            (&RTCP_RR, Port::Rtp, Class::Rtcp), // rtcp-mux
            (&RTCP_SR, Port::Rtcp, Class::Rtcp),
            (&RTCP_SR[..20], Port::Rtcp, Class::Other), // length field beyond datagram
            (&PSFB_PLI, Port::Rtp, Class::Rtcp),        // AVPF feedback, muxed
            (&PSFB_PLI, Port::Rtcp, Class::Rtcp),
            (&STUN_BINDING, Port::Rtp, Class::Stun),
            (&STUN_BINDING[..19], Port::Rtp, Class::Other),
            (&[], Port::Rtp, Class::Other),
            (&[0x80], Port::Rtp, Class::Other),
            (&RTP_PCMU[..11], Port::Rtp, Class::Other),
            (b"GET / HTTP/1.1\r\n", Port::Rtp, Class::Other),
            (&[0x40; 16], Port::Rtp, Class::Other), // version 1
            (&[0xC0; 16], Port::Rtp, Class::Other), // version 3
            (&[0x00; 20], Port::Rtp, Class::Other), // no cookie
        ];
        for (i, (data, port, want)) in cases.iter().enumerate() {
            assert_eq!(classify(data, *port), *want, "case {i}");
        }
    }

    #[test]
    fn rtp_fields() {
        let p = RtpPacket::new_checked(&RTP_PCMU[..]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0);
        assert_eq!(p.sequence(), 0x1234);
        assert_eq!(p.timestamp(), 0xA0);
        assert_eq!(p.ssrc(), 0xDEAD_BEEF);
        assert_eq!(p.csrc_count(), 0);
        assert!(!p.extension() && !p.padding());
        assert_eq!(p.payload(), &[0xFF, 0xFF, 0x7F, 0x00]);
        let h = RtpHeader::parse(&p);
        let mut out = [0u8; 12];
        assert_eq!(h.emit(&mut out), Ok(12));
        assert_eq!(out, RTP_PCMU[..12]);
        assert_eq!(h.emit(&mut [0u8; 11]), Err(RtpError::BufferTooSmall));
    }

    #[test]
    fn csrc_extension_padding() {
        // CC=1, X=1, P=1; ext length 1 word; payload 2 bytes; padding 2.
        let mut pkt = vec![0xB1, 0x08, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        pkt.extend_from_slice(&[9, 9, 9, 9]); // CSRC
        pkt.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // extension
        pkt.extend_from_slice(&[0xD5, 0xD5, 0, 2]); // payload + padding
        let p = RtpPacket::new_checked(&pkt[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload(), &[0xD5, 0xD5]);
        assert_eq!(p.payload_type(), 8);
        // Truncations never panic and fail cleanly.
        for n in 0..pkt.len() {
            let _ = RtpPacket::new_checked(&pkt[..n]);
            let _ = classify(&pkt[..n], Port::Rtp);
        }
        assert_eq!(
            RtpPacket::new_checked(&pkt[..20]).err(),
            Some(RtpError::Truncated)
        );
        let mut bad = pkt.clone();
        *bad.last_mut().unwrap() = 0;
        assert_eq!(
            RtpPacket::new_checked(&bad[..]).err(),
            Some(RtpError::BadPadding)
        );
        *bad.last_mut().unwrap() = 200;
        assert_eq!(
            RtpPacket::new_checked(&bad[..]).err(),
            Some(RtpError::BadPadding)
        );
    }

    #[test]
    fn rewrite_pt_keeps_marker() {
        // telephone-event PT 101 with marker → PT 96.
        let mut pkt = [
            0x80,
            0x80 | 101,
            0,
            7,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            1,
            0x8A,
            0,
            0xA0,
        ];
        rewrite_payload_type(&mut pkt, 96).unwrap();
        assert_eq!(pkt[1], 0x80 | 96);
        let mut p = RtpPacket::new_checked(&mut pkt[..]).unwrap();
        p.set_marker(false);
        p.set_sequence(9);
        p.set_timestamp(160);
        p.set_ssrc(7);
        p.payload_mut()[0] = 2;
        assert_eq!(p.payload_type(), 96);
        assert!(!p.marker());
        assert_eq!((p.sequence(), p.timestamp(), p.ssrc()), (9, 160, 7));
        let mut short = [0x80u8; 5];
        assert_eq!(
            rewrite_payload_type(&mut short, 0),
            Err(RtpError::Truncated)
        );
        assert_eq!(short, [0x80; 5]);
    }

    #[test]
    fn exhaustive_two_byte_prefixes_never_panic() {
        let mut buf = [0u8; 24];
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                buf[0] = a;
                buf[1] = b;
                buf[3] = a;
                buf[23] = b;
                for n in [0, 1, 8, 12, 13, 24] {
                    let _ = classify(&buf[..n], Port::Rtp);
                    let _ = classify(&buf[..n], Port::Rtcp);
                }
            }
        }
    }
}
