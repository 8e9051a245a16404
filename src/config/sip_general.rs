//! sip.conf `[general]`: the server-wide settings, with chan_sip's defaults.
//!
//! Options that are sipbox's own, not Asterisk's: `maxcalls` (bound on the call table,
//! default 1000), `maxregistrations` (bound on registrar bindings, default 100000) and the
//! brute-force ban's (`ban.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::codec::{self, Codec};
use super::raw::{ConfigError, Entry, Loc};
use super::sip_values::{parse_dtmfmode, parse_qualify, DtmfMode, Nat};
use super::values::{bad, bool_of, millis_of, port_of, secs_of, u32_of, Warnings};

/// The `[general]` settings of sip.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct General {
    /// `bindaddr` (0.0.0.0) and `bindport` (5060, 0 = ephemeral), or `udpbindaddr=addr[:port]`
    /// which overrides both.
    pub bind: SocketAddr,
    /// `context`: where unauthenticated guests and entries without their own context land.
    pub context: String,
    /// `realm` of digest challenges (`sipbox`).
    pub realm: String,
    /// `allowguest` (no; chan_sip says yes): accept calls from unknown sources into `context`.
    pub allow_guest: bool,
    /// `alwaysauthreject` (yes): answer a wrong user like a wrong password.
    pub always_auth_reject: bool,
    /// `defaultexpiry` (120 s): REGISTER expiry when the client names none.
    pub default_expiry: Duration,
    /// `minexpiry` (60 s): shorter requests get 423 Interval Too Brief.
    pub min_expiry: Duration,
    /// `maxexpiry` (3600 s): longer requests are cut down to this.
    pub max_expiry: Duration,
    /// `useragent` (`sipbox`): our User-Agent / Server header.
    pub user_agent: String,
    /// `vmexten` (`asterisk`): the voicemail extension named in MWI's Message-Account.
    pub vmexten: String,
    /// `allow` / `disallow`: codec preference, best first (µ-law, A-law by default).
    pub codecs: Vec<Codec>,
    /// `timert1` (500 ms): RFC 3261 T1.
    pub timer_t1: Duration,
    /// `timerb` (64 × T1): INVITE transaction timeout; never below 64 × T1.
    pub timer_b: Duration,
    /// `rtptimeout` (60 s; chan_sip: off; 0 = off): hang up a call whose media stopped this
    /// long.
    pub rtp_timeout: Option<Duration>,
    /// `rtpholdtimeout` (300 s; chan_sip: off; 0 = off): the same while on hold.
    pub rtp_hold_timeout: Option<Duration>,
    /// `nat` default for entries (force_rport).
    pub nat: Nat,
    /// `dtmfmode` default for entries (`rfc2833`).
    pub dtmfmode: DtmfMode,
    /// `relaxdtmf`: looser twist limits for inband detection (Asterisk's `DSP_DIGITMODE_RELAXDTMF`).
    pub relax_dtmf: bool,
    /// `directmedia` / `canreinvite` default for entries; stored, sipbox always relays.
    pub directmedia: Option<String>,
    /// `allowtransfer` (yes, as chan_sip): default for entries; `no` refuses REFER with 603.
    pub allow_transfer: bool,
    /// `sendrpid` (no): default for entries.
    pub sendrpid: super::sip_identity::SendRpid,
    /// `trustrpid` (no): default for entries.
    pub trustrpid: bool,
    /// `transfercontext` (unset): default for entries; where a blind transfer's extension is
    /// looked up instead of the transferer's `context`.
    pub transfer_context: Option<String>,
    /// `allowoverlap` (yes): default for entries.
    pub allow_overlap: super::sip_dialling::Overlap,
    /// `language` (`en`, Asterisk's default language): default for entries; the channel's
    /// `CHANNEL(language)`, which picks the prompts' language directory.
    pub language: String,
    /// `soundsdir` (`/usr/share/asterisk/sounds/en`): where Playback looks.
    pub sounds_dir: PathBuf,
    /// `mohinterpret` (`default`): default for entries; the class an entry's phone hears
    /// when the other party holds and suggests none.
    pub moh_interpret: String,
    /// `mohsuggest` (empty): default for entries; the class an entry suggests to the party
    /// it puts on hold.
    pub moh_suggest: String,
    /// `qualifyfreq` (60 s): how often qualified entries are OPTIONS-pinged.
    pub qualify_freq: Duration,
    /// `qualify` (off): default for entries, as chan_sip's `[general]` qualify (1.8+).
    pub qualify: Option<Duration>,
    /// `maxcalls` (sipbox's own, 1000): bound on the call table.
    pub max_calls: usize,
    /// `maxregistrations` (sipbox's own, 100000): bound on registrar bindings.
    pub max_registrations: usize,
    /// `banfailures`, `banwindow`, `bantime`, `banignore` (sipbox's own): the brute-force ban.
    pub ban: super::ban::BanSettings,
    /// `srvlookup` (yes, chan_sip's `DEFAULT_SRVLOOKUP`): a static `host=name` without a port
    /// is looked up by `_sip._udp` SRV first (RFC 3263 §4.2).
    pub srv_lookup: bool,
    /// `externaddr`, `externhost`, `externrefresh`, `localnet`, `keepalive`, `rtpkeepalive`.
    pub nat_addressing: super::sip_nat::NatAddressing,
    /// `registertimeout` (20 s): how long an outbound REGISTER waits for its answer before
    /// it is tried again.
    pub register_timeout: Duration,
    /// `registerattempts` (0 = forever): failed outbound REGISTERs in a row before a
    /// registration gives up (state Failed).
    pub register_attempts: u32,
    /// Presence and busy lamps (`allowsubscribe`, `notifyringing`, ...).
    pub presence: super::sip_presence::PresenceGeneral,
    /// SIP MESSAGE (`accept_outofcall_message`, ...).
    pub message: super::sip_message::MessageGeneral,
    /// Session timers (`session-timers`, `session-expires`, ...): the entries' defaults.
    pub session_timers: super::sip_session_timers::SessionTimers,
}

