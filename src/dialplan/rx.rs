//! The small regular-expression engine behind `$[a : re]` and `$[a =~ re]`.
//!
//! Asterisk compiles the right operand with `regcomp(REG_EXTENDED)`; this is the subset of
//! POSIX extended syntax dialplans use: literals, `.`, bracket sets (`[^a-z]`), `^`, `$`,
//! groups `( )`, alternation `|`, `* + ?` and `{m}`, `{m,}`, `{m,n}`, `\` escapes. It is a
//! backtracking matcher over bytes (leftmost, greedy — for the usual dialplan expressions the
//! same answers as POSIX leftmost-longest) with an explicit stack and a step budget, so no
//! input can overflow the stack or spin for long: past the budget it reports no match.

/// Steps a single match attempt may take before giving up.
const STEP_BUDGET: usize = 100_000;
/// Largest compiled program (guards `x{1000}{1000}`).
const MAX_PROG: usize = 20_000;
/// Capturing groups kept (group 0 is the whole match).
const MAX_GROUPS: usize = 10;

#[derive(Debug, Clone)]
enum Node {
    Byte(u8),
    Any,
    Set(Box<[bool; 256]>),
    Bol,
    Eol,
    Group(Box<Node>, Option<usize>),
    Cat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[derive(Debug, Clone)]
enum Inst {
    Byte(u8),
    Any,
    Set(Box<[bool; 256]>),
    Bol,
    Eol,
    Split(usize, usize),
    Jmp(usize),
    Save(usize),
    Match,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    groups: usize,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    groups: usize,
}

impl Parser<'_> {
    fn alt(&mut self) -> Result<Node, String> {
        let mut alts = vec![self.cat()?];
        while self.s.get(self.i) == Some(&b'|') {
            self.i += 1;
            alts.push(self.cat()?);
        }
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Alt(alts)
        })
    }

    fn cat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            if c == b'|' || c == b')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Cat(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn quantified(&mut self, mut atom: Node) -> Result<Node, String> {
        loop {
            let (min, max) = match self.s.get(self.i) {
                Some(b'*') => (0, None),
                Some(b'+') => (1, None),
                Some(b'?') => (0, Some(1)),
                Some(b'{') => {
                    self.i += 1;
                    let min = self.number().ok_or("bad repetition count")?;
                    let max = if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                        self.number()
                    } else {
                        Some(min)
                    };
                    if self.s.get(self.i) != Some(&b'}')
                        || max.is_some_and(|m| m < min)
                        || min > 255
                    {
                        return Err("bad repetition".into());
                    }
                    (min, max.map(|m| m.min(255)))
                }
                _ => return Ok(atom),
            };
            self.i += 1;
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.s[self.i];
        self.i += 1;
        Ok(match c {
            b'.' => Node::Any,
            b'^' => Node::Bol,
            b'$' => Node::Eol,
            b'(' => {
                self.groups += 1;
                let idx = (self.groups < MAX_GROUPS).then_some(self.groups);
                let inner = self.alt()?;
                if self.s.get(self.i) != Some(&b')') {
                    return Err("unmatched (".into());
                }
                self.i += 1;
                Node::Group(Box::new(inner), idx)
            }
            b'[' => self.set()?,
            b'\\' => {
                let e = *self.s.get(self.i).ok_or("trailing backslash")?;
                self.i += 1;
                Node::Byte(e)
            }
            b'*' | b'+' | b'?' | b'{' => return Err("repetition without an operand".into()),
            other => Node::Byte(other),
        })
    }

    fn set(&mut self) -> Result<Node, String> {
        let mut bits = [false; 256];
        let negate = self.s.get(self.i) == Some(&b'^');
        if negate {
            self.i += 1;
        }
        let mut first = true;
        loop {
            let c = *self.s.get(self.i).ok_or("unmatched [")?;
            self.i += 1;
            if c == b']' && !first {
                break;
            }
            first = false;
            if self.s.get(self.i) == Some(&b'-')
                && self.s.get(self.i + 1).is_some_and(|&d| d != b']')
            {
                let hi = self.s[self.i + 1];
                self.i += 2;
                for b in c..=hi {
                    bits[usize::from(b)] = true;
                }
            } else {
                bits[usize::from(c)] = true;
            }
        }
        if negate {
            for b in bits.iter_mut() {
                *b = !*b;
            }
        }
        Ok(Node::Set(Box::new(bits)))
    }
}

