//! Typed meetme.conf and confbridge.conf (both optional).
//!
//! meetme.conf (Asterisk's `apps/app_meetme.c` `find_conf`, `configs/samples/meetme.conf.sample`):
//! `[rooms]` holds `conf => confno[,pin[,adminpin]]` (`|` separates too, as in old files);
//! `[general]` options (`audiobuffers`, `schedule`, `logmembercount`, ...) change nothing in
//! sipbox and are warned about once each.
//!
//! confbridge.conf (`apps/confbridge/conf_config_parser.c`, `configs/samples/confbridge.conf.sample`):
//! every section but `[general]` is a profile named by `type=`: `bridge` (sipbox reads
//! `max_members`), `user` (`admin`, `marked`, `startmuted`, `quiet`, `wait_marked`,
//! `end_marked`, `music_on_hold_when_empty`, `music_on_hold_class`) and `menu` (kept by name
//! only: sipbox has no DTMF menus). Other options are warned about once each. The built-in
//! `default_bridge` and `default_user` profiles exist without the file, as in Asterisk.

use super::raw::{Entry, Section};
use super::values::{parse_bool_str, Warnings};
use std::collections::{HashMap, HashSet};

/// Most rooms read from meetme.conf (a bigger file is cut, with a warning).
pub const MAX_ROOMS: usize = 10_000;

/// One `conf =>` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Room {
    /// The conference number.
    pub confno: String,
    /// Its PIN (empty: none).
    pub pin: String,
    /// Its admin PIN (empty: none).
    pub admin_pin: String,
}

/// A confbridge.conf `type=bridge` profile (what sipbox uses of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BridgeProfile {
    /// `max_members` (0: no limit but the engine's).
    pub max_members: u32,
}

/// A confbridge.conf `type=user` profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserProfile {
    /// `admin`.
    pub admin: bool,
    /// `marked`.
    pub marked: bool,
    /// `startmuted`.
    pub start_muted: bool,
    /// `quiet`.
    pub quiet: bool,
    /// `wait_marked`.
    pub wait_marked: bool,
    /// `end_marked`.
    pub end_marked: bool,
    /// `music_on_hold_when_empty`.
    pub moh_when_empty: bool,
    /// `music_on_hold_class` (empty: the channel's).
    pub moh_class: String,
}

/// Both files, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConferenceConf {
    /// meetme.conf `[rooms]`, in file order.
    pub rooms: Vec<Room>,
    /// confbridge.conf bridge profiles by lower-case name.
    pub bridges: HashMap<String, BridgeProfile>,
    /// confbridge.conf user profiles by lower-case name.
    pub users: HashMap<String, UserProfile>,
    /// confbridge.conf menu names (lower case).
    pub menus: HashSet<String>,
}

impl ConferenceConf {
    /// The room `confno` of meetme.conf.
    pub fn room(&self, confno: &str) -> Option<&Room> {
        self.rooms.iter().find(|r| r.confno == confno)
    }

    /// The bridge profile `name` (empty: `default_bridge`, built in when not written).
    pub fn bridge(&self, name: &str) -> Option<BridgeProfile> {
        let n = if name.trim().is_empty() {
            "default_bridge".to_string()
        } else {
            name.trim().to_ascii_lowercase()
        };
        match self.bridges.get(&n) {
            Some(b) => Some(b.clone()),
            None if n == "default_bridge" => Some(BridgeProfile::default()),
            None => None,
        }
    }

    /// The user profile `name` (empty: `default_user`, built in when not written).
    pub fn user(&self, name: &str) -> Option<UserProfile> {
        let n = if name.trim().is_empty() {
            "default_user".to_string()
        } else {
            name.trim().to_ascii_lowercase()
        };
        match self.users.get(&n) {
            Some(u) => Some(u.clone()),
            None if n == "default_user" => Some(UserProfile::default()),
            None => None,
        }
    }

    /// Reads meetme.conf's sections into `self`.
    pub fn apply_meetme(&mut self, sections: &[Section], w: &mut Warnings) {
        let mut said = HashSet::new();
        for s in sections {
            if !s.name.eq_ignore_ascii_case("rooms") {
                for e in &s.entries {
                    warn_once(w, &mut said, e, "meetme.conf");
                }
                continue;
            }
            for e in &s.entries {
                if !e.key.eq_ignore_ascii_case("conf") {
                    warn_once(w, &mut said, e, "meetme.conf");
                    continue;
                }
                if self.rooms.len() >= MAX_ROOMS {
                    w.at(
                        &e.loc,
                        format!("more than {MAX_ROOMS} rooms; the rest ignored"),
                    );
                    break;
                }
                let mut parts = e.value.split([',', '|']).map(str::trim);
                let confno = parts.next().unwrap_or("").to_string();
                if confno.is_empty() {
                    w.at(&e.loc, "conf => without a conference number; ignored");
                    continue;
                }
                let pin = parts.next().unwrap_or("").to_string();
                let admin_pin = parts.next().unwrap_or("").to_string();
                self.rooms.push(Room {
                    confno,
                    pin,
                    admin_pin,
                });
            }
        }
    }

