//! The admin CLI, sans-IO: a command line and a read-only [`View`] of the engine in, the text
//! answer (and, for a command that changes something, an [`Action`] for the engine or the
//! driver to apply) out. The control socket, the console and `-rx` live in the binary.
//!
//! Names, wording and column layouts are Asterisk's, so scripts that parse them keep working:
//! `channels/chan_sip.c` (`sip show peers|users|peer|user|registry|channels|channel|settings|
//! inuse`, `sip qualify peer`, `sip set debug`), `pbx/pbx_config.c` (`dialplan show`),
//! `main/cli.c` (`core show channels|calls|uptime|settings|version`, `core set verbose|debug`,
//! `channel request hangup`, `help`, "No such command"), `main/db.c` (`database ...`),
//! `main/asterisk.c` (`core stop ...`), `res/parking/parking_ui.c` (`parking show`), `apps/app_confbridge.c` and `apps/app_meetme.c`
//! (`confbridge list`, `meetme list`), `apps/app_queue.c` (`queue show`). A command with bad arguments prints its usage and
//! changes nothing.
//!
//! - [`view`]: what a command may read.
//! - `sip`: the `sip ...` commands; `channels`: channel listings; `core`: `core ...`, `help`;
//!   `database`: AstDB; `parking`: `parking show`; `format`: Asterisk's time and padding
//!   helpers.

mod channels;
pub mod conference;
mod core;
mod database;
mod format;
mod parking;
mod queue;
mod sip;
pub mod view;

pub use view::{
    ChanState, ChannelView, Levels, ParkedView, PeerView, Reach, RegistryView, Reload, SipDebug,
    StopMode, View,
};

/// What the engine or the driver must do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Hang up these channels (`channel request hangup`).
    Hangup(Vec<String>),
    /// Ping this peer now (`sip qualify peer`).
    Qualify(crate::config::settings::PeerId),
    /// Change what SIP messages are printed.
    SipDebug(SipDebug),
    /// AstDB: set `/family/key`.
    DbPut {
        /// `/family/key`.
        key: String,
        /// The value.
        value: String,
    },
    /// AstDB: delete `/family/key`.
    DbDel {
        /// `/family/key`.
        key: String,
    },
    /// AstDB: delete everything under `/family[/keytree]`.
    DbDelTree {
        /// `/family[/keytree]`.
        prefix: String,
    },
    /// The asking console's verbosity (the driver's).
    Verbose(u8),
    /// The debug level (the driver's).
    Debug(u8),
    /// Stop sipbox.
    Stop(StopMode),
    /// Re-read config files (the driver reads them).
    Reload(Reload),
}

/// A command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The text to print (ends with a newline unless empty).
    pub text: String,
    /// What to do.
    pub action: Option<Action>,
}

impl Answer {
    /// Just text.
    pub fn text(text: impl Into<String>) -> Answer {
        let mut text = text.into();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        Answer { text, action: None }
    }

    /// Text and an action.
    pub fn act(text: impl Into<String>, action: Action) -> Answer {
        Answer {
            action: Some(action),
            ..Answer::text(text)
        }
    }

    /// The usage of `cmd` (its entry in [`COMMANDS`]).
    pub fn usage(cmd: &str) -> Answer {
        let u = COMMANDS
            .iter()
            .find(|c| c.words == cmd)
            .map(|c| c.usage)
            .unwrap_or("Usage: help");
        Answer::text(u)
    }
}

/// One command: its words, its one-line summary (`help`) and its usage.
pub struct Spec {
    /// `sip show peers`.
    pub words: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// `Usage: ...` lines.
    pub usage: &'static str,
}

macro_rules! spec {
    ($w:literal, $s:literal, $u:literal) => {
        Spec {
            words: $w,
            summary: $s,
            usage: $u,
        }
    };
}

