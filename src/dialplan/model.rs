//! The dialplan model: contexts of extensions of priorities (built by `load.rs`), and the
//! lookup that walks a context and its includes as Asterisk's
//! `pbx_find_extension()` does.
//!
//! Reading list: Asterisk `pbx/pbx_config.c` (`pbx_load_config`: `exten =>`, `same =>`,
//! `n`, labels, `include =>`), `main/pbx.c` (`pbx_find_extension`). Each context keeps its
//! extensions sorted by `ext_cmp` and indexed: literals in a hash map, patterns bucketed by
//! their leading literal characters, so a lookup costs a few hash probes plus the patterns
//! sharing a prefix with the number, not a scan of the context. The maps hash with
//! [`KeyedState`] (not std's SipHash: every call looks up its context and number a few
//! times); a context also notes which prefix lengths it holds, so a lookup only probes the
//! prefixes of the number that could be there.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::pattern::{ext_cmp, strip_dashes_cow, ExtName};
use super::time::TimeSpec;
use crate::config::raw::Loc;
use crate::hash::KeyedState;

/// Deepest include chain followed (Asterisk's `AST_PBX_MAX_STACK` is 512 frames; includes
/// this deep are always a mistake).
const MAX_INCLUDE_DEPTH: usize = 64;
/// Most contexts one lookup visits.
const MAX_VISITS: usize = 1024;

/// One priority: an application with its (unexpanded) arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority {
    /// Application name as written.
    pub app: String,
    /// Arguments, variables not yet substituted.
    pub args: String,
    /// `n(label)` / `1(label)`.
    pub label: Option<String>,
    /// Where it was written.
    pub loc: Loc,
}

/// One extension (name and optional caller-ID match) with its priorities.
#[derive(Debug, Clone)]
pub struct Extension {
    /// The name or pattern.
    pub name: ExtName,
    /// `exten => 100/5551234,...`: only for calls from matching caller IDs.
    pub cid: Option<ExtName>,
    /// Priorities by number.
    pub prios: BTreeMap<u32, Priority>,
}

impl Extension {
    /// The priority number carrying `label`, if any.
    pub fn label(&self, label: &str) -> Option<u32> {
        self.prios
            .iter()
            .find(|(_, p)| p.label.as_deref() == Some(label))
            .map(|(n, _)| *n)
    }
}

/// `include => ctx[,times,weekdays,mdays,months]`.
#[derive(Debug, Clone)]
pub struct Include {
    /// The included context.
    pub name: String,
    /// Active only at these times, when given.
    pub when: Option<TimeSpec>,
    /// Where it was written.
    pub loc: Loc,
}

/// A context: sorted extensions, their index, and includes in order.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Extensions sorted as Asterisk sorts them.
    pub exts: Vec<Extension>,
    /// Includes in the order written.
    pub includes: Vec<Include>,
    literal: HashMap<String, Vec<u32>, KeyedState>,
    prefixes: HashMap<String, Vec<u32>, KeyedState>,
    /// Bit `n` set: `prefixes` has a key of `n` bytes (bit 63: of 63 bytes or more).
    prefix_lens: u64,
    /// While loading: `name[/cid]` as written → index in `exts`.
    pub(crate) by_text: HashMap<String, usize>,
    /// `exten => 1001,hint,SIP/1001&SIP/1001b`: extension → its device list.
    pub hints: HashMap<String, String>,
}

impl Context {
    /// Sorts the extensions as Asterisk does and builds the lookup index.
    pub(crate) fn build_index(&mut self) {
        self.exts.sort_by(|a, b| {
            ext_cmp(&a.name, &b.name).then_with(|| match (&a.cid, &b.cid) {
                (None, None) => std::cmp::Ordering::Equal,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => ext_cmp(x, y),
            })
        });
        self.literal.clear();
        self.prefixes.clear();
        self.prefix_lens = 0;
        self.by_text = HashMap::new();
        for (i, e) in self.exts.iter().enumerate() {
            let map = if e.name.is_pattern() {
                self.prefix_lens |= len_bit(e.name.key().len());
                &mut self.prefixes
            } else {
                &mut self.literal
            };
            map.entry(e.name.key().to_string())
                .or_default()
                .push(i as u32);
        }
    }

