//! Typed queues.conf: the call queues of `Queue()` (Asterisk's `apps/app_queue.c`
//! `reload_queues`, `queue_set_param`, `parse_empty_options`, `strat2int`,
//! `configs/samples/queues.conf.sample`).
//!
//! `[general]` gives `persistentmembers` (dynamic members kept in AstDB family
//! `Queue/PersistentMembers`), `autofill` (the default of each queue's) and `shared_lastcall`;
//! every other section is a queue. What sipbox acts on: `strategy`, `timeout`, `retry`,
//! `wrapuptime`, `maxlen`, `joinempty`, `leavewhenempty`, `musicclass` (`music`), `member =>`,
//! `ringinuse`, `servicelevel`, `autofill`, `weight` (read, shown). Announcements, recording,
//! autopause, queue rules and member macros are warned about once per option name (a caller
//! or an admin would miss them); AMI/queue_log switches and the announcement sound names are
//! accepted quietly. Bad values are `file:line` warnings and keep the default, as
//! `queue_set_param` logs and goes on.

use super::raw::{Entry, Loc, Section};
use super::values::{parse_bool_str, Warnings};
use std::collections::HashSet;
use std::time::Duration;

/// How members are chosen (`strategy=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every available member at once.
    #[default]
    RingAll,
    /// The member whose last queue call ended longest ago.
    LeastRecent,
    /// The member with the fewest completed calls.
    FewestCalls,
    /// A random member.
    Random,
    /// Round robin, remembering where the last caller stopped (`roundrobin`, `rrordered`).
    RrMemory,
    /// Members in the order written, from the first, for every caller.
    Linear,
    /// Random, weighted by penalty.
    WRandom,
}

impl Strategy {
    /// `strat2int`'s names.
    pub fn parse(s: &str) -> Option<Strategy> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "ringall" => Strategy::RingAll,
            "leastrecent" => Strategy::LeastRecent,
            "fewestcalls" => Strategy::FewestCalls,
            "random" => Strategy::Random,
            "rrmemory" | "roundrobin" | "rrordered" => Strategy::RrMemory,
            "linear" => Strategy::Linear,
            "wrandom" => Strategy::WRandom,
            _ => return None,
        })
    }

    /// `int2strat`'s name, as `queue show` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::RingAll => "ringall",
            Strategy::LeastRecent => "leastrecent",
            Strategy::FewestCalls => "fewestcalls",
            Strategy::Random => "random",
            Strategy::RrMemory => "rrmemory",
            Strategy::Linear => "linear",
            Strategy::WRandom => "wrandom",
        }
    }
}

/// Which members do not count when `joinempty` / `leavewhenempty` look for one
/// (`enum empty_conditions`): a queue whose every member is excluded is "empty".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyWhen {
    /// Members whose penalty the caller's `QUEUE_MAX_PENALTY` excludes.
    pub penalty: bool,
    /// Paused members.
    pub paused: bool,
    /// Members in a call.
    pub inuse: bool,
    /// Ringing members.
    pub ringing: bool,
    /// Unregistered / unreachable members.
    pub unavailable: bool,
    /// Members that are no device sipbox knows.
    pub invalid: bool,
    /// Members in an unknown state.
    pub unknown: bool,
    /// Members in their wrap-up time.
    pub wrapup: bool,
}

impl EmptyWhen {
    /// Any condition at all (`joinempty=yes` is none).
    pub fn any(&self) -> bool {
        *self != EmptyWhen::default()
    }

    /// `parse_empty_options`: a comma list of conditions, or `yes`/`no`/`strict`/`loose`.
    /// Err: the word that is none of them.
    pub fn parse(value: &str, join: bool) -> Result<EmptyWhen, String> {
        let mut e = EmptyWhen::default();
        let base = EmptyWhen {
            penalty: true,
            invalid: true,
            paused: true,
            ..EmptyWhen::default()
        };
        for w in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match w.to_ascii_lowercase().as_str() {
                "paused" => e.paused = true,
                "penalty" => e.penalty = true,
                "inuse" => e.inuse = true,
                "ringing" => e.ringing = true,
                "invalid" => e.invalid = true,
                "wrapup" => e.wrapup = true,
                "unavailable" => e.unavailable = true,
                "unknown" => e.unknown = true,
                "loose" => {
                    e = EmptyWhen {
                        penalty: true,
                        invalid: true,
                        ..EmptyWhen::default()
                    }
                }
                "strict" => {
                    e = EmptyWhen {
                        unavailable: true,
                        ..base
                    }
                }
                other => match parse_bool_str(other) {
                    // joinempty=no and leavewhenempty=yes mean the same members.
                    Some(b) if b != join => e = base,
                    Some(_) => e = EmptyWhen::default(),
                    None => return Err(w.to_string()),
                },
            }
        }
        Ok(e)
    }
}