fn emit(n: &Node, p: &mut Vec<Inst>) -> Result<(), String> {
    if p.len() > MAX_PROG {
        return Err("expression too large".into());
    }
    match n {
        Node::Byte(b) => p.push(Inst::Byte(*b)),
        Node::Any => p.push(Inst::Any),
        Node::Set(s) => p.push(Inst::Set(s.clone())),
        Node::Bol => p.push(Inst::Bol),
        Node::Eol => p.push(Inst::Eol),
        Node::Group(inner, idx) => {
            if let Some(i) = idx {
                p.push(Inst::Save(2 * i));
            }
            emit(inner, p)?;
            if let Some(i) = idx {
                p.push(Inst::Save(2 * i + 1));
            }
        }
        Node::Cat(items) => {
            for it in items {
                emit(it, p)?;
            }
        }
        Node::Alt(alts) => {
            let mut jumps = Vec::new();
            for (k, a) in alts.iter().enumerate() {
                if k + 1 < alts.len() {
                    let split = p.len();
                    p.push(Inst::Split(split + 1, 0));
                    emit(a, p)?;
                    jumps.push(p.len());
                    p.push(Inst::Jmp(0));
                    let next = p.len();
                    p[split] = Inst::Split(split + 1, next);
                } else {
                    emit(a, p)?;
                }
            }
            let end = p.len();
            for j in jumps {
                p[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                emit(inner, p)?;
            }
            match max {
                None => {
                    let split = p.len();
                    p.push(Inst::Split(split + 1, 0));
                    emit(inner, p)?;
                    p.push(Inst::Jmp(split));
                    let end = p.len();
                    p[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(p.len());
                        p.push(Inst::Split(0, 0));
                        emit(inner, p)?;
                    }
                    let end = p.len();
                    for s in splits {
                        p[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

impl Regex {
    /// Compiles `pattern`; an error message for bad syntax.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut ps = Parser {
            s: pattern.as_bytes(),
            i: 0,
            groups: 0,
        };
        let node = ps.alt()?;
        if ps.i != ps.s.len() {
            return Err("unmatched )".into());
        }
        let mut prog = Vec::new();
        emit(&node, &mut prog)?;
        prog.push(Inst::Match);
        Ok(Regex {
            prog,
            groups: ps.groups,
        })
    }

    /// Number of capturing groups written in the pattern.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Matches at `start` only; the capture slots (byte offsets) on success.
    fn run(&self, s: &[u8], start: usize, steps: &mut usize) -> Option<Vec<Option<usize>>> {
        let slots = 2 * (self.groups.min(MAX_GROUPS - 1) + 1);
        let mut caps = vec![None; slots.max(4)];
        caps[0] = Some(start);
        let mut stack: Vec<(usize, usize, Vec<Option<usize>>)> = vec![(0, start, caps)];
        while let Some((mut pc, mut sp, mut caps)) = stack.pop() {
            loop {
                *steps += 1;
                if *steps > STEP_BUDGET {
                    log::warn!("regular expression gave up after {STEP_BUDGET} steps");
                    return None;
                }
                match self.prog.get(pc)? {
                    Inst::Byte(b) => {
                        if s.get(sp) != Some(b) {
                            break;
                        }
                        sp += 1;
                        pc += 1;
                    }
                    Inst::Any => {
                        if sp >= s.len() {
                            break;
                        }
                        sp += 1;
                        pc += 1;
                    }
                    Inst::Set(bits) => match s.get(sp) {
                        Some(&b) if bits[usize::from(b)] => {
                            sp += 1;
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Bol => {
                        if sp != 0 {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Eol => {
                        if sp != s.len() {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Split(a, b) => {
                        stack.push((*b, sp, caps.clone()));
                        pc = *a;
                    }
                    Inst::Jmp(a) => pc = *a,
                    Inst::Save(k) => {
                        if let Some(slot) = caps.get_mut(*k) {
                            *slot = Some(sp);
                        }
                        pc += 1;
                    }
                    Inst::Match => {
                        caps[1] = Some(sp);
                        return Some(caps);
                    }
                }
            }
        }
        None
    }

    /// Finds a match: at offset 0 only when `anchored` (the `:` operator), else the leftmost.
    /// Returns the whole match and group 1 as byte ranges.
    pub fn find(
        &self,
        s: &str,
        anchored: bool,
    ) -> Option<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)> {
        let b = s.as_bytes();
        let last = if anchored { 0 } else { b.len() };
        let mut steps = 0;
        for start in 0..=last {
            if steps > STEP_BUDGET {
                return None;
            }
            if let Some(c) = self.run(b, start, &mut steps) {
                let whole = c[0].unwrap_or(start)..c[1].unwrap_or(start);
                let g1 = match (c[2], c[3]) {
                    (Some(x), Some(y)) if x <= y => Some(x..y),
                    _ => None,
                };
                return Some((whole, g1));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (pattern, input, anchored, whole match, group 1)
    type Case = (
        &'static str,
        &'static str,
        bool,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn regex_table() {
        let cases: &[Case] = &[
            ("abc", "abcdef", true, Some("abc"), None),
            ("bcd", "abcdef", true, None, None),
            ("bcd", "abcdef", false, Some("bcd"), None),
            ("9(.*)", "95551234", true, Some("95551234"), Some("5551234")),
            ("([0-9]+)#", "123#", true, Some("123#"), Some("123")),
            ("[^0-9]+", "ab1", true, Some("ab"), None),
            ("a|b|c", "c", true, Some("c"), None),
            ("^(00|\\+)?([1-9])", "+44", true, Some("+4"), Some("+")),
            ("x{2,3}", "xxxx", true, Some("xxx"), None),
            ("x{2}$", "xx", true, Some("xx"), None),
            ("x{2}$", "xxx", true, None, None),
            ("a?b", "b", true, Some("b"), None),
            ("(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaac", false, None, None),
            ("[]a]", "]", true, Some("]"), None),
        ];
        for (p, s, anch, whole, g1) in cases {
            let r = Regex::new(p).unwrap();
            let got = r.find(s, *anch);
            assert_eq!(
                got.as_ref().map(|(w, _)| &s[w.clone()]),
                *whole,
                "{p} on {s}"
            );
            if whole.is_some() {
                assert_eq!(
                    got.and_then(|(_, g)| g).map(|g| &s[g]),
                    *g1,
                    "{p} group on {s}"
                );
            }
        }
    }

    #[test]
    fn bad_regexes() {
        for bad in ["(", "a)", "[ab", "*a", "a{3,1}", "\\", "a{99999}"] {
            assert!(Regex::new(bad).is_err(), "{bad}");
        }
    }
}
