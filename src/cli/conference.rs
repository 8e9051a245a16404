//! `confbridge list [name]` and `meetme list [confno]`, as Asterisk's
//! `apps/app_confbridge.c` (`handle_cli_confbridge_list`) and `apps/app_meetme.c`
//! (`meetme_show_cmd`) print them. sipbox never locks or mutes a whole conference: those
//! columns say No.

use super::{Answer, View};
use crate::dialplan::conference::ConfKind;
use std::fmt::Write;

/// One running conference for the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceView {
    /// ConfBridge or MeetMe.
    pub kind: ConfKind,
    /// Its name.
    pub name: String,
    /// Marked members.
    pub marked: usize,
    /// Seconds since it started.
    pub secs: u64,
    /// Its members, in join order.
    pub members: Vec<MemberView>,
}

/// One member for the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// `SIP/1001-00000001`.
    pub channel: String,
    /// Its caller ID number.
    pub callerid: String,
    /// ConfBridge's flags: `A` admin, `M` marked, `W` wait_marked, `E` end_marked, `m`
    /// muted, `w` waiting for a marked user.
    pub flags: String,
    /// ConfBridge's user and bridge profile names (empty for MeetMe and Page members).
    pub profiles: (String, String),
    /// Seconds since it joined.
    pub secs: u64,
}

/// `confbridge list [name]`.
pub(super) fn confbridge_list(view: &View<'_>, args: &[&str]) -> Answer {
    let confs = view
        .conferences
        .iter()
        .filter(|c| c.kind == ConfKind::ConfBridge);
    let mut out = String::new();
    match args {
        [] => {
            out.push_str("Conference Bridge Name           Users  Marked Locked Muted\n");
            out.push_str("================================ ====== ====== ====== =====\n");
            for c in confs {
                let _ = writeln!(
                    out,
                    "{:<32} {:>6} {:>6} {:<6} No",
                    c.name,
                    c.members.len(),
                    c.marked,
                    "No"
                );
            }
        }
        [name] => {
            let Some(c) = confs
                .into_iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
            else {
                return Answer::text(format!("No conference bridge named '{name}' found!\n"));
            };
            out.push_str("Channel                        Flags  User Profile     Bridge Profile   Menu             CallerID\n");
            out.push_str("============================== ====== ================ ================ ================ ================\n");
            for m in &c.members {
                let cid = if m.callerid.is_empty() {
                    "<unknown>"
                } else {
                    &m.callerid
                };
                let (user, bridge) = &m.profiles;
                let _ = writeln!(
                    out,
                    "{:<30} {:<6} {:<16} {:<16} {:<16} {cid}",
                    m.channel, m.flags, user, bridge, ""
                );
            }
        }
        _ => return Answer::usage("confbridge list"),
    }
    Answer::text(out)
}

/// `meetme list [confno]`.
pub(super) fn meetme_list(view: &View<'_>, args: &[&str]) -> Answer {
    let confs: Vec<_> = view
        .conferences
        .iter()
        .filter(|c| c.kind == ConfKind::MeetMe)
        .collect();
    match args {
        [] => {
            if confs.is_empty() {
                return Answer::text("No active MeetMe conferences.\n".to_string());
            }
            let rooms = view.dialplan.conference_conf();
            let mut out = format!(
                "{:<14} {:<14} {:<10} {:<8}  {:<8}  {:<6}\n",
                "Conf Num", "Parties", "Marked", "Activity", "Creation", "Locked"
            );
            let mut total = 0;
            for c in confs {
                let marked = if c.marked == 0 {
                    "N/A ".to_string()
                } else {
                    format!("{:04}", c.marked)
                };
                let (h, m, s) = (c.secs / 3600, (c.secs / 60) % 60, c.secs % 60);
                let creation = if rooms.room(&c.name).is_some() {
                    "Static"
                } else {
                    "Dynamic"
                };
                let name: String = c.name.chars().take(12).collect();
                let _ = writeln!(
                    out,
                    "{name:<12}   {:04}\t      {marked:>4.4}       {h:02}:{m:02}:{s:02}  {creation:<8}  {:<6}",
                    c.members.len(),
                    "No"
                );
                total += c.members.len();
            }
            let _ = writeln!(out, "* Total number of MeetMe users: {total}");
            Answer::text(out)
        }
        [confno] => {
            let Some(c) = confs.into_iter().find(|c| c.name == *confno) else {
                return Answer::text(format!("No such conference: {confno}.\n"));
            };
            let mut out = String::new();
            for (i, m) in c.members.iter().enumerate() {
                let cid = if m.callerid.is_empty() {
                    "<unknown>"
                } else {
                    &m.callerid
                };
                let flag =
                    |f: char, text: &'static str| if m.flags.contains(f) { text } else { "" };
                let (h, min, s) = (m.secs / 3600, (m.secs / 60) % 60, m.secs % 60);
                // app_meetme's `User #: %-2.2d %12.12s %-20.20s Channel: %s %s %s %s %s %s
                // %02d:%02d:%02d`; sipbox has no talker detection (`(unmonitored)`).
                let name = "<no name>";
                let (admin, listen) = (flag('A', "(Admin)"), flag('m', "(Listen only)"));
                let _ = writeln!(
                    out,
                    "User #: {:02} {cid:>12.12} {name:<20.20} Channel: {} {admin} {listen}   \
                     (unmonitored) {h:02}:{min:02}:{s:02}",
                    i + 1,
                    m.channel,
                );
            }
            let _ = writeln!(out, "{} users in that conference.", c.members.len());
            Answer::text(out)
        }
        _ => Answer::usage("meetme list"),
    }
}
