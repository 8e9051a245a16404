//! Conferences, the router's side: the table of running conferences (ConfBridge, MeetMe and
//! Page's), each with its members (a leg of a call each) and its [`Mixer`], mixed on one
//! 20 ms engine timer per conference ([`Wake::Conference`]).
//!
//! A call asks to join after an event ([`crate::call::conference::Seats::requests`]); the
//! engine admits it or says why not (full: `max_members` or [`MAX_MEMBERS`]; no room:
//! [`MAX_CONFERENCES`]). At every tick it takes what each member said from its call, mixes,
//! and hands each member its frame; a member whose seat is gone (its call ended, a paged
//! callee hung up) is dropped then. After every change the engine works out who is alone
//! (music on hold for those who asked), who waits for a marked member (`wait_marked`: muted
//! and deaf until one is in), who goes when the last marked member leaves (`end_marked`),
//! and publishes the member counts to the dialplan (`MeetMeCount`, `CONFBRIDGE_INFO`).
//!
//! Reading list: Asterisk `apps/app_confbridge.c` (`join_conference_bridge`,
//! `leave_conference`, the marked/wait_marked/end_marked rules in
//! `apps/confbridge/conf_state_*.c`), `apps/app_meetme.c` (`conf_run`), `bridges/bridge_softmix.c`
//! (the 20 ms mixing interval).

use super::Engine;
use crate::call::conference::ConfJoin;
use crate::cli::conference::{ConferenceView, MemberView};
use crate::dialplan::conference::{ConfKind, ConfLeft, ConferenceSpec};
use crate::handle::{CallHandle, LegId};
use crate::media::mixer::{Mixer, Role};
use crate::media::player::Pacer;
use crate::wake::Wake;
use std::collections::HashMap;
use std::time::Instant;

/// Most conferences at once (a join that would make one more is refused).
pub const MAX_CONFERENCES: usize = 128;
/// Most members of one conference (a bridge profile's `max_members` may only lower it).
pub const MAX_MEMBERS: usize = 64;
/// Mixes made at most in one wake-up when the loop fell behind (the rest are skipped).
const MAX_CATCH_UP: u32 = 5;

type Key = (CallHandle, LegId);

/// One member.
struct Member {
    key: Key,
    spec: ConferenceSpec,
    /// Its channel and caller ID, for `confbridge list` / `meetme list`.
    channel: String,
    callerid: String,
    /// When it joined (`meetme list CONFNO`).
    joined: Instant,
    /// Music plays to it because it is alone (or waits for a marked member).
    alone: bool,
}

/// One running conference.
struct Conference {
    kind: ConfKind,
    name: String,
    members: Vec<Member>,
    mixer: Mixer<Key>,
    pacer: Pacer,
    started: Instant,
    /// Marked members at the last change.
    marked: usize,
}

/// Every running conference.
#[derive(Default)]
pub struct Conferences {
    confs: HashMap<u32, Conference>,
    by_name: HashMap<(ConfKind, String), u32>,
    next_id: u32,
}

impl Engine {
    /// Conferences running now (leak checks, the CLI).
    pub fn conferences_running(&self) -> usize {
        self.conferences.confs.len()
    }

    /// Does the joins call `h` asked for.
    pub(super) fn on_conference_joins(
        &mut self,
        now: Instant,
        h: CallHandle,
        joins: Vec<ConfJoin>,
    ) {
        for j in joins {
            if let Err((leg, why)) = self.conference_join(now, h, j) {
                self.with_call(now, h, |call, cx| call.conference_left(cx, leg, why));
            }
        }
    }

    /// Admits `j`'s leg (creating the conference on first use).
    fn conference_join(
        &mut self,
        now: Instant,
        h: CallHandle,
        j: ConfJoin,
    ) -> Result<(), (LegId, ConfLeft)> {
        let Some(kind) = j.spec.kind else {
            return Err((j.leg, ConfLeft::NoRoom));
        };
        let key = (kind, j.spec.name.to_ascii_lowercase());
        let id = match self.conferences.by_name.get(&key) {
            Some(&id) => id,
            None => {
                if self.conferences.confs.len() >= MAX_CONFERENCES {
                    log::warn!(
                        "{} {}: {MAX_CONFERENCES} conferences already; refused",
                        kind.as_str(),
                        j.spec.name
                    );
                    return Err((j.leg, ConfLeft::NoRoom));
                }
                let id = self.conferences.next_id;
                self.conferences.next_id = id.wrapping_add(1);
                self.conferences.confs.insert(
                    id,
                    Conference {
                        kind,
                        name: j.spec.name.clone(),
                        members: Vec::new(),
                        mixer: Mixer::new(),
                        pacer: Pacer::new(now),
                        started: now,
                        marked: 0,
                    },
                );
                self.conferences.by_name.insert(key, id);
                let first = Pacer::new(now).deadline_of(1);
                self.sched.schedule(first, Wake::Conference(id));
                log::info!("{} {} starts", kind.as_str(), j.spec.name);
                id
            }
        };
        let (channel, callerid) = self
            .calls
            .get(h)
            .map(|c| {
                let ch = c
                    .legs
                    .get(j.leg)
                    .map(|l| l.channel.clone())
                    .unwrap_or_default();
                let cid = c.exec.as_ref().map(|e| e.callerid().1.to_string());
                (ch, cid.unwrap_or_default())
            })
            .unwrap_or_default();
        let Some(conf) = self.conferences.confs.get_mut(&id) else {
            return Err((j.leg, ConfLeft::NoRoom));
        };
        let cap = match j.spec.max_members as usize {
            0 => MAX_MEMBERS,
            n => n.min(MAX_MEMBERS),
        };
        let n = conf.members.len();
        if n >= MAX_MEMBERS || (n >= cap && !j.spec.admin) {
            log::info!("{} {} is full ({n} members)", kind.as_str(), conf.name);
            if conf.members.is_empty() {
                self.remove_conference(id);
            }
            return Err((j.leg, ConfLeft::Full));
        }
        conf.members.push(Member {
            key: (h, j.leg),
            spec: j.spec,
            channel,
            callerid,
            joined: now,
            alone: n == 0,
        });
        conf.mixer.join((h, j.leg), Role::default());
        self.conference_changed(now, id);
        self.with_call(now, h, |call, cx| call.conference_joined(cx, j.leg, n == 0));
        Ok(())
    }

