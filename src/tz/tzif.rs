//! The TZif reader (RFC 8536 §3): header, data block, and the version 2+ footer.

use super::{Abbr, LocalType, Rule, Zone};

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn header(b: &[u8]) -> Result<Header, String> {
    if b.get(..4) != Some(b"TZif".as_slice()) {
        return Err("not a TZif file".into());
    }
    if b.len() < 44 {
        return Err("TZif header cut short".into());
    }
    let n = |i: usize| -> Result<usize, String> {
        let s = b
            .get(20 + 4 * i..24 + 4 * i)
            .ok_or("TZif header cut short")?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let h = Header {
        version: b[4],
        isutcnt: n(0)?,
        isstdcnt: n(1)?,
        leapcnt: n(2)?,
        timecnt: n(3)?,
        typecnt: n(4)?,
        charcnt: n(5)?,
    };
    if h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0 {
        return Err("TZif header: no local time types".into());
    }
    if (h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) {
        return Err("TZif header: bad indicator counts".into());
    }
    Ok(h)
}

impl Header {
    /// Length of the data block with `size`-byte times.
    fn block_len(&self, size: usize) -> usize {
        self.timecnt * (size + 1)
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (size + 4)
            + self.isstdcnt
            + self.isutcnt
    }
}

/// The zone of one data block (after its 44-byte header) with `size`-byte times.
fn block(h: &Header, d: &[u8], size: usize) -> Result<Zone, String> {
    let cut = || "TZif data block cut short".to_string();
    let times_b = d.get(..h.timecnt * size).ok_or_else(cut)?;
    let mut at = h.timecnt * size;
    let idx = d.get(at..at + h.timecnt).ok_or_else(cut)?.to_vec();
    at += h.timecnt;
    let types_b = d.get(at..at + h.typecnt * 6).ok_or_else(cut)?;
    at += h.typecnt * 6;
    let chars = d.get(at..at + h.charcnt).ok_or_else(cut)?;
    let mut times = Vec::with_capacity(h.timecnt);
    for c in times_b.chunks_exact(size) {
        let t = if size == 8 {
            i64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        } else {
            i64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        };
        if times.last().is_some_and(|&p| p >= t) {
            return Err("TZif transition times not ascending".into());
        }
        times.push(t);
    }
    if idx.iter().any(|&i| usize::from(i) >= h.typecnt) {
        return Err("TZif transition names a missing local time type".into());
    }
    let mut types = Vec::with_capacity(h.typecnt);
    for t in types_b.chunks_exact(6) {
        let utoff = i32::from_be_bytes([t[0], t[1], t[2], t[3]]);
        if utoff == i32::MIN || t[4] > 1 || usize::from(t[5]) >= h.charcnt {
            return Err("TZif local time type out of range".into());
        }
        let name = &chars[usize::from(t[5])..];
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        types.push(LocalType {
            offset: i64::from(utoff),
            dst: t[4] == 1,
            abbr: Abbr::new(std::str::from_utf8(&name[..end]).unwrap_or("")),
        });
    }
    Ok(Zone {
        times,
        idx,
        types,
        rule: None,
    })
}

pub(super) fn parse(b: &[u8]) -> Result<Zone, String> {
    let h1 = header(b)?;
    let v1_end = 44 + h1.block_len(4);
    if h1.version == 0 {
        return block(&h1, b.get(44..).unwrap_or_default(), 4);
    }
    // Version 2+: the 32-bit block is skipped for the second header's 64-bit one.
    let rest = b.get(v1_end..).ok_or("TZif version 1 block cut short")?;
    let h2 = header(rest)?;
    let mut zone = block(&h2, &rest[44..], 8)?;
    let footer = rest
        .get(44 + h2.block_len(8)..)
        .ok_or("TZif version 2 block cut short")?;
    let text = footer
        .strip_prefix(b"\n")
        .and_then(|f| f.iter().position(|&c| c == b'\n').map(|e| &f[..e]))
        .ok_or("TZif footer missing")?;
    let text = std::str::from_utf8(text).map_err(|_| "TZif footer not text")?;
    if !text.is_empty() {
        zone.rule = Some(Rule::parse(text).map_err(|e| format!("TZif footer: {e}"))?);
    }
    Ok(zone)
}
