//! What the conference applications (ConfBridge, MeetMe, Page) ask of the call layer, and the
//! conference counts every call's dialplan can read (`MeetMeCount`, `CONFBRIDGE_INFO`).
//!
//! Reading list: Asterisk `apps/app_confbridge.c` (user and bridge profile flags,
//! `CONFBRIDGE_RESULT`), `apps/app_meetme.c` (`conf_exec`, `count_exec`), `apps/app_page.c`.

use std::collections::HashMap;

/// Which application's conferences: each has its own names (MeetMe 1234 and ConfBridge 1234
/// are two conferences, as two modules in Asterisk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfKind {
    /// `ConfBridge()` (and the conferences `Page()` makes, as app_page uses ConfBridge).
    ConfBridge,
    /// `MeetMe()`.
    MeetMe,
}

impl ConfKind {
    /// Lower-case name, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfKind::ConfBridge => "confbridge",
            ConfKind::MeetMe => "meetme",
        }
    }
}

/// One participant's wish to join a conference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConferenceSpec {
    /// MeetMe or ConfBridge (None is never sent).
    pub kind: Option<ConfKind>,
    /// The conference's name (`1234`).
    pub name: String,
    /// Most members (bridge profile `max_members`, 0: the engine's cap only).
    pub max_members: u32,
    /// Admin (ConfBridge `admin`, MeetMe `a` or the admin PIN): may join a full conference.
    pub admin: bool,
    /// Marked (ConfBridge `marked`, MeetMe `A`).
    pub marked: bool,
    /// Joins muted (ConfBridge `startmuted`, MeetMe `m`: listen only).
    pub muted: bool,
    /// Talks only, hears nothing (MeetMe `t`).
    pub deaf: bool,
    /// No prompts (ConfBridge `quiet`, MeetMe `q`).
    pub quiet: bool,
    /// Waits, muted and hearing music when asked, until a marked member is in
    /// (ConfBridge `wait_marked`, MeetMe `w`).
    pub wait_marked: bool,
    /// Is removed when the last marked member leaves (ConfBridge `end_marked`, MeetMe `x`).
    pub end_marked: bool,
    /// Music on hold while alone (ConfBridge `music_on_hold_when_empty`, MeetMe `M`): the
    /// class (empty: the channel's, then `default`).
    pub moh_when_alone: Option<String>,
    /// ConfBridge: the bridge and user profile names (for `confbridge list NAME`).
    pub profiles: Option<(String, String)>,
}

/// Why a participant is out of its conference while its call goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfLeft {
    /// The conference is full (`max_members`, or the engine's cap).
    Full,
    /// No room for one more conference.
    NoRoom,
    /// The last marked member left (`end_marked`, MeetMe `x`).
    EndMarked,
}

impl ConfLeft {
    /// `CONFBRIDGE_RESULT` for this end (app_confbridge.c's values).
    pub fn result(self) -> &'static str {
        match self {
            ConfLeft::Full | ConfLeft::NoRoom => "FAILED",
            ConfLeft::EndMarked => "ENDMARKED",
        }
    }
}

/// Members of every running conference, by kind and name (lower case): what the engine last
/// published for the dialplan's functions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConfCounts {
    counts: HashMap<(ConfKind, String), usize>,
}

impl ConfCounts {
    /// Sets the members of `name` (0 removes it).
    pub fn set(&mut self, kind: ConfKind, name: &str, members: usize) {
        let key = (kind, name.to_ascii_lowercase());
        if members == 0 {
            self.counts.remove(&key);
        } else {
            self.counts.insert(key, members);
        }
    }

    /// Members of `name` now (0 when it does not run).
    pub fn get(&self, kind: ConfKind, name: &str) -> usize {
        self.counts
            .get(&(kind, name.to_ascii_lowercase()))
            .copied()
            .unwrap_or(0)
    }
}

impl super::Dialplan {
    /// Installs meetme.conf and confbridge.conf (at start and reload).
    pub fn set_conference_conf(&self, conf: crate::config::meetme_conf::ConferenceConf) {
        super::shared::lock(&self.shared).conference_conf = std::sync::Arc::new(conf);
    }

    /// meetme.conf and confbridge.conf as installed.
    pub fn conference_conf(&self) -> std::sync::Arc<crate::config::meetme_conf::ConferenceConf> {
        super::shared::lock(&self.shared).conference_conf.clone()
    }

    /// The engine's count of `name`'s members changed.
    pub fn set_conference_members(&self, kind: ConfKind, name: &str, members: usize) {
        super::shared::lock(&self.shared)
            .conferences
            .set(kind, name, members);
    }
}

/// Members of conference `name` as the dialplan sees them.
pub(crate) fn members(shared: &super::shared::SharedRef, kind: ConfKind, name: &str) -> usize {
    super::shared::lock(shared).conferences.get(kind, name)
}

/// meetme.conf and confbridge.conf as a call's dialplan sees them.
pub(crate) fn conf_of(
    shared: &super::shared::SharedRef,
) -> std::sync::Arc<crate::config::meetme_conf::ConferenceConf> {
    super::shared::lock(shared).conference_conf.clone()
}
