use super::*;
use crate::config::queues_conf::{member_def, EmptyWhen, Strategy};
use crate::config::raw::Loc;
use std::time::UNIX_EPOCH;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn def(strategy: Strategy, members: &[&str]) -> QueueDef {
    let mut d = QueueDef::new(
        "q",
        false,
        Loc {
            file: "queues.conf".into(),
            line: 1,
        },
    );
    d.strategy = strategy;
    d.members = members
        .iter()
        .map(|m| member_def(m).expect("member"))
        .collect();
    d
}

fn queues(d: QueueDef) -> Queues {
    let mut q = Queues::default();
    q.set_conf(QueuesConf {
        general: QueueGeneral::default(),
        queues: vec![d],
    });
    q
}

fn caller(id: &str) -> Waiting {
    Waiting {
        id: id.into(),
        channel: format!("SIP/{id}-00000001"),
        since: t(0),
        prio: 0,
        pending: false,
        linpos: 0,
        penalties: Penalties::default(),
    }
}

fn all_free(_: &str) -> DeviceState {
    DeviceState::NotInUse
}

fn pick(q: &mut Queues, id: &str, now: SystemTime) -> Vec<String> {
    let mut n = 0u64;
    let mut rng = || {
        n += 1;
        n * 7919
    };
    q.pick("q", id, now, &all_free, &mut rng)
}

const ABC: [&str; 3] = ["SIP/a", "SIP/b", "SIP/c"];

#[test]
fn ringall_rings_the_best_penalty_at_once() {
    let mut q = queues(def(Strategy::RingAll, &["SIP/a,1", "SIP/b", "SIP/c"]));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    assert_eq!(pick(&mut q, "x", t(0)), ["SIP/b", "SIP/c"]);
    q.set_paused("q", "SIP/b", true);
    q.set_paused("q", "SIP/c", true);
    assert_eq!(
        pick(&mut q, "x", t(0)),
        ["SIP/a"],
        "penalty 1 when 0 is away"
    );
}

#[test]
fn rrmemory_goes_on_where_the_last_attempt_stopped() {
    let mut q = queues(def(Strategy::RrMemory, &ABC));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    assert_eq!(pick(&mut q, "x", t(0))[0], "SIP/a");
    q.rang("q", "x", "SIP/a");
    assert_eq!(pick(&mut q, "x", t(0)), ["SIP/b", "SIP/c", "SIP/a"]);
    q.rang("q", "x", "SIP/c");
    assert_eq!(pick(&mut q, "x", t(0))[0], "SIP/a", "wraps");
    // The memory is the queue's: a new caller starts where the last one stopped.
    q.rang("q", "x", "SIP/a");
    q.join("q", caller("y"), 0, t(0), &all_free).unwrap();
    assert_eq!(pick(&mut q, "y", t(0))[0], "SIP/b");
}

#[test]
fn linear_starts_from_the_first_member_for_each_caller() {
    let mut q = queues(def(Strategy::Linear, &ABC));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    q.rang("q", "x", "SIP/a");
    assert_eq!(pick(&mut q, "x", t(0))[0], "SIP/b");
    q.join("q", caller("y"), 0, t(0), &all_free).unwrap();
    assert_eq!(pick(&mut q, "y", t(0)), ["SIP/a", "SIP/b", "SIP/c"]);
}

#[test]
fn leastrecent_and_fewestcalls_use_the_member_counters() {
    let mut q = queues(def(Strategy::LeastRecent, &ABC));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    q.call_ended("q", "SIP/a", Duration::from_secs(5), t(10));
    q.call_ended("q", "SIP/b", Duration::from_secs(5), t(20));
    assert_eq!(pick(&mut q, "x", t(30)), ["SIP/c", "SIP/a", "SIP/b"]);
    let mut q = queues(def(Strategy::FewestCalls, &ABC));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    for _ in 0..2 {
        q.call_ended("q", "SIP/a", Duration::ZERO, t(1));
    }
    q.call_ended("q", "SIP/c", Duration::ZERO, t(1));
    assert_eq!(pick(&mut q, "x", t(30)), ["SIP/b", "SIP/c", "SIP/a"]);
}

