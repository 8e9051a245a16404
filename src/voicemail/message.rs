//! The files of one message: the `[message]` .txt beside the WAV, and the notification e-mail
//! (RFC 2045 MIME, the WAV base64-encoded when `attach=yes`).
//!
//! Reading list: Asterisk `apps/app_voicemail.c` (`leave_voicemail`: the .txt fields;
//! `make_email_file`: headers, `VM_*` wording, the attachment part).

use std::fmt::Write as _;

/// What the .txt of a message says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageInfo {
    /// `origmailbox`: the box it was left for.
    pub orig_mailbox: String,
    /// `context`: the dialplan context of the caller.
    pub context: String,
    /// `macrocontext`.
    pub macro_context: String,
    /// `exten`: the extension VoiceMail ran at.
    pub exten: String,
    /// `rdnis` (`unknown` when not known).
    pub rdnis: String,
    /// `priority`.
    pub priority: u32,
    /// `callerchan`: `SIP/peer-0000000n`.
    pub caller_chan: String,
    /// `callerid`: `"Name" <num>`, `num`, or `Unknown`.
    pub callerid: String,
    /// `origdate`: `%a %b %e %r UTC %Y`.
    pub orig_date: String,
    /// `origtime`: epoch seconds.
    pub orig_time: i64,
    /// `category` (`${VM_CATEGORY}`).
    pub category: String,
    /// `msg_id`: `<epoch>-<8 hex>`.
    pub msg_id: String,
    /// `flag`: empty, `Urgent` or `PRIORITY`.
    pub flag: String,
    /// `duration` in whole seconds.
    pub duration: u64,
}

/// Asterisk's `ast_callerid_merge`: `"name" <num>`, just one of them, or `Unknown`.
pub fn callerid(name: &str, num: &str) -> String {
    match (name.is_empty(), num.is_empty()) {
        (false, false) => format!("\"{name}\" <{num}>"),
        (false, true) => name.to_string(),
        (true, false) => num.to_string(),
        (true, true) => "Unknown".into(),
    }
}

/// Values end at a newline: a caller ID cannot add lines to the file.
fn one_line(s: &str) -> String {
    s.chars().filter(|c| *c != '\n' && *c != '\r').collect()
}

impl MessageInfo {
    /// The .txt file, as app_voicemail writes it.
    pub fn to_txt(&self) -> String {
        let mut s = String::from(";\n; Message Information file\n;\n[message]\n");
        let fields: [(&str, String); 14] = [
            ("origmailbox", self.orig_mailbox.clone()),
            ("context", self.context.clone()),
            ("macrocontext", self.macro_context.clone()),
            ("exten", self.exten.clone()),
            ("rdnis", self.rdnis.clone()),
            ("priority", self.priority.to_string()),
            ("callerchan", self.caller_chan.clone()),
            ("callerid", self.callerid.clone()),
            ("origdate", self.orig_date.clone()),
            ("origtime", self.orig_time.to_string()),
            ("category", self.category.clone()),
            ("msg_id", self.msg_id.clone()),
            ("flag", self.flag.clone()),
            ("duration", self.duration.to_string()),
        ];
        for (k, v) in fields {
            let _ = writeln!(s, "{k}={}", one_line(&v));
        }
        s
    }
}

/// Standard base64 (RFC 4648 §4), lines of 76 characters as RFC 2045 wants.
pub fn base64_lines(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out.push_str("\r\n");
    out
}

/// What a notification e-mail needs.
pub struct Email<'a> {
    /// `serveremail`.
    pub from_addr: &'a str,
    /// `fromstring`.
    pub from_name: &'a str,
    /// The box's e-mail.
    pub to_addr: &'a str,
    /// The box's full name.
    pub to_name: &'a str,
    /// `box@context`... as Asterisk's `VM_MAILBOX` (the box).
    pub mailbox: &'a str,
    /// The message number (1-based in the text, as `VM_MSGNUM`).
    pub msgnum: u32,
    /// The .txt's fields.
    pub info: &'a MessageInfo,
    /// RFC 2822 date of the message.
    pub date: &'a str,
    /// The WAV to attach, and its file name.
    pub attachment: Option<(&'a str, &'a [u8])>,
    /// The MIME boundary (random per message).
    pub boundary: &'a str,
}

