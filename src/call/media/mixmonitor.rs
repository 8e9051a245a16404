//! MixMonitor on a call: the channel's two directions — what its phone sends (receive, `r()`)
//! and what it is sent (transmit, `t()`: the bridged party's relayed RTP, or sipbox's own
//! Playback and music) — decoded to linear as packets pass, then taken one 20 ms frame at a
//! time on the recording's own clock (a direction that sent nothing is silence, so a file is
//! as long as the recording ran), mixed with saturation and handed to the driver's writer in
//! half-second chunks. The loop never touches the disk: a stalled disk drops chunks in the
//! driver with a log line, and what the call holds is bounded (two feeds of 120 ms and one
//! chunk per file).
//!
//! A recording belongs to the leg that ran `MixMonitor()` (the channel) and ends at
//! `StopMixMonitor()`, the call's end, or when that leg leaves the call (an attended transfer
//! or a `Pickup()` moves it into another call: the recording closes there — it stays with the
//! call whose dialplan started it, where Asterisk's masquerade would carry it along). When the other party changes (a
//! blind transfer of the bridged party, a pickup) the recording goes on with the new one,
//! as Asterisk's audiohook stays on its channel.
//!
//! Reading list: Asterisk `apps/app_mixmonitor.c` (`mixmonitor_thread`: `b` skips frames
//! while unbridged; the post-command runs after the files are closed), `main/audiohook.c`.

use super::super::state::Call;
use super::super::Cx;
use crate::dialplan::MixMonitorSpec;
use crate::flow::Job;
use crate::handle::LegId;
use crate::media::g711::Law;
use crate::media::monitor::{adjust_volume, mix, Feed, FileFormat, FileOp, FRAME_SAMPLES};
use crate::media::player::Pacer;
use crate::media::rtp::RtpPacket;
use crate::wake::{CallTimer, Wake};
use std::path::PathBuf;

/// Recordings one call may run at once (Asterisk has no limit; a dialplan loop must not
/// start thousands).
pub const MAX_MONITORS: usize = 4;
/// Frames per chunk handed to the writer (0.5 s: 8 000 bytes of WAV).
const CHUNK_FRAMES: usize = 25;
/// Frames made at most in one wake-up (60 s): after a longer stall of the whole process
/// the rest of the gap is left out rather than written in one burst.
const MAX_CATCH_UP: u32 = 3_000;

/// One file of a recording.
struct Output {
    path: PathBuf,
    format: FileFormat,
    chunk: Vec<u8>,
}

impl Output {
    fn new(path: PathBuf, format: FileFormat) -> Output {
        let cap = format.bytes_per_second() / 2;
        Output {
            path,
            format,
            chunk: Vec::with_capacity(cap),
        }
    }

    fn push(&mut self, samples: &[i16], frames: usize, out: &mut crate::flow::Outbox) {
        self.format.encode(samples, &mut self.chunk);
        if frames.is_multiple_of(CHUNK_FRAMES) {
            self.flush(out);
        }
    }

    fn flush(&mut self, out: &mut crate::flow::Outbox) {
        if self.chunk.is_empty() {
            return;
        }
        let cap = self.chunk.capacity();
        let bytes = std::mem::replace(&mut self.chunk, Vec::with_capacity(cap));
        out.job(Job::Monitor(FileOp::Append {
            path: self.path.clone(),
            bytes,
        }));
    }
}

/// One running MixMonitor.
pub struct Monitor {
    id: String,
    leg: LegId,
    mixed: Option<Output>,
    receive: Option<Output>,
    transmit: Option<Output>,
    rx: Feed,
    tx: Feed,
    bridged_only: bool,
    read_volume: i32,
    write_volume: i32,
    command: Option<String>,
    /// Frames written (20 ms each).
    frames: usize,
}

/// The call's recordings and their shared clock.
#[derive(Default)]
pub struct Monitors {
    list: Vec<Monitor>,
    pacer: Option<Pacer>,
    /// Recordings started on this call (for the ids).
    started: u32,
}

