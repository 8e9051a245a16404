//! The shared part of the last entry built, reused for the next entry that sets it with the
//! same lines: the users of one template come in runs, and their template lines (codecs,
//! nat, dtmfmode, qualify, ...) and usually their `context` are the same text, so
//! [`PeerCommon`] is built once per run instead of once per user and then compared.
//!
//! Reused only when building it asked for no warning at all (said or already said): the
//! same keys and values, read with the same `[general]`, then ask for none either, whatever
//! lines they are on, so every `file:line` warning is still given exactly as before.

use std::sync::Arc;

use super::raw::{Entry, Section};
use super::sip_peer::PeerCommon;

/// Options that set a [`super::sip_peer::SipPeer`]'s own fields (they differ per user): the
/// others set [`PeerCommon`] (or nothing).
pub(super) fn is_own(key: &str) -> bool {
    let is = |name: &str| key.eq_ignore_ascii_case(name);
    // By length first: most keys are none of these and are told so without a comparison.
    match key.len() {
        4 => is("host") || is("port"),
        6 => is("secret"),
        7 => is("mailbox"),
        8 => is("callerid") || is("fullname"),
        9 => is("md5secret"),
        10 => is("cid_number"),
        11 => is("accountcode"),
        _ => false,
    }
}

/// The last [`PeerCommon`] built without a warning, and the lines it was built from.
#[derive(Default)]
pub(super) struct Memo<'a> {
    lines: Vec<&'a Entry>,
    common: Option<Arc<PeerCommon>>,
    /// The own lines of the section [`Memo::get`] last matched.
    own: Vec<&'a Entry>,
}

impl<'a> Memo<'a> {
    /// The shared part for `section` when its lines that set it are those of the last one
    /// (same keys and values in the same order), with the section's own lines.
    pub(super) fn get(&mut self, section: &'a Section) -> Option<(Arc<PeerCommon>, &[&'a Entry])> {
        let common = self.common.as_ref()?;
        self.own.clear();
        let mut last = self.lines.iter();
        let mut next = last.next();
        for e in &section.entries {
            match next {
                // The same template line (the same span of the file): not an own option,
                // as the remembered lines are none.
                Some(m) if m.key.same_span(&e.key) && m.value.same_span(&e.value) => {}
                _ if is_own(&e.key) => {
                    self.own.push(e);
                    continue;
                }
                Some(m) if m.key == e.key && m.value == e.value => {}
                _ => return None,
            }
            next = last.next();
        }
        next.is_none().then(|| (common.clone(), &self.own[..]))
    }

    /// Remembers `common`, built from `section` without asking for a warning.
    pub(super) fn keep(&mut self, section: &'a Section, common: &Arc<PeerCommon>) {
        self.lines.clear();
        self.lines
            .extend(section.entries.iter().filter(|e| !is_own(&e.key)));
        self.common = Some(common.clone());
    }
}