/// Header text without line breaks (a caller ID cannot inject headers).
fn header_safe(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

impl Email<'_> {
    /// The whole message for `mailcmd` (`sendmail -t` reads the recipients from To:).
    pub fn render(&self) -> Vec<u8> {
        let mut m = String::new();
        let _ = write!(
            m,
            "Date: {}\r\nFrom: \"{}\" <{}>\r\nTo: \"{}\" <{}>\r\n",
            self.date,
            header_safe(self.from_name),
            header_safe(self.from_addr),
            header_safe(self.to_name),
            header_safe(self.to_addr)
        );
        let _ = write!(
            m,
            "Subject: [PBX]: New message {} in mailbox {}\r\nMessage-ID: <{}@sipbox>\r\n\
             X-Asterisk-VM-Message-Num: {}\r\nX-Asterisk-VM-Mailbox: {}\r\n\
             X-Asterisk-VM-Caller-ID-Num: {}\r\nX-Asterisk-VM-Duration: {}\r\nMIME-Version: 1.0\r\n",
            self.msgnum,
            header_safe(self.mailbox),
            header_safe(&self.info.msg_id),
            self.msgnum,
            header_safe(self.mailbox),
            header_safe(&self.info.callerid),
            self.info.duration
        );
        let body = format!(
            "Dear {},\r\n\r\n\tjust wanted to let you know you were just left a {}:{:02} long \
             message (number {})\r\nin mailbox {} from {}, on {}, so you might\r\nwant to check \
             it when you get a chance.  Thanks!\r\n\r\n\t\t\t\t--Asterisk\r\n",
            header_safe(self.to_name),
            self.info.duration / 60,
            self.info.duration % 60,
            self.msgnum,
            header_safe(self.mailbox),
            header_safe(&self.info.callerid),
            self.info.orig_date
        );
        match self.attachment {
            None => {
                m.push_str("Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n");
                m.push_str(&body);
            }
            Some((name, wav)) => {
                let _ = write!(
                    m,
                    "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\nThis is a multi-part \
                     message in MIME format.\r\n\r\n--{b}\r\nContent-Type: text/plain; \
                     charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\
                     --{b}\r\nContent-Type: audio/x-wav; name=\"{name}\"\r\n\
                     Content-Transfer-Encoding: base64\r\nContent-Description: Voicemail sound \
                     attachment.\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n",
                    b = self.boundary,
                );
                m.push_str(&base64_lines(wav));
                let _ = write!(m, "\r\n--{}--\r\n", self.boundary);
            }
        }
        m.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc4648() {
        assert_eq!(base64_lines(b""), "\r\n");
        assert_eq!(base64_lines(b"f"), "Zg==\r\n");
        assert_eq!(base64_lines(b"foob"), "Zm9vYg==\r\n");
        assert_eq!(base64_lines(b"foobar"), "Zm9vYmFy\r\n");
        let long = base64_lines(&[0u8; 120]);
        assert!(long.lines().all(|l| l.len() <= 76), "{long}");
    }

    #[test]
    fn txt_fields_one_per_line() {
        let info = MessageInfo {
            orig_mailbox: "1001".into(),
            callerid: callerid("Evil\nflag=x", "1002"),
            duration: 7,
            ..Default::default()
        };
        let t = info.to_txt();
        assert!(t.contains("[message]\norigmailbox=1001\n"), "{t}");
        assert!(t.contains("callerid=\"Evilflag=x\" <1002>\n"), "{t}");
        assert!(t.ends_with("duration=7\n"), "{t}");
        assert_eq!(callerid("", ""), "Unknown");
    }
}
