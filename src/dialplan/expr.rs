//! `$[ ... ]` expressions with Asterisk's `ast_expr2` operators and value semantics.
//!
//! Reading list: Asterisk `main/ast_expr2.y` and `main/ast_expr2.fl`. Precedence, lowest
//! first: `a ? b :: c`, `|`, `&`, comparisons (`= == != < > <= >=`), `+ -`, `* / %`, unary
//! `!` and `-`, regex `:` (anchored at the start) and `=~`, then parentheses.
//!
//! Operands are strings; a token that looks numeric (`-`/`.`/digit then digits and dots) is a
//! "numeric string". Comparisons are numeric when neither side is a plain string, byte-wise
//! otherwise. `a | b` is `a` unless `a` is empty or zero, else `b`; `a & b` is `a` unless
//! either is empty or zero, else `0`. Arithmetic on a non-number warns and uses the other
//! operand (as Asterisk does); division by zero gives 2147483647. Like Asterisk ≥ 1.6 the
//! arithmetic is floating point (`3/2` is `1.5`), printed without a fraction when whole.
//! A syntax error evaluates to `0` with a warning, as Asterisk's `ast_expr()` does.

use super::rx::Regex;

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(f64),
    /// A string and whether it looks numeric.
    Str(String, bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Op(&'static str),
    Word(String),
}

const OPS: [&str; 22] = [
    "::", "=~", "==", "!=", "<=", ">=", "|", "&", "=", "<", ">", "+", "-", "*", "/", "%", "?", ":",
    "!", "(", ")", ",",
];

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(body) = rest.strip_prefix('"') {
            let end = body.find('"').ok_or("unterminated quoted string")?;
            out.push(Tok::Word(body[..end].to_string()));
            rest = &body[end + 1..];
            continue;
        }
        if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            out.push(Tok::Op(op));
            rest = &rest[op.len()..];
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || "|&=<>!+-*/%?:(),".contains(c))
            .unwrap_or(rest.len());
        out.push(Tok::Word(rest[..end].to_string()));
        rest = &rest[end..];
    }
}

fn looks_numeric(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_digit() || c == b'-' || c == b'.' => {
            b.all(|c| c.is_ascii_digit() || c == b'.')
        }
        _ => false,
    }
}

/// `strtod` on a numeric string: the longest `-?digits[.digits]` prefix, 0 if none.
fn strtod(s: &str) -> f64 {
    let b = s.as_bytes();
    let mut end = usize::from(b.first() == Some(&b'-'));
    while b.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    s[..end].trim_end_matches('.').parse().unwrap_or(0.0)
}

/// Prints a number as Asterisk does: whole numbers without a fraction.
pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e17 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl Val {
    fn word(s: String) -> Val {
        let n = looks_numeric(&s);
        Val::Str(s, n)
    }
    fn is_string(&self) -> bool {
        matches!(self, Val::Str(_, false))
    }
    fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s, true) => Some(strtod(s)),
            Val::Str(_, false) => None,
        }
    }
    fn text(&self) -> String {
        match self {
            Val::Num(n) => fmt_num(*n),
            Val::Str(s, _) => s.clone(),
        }
    }
    fn zero_or_null(&self) -> bool {
        match self {
            Val::Num(n) => *n == 0.0,
            Val::Str(s, _) => s.is_empty() || self.num() == Some(0.0),
        }
    }
}

struct P {
    toks: Vec<Tok>,
    i: usize,
}

fn bool_num(b: bool) -> Val {
    Val::Num(if b { 1.0 } else { 0.0 })
}