impl Default for General {
    fn default() -> Self {
        General {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5060),
            context: "default".into(),
            realm: "sipbox".into(),
            allow_guest: false,
            srv_lookup: true,
            always_auth_reject: true,
            default_expiry: Duration::from_secs(120),
            min_expiry: Duration::from_secs(60),
            max_expiry: Duration::from_secs(3600),
            user_agent: "sipbox".into(),
            vmexten: "asterisk".into(),
            codecs: codec::default_prefs(),
            timer_t1: Duration::from_millis(500),
            timer_b: Duration::from_millis(500 * 64),
            rtp_timeout: Some(Duration::from_secs(60)),
            rtp_hold_timeout: Some(Duration::from_secs(300)),
            nat: Nat::DEFAULT,
            dtmfmode: DtmfMode::Rfc2833,
            relax_dtmf: false,
            directmedia: None,
            allow_transfer: true,
            sendrpid: Default::default(),
            trustrpid: false,
            transfer_context: None,
            allow_overlap: Default::default(),
            language: "en".into(),
            sounds_dir: PathBuf::from("/usr/share/asterisk/sounds/en"),
            moh_interpret: "default".into(),
            moh_suggest: String::new(),
            qualify_freq: Duration::from_secs(60),
            qualify: None,
            max_calls: 1000,
            max_registrations: 100_000,
            ban: super::ban::BanSettings::default(),
            nat_addressing: Default::default(),
            register_timeout: Duration::from_secs(20),
            register_attempts: 0,
            presence: Default::default(),
            message: Default::default(),
            session_timers: Default::default(),
        }
    }
}

fn off_if_zero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

fn text_of(e: &Entry) -> Result<String, ConfigError> {
    if e.value.is_empty() {
        Err(bad(e, "must not be empty"))
    } else {
        Ok(e.value.to_string())
    }
}

/// What `[general]` options set that is only applied once all were read.
#[derive(Default)]
struct Pending {
    bind_ip: Option<IpAddr>,
    bind_port: Option<u16>,
    udp_bind: Option<(IpAddr, Option<u16>)>,
    timer_b: Option<(Duration, Loc)>,
    expiry_loc: Option<Loc>,
}

