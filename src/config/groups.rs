//! Call groups (`callgroup`, `pickupgroup`): numbers 0–63 and ranges, as Asterisk's
//! `ast_get_group` (main/channel.c) reads them — `1,3-5`; a piece out of range or unreadable is
//! warned about and skipped, the rest kept.

/// A set of groups 0..=63.
pub type Groups = u64;

/// The highest group number.
const MAX: u32 = 63;

/// The groups `value` lists, and the pieces that were not groups.
pub fn parse(value: &str) -> (Groups, Vec<String>) {
    let mut set = 0u64;
    let mut bad = Vec::new();
    for piece in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let range = match piece.split_once('-') {
            Some((a, b)) => a
                .trim()
                .parse::<u32>()
                .ok()
                .zip(b.trim().parse::<u32>().ok()),
            None => piece.parse::<u32>().ok().map(|n| (n, n)),
        };
        match range {
            Some((a, b)) if a <= b && b <= MAX => {
                for g in a..=b {
                    set |= 1 << g;
                }
            }
            _ => bad.push(piece.to_string()),
        }
    }
    (set, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ranges_and_bad_pieces() {
        assert_eq!(parse("1,3-5"), (0b111010, vec![]));
        assert_eq!(parse(" 0 , 63"), (1 | 1 << 63, vec![]));
        assert_eq!(
            parse("2,64,x,5-3"),
            (0b100, vec!["64".into(), "x".into(), "5-3".into()])
        );
        assert_eq!(parse(""), (0, vec![]));
    }
}
