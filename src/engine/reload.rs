//! Reload: a new sip.conf / rtp.conf / extensions.conf generation (and cdr.conf,
//! voicemail.conf, musiconhold.conf, features.conf) applied without dropping a call or a
//! registration.
//!
//! Follows chan_sip's `sip reload` (`reload_config`: entries matched by name, the ones gone
//! from the file pruned with their registrations and pokes, the others keeping where they are
//! registered; `sip_poke_all_peers` for the new ones) and pbx_config's `dialplan reload`
//! (`ast_merge_contexts_and_delete`: the contexts are swapped at once, and a channel looks its
//! context, extension and priority up by name at its next step — one whose extension went is
//! sent to `i` or hung up, as `__ast_pbx_run` does).
//!
//! `register =>` lines are matched by their content (`trunk.rs` `reload_registrations`):
//! chan_sip's `reload_config` rebuilds its registry and sends every registration again
//! (`sip_send_all_registers`); sipbox sends only new and changed lines and unregisters the
//! removed ones. A full reload (`core reload`, SIGHUP) also applies cdr.conf (each call keeps
//! the one it arrived with), voicemail.conf and, from what the binary lists off the loop,
//! musiconhold.conf ([`Engine::reload_moh`]).
//!
//! What does not move: a running call keeps the entry settings of each of its legs and the
//! `[general]` it began with (see [`crate::call::Leg::entry`]); the SIP socket and the RTP
//! port range stay as bound (`bindaddr`, `bindport`, `rtpstart`, `rtpend` need a restart).
//! The caller reads and checks the files first: a config with an error never gets here.

use super::{Engine, PeerId, Settings};
use crate::config::rtp_conf::RtpConf;
use crate::config::sip_peer::SipPeer;
use crate::dialplan::Dialplan;
use crate::transaction::TimerConfig;
use std::rc::Rc;
use std::time::Instant;

/// What a reload re-reads, by Asterisk's command names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadScope {
    /// `core reload`, `module reload` and SIGHUP: every file.
    All,
    /// `sip reload`, `module reload chan_sip.so`: sip.conf and rtp.conf.
    Sip,
    /// `dialplan reload`, `module reload pbx_config.so`: extensions.conf.
    Dialplan,
}

/// What a reload changed, for the log and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// sip.conf was applied (false for `dialplan reload`).
    pub sip: bool,
    /// Entries new in the file.
    pub added: Vec<String>,
    /// Entries gone from the file (their registrations and qualify timers dropped).
    pub removed: Vec<String>,
    /// Entries whose settings changed (for new calls and requests).
    pub changed: Vec<String>,
    /// Entries as they were.
    pub unchanged: usize,
    /// Registrations dropped: of removed entries, and of entries no longer `host=dynamic`.
    pub bindings_dropped: usize,
    /// Options that changed in the files but need a restart; their old values stay.
    pub needs_restart: Vec<String>,
    /// What happened to the `register =>` lines (None: sip.conf was not reloaded).
    pub registrations: Option<super::trunk::RegistrationsReloaded>,
    /// Contexts of the new dialplan (None when extensions.conf was not reloaded).
    pub contexts: Option<usize>,
    /// One line per other module reloaded (cdr, voicemail; music on hold from the binary).
    pub modules: Vec<String>,
    /// The new files' `file:line` warnings (lines and options ignored, as at start).
    pub warnings: Vec<String>,
}

impl ReloadReport {
    /// The summary lines, as the log and `sip reload` print them.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.sip {
            lines.push(format!(
                "Reloading chan_sip: {} peers added, {} removed, {} changed, {} unchanged; \
                 {} registrations dropped",
                self.added.len(),
                self.removed.len(),
                self.changed.len(),
                self.unchanged,
                self.bindings_dropped
            ));
        }
        if let Some(r) = &self.registrations {
            if !r.started.is_empty() || !r.stopped.is_empty() {
                lines.push(format!(
                    "Reloading registrations: {} kept, {} (re)started, {} stopped ({} \
                     unregistering)",
                    r.kept,
                    r.started.len(),
                    r.stopped.len(),
                    r.unregistered.len()
                ));
            }
        }
        for opt in &self.needs_restart {
            lines.push(format!(
                "'{opt}' changed: needs a restart, the running value stays"
            ));
        }
        if let Some(n) = self.contexts {
            lines.push(format!("Reloading pbx_config: {n} contexts"));
        }
        lines.extend(self.modules.iter().cloned());
        lines
    }
}

