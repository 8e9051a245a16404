//! TEMPORARY stand-in until the dialplan interpreter lands: every call dials SIP/<exten>.
#![allow(missing_docs, dead_code)]
use crate::config::raw::{ConfigError, Section};
use std::time::{Duration, SystemTime};

#[derive(Debug, Default)]
pub struct Dialplan;
impl Dialplan {
    pub fn from_sections(_s: &[Section]) -> Result<(Dialplan, Vec<String>), ConfigError> {
        Ok((Dialplan, Vec::new()))
    }
}
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelInfo {
    pub callerid_num: String,
    pub callerid_name: String,
    pub sip_call_id: String,
    pub unique_id: String,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStatus {
    Answer,
    Busy,
    NoAnswer,
    Cancel,
    Congestion,
    ChanUnavail,
}
impl DialStatus {
    pub fn as_str(self) -> &'static str {
        "X"
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTarget {
    pub tech: String,
    pub resource: String,
    pub number: Option<String>,
}
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DialOptions {
    pub ringback: bool,
    pub continue_on_callee_hangup: bool,
    pub callee_transfer: bool,
    pub caller_transfer: bool,
}
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Answer,
    Progress,
    Ringing,
    Busy,
    Congestion,
    Hangup {
        cause: Option<u16>,
    },
    Dial {
        targets: Vec<DialTarget>,
        timeout: Option<Duration>,
        options: DialOptions,
        callerid_name: String,
        callerid_num: String,
    },
    Playback {
        files: Vec<String>,
        interrupt_digits: Option<String>,
    },
    Echo,
    Wait(Duration),
    WaitDigit {
        timeout: Duration,
    },
    Keep,
    End {
        sip_status_if_unanswered: u16,
    },
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    Start,
    Done,
    DialEnded {
        status: DialStatus,
        cause: Option<u16>,
    },
    Digit(char),
    Digits(String),
    TimedOut,
    HungUp {
        cause: Option<u16>,
    },
}
#[derive(Debug)]
pub struct Execution {
    exten: String,
    n: u32,
}
impl Execution {
    pub fn new(_dp: &Dialplan, _context: &str, exten: &str, _chan: ChannelInfo) -> Execution {
        Execution {
            exten: exten.into(),
            n: 0,
        }
    }
    pub fn var(&self, _name: &str) -> Option<String> {
        None
    }
    pub fn set_var(&mut self, _name: &str, _value: &str) {}
    pub fn step(&mut self, _dp: &Dialplan, _now: SystemTime, _resume: Resume) -> Command {
        self.n += 1;
        if self.n == 1 {
            Command::Dial {
                targets: vec![DialTarget {
                    tech: "SIP".into(),
                    resource: self.exten.clone(),
                    number: None,
                }],
                timeout: Some(Duration::from_secs(10)),
                options: DialOptions::default(),
                callerid_name: String::new(),
                callerid_num: String::new(),
            }
        } else {
            Command::End {
                sip_status_if_unanswered: 404,
            }
        }
    }
    pub fn hangup(&mut self, _dp: &Dialplan, _now: SystemTime, _cause: Option<u16>) {}
}