impl General {
    /// Builds the settings from the `[general]` entries (all `[general]` sections merged, in
    /// order). `register =>` lines are not looked at here. A bad value is a `file:line` warning
    /// and the option keeps its default, as chan_sip's `reload_config` does; options sipbox
    /// does not act on go to [`Warnings::other`].
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = &'a Entry> + Clone,
        warnings: &mut Warnings,
    ) -> Result<General, ConfigError> {
        let mut g = General::default();
        let mut p = Pending::default();
        for e in entries.clone() {
            if let Err(err) = g.option(e, &mut p, warnings) {
                warnings.ignored(err);
            }
        }
        g.codecs = codec::apply_all(g.codecs, entries, warnings);
        let bind_port = p.bind_port.unwrap_or(g.bind.port());
        g.bind = match p.udp_bind {
            Some((ip, port)) => SocketAddr::new(ip, port.unwrap_or(bind_port)),
            None => SocketAddr::new(p.bind_ip.unwrap_or(g.bind.ip()), bind_port),
        };
        let min_b = g.timer_t1 * 64;
        g.timer_b = match p.timer_b {
            Some((b, loc)) if b < min_b => {
                warnings.at(
                    &loc,
                    format!("timerb below 64 x timert1, using {} ms", min_b.as_millis()),
                );
                min_b
            }
            Some((b, _)) => b,
            None => min_b,
        };
        if let Some(loc) = p.expiry_loc.filter(|_| g.min_expiry > g.max_expiry) {
            warnings.at(
                &loc,
                format!(
                    "minexpiry {} s is larger than maxexpiry {} s; using {} s for both",
                    g.min_expiry.as_secs(),
                    g.max_expiry.as_secs(),
                    g.max_expiry.as_secs()
                ),
            );
            g.min_expiry = g.max_expiry;
        }
        Ok(g)
    }

    /// Applies one entry; an error leaves the setting as it was.
    fn option(
        &mut self,
        e: &Entry,
        p: &mut Pending,
        warnings: &mut Warnings,
    ) -> Result<(), ConfigError> {
        let g = self;
        match e.key.to_ascii_lowercase().as_str() {
            "bindaddr" => {
                p.bind_ip = Some(
                    e.value
                        .parse()
                        .map_err(|_| bad(e, "expected an IP address"))?,
                )
            }
            "bindport" => p.bind_port = Some(port_of(e, true)?),
            "udpbindaddr" => p.udp_bind = Some(parse_udpbindaddr(e)?),
            "context" => g.context = text_of(e)?,
            "realm" => g.realm = text_of(e)?,
            "allowguest" => g.allow_guest = bool_of(e)?,
            "srvlookup" => g.srv_lookup = bool_of(e)?,
            "alwaysauthreject" => g.always_auth_reject = bool_of(e)?,
            "defaultexpiry" | "defaultexpirey" => g.default_expiry = secs_of(e)?,
            "minexpiry" | "minexpirey" => {
                g.min_expiry = secs_of(e)?;
                p.expiry_loc = Some(e.loc.clone());
            }
            "maxexpiry" | "maxexpirey" => {
                g.max_expiry = secs_of(e)?;
                p.expiry_loc = Some(e.loc.clone());
            }
            "useragent" => g.user_agent = text_of(e)?,
            "vmexten" => g.vmexten = text_of(e)?,
            k if super::sip_message::is_key(k) => super::sip_message::option(&mut g.message, e)?,
            k if super::sip_session_timers::is_key(k) => {
                super::sip_session_timers::option(&mut g.session_timers, e)?
            }
            k if super::sip_presence::is_general_key(k) => {
                super::sip_presence::general_option(&mut g.presence, e)?
            }
            "allow" | "disallow" => {} // applied in order after the loop
            "timert1" => {
                let t1 = millis_of(e)?;
                if t1 < Duration::from_millis(100) {
                    return Err(bad(e, "T1 must be at least 100 ms"));
                }
                g.timer_t1 = t1;
            }
            "timerb" => p.timer_b = Some((millis_of(e)?, e.loc.clone())),
            "rtptimeout" => g.rtp_timeout = off_if_zero(secs_of(e)?),
            "rtpholdtimeout" => g.rtp_hold_timeout = off_if_zero(secs_of(e)?),
            "nat" => g.nat = Nat::parse(e, warnings)?,
            "dtmfmode" => g.dtmfmode = parse_dtmfmode(e)?,
            "relaxdtmf" => g.relax_dtmf = bool_of(e)?,
            "directmedia" | "canreinvite" => {
                g.directmedia = Some(e.value.to_string()).filter(|v| !v.is_empty())
            }
            "allowtransfer" => g.allow_transfer = bool_of(e)?,
            "sendrpid" => g.sendrpid = super::sip_identity::SendRpid::parse(e)?,
            "trustrpid" => g.trustrpid = bool_of(e)?,
            "transfercontext" => g.transfer_context = Some(text_of(e)?),
            "allowoverlap" => g.allow_overlap = super::sip_dialling::Overlap::parse(e)?,
            "language" => g.language = super::sip_dialling::parse_language(e)?,
            "soundsdir" => g.sounds_dir = PathBuf::from(text_of(e)?),
            "mohinterpret" => g.moh_interpret = e.value.trim().to_string(),
            "mohsuggest" => g.moh_suggest = e.value.trim().to_string(),
            "qualifyfreq" => {
                let f = secs_of(e)?;
                if f.is_zero() {
                    return Err(bad(e, "must be at least 1 second"));
                }
                g.qualify_freq = f;
            }
            "qualify" => g.qualify = parse_qualify(e)?,
            "maxcalls" => g.max_calls = positive(e)?,
            "maxregistrations" => g.max_registrations = positive(e)?,
            "register" => {} // read by sip_conf
            "registertimeout" => {
                let t = secs_of(e)?;
                if t.is_zero() {
                    return Err(bad(e, "must be at least 1 second"));
                }
                g.register_timeout = t;
            }
            "registerattempts" => g.register_attempts = u32_of(e)?,
            k if super::ban::BanSettings::reads(k) => g.ban.apply(k, e)?,
            k if super::sip_nat::NatAddressing::reads(k) => g.nat_addressing.apply(k, e)?,
            _ => warnings.other(e),
        }
        Ok(())
    }
}

