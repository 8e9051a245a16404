//! `persistentmembers=yes`: each queue's dynamic members in AstDB, one row per queue at
//! `/Queue/PersistentMembers/<queue>` holding `interface;penalty;paused;membername;
//! state_interface` entries joined by `|` (app_queue's `dump_queue_members`; its
//! `reload_queue_members` reads them back at start, so a copied Asterisk database works).

use super::{Member, Queues};
use crate::config::queues_conf::MemberDef;
use crate::dialplan::astdb::AstDb;

/// The AstDB family.
const FAMILY: &str = "/Queue/PersistentMembers";

fn key(queue: &str) -> String {
    format!("{FAMILY}/{queue}")
}

/// One member's entry.
fn entry(m: &Member) -> String {
    format!(
        "{};{};{};{};{}",
        m.interface,
        m.penalty,
        u8::from(m.paused),
        m.name,
        m.state_interface
    )
}

impl Queues {
    /// Writes `queue`'s dynamic members (deletes the row when none is left).
    pub fn dump(&self, queue: &str, db: &mut AstDb) {
        if !self.general.persistent_members {
            return;
        }
        let Some(q) = self.get(queue) else { return };
        let value = q
            .members
            .iter()
            .filter(|m| m.dynamic)
            .map(entry)
            .collect::<Vec<_>>()
            .join("|");
        let k = key(&q.def.name);
        if value.is_empty() {
            db.del(&k);
        } else if !db.put(&k, &value) {
            log::warn!(
                "queue '{}': its dynamic members do not fit one AstDB value; not saved",
                q.def.name
            );
        }
    }

    /// Reads the dynamic members AstDB holds, once (the first look after start, when the
    /// database is loaded); a row of a queue queues.conf no longer has is deleted, as
    /// `reload_queue_members` does.
    pub fn read_persisted(&mut self, db: &mut AstDb) {
        if self.persisted_read || !self.general.persistent_members {
            return;
        }
        self.persisted_read = true;
        for (k, value) in db.entries_under(&format!("{FAMILY}/"), 4096) {
            let queue = k[FAMILY.len() + 1..].to_string();
            if self.live(&queue).is_none() {
                db.del(&k);
                continue;
            }
            for e in value.split('|').filter(|e| !e.is_empty()) {
                let f: Vec<&str> = e.split(';').collect();
                let Some(interface) = f.first().filter(|i| i.contains('/')) else {
                    log::warn!("AstDB {k}: '{e}' is no member; skipped");
                    continue;
                };
                let field = |i: usize| f.get(i).copied().unwrap_or("");
                let def = MemberDef {
                    interface: interface.to_string(),
                    penalty: field(1).parse().unwrap_or(0),
                    name: Some(field(3))
                        .filter(|n| !n.is_empty())
                        .unwrap_or(interface)
                        .to_string(),
                    state_interface: Some(field(4))
                        .filter(|n| !n.is_empty())
                        .unwrap_or(interface)
                        .to_string(),
                    ringinuse: None,
                };
                let paused = field(2) == "1";
                self.add_member(&queue, &def, paused);
            }
        }
    }
}
