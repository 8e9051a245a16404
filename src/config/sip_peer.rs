//! One sip.conf user/peer/friend section (`[1001]`, `type=friend`, ...) as typed settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::acl::{Acl, Sense};
use super::codec::{self, Codec};
use super::raw::{ConfigError, Entry, Loc, Section};
use super::sip_general::General;
use super::sip_peer_memo::{is_own, Memo};
use super::sip_values::{parse_dtmfmode, parse_qualify, CallerId, DtmfMode, Host, Insecure, Nat};
use super::values::{bad, bool_of, port_of, u32_of, Warnings};

/// `type=`: what the entry may do, as in chan_sip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `type=user`: may call us (inbound, authenticated by name).
    User,
    /// `type=peer`: we may call it; inbound requests are matched by address.
    Peer,
    /// `type=friend`: both.
    Friend,
}

impl Kind {
    /// True for `user` and `friend`: calls from it are accepted.
    pub fn calls_in(self) -> bool {
        matches!(self, Kind::User | Kind::Friend)
    }

    /// True for `peer` and `friend`: it can be dialed and may REGISTER.
    pub fn calls_out(self) -> bool {
        matches!(self, Kind::Peer | Kind::Friend)
    }
}

/// A typed user/peer/friend. Its `Debug` output hides `secret`, `md5secret` and
/// `remotesecret`.
///
/// Compact, for configs of thousands of users: what usually differs from one user to the
/// next (name, secrets, caller ID, mailbox, host) is held here; the rest, which the users of
/// one template share, is in [`PeerCommon`] behind an `Arc` that equal entries share (sip.conf
/// is read into one copy per distinct set of values). `SipPeer` derefs to it, so
/// `peer.context` reads the shared value.
#[derive(Clone, PartialEq, Eq)]
pub struct SipPeer {
    /// The section name: the auth user name and the `SIP/<name>` of Dial.
    pub name: String,
    /// `secret`: plain password for digest auth (theirs to us, and ours to them unless
    /// `remotesecret` is set).
    pub secret: Option<Box<str>>,
    /// `md5secret`: hex MD5 of `user:realm:secret`, used when given.
    pub md5secret: Option<Box<str>>,
    /// `host` (with `port`).
    pub host: Host,
    /// `callerid`.
    pub callerid: Option<CallerId>,
    /// `accountcode`: the CDR accountcode of its calls (and `<accountcode>.csv`).
    pub accountcode: Option<Box<str>>,
    /// `mailbox=box[@ctx][&box2...]`: the voicemail boxes whose message-waiting state this
    /// phone is sent (RFC 3842 NOTIFY).
    pub mailbox: Option<Box<str>>,
    /// Where the `[name]` line is.
    pub loc: Loc,
    /// The settings entries share (see above).
    pub common: Arc<PeerCommon>,
}