/// Equal settings, wherever in the file the entry now is.
fn same_entry(old: &SipPeer, new: &SipPeer) -> bool {
    if old.loc == new.loc {
        return old == new;
    }
    let mut moved = new.clone();
    moved.loc = old.loc.clone();
    *old == moved
}

impl Engine {
    /// The settings in force (a reload builds the next generation from them with
    /// [`Settings::reloaded`], so ids survive by name).
    pub fn settings(&self) -> &Settings {
        &self.cfg
    }

    /// Applies `cfg`, a configuration read again and found free of errors (a config with an
    /// error is refused before: nothing changes), for `scope`. A static `host=name` entry
    /// whose host did not change keeps its addresses; a new or changed one is looked up by
    /// the engine's resolver at once.
    pub fn reload_config(
        &mut self,
        now: Instant,
        cfg: &crate::config::Config,
        scope: ReloadScope,
    ) -> Result<ReloadReport, crate::config::ConfigError> {
        let result = self.apply_config(now, cfg, scope);
        match &result {
            Ok(_) => self.status.counters.reloads_ok += 1,
            Err(_) => self.status.counters.reloads_failed += 1,
        }
        result
    }

    fn apply_config(
        &mut self,
        now: Instant,
        cfg: &crate::config::Config,
        scope: ReloadScope,
    ) -> Result<ReloadReport, crate::config::ConfigError> {
        let mut warnings = cfg.warnings.clone();
        let dialplan = match scope {
            ReloadScope::Sip => None,
            ReloadScope::All | ReloadScope::Dialplan => {
                // `dialplan reload` keeps the running parking lots and their extensions (the
                // parking files are res_parking's, reloaded with everything).
                let mut sections = cfg.extensions.clone();
                let lots = match scope {
                    ReloadScope::All => &cfg.parking,
                    _ => self.parking.conf(),
                };
                sections.extend(lots.dialplan_sections());
                let (mut dp, w) = Dialplan::from_sections(&sections)?;
                // The zones were read with the new config, on the reload thread.
                dp.set_zones(cfg.zones.clone());
                dp.set_tones(cfg.indications.default_zone().cloned());
                warnings.extend(w);
                Some(dp)
            }
        };
        let mut report = match scope {
            ReloadScope::Dialplan => ReloadReport::default(),
            ReloadScope::All | ReloadScope::Sip => {
                // Outbound registrations are matched by their line (see
                // `reload_registrations`); the `[authentication]` credentials apply to the
                // next challenge.
                let settings = self
                    .cfg
                    .reloaded(cfg.sip.general.clone(), cfg.sip.peers.clone())
                    .with_trunks(cfg.sip.registrations.clone(), cfg.sip.realm_auth.clone());
                let mut report = self.reload_sip(now, settings, &cfg.rtp);
                report.registrations = Some(self.reload_registrations(now));
                report
            }
        };
        if let Some(dp) = dialplan {
            report.contexts = self.reload_dialplan(dp).contexts;
        }
        if scope == ReloadScope::All {
            // `reload` reloads every module: features.conf, cdr.conf (cdr and cdr_csv),
            // voicemail.conf (app_voicemail). musiconhold.conf needs its directories
            // listed: the binary does that off the loop and hands the result to
            // [`Engine::reload_moh`].
            self.features = cfg.features.clone();
            // Parking lots too; the calls parked stay where they are.
            self.parking.set_conf(cfg.parking.clone());
            // meetme.conf and confbridge.conf: for the next joins (members stay).
            self.dialplan.set_conference_conf(cfg.conference.clone());
            // queues.conf too; callers waiting in a queue stay (app_queue's reload).
            self.dialplan.set_queues(cfg.queues.clone());
            let queues = cfg.queues.queues.len();
            report
                .modules
                .push(format!("Reloading app_queue: {queues} queues"));
            report.modules.push(self.reload_cdr(&cfg.cdr));
            report.modules.push(self.reload_voicemail(cfg));
            for line in &report.modules {
                log::info!("{line}");
            }
        }
        report.warnings = warnings;
        Ok(report)
    }

