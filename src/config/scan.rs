//! The reader's byte scans: lines, a character's first place and trimming, as `str::lines`,
//! `str::find` and `str::trim` give them, without their per-call set-up (a sip.conf of
//! 10 000 users is 50 000 short lines, each scanned several times).

/// The lines of `text` exactly as [`str::lines`] splits them: at `\n`, a `\r` before it
/// dropped, no empty line after a final `\n`.
pub fn lines(text: &str) -> Lines<'_> {
    Lines(text)
}

/// See [`lines`].
pub struct Lines<'a>(&'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let Some(end) = find(self.0, b'\n') else {
            return Some(std::mem::take(&mut self.0));
        };
        // `\n` is one byte, so both sides are on character boundaries.
        let (line, rest) = self.0.split_at(end);
        self.0 = &rest[1..];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// The first place of the ASCII byte `b` in `s` (as `s.find(b as char)`).
pub fn find(s: &str, b: u8) -> Option<usize> {
    s.as_bytes().iter().position(|&c| c == b)
}

/// `s.trim()`; `s` itself when it starts and ends with a visible ASCII character (the
/// usual case), which `trim` would not remove.
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_the_std_versions() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb\n\nc",
            "a\r",
            "a\r\r\n",
            "\r\n\r\n",
            " x = y \u{a0}\n\u{feff}k=v\r\n\t\u{2003}z\u{2003}",
            "é=ü\nß",
        ] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>()
            );
            for line in text.lines().chain([text]) {
                assert_eq!(trim(line), line.trim(), "{line:?}");
                for b in [b'=', b'\n', b'x', b'\r'] {
                    assert_eq!(find(line, b), line.find(b as char), "{line:?}");
                }
            }
        }
    }
}