    /// Reads confbridge.conf's sections into `self`.
    pub fn apply_confbridge(&mut self, sections: &[Section], w: &mut Warnings) {
        let mut said = HashSet::new();
        for s in sections {
            if s.name.eq_ignore_ascii_case("general") {
                for e in &s.entries {
                    warn_once(w, &mut said, e, "confbridge.conf");
                }
                continue;
            }
            let kind = s.get("type").map(|e| e.value.trim().to_ascii_lowercase());
            let name = s.name.to_ascii_lowercase();
            match kind.as_deref() {
                Some("bridge") => {
                    let mut b = BridgeProfile::default();
                    for e in s.entries.iter().filter(|e| !is_type(e)) {
                        match e.key.to_ascii_lowercase().as_str() {
                            "max_members" => match e.value.trim().parse::<u32>() {
                                Ok(n) => b.max_members = n,
                                Err(_) => w.at(&e.loc, "max_members is no number; ignored"),
                            },
                            _ => warn_once(w, &mut said, e, "confbridge.conf"),
                        }
                    }
                    self.bridges.insert(name, b);
                }
                Some("user") => {
                    let mut u = UserProfile::default();
                    for e in s.entries.iter().filter(|e| !is_type(e)) {
                        let flag = || parse_bool_str(e.value.trim());
                        let slot = match e.key.to_ascii_lowercase().as_str() {
                            "admin" => &mut u.admin,
                            "marked" => &mut u.marked,
                            "startmuted" => &mut u.start_muted,
                            "quiet" => &mut u.quiet,
                            "wait_marked" => &mut u.wait_marked,
                            "end_marked" => &mut u.end_marked,
                            "music_on_hold_when_empty" => &mut u.moh_when_empty,
                            "music_on_hold_class" => {
                                u.moh_class = e.value.trim().to_string();
                                continue;
                            }
                            _ => {
                                warn_once(w, &mut said, e, "confbridge.conf");
                                continue;
                            }
                        };
                        match flag() {
                            Some(v) => *slot = v,
                            None => w.at(&e.loc, format!("{} is no yes/no; ignored", e.key)),
                        }
                    }
                    self.users.insert(name, u);
                }
                Some("menu") => {
                    if said.insert("type=menu".to_string()) {
                        w.at(
                            &s.loc,
                            "confbridge.conf menus have no effect in sipbox (no DTMF menus; said once)",
                        );
                    }
                    self.menus.insert(name);
                }
                _ => w.at(
                    &s.loc,
                    format!("[{}] has no type=bridge|user|menu; ignored", s.name),
                ),
            }
        }
    }
}

fn is_type(e: &Entry) -> bool {
    e.key.eq_ignore_ascii_case("type")
}

/// One warning per option name and file.
fn warn_once(w: &mut Warnings, said: &mut HashSet<String>, e: &Entry, file: &str) {
    if said.insert(e.key.to_ascii_lowercase()) {
        w.at(
            &e.loc,
            format!("{file} '{}' has no effect in sipbox (said once)", e.key),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Vec<Section> {
        let mut raw = Vec::new();
        super::super::reader::read_str_with("x.conf", text, None, &mut raw).unwrap()
    }

    #[test]
    fn meetme_rooms_with_pins() {
        let mut c = ConferenceConf::default();
        let mut w = Warnings::default();
        c.apply_meetme(
            &sections("[general]\naudiobuffers=32\n[rooms]\nconf => 1234\nconf => 555,11,99\nconf => 9|7\n"),
            &mut w,
        );
        assert_eq!(c.rooms.len(), 3);
        assert_eq!(c.room("555").unwrap().pin, "11");
        assert_eq!(c.room("555").unwrap().admin_pin, "99");
        assert_eq!(c.room("9").unwrap().pin, "7");
        assert!(c.room("1234").unwrap().pin.is_empty());
        assert!(c.room("1").is_none());
        assert_eq!(w.into_vec().len(), 1, "audiobuffers is said once");
    }

    #[test]
    fn confbridge_profiles() {
        let mut c = ConferenceConf::default();
        let mut w = Warnings::default();
        c.apply_confbridge(
            &sections(
                "[general]\n[small]\ntype=bridge\nmax_members=2\nvideo_mode=none\n\
                 [boss]\ntype=user\nmarked=yes\nadmin=yes\n[crowd]\ntype=user\nwait_marked=yes\n\
                 end_marked=yes\nmusic_on_hold_when_empty=yes\nannounce_user_count=yes\n\
                 [m]\ntype=menu\n*=leave_conference\n",
            ),
            &mut w,
        );
        assert_eq!(c.bridge("SMALL").unwrap().max_members, 2);
        assert_eq!(c.bridge("").unwrap().max_members, 0);
        assert!(c.bridge("nope").is_none());
        let boss = c.user("boss").unwrap();
        assert!(boss.marked && boss.admin && !boss.wait_marked);
        let crowd = c.user("crowd").unwrap();
        assert!(crowd.wait_marked && crowd.end_marked && crowd.moh_when_empty);
        assert_eq!(c.user("").unwrap(), UserProfile::default());
        assert!(c.menus.contains("m"));
        let warned = w.into_vec();
        assert_eq!(warned.len(), 3, "{warned:?}");
    }
}