/// One `member =>` line: `interface[,penalty[,membername[,state_interface[,ringinuse]]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDef {
    /// What is dialled (`SIP/1001`, `Local/1001@agents`).
    pub interface: String,
    /// Lower penalties ring first.
    pub penalty: u32,
    /// The name `queue show` prints (the interface when not given).
    pub name: String,
    /// Whose device state counts (the interface when not given).
    pub state_interface: String,
    /// The member's own `ringinuse` (None: the queue's).
    pub ringinuse: Option<bool>,
}

/// Parses a member's fields (the `member =>` value, AddQueueMember's arguments and the
/// AstDB rows share the shape). Err: why the line is no member.
pub fn member_def(value: &str) -> Result<MemberDef, String> {
    let f: Vec<&str> = value.split(',').map(str::trim).collect();
    let interface = f.first().copied().unwrap_or("");
    if interface.is_empty() {
        return Err("a member needs an interface".into());
    }
    if !interface.contains('/') {
        return Err(format!("member '{interface}' is no Technology/resource"));
    }
    let penalty = match f.get(1).copied().filter(|p| !p.is_empty()) {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32)
            .map_err(|_| format!("penalty '{p}' is no number"))?,
    };
    let opt = |i: usize| f.get(i).copied().filter(|s| !s.is_empty());
    Ok(MemberDef {
        interface: interface.to_string(),
        penalty,
        name: opt(2).unwrap_or(interface).to_string(),
        state_interface: opt(3).unwrap_or(interface).to_string(),
        ringinuse: opt(4).and_then(parse_bool_str),
    })
}

/// One queue (`[name]`), with `init_queue`'s defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    /// The section name (looked up case-insensitively).
    pub name: String,
    /// `strategy`.
    pub strategy: Strategy,
    /// `timeout`: how long each attempt rings a member (0: until the Queue() timeout).
    pub timeout: Duration,
    /// `retry`: the pause between attempts.
    pub retry: Duration,
    /// `wrapuptime`: a member is not rung this long after a queue call ended.
    pub wrapuptime: Duration,
    /// `maxlen`: callers waiting at most (0: no bound here but sipbox's own).
    pub maxlen: u32,
    /// `joinempty`.
    pub joinempty: EmptyWhen,
    /// `leavewhenempty`.
    pub leavewhenempty: EmptyWhen,
    /// `musicclass` (empty: the channel's, then `default`).
    pub musicclass: String,
    /// `ringinuse`: members in a call are rung too.
    pub ringinuse: bool,
    /// `servicelevel` (seconds) for the statistic `queue show` prints.
    pub servicelevel: u32,
    /// `autofill`: as many callers ring at once as members are free.
    pub autofill: bool,
    /// `weight` (read and shown; queues are not compared with each other).
    pub weight: u32,
    /// `member =>` lines in order.
    pub members: Vec<MemberDef>,
    /// Where the `[name]` line is.
    pub loc: Loc,
}

impl QueueDef {
    /// A queue with Asterisk's defaults.
    pub fn new(name: &str, autofill: bool, loc: Loc) -> QueueDef {
        QueueDef {
            name: name.to_string(),
            strategy: Strategy::RingAll,
            timeout: Duration::from_secs(15),
            retry: Duration::from_secs(5),
            wrapuptime: Duration::ZERO,
            maxlen: 0,
            joinempty: EmptyWhen::default(),
            leavewhenempty: EmptyWhen::default(),
            musicclass: String::new(),
            ringinuse: true,
            servicelevel: 0,
            autofill,
            weight: 0,
            members: Vec::new(),
            loc,
        }
    }
}