    /// cdr.conf: calls that arrive from now on are recorded by it (rules and `[csv]`
    /// format); each call up keeps the cdr.conf it arrived with, to its last record.
    fn reload_cdr(&mut self, conf: &crate::config::cdr_conf::CdrConf) -> String {
        self.set_cdr(conf.clone());
        let what = match (conf.enable, conf.csv.is_some()) {
            (false, _) => "off (enable=no)",
            (true, false) => "no [csv]: no records written",
            (true, true) => "records to Master.csv",
        };
        format!("Reloading cdr: {what}; calls up keep the settings they began with")
    }

    /// voicemail.conf: mailboxes and options for what starts from now on; the spool index
    /// stays (the binary adds the spool of new mailboxes, [`Engine::adopt_voicemail_index`]).
    /// A VoiceMail() or VoiceMailMain() in progress keeps the mailbox it found; `[general]`
    /// options apply from its next step, as app_voicemail's globals do.
    fn reload_voicemail(&mut self, cfg: &crate::config::Config) -> String {
        let boxes = cfg.voicemail.boxes.len();
        self.dialplan.with_voicemail(|vm| {
            vm.conf = cfg.voicemail.clone();
            vm.conf_path = cfg.voicemail_file.clone();
        });
        format!("Reloading app_voicemail: {boxes} mailboxes")
    }

    /// The spool of mailboxes a reload added, read off the loop by the binary; boxes already
    /// indexed stay as they are.
    pub fn adopt_voicemail_index(&mut self, index: crate::voicemail::Index) {
        self.dialplan
            .with_voicemail(|vm| vm.index.adopt_missing(index));
    }

    /// musiconhold.conf reloaded: `library` (the classes and their files, listed by the
    /// binary off the loop) for holds that start from now on, `files` (read off the loop)
    /// into the prompt source. A call on hold keeps its class's file list until it is
    /// taken off hold.
    pub fn reload_moh(
        &mut self,
        library: crate::media::moh::MohLibrary,
        files: Vec<(String, Vec<u8>)>,
    ) -> String {
        for (name, bytes) in files {
            self.sounds.adopt(&name, bytes.into());
        }
        self.moh = library;
        let line = format!("Reloading res_musiconhold: {} classes", self.moh.len());
        log::info!("{line}");
        line
    }

    /// Applies a whole new configuration: sip.conf and rtp.conf, then the dialplan.
    pub fn reload(
        &mut self,
        now: Instant,
        settings: Settings,
        rtp: &RtpConf,
        dialplan: Dialplan,
    ) -> ReloadReport {
        let mut report = self.reload_sip(now, settings, rtp);
        report.contexts = self.reload_dialplan(dialplan).contexts;
        report
    }

    /// `dialplan reload`: new calls and every running dialplan at its next priority use
    /// `dialplan`; globals set at run time, group counts and the AstDB carry over.
    pub fn reload_dialplan(&mut self, mut dialplan: Dialplan) -> ReloadReport {
        dialplan.adopt_shared(&self.dialplan);
        self.dialplan = dialplan;
        let report = ReloadReport {
            contexts: Some(self.dialplan.context_count()),
            ..ReloadReport::default()
        };
        for line in report.summary() {
            log::info!("{line}");
        }
        report
    }

