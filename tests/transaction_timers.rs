//! Timer schedules of the transaction machines (RFC 3261 §17, RFC 6026, §13.3.1.4) against
//! `/work/shared/conformance/TIMERS.md`, driven by a fake clock: a tiny harness plays the
//! engine with the real `sched::Scheduler` and jumps time to the next deadline.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use sipbox::sched::Scheduler;
use sipbox::transaction::{
    Action, Handle, InsertError, InviteClientTransaction, InviteServerState,
    InviteServerTransaction, NonInviteClientTransaction, NonInviteServerTransaction, RequestIds,
    RequestKind, ServerKey, ServerTransaction, TimerConfig, TimerKind, TimerSlots,
    TransactionTable, Transport, TwoHundredRetransmitter,
};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Anything with timers, so the harness can fire them.
trait Machine {
    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>);
}

macro_rules! machine {
    ($($t:ty),*) => {$(
        impl Machine for $t {
            fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Vec<Action>) {
                <$t>::on_timer(self, now, kind, out)
            }
        }
    )*};
}
machine!(
    InviteClientTransaction,
    NonInviteClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
    TwoHundredRetransmitter
);

/// Plays the engine for one machine: applies actions to a scheduler and logs the rest with
/// their time in milliseconds since t0.
struct Harness {
    t0: Instant,
    now: Instant,
    sched: Scheduler<TimerKind>,
    slots: TimerSlots,
    out: Vec<Action>,
    log: Vec<(u128, Action)>,
    terminated: bool,
}

impl Harness {
    fn new() -> Self {
        let t0 = Instant::now();
        Harness {
            t0,
            now: t0,
            sched: Scheduler::new(),
            slots: TimerSlots::default(),
            out: Vec::new(),
            log: Vec::new(),
            terminated: false,
        }
    }

    fn ms(&self) -> u128 {
        (self.now - self.t0).as_millis()
    }

    /// Applies and logs what the last event produced.
    fn apply(&mut self) {
        assert!(
            !self.terminated || self.out.is_empty(),
            "action after Terminated"
        );
        for action in std::mem::take(&mut self.out) {
            match action {
                Action::StartTimer(kind, at) => {
                    assert!(at > self.now, "timers run in the future");
                    self.slots.start(&mut self.sched, kind, at, kind);
                }
                Action::StopTimer(kind) => self.slots.stop(&mut self.sched, kind),
                other => {
                    if other == Action::Terminated {
                        self.terminated = true;
                        self.slots.stop_all(&mut self.sched);
                    }
                    self.log.push((self.ms(), other));
                }
            }
        }
    }

    /// Fires timers in order, jumping the clock, up to `t0 + secs`; the clock ends there.
    fn run(&mut self, m: &mut impl Machine, secs: f64) {
        let end = self.t0 + Duration::from_secs_f64(secs);
        while let Some(next) = self.sched.next_deadline().filter(|d| *d <= end) {
            self.now = self.now.max(next);
            while let Some((id, kind)) = self.sched.pop_due(self.now) {
                if self.slots.fired(kind, id) {
                    m.on_timer(self.now, kind, &mut self.out);
                    self.apply();
                }
            }
        }
        self.now = self.now.max(end);
    }

