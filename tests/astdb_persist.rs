//! AstDB through the real binary: a value the dialplan stores survives a restart (it is in
//! `astdb.sqlite3` of astdbdir, here the config directory, in Asterisk's schema), and a DBdel'd one is gone.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::ua::*;
use common::wire::UdpWire;
use common::*;
use std::time::Duration;

const EXT: &str = "\
[internal]
exten => 710,1,Answer()
 same => n,Set(DB(cf/1001)=2000)
 same => n,Set(DB(blacklist/5551234)=1)
 same => n,DBdel(blacklist/5551234)
 same => n,Verbose(1,stored)
 same => n,Hangup()
exten => 711,1,Answer()
 same => n,Verbose(1,cf is ${DB(cf/1001)} blacklisted ${DB_EXISTS(blacklist/5551234)})
 same => n,Hangup()
";

fn call(sb: &Sipbox, exten: &str, wait_for: &str) {
    let mut w = UdpWire::to(sb);
    let mut a = Ua::new(&mut w, "1001", "1001pass");
    let _d = a.call_answered(&mut w, exten);
    assert!(
        sb.wait_log(wait_for, Duration::from_secs(5)),
        "{:?}",
        sb.log()
    );
}

#[test]
fn astdb_values_survive_a_restart() {
    let dir = temp_dir("astdb");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXT).unwrap();
    let sb = Sipbox::start_in(&dir);
    call(&sb, "710", "stored");
    assert_eq!(sb.stop(), Some(0));
    assert!(dir.join("astdb.sqlite3").exists());
    let sb = Sipbox::start_in(&dir);
    assert!(
        sb.wait_log("AstDB: 1 entries", Duration::from_secs(2)),
        "{:?}",
        sb.log()
    );
    call(&sb, "711", "cf is 2000 blacklisted 0");
    let _ = sb.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// `[directories]` of an Asterisk `asterisk.conf` copied into the config dir (no
/// `sipbox.conf`) places the AstDB, with a relative path taken from the config dir.
#[test]
fn asterisk_conf_directories_place_the_astdb() {
    let dir = temp_dir("astdb-dirs");
    std::fs::write(dir.join("sip.conf"), TEST_SIP_CONF).unwrap();
    std::fs::write(dir.join("extensions.conf"), EXT).unwrap();
    std::fs::write(
        dir.join("asterisk.conf"),
        "[directories]\nastdbdir => lib/db\nastrundir => run\nastlogdir => log\n\
         astspooldir => spool\nastmoddir => /usr/lib/asterisk/modules\n[options]\nverbose = 3\n",
    )
    .unwrap();
    let sb = Sipbox::start_in(&dir);
    call(&sb, "710", "stored");
    assert_eq!(sb.stop(), Some(0));
    assert!(dir.join("lib/db/astdb.sqlite3").exists());
    assert!(!dir.join("astdb.sqlite3").exists());
    let _ = std::fs::remove_dir_all(dir);
}
