//! The ordered header store of a message (RFC 3261 §7.3).
//!
//! All header lines live in one `String`, already in wire form (`Name: value\r\n`, with the
//! canonical name); each header is a name, where its line starts and its value's byte
//! range. Serializing is then mostly one copy of contiguous lines. Folded lines are
//! unfolded into single spaces once, at parse. Typed values are decoded on demand
//! (see `typed.rs`), except the essentials validated at parse (`essentials.rs`).

use std::ops::Range;

use super::header_table::{Table, Text};
use super::name::HeaderName;
use super::text::{is_lws, single, split_list, trim, ListIter};

/// Appends `Name: value\r\n` (canonical name, value trimmed) to `text`; returns the line
/// start and value range.
fn append_line(text: &mut String, name: &HeaderName, value: &str) -> (usize, Range<usize>) {
    // Builders pass trimmed values: `trim`'s two scans only when an end is blank.
    let value = match (value.as_bytes().first(), value.as_bytes().last()) {
        (Some(&a), Some(&b)) if is_lws(a) || is_lws(b) => trim(value),
        _ => value,
    };
    let line = text.len();
    match name.wire_prefix() {
        Some(prefix) => {
            text.reserve(prefix.len() + value.len() + 2);
            text.push_str(prefix);
        }
        None => {
            text.push_str(name.as_str());
            text.push_str(": ");
        }
    }
    let start = text.len();
    text.push_str(value);
    let end = text.len();
    text.push_str("\r\n");
    (line, start..end)
}

/// The header lines of a received message as they are read: positions in the head (the
/// text from the first header line), which [`Received::finish`] copies once, whole. Lines
/// already in wire form (canonical name, `: `, trimmed value, CR LF) are used in place;
/// the others (compact or odd-case names, extra blanks, bare LF, folding) are written in
/// wire form after the copy, and their original bytes are left unused.
pub(crate) struct Received {
    /// An entry to write after the copy has `line == REWRITE` and its raw value range in
    /// the head (no list of its own: a third of the bench's requests had one).
    entries: Table,
    /// The unfolded values of entries continuation lines followed (rare), by index.
    folded: Vec<(usize, String)>,
}

/// The `line` of an entry [`Received::finish`] writes.
const REWRITE: u32 = u32::MAX;

impl Received {
    /// Room for `count` headers.
    pub(crate) fn with_capacity(count: usize) -> Received {
        Received {
            entries: Table::with_capacity(count),
            folded: Vec::new(),
        }
    }

    /// True if no header line was read yet.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// A line in wire form starting at `line`, its value at `value`.
    #[inline]
    pub(crate) fn wire_line(&mut self, name: HeaderName, line: usize, value: Range<usize>) {
        self.entries.push(Entry::new(name, line, value));
    }

    /// A line to rewrite; `raw` is its value as received (trimmed on writing).
    #[inline]
    pub(crate) fn other_line(&mut self, name: HeaderName, raw: Range<usize>) {
        let mut e = Entry::new(name, 0, raw);
        e.line = REWRITE;
        self.entries.push(e);
    }

    /// A continuation line of the last header: its trimmed text joins the value after one
    /// space (nothing if it is blank). `head` is the text the positions refer to.
    pub(crate) fn fold(&mut self, head: &str, piece: &str) {
        let piece = trim(piece);
        let Some(last) = self.entries.len().checked_sub(1) else {
            return;
        };
        if piece.is_empty() {
            return;
        }
        let Some(e) = self.entries.as_mut_slice().get_mut(last) else {
            return;
        };
        // A wire line's value range is its raw value (already trimmed).
        e.line = REWRITE;
        if self.folded.last().map(|f| f.0) != Some(last) {
            let first = trim(head.get(e.value()).unwrap_or(""));
            self.folded.push((last, first.to_owned()));
        }
        if let Some((_, value)) = self.folded.last_mut() {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(piece);
        }
    }

