//! The member side of the queue table: AddQueueMember (`add_to_queue`), RemoveQueueMember
//! (`remove_from_queue`), PauseQueueMember (`set_member_paused`), `QUEUE_MEMBER()`'s writes
//! (`set_member_value`), and the lookups the call layer makes before a pick.

use super::{AddResult, Member, Queues, RemoveResult};
use crate::config::queues_conf::{member_def, MemberDef, MAX_MEMBERS};

impl Queues {
    /// `add_to_queue`: a dynamic member from AddQueueMember's arguments.
    pub fn add_member(&mut self, name: &str, def: &MemberDef, paused: bool) -> AddResult {
        let Some(q) = self.get_mut(name).filter(|q| !q.dead) else {
            return AddResult::NoSuchQueue;
        };
        if q.member(&def.interface).is_some() {
            return AddResult::Already;
        }
        if q.members.len() >= MAX_MEMBERS {
            log::warn!(
                "queue '{}': {MAX_MEMBERS} members already; '{}' not added",
                q.def.name,
                def.interface
            );
            return AddResult::Already;
        }
        let mut m = Member::from_def(def, true);
        m.paused = paused;
        q.members.push(m);
        AddResult::Added
    }

    /// `remove_from_queue`.
    pub fn remove_member(&mut self, name: &str, interface: &str) -> RemoveResult {
        let Some(q) = self.get_mut(name).filter(|q| !q.dead) else {
            return RemoveResult::NoSuchQueue;
        };
        match q.member(interface).map(|m| m.dynamic) {
            None => RemoveResult::NotInQueue,
            Some(false) => RemoveResult::NotDynamic,
            Some(true) => {
                q.members
                    .retain(|m| !m.interface.eq_ignore_ascii_case(interface.trim()));
                if q.rrpos > q.members.len() {
                    q.rrpos = 0;
                }
                RemoveResult::Removed
            }
        }
    }

    /// `set_member_paused`: in `name`, or in every queue `interface` is in when `name` is
    /// empty. The queues changed (none: NOTFOUND).
    pub fn set_paused(&mut self, name: &str, interface: &str, paused: bool) -> Vec<String> {
        let mut changed = Vec::new();
        for q in self.queues.iter_mut().filter(|q| !q.dead) {
            if !name.trim().is_empty() && !q.def.name.eq_ignore_ascii_case(name.trim()) {
                continue;
            }
            if let Some(m) = q.member_mut(interface) {
                m.paused = paused;
                changed.push(q.def.name.clone());
            }
        }
        changed
    }

    /// Sets a member's penalty (`QUEUE_MEMBER(queue,penalty,interface)=n`); false: no such.
    pub fn set_penalty(&mut self, name: &str, interface: &str, penalty: u32) -> bool {
        let mut any = false;
        for q in self.queues.iter_mut().filter(|q| !q.dead) {
            if !name.trim().is_empty() && !q.def.name.eq_ignore_ascii_case(name.trim()) {
                continue;
            }
            if let Some(m) = q.member_mut(interface) {
                m.penalty = penalty;
                any = true;
            }
        }
        any
    }

    /// Sets a member's own ringinuse; false: no such member.
    pub fn set_ringinuse(&mut self, name: &str, interface: &str, on: bool) -> bool {
        let mut any = false;
        for q in self.queues.iter_mut().filter(|q| !q.dead) {
            if !name.trim().is_empty() && !q.def.name.eq_ignore_ascii_case(name.trim()) {
                continue;
            }
            if let Some(m) = q.member_mut(interface) {
                m.ringinuse = Some(on);
                any = true;
            }
        }
        any
    }

    /// Every state interface of `name`'s members (what the call layer looks up before a pick).
    pub fn state_interfaces(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|q| {
                q.members
                    .iter()
                    .map(|m| m.state_interface.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// AddQueueMember's member: `interface[,penalty[,options[,membername[,stateinterface]]]]`
    /// arguments into a definition.
    pub fn member_from_args(
        interface: &str,
        penalty: u32,
        name: &str,
        state_interface: &str,
    ) -> Option<MemberDef> {
        let mut d = member_def(interface).ok()?;
        d.penalty = penalty;
        if !name.trim().is_empty() {
            d.name = name.trim().to_string();
        }
        if !state_interface.trim().is_empty() {
            d.state_interface = state_interface.trim().to_string();
        }
        Some(d)
    }
}