    /// Indices of the extensions matching `data` (dash-free) and `cid`, best first.
    pub fn matching(&self, data: &str, cid: &str, out: &mut Vec<u32>) {
        out.clear();
        let cid_ok = |i: u32| {
            self.exts
                .get(i as usize)
                .and_then(|e| e.cid.as_ref())
                .is_none_or(|c| c.matches(cid))
        };
        if !self.literal.is_empty() {
            if let Some(v) = self.literal.get(data) {
                out.extend(v.iter().copied().filter(|&i| cid_ok(i)));
            }
        }
        let mark = out.len();
        for (n, _) in data
            .char_indices()
            .chain(std::iter::once((data.len(), ' ')))
        {
            // Only lengths some pattern's prefix has (most numbers probe one or two).
            if self.prefix_lens & len_bit(n) == 0 {
                continue;
            }
            if let Some(v) = self.prefixes.get(&data[..n]) {
                for &i in v {
                    if self.exts[i as usize].name.matches(data) && cid_ok(i) {
                        out.push(i);
                    }
                }
            }
        }
        out[mark..].sort_unstable();
    }
}

/// The bit of [`Context::prefix_lens`] for a prefix of `n` bytes.
fn len_bit(n: usize) -> u64 {
    1 << n.min(63)
}

/// The include walk of one lookup: the chain being followed (Asterisk's loop guard) and a
/// bound on contexts visited, so diamond-shaped include graphs cannot blow up.
#[derive(Default)]
struct Walk<'a> {
    /// Names borrowed from the dialplan's own keys: the walk allocates only when it
    /// follows an include.
    path: Vec<&'a str>,
    visits: usize,
}

impl Walk<'_> {
    /// Whether `context` may be searched now.
    fn enter(&mut self, context: &str) -> bool {
        self.visits += 1;
        self.visits <= MAX_VISITS
            && self.path.len() < MAX_INCLUDE_DEPTH
            && !self.path.contains(&context)
    }
}

/// What a lookup asks for in the extension it finds.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// A priority number.
    Prio(u32),
    /// A label.
    Label(&'a str),
}

/// A lookup result: the context the extension was found in (maybe an included one), the
/// extension and the priority number.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The context holding the extension.
    pub context: &'a str,
    /// The extension.
    pub ext: &'a Extension,
    /// The priority number found.
    pub prio: u32,
}

/// The whole dialplan: contexts, globals and `[general]` flags.
#[derive(Debug, Clone, Default)]
pub struct Dialplan {
    pub(crate) contexts: HashMap<String, Context, KeyedState>,
    pub(crate) order: Vec<String>,
    pub(crate) globals: HashMap<String, String>,
    pub(crate) autofallthrough: bool,
    /// The local zone and the named zones read with the config (UTC by default).
    pub(crate) zones: crate::tz::Zones,
    /// The default country's tones from indications.conf (PlayTones names).
    pub(crate) tones: Option<std::sync::Arc<crate::config::indications::ToneZone>>,
    /// extensions.conf `clearglobalvars`: a reload forgets globals set at run time.
    pub(crate) clear_globals: bool,
    /// Run-time globals and group counts, shared by every call (see `shared`).
    pub(crate) shared: super::shared::SharedRef,
}

impl Dialplan {
    /// An empty dialplan over `shared`: what a call's variables are read and written
    /// against outside a step (no contexts, no `[globals]`). Built from a per-thread
    /// template: `Default` would build (and drop) a whole `Shared` and zone table each time.
    pub(crate) fn detached(shared: &super::shared::SharedRef) -> Dialplan {
        thread_local! {
            static EMPTY: Dialplan = Dialplan::default();
        }
        EMPTY.with(|e| Dialplan {
            contexts: HashMap::with_hasher(e.contexts.hasher().clone()),
            order: Vec::new(),
            globals: HashMap::with_hasher(e.globals.hasher().clone()),
            autofallthrough: e.autofallthrough,
            zones: e.zones.clone(),
            tones: None,
            clear_globals: e.clear_globals,
            shared: shared.clone(),
        })
    }

    /// The dialplan's hash secret, for the tables of its calls (channel variables).
    pub(crate) fn keyed(&self) -> KeyedState {
        self.contexts.hasher().clone()
    }

    /// Makes the local zone (time conditions and STRFTIME without a zone) a fixed offset
    /// east of UTC in seconds (default 0: UTC).
    pub fn set_utc_offset(&mut self, secs: i64) {
        self.zones.set_local(crate::tz::Zone::fixed(secs));
    }

    /// Installs the zones read with the config (the local zone and the named ones).
    pub fn set_zones(&mut self, zones: crate::tz::Zones) {
        self.zones = zones;
    }