/// The part of a [`SipPeer`] that the users of one template share: one copy for every set of
/// equal values (`sip_conf.rs` shares them as it reads).
#[derive(Clone, PartialEq, Eq)]
pub struct PeerCommon {
    /// `type=`.
    pub kind: Kind,
    /// True when `host=name:port` or `port=` named the port: RFC 3263 §4.2 then skips the
    /// SRV lookup of a host name.
    pub port_given: bool,
    /// `remotesecret`: the password we answer this entry's challenges with.
    pub remotesecret: Option<String>,
    /// `authuser`: the digest user name we answer its challenges with (else `defaultuser`,
    /// else `fromuser`, else the entry's name).
    pub authuser: Option<String>,
    /// `auth = user:secret@realm` lines of the entry: credentials by realm, before
    /// `[authentication]`'s.
    pub auth: Vec<super::register_line::RealmAuth>,
    /// `outboundproxy`: every request to the entry (its calls, their in-dialog requests, its
    /// REGISTERs via `register => name?...`) goes there, with a `Route: <sip:proxy;lr>`.
    pub outboundproxy: Option<Host>,
    /// The `outboundproxy=` value named a port (no SRV lookup for it).
    pub outboundproxy_port_given: bool,
    /// `context` (default: the general context): where its calls enter the dialplan.
    pub context: String,
    /// `sendrpid`: the identity header on requests to it.
    pub sendrpid: super::sip_identity::SendRpid,
    /// `trustrpid`: take the caller ID of its INVITEs from P-Asserted-Identity or
    /// Remote-Party-ID.
    pub trustrpid: bool,
    /// `callingpres`: the presentation of its calls.
    pub callingpres: Option<&'static str>,
    /// `defaultuser` (alias `username`): user part when we call it before it registered.
    pub defaultuser: Option<String>,
    /// `fromuser`: user part of our From when calling it.
    pub fromuser: Option<String>,
    /// `fromdomain`: host part of our From when calling it.
    pub fromdomain: Option<String>,
    /// `qualify` (default: `[general]` qualify): OPTIONS ping with this reachability limit;
    /// `None` is off.
    pub qualify: Option<Duration>,
    /// `permit` / `deny`: which source addresses it may use.
    pub acl: Acl,
    /// `contactpermit` / `contactdeny`: which Contact addresses a REGISTER may bind.
    pub contact_acl: Acl,
    /// `call-limit`: concurrent calls, `None` unlimited (0 in the file).
    pub call_limit: Option<u32>,
    /// `callgroup`: the groups whose members may pick up this entry's ringing calls.
    pub call_group: super::groups::Groups,
    /// `pickupgroup`: the groups whose ringing calls this entry may pick up.
    pub pickup_group: super::groups::Groups,
    /// `allow` / `disallow` applied to the general list.
    pub codecs: Vec<Codec>,
    /// `nat` (default: general's).
    pub nat: Nat,
    /// `keepalive` (default: general's, off): a CRLF to its registered contacts this often.
    pub keepalive: Option<Duration>,
    /// `rtpkeepalive` (default: general's, off): a comfort-noise packet to its media after
    /// this long without sending any.
    pub rtp_keepalive: Option<Duration>,
    /// `insecure`.
    pub insecure: Insecure,
    /// `dtmfmode` (default: general's, `rfc2833`): how digits are sent to this entry's legs.
    pub dtmfmode: DtmfMode,
    /// `directmedia` / `canreinvite` as written (default: general's); stored, sipbox always
    /// relays media.
    pub directmedia: Option<String>,
    /// `allowtransfer` (default: general's, yes): `no` refuses its REFERs with 603.
    pub allow_transfer: bool,
    /// `transfercontext` (default: general's, unset): where its blind transfers are routed
    /// instead of its `context`.
    pub transfer_context: Option<String>,
    /// `allowoverlap` (default: general's, yes).
    pub allow_overlap: super::sip_dialling::Overlap,
    /// `language` (default: general's, `en`): its calls' `CHANNEL(language)`.
    pub language: String,
    /// `amaflags` (default DOCUMENTATION).
    pub amaflags: crate::cdr::AmaFlags,
    /// `mohinterpret` (default: general's, `default`).
    pub moh_interpret: String,
    /// `mohsuggest` (default: general's, empty).
    pub moh_suggest: String,
    /// Presence and busy lamps (`allowsubscribe`, `subscribecontext`, `callcounter`, ...).
    pub presence: super::sip_presence::PeerPresence,
    /// `maxcallspersource` (sipbox's own; `[general]`'s unless set here; 0 = off): calls the
    /// source address of a call from this entry may hold at once, this one included.
    pub max_calls_per_source: u32,
    /// Session timers (RFC 4028), `[general]`'s unless set here.
    pub session_timers: super::sip_session_timers::SessionTimers,
}

impl std::ops::Deref for SipPeer {
    type Target = PeerCommon;

    fn deref(&self) -> &PeerCommon {
        &self.common
    }
}