impl Monitors {
    /// True when nothing records (the per-packet path's one check).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// An RTP packet `from` sent: its receive direction. Only G.711 is decoded; other
    /// payloads (telephone-event, comfort noise, other codecs) count as silence.
    pub fn heard(&mut self, from: LegId, data: &[u8]) {
        if let Some((law, payload)) = g711_payload(data) {
            for m in self.list.iter_mut().filter(|m| m.leg == from) {
                m.rx.push(law, payload);
            }
        }
    }

    /// An RTP packet relayed to `to` (as `to` receives it): its transmit direction.
    pub fn sent(&mut self, to: LegId, data: &[u8]) {
        if let Some((law, payload)) = g711_payload(data) {
            for m in self.list.iter_mut().filter(|m| m.leg == to) {
                m.tx.push(law, payload);
            }
        }
    }

    /// sipbox sent `leg` a frame of its own (Playback, tones, music).
    pub fn played(&mut self, leg: LegId, law: Law, frame: &[u8]) {
        for m in self.list.iter_mut().filter(|m| m.leg == leg) {
            m.tx.push(law, frame);
        }
    }
}

/// The law and audio of a G.711 RTP packet.
fn g711_payload(data: &[u8]) -> Option<(Law, &[u8])> {
    let p = RtpPacket::new_checked(data).ok()?;
    let law = match p.payload_type() {
        0 => Law::Ulaw,
        8 => Law::Alaw,
        _ => return None,
    };
    let payload = p.payload();
    // Where the payload starts (after the header and CSRCs, before any padding).
    let start = payload.as_ptr() as usize - data.as_ptr() as usize;
    let len = payload.len();
    data.get(start..start + len).map(|d| (law, d))
}

impl Monitor {
    /// One 20 ms frame of every file; `bridged`: the channel is in a bridge now.
    fn frame(&mut self, bridged: bool, out: &mut crate::flow::Outbox) {
        let mut r = [0i16; FRAME_SAMPLES];
        let mut t = [0i16; FRAME_SAMPLES];
        self.rx.take_frame(&mut r);
        self.tx.take_frame(&mut t);
        if self.bridged_only && !bridged {
            return;
        }
        adjust_volume(&mut r, self.read_volume);
        adjust_volume(&mut t, self.write_volume);
        self.frames += 1;
        let n = self.frames;
        if let Some(o) = &mut self.receive {
            o.push(&r, n, out);
        }
        if let Some(o) = &mut self.transmit {
            o.push(&t, n, out);
        }
        if let Some(o) = &mut self.mixed {
            o.push(&mix(&r, &t), n, out);
        }
    }

    /// The recording is over: the last chunks, the closes, then the post-command.
    fn close(mut self, label: &str, why: &str, out: &mut crate::flow::Outbox) {
        log::info!(
            "call {label}: MixMonitor {} ends ({why}) after {} ms",
            self.id,
            self.frames * 20
        );
        for o in [&mut self.mixed, &mut self.receive, &mut self.transmit]
            .into_iter()
            .flatten()
        {
            o.flush(out);
            out.job(Job::Monitor(FileOp::Close {
                path: o.path.clone(),
                wav: o.format == FileFormat::Wav,
            }));
        }
        if let Some(c) = self.command.take() {
            log::info!("call {label}: MixMonitor {} runs [{c}]", self.id);
            out.job(Job::Monitor(FileOp::Command(c)));
        }
    }
}