#[test]
fn random_rings_each_member_once_in_some_order() {
    for st in [Strategy::Random, Strategy::WRandom] {
        let mut q = queues(def(st, &ABC));
        q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
        let mut p = pick(&mut q, "x", t(0));
        p.sort();
        assert_eq!(p, ABC, "{st:?}");
    }
}

#[test]
fn wrapuptime_and_pause_keep_a_member_from_ringing() {
    let mut d = def(Strategy::RingAll, &["SIP/a", "SIP/b"]);
    d.wrapuptime = Duration::from_secs(10);
    let mut q = queues(d);
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    q.call_ended("q", "SIP/a", Duration::from_secs(3), t(100));
    assert_eq!(pick(&mut q, "x", t(105)), ["SIP/b"]);
    assert_eq!(pick(&mut q, "x", t(110)), ["SIP/a", "SIP/b"]);
    assert_eq!(q.set_paused("", "SIP/a", true), ["q"]);
    assert_eq!(pick(&mut q, "x", t(110)), ["SIP/b"]);
    assert!(q.set_paused("", "SIP/zz", true).is_empty(), "NOTFOUND");
}

#[test]
fn ringinuse_no_skips_members_in_a_call() {
    let mut d = def(Strategy::RingAll, &["SIP/a", "SIP/b"]);
    d.ringinuse = false;
    let mut q = queues(d);
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    let a_busy = |i: &str| {
        if i == "SIP/a" {
            DeviceState::InUse
        } else {
            DeviceState::NotInUse
        }
    };
    let mut rng = || 1u64;
    assert_eq!(q.pick("q", "x", t(0), &a_busy, &mut rng), ["SIP/b"]);
    q.set_ringinuse("q", "SIP/a", true);
    assert_eq!(
        q.pick("q", "x", t(0), &a_busy, &mut rng),
        ["SIP/a", "SIP/b"]
    );
}

#[test]
fn joinempty_maxlen_and_priorities() {
    let mut d = def(Strategy::RingAll, &["SIP/a"]);
    d.joinempty = EmptyWhen::parse("no", true).unwrap();
    d.maxlen = 2;
    let mut q = queues(d);
    let gone = |_: &str| DeviceState::Invalid;
    assert_eq!(
        q.join("q", caller("x"), 0, t(0), &gone),
        Err(QueueResult::JoinEmpty)
    );
    assert_eq!(q.join("q", caller("x"), 0, t(0), &all_free), Ok(1));
    let mut vip = caller("v");
    vip.prio = 5;
    assert_eq!(
        q.join("q", vip, 0, t(0), &all_free),
        Ok(1),
        "ahead of prio 0"
    );
    assert_eq!(
        q.join("q", caller("z"), 0, t(0), &all_free),
        Err(QueueResult::Full)
    );
    assert_eq!(
        q.join("nosuch", caller("z"), 0, t(0), &all_free),
        Err(QueueResult::Unknown)
    );
    assert_eq!(q.get("q").unwrap().position("x"), Some(2));
    q.leave("q", "v", true);
    assert_eq!(q.get("q").unwrap().abandoned, 1);
    assert_eq!(q.get("q").unwrap().position("x"), Some(1));
}

#[test]
fn only_the_head_caller_rings_without_autofill() {
    let mut q = queues(def(Strategy::RingAll, &ABC));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    q.join("q", caller("y"), 0, t(0), &all_free).unwrap();
    assert!(q.is_our_turn("q", "x", t(0), &all_free));
    assert!(!q.is_our_turn("q", "y", t(0), &all_free));
    let mut d = def(Strategy::RrMemory, &ABC);
    d.autofill = true;
    let mut q = queues(d);
    for id in ["x", "y", "z", "w"] {
        q.join("q", caller(id), 0, t(0), &all_free).unwrap();
    }
    assert!(
        q.is_our_turn("q", "z", t(0), &all_free),
        "three free members"
    );
    assert!(!q.is_our_turn("q", "w", t(0), &all_free));
}