    /// Installs the tone zone PlayTones looks names up in (indications.conf's default
    /// country); `None` keeps the built-in US tones.
    pub fn set_tones(&mut self, zone: Option<crate::config::indications::ToneZone>) {
        self.tones = zone.map(std::sync::Arc::new);
    }

    /// A PlayTones argument: a name of the tone zone becomes its list; anything else (a
    /// list, or a name the zone lacks: the built-in US tones) stays as it is.
    pub(crate) fn tone_list(&self, arg: &str) -> String {
        match self.tones.as_ref().and_then(|z| z.tone(arg)) {
            Some(list) => list.to_string(),
            None => arg.trim().to_string(),
        }
    }

    /// The zones time is evaluated in.
    pub fn zones(&self) -> &crate::tz::Zones {
        &self.zones
    }

    /// For a reload: takes over `old`'s run-time state (globals calls set, group counts, the
    /// AstDB), so running calls and new ones keep sharing one (zones come with the new
    /// config). As
    /// pbx_config's reload re-sets `[globals]`, a name the new file defines there drops the
    /// value set at run time; with `clearglobalvars=yes` every run-time global goes.
    pub fn adopt_shared(&mut self, old: &Dialplan) {
        self.shared = old.shared.clone();
        let mut s = super::shared::lock(&self.shared);
        if self.clear_globals {
            s.globals.clear();
        } else {
            for name in self.globals.keys() {
                s.globals.remove(name);
            }
        }
    }

    /// Number of contexts (for the reload summary).
    pub fn context_count(&self) -> usize {
        self.contexts.len()
    }

    /// Loads AstDB rows (`/family/key`, value) read from disk at start; how many are held.
    pub fn load_astdb(&self, rows: impl IntoIterator<Item = (String, String)>) -> usize {
        super::shared::lock(&self.shared).astdb.load(rows)
    }

    /// Installs voicemail (voicemail.conf, the spool root and the index the binary read).
    pub fn set_voicemail(&self, vm: crate::voicemail::Voicemail) {
        super::shared::lock(&self.shared).voicemail = vm;
    }

    /// Sets where MixMonitor's relative file names go (`<astspooldir>/monitor`).
    pub fn set_monitor_dir(&self, dir: std::path::PathBuf) {
        super::shared::lock(&self.shared).monitor_dir = dir;
    }

    /// Where MixMonitor's relative file names go.
    pub(crate) fn monitor_dir(&self) -> std::path::PathBuf {
        super::shared::lock(&self.shared).monitor_dir.clone()
    }

    /// Runs `f` on the voicemail state (counts for MWI, the index for inspection).
    pub fn with_voicemail<R>(&self, f: impl FnOnce(&mut crate::voicemail::Voicemail) -> R) -> R {
        f(&mut super::shared::lock(&self.shared).voicemail)
    }

    /// The AstDB changes made since the last call, for the disk.
    pub fn take_db_ops(&self) -> Vec<super::astdb::DbOp> {
        super::shared::lock(&self.shared).astdb.take_pending()
    }

    /// The AstDB value of `family/key`.
    pub fn db_get(&self, family_key: &str) -> Option<String> {
        let key = super::astdb::full_key(family_key)?;
        super::shared::lock(&self.shared)
            .astdb
            .get(&key)
            .map(str::to_string)
    }

    /// Runs `f` on the AstDB (the CLI's `database` commands; changes it makes are queued for
    /// the disk like the dialplan's).
    pub fn with_astdb<R>(&self, f: impl FnOnce(&mut super::astdb::AstDb) -> R) -> R {
        f(&mut super::shared::lock(&self.shared).astdb)
    }