impl Call {
    /// `MixMonitor()` on the caller's channel.
    pub(in crate::call) fn start_mixmonitor(&mut self, cx: &mut Cx<'_>, spec: MixMonitorSpec) {
        if self.media.monitors.list.len() >= MAX_MONITORS {
            log::warn!(
                "call {}: MixMonitor: {MAX_MONITORS} recordings already run on this call; not started",
                self.label()
            );
            return;
        }
        let mut open = |p: Option<PathBuf>| -> Option<Output> {
            let p = p?;
            match FileFormat::of_path(&p) {
                Ok(format) => {
                    cx.out.job(Job::Monitor(FileOp::Open {
                        path: p.clone(),
                        append: spec.append,
                        header: format.header(),
                    }));
                    Some(Output::new(p, format))
                }
                Err(e) => {
                    log::error!("MixMonitor: cannot record {}: {e}", p.display());
                    None
                }
            }
        };
        let mixed = open(spec.mixed);
        let receive = open(spec.receive);
        let transmit = open(spec.transmit);
        if mixed.is_none() && receive.is_none() && transmit.is_none() {
            return;
        }
        self.media.monitors.started += 1;
        let unique = self
            .exec
            .as_ref()
            .map(|e| e.chan_unique_id())
            .unwrap_or_default();
        let id = format!("{unique}-mixmonitor-{}", self.media.monitors.started);
        log::info!(
            "call {}: MixMonitor {id} records {}",
            self.label(),
            [&mixed, &receive, &transmit]
                .into_iter()
                .flatten()
                .map(|o| o.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let monitors = &mut self.media.monitors;
        monitors.list.push(Monitor {
            id: id.clone(),
            leg: self.caller,
            mixed,
            receive,
            transmit,
            rx: Feed::default(),
            tx: Feed::default(),
            bridged_only: spec.bridged_only,
            read_volume: spec.read_volume,
            write_volume: spec.write_volume,
            command: spec.command,
            frames: 0,
        });
        if let (Some(var), Some(exec)) = (spec.id_var, self.exec.as_mut()) {
            exec.set_var(&var, &id);
        }
        if monitors.pacer.is_none() {
            // The first frame covers the 20 ms from now.
            let pacer = Pacer::new(cx.now + crate::media::player::FRAME_INTERVAL);
            monitors.pacer = Some(pacer);
            let wake = Wake::Call(self.handle, CallTimer::Monitor);
            self.timers
                .start(cx.sched, CallTimer::Monitor, pacer.next_deadline(), wake);
        }
    }

    /// `StopMixMonitor([id])`: that recording, or the oldest one.
    pub(in crate::call) fn stop_mixmonitor(&mut self, cx: &mut Cx<'_>, id: &str) {
        let list = &mut self.media.monitors.list;
        let at = if id.is_empty() {
            (!list.is_empty()).then_some(0)
        } else {
            list.iter().position(|m| m.id == id)
        };
        match at {
            Some(i) => {
                let m = list.remove(i);
                let label = self.label().to_string();
                m.close(&label, "StopMixMonitor", cx.out);
            }
            None => log::debug!(
                "call {}: StopMixMonitor({id}): no such recording",
                self.label()
            ),
        }
        self.monitor_clock_idle(cx);
    }

    /// The recordings' 20 ms clock ticked.
    pub(in crate::call) fn monitor_tick(&mut self, cx: &mut Cx<'_>) {
        let Some(mut pacer) = self.media.monitors.pacer else {
            return;
        };
        let bridge = self.bridge();
        let due = pacer.frames_due(cx.now);
        for i in 0..due {
            if i < MAX_CATCH_UP {
                for m in &mut self.media.monitors.list {
                    let bridged = bridge.is_some_and(|b| b.other(m.leg).is_some());
                    m.frame(bridged, cx.out);
                }
            }
            pacer.on_sent();
        }
        self.media.monitors.pacer = Some(pacer);
        let wake = Wake::Call(self.handle, CallTimer::Monitor);
        self.timers
            .start(cx.sched, CallTimer::Monitor, pacer.next_deadline(), wake);
    }

    /// Ends every recording of `leg` (None: all of them) — the call or the leg is gone.
    pub(in crate::call) fn end_mixmonitors(
        &mut self,
        cx: &mut Cx<'_>,
        leg: Option<LegId>,
        why: &str,
    ) {
        if self.media.monitors.is_empty() {
            return;
        }
        let label = self.label().to_string();
        let list = std::mem::take(&mut self.media.monitors.list);
        for m in list {
            if leg.is_none_or(|l| l == m.leg) {
                m.close(&label, why, cx.out);
            } else {
                self.media.monitors.list.push(m);
            }
        }
        self.monitor_clock_idle(cx);
    }

    /// No recording left: the clock stops.
    fn monitor_clock_idle(&mut self, cx: &mut Cx<'_>) {
        if self.media.monitors.list.is_empty() {
            self.media.monitors.pacer = None;
            self.timers.stop(cx.sched, CallTimer::Monitor);
        }
    }
}
