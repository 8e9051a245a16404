//! An audio conference mixer: 16-bit linear 8 kHz frames of 20 ms in, one mix per member out.
//!
//! Each member pushes what it says (decoded from its own codec by the caller of this module);
//! at every tick each member is given the saturating sum of the *other* talkers' oldest
//! frames, never its own voice. A member with nothing queued this tick contributes silence;
//! a muted member (listen only) contributes nothing; a deaf member (talk only) is given
//! nothing. Each member's queue holds at most [`MAX_QUEUED`] frames: a member whose packets
//! come in bursts is smoothed over one tick, one that sends faster than the clock loses its
//! oldest frames instead of growing a backlog (bounded memory and bounded delay).
//!
//! Pure logic: no clock (the engine's 20 ms timer calls [`Mixer::tick`]), no sockets, no
//! codecs.
//!
//! Reading list: Asterisk `bridges/bridge_softmix.c` (`softmix_mixing_loop`: the sum of all
//! talkers, each talker's own contribution subtracted from what it hears;
//! `softmix_process_write_audio`), `main/slinfactory.c`, `apps/app_meetme.c` (listen-only
//! `m`, talk-only `t`); ITU-T G.711 for the 8 kHz linear samples.

use std::collections::VecDeque;

/// Samples in one 20 ms frame at 8 kHz.
pub const SAMPLES: usize = 160;

/// One 20 ms frame of 16-bit linear audio.
pub type Pcm = [i16; SAMPLES];

/// Digital silence.
pub const SILENCE: Pcm = [0; SAMPLES];

/// Frames each member may have waiting (two ticks: 40 ms of jitter at most).
pub const MAX_QUEUED: usize = 2;

/// What a member may do in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// Its voice is not mixed (MeetMe `m`, ConfBridge `startmuted`, a page's listeners).
    pub muted: bool,
    /// It hears nothing (MeetMe `t`).
    pub deaf: bool,
}

struct Member<K> {
    key: K,
    role: Role,
    queue: VecDeque<Pcm>,
}

/// The members of one conference and what they said since the last tick.
pub struct Mixer<K> {
    members: Vec<Member<K>>,
    /// Frames dropped because a member's queue was full (for the log and the tests).
    pub overruns: u64,
}

impl<K> Default for Mixer<K> {
    fn default() -> Self {
        Mixer {
            members: Vec::new(),
            overruns: 0,
        }
    }
}

impl<K: Copy + PartialEq> Mixer<K> {
    /// An empty mixer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Members now.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True without members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when `key` is a member.
    pub fn contains(&self, key: K) -> bool {
        self.members.iter().any(|m| m.key == key)
    }

    /// Adds `key` (or changes its role when it is already in).
    pub fn join(&mut self, key: K, role: Role) {
        match self.members.iter_mut().find(|m| m.key == key) {
            Some(m) => m.role = role,
            None => self.members.push(Member {
                key,
                role,
                queue: VecDeque::with_capacity(MAX_QUEUED),
            }),
        }
    }

    /// Removes `key` and what it had queued; false when it was not in.
    pub fn leave(&mut self, key: K) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.key != key);
        self.members.len() != before
    }

    /// The role of `key`.
    pub fn role(&self, key: K) -> Option<Role> {
        self.members.iter().find(|m| m.key == key).map(|m| m.role)
    }

    /// The members, in join order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.members.iter().map(|m| m.key)
    }

    /// Queues a frame `key` said (ignored for a non-member; the oldest frame goes when the
    /// queue is full).
    pub fn push(&mut self, key: K, frame: &Pcm) {
        let Some(m) = self.members.iter_mut().find(|m| m.key == key) else {
            return;
        };
        if m.queue.len() >= MAX_QUEUED {
            m.queue.pop_front();
            self.overruns += 1;
        }
        m.queue.push_back(*frame);
    }

    /// One 20 ms tick: takes one frame from every member's queue and gives each member that
    /// hears the saturating sum of the others' frames. Every member that is not deaf gets a
    /// frame (silence when nobody else spoke), so its stream keeps its clock.
    pub fn tick(&mut self) -> Vec<(K, Pcm)> {
        // The sum of every talker, wide enough not to overflow; each member's own frame is
        // subtracted from it (bridge_softmix's trick), so the cost is linear in members.
        let mut total = [0i32; SAMPLES];
        let mut said: Vec<Option<Pcm>> = Vec::with_capacity(self.members.len());
        for m in &mut self.members {
            let frame = m.queue.pop_front().filter(|_| !m.role.muted);
            if let Some(f) = &frame {
                for (t, s) in total.iter_mut().zip(f.iter()) {
                    *t += i32::from(*s);
                }
            }
            said.push(frame);
        }
        let mut out = Vec::with_capacity(self.members.len());
        for (m, own) in self.members.iter().zip(said) {
            if m.role.deaf {
                continue;
            }
            let mut mix = SILENCE;
            for (i, o) in mix.iter_mut().enumerate() {
                let mine = own.as_ref().map_or(0, |f| i32::from(f[i]));
                *o = saturate(total[i] - mine);
            }
            out.push((m.key, mix));
        }
        out
    }
}