fn positive(e: &Entry) -> Result<usize, ConfigError> {
    match u32_of(e)? {
        0 => Err(bad(e, "must be at least 1")),
        n => Ok(n as usize),
    }
}

/// `udpbindaddr=addr[:port]`, IPv6 as `[addr]:port` or bare.
fn parse_udpbindaddr(e: &Entry) -> Result<(IpAddr, Option<u16>), ConfigError> {
    if let Ok(sa) = e.value.parse::<SocketAddr>() {
        return Ok((sa.ip(), Some(sa.port())));
    }
    let v = e.value.trim_start_matches('[').trim_end_matches(']');
    v.parse::<IpAddr>()
        .map(|ip| (ip, None))
        .map_err(|_| bad(e, "expected an address with an optional :port"))
}

#[cfg(test)]
mod tests {
    use super::super::reader::read_str;
    use super::*;

    fn general(text: &str) -> Result<(General, Vec<String>), String> {
        let s = read_str("sip.conf", text, None).map_err(|e| e.to_string())?;
        let mut w = Warnings::default();
        let g = General::parse(&s[0].entries, &mut w).map_err(|e| e.to_string())?;
        Ok((g, w.into_vec()))
    }

    #[test]
    fn defaults() {
        let (g, w) = general("[general]\n").unwrap();
        assert_eq!(g, General::default());
        assert!(w.is_empty());
        assert_eq!(g.bind, "0.0.0.0:5060".parse().unwrap());
        assert_eq!(g.timer_b, Duration::from_secs(32));
    }

