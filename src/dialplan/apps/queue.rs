//! Queue, AddQueueMember, RemoveQueueMember, PauseQueueMember and UnpauseQueueMember, as
//! Asterisk's `apps/app_queue.c` has them (`queue_exec`, `aqm_exec`, `rqm_exec`,
//! `pqm_exec`, `upqm_exec`).
//!
//! `Queue(queuename[,options[,URL[,announceoverride[,timeout[,AGI[,macro[,gosub[,rule[,
//! position]]]]]]]]])`: options `t`/`T` (the member / the caller may transfer, features.conf
//! as Dial's), `c` (go on in the dialplan when the member hangs up, `QUEUESTATUS=CONTINUE`),
//! `n` (no retries: leave after one round), `r` (ringing instead of music); the others are
//! accepted with no effect. The call layer runs the wait (`src/call/queue.rs`); the dialplan
//! goes on with `${QUEUESTATUS}` when the queue gives up (`TIMEOUT`, `FULL`, `JOINEMPTY`,
//! `LEAVEEMPTY`, `UNKNOWN` for a queue that does not exist). An empty queue name hangs up,
//! as `queue_exec` returns -1 then.
//!
//! The member applications change the shared queue table at once and set
//! `AQMSTATUS`/`RQMSTATUS`/`PQMSTATUS`/`UPQMSTATUS`; with `persistentmembers=yes` the
//! dynamic members go to AstDB.

use super::end;
use crate::config::raw::Loc;
use crate::dialplan::command::{Command, Resume};
use crate::dialplan::cursor::{Execution, Flow, State};
use crate::dialplan::model::Dialplan;
use crate::dialplan::queue::{AddResult, QueueRequest, QueueResult, Queues, RemoveResult};
use crate::dialplan::Cause;
use std::time::Duration;

/// Which of the five applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueApp {
    Queue,
    Add,
    Remove,
    Pause,
    Unpause,
}

/// Runs one of them. `argv`: the substituted arguments split at commas.
pub(crate) fn run(ex: &mut Execution, dp: &Dialplan, app: QueueApp, args: &str, loc: &Loc) -> Flow {
    let argv: Vec<&str> = args.split(',').map(str::trim).collect();
    match app {
        QueueApp::Queue => queue(ex, &argv, loc),
        QueueApp::Add => add(ex, dp, &argv, args, loc),
        QueueApp::Remove => remove(ex, dp, &argv, args, loc),
        QueueApp::Pause | QueueApp::Unpause => pause(ex, dp, app == QueueApp::Pause, &argv, loc),
    }
}

/// The channel's own interface: its name without the `-0000000n` suffix (`SIP/1001`).
fn own_interface(ex: &Execution) -> String {
    let name = ex.channel_name();
    match name.rfind('-') {
        Some(i) => name[..i].to_string(),
        None => name,
    }
}

