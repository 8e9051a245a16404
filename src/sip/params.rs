//! Generic parameters `*( SEMI generic-param )` of Via, From, To, Contact, Route...
//! (RFC 3261 §25.1 `generic-param`, `gen-value`): a validating iterator over the raw text,
//! owned pairs, lookup and writing.

use compact_str::CompactString;

use super::text::{
    find, find_top_level, is_param_value_byte, is_token, memchr, param_value_end, quoted_end,
    token_end, trim,
};

/// A list of `;name[=value]` parameters. Names and values are [`CompactString`]s: the usual
/// `tag=...`, `lr`, `transport=udp`, `branch=z9hG4bK...` of up to 24 bytes decode without an
/// allocation each.
pub type Params = Vec<(CompactString, Option<CompactString>)>;

/// Looks a parameter up by case-insensitive name.
pub(crate) fn find_param<'a>(
    params: &'a [(CompactString, Option<CompactString>)],
    name: &str,
) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Iterates header parameters `*( SEMI generic-param )` where `s` starts at the first `;`
/// (or is empty), validating as it goes: names must be tokens; values are tokens, hosts or
/// quoted strings (yielded with their quotes). LWS around `;` and `=` is allowed. After
/// the first error the iterator ends.
pub(crate) fn header_params(s: &str) -> HeaderParams<'_> {
    let s = trim(s);
    // Without quotes or angle brackets, every `;` separates parameters.
    let plain = memchr(s.as_bytes(), b'"').is_none() && memchr(s.as_bytes(), b'<').is_none();
    if s.is_empty() {
        return HeaderParams {
            rest: None,
            err: None,
            plain,
        };
    }
    match s.strip_prefix(';') {
        Some(rest) => HeaderParams {
            rest: Some(rest),
            err: None,
            plain,
        },
        None => HeaderParams {
            rest: None,
            err: Some(format!("unexpected text {s:.40?}")),
            plain,
        },
    }
}

/// Iterator returned by [`header_params`].
pub(crate) struct HeaderParams<'a> {
    rest: Option<&'a str>,
    err: Option<String>,
    plain: bool,
}

impl<'a> Iterator for HeaderParams<'a> {
    type Item = Result<(&'a str, Option<&'a str>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.err.take() {
            return Some(Err(e));
        }
        let rest = self.rest?;
        let end = if self.plain {
            memchr(rest.as_bytes(), b';')
        } else {
            find_top_level(rest, b';')
        };
        let end = end.unwrap_or(rest.len());
        self.rest = if end < rest.len() {
            rest.get(end + 1..)
        } else {
            None
        };
        let item = rest.get(..end).unwrap_or("");
        let (name, value) = match find(item, b'=') {
            Some(eq) => (
                trim(item.get(..eq).unwrap_or("")),
                Some(trim(item.get(eq + 1..).unwrap_or(""))),
            ),
            None => (trim(item), None),
        };
        let err = if !is_token(name) {
            Some(format!("bad parameter name {name:.40?}"))
        } else if value.is_some_and(|v| !valid_param_value(v)) {
            Some(format!("bad value for parameter {name:.40}"))
        } else {
            None
        };
        match err {
            Some(e) => {
                self.rest = None;
                Some(Err(e))
            }
            None => Some(Ok((name, value))),
        }
    }
}

/// The form nearly every message uses, in one pass over the bytes: `;token[=value]`
/// repeated, with no LWS, quotes or brackets (`value` made of [`is_param_value_byte`]
/// bytes). Calls `each` on every parameter in order. Returns false as soon as the text
/// leaves that form or `each` returns false: the caller then runs the general, validating
/// [`header_params`], which yields the same pairs on every text accepted here.
pub(crate) fn plain_params<'a>(
    s: &'a str,
    mut each: impl FnMut(&'a str, Option<&'a str>) -> bool,
) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i) != Some(&b';') {
            return false;
        }
        let n_end = token_end(b, i + 1);
        let Some(name) = s.get(i + 1..n_end).filter(|n| !n.is_empty()) else {
            return false;
        };
        let value = if b.get(n_end) == Some(&b'=') {
            let v_end = param_value_end(b, n_end + 1);
            let Some(v) = s.get(n_end + 1..v_end).filter(|v| !v.is_empty()) else {
                return false;
            };
            i = v_end;
            Some(v)
        } else {
            i = n_end;
            None
        };
        if !each(name, value) {
            return false;
        }
    }
    true
}

/// Validates header parameters and returns the value of the first `tag` (`Some("")` never:
/// a tag without a value reads as `None`, as [`find_param`] + `flatten` does).
pub(crate) fn check_header_params_tag(s: &str) -> Result<Option<&str>, String> {
    // No parameters, or `;tag=value` alone (nearly every From and To): what the plain walk
    // below reads from them, without it.
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(v) = s.strip_prefix(";tag=") {
        if !v.is_empty() && param_value_end(v.as_bytes(), 0) == v.len() {
            return Ok(Some(v));
        }
    }
    let mut tag = None;
    let mut seen = false;
    let plain = plain_params(s, |n, v| {
        if !seen && (n == "tag" || n.eq_ignore_ascii_case("tag")) {
            seen = true;
            tag = v;
        }
        true
    });
    if plain {
        return Ok(tag);
    }
    check_header_params_tag_general(s)
}