/// Every command, for `help` and tab completion.
pub const COMMANDS: &[Spec] = &[
    spec!("channel request hangup", "Request a hangup on a given channel",
        "Usage: channel request hangup <channel>|<all>\n       Request that a channel be hung up. The hangup takes effect\n       the next time the driver reads or writes from the channel.\n       If 'all' is specified instead of a channel name, all channels\n       will see the hangup request."),
    spec!("core reload", "Global reload",
        "Usage: core reload\n       Execute a global reload."),
    spec!("core set debug", "Set level of debug chattiness",
        "Usage: core set debug [atleast] <level>|off\n       core set debug off\n\n       Sets level of debug messages to be displayed."),
    spec!("core set verbose", "Set level of verbose chattiness",
        "Usage: core set verbose [atleast] <level>|off\n       Sets level of verbose messages to be displayed on this console.\n       0 or off means no messages should be displayed."),
    spec!("core show calls", "Display information on calls",
        "Usage: core show calls [uptime]\n       Lists number of currently active calls and total number of calls\n       processed through PBX since last restart."),
    spec!("confbridge list", "List conference bridges and participants.",
        "Usage: confbridge list [<name>]\n       Lists all currently active conference bridges or a specific conference bridge."),
    spec!("core show channels", "Display information on channels",
        "Usage: core show channels [concise|verbose|count]\n       Lists currently defined channels and some information about them. If\n       'concise' is specified, the format is abridged and in a more easily\n       machine parsable format. If 'verbose' is specified, the output includes\n       more and longer fields. If 'count' is specified only the channel and call\n       count is output."),
    spec!("core show help", "Display help list, or specific help on a command",
        "Usage: core show help [topic]\n       When called with a topic as an argument, displays usage\n       information on the given command. If called without a\n       topic, it provides a list of commands."),
    spec!("core show settings", "Show some core settings",
        "Usage: core show settings\n       Show core system settings."),
    spec!("core show uptime", "Show uptime information",
        "Usage: core show uptime [seconds]\n       Shows Asterisk uptime information.\n       The seconds word returns the uptime in seconds only."),
    spec!("core show version", "Display version info",
        "Usage: core show version\n       Shows sipbox version information."),
    spec!("core stop gracefully", "Gracefully shut down Asterisk",
        "Usage: core stop gracefully\n       Causes sipbox to not accept new calls, and exit when all\n       active calls have terminated normally."),
    spec!("core stop now", "Shut down Asterisk immediately",
        "Usage: core stop now\n       Shuts down a running sipbox immediately, hanging up all active calls ."),
    spec!("core stop when convenient", "Shut down Asterisk at empty call volume",
        "Usage: core stop when convenient\n       Causes sipbox to perform a shutdown when all active calls have ended."),
    spec!("database del", "Removes database key/value",
        "Usage: database del <family> <key>\n       Deletes an entry in the Asterisk database for a given\n       family and key."),
    spec!("database deltree", "Removes database keytree/values",
        "Usage: database deltree <family> [keytree]\n       OR: database deltree <family>[/keytree]\n       Deletes a family or specific keytree within a family\n       in the Asterisk database.  The two arguments may be\n       separated by either a space or a slash."),
    spec!("database get", "Gets database value",
        "Usage: database get <family> <key>\n       Retrieves an entry in the Asterisk database for a given\n       family and key."),
    spec!("database put", "Adds/updates database value",
        "Usage: database put <family> <key> <value>\n       Adds or updates an entry in the Asterisk database for\n       a given family, key, and value."),
    spec!("database show", "Shows database contents",
        "Usage: database show [family [keytree]]\n   OR: database show [family[/keytree]]\n       Shows Asterisk database contents, optionally restricted\n       to a given family, or family and keytree. The two arguments\n       may be separated either by a space or by a slash."),
    spec!("dialplan reload", "Reload extensions and *only* extensions",
        "Usage: dialplan reload\n       Reload extensions.conf without reloading any other\n       modules.  This command does not delete global variables."),
    spec!("dialplan show", "Show dialplan",
        "Usage: dialplan show [[exten@]context]\n       Show dialplan"),
    spec!("help", "Display help list, or specific help on a command",
        "Usage: help [topic]\n       When called with a topic as an argument, displays usage\n       information on the given command. If called without a\n       topic, it provides a list of commands."),
    spec!("meetme list", "List all conferences or a specific conference.",
        "Usage: meetme list [<confno>]\n       List all conferences or a specific conference."),
    spec!("module reload", "Reload configuration for a module",
        "Usage: module reload [module ...]\n       Reloads configuration files for all listed modules which support\n       reloading, or for all supported modules if none are listed\n       (chan_sip.so: sip.conf, pbx_config.so: extensions.conf)."),
    spec!("parkedcalls show", "List currently parked calls",
        "Usage: parkedcalls show [name]\n       The name Asterisk 1.8-11 had: answered as 'parking show'."),
    spec!("parking show", "Show a parking lot or a list of all parking lots.",
        "Usage: parking show [name]\n\tShows a list of parking lots or details of a specific parking lot."),
    spec!("queue reload", "Reload queues, members, queue rules, or parameters",
        "Usage: queue reload {all|members|parameters|rules}\n       Reloads queues.conf (sipbox: the whole configuration, as 'core reload';\n       callers waiting in a queue stay)."),
    spec!("queue show", "Show status of a specified queue",
        "Usage: queue show\n       Provides summary information on a specified queue."),
    spec!("sip qualify peer", "Send an OPTIONS packet to a peer",
        "Usage: sip qualify peer <name> [load]\n       Requests a response from one SIP peer and the current status.\n       Option \"load\" forces lookup of peer in realtime storage."),
    spec!("sip reload", "Reload SIP configuration",
        "Usage: sip reload\n       Reloads SIP configuration from sip.conf"),
    spec!("sip set debug", "Enable/Disable SIP debugging",
        "Usage: sip set debug {on|off|ip addr[:port]|peer peername}\n       Globally disables dumping of SIP packets,\n       or enables it either globally or for a (single)\n       IP address or registered peer."),
    spec!("sip show channel", "Show detailed SIP channel info",
        "Usage: sip show channel <call-id>\n       Provides detailed status on a given SIP dialog (identified by SIP call-id)."),
    spec!("sip show channels", "List active SIP channels or subscriptions",
        "Usage: sip show channels\n       Lists all currently active SIP calls (dialogs)."),
    spec!("sip show inuse", "List all inuse/limits",
        "Usage: sip show inuse [all]\n       List all SIP devices usage counters and limits.\n       Add option \"all\" to show all devices, not only those with a limit."),
    spec!("sip show peer", "Show details on specific SIP peer",
        "Usage: sip show peer <name> [load]\n       Shows all details on one SIP peer and the current status.\n       Option \"load\" forces lookup of peer in realtime storage."),
    spec!("sip show peers", "List defined SIP peers",
        "Usage: sip show peers [like <pattern>]\n       Lists all known SIP peers.\n       Optional 'like' filters peers whose name contains <pattern>."),
    spec!("sip show registry", "List SIP registration status",
        "Usage: sip show registry\n       Lists all registration requests and status."),
    spec!("sip show settings", "Show SIP global settings",
        "Usage: sip show settings\n       Provides detailed list of the configuration of the SIP channel."),
    spec!("sip show user", "Show details on specific SIP user",
        "Usage: sip show user <name> [load]\n       Shows all details on one SIP user and the current status.\n       Option \"load\" forces lookup of peer in realtime storage."),
    spec!("sip show users", "List defined SIP users",
        "Usage: sip show users [like <pattern>]\n       Lists all known SIP users.\n       Optional 'like' filters users whose name contains <pattern>."),
];