#[test]
fn dynamic_members_and_their_statuses() {
    let mut q = queues(def(Strategy::RingAll, &["SIP/a"]));
    let m = Queues::member_from_args("SIP/d", 2, "Dee", "").unwrap();
    assert_eq!(q.add_member("q", &m, false), AddResult::Added);
    assert_eq!(q.add_member("q", &m, false), AddResult::Already);
    assert_eq!(q.add_member("nosuch", &m, false), AddResult::NoSuchQueue);
    assert_eq!(q.remove_member("q", "SIP/a"), RemoveResult::NotDynamic);
    assert_eq!(q.remove_member("q", "SIP/zz"), RemoveResult::NotInQueue);
    assert_eq!(
        q.remove_member("nosuch", "SIP/d"),
        RemoveResult::NoSuchQueue
    );
    // A reload keeps the dynamic member.
    let conf = QueuesConf {
        general: QueueGeneral::default(),
        queues: vec![def(Strategy::Linear, &["SIP/a", "SIP/b"])],
    };
    q.set_conf(conf);
    let st = q.get("Q").unwrap();
    assert_eq!(st.def.strategy, Strategy::Linear);
    let names: Vec<&str> = st.members.iter().map(|m| m.interface.as_str()).collect();
    assert_eq!(names, ["SIP/a", "SIP/b", "SIP/d"]);
    assert_eq!(q.remove_member("q", "sip/d"), RemoveResult::Removed);
}

#[test]
fn persistent_members_round_trip_through_astdb() {
    let mut q = queues(def(Strategy::RingAll, &["SIP/a"]));
    q.general.persistent_members = true;
    let mut db = crate::dialplan::astdb::AstDb::default();
    q.read_persisted(&mut db);
    let m = Queues::member_from_args("SIP/d", 3, "Dee", "SIP/dd").unwrap();
    q.add_member("q", &m, false);
    q.set_paused("q", "SIP/d", true);
    q.dump("q", &mut db);
    assert_eq!(
        db.get("/Queue/PersistentMembers/q"),
        Some("SIP/d;3;1;Dee;SIP/dd")
    );
    let mut fresh = queues(def(Strategy::RingAll, &["SIP/a"]));
    fresh.general.persistent_members = true;
    fresh.read_persisted(&mut db);
    let st = fresh.get("q").unwrap();
    let d = st.member("SIP/d").unwrap();
    assert!(d.dynamic && d.paused);
    assert_eq!(
        (d.penalty, d.name.as_str(), d.state_interface.as_str()),
        (3, "Dee", "SIP/dd")
    );
}

#[test]
fn a_queue_removed_at_reload_stays_while_callers_wait() {
    let mut q = queues(def(Strategy::RingAll, &["SIP/a"]));
    q.join("q", caller("x"), 0, t(0), &all_free).unwrap();
    q.set_conf(QueuesConf::default());
    assert!(q.get("q").is_some_and(|s| s.dead));
    assert!(q.live("q").is_none(), "no new callers");
    q.leave("q", "x", true);
    assert!(q.get("q").is_none());
}

#[test]
fn queue_max_and_min_penalty_bound_the_members_a_caller_gets() {
    let mut d = def(Strategy::RingAll, &["SIP/a", "SIP/b,2", "SIP/c,5"]);
    d.joinempty = EmptyWhen::parse("penalty", true).unwrap();
    let mut q = queues(d);
    let mut w = caller("x");
    w.penalties = Penalties {
        max: Some(4),
        min: Some(1),
    };
    q.join("q", w, 0, t(0), &all_free).unwrap();
    assert_eq!(pick(&mut q, "x", t(0)), ["SIP/b"]);
    let mut none = caller("y");
    none.penalties.max = Some(1);
    none.penalties.min = Some(1);
    assert_eq!(
        q.join("q", none, 0, t(0), &all_free),
        Err(QueueResult::JoinEmpty),
        "joinempty=penalty: no member of penalty 1"
    );
}