    /// Times (ms) of every Transmit.
    fn sends(&self) -> Vec<u128> {
        self.log
            .iter()
            .filter(|(_, a)| matches!(a, Action::Transmit(_)))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Times of every logged action other than Transmit.
    fn events(&self) -> Vec<(u128, Action)> {
        self.log
            .iter()
            .filter(|(_, a)| !matches!(a, Action::Transmit(_)))
            .cloned()
            .collect()
    }
}

fn bytes(s: &str) -> Rc<[u8]> {
    Rc::from(s.as_bytes())
}

fn config() -> TimerConfig {
    TimerConfig::default()
}

#[test]
fn invite_client_retransmits_on_a_and_times_out_on_b() {
    let mut h = Harness::new();
    let mut tx = InviteClientTransaction::new(config(), Transport::Unreliable, bytes("INVITE"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(h.sends(), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(
        h.events(),
        [(32000, Action::Timeout), (32000, Action::Terminated)]
    );
    assert!(h.sched.is_empty());
}

#[test]
fn invite_client_timer_b_follows_config() {
    let mut h = Harness::new();
    let cfg = TimerConfig {
        timer_b: Duration::from_secs(10),
        ..TimerConfig::with_t1(Duration::from_secs(1))
    };
    let mut tx = InviteClientTransaction::new(cfg, Transport::Unreliable, bytes("INVITE"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(h.sends(), [0, 1000, 3000, 7000]);
    assert_eq!(h.events()[0], (10000, Action::Timeout));
}

#[test]
fn invite_client_provisional_then_failure_acks_and_absorbs_retransmissions_until_d() {
    let mut h = Harness::new();
    let mut tx = InviteClientTransaction::new(config(), Transport::Unreliable, bytes("INVITE"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 0.7);
    tx.on_response(h.now, 180, || bytes("never"), &mut h.out);
    h.apply();
    // Ringing for minutes is not a transaction timeout.
    h.run(&mut tx, 300.0);
    assert!(!h.terminated && h.sched.is_empty());
    tx.on_response(h.now, 486, || bytes("ACK"), &mut h.out);
    h.apply();
    h.run(&mut tx, 301.0);
    tx.on_response(h.now, 486, || bytes("never"), &mut h.out);
    h.apply();
    h.run(&mut tx, 1000.0);
    assert_eq!(h.sends(), [0, 500, 300_000, 301_000]);
    assert!(matches!(&h.log[4], (300_000, Action::Transmit(b)) if &**b == b"ACK"));
    assert!(matches!(&h.log[5], (301_000, Action::Transmit(b)) if &**b == b"ACK"));
    assert_eq!(
        h.events(),
        [
            (700, Action::PassResponse(180)),
            (300_000, Action::PassResponse(486)),
            (332_000, Action::Terminated),
        ]
    );
}

#[test]
fn invite_client_accepted_passes_2xx_until_m() {
    let mut h = Harness::new();
    let mut tx = InviteClientTransaction::new(config(), Transport::Unreliable, bytes("INVITE"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 1.0);
    tx.on_response(h.now, 200, || bytes("never"), &mut h.out);
    h.apply();
    h.run(&mut tx, 2.0);
    tx.on_response(h.now, 200, || bytes("never"), &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(h.sends(), [0, 500]);
    assert_eq!(
        h.events(),
        [
            (1000, Action::PassResponse(200)),
            (2000, Action::PassResponse(200)),
            (33000, Action::Terminated),
        ]
    );
}

#[test]
fn non_invite_client_retransmits_on_e_capped_at_t2_and_times_out_on_f() {
    let mut h = Harness::new();
    let mut tx = NonInviteClientTransaction::new(config(), Transport::Unreliable, bytes("BYE"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(
        h.sends(),
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(
        h.events(),
        [(32000, Action::Timeout), (32000, Action::Terminated)]
    );
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2_then_k() {
    let mut h = Harness::new();
    let mut tx = NonInviteClientTransaction::new(config(), Transport::Unreliable, bytes("REG"));
    tx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 1.0);
    tx.on_response(h.now, 100, &mut h.out);
    h.apply();
    h.run(&mut tx, 10.0);
    tx.on_response(h.now, 200, &mut h.out);
    h.apply();
    h.run(&mut tx, 12.0);
    tx.on_response(h.now, 200, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(h.sends(), [0, 500, 1500, 5500, 9500]);
    assert_eq!(
        h.events(),
        [
            (1000, Action::PassResponse(100)),
            (10000, Action::PassResponse(200)),
            (15000, Action::Terminated),
        ]
    );
}

#[test]
fn invite_server_retransmits_failure_on_g_capped_at_t2_and_times_out_on_h() {
    let mut h = Harness::new();
    let mut tx = InviteServerTransaction::new(config(), Transport::Unreliable);
    tx.send_response(h.now, 486, bytes("486"), &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(
        h.sends(),
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(
        h.events(),
        [(32000, Action::Timeout), (32000, Action::Terminated)]
    );
}

#[test]
fn invite_server_ack_confirms_absorbs_and_ends_on_i() {
    let mut h = Harness::new();
    let mut tx = InviteServerTransaction::new(config(), Transport::Unreliable);
    tx.send_response(h.now, 100, bytes("100"), &mut h.out);
    h.apply();
    tx.on_retransmission(h.now, &mut h.out);
    h.apply();
    tx.send_response(h.now, 404, bytes("404"), &mut h.out);
    h.apply();
    h.run(&mut tx, 2.0);
    tx.on_retransmission(h.now, &mut h.out);
    tx.on_ack(h.now, &mut h.out);
    h.apply();
    assert_eq!(tx.state(), InviteServerState::Confirmed);
    h.run(&mut tx, 3.0);
    tx.on_ack(h.now, &mut h.out);
    tx.on_retransmission(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    // 100, its resend, 404 and G at 0.5 and 1.5 s, the 404 resent for the INVITE at 2 s.
    assert_eq!(h.sends(), [0, 0, 0, 500, 1500, 2000]);
    assert_eq!(h.events(), [(7000, Action::Terminated)]);
}

#[test]
fn invite_server_accepted_absorbs_invites_until_l_with_2xx_retransmitter() {
    let mut h = Harness::new();
    let mut core = Harness::new();
    core.t0 = h.t0;
    core.now = h.now;
    let ok = bytes("200");
    let mut tx = InviteServerTransaction::new(config(), Transport::Unreliable);
    let mut rtx = TwoHundredRetransmitter::new(config(), ok.clone());
    tx.send_response(h.now, 200, ok, &mut h.out);
    h.apply();
    rtx.start(core.now, &mut core.out);
    core.apply();
    core.run(&mut rtx, 5.0);
    h.run(&mut tx, 5.0);
    tx.on_retransmission(h.now, &mut h.out);
    h.apply();
    rtx.on_ack(&mut core.out);
    core.apply();
    tx.on_ack(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    core.run(&mut rtx, 100.0);
    assert_eq!(h.sends(), [0]);
    assert_eq!(
        h.events(),
        [(5000, Action::PassAck), (32000, Action::Terminated)]
    );
    assert_eq!(core.sends(), [500, 1500, 3500]);
    assert_eq!(core.events(), [(5000, Action::Terminated)]);
}

#[test]
fn two_hundred_retransmitter_gives_up_after_64_t1() {
    let mut h = Harness::new();
    let mut rtx = TwoHundredRetransmitter::new(config(), bytes("200"));
    rtx.start(h.now, &mut h.out);
    h.apply();
    h.run(&mut rtx, 100.0);
    assert_eq!(
        h.sends(),
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(
        h.events(),
        [(32000, Action::AckTimeout), (32000, Action::Terminated)]
    );
}

#[test]
fn non_invite_server_answers_retransmissions_until_j() {
    let mut h = Harness::new();
    let mut tx = NonInviteServerTransaction::new(config(), Transport::Unreliable);
    tx.on_retransmission(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 0.1);
    tx.send_response(h.now, 200, bytes("200"), &mut h.out);
    h.apply();
    h.run(&mut tx, 20.0);
    tx.on_retransmission(h.now, &mut h.out);
    h.apply();
    h.run(&mut tx, 100.0);
    assert_eq!(h.sends(), [100, 20000]);
    assert_eq!(h.events(), [(32100, Action::Terminated)]);
}

/// What an engine would put in its heap for a transaction timer.
#[derive(Debug, Clone, Copy)]
struct EngineTimer {
    txn: Handle,
    kind: TimerKind,
}

#[test]
fn table_bound_and_late_timer_for_a_reused_slot() {
    let t0 = Instant::now();
    let mut sched: Scheduler<EngineTimer> = Scheduler::new();
    let mut table: TransactionTable<&str, InviteServerTransaction> = TransactionTable::new(1);
    let mut out = Vec::new();

    let first = table
        .insert(
            "z9hG4bK1",
            InviteServerTransaction::new(config(), Transport::Unreliable),
        )
        .expect("room");
    assert_eq!(
        table
            .insert(
                "z9hG4bK2",
                InviteServerTransaction::new(config(), Transport::Unreliable)
            )
            .err(),
        Some(InsertError::Full),
        "the engine answers 503"
    );
    let (tx, timers) = table.get_with_timers_mut(first).expect("live");
    tx.send_response(t0, 486, bytes("486"), &mut out);
    for action in out.drain(..) {
        if let Action::StartTimer(kind, at) = action {
            timers.start(&mut sched, kind, at, EngineTimer { txn: first, kind });
        }
    }
    assert_eq!(sched.len(), 2);
    // A late timer id, popped before the transaction dies, still in hand afterwards.
    let (late_id, late) = sched
        .pop_due(t0 + Duration::from_millis(500))
        .expect("G is due");
    // The transport fails: remove the transaction and cancel its timers.
    table
        .get_mut(first)
        .expect("live")
        .on_transport_error(&mut out);
    assert_eq!(out.last(), Some(&Action::Terminated));
    out.clear();
    let mut removed = table.remove(first).expect("live");
    removed.timers.stop_all(&mut sched);
    assert!(sched.is_empty());

    let second = table
        .insert(
            "z9hG4bK2",
            InviteServerTransaction::new(config(), Transport::Unreliable),
        )
        .expect("room again");
    assert_ne!(late.txn, second);
    assert!(
        table.get_with_timers_mut(late.txn).is_none(),
        "stale handle"
    );
    let (_, timers) = table.get_with_timers_mut(second).expect("live");
    assert!(!timers.fired(late.kind, late_id), "stale timer id");
}

fn ids<'a>(method: &'a str, branch: Option<&'a str>) -> RequestIds<'a> {
    RequestIds {
        method,
        branch,
        sent_by_host: "10.0.0.7",
        sent_by_port: Some(5062),
        request_uri: "sip:1002@pbx",
        from_tag: Some("a73kszlfl"),
        call_id: "f81d4fae@10.0.0.7",
        cseq: 1,
        top_via: "SIP/2.0/UDP 10.0.0.7:5062",
    }
}

#[test]
fn server_table_routes_retransmission_ack_and_cancel() {
    for branch in [Some("z9hG4bKnashds8"), None] {
        let t0 = Instant::now();
        let cfg = config();
        let mut out = Vec::new();
        let mut table: TransactionTable<ServerKey, ServerTransaction> = TransactionTable::new(8);
        let invite_key = ServerKey::from_request(&ids("INVITE", branch));
        let invite = table
            .insert(
                invite_key.clone(),
                ServerTransaction::new(RequestKind::Invite, cfg, Transport::Unreliable),
            )
            .expect("room");
        let tx = table.get_mut(invite).expect("live");
        tx.send_response(t0, 180, bytes("180"), &mut out);
        // A retransmitted INVITE is a duplicate key: it finds the transaction.
        let again = ServerKey::from_request(&ids("INVITE", branch));
        assert_eq!(
            table.insert(
                again.clone(),
                ServerTransaction::new(RequestKind::Invite, cfg, Transport::Unreliable)
            ),
            Err(InsertError::Duplicate(invite))
        );
        // A CANCEL gets its own transaction and finds the INVITE's.
        let cancel_key = ServerKey::from_request(&ids("CANCEL", branch));
        assert_eq!(table.find(&cancel_key), None);
        let target = cancel_key.cancelled_invite().expect("a CANCEL");
        assert_eq!(table.find(&target), Some(invite));
        let cancel = table
            .insert(
                cancel_key,
                ServerTransaction::new(RequestKind::Cancel, cfg, Transport::Unreliable),
            )
            .expect("room");
        out.clear();
        let c = table.get_mut(cancel).expect("live");
        c.send_response(t0, 200, bytes("200 CANCEL"), &mut out);
        let tx = table.get_mut(invite).expect("live");
        tx.send_response(t0, 487, bytes("487"), &mut out);
        // The ACK for the 487 matches the INVITE transaction.
        let ack = table
            .find(&ServerKey::from_request(&ids("ACK", branch)))
            .expect("ACK matches the INVITE");
        assert_eq!(ack, invite);
        let tx = table.get_mut(ack).expect("live");
        tx.on_ack(t0, &mut out);
        assert_eq!(
            out.last(),
            Some(&Action::StartTimer(TimerKind::I, t0 + cfg.t4))
        );
        assert_eq!(table.len(), 2);
    }
}