fn queue(ex: &mut Execution, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).copied().unwrap_or("");
    if arg(0).is_empty() {
        log::warn!(
            "{loc}: {}: Queue requires an argument: queuename[,options[,URL[,announceoverride[,timeout[,agi[,macro[,gosub[,rule[,position]]]]]]]]]",
            ex.here()
        );
        return end(Cause::NORMAL_CLEARING);
    }
    let mut req = QueueRequest {
        queue: arg(0).to_string(),
        ..QueueRequest::default()
    };
    let mut chars = arg(1).chars().peekable();
    while let Some(c) = chars.next() {
        if chars.peek() == Some(&'(') {
            // F(...) and the like: their argument is of no use here.
            for a in chars.by_ref() {
                if a == ')' {
                    break;
                }
            }
        }
        match c {
            't' => req.callee_transfer = true,
            'T' => req.caller_transfer = true,
            'n' => req.no_retry = true,
            'r' => req.ring = true,
            'c' => req.continue_after = true,
            // Accepted, no effect here (hang-up keys, parking, recording, call forward
            // handling, data calls, `R`'s ring-while-ringing).
            'C' | 'd' | 'F' | 'h' | 'H' | 'i' | 'I' | 'k' | 'K' | 'w' | 'W' | 'x' | 'X' | 'R'
            | 'b' | 'B' => log::debug!("{loc}: Queue option '{c}' has no effect"),
            ' ' => {}
            other => log::warn!("{loc}: {}: Queue option '{other}' unknown", ex.here()),
        }
    }
    let t = arg(4);
    if !t.is_empty() {
        // app_queue's atoi: a number, else no timeout.
        match t.parse::<i64>() {
            Ok(n) if n > 0 => req.timeout = Some(Duration::from_secs(n.min(86_400) as u64)),
            Ok(_) => {}
            Err(_) => log::warn!("{loc}: {}: Queue timeout '{t}' is no number", ex.here()),
        }
    }
    for (i, what) in [
        (2, "URL"),
        (3, "announceoverride"),
        (5, "AGI"),
        (6, "macro"),
        (7, "gosub"),
        (8, "rule"),
    ] {
        if !arg(i).is_empty() {
            log::warn!(
                "{loc}: {}: Queue {what} '{}' is not supported; ignored",
                ex.here(),
                arg(i)
            );
        }
    }
    let p = arg(9);
    if !p.is_empty() {
        match p.parse::<i64>() {
            Ok(n) if n >= 0 => req.position = n.min(1_000_000) as usize,
            _ => log::warn!(
                "{loc}: {}: Invalid position '{p}' given for call to queue '{}'. Assuming no preference for position",
                ex.here(),
                req.queue
            ),
        }
    }
    if let Some(v) = ex.var("QUEUE_PRIO") {
        match v.trim().parse::<i32>() {
            Ok(n) => req.prio = n,
            Err(_) => log::warn!("{loc}: {}: ${{QUEUE_PRIO}}: Invalid value ({v})", ex.here()),
        }
    }
    for (var, slot) in [
        ("QUEUE_MAX_PENALTY", &mut req.penalties.max),
        ("QUEUE_MIN_PENALTY", &mut req.penalties.min),
    ] {
        if let Some(v) = ex.var(var) {
            match v.trim().parse::<u32>() {
                Ok(n) => *slot = Some(n),
                Err(_) => log::warn!("{loc}: {}: ${{{var}}}: Invalid value ({v})", ex.here()),
            }
        }
    }
    req.channel = ex.channel_name();
    let keep_going = req.continue_after;
    Flow::Cmd(
        Command::Queue(Box::new(req)),
        State::AwaitQueue { keep_going },
    )
}

/// Runs `f` on the queue table with the AstDB beside it.
fn with<R>(
    dp: &Dialplan,
    f: impl FnOnce(&mut Queues, &mut crate::dialplan::astdb::AstDb) -> R,
) -> R {
    dp.with_queues(f)
}

fn add(ex: &mut Execution, dp: &Dialplan, argv: &[&str], args: &str, loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).copied().unwrap_or("");
    if args.trim().is_empty() {
        log::warn!(
            "{loc}: {}: AddQueueMember requires an argument (queuename[,interface[,penalty[,options[,membername[,stateinterface]]]]])",
            ex.here()
        );
        return end(Cause::NORMAL_CLEARING);
    }
    let queue = arg(0);
    let interface = match arg(1) {
        "" => own_interface(ex),
        i => i.to_string(),
    };
    let penalty = match arg(2) {
        "" => 0,
        p => p.parse::<u32>().unwrap_or_else(|_| {
            log::warn!(
                "{loc}: {}: Penalty '{p}' is invalid, must be an integer >= 0",
                ex.here()
            );
            0
        }),
    };
    let Some(def) = Queues::member_from_args(&interface, penalty, arg(4), arg(5)) else {
        log::warn!(
            "{loc}: {}: AddQueueMember: '{interface}' is no Technology/resource",
            ex.here()
        );
        ex.set_var("AQMSTATUS", "NOSUCHQUEUE");
        return Flow::Next;
    };
    let result = with(dp, |q, db| {
        let r = q.add_member(queue, &def, false);
        if r == AddResult::Added {
            q.dump(queue, db);
        }
        r
    });
    let status = match result {
        AddResult::Added => {
            log::info!("Added interface '{interface}' to queue '{queue}'");
            "ADDED"
        }
        AddResult::Already => {
            log::warn!(
                "{loc}: {}: Unable to add interface '{interface}' to queue '{queue}': Already there",
                ex.here()
            );
            "MEMBERALREADY"
        }
        AddResult::NoSuchQueue => {
            log::warn!(
                "{loc}: {}: Unable to add interface to queue '{queue}': No such queue",
                ex.here()
            );
            "NOSUCHQUEUE"
        }
    };
    ex.set_var("AQMSTATUS", status);
    Flow::Next
}