    #[test]
    fn dtmf_options() {
        let (g, w) = general("[general]\ndtmfmode=Auto\nrelaxdtmf=yes\n").unwrap();
        assert_eq!((g.dtmfmode, g.relax_dtmf), (DtmfMode::Auto, true));
        assert!(w.is_empty());
        assert_eq!(DtmfMode::Auto.effective(true), DtmfMode::Rfc2833);
        assert_eq!(DtmfMode::Auto.effective(false), DtmfMode::Inband);
        assert_eq!(DtmfMode::Info.effective(true), DtmfMode::Info);
        // chan_sip warns about an unknown mode and keeps rfc2833.
        let (g, w) = general("[general]\ndtmfmode=rfc4733\n").unwrap();
        assert_eq!(g.dtmfmode, DtmfMode::Rfc2833);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].starts_with("sip.conf:2: bad value 'rfc4733' for 'dtmfmode'"),
            "{w:?}"
        );
    }

    #[test]
    fn bind_forms() {
        let b = |t: &str| general(t).map(|(g, _)| g.bind.to_string());
        assert_eq!(b("[general]\nbindport=0\n").unwrap(), "0.0.0.0:0");
        assert_eq!(
            b("[general]\nbindaddr=127.0.0.1\nbindport=5070\n").unwrap(),
            "127.0.0.1:5070"
        );
        assert_eq!(
            b("[general]\nudpbindaddr=10.0.0.1:5080\nbindport=5070\n").unwrap(),
            "10.0.0.1:5080"
        );
        assert_eq!(
            b("[general]\nbindport=5070\nudpbindaddr=10.0.0.1\n").unwrap(),
            "10.0.0.1:5070"
        );
        assert_eq!(
            b("[general]\nudpbindaddr=[::]:5090\n").unwrap(),
            "[::]:5090"
        );
        // chan_sip warns about a bad port or address and keeps the default.
        for (text, want) in [
            ("[general]\nbindport=70000\n", "sip.conf:2: bad value '70000' for 'bindport': expected a port number 0-65535; ignored"),
            ("[general]\nbindport=<LPORT>\n", "sip.conf:2: bad value '<LPORT>' for 'bindport': expected a port number 0-65535; ignored"),
            ("[general]\nbindaddr=localhost\n", "sip.conf:2: bad value 'localhost' for 'bindaddr': expected an IP address; ignored"),
        ] {
            let (g, w) = general(text).unwrap();
            assert_eq!(g.bind, General::default().bind, "{text}");
            assert_eq!(w, [want]);
        }
    }

    #[test]
    fn timers_and_offs() {
        let (g, w) = general("[general]\ntimert1=1000\nrtptimeout=60\nrtpholdtimeout=0\n").unwrap();
        assert_eq!(g.timer_b, Duration::from_secs(64));
        assert_eq!(g.rtp_timeout, Some(Duration::from_secs(60)));
        assert_eq!(g.rtp_hold_timeout, None);
        assert!(w.is_empty());
        let (g, w) = general("[general]\ntimerb=1000\n").unwrap();
        assert_eq!(g.timer_b, Duration::from_secs(32));
        assert_eq!(w, ["sip.conf:2: timerb below 64 x timert1, using 32000 ms"]);
        let (g, w) = general("[general]\nmaxcalls=0\ntimert1=50\nqualifyfreq=0\n").unwrap();
        assert_eq!(g, General::default());
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().all(|m| m.ends_with("; ignored")), "{w:?}");
        let (g, w) = general("[general]\nminexpiry=4000\n").unwrap();
        assert_eq!(g.min_expiry, g.max_expiry);
        assert_eq!(
            w,
            ["sip.conf:2: minexpiry 4000 s is larger than maxexpiry 3600 s; using 3600 s for both"]
        );
        let (g, w) = general("[general]\nnat=route\n").unwrap();
        assert!(g.nat.force_rport);
        assert_eq!(w, ["sip.conf:2: nat=route taken as force_rport"]);
        let (g, w) = general("[general]\nnat=sometimes\n").unwrap();
        assert_eq!(g.nat, Nat::DEFAULT);
        assert_eq!(w.len(), 1);
    }
}