impl fmt::Debug for SipPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |s: Option<&str>| s.map(|_| "<hidden>");
        f.debug_struct("SipPeer")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("secret", &hide(self.secret.as_deref()))
            .field("md5secret", &hide(self.md5secret.as_deref()))
            .field("remotesecret", &hide(self.remotesecret.as_deref()))
            .field("authuser", &self.authuser)
            .field("auth", &self.auth)
            .field("outboundproxy", &self.outboundproxy)
            .field("host", &self.host)
            .field("port_given", &self.port_given)
            .field("context", &self.context)
            .field("callerid", &self.callerid)
            .field("defaultuser", &self.defaultuser)
            .field("fromuser", &self.fromuser)
            .field("fromdomain", &self.fromdomain)
            .field("qualify", &self.qualify)
            .field("acl", &self.acl)
            .field("contact_acl", &self.contact_acl)
            .field("call_limit", &self.call_limit)
            .field("max_calls_per_source", &self.max_calls_per_source)
            .field("codecs", &self.codecs)
            .field("nat", &self.nat)
            .field("keepalive", &self.keepalive)
            .field("rtp_keepalive", &self.rtp_keepalive)
            .field("insecure", &self.insecure)
            .field("dtmfmode", &self.dtmfmode)
            .field("directmedia", &self.directmedia)
            .field("allow_transfer", &self.allow_transfer)
            .field("transfer_context", &self.transfer_context)
            .field("allow_overlap", &self.allow_overlap)
            .field("language", &self.language)
            .field("accountcode", &self.accountcode)
            .field("amaflags", &self.amaflags)
            .field("moh_interpret", &self.moh_interpret)
            .field("moh_suggest", &self.moh_suggest)
            .field("loc", &self.loc)
            .finish()
    }
}

/// Why an option was not applied: chan_sip drops the whole entry for some faults and only
/// ignores the option for the rest.
enum Fault {
    Drop(ConfigError),
    Ignore(ConfigError),
}

impl From<ConfigError> for Fault {
    fn from(e: ConfigError) -> Fault {
        Fault::Ignore(e)
    }
}

fn opt_box(e: &Entry) -> Option<Box<str>> {
    (!e.value.is_empty()).then(|| e.value.as_str().into())
}

fn opt_text(e: &Entry) -> Option<String> {
    (!e.value.is_empty()).then(|| e.value.to_string())
}

impl SipPeer {
    /// Builds the entry from a section (already merged if repeated). An `Err` means the entry
    /// is dropped, as chan_sip's `build_peer` drops it: no `type=` or an unknown one, a bad
    /// `permit`/`deny`/`contactpermit`/`contactdeny` ACL, a `host=` that is not a host. Any
    /// other bad value is a warning and that option keeps its default; options sipbox does
    /// not act on go to [`Warnings::other`].
    pub fn parse(
        section: &Section,
        general: &General,
        warnings: &mut Warnings,
    ) -> Result<SipPeer, ConfigError> {
        SipPeer::parse_shared(section, general, warnings, &mut Memo::default())
    }