fn remove(ex: &mut Execution, dp: &Dialplan, argv: &[&str], args: &str, loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).copied().unwrap_or("");
    if args.trim().is_empty() {
        log::warn!(
            "{loc}: {}: RemoveQueueMember requires an argument (queuename[,interface])",
            ex.here()
        );
        return end(Cause::NORMAL_CLEARING);
    }
    let queue = arg(0);
    let interface = match arg(1) {
        "" => own_interface(ex),
        i => i.to_string(),
    };
    let result = with(dp, |q, db| {
        let r = q.remove_member(queue, &interface);
        if r == RemoveResult::Removed {
            q.dump(queue, db);
        }
        r
    });
    let status = match result {
        RemoveResult::Removed => {
            log::info!("Removed interface '{interface}' from queue '{queue}'");
            "REMOVED"
        }
        RemoveResult::NotInQueue => "NOTINQUEUE",
        RemoveResult::NoSuchQueue => {
            log::warn!(
                "{loc}: {}: Unable to remove interface from queue '{queue}': No such queue",
                ex.here()
            );
            "NOSUCHQUEUE"
        }
        RemoveResult::NotDynamic => {
            log::warn!(
                "{loc}: {}: Unable to remove interface from queue '{queue}': '{interface}' is not a dynamic member",
                ex.here()
            );
            "NOTDYNAMIC"
        }
    };
    ex.set_var("RQMSTATUS", status);
    Flow::Next
}

/// `PauseQueueMember([queuename],interface[,options[,reason]])` and its opposite.
fn pause(ex: &mut Execution, dp: &Dialplan, paused: bool, argv: &[&str], loc: &Loc) -> Flow {
    let arg = |i: usize| argv.get(i).copied().unwrap_or("");
    let (app, var, done) = if paused {
        ("PauseQueueMember", "PQMSTATUS", "PAUSED")
    } else {
        ("UnpauseQueueMember", "UPQMSTATUS", "UNPAUSED")
    };
    if arg(1).is_empty() {
        log::warn!(
            "{loc}: {}: {app} requires an argument ([queuename],interface[,options[,reason]])",
            ex.here()
        );
        return end(Cause::NORMAL_CLEARING);
    }
    let (queue, interface) = (arg(0), arg(1));
    let changed = with(dp, |q, db| {
        let changed = q.set_paused(queue, interface, paused);
        for name in &changed {
            q.dump(name, db);
        }
        !changed.is_empty()
    });
    if changed {
        ex.set_var(var, done);
    } else {
        log::warn!(
            "{loc}: {}: Attempt to {} interface {interface}, not found",
            ex.here(),
            if paused { "pause" } else { "unpause" }
        );
        ex.set_var(var, "NOTFOUND");
    }
    Flow::Next
}

/// The runner's side of `State::AwaitQueue`: `None` when `resume` is not its.
pub(crate) fn resume(
    ex: &mut Execution,
    dp: &Dialplan,
    state: &State,
    resume: &Resume,
) -> Option<Command> {
    let State::AwaitQueue { keep_going } = state else {
        return None;
    };
    Some(match resume {
        Resume::QueueEnded { status } => {
            ex.set_var("QUEUESTATUS", status.as_str());
            ex.next(dp)
        }
        // A member answered; the bridge is over because the member hung up.
        Resume::DialEnded { .. } => {
            ex.answered = true;
            if *keep_going {
                ex.set_var("QUEUESTATUS", QueueResult::Continue.as_str());
                ex.next(dp)
            } else {
                ex.end(Cause::NORMAL_CLEARING)
            }
        }
        _ => {
            ex.state = state.clone();
            Command::Keep
        }
    })
}