/// The longest command line accepted (longer ones are refused, not cut).
pub const MAX_LINE: usize = 4096;
/// The most words a command line may have.
const MAX_WORDS: usize = 32;

/// Splits a command line into words; `"double quoted"` words may hold spaces (Asterisk's
/// CLI parser). None: too many words.
pub fn words(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
        if out.len() > MAX_WORDS {
            return None;
        }
    }
    if any {
        out.push(cur);
    }
    (out.len() <= MAX_WORDS).then_some(out)
}

/// Runs one command line against `view`.
pub fn run(line: &str, view: &View<'_>) -> Answer {
    let line = line.trim();
    if line.is_empty() {
        return Answer::text("");
    }
    if line.len() > MAX_LINE {
        return Answer::text(format!("Command line too long (at most {MAX_LINE} bytes)"));
    }
    let Some(args) = words(line) else {
        return no_such(line, &[]);
    };
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match l.as_slice() {
        ["sip", "show", "peers", ..] => sip::peers(view, &a[3..]),
        ["sip", "show", "users", ..] => sip::users(view, &a[3..]),
        ["sip", "show", "peer", ..] => sip::peer(view, &a[3..]),
        ["sip", "show", "user", ..] => sip::user(view, &a[3..]),
        ["sip", "show", "registry", ..] => sip::registry(view, &a[3..]),
        ["sip", "show", "settings", ..] => sip::settings(view, &a[3..]),
        ["sip", "show", "inuse", ..] => sip::inuse(view, &a[3..]),
        ["sip", "show", "channels", ..] => channels::sip_channels(view, &a[3..]),
        ["sip", "show", "channel", ..] => channels::sip_channel(view, &a[3..]),
        ["sip", "qualify", "peer", ..] => sip::qualify(view, &a[3..]),
        ["sip", "set", "debug", ..] => sip::debug(view, &a[3..]),
        ["sip", "reload"] => Answer::act("", Action::Reload(Reload::Sip)),
        ["dialplan", "show", ..] => dialplan_show(view, &a[2..]),
        ["dialplan", "reload"] => Answer::act("", Action::Reload(Reload::Dialplan)),
        ["core", "reload"] => Answer::act("", Action::Reload(Reload::All)),
        ["module", "reload", rest @ ..] => module_reload(rest),
        ["core", "show", "channels", ..] => channels::core_channels(view, &l[3..]),
        ["core", "show", "calls", ..] => channels::core_calls(view, &l[3..]),
        ["core", "show", "uptime", ..] => core::uptime(view, &l[3..]),
        ["core", "show", "settings", ..] => core::settings(view, &l[3..]),
        ["core", "show", "version", ..] => core::version(&l[3..]),
        ["core", "show", "help", ..] => core::help(&l[3..]),
        ["help", ..] => core::help(&l[1..]),
        ["core", "set", "verbose", ..] => core::set_verbose(view, &l[3..]),
        ["core", "set", "debug", ..] => core::set_debug(view, &l[3..]),
        ["core", "stop", ..] => core::stop(view, &l[2..]),
        ["channel", "request", "hangup", ..] => channels::hangup(view, &a[3..]),
        ["database", ..] => database::run(view, &l, &a),
        ["parking", "show", ..] | ["parkedcalls", "show", ..] => parking::show(view, &a[2..]),
        ["confbridge", "list", ..] => conference::confbridge_list(view, &a[2..]),
        ["meetme", "list", ..] => conference::meetme_list(view, &a[2..]),
        ["queue", "show", ..] => queue::show(view, &a[2..]),
        ["queue", "reload", ..] => queue::reload(&l[2..]),
        _ => no_such(line, &l),
    }
}

