//! Sending a text message (RFC 3428 SIP MESSAGE) for `MessageSend(sip:peer[,from])`: a
//! non-INVITE client transaction to every registered contact of the entry, as chan_sip's
//! `sip_msg_send`. As in Asterisk, `${MESSAGE_SEND_STATUS}` says whether the message could
//! be handed on (SUCCESS), not what the phone answered (that is logged).

use super::build::{self, Origin, OutOfDialog};
use super::{Cx, Purpose};
use crate::sip::{Method, NameAddr, Uri};

/// Largest message body sent or accepted (bytes): it must fit a UDP datagram.
pub const MAX_BODY: usize = 4096;

/// The entry `to` names: `sip:peer`, or `sip:user@peer` / `sip:peer@host`.
fn target_entry(cx: &Cx<'_>, rest: &str) -> Option<String> {
    let rest = rest.split(';').next().unwrap_or(rest);
    match rest.split_once('@') {
        None => Some(rest.to_string()),
        Some((user, host)) => {
            let host = host.split(':').next().unwrap_or(host);
            if cx.cfg.entry(host).is_some() {
                Some(host.to_string())
            } else {
                Some(user.to_string())
            }
        }
    }
}

/// Sends `body` to `to` from `from` (`"Name" <sip:user@host>` or a bare user); the status
/// for `${MESSAGE_SEND_STATUS}`.
pub fn deliver(cx: &mut Cx<'_>, to: &str, from: &str, body: &str) -> &'static str {
    let Some((scheme, rest)) = to.trim().split_once(':') else {
        return "INVALID_URI";
    };
    if !scheme.eq_ignore_ascii_case("sip") {
        return "INVALID_PROTOCOL";
    }
    if rest.is_empty() {
        return "INVALID_URI";
    }
    let Some(name) = target_entry(cx, rest) else {
        return "INVALID_URI";
    };
    if cx.cfg.entry(&name).is_none() {
        log::warn!("MessageSend: no sip.conf entry '{name}'");
        return "INVALID_URI";
    }
    if body.len() > MAX_BODY {
        log::warn!(
            "MessageSend to '{name}': body of {} bytes refused",
            body.len()
        );
        return "FAILURE";
    }
    let targets: Vec<(String, crate::flow::Flow)> = cx
        .registrar
        .bindings(&name)
        .iter()
        .map(|b| (b.contact.clone(), b.flow))
        .collect();
    if targets.is_empty() {
        log::info!("MessageSend: '{name}' is not registered");
        return "FAILURE";
    }
    let (display, user) = match NameAddr::parse(from.trim()) {
        Ok(na) if na.uri.user.is_some() => (na.display, na.uri.user.unwrap_or_default().into()),
        _ => (None, from.trim().to_string()),
    };
    let user = if user.is_empty() {
        "sipbox".to_string()
    } else {
        user
    };
    let mut sent = false;
    for (contact, flow) in targets {
        let Ok(uri) = Uri::parse(&contact) else {
            continue;
        };
        let branch = cx.new_branch();
        let tag = cx.new_tag();
        let call_id = cx.new_call_id();
        let origin = Origin::on(flow, cx.advertise, &branch, &cx.cfg.general.user_agent);
        let mut from_na = build::contact(&user, origin.local);
        from_na.display = display.clone();
        let mut to_na = NameAddr::new(uri.clone());
        to_na.uri.user = Some(name.as_str().into());
        let mut req = build::out_of_dialog(
            OutOfDialog {
                method: Method::Message,
                to: &to_na,
                uri,
                from: &from_na,
                from_tag: &tag,
                call_id: &call_id,
                cseq: 1,
                contact_user: None,
                max_forwards: build::MAX_FORWARDS,
            },
            &origin,
        );
        req.set_body(Some("text/plain;charset=UTF-8"), body.as_bytes().to_vec());
        log::info!("MessageSend: MESSAGE to '{name}' at {}", flow.remote);
        cx.txs
            .open_client(cx.now, cx.sched, cx.out, req, flow, Purpose::Fire);
        sent = true;
    }
    if sent {
        "SUCCESS"
    } else {
        "FAILURE"
    }
}