    fn remove_conference(&mut self, id: u32) {
        if let Some(conf) = self.conferences.confs.remove(&id) {
            self.conferences
                .by_name
                .remove(&(conf.kind, conf.name.to_ascii_lowercase()));
            self.dialplan
                .set_conference_members(conf.kind, &conf.name, 0);
            log::info!("{} {} ends", conf.kind.as_str(), conf.name);
        }
    }

    /// Membership changed: roles, music for the lonely, `end_marked`, the published count.
    fn conference_changed(&mut self, now: Instant, id: u32) {
        let Some(conf) = self.conferences.confs.get_mut(&id) else {
            return;
        };
        let marked = conf.members.iter().filter(|m| m.spec.marked).count();
        let lost_marked = conf.marked > 0 && marked == 0;
        conf.marked = marked;
        let mut kicked = Vec::new();
        if lost_marked {
            conf.members.retain(|m| {
                if m.spec.end_marked {
                    kicked.push(m.key);
                }
                !m.spec.end_marked
            });
            for k in &kicked {
                conf.mixer.leave(*k);
            }
        }
        let count = conf.members.len();
        let mut music = Vec::new();
        for m in &mut conf.members {
            let waiting = m.spec.wait_marked && marked == 0;
            let role = Role {
                muted: m.spec.muted || waiting,
                deaf: m.spec.deaf || waiting,
            };
            conf.mixer.join(m.key, role);
            let alone = count == 1 || waiting;
            if alone != m.alone {
                m.alone = alone;
                music.push((m.key, alone));
            }
        }
        let (kind, name) = (conf.kind, conf.name.clone());
        self.dialplan.set_conference_members(kind, &name, count);
        if count == 0 {
            self.remove_conference(id);
        }
        for (h, leg) in kicked {
            log::info!(
                "{} {name}: the last marked member left; leg {leg} goes",
                kind.as_str()
            );
            self.with_call(now, h, |call, cx| {
                call.conference_left(cx, leg, ConfLeft::EndMarked)
            });
        }
        for ((h, leg), alone) in music {
            self.with_call(now, h, |call, cx| call.conference_alone(cx, leg, alone));
        }
    }

    /// The 20 ms tick of conference `id`.
    pub(super) fn conference_tick(&mut self, now: Instant, id: u32) {
        let Some(conf) = self.conferences.confs.get_mut(&id) else {
            return;
        };
        let mut gone = Vec::new();
        for m in &conf.members {
            match self
                .calls
                .get_mut(m.key.0)
                .and_then(|c| c.conference_take(m.key.1))
            {
                Some(frames) => {
                    for f in &frames {
                        conf.mixer.push(m.key, f);
                    }
                }
                None => gone.push(m.key),
            }
        }
        for k in &gone {
            conf.mixer.leave(*k);
        }
        conf.members.retain(|m| !gone.contains(&m.key));
        let due = conf.pacer.frames_due(now).max(1);
        for i in 0..due {
            if i < MAX_CATCH_UP {
                for ((h, leg), pcm) in conf.mixer.tick() {
                    if let Some(call) = self.calls.get_mut(h) {
                        call.conference_send(now, &mut self.out, &mut self.media.stats, leg, &pcm);
                    }
                }
            }
            conf.pacer.on_sent();
        }
        if !conf.members.is_empty() {
            let at = conf.pacer.next_deadline();
            self.sched.schedule(at, Wake::Conference(id));
        }
        if !gone.is_empty() || conf.members.is_empty() {
            self.conference_changed(now, id);
        }
    }

    /// The running conferences, for the CLI (by name).
    pub(super) fn conference_views(&self, now: Instant) -> Vec<ConferenceView> {
        let mut v: Vec<ConferenceView> = self
            .conferences
            .confs
            .values()
            .map(|c| ConferenceView {
                kind: c.kind,
                name: c.name.clone(),
                marked: c.marked,
                secs: now.saturating_duration_since(c.started).as_secs(),
                members: c
                    .members
                    .iter()
                    .map(|m| {
                        let s = &m.spec;
                        let waiting = s.wait_marked && c.marked == 0;
                        let flags = [
                            (s.admin, 'A'),
                            (s.marked, 'M'),
                            (s.wait_marked, 'W'),
                            (s.end_marked, 'E'),
                            (s.muted, 'm'),
                            (waiting, 'w'),
                        ]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, f)| *f)
                        .collect();
                        let profiles = match &s.profiles {
                            Some((bridge, user)) => (user.clone(), bridge.clone()),
                            None => Default::default(),
                        };
                        MemberView {
                            channel: m.channel.clone(),
                            callerid: m.callerid.clone(),
                            flags,
                            profiles,
                            secs: now.saturating_duration_since(m.joined).as_secs(),
                        }
                    })
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}
