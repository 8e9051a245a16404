//! Generic parameters `*( SEMI generic-param )` of Via, From, To, Contact, Route...
//! (RFC 3261 §25.1 `generic-param`, `gen-value`): a validating iterator over the raw text,
//! owned pairs, lookup and writing.

use super::text::{find, find_top_level, is_param_value_byte, is_token, memchr, quoted_end, trim};

/// A list of `;name[=value]` parameters.
pub type Params = Vec<(String, Option<String>)>;

/// Looks a parameter up by case-insensitive name.
pub(crate) fn find_param<'a>(
    params: &'a [(String, Option<String>)],
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

/// Validates header parameters and returns the value of the first `tag` (`Some("")` never:
/// a tag without a value reads as `None`, as [`find_param`] + `flatten` does).
pub(crate) fn check_header_params_tag(s: &str) -> Result<Option<&str>, String> {
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

/// Parses header parameters into owned pairs (see [`header_params`]).
pub(crate) fn parse_header_params(s: &str) -> Result<Params, String> {
    header_params(s)
        .map(|p| p.map(|(n, v)| (n.to_owned(), v.map(str::to_owned))))
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
pub(crate) fn write_params(out: &mut String, params: &[(String, Option<String>)]) {
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