impl P {
    fn peek(&self) -> Option<&'static str> {
        match self.toks.get(self.i) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn eat(&mut self, ops: &[&'static str]) -> Option<&'static str> {
        let o = self.peek().filter(|o| ops.contains(o))?;
        self.i += 1;
        Some(o)
    }

    fn ternary(&mut self) -> Result<Val, String> {
        let mut v = self.or()?;
        while self.eat(&["?"]).is_some() {
            let a = self.or()?;
            if self.eat(&["::"]).is_none() {
                return Err("'?' without '::'".into());
            }
            let b = self.or()?;
            let cond = match &v {
                Val::Str(s, false) => !s.is_empty() && s != "\"\"" && s != "0",
                other => other.num().is_some_and(|n| n != 0.0),
            };
            v = if cond { a } else { b };
        }
        Ok(v)
    }

    fn or(&mut self) -> Result<Val, String> {
        let mut v = self.and()?;
        while self.eat(&["|"]).is_some() {
            let b = self.and()?;
            if v.zero_or_null() {
                v = b;
            }
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Val, String> {
        let mut v = self.cmp()?;
        while self.eat(&["&"]).is_some() {
            let b = self.cmp()?;
            if v.zero_or_null() || b.zero_or_null() {
                v = Val::Num(0.0);
            }
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<Val, String> {
        let mut v = self.add()?;
        while let Some(op) = self.eat(&["=", "==", "!=", "<", ">", "<=", ">="]) {
            let b = self.add()?;
            let ord = if v.is_string() || b.is_string() {
                Some(v.text().cmp(&b.text()))
            } else {
                v.num().unwrap_or(0.0).partial_cmp(&b.num().unwrap_or(0.0))
            };
            use std::cmp::Ordering::*;
            v = bool_num(match op {
                "=" | "==" => ord == Some(Equal),
                "!=" => ord != Some(Equal),
                "<" => ord == Some(Less),
                ">" => ord == Some(Greater),
                "<=" => matches!(ord, Some(Less | Equal)),
                _ => matches!(ord, Some(Greater | Equal)),
            });
        }
        Ok(v)
    }

    fn add(&mut self) -> Result<Val, String> {
        let mut v = self.mul()?;
        while let Some(op) = self.eat(&["+", "-"]) {
            let b = self.mul()?;
            v = match (v.num(), b.num()) {
                (Some(x), Some(y)) => Val::Num(if op == "+" { x + y } else { x - y }),
                (Some(_), None) => {
                    log::warn!("non-numeric argument in expression");
                    v
                }
                (None, Some(y)) => {
                    log::warn!("non-numeric argument in expression");
                    if op == "+" {
                        b
                    } else {
                        Val::Num(-y)
                    }
                }
                (None, None) => Val::Num(0.0),
            };
        }
        Ok(v)
    }

    fn mul(&mut self) -> Result<Val, String> {
        let mut v = self.unary()?;
        while let Some(op) = self.eat(&["*", "/", "%"]) {
            let b = self.unary()?;
            v = match (op, v.num(), b.num()) {
                ("*", Some(x), Some(y)) => Val::Num(x * y),
                ("*", Some(_), None) => v,
                ("*", None, Some(_)) => b,
                ("*", None, None) => Val::Num(0.0),
                (_, None, _) => Val::Num(0.0),
                (_, Some(_), None) => Val::Num(2_147_483_647.0),
                (_, Some(_), Some(0.0)) => {
                    log::warn!("division by zero in expression");
                    Val::Num(2_147_483_647.0)
                }
                ("/", Some(x), Some(y)) => Val::Num(x / y),
                (_, Some(x), Some(y)) => Val::Num(x % y),
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<Val, String> {
        match self.eat(&["!", "-"]) {
            Some("!") => {
                let v = self.unary()?;
                let truth = match &v {
                    Val::Num(n) => *n != 0.0,
                    // Asterisk: "" and "0" are false, otherwise atoi() of the text.
                    Val::Str(s, _) => !(s.is_empty() || s == "0") && atoi(s) != 0,
                };
                Ok(bool_num(!truth))
            }
            Some(_) => {
                let v = self.unary()?;
                Ok(match v.num() {
                    Some(n) => Val::Num(-n),
                    None => {
                        log::warn!("non-numeric argument in expression");
                        Val::Num(0.0)
                    }
                })
            }
            None => self.regex(),
        }
    }

    fn regex(&mut self) -> Result<Val, String> {
        let mut v = self.primary()?;
        while let Some(op) = self.eat(&[":", "=~"]) {
            let pat = self.primary()?.text();
            let s = v.text();
            v = match Regex::new(&pat) {
                Err(e) => {
                    log::warn!("bad regular expression '{pat}': {e}");
                    Val::word(String::new())
                }
                Ok(re) => match re.find(&s, op == ":") {
                    Some((_, g1)) if re.groups() > 0 => {
                        Val::word(g1.and_then(|g| s.get(g)).unwrap_or("").to_string())
                    }
                    Some((whole_range, _)) => Val::Num(s[whole_range].chars().count() as f64),
                    None if re.groups() > 0 => Val::word(String::new()),
                    None => Val::Num(0.0),
                },
            };
        }
        Ok(v)
    }

    fn primary(&mut self) -> Result<Val, String> {
        match self.toks.get(self.i).cloned() {
            Some(Tok::Word(w)) => {
                self.i += 1;
                Ok(Val::word(w))
            }
            Some(Tok::Op("(")) => {
                self.i += 1;
                let v = self.ternary()?;
                if self.eat(&[")"]).is_none() {
                    return Err("missing ')'".into());
                }
                Ok(v)
            }
            Some(Tok::Op(o)) => Err(format!("syntax error near '{o}'")),
            None => Err("syntax error: unexpected end of expression".into()),
        }
    }
}

/// C's `atoi`: optional whitespace and sign, then digits; 0 when none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().unwrap_or(0);
    if neg {
        -n
    } else {
        n
    }
}

/// Evaluates the text between `$[` and `]` (variables already substituted). Errors are
/// logged and give `"0"`; an empty expression gives `""`.
pub fn eval(text: &str) -> String {
    match eval_checked(text) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("expression '{text}': {e}");
            "0".into()
        }
    }
}

/// Like [`eval`], but reports the syntax error.
pub fn eval_checked(text: &str) -> Result<String, String> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Ok(String::new());
    }
    let mut p = P { toks, i: 0 };
    let v = p.ternary()?;
    if p.i != p.toks.len() {
        return Err("syntax error: trailing tokens".into());
    }
    Ok(v.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_table() {
        let cases: &[(&str, &str)] = &[
            ("1 + 2", "3"),
            ("1+2*3", "7"),
            ("(1+2)*3", "9"),
            ("7 / 2", "3.5"),
            ("8 / 2", "4"),
            ("7 % 3", "1"),
            ("-5 + 2", "-3"),
            ("5 - -2", "7"),
            ("1 / 0", "2147483647"),
            ("10 = 10", "1"),
            ("010 = 10", "1"),
            ("abc = abc", "1"),
            ("abc = ABC", "0"),
            ("abc != abd", "1"),
            ("2 < 10", "1"),
            ("2 < 1a", "0"),
            ("b > a", "1"),
            ("3 >= 3", "1"),
            ("3 <= 2", "0"),
            ("0 | foo", "foo"),
            ("bar | foo", "bar"),
            (" \"\" | foo", "foo"),
            ("bar & foo", "bar"),
            ("bar & 0", "0"),
            ("0 & bar", "0"),
            ("!0", "1"),
            ("!1", "0"),
            ("!abc", "1"),
            ("!\"\"", "1"),
            ("1 ? yes :: no", "yes"),
            ("0 ? yes :: no", "no"),
            ("abc ? yes :: no", "yes"),
            ("\"\" ? yes :: no", "no"),
            ("1 = 1 ? a :: b", "a"),
            ("95551234 : \"9(.*)\"", "5551234"),
            ("95551234 : 9", "1"),
            ("95551234 : 5", "0"),
            ("95551234 =~ 55", "2"),
            ("abc : \"x(.*)\"", ""),
            ("\"hello world\" : hello", "5"),
            ("abc + 1", "1"),
            ("abc * def", "0"),
            ("2 * 3 = 6 & 1", "1"),
            ("", ""),
            ("1 +", "0"),
            ("(1", "0"),
            (")", "0"),
            ("\"unterminated", "0"),
            ("1.5 + 1", "2.5"),
        ];
        for (e, want) in cases {
            assert_eq!(eval(e), *want, "$[{e}]");
        }
    }
}