/// [`check_header_params_tag`] for any text: the validating iterator.
fn check_header_params_tag_general(s: &str) -> Result<Option<&str>, String> {
    let mut tag = None;
    let mut seen = false;
    for p in header_params(s) {
        let (n, v) = p?;
        if !seen && n.eq_ignore_ascii_case("tag") {
            seen = true;
            tag = v;
        }
    }
    Ok(tag)
}

/// Parses header parameters into owned pairs (see [`header_params`]). The plain form
/// (what decoding a received From, To or Via nearly always meets) is read in one pass by
/// [`plain_params`], which yields the same pairs; anything else goes the validating way.
pub(crate) fn parse_header_params(s: &str) -> Result<Params, String> {
    let mut out = Params::new();
    let plain = plain_params(s, |n, v| {
        out.push((n.into(), v.map(CompactString::from)));
        true
    });
    if plain {
        return Ok(out);
    }
    parse_header_params_general(s)
}

/// [`parse_header_params`] for any text: the validating iterator.
fn parse_header_params_general(s: &str) -> Result<Params, String> {
    header_params(s)
        .map(|p| p.map(|(n, v)| (n.into(), v.map(CompactString::from))))
        .collect()
}

/// `token / host / quoted-string` (lenient: IPv6 references allowed, UTF-8 allowed in
/// quoted strings).
fn valid_param_value(v: &str) -> bool {
    if let Some(inner) = v.strip_prefix('"') {
        return quoted_end(v) == Some(v.len()) && !inner.is_empty();
    }
    !v.is_empty() && v.bytes().all(is_param_value_byte)
}

/// Writes `;name[=value]` for each parameter.
pub(crate) fn write_params(out: &mut String, params: &[(CompactString, Option<CompactString>)]) {
    for (n, v) in params {
        out.push(';');
        out.push_str(n);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params() {
        let p = parse_header_params(" ; tag = abc ;lr; q=\"a;b\"").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(find_param(&p, "TAG"), Some(Some("abc")));
        assert_eq!(find_param(&p, "lr"), Some(None));
        assert_eq!(find_param(&p, "q"), Some(Some("\"a;b\"")));
        assert!(parse_header_params(";;").is_err());
        assert!(parse_header_params(";a=").is_err());
        assert!(parse_header_params("x").is_err());
    }

    #[test]
    fn one_pass_params_agree_with_the_general_ones() {
        let seeds = [";tag=abc;lr;x=1:2", ";TAG=[::1];q=0.5;tag=2", ";a;b;tag"];
        let mut accepted = 0;
        for s in crate::sip::text::single_edits(&seeds) {
            let mut pairs = Vec::new();
            if plain_params(&s, |n, v| {
                pairs.push((n, v));
                true
            }) {
                accepted += 1;
                let general: Result<Vec<_>, _> = super::header_params(&s).collect();
                assert_eq!(general, Ok(pairs), "{s:?}");
                let tag = check_header_params_tag(&s);
                assert_eq!(tag, check_header_params_tag_general(&s), "{s:?}");
                assert_eq!(
                    parse_header_params(&s),
                    parse_header_params_general(&s),
                    "{s:?}"
                );
            }
        }
        assert!(accepted > 300, "{accepted}");
        // Texts the one pass refuses go the general way: the same verdict either way.
        for s in crate::sip::text::single_edits(&seeds) {
            assert_eq!(
                parse_header_params(&s),
                parse_header_params_general(&s),
                "{s:?}"
            );
        }
    }

    /// The `;tag=value` shortcut reads what the validating pass reads, verdicts and
    /// errors alike, on every single edit of the usual forms.
    #[test]
    fn lone_tag_shortcut_agrees_with_the_general_pass() {
        let seeds = [";tag=abc", ";tag=13374SIPpTag091", "", ";tag=[::1]:5"];
        for s in crate::sip::text::single_edits(&seeds) {
            assert_eq!(
                check_header_params_tag(&s),
                check_header_params_tag_general(&s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn tag_in_the_validating_pass() {
        // (params, verdict): Ok(tag) as find_param(..).flatten() reads it, or an error
        // exactly where parse_header_params errs.
        let cases: &[(&str, Result<Option<&str>, ()>)] = &[
            ("", Ok(None)),
            (";tag=abc", Ok(Some("abc"))),
            (" ; TAG = x1 ;lr", Ok(Some("x1"))),
            (";lr;tag=1;tag=2", Ok(Some("1"))),
            (";tag;tag=2", Ok(None)),
            (";q=\"a;tag=b\";tag=c", Ok(Some("c"))),
            (";tag=\"q\"", Ok(Some("\"q\""))),
            (";tag=", Err(())),
            (";;tag=a", Err(())),
            ("tag=a", Err(())),
            (";tag=a b", Err(())),
            (";t\u{e9}g=a", Err(())),
            (";tag=\"open", Err(())),
        ];
        for (s, want) in cases {
            let got = check_header_params_tag(s).map_err(|_| ());
            assert_eq!(got, *want, "{s:?}");
            let owned = parse_header_params(s).map_err(|_| ());
            assert_eq!(owned.is_ok(), want.is_ok(), "{s:?}");
            if let Ok(p) = owned {
                assert_eq!(find_param(&p, "tag").flatten(), want.unwrap(), "{s:?}");
            }
        }
    }
}
