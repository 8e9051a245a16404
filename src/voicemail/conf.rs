//! voicemail.conf: `[general]` and the mailbox contexts (`1234 => 4242,Full Name,email[,pager[,options]]`).
//!
//! Reading list: Asterisk `configs/samples/voicemail.conf.sample`, `apps/app_voicemail.c`
//! (`load_config`, `apply_options`, `find_or_create`). Bad values are warned about with
//! `file:line` and the default kept, as app_voicemail logs and goes on; options Asterisk has
//! that change nothing here (zones, ADSI, IMAP/ODBC, pager texts, ...) are accepted quietly;
//! anything else is an "unknown option" warning. `[zonemessages]` is read quietly and not used.

use crate::config::raw::{Entry, Section};
use crate::config::values::{parse_bool_str, Warnings};
use std::collections::BTreeMap;
use std::time::Duration;

/// The default `mailcmd` (app_voicemail's `SENDMAIL`).
pub const DEFAULT_MAILCMD: &str = "/usr/sbin/sendmail -t";
/// Most messages a folder may hold (Asterisk's `MAXMSGLIMIT`).
pub const MAX_MSG_LIMIT: u32 = 9999;

/// `[general]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmGeneral {
    /// `format`: the formats messages are stored in; only `wav` is written.
    pub formats: Vec<String>,
    /// `maxmsg` (100): messages per folder.
    pub max_msg: u32,
    /// `maxsecs` / `maxmessage` (0: no limit but sipbox's own ten minutes).
    pub max_secs: Option<Duration>,
    /// `minsecs` / `minmessage` (0): shorter messages are thrown away.
    pub min_secs: Duration,
    /// `maxsilence` (0: off): trailing silence that ends the recording.
    pub max_silence: Option<Duration>,
    /// `silencethreshold` (128): a 20 ms frame whose mean absolute sample is below this is
    /// silence.
    pub silence_threshold: u32,
    /// `skipms` (3000): how far `*`/`#` skip while a message plays (accepted; playback does
    /// not skip yet).
    pub skip_ms: u32,
    /// `attach` (yes): attach the recording to the e-mail.
    pub attach: bool,
    /// `serveremail` (`asterisk`): the From of notification e-mails.
    pub server_email: String,
    /// `fromstring` (`Asterisk PBX`): the display name of that From.
    pub from_string: String,
    /// `mailcmd` (`/usr/sbin/sendmail -t`): reads the whole message on stdin.
    pub mail_cmd: String,
    /// `maxlogins` (3): wrong passwords before VoiceMailMain says goodbye.
    pub max_logins: u32,
    /// `minpassword` (0): shortest new password.
    pub min_password: usize,
    /// `envelope`, `saycid`, `review`, `operator`, `sayduration` as given (yes/no).
    pub operator: bool,
}

impl Default for VmGeneral {
    fn default() -> Self {
        VmGeneral {
            formats: vec!["wav".into()],
            max_msg: 100,
            max_secs: None,
            min_secs: Duration::ZERO,
            max_silence: None,
            silence_threshold: 128,
            skip_ms: 3000,
            attach: true,
            server_email: "asterisk".into(),
            from_string: "Asterisk PBX".into(),
            mail_cmd: DEFAULT_MAILCMD.into(),
            max_logins: 3,
            min_password: 0,
            operator: false,
        }
    }
}

/// One mailbox line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The voicemail context (`[default]`).
    pub context: String,
    /// The box number.
    pub mailbox: String,
    /// The PIN (a leading `-` means the user may not change it, as Asterisk).
    pub password: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address (empty: no e-mail).
    pub email: String,
    /// Pager address.
    pub pager: String,
    /// `attach=` of the box's options (None: `[general]`'s).
    pub attach: Option<bool>,
    /// `delete=yes`: the message is deleted after the e-mail was sent.
    pub delete: bool,
    /// `maxmsg=` of the box's options.
    pub max_msg: Option<u32>,
    /// `serveremail=` of the box's options.
    pub server_email: Option<String>,
}

