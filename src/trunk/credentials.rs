//! Which user name and secret answer a challenge from a realm, as chan_sip's
//! `build_reply_digest` picks them: `auth = user:secret@realm` lines for that realm first (the
//! entry's own, then `[authentication]`'s), then the register line's `user:secret:authuser`,
//! then the entry's `remotesecret` / `secret` / `md5secret` with `authuser` / `defaultuser`
//! (alias `username`) / `fromuser` / its name.

use super::digest::Secret;
use crate::config::sip_conf::{RealmAuth, RealmSecret};
use crate::config::sip_peer::SipPeer;

/// A user name and what proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The digest user name.
    pub user: &'a str,
    /// The secret.
    pub secret: Secret<'a>,
}

/// A register line's own credentials.
#[derive(Debug, Clone, Copy)]
pub struct LineCredentials<'a> {
    /// `authuser`, else the registered user.
    pub user: &'a str,
    /// The line's secret, if written.
    pub secret: Option<&'a str>,
}

fn realm_line<'a>(lines: &'a [RealmAuth], realm: &str) -> Option<Identity<'a>> {
    let a = lines.iter().find(|a| a.realm.eq_ignore_ascii_case(realm))?;
    Some(Identity {
        user: &a.user,
        secret: match &a.secret {
            RealmSecret::Plain(s) => Secret::Plain(s),
            RealmSecret::Md5(h) => Secret::Md5Ha1(h),
        },
    })
}

/// The identity for a challenge from `realm`; None when nothing configured can answer.
pub fn for_realm<'a>(
    realm: &str,
    peer: Option<&'a SipPeer>,
    line: Option<LineCredentials<'a>>,
    global: &'a [RealmAuth],
) -> Option<Identity<'a>> {
    if let Some(id) = peer.and_then(|p| realm_line(&p.auth, realm)) {
        return Some(id);
    }
    if let Some(id) = realm_line(global, realm) {
        return Some(id);
    }
    let peer_secret = peer.and_then(|p| {
        p.remotesecret
            .as_deref()
            .or(p.secret.as_deref())
            .map(Secret::Plain)
            .or(p.md5secret.as_deref().map(Secret::Md5Ha1))
    });
    if let Some(l) = line {
        let secret = l.secret.map(Secret::Plain).or(peer_secret)?;
        return Some(Identity {
            user: l.user,
            secret,
        });
    }
    let p = peer?;
    let user = p
        .authuser
        .as_deref()
        .or(p.defaultuser.as_deref())
        .or(p.fromuser.as_deref())
        .unwrap_or(&p.name);
    Some(Identity {
        user,
        secret: peer_secret?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> SipPeer {
        let cfg = crate::config::load_str(text, "[default]\n", None).expect("config");
        cfg.sip.peers.into_iter().next().expect("a peer")
    }

    #[test]
    fn order_of_sources() {
        let p = peer(
            "[itsp]\ntype=peer\nhost=127.0.0.1\nsecret=theirs\nremotesecret=ours\n\
             defaultuser=acct\nauth=other:pw2@realm2\n",
        );
        let global = vec![];
        let id = for_realm("any", Some(&p), None, &global).unwrap();
        assert_eq!((id.user, id.secret), ("acct", Secret::Plain("ours")));
        let id = for_realm("REALM2", Some(&p), None, &global).unwrap();
        assert_eq!((id.user, id.secret), ("other", Secret::Plain("pw2")));
        let line = LineCredentials {
            user: "lineuser",
            secret: None,
        };
        let id = for_realm("any", Some(&p), Some(line), &global).unwrap();
        assert_eq!((id.user, id.secret), ("lineuser", Secret::Plain("ours")));
        let cfg = crate::config::load_str(
            "[authentication]\nauth=g#0123456789abcdef0123456789abcdef@gr\n",
            "[default]\n",
            None,
        )
        .unwrap();
        let id = for_realm("gr", None, None, &cfg.sip.realm_auth).unwrap();
        assert_eq!(id.user, "g");
        assert!(matches!(id.secret, Secret::Md5Ha1(_)));
        assert_eq!(for_realm("x", None, None, &cfg.sip.realm_auth), None);
        let bare = peer("[bare]\ntype=peer\nhost=127.0.0.1\n");
        assert_eq!(for_realm("x", Some(&bare), None, &[]), None);
        let named = peer(
            "[named]\ntype=peer\nhost=127.0.0.1\nmd5secret=0123456789abcdef0123456789abcdef\n",
        );
        assert_eq!(
            for_realm("x", Some(&named), None, &[]).unwrap().user,
            "named"
        );
    }
}
