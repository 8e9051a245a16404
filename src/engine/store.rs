//! Registrations across a restart, the engine's side: the registrar's changes become
//! [`StoreOp`] jobs for the driver's writer (the loop never waits on the disk), and the
//! bindings read back at start are restored with the lifetime they had left.
//!
//! Time on disk is the wall clock (absolute Unix seconds); in the engine it is the monotonic
//! `Instant`. [`Engine::wall`] maps one to the other.

use super::Engine;
use crate::flow::{Flow, Job};
use crate::registrar::{Change, ContactUpdate};
use crate::store::{StoreOp, StoredBinding};
use std::time::{Duration, Instant, SystemTime};

/// What a restore did, for the start-up log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Bindings back in the registrar.
    pub restored: usize,
    /// Bindings whose time had run out (deleted from the store).
    pub expired: usize,
    /// Bindings of entries that are gone or no longer `host=dynamic`, or past the
    /// registrar's bound (deleted from the store).
    pub dropped: usize,
}

impl Engine {
    /// Hands the registrar's changes since the last call to the driver.
    pub(super) fn flush_store_ops(&mut self) {
        for change in self.registrar.take_changes() {
            if let Some(op) = self.store_op(change) {
                self.out.job(Job::Store(op));
            }
        }
    }

    /// The store operation for one change (None: the binding is gone again already).
    fn store_op(&self, change: Change) -> Option<StoreOp> {
        Some(match change {
            Change::Bound { aor, contact } => {
                let b = self.registrar.binding(&aor, &contact)?;
                StoreOp::Put(StoredBinding {
                    remote: b.flow.remote,
                    transport: b.flow.transport.via_token().to_ascii_lowercase(),
                    expires_unix: unix_secs(self.wall(b.expires_at)),
                    user_agent: b.user_agent.clone(),
                    path: b.path.clone(),
                    call_id: b.call_id.clone(),
                    cseq: b.cseq,
                    aor,
                    contact,
                })
            }
            Change::Unbound { aor, contact } => StoreOp::Remove { aor, contact },
        })
    }

    /// Puts bindings read from the store (or from an Asterisk AstDB's `SIP/Registry`) back
    /// into the registrar with what is left of their lifetime. Expired ones, ones of entries
    /// that are no longer `host=dynamic` peers and ones past the registrar's bound are
    /// deleted from the store. With `persist`, the restored ones are written to the store
    /// (rows that came from elsewhere); otherwise they are already there.
    pub fn restore_bindings(
        &mut self,
        now: Instant,
        rows: impl IntoIterator<Item = StoredBinding>,
        persist: bool,
    ) -> Restored {
        let now_unix = unix_secs(self.wall(now));
        let mut r = Restored::default();
        let mut gone = Vec::new();
        for b in rows {
            let left = b.expires_unix.saturating_sub(now_unix);
            let peer = self.cfg.entry(&b.aor).and_then(|id| self.cfg.peer(id));
            let fits = peer.is_some_and(|p| p.kind.calls_out() && p.is_dynamic());
            if left == 0 {
                r.expired += 1;
                gone.push(b);
                continue;
            }
            let update = ContactUpdate {
                contact: b.contact.clone(),
                expires: Duration::from_secs(left),
                // Not stored: a restored binding counts as not NATed until it registers again.
                nated: false,
            };
            let accepted = fits
                && self
                    .registrar
                    .update(
                        now,
                        &b.aor,
                        Flow::udp(b.remote),
                        &b.call_id,
                        b.cseq,
                        &[update],
                    )
                    .is_ok();
            if !accepted {
                r.dropped += 1;
                gone.push(b);
                continue;
            }
            self.registrar
                .set_details(&b.aor, &b.contact, &b.user_agent, &b.path);
            r.restored += 1;
        }
        for c in self.registrar.take_changes() {
            // Restored rows are on disk already, unless they came from elsewhere.
            if matches!(c, Change::Bound { .. }) && !persist {
                continue;
            }
            if let Some(op) = self.store_op(c) {
                self.out.job(Job::Store(op));
            }
        }
        for b in gone {
            self.out.job(Job::Store(StoreOp::Remove {
                aor: b.aor,
                contact: b.contact,
            }));
        }
        r
    }
}

/// Whole seconds since the Unix epoch (0 before it).
pub(super) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
