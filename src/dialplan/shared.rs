//! State every call's execution sees: globals written at run time (`Set(GLOBAL(x)=...)`) and
//! the `GROUP()` call counts behind `GROUP_COUNT` / `GROUP_MATCH_COUNT`.
//!
//! Reading list: Asterisk `funcs/func_groupcount.c`, `main/app.c` (`ast_app_group_set_channel`,
//! `ast_app_group_get_count`, `ast_app_group_match_get_count`), `funcs/func_global.c`.
//!
//! The [`Dialplan`](super::Dialplan) owns one [`Shared`] behind an `Arc<Mutex<..>>` (the
//! dialplan is only read by the calls, so this is the one place they can write to). A call's
//! memberships live in its [`Groups`]: dropping the execution (the call is gone) takes it out
//! of its groups, as Asterisk's group list forgets a destroyed channel. Cloning an execution
//! counts the clone as one more channel in the same groups.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Counts and run-time globals shared by every call of one dialplan.
#[derive(Debug, Default)]
pub struct Shared {
    /// `Set(GLOBAL(name)=value)` values; they hide `[globals]`.
    pub(crate) globals: HashMap<String, String>,
    /// `(category, group)` (category may be empty) → channels in it.
    pub(crate) groups: HashMap<(String, String), usize>,
    /// AstDB (`DB()`), in memory; the binary writes its changes to disk.
    pub(crate) astdb: super::astdb::AstDb,
    /// Voicemail: voicemail.conf and what the spool holds.
    pub(crate) voicemail: crate::voicemail::Voicemail,
    /// Device states by sip.conf entry name (the engine's last view, for `DEVICE_STATE()` and
    /// `EXTENSION_STATE()`).
    pub(crate) devices: HashMap<String, crate::presence::DeviceState>,
    /// Taken parking positions as `701@parkedcalls` (lower case): the `park:` devices of
    /// `parkinghints`.
    pub(crate) parked: std::collections::HashSet<String>,
    /// `<astspooldir>/monitor`: where MixMonitor's relative file names go.
    pub(crate) monitor_dir: std::path::PathBuf,
    /// Members of the running conferences (the engine's view, for `MeetMeCount` and
    /// `CONFBRIDGE_INFO`) and meetme.conf / confbridge.conf (see `conference.rs`).
    pub(crate) conferences: super::conference::ConfCounts,
    /// meetme.conf and confbridge.conf.
    pub(crate) conference_conf: std::sync::Arc<crate::config::meetme_conf::ConferenceConf>,
    /// Call queues: members and waiting callers (queues.conf, AddQueueMember, Queue()).
    pub(crate) queues: super::queue::Queues,
}

/// The handle calls keep.
pub type SharedRef = Arc<Mutex<Shared>>;

/// Locks `s`; a poisoned lock (a panic elsewhere) still yields the data.
pub(crate) fn lock(s: &SharedRef) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// One call's group memberships: category → group (one group per category, as Asterisk).
#[derive(Debug, Default)]
pub struct Groups {
    shared: Option<SharedRef>,
    member: HashMap<String, String>,
}

impl Groups {
    /// No memberships yet, counting into `shared`.
    pub(crate) fn new(shared: SharedRef) -> Groups {
        Groups {
            shared: Some(shared),
            member: HashMap::new(),
        }
    }

    /// `Set(GROUP(category)=group)`: moves the call into `group` (empty: out of the category).
    pub(crate) fn set(&mut self, category: &str, group: &str) {
        let Some(shared) = &self.shared else { return };
        let mut s = lock(shared);
        if let Some(old) = self.member.remove(category) {
            release(&mut s, category, &old);
        }
        if !group.is_empty() {
            *s.groups
                .entry((category.to_string(), group.to_string()))
                .or_insert(0) += 1;
            self.member.insert(category.to_string(), group.to_string());
        }
    }

    /// The call's group in `category`.
    pub(crate) fn get(&self, category: &str) -> Option<&str> {
        self.member.get(category).map(String::as_str)
    }

    /// `GROUP_LIST()`: `group@category` (or `group`) for each membership, sorted.
    pub(crate) fn list(&self) -> String {
        let mut v: Vec<String> = self
            .member
            .iter()
            .map(|(c, g)| {
                if c.is_empty() {
                    g.clone()
                } else {
                    format!("{g}@{c}")
                }
            })
            .collect();
        v.sort();
        v.join(" ")
    }

    /// Channels in `group` of `category` (case-insensitive, as Asterisk compares them).
    pub(crate) fn count(&self, category: &str, group: &str) -> usize {
        let Some(shared) = &self.shared else { return 0 };
        lock(shared)
            .groups
            .iter()
            .filter(|((c, g), _)| c.eq_ignore_ascii_case(category) && g.eq_ignore_ascii_case(group))
            .map(|(_, n)| n)
            .sum()
    }

    /// Channels in groups whose name matches `keep` (and whose category matches `cat`).
    pub(crate) fn count_matching(
        &self,
        keep_group: &dyn Fn(&str) -> bool,
        keep_category: &dyn Fn(&str) -> bool,
    ) -> usize {
        let Some(shared) = &self.shared else { return 0 };
        lock(shared)
            .groups
            .iter()
            .filter(|((c, g), _)| keep_group(g) && keep_category(c))
            .map(|(_, n)| n)
            .sum()
    }
}

fn release(s: &mut Shared, category: &str, group: &str) {
    let key = (category.to_string(), group.to_string());
    if let Some(n) = s.groups.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            s.groups.remove(&key);
        }
    }
}

impl Clone for Groups {
    fn clone(&self) -> Groups {
        if let Some(shared) = &self.shared {
            let mut s = lock(shared);
            for (c, g) in &self.member {
                *s.groups.entry((c.clone(), g.clone())).or_insert(0) += 1;
            }
        }
        Groups {
            shared: self.shared.clone(),
            member: self.member.clone(),
        }
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let mut s = lock(shared);
            for (c, g) in self.member.drain() {
                release(&mut s, &c, &g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_memberships_clones_and_drops() {
        let shared = SharedRef::default();
        let mut a = Groups::new(shared.clone());
        let mut b = Groups::new(shared.clone());
        a.set("", "sales");
        b.set("", "SALES");
        assert_eq!(a.count("", "sales"), 2);
        b.set("", "support");
        assert_eq!(a.count("", "sales"), 1);
        let c = a.clone();
        assert_eq!(b.count("", "sales"), 2);
        drop(c);
        drop(a);
        assert_eq!(b.count("", "sales"), 0);
        assert_eq!(b.count("", "support"), 1);
        b.set("", "");
        assert!(lock(&shared).groups.is_empty());
    }
}