    /// The store: `whole[..copy]` (the datagram from its start line, with the body when
    /// it is UTF-8: one copy serves the request line, the header lines and the body) copied
    /// once, then the lines to rewrite; `lines` is how many of those bytes are header
    /// lines (the sizing hint [`Headers::text_len`] counts only those); `spare` more bytes
    /// of room for headers pushed later. Positions of the lines read are in `whole`.
    pub(crate) fn finish(self, whole: &str, copy: usize, lines: usize, spare: usize) -> Headers {
        let Received {
            mut entries,
            folded,
        } = self;
        let kept = whole.get(..copy).unwrap_or("");
        let mut text = Text::with_capacity(kept.len() + spare);
        text.push_str(kept);
        let mut folded = folded.iter().peekable();
        for (i, e) in entries.as_mut_slice().iter_mut().enumerate() {
            if e.line != REWRITE {
                continue;
            }
            let value = match folded.next_if(|f| f.0 == i) {
                Some((_, joined)) => joined.as_str(),
                None => whole.get(e.value()).unwrap_or(""),
            };
            let (line, value) = append_line(&mut text, &e.name, value);
            e.set(line, value);
        }
        Headers {
            text,
            entries,
            raw: kept.len().saturating_sub(lines),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    name: HeaderName,
    /// Where `Name: ` starts; the line ends at `value.end + 2` (after CR LF).
    line: u32,
    /// The value's byte range (u32: a message is far smaller; an entry is 40 bytes).
    start: u32,
    end: u32,
}

/// A text position as an entry keeps it (a message is at most 64 KB).
fn pos(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

impl Entry {
    fn new(name: HeaderName, line: usize, value: Range<usize>) -> Entry {
        Entry {
            name,
            line: pos(line),
            start: pos(value.start),
            end: pos(value.end),
        }
    }

    fn line(&self) -> usize {
        self.line as usize
    }

    fn value(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    fn set(&mut self, line: usize, value: Range<usize>) {
        self.line = pos(line);
        self.start = pos(value.start);
        self.end = pos(value.end);
    }
}

/// A byte range of the header text (the text only grows, so a span stays valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// Headers in wire order: (name, raw value) pairs.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    text: Text,
    entries: Table,
    /// Bytes of `text` that are no header line: a received message's start line and
    /// body, a built request's Request-URI ([`Headers::push_raw`]).
    raw: usize,
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Headers {}

impl Span {
    /// A byte range of the header text as a span (None past `u32`).
    pub(crate) fn of(range: Range<usize>) -> Option<Span> {
        Some(Span {
            start: u32::try_from(range.start).ok()?,
            end: u32::try_from(range.end).ok()?,
        })
    }
}

impl Headers {
    /// An empty store.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty store with room for `bytes` of values and `count` headers.
    pub fn with_capacity(bytes: usize, count: usize) -> Headers {
        Headers {
            text: Text::with_capacity(bytes),
            entries: Table::with_capacity(count),
            raw: 0,
        }
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    fn value(&self, e: &Entry) -> &str {
        self.text.get(e.value()).unwrap_or("")
    }

    /// The first value of `name` (the whole line's value, even for list headers).
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.entries
            .as_slice()
            .iter()
            .find(|e| e.name == *name)
            .map(|e| self.value(e))
    }

    /// Every value of `name` in order; list headers are split on top-level commas (empty
    /// elements are yielded so validators can reject them).
    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        let list = name.is_list();
        let name = name.clone();
        self.entries
            .as_slice()
            .iter()
            .filter(move |e| e.name == name)
            .flat_map(move |e| -> ListIter<'a> {
                let v = self.value(e);
                if list {
                    split_list(v)
                } else {
                    single(v)
                }
            })
    }

    /// How many header lines are named `name`.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.entries
            .as_slice()
            .iter()
            .filter(|e| e.name == *name)
            .count()
    }

    /// Every header line's name, in order (an index here is one for [`Headers::value_at`]).
    pub(crate) fn names(&self) -> impl Iterator<Item = &HeaderName> + '_ {
        self.entries.as_slice().iter().map(|e| &e.name)
    }