impl Mailbox {
    /// `box@context`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.mailbox, self.context)
    }

    /// The password as keyed (without the "may not change" `-`).
    pub fn pin(&self) -> &str {
        self.password.trim_start_matches('-')
    }
}

/// Typed voicemail.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoicemailConf {
    /// `[general]`.
    pub general: VmGeneral,
    /// Mailboxes by (lower-case context, box).
    pub boxes: BTreeMap<(String, String), Mailbox>,
}

/// `[general]` options that change nothing in sipbox (Asterisk features not built).
const QUIET: &[&str] = &[
    "adsifdn",
    "adsisec",
    "adsiver",
    "callback",
    "charset",
    "cidinternalcontexts",
    "dialout",
    "directoryintro",
    "emailbody",
    "emaildateformat",
    "emailsubject",
    "envelope",
    "exitcontext",
    "externnotify",
    "externpass",
    "externpasscheck",
    "externpassnotify",
    "forcegreetings",
    "forcename",
    "hidefromdir",
    "imapfolder",
    "imapgreetings",
    "imapport",
    "imapserver",
    "listen-control-forward-key",
    "listen-control-pause-key",
    "listen-control-restart-key",
    "listen-control-reverse-key",
    "listen-control-stop-key",
    "locale",
    "mailcmd_options",
    "moveheard",
    "nextaftercmd",
    "odbcstorage",
    "odbctable",
    "pagerbody",
    "pagerdateformat",
    "pagerfromstring",
    "pagersubject",
    "pbxskip",
    "pollfreq",
    "pollmailboxes",
    "review",
    "saycid",
    "sayduration",
    "saydurationm",
    "searchcontexts",
    "sendvoicemail",
    "smdienable",
    "smdiport",
    "tempgreetwarn",
    "tz",
    "usedirectory",
    "userscontext",
    "volgain",
    "vm-password",
    "vm-newpassword",
    "vm-passchanged",
    "vm-reenterpassword",
    "vm-mismatch",
    "vm-invalid-password",
    "vm-pls-try-again",
    "vm-prepend-timeout",
    "backupdeleted",
    "deletevoicemail",
    "emailtitle",
    "language",
    "maxgreet",
    "minpassword",
];

fn secs(e: &Entry, w: &mut Warnings) -> Option<Duration> {
    match e.value.trim().parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) => {
            w.at(
                &e.loc,
                format!(
                    "bad value '{}' for '{}': expected whole seconds; ignored",
                    e.value, e.key
                ),
            );
            None
        }
    }
}

fn number(e: &Entry, w: &mut Warnings) -> Option<u32> {
    match e.value.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            w.at(
                &e.loc,
                format!(
                    "bad value '{}' for '{}': expected a whole number; ignored",
                    e.value, e.key
                ),
            );
            None
        }
    }
}

fn boolean(e: &Entry, w: &mut Warnings) -> Option<bool> {
    let b = parse_bool_str(e.value.trim());
    if b.is_none() {
        w.at(
            &e.loc,
            format!(
                "bad value '{}' for '{}': expected yes or no; ignored",
                e.value, e.key
            ),
        );
    }
    b
}

impl VoicemailConf {
    /// Builds the typed config from voicemail.conf's sections.
    pub fn from_sections(sections: &[Section], w: &mut Warnings) -> VoicemailConf {
        let mut c = VoicemailConf::default();
        for s in sections {
            let name = s.name.to_ascii_lowercase();
            match name.as_str() {
                "general" => c.general_section(s, w),
                "zonemessages" => {}
                _ => c.context_section(s, w),
            }
        }
        c
    }

