//! RFC 2782's order of SRV targets: ascending priority; within one priority a weighted random
//! walk (records of weight 0 first in the list, so they are picked only rarely when others have
//! weight), with the engine's random generator so tests can seed it. Asterisk does the same
//! walk in `main/srv.c` (`process_weights`).

use super::wire::SrvRecord;
use rand::Rng;

/// The records in the order to try them. A lone "." target (RFC 2782: the service is not
/// available at this domain) gives an empty list; "." records among others are dropped.
pub fn order<R: Rng + ?Sized>(records: &[SrvRecord], rng: &mut R) -> Vec<SrvRecord> {
    let mut rest: Vec<SrvRecord> = records
        .iter()
        .filter(|r| !r.target.is_empty())
        .cloned()
        .collect();
    rest.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let prio = rest[0].priority;
        let group_len = rest.iter().take_while(|r| r.priority == prio).count();
        let mut group: Vec<SrvRecord> = rest.drain(..group_len).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.random_range(0..=total);
            let mut running = 0;
            let i = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        }
    }

    #[test]
    fn priority_comes_first() {
        let mut rng = StdRng::seed_from_u64(1);
        let rs = [
            rec(20, 100, "c"),
            rec(10, 0, "a"),
            rec(30, 5, "d"),
            rec(10, 0, "b"),
        ];
        for _ in 0..50 {
            let o = order(&rs, &mut rng);
            let prios: Vec<u16> = o.iter().map(|r| r.priority).collect();
            assert_eq!(prios, vec![10, 10, 20, 30]);
        }
    }

    #[test]
    fn weights_share_the_first_choice() {
        let mut rng = StdRng::seed_from_u64(7);
        let rs = [
            rec(10, 75, "heavy"),
            rec(10, 25, "light"),
            rec(10, 0, "zero"),
        ];
        let mut first = std::collections::HashMap::new();
        let n = 4000;
        for _ in 0..n {
            let o = order(&rs, &mut rng);
            assert_eq!(o.len(), 3);
            *first.entry(o[0].target.clone()).or_insert(0u32) += 1;
        }
        let heavy = first.get("heavy").copied().unwrap_or(0);
        let light = first.get("light").copied().unwrap_or(0);
        let zero = first.get("zero").copied().unwrap_or(0);
        // Expected 75 %, 25 %, ~1 % (a pick of 0 out of 0..=100 lands on the weight-0 record).
        assert!((2800..3200).contains(&heavy), "heavy {heavy}");
        assert!((850..1150).contains(&light), "light {light}");
        assert!(zero < 100, "zero {zero}");
    }

    #[test]
    fn all_zero_weights_are_still_all_tried() {
        let mut rng = StdRng::seed_from_u64(3);
        let rs = [rec(1, 0, "a"), rec(1, 0, "b")];
        let o = order(&rs, &mut rng);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn dot_means_no_service() {
        let mut rng = StdRng::seed_from_u64(3);
        assert!(order(&[rec(0, 0, "")], &mut rng).is_empty());
        assert_eq!(order(&[rec(0, 0, ""), rec(1, 1, "x")], &mut rng).len(), 1);
    }
}