    /// [`SipPeer::parse`], taking the shared part from `memo` when the entry sets it with the
    /// lines of the last one (`sip_peer_memo.rs`), and leaving its own there when it asked
    /// for no warning.
    pub(super) fn parse_shared<'a>(
        section: &'a Section,
        general: &General,
        warnings: &mut Warnings,
        memo: &mut Memo<'a>,
    ) -> Result<SipPeer, ConfigError> {
        let Some(type_entry) = section.get("type") else {
            return Err(ConfigError::at(
                &section.loc,
                format!("[{}] has no 'type=' (user, peer or friend)", section.name),
            ));
        };
        let kind = match super::nocase::lowered(&type_entry.value).as_ref() {
            "user" => Kind::User,
            "peer" => Kind::Peer,
            "friend" => Kind::Friend,
            _ => return Err(bad(type_entry, "expected user, peer or friend")),
        };
        let own = |common| SipPeer {
            name: section.name.clone(),
            secret: None,
            md5secret: None,
            host: Host::Unset,
            callerid: None,
            accountcode: None,
            mailbox: None,
            loc: section.loc.clone(),
            common,
        };
        if let Some((common, lines)) = memo.get(section) {
            // Only the entry's own lines are left to read.
            let mut p = own(common);
            let (mut port, mut host_entry) = (None, None);
            for e in lines {
                p.apply(e, (&mut port, &mut host_entry), warnings)?;
            }
            p.place(host_entry, port)?;
            return Ok(p);
        }
        let mut p = own(Arc::new(PeerCommon {
            kind,
            port_given: false,
            remotesecret: None,
            authuser: None,
            auth: Vec::new(),
            outboundproxy: None,
            outboundproxy_port_given: false,
            context: general.context.clone(),
            sendrpid: general.sendrpid,
            trustrpid: general.trustrpid,
            callingpres: None,
            defaultuser: None,
            fromuser: None,
            fromdomain: None,
            qualify: general.qualify,
            acl: Acl::new(),
            contact_acl: Acl::new(),
            call_limit: None,
            call_group: 0,
            pickup_group: 0,
            codecs: Vec::new(),
            nat: general.nat,
            keepalive: general.nat_addressing.keepalive,
            rtp_keepalive: general.nat_addressing.rtp_keepalive,
            insecure: Insecure::default(),
            dtmfmode: general.dtmfmode,
            directmedia: general.directmedia.clone(),
            allow_transfer: general.allow_transfer,
            transfer_context: general.transfer_context.clone(),
            allow_overlap: general.allow_overlap,
            language: general.language.clone(),
            amaflags: crate::cdr::AmaFlags::default(),
            moh_interpret: general.moh_interpret.clone(),
            moh_suggest: general.moh_suggest.clone(),
            presence: super::sip_presence::PeerPresence::from_general(&general.presence),
            session_timers: general.session_timers,
            max_calls_per_source: general.ban.max_calls_per_source,
        }));
        let (mut port, mut host_entry) = (None, None);
        // Warnings asked for by the lines of the shared part (not the entry's own).
        let mut asked = 0;
        for e in &section.entries {
            let before = warnings.asked();
            p.apply(e, (&mut port, &mut host_entry), warnings)?;
            if !is_own(&e.key) {
                asked += warnings.asked() - before;
            }
        }
        p.place(host_entry, port)?;
        let before = warnings.asked();
        p.c().codecs = codec::apply_all(general.codecs.clone(), &section.entries, warnings);
        if asked == 0 && warnings.asked() == before {
            memo.keep(section, &p.common);
        }
        Ok(p)
    }

    /// Applies one entry: a bad value is a warning, a fault that drops the entry an `Err`.
    fn apply<'a>(
        &mut self,
        e: &'a Entry,
        place: (&mut Option<u16>, &mut Option<&'a Entry>),
        warnings: &mut Warnings,
    ) -> Result<(), ConfigError> {
        match self.option(e, place, warnings) {
            Ok(()) => Ok(()),
            Err(Fault::Drop(err)) => Err(err),
            Err(Fault::Ignore(err)) => {
                warnings.ignored(err);
                Ok(())
            }
        }
    }

    /// `host=` (with the entry's `port=`), read after all the lines.
    fn place(&mut self, host: Option<&Entry>, port: Option<u16>) -> Result<(), ConfigError> {
        let mut port_given = false;
        if let Some(e) = host {
            self.host = Host::parse(e, port)?;
            // A host name has a ':' only before its port (brackets are for IPv6 literals).
            port_given = port.is_some() || e.value.contains(':');
        }
        if self.common.port_given != port_given {
            self.c().port_given = port_given;
        }
        Ok(())
    }

    /// Applies one entry. `port` and `host` are kept for after the loop (`host=` needs the
    /// entry's `port=`).
    fn option<'a>(
        &mut self,
        e: &'a Entry,
        (port, host): (&mut Option<u16>, &mut Option<&'a Entry>),
        warnings: &mut Warnings,
    ) -> Result<(), Fault> {
        let p = self;
        let acl_err = |m: String| Fault::Drop(bad(e, &m));
        match super::nocase::lowered(&e.key).as_ref() {
            "type" => {}
            "secret" => p.secret = opt_box(e),
            "md5secret" => {
                if !e.value.is_empty()
                    && (e.value.len() != 32 || !e.value.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(Fault::Ignore(bad(e, "expected 32 hex digits")));
                }
                p.md5secret = opt_box(e);
            }
            "remotesecret" => p.c().remotesecret = opt_text(e),
            "authuser" => p.c().authuser = opt_text(e),
            "auth" => p.c().auth.push(super::register_line::RealmAuth::parse(e)?),
            "outboundproxy" => {
                p.c().outboundproxy = Some(super::sip_outbound::parse_outboundproxy(e)?);
                p.c().outboundproxy_port_given = super::sip_outbound::proxy_port_given(&e.value);
            }
            "host" => *host = Some(e),
            "port" => *port = Some(port_of(e, false)?),
            "context" => p.c().context = opt_text(e).ok_or_else(|| bad(e, "must not be empty"))?,
            "callerid" => p.callerid = Some(CallerId::parse(&e.value)),
            "sendrpid" => p.c().sendrpid = super::sip_identity::SendRpid::parse(e)?,
            "trustrpid" => p.c().trustrpid = bool_of(e)?,
            "callingpres" => p.c().callingpres = Some(super::sip_identity::parse_callingpres(e)?),
            // chan_sip's build_peer: name and number of the caller ID set one at a time.
            "fullname" => p.callerid.get_or_insert_with(CallerId::default).name = opt_text(e),
            "cid_number" => p.callerid.get_or_insert_with(CallerId::default).number = opt_text(e),
            "defaultuser" | "username" => p.c().defaultuser = opt_text(e),
            "accountcode" => p.accountcode = opt_box(e),
            "allowoverlap" => p.c().allow_overlap = super::sip_dialling::Overlap::parse(e)?,
            "language" => p.c().language = super::sip_dialling::parse_language(e)?,
            "amaflags" => {
                p.c().amaflags = crate::cdr::AmaFlags::parse(&e.value)
                    .ok_or_else(|| bad(e, "expected default, omit, billing or documentation"))?
            }
            "fromuser" => p.c().fromuser = opt_text(e),
            "fromdomain" => p.c().fromdomain = opt_text(e),
            "qualify" => p.c().qualify = parse_qualify(e)?,
            // Per-entry ping interval: sipbox pings every entry at [general] qualifyfreq.
            "qualifyfreq" => {}
            "permit" => p.c().acl.push(Sense::Permit, &e.value).map_err(acl_err)?,
            "deny" => p.c().acl.push(Sense::Deny, &e.value).map_err(acl_err)?,
            "contactpermit" => p
                .c()
                .contact_acl
                .push(Sense::Permit, &e.value)
                .map_err(acl_err)?,
            "contactdeny" => p
                .c()
                .contact_acl
                .push(Sense::Deny, &e.value)
                .map_err(acl_err)?,
            "call-limit" | "incominglimit" => {
                p.c().call_limit = Some(u32_of(e)?).filter(|n| *n != 0)
            }
            "maxcallspersource" => p.c().max_calls_per_source = u32_of(e)?,
            "allow" | "disallow" => {} // applied in order after the loop
            "nat" => p.c().nat = Nat::parse(e, warnings)?,
            "keepalive" => p.c().keepalive = super::sip_nat::parse_keepalive(e)?,
            "rtpkeepalive" => p.c().rtp_keepalive = super::sip_nat::parse_rtp_keepalive(e)?,
            "insecure" => p.c().insecure = Insecure::parse(e)?,
            "dtmfmode" => p.c().dtmfmode = parse_dtmfmode(e)?,
            "directmedia" | "canreinvite" => p.c().directmedia = opt_text(e),
            "allowtransfer" => p.c().allow_transfer = bool_of(e)?,
            "callgroup" | "pickupgroup" => {
                let (set, bad) = super::groups::parse(&e.value);
                if !bad.is_empty() {
                    let msg = format!("{}: groups {} are not 0-63; ignored", e.key, bad.join(","));
                    warnings.at(&e.loc, msg);
                }
                if e.key.eq_ignore_ascii_case("callgroup") {
                    p.c().call_group = set;
                } else {
                    p.c().pickup_group = set;
                }
            }
            "transfercontext" => {
                p.c().transfer_context =
                    Some(opt_text(e).ok_or_else(|| bad(e, "must not be empty"))?)
            }
            "mailbox" => p.mailbox = opt_box(e),
            // The phone's own voicemail key setting; [general]'s names the Message-Account.
            "vmexten" => {}
            "mohinterpret" => p.c().moh_interpret = e.value.trim().to_string(),
            "mohsuggest" => p.c().moh_suggest = e.value.trim().to_string(),
            k if super::sip_session_timers::is_key(k) => {
                super::sip_session_timers::option(&mut p.c().session_timers, e)?
            }
            k if super::sip_presence::is_peer_key(k) => {
                super::sip_presence::peer_option(&mut p.c().presence, e)?
            }
            _ => warnings.other(e),
        }
        Ok(())
    }

    /// The shared part, to change while the entry is read (copied first if shared).
    fn c(&mut self) -> &mut PeerCommon {
        Arc::make_mut(&mut self.common)
    }

    /// True when `host=dynamic`: reachable only through a REGISTER binding.
    pub fn is_dynamic(&self) -> bool {
        self.host == Host::Dynamic
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::read_str;
    use super::*;

    fn peer(text: &str) -> Result<(SipPeer, Vec<String>), String> {
        let s = read_str("sip.conf", text, None).map_err(|e| e.to_string())?;
        let mut w = Warnings::default();
        let last = s.last().expect("a section");
        let p = SipPeer::parse(last, &General::default(), &mut w).map_err(|e| e.to_string())?;
        Ok((p, w.into_vec()))
    }

    #[test]
    fn friend_fields() {
        let (p, w) = peer(
            "[1001]\ntype=friend\nsecret=pw\nhost=dynamic\ncontext=internal\n\
             callerid=\"Alice\" <1001>\nqualify=yes\ndeny=0.0.0.0/0\npermit=10.0.0.0/8\n\
             contactdeny=0.0.0.0/0\ncontactpermit=10.1.0.0/255.255.0.0\ncall-limit=2\n\
             disallow=all\nallow=alaw\nnat=force_rport,comedia\ninsecure=invite\n\
             mailbox=1001@default\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(p.kind, Kind::Friend);
        assert_eq!(p.secret.as_deref(), Some("pw"));
        assert!(p.is_dynamic());
        assert_eq!(p.context, "internal");
        assert_eq!(p.callerid.as_ref().unwrap().number.as_deref(), Some("1001"));
        assert_eq!(p.qualify, Some(Duration::from_millis(2000)));
        assert!(p.acl.allows("10.2.3.4".parse().unwrap()));
        assert!(!p.acl.allows("192.0.2.1".parse().unwrap()));
        assert!(p.contact_acl.allows("10.1.3.4".parse().unwrap()));
        assert!(!p.contact_acl.allows("10.2.3.4".parse().unwrap()));
        assert_eq!(p.call_limit, Some(2));
        assert_eq!(p.codecs, [Codec::Alaw]);
        assert!(p.nat.comedia && p.nat.force_rport);
        assert!(p.insecure.invite && !p.insecure.port);
    }

    #[test]
    fn defaults_come_from_general() {
        let (p, _) = peer("[trunk]\ntype=peer\nhost=192.0.2.7\nport=5070\n").unwrap();
        let g = General::default();
        assert_eq!(p.context, g.context);
        assert_eq!(p.codecs, g.codecs);
        assert_eq!(p.nat, g.nat);
        assert_eq!(p.dtmfmode, DtmfMode::Rfc2833);
        assert_eq!(p.call_limit, None);
        assert!(p.acl.is_empty());
        match p.host {
            Host::Static { port, ip, .. } => {
                assert_eq!(port, 5070);
                assert!(ip.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            peer("[x]\nsecret=1\n").unwrap_err(),
            "sip.conf:1: [x] has no 'type=' (user, peer or friend)"
        );
        assert_eq!(
            peer("[x]\ntype=phone\n").unwrap_err(),
            "sip.conf:2: bad value 'phone' for 'type': expected user, peer or friend"
        );
        assert_eq!(
            peer("[x]\ntype=peer\npermit=10.0.0.0/40\n").unwrap_err(),
            "sip.conf:3: bad value '10.0.0.0/40' for 'permit': prefix length '/40' is larger than 32"
        );
        assert!(peer("[x]\ntype=peer\nhost=bad host\n").is_err());
        // The rest are ignored options with a warning; the entry loads.
        for text in [
            "[x]\ntype=peer\nport=abc\n",
            "[x]\ntype=peer\nmd5secret=zz\n",
            "[x]\ntype=peer\ncall-limit=-1\n",
            "[x]\ntype=peer\nnat=route66\n",
            "[x]\ntype=peer\ncontext=\n",
            "[x]\ntype=peer\ndtmfmode=rfc4733\n",
        ] {
            let (p, w) = peer(text).unwrap();
            assert_eq!(w.len(), 1, "{text}: {w:?}");
            assert!(w[0].starts_with("sip.conf:3: bad value"), "{w:?}");
            assert!(w[0].ends_with("; ignored"), "{w:?}");
            assert_eq!(p.call_limit, None);
            assert_eq!(p.context, General::default().context);
            assert_eq!(p.dtmfmode, DtmfMode::Rfc2833);
        }
        let (p, _) = peer("[x]\ntype=peer\ndtmfmode=shortinfo\n").unwrap();
        assert_eq!(p.dtmfmode, DtmfMode::ShortInfo);
    }

    #[test]
    fn debug_hides_secrets() {
        let (p, _) = peer("[x]\ntype=peer\nsecret=hunter2\n").unwrap();
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<hidden>"));
    }

    #[test]
    fn unknown_options_warn() {
        // Quiet: what sipbox does anyway or what changes nothing observable.
        let (_, w) = peer("[x]\ntype=peer\ntransport=udp\nlanguage=en\ntos_audio=ef\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        let (_, w) =
            peer("[x]\ntype=peer\ntransport=tls\nlanguag=en\nsetvar=A=1\nsetvar=B=2\n").unwrap();
        assert_eq!(
            w,
            [
                "sip.conf:3: 'transport' ignored: only UDP is supported; this entry is reached \
                 over UDP (said once)",
                "sip.conf:4: unknown option 'languag' ignored",
                "sip.conf:5: 'setvar' ignored: channel variables from sip.conf are not set on \
                 calls (said once)",
            ]
        );
    }

    #[test]
    fn transfer_options_inherit_from_general_and_can_be_set_per_entry() {
        let (p, w) = peer("[x]\ntype=friend\n").unwrap();
        assert!(p.allow_transfer, "chan_sip's default: transfers allowed");
        assert_eq!(p.transfer_context, None);
        assert!(w.is_empty(), "{w:?}");
        let (p, w) = peer("[x]\ntype=friend\nallowtransfer=no\ntransfercontext=xfer\n").unwrap();
        assert!(!p.allow_transfer);
        assert_eq!(p.transfer_context.as_deref(), Some("xfer"));
        assert!(w.is_empty(), "acted on, not warned: {w:?}");
        let g = General {
            allow_transfer: false,
            transfer_context: Some("g".into()),
            ..General::default()
        };
        let s = read_str("sip.conf", "[y]\ntype=peer\n", None).unwrap();
        let mut w = Warnings::default();
        let p = SipPeer::parse(s.last().unwrap(), &g, &mut w).unwrap();
        assert!(!p.allow_transfer);
        assert_eq!(p.transfer_context.as_deref(), Some("g"));
        let (_, w) = peer("[x]\ntype=friend\nallowtransfer=maybe\n").unwrap();
        assert_eq!(w.len(), 1, "a bad yes/no is warned: {w:?}");
    }
}