    fn general_section(&mut self, s: &Section, w: &mut Warnings) {
        let g = &mut self.general;
        for e in &s.entries {
            let key = e.key.to_ascii_lowercase();
            match key.as_str() {
                "format" => {
                    let fmts: Vec<String> = e
                        .value
                        .split('|')
                        .map(|f| f.trim().to_ascii_lowercase())
                        .filter(|f| !f.is_empty())
                        .collect();
                    if !fmts.iter().any(|f| f == "wav") {
                        w.at(
                            &e.loc,
                            format!(
                                "format '{}': sipbox stores messages as wav only; using wav",
                                e.value
                            ),
                        );
                    }
                    g.formats = fmts;
                }
                "maxmsg" => {
                    if let Some(n) = number(e, w) {
                        if n == 0 || n > MAX_MSG_LIMIT {
                            w.at(
                                &e.loc,
                                format!("maxmsg {n} out of 1..{MAX_MSG_LIMIT}; using 100"),
                            );
                        } else {
                            g.max_msg = n;
                        }
                    }
                }
                "maxsecs" | "maxmessage" => {
                    if let Some(d) = secs(e, w) {
                        g.max_secs = Some(d).filter(|d| !d.is_zero());
                    }
                }
                "minsecs" | "minmessage" => {
                    if let Some(d) = secs(e, w) {
                        g.min_secs = d;
                    }
                }
                "maxsilence" => {
                    if let Some(d) = secs(e, w) {
                        g.max_silence = Some(d).filter(|d| !d.is_zero());
                    }
                }
                "silencethreshold" => {
                    if let Some(n) = number(e, w) {
                        g.silence_threshold = n.min(32767);
                    }
                }
                "skipms" => {
                    if let Some(n) = number(e, w) {
                        g.skip_ms = n;
                    }
                }
                "attach" => {
                    if let Some(b) = boolean(e, w) {
                        g.attach = b;
                    }
                }
                "serveremail" => g.server_email = e.value.trim().to_string(),
                "fromstring" => g.from_string = e.value.trim().to_string(),
                "mailcmd" => {
                    if !e.value.trim().is_empty() {
                        g.mail_cmd = e.value.trim().to_string();
                    }
                }
                "maxlogins" => {
                    if let Some(n) = number(e, w) {
                        g.max_logins = n.max(1);
                    }
                }
                "operator" => {
                    if let Some(b) = boolean(e, w) {
                        g.operator = b;
                    }
                }
                "attachfmt" | "delete" => {}
                k if QUIET.contains(&k) => {
                    if k == "minpassword" {
                        if let Some(n) = number(e, w) {
                            g.min_password = n as usize;
                        }
                    }
                }
                _ => w.unknown(e),
            }
        }
    }

    fn context_section(&mut self, s: &Section, w: &mut Warnings) {
        let context = s.name.to_ascii_lowercase();
        for e in &s.entries {
            let mailbox = e.key.trim().to_string();
            if mailbox.is_empty() {
                continue;
            }
            let fields: Vec<&str> = e.value.splitn(5, ',').map(str::trim).collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
            let mut b = Mailbox {
                context: context.clone(),
                mailbox: mailbox.clone(),
                password: field(0),
                full_name: field(1),
                email: field(2),
                pager: field(3),
                attach: None,
                delete: false,
                max_msg: None,
                server_email: None,
            };
            for opt in field(4).split('|').filter(|o| !o.trim().is_empty()) {
                let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "attach" => b.attach = parse_bool_str(v),
                    "delete" | "deletevoicemail" => b.delete = parse_bool_str(v) == Some(true),
                    "maxmsg" => {
                        b.max_msg = v.parse().ok().filter(|n| *n > 0 && *n <= MAX_MSG_LIMIT)
                    }
                    "serveremail" => b.server_email = Some(v.to_string()),
                    _ => {} // tz, locale, saycid, review, ...: accepted as Asterisk's per-box options
                }
            }
            if self.boxes.contains_key(&(context.clone(), mailbox.clone())) {
                w.at(
                    &e.loc,
                    format!("mailbox {mailbox}@{context} defined again; the later one counts"),
                );
            }
            self.boxes.insert((context.clone(), mailbox), b);
        }
    }

    /// Reads voicemail.conf from text (tests, embedding); the warnings come back beside it.
    pub fn parse_str(
        text: &str,
    ) -> Result<(VoicemailConf, Vec<String>), crate::config::ConfigError> {
        let mut raw = Vec::new();
        let s = crate::config::reader::read_str_with("voicemail.conf", text, None, &mut raw)?;
        let mut w = Warnings::default();
        w.extend_lines(raw);
        let c = VoicemailConf::from_sections(&s, &mut w);
        Ok((c, w.into_vec()))
    }

    /// The box `mailbox` of `context` (`default` when empty).
    pub fn find(&self, mailbox: &str, context: &str) -> Option<&Mailbox> {
        let ctx = if context.is_empty() {
            "default"
        } else {
            context
        };
        self.boxes
            .get(&(ctx.to_ascii_lowercase(), mailbox.to_string()))
    }

    /// The folder limit of `b`.
    pub fn max_msg(&self, b: &Mailbox) -> u32 {
        b.max_msg.unwrap_or(self.general.max_msg)
    }
}