/// queues.conf `[general]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueGeneral {
    /// `persistentmembers` (Asterisk's code default is no; the sample file sets yes).
    pub persistent_members: bool,
    /// `autofill`: the default of every queue's.
    pub autofill: bool,
    /// `shared_lastcall`: a member's last call counts in every queue it is in.
    pub shared_lastcall: bool,
}

/// queues.conf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuesConf {
    /// `[general]`.
    pub general: QueueGeneral,
    /// The queues in file order.
    pub queues: Vec<QueueDef>,
}

/// At most this many queues and members per queue are read (the rest is warned about).
pub const MAX_QUEUES: usize = 1024;
/// Members per queue, configured and dynamic together.
pub const MAX_MEMBERS: usize = 256;

/// Options a caller or an admin would miss: warned once per option name.
const MISSED: &[(&str, &str)] = &[
    ("announce", "announcements are not played"),
    ("announce-frequency", "announcements are not played"),
    ("min-announce-frequency", "announcements are not played"),
    ("announce-holdtime", "announcements are not played"),
    ("announce-position", "announcements are not played"),
    ("announce-position-limit", "announcements are not played"),
    ("announce-round-seconds", "announcements are not played"),
    ("announce-to-first-user", "announcements are not played"),
    ("periodic-announce", "announcements are not played"),
    (
        "periodic-announce-frequency",
        "announcements are not played",
    ),
    ("random-periodic-announce", "announcements are not played"),
    ("relative-periodic-announce", "announcements are not played"),
    ("context", "exit digits to a context are not taken"),
    ("monitor-type", "queue calls are not recorded"),
    ("monitor-format", "queue calls are not recorded"),
    ("autopause", "members are not paused automatically"),
    ("autopausedelay", "members are not paused automatically"),
    ("autopausebusy", "members are not paused automatically"),
    ("autopauseunavail", "members are not paused automatically"),
    ("defaultrule", "queuerules.conf is not read"),
    ("membermacro", "member macros do not run"),
    ("membergosub", "member subroutines do not run"),
    ("memberdelay", "members hear no delay"),
    (
        "timeoutpriority",
        "the Queue() timeout always wins (timeoutpriority=app)",
    ),
    (
        "timeoutrestart",
        "a member's busy does not restart the timeout",
    ),
    ("penaltymemberslimit", "penalties always count"),
    ("reportholdtime", "members hear no hold time"),
];

/// Options that change nothing observable here (AMI events, queue_log, the sounds of the
/// announcements sipbox does not make).
fn quiet(key: &str) -> bool {
    key.starts_with("queue-")
        || matches!(
            key,
            "eventwhencalled"
                | "eventmemberstatus"
                | "setinterfacevar"
                | "setqueueentryvar"
                | "setqueuevar"
                | "updatecdr"
                | "log_membername_as_agent"
                | "keepstats"
                | "check_state_unknown"
                | "negative_penalty_invalid"
                | "monitor-join"
                | "force_longest_waiting_caller"
                | "log-restricted-caller-id"
        )
}

impl QueuesConf {
    /// The queues of queues.conf's sections; bad values are `file:line` warnings.
    pub fn from_sections(sections: &[Section], warnings: &mut Warnings) -> QueuesConf {
        let mut conf = QueuesConf::default();
        let mut missed = HashSet::new();
        if let Some(g) = sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case("general"))
        {
            for e in &g.entries {
                let key = e.key.to_ascii_lowercase();
                let flag = || parse_bool_str(&e.value);
                let slot = match key.as_str() {
                    "persistentmembers" => &mut conf.general.persistent_members,
                    "autofill" => &mut conf.general.autofill,
                    "shared_lastcall" => &mut conf.general.shared_lastcall,
                    k if quiet(k) => continue,
                    k => {
                        other(k, e, &mut missed, warnings);
                        continue;
                    }
                };
                match flag() {
                    Some(b) => *slot = b,
                    None => warnings.at(&e.loc, format!("'{}' wants yes or no; ignored", e.key)),
                }
            }
        }
        for s in sections {
            if s.name.eq_ignore_ascii_case("general") {
                continue;
            }
            if conf.queues.len() >= MAX_QUEUES {
                warnings.at(&s.loc, format!("more than {MAX_QUEUES} queues; ignored"));
                continue;
            }
            if conf
                .queues
                .iter()
                .any(|q| q.name.eq_ignore_ascii_case(&s.name))
            {
                warnings.at(&s.loc, format!("queue '{}' defined again; ignored", s.name));
                continue;
            }
            let q = queue(s, conf.general.autofill, &mut missed, warnings);
            conf.queues.push(q);
        }
        conf
    }

    /// The queue named `name` (case-insensitive).
    pub fn queue(&self, name: &str) -> Option<&QueueDef> {
        self.queues
            .iter()
            .find(|q| q.name.eq_ignore_ascii_case(name.trim()))
    }
}