/// `v` clipped to the 16-bit range.
fn saturate(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(v: i16) -> Pcm {
        [v; SAMPLES]
    }

    fn mix_of(out: &[(u8, Pcm)], key: u8) -> Option<Pcm> {
        out.iter().find(|(k, _)| *k == key).map(|(_, p)| *p)
    }

    #[test]
    fn each_hears_the_sum_of_the_others_and_not_itself() {
        let mut m = Mixer::new();
        for k in [1u8, 2, 3] {
            m.join(k, Role::default());
        }
        m.push(1, &flat(100));
        m.push(2, &flat(20));
        m.push(3, &flat(3));
        let out = m.tick();
        assert_eq!(out.len(), 3);
        assert_eq!(mix_of(&out, 1), Some(flat(23)));
        assert_eq!(mix_of(&out, 2), Some(flat(103)));
        assert_eq!(mix_of(&out, 3), Some(flat(120)));
    }

    #[test]
    fn a_member_without_a_frame_is_silence_and_still_hears() {
        let mut m = Mixer::new();
        m.join(1u8, Role::default());
        m.join(2, Role::default());
        m.push(1, &flat(-500));
        let out = m.tick();
        assert_eq!(mix_of(&out, 2), Some(flat(-500)));
        assert_eq!(mix_of(&out, 1), Some(SILENCE));
        // Nothing queued at all: everybody gets silence, the streams keep their clock.
        let out = m.tick();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, p)| *p == SILENCE));
    }

    #[test]
    fn the_sum_saturates_instead_of_wrapping() {
        let mut m = Mixer::new();
        for k in [1u8, 2, 3] {
            m.join(k, Role::default());
        }
        m.push(1, &flat(30_000));
        m.push(2, &flat(30_000));
        m.push(3, &flat(-30_000));
        let out = m.tick();
        assert_eq!(mix_of(&out, 3), Some(flat(i16::MAX)));
        assert_eq!(mix_of(&out, 1), Some(flat(0)));
        let mut n = Mixer::new();
        for k in [1u8, 2, 3] {
            n.join(k, Role::default());
        }
        n.push(1, &flat(-30_000));
        n.push(2, &flat(-30_000));
        assert_eq!(mix_of(&n.tick(), 3), Some(flat(i16::MIN)));
    }

    #[test]
    fn a_member_that_left_is_no_longer_heard_nor_given_frames() {
        let mut m = Mixer::new();
        for k in [1u8, 2, 3] {
            m.join(k, Role::default());
        }
        m.push(2, &flat(7));
        assert!(m.leave(2));
        assert!(!m.leave(2));
        m.push(2, &flat(7));
        let out = m.tick();
        assert_eq!(out.len(), 2);
        assert!(mix_of(&out, 2).is_none());
        assert_eq!(
            mix_of(&out, 1),
            Some(SILENCE),
            "its queued frame went with it"
        );
    }

    #[test]
    fn muted_members_are_not_heard_and_deaf_members_get_nothing() {
        let mut m = Mixer::new();
        m.join(1u8, Role::default());
        m.join(
            2,
            Role {
                muted: true,
                deaf: false,
            },
        );
        m.join(
            3,
            Role {
                muted: false,
                deaf: true,
            },
        );
        m.push(1, &flat(10));
        m.push(2, &flat(1000));
        m.push(3, &flat(5));
        let out = m.tick();
        assert_eq!(mix_of(&out, 1), Some(flat(5)), "the muted one is not mixed");
        assert_eq!(
            mix_of(&out, 2),
            Some(flat(15)),
            "the muted one hears everybody"
        );
        assert!(mix_of(&out, 3).is_none(), "the deaf one gets no frame");
    }

    #[test]
    fn queues_are_bounded_and_drop_the_oldest() {
        let mut m = Mixer::new();
        m.join(1u8, Role::default());
        m.join(2, Role::default());
        for v in 1..=5 {
            m.push(1, &flat(v));
        }
        assert_eq!(m.overruns, 3);
        assert_eq!(mix_of(&m.tick(), 2), Some(flat(4)));
        assert_eq!(mix_of(&m.tick(), 2), Some(flat(5)));
        assert_eq!(mix_of(&m.tick(), 2), Some(SILENCE));
    }
}