    /// The hint of `exten` in `context` or, as Asterisk's `ast_get_hint`, in its includes
    /// (depth first, at most 8 levels).
    pub fn hint(&self, context: &str, exten: &str) -> Option<&str> {
        fn walk<'a>(d: &'a Dialplan, ctx: &str, exten: &str, depth: u8) -> Option<&'a str> {
            let c = d.contexts.get(ctx)?;
            if let Some(h) = c.hints.get(exten) {
                return Some(h.as_str());
            }
            if depth == 0 {
                return None;
            }
            c.includes
                .iter()
                .find_map(|i| walk(d, &i.name, exten, depth - 1))
        }
        walk(self, context, exten, 8)
    }

    /// Replaces the device states functions read (the engine's view after each event).
    pub fn set_device_states(&self, states: HashMap<String, crate::presence::DeviceState>) {
        super::shared::lock(&self.shared).devices = states;
    }

    /// Changes some device states of that view (the others stay).
    pub fn update_device_states(&self, changes: Vec<(String, crate::presence::DeviceState)>) {
        super::shared::lock(&self.shared).devices.extend(changes);
    }

    /// The taken parking positions (`701@parkedcalls`, lower case), for `park:` hints.
    pub fn set_parked(&self, positions: std::collections::HashSet<String>) {
        super::shared::lock(&self.shared).parked = positions;
    }

    /// The state of device `SIP/name` (`DEVICE_STATE()`): INVALID for an unknown entry,
    /// UNKNOWN for another technology; `park:701@parkedcalls` (res_parking's
    /// `parking_devicestate.c`) is INUSE while a call is parked there, else NOT_INUSE.
    pub fn device_state(&self, device: &str) -> crate::presence::DeviceState {
        use crate::presence::DeviceState;
        let device = device.trim();
        if let Some(pos) = device
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("park:"))
            .map(|_| &device[5..])
        {
            let taken = super::shared::lock(&self.shared)
                .parked
                .contains(&pos.to_ascii_lowercase());
            return if taken {
                DeviceState::InUse
            } else {
                DeviceState::NotInUse
            };
        }
        let Some((tech, name)) = device.split_once('/') else {
            return DeviceState::Invalid;
        };
        if !tech.eq_ignore_ascii_case("SIP") {
            return DeviceState::Unknown;
        }
        super::shared::lock(&self.shared)
            .devices
            .get(name)
            .copied()
            .unwrap_or(DeviceState::Invalid)
    }

    /// The state of extension `exten` in `context` from its hint (`EXTENSION_STATE()`);
    /// `None` without a hint.
    pub fn extension_state(&self, context: &str, exten: &str) -> Option<crate::presence::ExtState> {
        let hint = self.hint(context, exten)?;
        Some(crate::presence::ExtState::aggregate(
            hint.split('&').map(|d| self.device_state(d)),
        ))
    }

    /// The `[globals]` value of `name`.
    pub fn global(&self, name: &str) -> Option<&str> {
        self.globals.get(name).map(String::as_str)
    }

    /// Whether the context exists.
    pub fn has_context(&self, name: &str) -> bool {
        self.contexts.contains_key(name)
    }

    /// Every extension with the context holding it, contexts in file order (for reports on
    /// what was loaded, such as how much of a dialplan uses supported applications).
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &Extension)> + '_ {
        self.order.iter().flat_map(move |name| {
            self.contexts
                .get(name)
                .into_iter()
                .flat_map(move |ctx| ctx.exts.iter().map(move |e| (name.as_str(), e)))
        })
    }

    /// Is there an extension `exten` with this priority in `context` (or its includes) for a
    /// call from `callerid`? `now` decides time-restricted includes.
    pub fn exists(
        &self,
        context: &str,
        exten: &str,
        priority: u32,
        callerid: &str,
        now: SystemTime,
    ) -> bool {
        self.find(context, exten, callerid, Want::Prio(priority), now)
            .is_some()
    }

    /// Finds the first extension matching `exten` that has `want`, searching the context
    /// then its includes in order, depth first, as Asterisk does (an extension lacking the
    /// priority lets a later match supply it).
    pub fn find<'a>(
        &'a self,
        context: &str,
        exten: &str,
        cid: &str,
        want: Want<'_>,
        now: SystemTime,
    ) -> Option<Found<'a>> {
        thread_local! {
            // The match list of a lookup, kept between lookups: no allocation per lookup.
            static HITS: std::cell::Cell<Vec<u32>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let data = strip_dashes_cow(exten);
        let mut stack = Walk::default();
        let mut buf = HITS.take();
        let found = self.find_in(context, &data, cid, want, now, &mut stack, &mut buf);
        buf.clear();
        HITS.set(buf);
        found
    }

    #[allow(clippy::too_many_arguments)]
    fn find_in<'a>(
        &'a self,
        context: &str,
        data: &str,
        cid: &str,
        want: Want<'_>,
        now: SystemTime,
        stack: &mut Walk<'a>,
        buf: &mut Vec<u32>,
    ) -> Option<Found<'a>> {
        let (name, ctx) = self.contexts.get_key_value(context)?;
        if !stack.enter(context) {
            return None;
        }
        ctx.matching(data, cid, buf);
        for &i in buf.iter() {
            let ext = &ctx.exts[i as usize];
            let prio = match want {
                Want::Prio(p) => ext.prios.contains_key(&p).then_some(p),
                Want::Label(l) => ext.label(l),
            };
            if let Some(prio) = prio {
                return Some(Found {
                    context: name,
                    ext,
                    prio,
                });
            }
        }
        if ctx.includes.is_empty() {
            return None;
        }
        stack.path.push(name);
        for inc in &ctx.includes {
            if inc
                .when
                .as_ref()
                .is_some_and(|w| !w.matches(now, &self.zones))
            {
                continue;
            }
            if let Some(f) = self.find_in(&inc.name, data, cid, want, now, stack, buf) {
                stack.path.pop();
                return Some(f);
            }
        }
        stack.path.pop();
        None
    }

    /// For digit collection: does `digits` match an extension with priority 1 now, and could
    /// more digits match one (Asterisk's `ast_exists_extension` / `ast_matchmore_extension`)?
    pub fn fit(&self, context: &str, digits: &str, cid: &str, now: SystemTime) -> (bool, bool) {
        let data = strip_dashes_cow(digits);
        let mut acc = (false, false);
        let mut stack = Walk::default();
        self.fit_in(context, &data, cid, now, &mut stack, &mut acc);
        acc
    }

    fn fit_in<'a>(
        &'a self,
        context: &str,
        data: &str,
        cid: &str,
        now: SystemTime,
        stack: &mut Walk<'a>,
        acc: &mut (bool, bool),
    ) {
        let Some((name, ctx)) = self.contexts.get_key_value(context) else {
            return;
        };
        if !stack.enter(context) {
            return;
        }
        for e in &ctx.exts {
            if !e.prios.contains_key(&1) || e.cid.as_ref().is_some_and(|c| !c.matches(cid)) {
                continue;
            }
            let f = e.name.fit(data);
            acc.0 |= f.matches();
            acc.1 |= f.more();
        }
        stack.path.push(name);
        for inc in &ctx.includes {
            if inc
                .when
                .as_ref()
                .is_none_or(|w| w.matches(now, &self.zones))
            {
                self.fit_in(&inc.name, data, cid, now, stack, acc);
            }
        }
        stack.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialplan(text: &str) -> Dialplan {
        let cfg = crate::config::load_str("[general]\n", text, None).unwrap();
        Dialplan::from_sections(&cfg.extensions).unwrap().0
    }

    /// The index's answer is the plain scan's: every extension whose name and caller ID
    /// match, literals first, in the context's (ext_cmp) order. The probe skips prefix
    /// lengths no pattern has; this checks it skips none that one has.
    #[test]
    fn the_index_finds_what_a_scan_finds() {
        let long = "9".repeat(70);
        let dp = dialplan(&format!(
            "[c]\nexten => 1002,1,NoOp()\nexten => _100X,1,NoOp()\nexten => _1XXX,1,NoOp()\n\
             exten => _X.,1,NoOp()\nexten => _.,1,NoOp()\nexten => _10!,1,NoOp()\n\
             exten => 1002/555,1,NoOp()\nexten => _2[0-5]X,1,NoOp()\nexten => _é1X,1,NoOp()\n\
             exten => _{long}X,1,NoOp()\nexten => s,1,NoOp()\nexten => _1-0-0-X,1,NoOp()\n"
        ));
        let ctx = &dp.contexts["c"];
        let numbers = [
            "1002".to_string(),
            "1003".into(),
            "10".into(),
            "1".into(),
            "".into(),
            "s".into(),
            "251".into(),
            "é12".into(),
            "2999".into(),
            format!("{long}1"),
            format!("{long}12"),
        ];
        let mut got = Vec::new();
        for n in &numbers {
            for cid in ["", "555", "1001"] {
                ctx.matching(n, cid, &mut got);
                let scan: Vec<u32> = (0..ctx.exts.len() as u32)
                    .filter(|&i| {
                        let e = &ctx.exts[i as usize];
                        e.name.matches(n) && e.cid.as_ref().is_none_or(|c| c.matches(cid))
                    })
                    .collect();
                let (mut lit, pat): (Vec<u32>, Vec<u32>) = scan
                    .into_iter()
                    .partition(|&i| !ctx.exts[i as usize].name.is_pattern());
                lit.extend(pat);
                assert_eq!(got, lit, "number {n:?}, caller {cid:?}");
            }
        }
        assert!(dp
            .find("c", "1002", "", Want::Prio(1), SystemTime::UNIX_EPOCH)
            .is_some());
        assert!(dp
            .find("c", "1-0-0-2", "", Want::Prio(1), SystemTime::UNIX_EPOCH)
            .is_some());
    }
}
