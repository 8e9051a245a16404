//! Number functions: `MATH`, `RAND`, `INC`, `DEC`, `MIN`, `MAX`, `ABS`.
//!
//! Reading list: Asterisk `funcs/func_math.c` (`math`, `crement_function_read`, `acf_min_exec`)
//! and `funcs/func_rand.c`. `MATH` does one binary operation in floating point and prints it
//! by type: `float` (default) as C's `%f`, `int` truncated, `hex`, `char`; comparisons print
//! `TRUE` / `FALSE`. `RAND` draws from the call's own generator (see `Execution::next_rand`).

use super::{split_args, Ctx};

/// C's `RAND_MAX` on glibc: RAND's default maximum.
const RAND_MAX: i64 = 2_147_483_647;

pub(crate) fn read(cx: &mut Ctx<'_>, name: &str, args: &str) -> Result<String, String> {
    let a = split_args(args);
    let arg = |i: usize| a.get(i).map(|s| s.trim()).unwrap_or("");
    match name {
        "MATH" => math(arg(0), arg(1)),
        "RAND" => {
            let lo = atoi(arg(0)).unwrap_or(0);
            let hi = atoi(arg(1)).unwrap_or(RAND_MAX);
            let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
            let span = (hi as i128 - lo as i128 + 1) as u128;
            let r = u128::from(cx.ex.next_rand()) % span;
            Ok((lo as i128 + r as i128).to_string())
        }
        "INC" | "DEC" => {
            let var = arg(0);
            if var.is_empty() {
                return Err("needs a variable name".into());
            }
            let old = cx.value_of(var);
            let n = atoi(&old).unwrap_or(0);
            let new = if name == "INC" {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
            cx.set(var, &new.to_string());
            Ok(new.to_string())
        }
        "MIN" | "MAX" => {
            let nums: Vec<f64> = a
                .iter()
                .take(2)
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("'{s}' is not a number"))
                })
                .collect::<Result<_, _>>()?;
            let pick = nums.into_iter().reduce(|x, y| match name {
                "MIN" => x.min(y),
                _ => x.max(y),
            });
            Ok(pick.map(fmt_g).unwrap_or_default())
        }
        "ABS" => {
            let n: f64 = arg(0)
                .parse()
                .map_err(|_| format!("'{}' is not a number", arg(0)))?;
            Ok(fmt_g(n.abs()))
        }
        _ => Err("unknown".into()),
    }
}

/// C's `atoi`: leading `[+-]digits`, `None` when there are none.
pub(crate) fn atoi(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let b = t.as_bytes();
    let sign = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let end = sign + b[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
    if end == sign {
        return None;
    }
    t[..end]
        .parse::<i64>()
        .ok()
        .or(Some(if b[0] == b'-' { i64::MIN } else { i64::MAX }))
}

/// Asterisk's `%g`-like output of MIN/MAX/ABS: integers without a fraction.
fn fmt_g(n: f64) -> String {
    crate::dialplan::expr::fmt_num(n)
}

const OPS: [&str; 13] = [
    "<<", ">>", ">=", "<=", "==", "%", "^", "/", "*", "+", "-", "<", ">",
];

/// `MATH(number op number[,type])`.
pub(crate) fn math(expr: &str, kind: &str) -> Result<String, String> {
    let e: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    if e.is_empty() {
        return Err("no expression".into());
    }
    // The leftmost operator after the first character (so `-3*2` keeps its sign, and in
    // `5*-3` the '-' belongs to the right operand); two-character operators first.
    let found = (1..e.len())
        .filter(|i| e.is_char_boundary(*i))
        .find_map(|i| {
            OPS.iter()
                .find(|op| e[i..].starts_with(**op))
                .map(|op| (i, *op))
        });
    let num = |s: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .map_err(|_| format!("'{s}' is not a number"))
    };
    let ftmp = match found {
        None => num(&e)?,
        Some((at, op)) => {
            let l = num(&e[..at])?;
            let r = num(&e[at + op.len()..])?;
            match op {
                "+" => l + r,
                "-" => l - r,
                "*" => l * r,
                "/" if r == 0.0 => return Err("division by zero".into()),
                "/" => l / r,
                "%" if r as i64 == 0 => return Err("modulo by zero".into()),
                "%" => ((l as i64) % (r as i64)) as f64,
                "^" => l.powf(r),
                "<<" => ((l as i64).checked_shl(r as u32).unwrap_or(0)) as f64,
                ">>" => ((l as i64).checked_shr(r as u32).unwrap_or(0)) as f64,
                cmp => {
                    let yes = match cmp {
                        "<" => l < r,
                        ">" => l > r,
                        "<=" => l <= r,
                        ">=" => l >= r,
                        _ => l == r,
                    };
                    return Ok(if yes { "TRUE" } else { "FALSE" }.into());
                }
            }
        }
    };
    Ok(match kind.to_ascii_lowercase().as_str() {
        "" | "f" | "float" => format!("{ftmp:.6}"),
        "i" | "int" => (ftmp as i64).to_string(),
        "h" | "hex" => format!("{:x}", ftmp as i64),
        "c" | "char" => char::from(ftmp as i64 as u8).to_string(),
        other => return Err(format!("unknown result type '{other}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_table() {
        let cases: &[(&str, &str, Result<&str, ()>)] = &[
            ("3*8", "", Ok("24.000000")),
            ("123%16", "int", Ok("11")),
            ("10/4", "f", Ok("2.500000")),
            ("10/4", "i", Ok("2")),
            ("-3*2", "int", Ok("-6")),
            ("5*-3", "int", Ok("-15")),
            ("5 - 7", "int", Ok("-2")),
            ("2^10", "int", Ok("1024")),
            ("1<<4", "int", Ok("16")),
            ("256>>4", "int", Ok("16")),
            ("255+0", "hex", Ok("ff")),
            ("65+0", "char", Ok("A")),
            ("3<4", "", Ok("TRUE")),
            ("3>=4", "", Ok("FALSE")),
            ("3==3", "", Ok("TRUE")),
            ("42", "int", Ok("42")),
            ("1/0", "", Err(())),
            ("5%0", "", Err(())),
            ("a+1", "", Err(())),
            ("", "", Err(())),
            ("1+1", "roman", Err(())),
            ("1<<999", "int", Ok("0")),
        ];
        for (e, k, want) in cases {
            assert_eq!(
                math(e, k).map_err(|_| ()),
                want.map(String::from),
                "{e} {k}"
            );
        }
    }

    #[test]
    fn atoi_table() {
        for (s, want) in [
            ("12", Some(12)),
            (" -3x", Some(-3)),
            ("x", None),
            ("", None),
            ("99999999999999999999", Some(i64::MAX)),
        ] {
            assert_eq!(atoi(s), want, "{s:?}");
        }
    }
}