/// `No such command 'x' (type 'core show help y' for other possible commands)`, y being the
/// longest start of the line that begins some command (main/cli.c's `find_best`).
fn no_such(line: &str, words: &[&str]) -> Answer {
    let mut best = line.to_string();
    for n in (1..=words.len()).rev() {
        let prefix = words[..n].join(" ");
        if COMMANDS
            .iter()
            .any(|c| c.words == prefix || c.words.starts_with(&format!("{prefix} ")))
        {
            best = prefix;
            break;
        }
    }
    Answer::text(format!(
        "No such command '{line}' (type 'core show help {best}' for other possible commands)"
    ))
}

fn dialplan_show(view: &View<'_>, args: &[&str]) -> Answer {
    match args {
        [] => Answer::text(view.dialplan.show(None)),
        [what] => {
            let (exten, ctx) = match what.split_once('@') {
                Some((e, c)) => (
                    Some(e).filter(|e| !e.is_empty()),
                    Some(c).filter(|c| !c.is_empty()),
                ),
                None => (None, Some(*what)),
            };
            Answer::text(view.dialplan.show_filtered(ctx, exten))
        }
        _ => Answer::usage("dialplan show"),
    }
}

fn module_reload(modules: &[&str]) -> Answer {
    let mut what = None;
    for m in modules {
        let this = match m.trim_end_matches(".so") {
            "chan_sip" => Reload::Sip,
            "pbx_config" => Reload::Dialplan,
            other => return Answer::text(format!("The module '{other}' does not exist.")),
        };
        what = Some(match what {
            None => this,
            Some(w) if w == this => w,
            Some(_) => Reload::All,
        });
    }
    Answer::act("", Action::Reload(what.unwrap_or(Reload::All)))
}

/// Completions of the last word of `line` (the console's tab key): the command words that
/// may follow what is typed, from [`COMMANDS`].
pub fn complete(line: &str) -> Vec<String> {
    let typed: Vec<&str> = line.split_whitespace().collect();
    let (done, partial) = if line.ends_with(char::is_whitespace) || typed.is_empty() {
        (&typed[..], "")
    } else {
        (&typed[..typed.len() - 1], typed[typed.len() - 1])
    };
    let mut out: Vec<String> = COMMANDS
        .iter()
        .filter_map(|c| {
            let w: Vec<&str> = c.words.split(' ').collect();
            if w.len() <= done.len() {
                return None;
            }
            let same = w.iter().zip(done).all(|(a, b)| a.eq_ignore_ascii_case(b));
            (same && w[done.len()].starts_with(&partial.to_ascii_lowercase()))
                .then(|| w[done.len()].to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_and_keep_quoted_spaces() {
        assert_eq!(
            words(r#"database put fam key "two words""#).unwrap(),
            ["database", "put", "fam", "key", "two words"]
        );
        assert_eq!(
            words("  sip   show peers ").unwrap(),
            ["sip", "show", "peers"]
        );
        assert!(words(&"x ".repeat(100)).is_none());
    }

    #[test]
    fn completion_offers_the_next_words() {
        assert_eq!(complete("sip sh"), ["show"]);
        assert!(complete("sip show ").contains(&"peers".to_string()));
        assert_eq!(complete("core st"), ["stop"]);
        assert!(complete("").contains(&"database".to_string()));
        assert!(complete("nothing here").is_empty());
    }

    #[test]
    fn module_names_choose_what_to_reload() {
        assert_eq!(module_reload(&[]).action, Some(Action::Reload(Reload::All)));
        assert_eq!(
            module_reload(&["chan_sip.so"]).action,
            Some(Action::Reload(Reload::Sip))
        );
        assert_eq!(
            module_reload(&["pbx_config"]).action,
            Some(Action::Reload(Reload::Dialplan))
        );
        let bad = module_reload(&["app_voicemail.so"]);
        assert_eq!(bad.action, None);
        assert!(bad.text.contains("does not exist"));
    }
}