    /// `sip reload`: `settings` (built with [`Settings::reloaded`] from the running ones) and
    /// `rtp` replace the running ones, keeping what needs a restart.
    pub fn reload_sip(
        &mut self,
        now: Instant,
        mut settings: Settings,
        rtp: &RtpConf,
    ) -> ReloadReport {
        let mut report = ReloadReport {
            sip: true,
            needs_restart: self.keep_bound_options(&mut settings, rtp),
            ..ReloadReport::default()
        };
        let old = std::mem::replace(&mut self.cfg, settings);
        let mut qualify_new: Vec<PeerId> = Vec::new();
        for (id, p) in old.peers() {
            if self.cfg.peer(id).is_none() {
                report.bindings_dropped += self.registrar.remove_all(&p.name);
                self.forget_peer(id);
                log::debug!("reload: peer '{}' removed", p.name);
                report.removed.push(p.name.clone());
            }
        }
        let current: Vec<(PeerId, Rc<SipPeer>)> = self
            .cfg
            .peers()
            .filter_map(|(id, _)| Some((id, self.cfg.peer_rc(id)?)))
            .collect();
        for (id, p) in current {
            match old.peer(id) {
                None => {
                    log::debug!("reload: peer '{}' added", p.name);
                    report.added.push(p.name.clone());
                    if p.qualify.is_some() {
                        qualify_new.push(id);
                    }
                    if let Some(every) = p.keepalive {
                        self.keepalive_if_idle(now, id, every);
                    }
                }
                Some(o) if same_entry(o, &p) => report.unchanged += 1,
                Some(o) => {
                    log::debug!("reload: peer '{}' changed", p.name);
                    report.changed.push(p.name.clone());
                    if !(p.is_dynamic() && p.kind.calls_out()) {
                        // Only host=dynamic peers may be registered (see register.rs).
                        report.bindings_dropped += self.registrar.remove_all(&o.name);
                    }
                    match (o.qualify, p.qualify) {
                        (_, None) => self.unqualify(id),
                        (None, Some(_)) => qualify_new.push(id),
                        // A new limit or target applies from the next ping.
                        (Some(_), Some(_)) => {}
                    }
                    if let Some(every) = p.keepalive {
                        self.keepalive_if_idle(now, id, every);
                    }
                }
            }
        }
        self.qualify_peers(now, &qualify_new);
        self.dns_reloaded(now, &old);
        // HA1 depends on the secret and the realm: the next REGISTER or INVITE computes it
        // from the new ones.
        self.ha1s.clear();
        // Entries came, went or changed their call limits: every device state is looked at.
        self.blf.walk_all();
        // Dropped bindings leave the database too.
        self.flush_store_ops();
        for line in report.summary() {
            if line.contains("needs a restart") {
                log::warn!("{line}");
            } else {
                log::info!("{line}");
            }
        }
        report
    }

    /// Puts the running values of options that cannot change without a restart into
    /// `settings` (the SIP socket) and `rtp`'s port range stays; applies the rest of
    /// `[general]` that the engine's tables hold. Returns the options kept.
    fn keep_bound_options(&mut self, settings: &mut Settings, rtp: &RtpConf) -> Vec<String> {
        let mut kept = Vec::new();
        let old = &self.cfg.general;
        let g = Rc::make_mut(&mut settings.general);
        if g.bind != old.bind {
            kept.push(format!(
                "bindaddr/bindport (now {}, in the file {})",
                old.bind, g.bind
            ));
            g.bind = old.bind;
        }
        if (rtp.rtp_start, rtp.rtp_end) != self.rtp_range {
            kept.push(format!(
                "rtpstart/rtpend (now {}-{}, in the file {}-{})",
                self.rtp_range.0, self.rtp_range.1, rtp.rtp_start, rtp.rtp_end
            ));
        }
        let (xo, xn) = (&old.nat_addressing, &g.nat_addressing);
        if (&xo.extern_addr, xo.extern_refresh, &xo.localnet)
            != (&xn.extern_addr, xn.extern_refresh, &xn.localnet)
        {
            // The advertised address was resolved and set up at start.
            kept.push("externaddr/externhost/externrefresh/localnet".to_string());
            g.nat_addressing.extern_addr = xo.extern_addr.clone();
            g.nat_addressing.extern_refresh = xo.extern_refresh;
            g.nat_addressing.localnet = xo.localnet.clone();
        }
        if g.srv_lookup != old.srv_lookup {
            // The resolver was built with it.
            kept.push("srvlookup".to_string());
            g.srv_lookup = old.srv_lookup;
        }
        self.txs.set_nat(g.nat);
        if g.sounds_dir != old.sounds_dir {
            // The binary's prompt source reads the directory it was given at start.
            kept.push(format!(
                "soundsdir (now {}, in the file {})",
                old.sounds_dir.display(),
                g.sounds_dir.display()
            ));
            g.sounds_dir = old.sounds_dir.clone();
        }
        self.media.strict = rtp.strict_rtp;
        self.calls.set_max(g.max_calls);
        self.registrar.set_max(g.max_registrations);
        if (g.timer_t1, g.timer_b) != (old.timer_t1, old.timer_b) {
            let mut timers = TimerConfig::with_t1(g.timer_t1);
            timers.timer_b = g.timer_b;
            self.txs.set_timer_config(timers);
        }
        if g.ban != old.ban {
            self.ban.set_settings(g.ban.clone());
            self.rate.set_rate(g.ban.rate_limit);
        }
        kept
    }
}