    /// The raw value of line `i` ("" past the end).
    pub(crate) fn value_at(&self, i: usize) -> &str {
        self.entries.as_slice().get(i).map_or("", |e| self.value(e))
    }

    /// Every header line as (name, raw value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &str)> + '_ {
        self.entries
            .as_slice()
            .iter()
            .map(|e| (&e.name, self.value(e)))
    }

    /// Appends `Name: value\r\n` to the text; returns the line start and value range.
    fn append_line(&mut self, name: &HeaderName, value: &str) -> (usize, Range<usize>) {
        append_line(&mut self.text, name, value)
    }

    /// Appends a header line; the value is trimmed.
    pub fn push(&mut self, name: HeaderName, value: &str) {
        let (line, value) = self.append_line(&name, value);
        self.entries.push(Entry::new(name, line, value));
    }

    /// Appends a header line whose value `write` appends to the text in place (already
    /// trimmed): builders print Via, From, To, CSeq and Contact straight into the message,
    /// without a temporary String. Returns the value written.
    pub(crate) fn push_with(&mut self, name: HeaderName, write: impl FnOnce(&mut String)) -> &str {
        let line = self.text.len();
        match name.wire_prefix() {
            Some(prefix) => self.text.push_str(prefix),
            None => {
                self.text.push_str(name.as_str());
                self.text.push_str(": ");
            }
        }
        let start = self.text.len();
        write(&mut self.text);
        let end = self.text.len();
        self.text.push_str("\r\n");
        self.entries.push(Entry::new(name, line, start..end));
        self.text.get(start..end).unwrap_or("")
    }

    /// Appends line `i` of `src` (the request a response answers, RFC 3261 §8.2.6.2) under
    /// `name` (its name), with `extra` written after its value: `src`'s lines are in wire form
    /// already (canonical name, `: `, value, CR LF), so the copy is a slice or two of its text,
    /// without the name's prefix, the trim and the value's push of [`Headers::push`]. With no
    /// `extra`, a value that is not trimmed (a builder's) is pushed, trimmed, as `push` would.
    pub(crate) fn push_line_of(
        &mut self,
        src: &Headers,
        i: usize,
        name: HeaderName,
        extra: &[&str],
    ) {
        let Some(e) = src.entries.as_slice().get(i) else {
            return;
        };
        let value = src.value(e);
        let trimmed = !matches!(
            (value.as_bytes().first(), value.as_bytes().last()),
            (Some(&a), Some(&b)) if is_lws(a) || is_lws(b)
        );
        let v = e.value();
        // `Name: value` (and its CR LF when nothing follows the value).
        let copied = if extra.is_empty() { v.end + 2 } else { v.end };
        let (Some(text), Some(head), true) = (
            src.text.get(e.line()..copied),
            v.start.checked_sub(e.line()),
            trimmed || !extra.is_empty(),
        ) else {
            self.push(name, value);
            return;
        };
        let line = self.text.len();
        self.text.push_str(text);
        for x in extra {
            self.text.push_str(x);
        }
        let end = line + head + value.len() + extra.iter().map(|x| x.len()).sum::<usize>();
        if !extra.is_empty() {
            self.text.push_str("\r\n");
        }
        self.entries.push(Entry::new(name, line, line + head..end));
    }

    /// Appends lines of `src` in order, each under its name, as [`Headers::push_line_of`]
    /// copies them with no extra; when they follow each other in `src`'s text with trimmed
    /// values (a request's From, To, Call-ID and CSeq, as nearly every sender orders them),
    /// all with one push.
    pub(crate) fn push_run_of<const N: usize>(
        &mut self,
        src: &Headers,
        lines: [(usize, HeaderName); N],
    ) {
        let entries = src.entries.as_slice();
        let mut run: Option<Range<usize>> = None;
        for (i, _) in &lines {
            let next = entries.get(*i).and_then(|e| {
                let value = src.value(e);
                let trimmed = !matches!(
                    (value.as_bytes().first(), value.as_bytes().last()),
                    (Some(&a), Some(&b)) if is_lws(a) || is_lws(b)
                );
                let start = match &run {
                    None => e.line(),
                    Some(r) if r.end == e.line() => r.start,
                    Some(_) => return None,
                };
                trimmed.then_some(start..e.value().end + 2)
            });
            run = next;
            if run.is_none() {
                break;
            }
        }
        let Some(text) = run.and_then(|r| Some((r.start, src.text.get(r)?))) else {
            for (i, name) in lines {
                self.push_line_of(src, i, name, &[]);
            }
            return;
        };
        let (first, text) = text;
        let base = self.text.len();
        self.text.push_str(text);
        for (i, name) in lines {
            if let Some(e) = entries.get(i) {
                let at = |p: usize| base + (p - first);
                let v = e.value();
                self.entries
                    .push(Entry::new(name, at(e.line()), at(v.start)..at(v.end)));
            }
        }
    }

    /// Removes every line named `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.entries.retain(|e| e.name != *name);
    }

    /// Replaces every line named `name` by one line with `value`, in the place of the first.
    pub fn set(&mut self, name: HeaderName, value: &str) {
        let Some(i) = self.entries.as_slice().iter().position(|e| e.name == name) else {
            self.push(name, value);
            return;
        };
        let (line, range) = self.append_line(&name, value);
        let mut index = 0;
        self.entries.retain(|e| {
            let keep = e.name != name || index == i;
            index += 1;
            keep
        });
        if let Some(e) = self.entries.as_mut_slice().get_mut(i) {
            e.set(line, range);
        }
    }

    /// Replaces the first list element of the first `name` line by `value`, keeping any
    /// further elements of that line on a new line right after it.
    pub(crate) fn replace_first_element(&mut self, name: &HeaderName, value: &str) {
        let Some(i) = self.entries.as_slice().iter().position(|e| e.name == *name) else {
            self.push(name.clone(), value);
            return;
        };
        let old = self
            .entries
            .as_slice()
            .get(i)
            .map(|e| self.value(e))
            .unwrap_or("");
        let rest: Vec<String> = split_list(old).skip(1).map(str::to_owned).collect();
        let (line, range) = self.append_line(name, value);
        if let Some(e) = self.entries.as_mut_slice().get_mut(i) {
            e.set(line, range);
        }
        if !rest.is_empty() {
            let (line, value) = self.append_line(name, &rest.join(", "));
            let entry = Entry::new(name.clone(), line, value);
            self.entries.insert(i + 1, entry);
        }
    }

    /// Writes every line except Content-Length (computed by the message serializer),
    /// copying runs of contiguous lines at once.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        let bytes = self.text.as_bytes();
        let mut run = 0..0;
        for e in self.entries.as_slice() {
            if e.name == HeaderName::ContentLength {
                continue;
            }
            let end = e.value().end + 2;
            if e.line() == run.end && run.end > run.start {
                run.end = end;
            } else {
                out.extend_from_slice(bytes.get(run.clone()).unwrap_or(&[]));
                run = e.line()..end;
            }
        }
        out.extend_from_slice(bytes.get(run).unwrap_or(&[]));
    }

    /// Where `part` (a slice of a value this store returned) lies in the text, for
    /// [`Headers::at`]: a span of the received message instead of a copy.
    pub(crate) fn span_of(&self, part: &str) -> Option<Span> {
        // Addresses only, compared as numbers: no pointer is dereferenced.
        let base = self.text.as_ptr() as usize;
        let start = (part.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(part.len())?;
        if end > self.text.len() {
            return None;
        }
        Some(Span {
            start: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
        })
    }

    /// The text of a span from [`Headers::span_of`] ("" if it does not fit).
    pub(crate) fn at(&self, s: Span) -> &str {
        let (Ok(a), Ok(b)) = (usize::try_from(s.start), usize::try_from(s.end)) else {
            return "";
        };
        self.text.get(a..b).unwrap_or("")
    }

    /// Bytes of all header lines (a sizing hint for serializers).
    pub(crate) fn text_len(&self) -> usize {
        self.text.len().saturating_sub(self.raw)
    }

    /// The span of `r` in the text (None if it does not fit), for text the store holds
    /// besides the header lines (see [`Received::finish`]).
    pub(crate) fn span(&self, r: Range<usize>) -> Option<Span> {
        if r.start > r.end || r.end > self.text.len() {
            return None;
        }
        Some(Span {
            start: u32::try_from(r.start).ok()?,
            end: u32::try_from(r.end).ok()?,
        })
    }

    /// Appends text that is no header line (a built request's Request-URI): `write` prints
    /// it; its span is returned. Saves the message a String of its own.
    pub(crate) fn push_raw(&mut self, write: impl FnOnce(&mut String)) -> Span {
        let start = self.text.len();
        write(&mut self.text);
        let end = self.text.len();
        self.raw += end - start;
        self.span(start..end).unwrap_or(Span { start: 0, end: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_lists() {
        // As read: a line to rewrite, a wire line continued by a folded one, a wire line.
        let head = "v:  SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b \r\n\
                    Subject: x\r\n  y \r\nX-B: 7\r\n";
        let mut r = Received::with_capacity(4);
        assert!(r.is_empty());
        r.other_line(HeaderName::Via, 2..49);
        r.wire_line(HeaderName::Subject, 51, 60..61);
        r.fold(head, "  y ");
        r.wire_line(HeaderName::Other("X-B".into()), 69, 74..75);
        let mut h = r.finish(head, head.len(), head.len(), 0);
        assert_eq!(h.get(&HeaderName::Subject), Some("x y"));
        assert_eq!(h.get(&HeaderName::parse("x-b")), Some("7"));
        h.remove(&HeaderName::parse("X-B"));
        h.push(HeaderName::Via, "SIP/2.0/UDP c");
        h.push(HeaderName::Other("X-A".into()), "1, 2");
        assert_eq!(h.get(&HeaderName::Subject), Some("x y"));
        let v: Vec<_> = h.get_all(&HeaderName::Via).collect();
        assert_eq!(
            v,
            [
                "SIP/2.0/UDP a;branch=z9hG4bK1",
                "SIP/2.0/UDP b",
                "SIP/2.0/UDP c"
            ]
        );
        let x = HeaderName::parse("x-a");
        assert_eq!(h.get_all(&x).collect::<Vec<_>>(), ["1, 2"]);
        h.replace_first_element(&HeaderName::Via, "SIP/2.0/UDP z");
        let v: Vec<_> = h.get_all(&HeaderName::Via).collect();
        assert_eq!(v, ["SIP/2.0/UDP z", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]);
        assert_eq!(h.count(&HeaderName::Via), 3);
        h.push(HeaderName::ContentLength, "12");
        let mut out = Vec::new();
        h.write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Via: SIP/2.0/UDP z\r\nVia: SIP/2.0/UDP b\r\nSubject: x y\r\n\
             Via: SIP/2.0/UDP c\r\nX-A: 1, 2\r\n"
        );
        h.remove(&HeaderName::ContentLength);
        h.set(HeaderName::Via, "SIP/2.0/UDP only");
        assert_eq!(h.count(&HeaderName::Via), 1);
        assert_eq!(h.iter().next().map(|(n, _)| n), Some(&HeaderName::Via));
        h.remove(&HeaderName::Via);
        assert_eq!(h.len(), 2);
    }
}
