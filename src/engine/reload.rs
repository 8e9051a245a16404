//! Reload: a new sip.conf / rtp.conf / extensions.conf generation applied without dropping a
//! call or a registration.
//!
//! Follows chan_sip's `sip reload` (`reload_config`: entries matched by name, the ones gone
//! from the file pruned with their registrations and pokes, the others keeping where they are
//! registered; `sip_poke_all_peers` for the new ones) and pbx_config's `dialplan reload`
//! (`ast_merge_contexts_and_delete`: the contexts are swapped at once, and a channel looks its
//! context, extension and priority up by name at its next step — one whose extension went is
//! sent to `i` or hung up, as `__ast_pbx_run` does).
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
    /// Contexts of the new dialplan (None when extensions.conf was not reloaded).
    pub contexts: Option<usize>,
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
        for opt in &self.needs_restart {
            lines.push(format!(
                "'{opt}' changed: needs a restart, the running value stays"
            ));
        }
        if let Some(n) = self.contexts {
            lines.push(format!("Reloading pbx_config: {n} contexts"));
        }
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
                let (dp, w) = Dialplan::from_sections(&cfg.extensions)?;
                warnings.extend(w);
                Some(dp)
            }
        };
        let mut report = match scope {
            ReloadScope::Dialplan => ReloadReport::default(),
            ReloadScope::All | ReloadScope::Sip => {
                // The running outbound registrations are indexed by their line: they stay as
                // they are (re-sending changed `register =>` lines is not done yet); the
                // `[authentication]` credentials apply to the next challenge.
                let lines_changed = cfg.sip.registrations != self.cfg.registrations;
                let settings = self
                    .cfg
                    .reloaded(cfg.sip.general.clone(), cfg.sip.peers.clone())
                    .with_trunks(self.cfg.registrations.clone(), cfg.sip.realm_auth.clone());
                let mut report = self.reload_sip(now, settings, &cfg.rtp);
                if lines_changed {
                    let line = "register => lines changed: needs a restart, the running \
                                registrations stay";
                    log::warn!("{line}");
                    report.needs_restart.push("register =>".to_string());
                }
                report
            }
        };
        if let Some(dp) = dialplan {
            report.contexts = self.reload_dialplan(dp).contexts;
        }
        if scope == ReloadScope::All {
            // features.conf (`reload` reloads every module, features among them).
            self.features = cfg.features.clone();
        }
        report.warnings = warnings;
        Ok(report)
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