/// An option sipbox does not act on: quiet, missed (once per name), or unknown.
fn other(key: &str, e: &Entry, missed: &mut HashSet<String>, warnings: &mut Warnings) {
    match MISSED.iter().find(|(k, _)| *k == key) {
        Some((_, why)) => {
            if missed.insert(key.to_string()) {
                warnings.at(&e.loc, format!("'{}' ignored: {why} (said once)", e.key));
            }
        }
        None => warnings.unknown(e),
    }
}

fn queue(s: &Section, autofill: bool, missed: &mut HashSet<String>, w: &mut Warnings) -> QueueDef {
    let mut q = QueueDef::new(&s.name, autofill, s.loc.clone());
    for e in &s.entries {
        let key = e.key.to_ascii_lowercase();
        let v = e.value.trim();
        let secs = |w: &mut Warnings, d: &mut Duration| match v.parse::<u32>() {
            Ok(n) => *d = Duration::from_secs(u64::from(n)),
            Err(_) => w.at(&e.loc, format!("'{}' wants whole seconds; ignored", e.key)),
        };
        let flag = |w: &mut Warnings, b: &mut bool| match parse_bool_str(v) {
            Some(x) => *b = x,
            None => w.at(&e.loc, format!("'{}' wants yes or no; ignored", e.key)),
        };
        match key.as_str() {
            "strategy" => match Strategy::parse(v) {
                Some(st) => q.strategy = st,
                None => w.at(
                    &e.loc,
                    format!(
                        "'{v}' isn't a valid strategy for queue '{}', using ringall instead",
                        s.name
                    ),
                ),
            },
            "timeout" => secs(w, &mut q.timeout),
            "retry" => match v.parse::<u32>() {
                // `retry <= 0` is the default (queue_set_param).
                Ok(0) | Err(_) => w.at(&e.loc, "'retry' wants seconds above 0; 5 is used"),
                Ok(n) => q.retry = Duration::from_secs(u64::from(n)),
            },
            "wrapuptime" => secs(w, &mut q.wrapuptime),
            "maxlen" => match v.parse::<u32>() {
                Ok(n) => q.maxlen = n,
                Err(_) => w.at(&e.loc, "'maxlen' wants a whole number; ignored"),
            },
            "joinempty" | "leavewhenempty" => {
                let join = key == "joinempty";
                match EmptyWhen::parse(v, join) {
                    Ok(x) if join => q.joinempty = x,
                    Ok(x) => q.leavewhenempty = x,
                    Err(word) => w.at(
                        &e.loc,
                        format!("unknown option '{word}' for '{}'; ignored", e.key),
                    ),
                }
            }
            "musicclass" | "music" | "musiconhold" => q.musicclass = v.to_string(),
            "ringinuse" | "ignorebusy" => flag(w, &mut q.ringinuse),
            "autofill" => flag(w, &mut q.autofill),
            "servicelevel" => match v.parse::<u32>() {
                Ok(n) => q.servicelevel = n,
                Err(_) => w.at(&e.loc, "'servicelevel' wants whole seconds; ignored"),
            },
            "weight" => match v.parse::<u32>() {
                Ok(n) => q.weight = n,
                Err(_) => w.at(&e.loc, "'weight' wants a whole number; ignored"),
            },
            "member" => match member_def(v) {
                Ok(m) if q.members.len() >= MAX_MEMBERS => w.at(
                    &e.loc,
                    format!("more than {MAX_MEMBERS} members; '{}' ignored", m.interface),
                ),
                Ok(m) => {
                    if let Some(i) = q
                        .members
                        .iter()
                        .position(|x| x.interface.eq_ignore_ascii_case(&m.interface))
                    {
                        // The same interface again replaces it (the last line wins).
                        q.members[i] = m;
                    } else {
                        let tech = m.interface.split('/').next().unwrap_or("");
                        if !["sip", "local"].contains(&tech.to_ascii_lowercase().as_str()) {
                            w.at(
                                &e.loc,
                                format!("member '{}': technology '{tech}' is not supported; it is never available", m.interface),
                            );
                        }
                        q.members.push(m);
                    }
                }
                Err(why) => w.at(&e.loc, format!("{why}; line ignored")),
            },
            k if quiet(k) => {}
            k => other(k, e, missed, w),
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::reader;

    fn conf(text: &str) -> (QueuesConf, Vec<String>) {
        let mut raw = Vec::new();
        let s = reader::read_str_with("queues.conf", text, None, &mut raw).unwrap();
        let mut w = Warnings::default();
        let c = QueuesConf::from_sections(&s, &mut w);
        (c, w.into_vec())
    }

    #[test]
    fn a_queue_with_members_and_defaults() {
        let (c, w) = conf(
            "[general]\npersistentmembers=yes\nautofill=yes\n\n[sales]\nstrategy=rrmemory\n\
             timeout=10\nmember => SIP/1001\nmember => SIP/1002,2,Bob,SIP/1002\n\
             joinempty=no\neventwhencalled=yes\nqueue-thankyou=x\n[support]\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(c.general.persistent_members && c.general.autofill);
        let q = c.queue("SALES").unwrap();
        assert_eq!(q.strategy, Strategy::RrMemory);
        assert_eq!(q.timeout, Duration::from_secs(10));
        assert_eq!(q.retry, Duration::from_secs(5));
        assert!(q.autofill, "general's autofill");
        assert_eq!(q.members.len(), 2);
        assert_eq!(q.members[1].penalty, 2);
        assert_eq!(q.members[1].name, "Bob");
        assert_eq!(q.members[0].name, "SIP/1001");
        assert!(q.joinempty.paused && q.joinempty.penalty && q.joinempty.invalid);
        assert!(!q.joinempty.unavailable);
        assert!(c.queue("support").unwrap().members.is_empty());
    }

    #[test]
    fn bad_values_are_warnings_with_file_and_line() {
        let (c, w) = conf(
            "[q]\nstrategy=bogus\ntimeout=x\nmember => nothing\njoinempty=sometimes\n\
             announce-frequency=30\nperiodic-announce=x\nfrobnicate=1\nmember => IAX2/x\n\
             [r]\nannounce-frequency=60\n",
        );
        let q = c.queue("q").unwrap();
        assert_eq!(q.strategy, Strategy::RingAll);
        assert_eq!(q.timeout, Duration::from_secs(15));
        assert_eq!(w.len(), 8, "once per option name, not per queue: {w:?}");
        assert!(
            w[0].starts_with("queues.conf:2: 'bogus' isn't a valid strategy"),
            "{w:?}"
        );
        assert!(w[1].starts_with("queues.conf:3:"));
        assert!(w[2].starts_with("queues.conf:4: member 'nothing'"));
        assert!(w[3].contains("unknown option 'sometimes' for 'joinempty'"));
        assert!(w[4].contains("announcements are not played (said once)"));
        assert!(w[5].starts_with("queues.conf:7: 'periodic-announce' ignored"));
        assert!(w[6].starts_with("queues.conf:8: unknown option 'frobnicate'"));
        assert!(w[7].contains("technology 'IAX2' is not supported"));
    }

    #[test]
    fn empty_conditions_as_asterisk_parses_them() {
        let strict = EmptyWhen::parse("strict", true).unwrap();
        assert!(strict.unavailable && strict.paused && strict.invalid && strict.penalty);
        assert_eq!(EmptyWhen::parse("yes", true).unwrap(), EmptyWhen::default());
        assert!(EmptyWhen::parse("yes", false).unwrap().paused);
        let l = EmptyWhen::parse("inuse,ringing", false).unwrap();
        assert!(l.inuse && l.ringing && !l.paused);
    }
}