/// Splits `box[@context]` (context `default` when absent).
pub fn split_box(spec: &str) -> (String, String) {
    let spec = spec.trim();
    match spec.split_once('@') {
        Some((b, c)) if !c.trim().is_empty() => {
            (b.trim().to_string(), c.trim().to_ascii_lowercase())
        }
        Some((b, _)) => (b.trim().to_string(), "default".into()),
        None => (spec.to_string(), "default".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (VoicemailConf, Vec<String>) {
        let mut raw = Vec::new();
        let s = crate::config::reader::read_str_with("voicemail.conf", text, None, &mut raw)
            .expect("reads");
        let mut w = Warnings::default();
        let c = VoicemailConf::from_sections(&s, &mut w);
        (c, w.into_vec())
    }

    #[test]
    fn general_and_boxes() {
        let (c, w) = parse(
            "[general]\nformat=wav49|gsm|wav\nmaxmsg=5\nmaxsecs=30\nminsecs=2\nmaxsilence=3\n\
             silencethreshold=200\nattach=no\nserveremail=pbx@example.com\nmailcmd=/bin/true\n\
             emailsubject=x\nbogus=1\n[default]\n1001 => 4242,Alice Example,alice@example.com,,attach=yes|delete=no\n\
             [sales]\n2000 => -99,Bob\n",
        );
        assert_eq!(c.general.max_msg, 5);
        assert_eq!(c.general.max_secs, Some(Duration::from_secs(30)));
        assert_eq!(c.general.min_secs, Duration::from_secs(2));
        assert_eq!(c.general.max_silence, Some(Duration::from_secs(3)));
        assert_eq!(c.general.silence_threshold, 200);
        assert!(!c.general.attach);
        assert_eq!(c.general.mail_cmd, "/bin/true");
        let a = c.find("1001", "").expect("1001");
        assert_eq!(a.password, "4242");
        assert_eq!(a.full_name, "Alice Example");
        assert_eq!(a.email, "alice@example.com");
        assert_eq!(a.attach, Some(true));
        let b = c.find("2000", "SALES").expect("2000@sales");
        assert_eq!(b.pin(), "99");
        assert!(c.find("2000", "default").is_none());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("voicemail.conf:12") && w[0].contains("bogus"),
            "{w:?}"
        );
    }

    #[test]
    fn bad_values_keep_defaults() {
        let (c, w) = parse("[general]\nmaxmsg=lots\nmaxsecs=-1\nformat=gsm\n");
        assert_eq!(c.general.max_msg, 100);
        assert_eq!(c.general.max_secs, None);
        assert_eq!(w.len(), 3, "{w:?}");
    }

    #[test]
    fn box_specs() {
        assert_eq!(split_box("1001"), ("1001".into(), "default".into()));
        assert_eq!(split_box("1001@Sales"), ("1001".into(), "sales".into()));
    }
}
