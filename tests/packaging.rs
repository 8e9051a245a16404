//! The Debian package's pieces, without building it (`scripts/package.sh` builds and runs it):
//! the systemd unit, `[package.metadata.deb]` in Cargo.toml, the packaged `sipbox.conf`, the
//! maintainer scripts and logrotate agree on every path; every asset exists; every conffile
//! in /etc/sipbox is one of the example configs; `sipbox --help` and the man page name every
//! flag `src/main.rs` parses; and the debug binary speaks systemd's readiness protocol to a
//! `$NOTIFY_SOCKET` the test binds (READY=1, RELOADING=1 then READY=1 on SIGHUP, also when the
//! reload fails, STOPPING=1 on SIGTERM), on a path and on an abstract `@` address.
// Tests drive real sockets, processes, files and clocks: the sans-IO lints are for src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::*;
use sipbox::config::Directories;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `[package.metadata.deb]` table of Cargo.toml, up to the next table header.
fn deb_table(cargo: &str, name: &str) -> String {
    let header = format!("[{name}]");
    let start = cargo.find(&header).unwrap_or_else(|| panic!("no {header}"));
    let rest = &cargo[start + header.len()..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Every string literal between `"`s on `line`.
fn strings(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The assets: (source, destination with the file name filled in, mode).
fn assets() -> Vec<(String, String, String)> {
    let table = deb_table(&read("Cargo.toml"), "package.metadata.deb");
    let list = table.split("assets = [").nth(1).expect("assets");
    let list = &list[..list.find("\n]").expect("end of assets")];
    list.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .map(|l| {
            let s = strings(l);
            assert_eq!(s.len(), 3, "asset line {l}");
            let name = Path::new(&s[0]).file_name().unwrap().to_string_lossy();
            let dest = if s[1].ends_with('/') {
                format!("{}{name}", s[1])
            } else {
                s[1].clone()
            };
            (s[0].clone(), format!("/{dest}"), s[2].clone())
        })
        .collect()
}

fn deb_value(table: &str, key: &str) -> String {
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} =")))
        .unwrap_or_else(|| panic!("no {key} in {table}"));
    strings(line).into_iter().next().unwrap_or_default()
}

/// The unit's `Key=value` lines.
fn unit() -> Vec<(String, String)> {
    let dir = deb_value(
        &deb_table(&read("Cargo.toml"), "package.metadata.deb.systemd-units"),
        "unit-scripts",
    );
    read(&format!("{dir}sipbox.service"))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn unit_value(unit: &[(String, String)], key: &str) -> String {
    let v: Vec<_> = unit.iter().filter(|(k, _)| k == key).collect();
    assert_eq!(v.len(), 1, "{key} once in the unit");
    v[0].1.clone()
}

/// The directories of the packaged /etc/sipbox/sipbox.conf.
fn packaged_dirs() -> Directories {
    let (src, _, _) = assets()
        .into_iter()
        .find(|(_, d, _)| d == "/etc/sipbox/sipbox.conf")
        .expect("sipbox.conf is packaged");
    let dir = temp_dir("packaged-conf");
    std::fs::copy(Path::new(ROOT).join(src), dir.join("sipbox.conf")).unwrap();
    Directories::load(Some(&dir), Path::new("/nonexistent")).expect("sipbox.conf reads")
}

#[test]
fn the_unit_cargo_toml_and_the_packaged_directories_agree() {
    let unit = unit();
    let assets = assets();
    let dests: Vec<&str> = assets.iter().map(|(_, d, _)| d.as_str()).collect();
    // The binary and the config the unit starts.
    let exec = unit_value(&unit, "ExecStart");
    let mut words = exec.split_whitespace();
    let bin = words.next().unwrap();
    assert_eq!(bin, "/usr/sbin/sipbox");
    assert!(dests.contains(&bin), "{bin} is an asset: {dests:?}");
    let rest: Vec<_> = words.collect();
    assert_eq!(rest, ["--config-dir", "/etc/sipbox"], "{exec}");
    assert!(dests.contains(&"/etc/sipbox/sipbox.conf"));
    assert!(dests.contains(&"/usr/share/man/man8/sipbox.8"));
    assert_eq!(unit_value(&unit, "User"), "sipbox");
    assert_eq!(unit_value(&unit, "Type"), "notify");
    assert_eq!(unit_value(&unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(unit_value(&unit, "ProtectSystem"), "strict");
    assert_eq!(unit_value(&unit, "Restart"), "on-failure");
    assert_eq!(
        unit_value(&unit, "AmbientCapabilities"),
        "CAP_NET_BIND_SERVICE"
    );

    // The packaged sipbox.conf says Debian's places, and the unit lets sipbox use them.
    let dirs = packaged_dirs();
    assert_eq!(dirs, Directories::debian(), "the packaged sipbox.conf");
    let runtime = unit_value(&unit, "RuntimeDirectory");
    assert_eq!(Path::new("/run").join(&runtime), dirs.run);
    assert!(dirs.ctl.starts_with(&dirs.run), "{:?}", dirs.ctl);
    let rw: Vec<PathBuf> = unit_value(&unit, "ReadWritePaths")
        .split_whitespace()
        .map(PathBuf::from)
        .collect();
    for d in [&dirs.db, &dirs.log, &dirs.spool] {
        assert!(rw.contains(d), "ReadWritePaths has {d:?}: {rw:?}");
    }
    assert_eq!(rw.len(), 3, "nothing else writable: {rw:?}");

    // postinst creates exactly those, and logrotate rotates the CDR files under astlogdir.
    let postinst = read("contrib/debian/postinst");
    let created: Vec<PathBuf> = postinst
        .lines()
        .find_map(|l| l.trim().strip_prefix("for d in "))
        .expect("postinst's loop over the directories")
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .map(PathBuf::from)
        .collect();
    for d in &rw {
        assert!(created.contains(d), "postinst creates {d:?}: {created:?}");
    }
    assert!(postinst.contains("#DEBHELPER#"));
    let (logrotate, _, _) = assets
        .iter()
        .find(|(_, d, _)| d == "/etc/logrotate.d/sipbox")
        .expect("logrotate is packaged");
    let rotated: Vec<String> = read(logrotate)
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| l.trim_end_matches('{').trim().to_string())
        .collect();
    assert_eq!(
        rotated,
        [format!("{}/*.csv", dirs.log.join("cdr-csv").display())]
    );
}

#[test]
fn every_asset_exists_and_every_conffile_is_an_example_config() {
    for (src, dest, mode) in assets() {
        if src == "target/release/sipbox" {
            // cargo deb builds it; the debug one shows the target exists.
            assert!(Path::new(env!("CARGO_BIN_EXE_sipbox")).exists());
            assert_eq!(mode, "755");
            continue;
        }
        assert!(Path::new(ROOT).join(&src).is_file(), "asset {src} exists");
        assert!(
            mode == "644" || mode == "755",
            "{src}: mode {mode} (the dir /etc/sipbox is 0750 root:sipbox instead)"
        );
        if let Some(name) = dest.strip_prefix("/etc/sipbox/") {
            assert_eq!(src, format!("{name}.example"), "conffile {dest}");
        } else if dest.starts_with("/etc/") {
            assert_eq!(dest, "/etc/logrotate.d/sipbox", "the only other conffile");
        }
    }
    // Every example config of the repository is installed.
    let shipped: Vec<String> = assets().into_iter().map(|(s, _, _)| s).collect();
    for entry in std::fs::read_dir(ROOT).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".conf.example") {
            assert!(shipped.contains(&name), "{name} is packaged");
        }
    }
    // The embedded examples are those files.
    assert_eq!(read("sip.conf.example"), sipbox::config::EXAMPLE_SIP_CONF);
    assert_eq!(
        read("extensions.conf.example"),
        sipbox::config::EXAMPLE_EXTENSIONS_CONF
    );
    assert_eq!(read("rtp.conf.example"), sipbox::config::EXAMPLE_RTP_CONF);
    assert_eq!(read("http.conf.example"), sipbox::config::EXAMPLE_HTTP_CONF);
    // The maintainer scripts exist and run.
    let dir = deb_value(
        &deb_table(&read("Cargo.toml"), "package.metadata.deb"),
        "maintainer-scripts",
    );
    use std::os::unix::fs::PermissionsExt;
    for script in ["postinst", "postrm"] {
        let p = Path::new(ROOT).join(&dir).join(script);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{p:?} is executable");
        // cargo deb replaces every #DEBHELPER# with its shell snippets: once, on its own
        // line, never inside a comment.
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("#DEBHELPER#")).collect();
        assert_eq!(lines, ["#DEBHELPER#"], "{script}");
        let ok = Command::new("sh")
            .arg("-n")
            .arg(&p)
            .status()
            .unwrap()
            .success();
        assert!(ok, "{script}: sh -n");
    }
}

/// The flags `parse_args` in src/main.rs matches: its `"-..."` literals and the letters of
/// the bundled short flags.
fn parsed_flags() -> Vec<String> {
    let main = read("src/main.rs");
    let body = main.split("fn parse_args").nth(1).expect("parse_args");
    let body = &body[..body.find("\nfn ").expect("end of parse_args")];
    let mut flags: Vec<String> = Vec::new();
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with('"') && t.contains("=>") {
            for s in strings(t.split("=>").next().unwrap()) {
                flags.push(s);
            }
        }
    }
    let bundled = body
        .split(".all(|c| \"")
        .nth(1)
        .expect("bundled short flags");
    for c in bundled[..bundled.find('"').unwrap()].chars() {
        flags.push(format!("-{c}"));
    }
    flags.sort();
    flags.dedup();
    flags
}

/// True when `text` names `flag` as a word (not as part of a longer flag).
fn names(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + flag.len()..].chars().next();
        !matches!(before, Some(c) if c.is_alphanumeric() || c == '-')
            && !matches!(after, Some(c) if c.is_alphanumeric() || c == '-')
    })
}

#[test]
fn help_and_man_page_name_every_flag_main_parses() {
    let flags = parsed_flags();
    for f in [
        "--config-dir",
        "-c",
        "--bind",
        "-b",
        "--nameserver",
        "-r",
        "-x",
        "-s",
    ] {
        assert!(
            flags.contains(&f.to_string()),
            "found {f} in main: {flags:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "--help exits 0");
    let help = String::from_utf8_lossy(&out.stdout);
    let man = read("contrib/debian/sipbox.8").replace("\\-", "-");
    for f in &flags {
        assert!(names(&help, f), "sipbox --help names {f}:\n{help}");
        assert!(names(&man, f), "sipbox.8 names {f}");
    }
    // A bad flag is still refused with the usage on stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: sipbox"));
}

/// A sipbox on the example config (directories in a temp dir) told to notify `socket`.
fn start_notified(notify: &str) -> (Child, PathBuf) {
    let dir = temp_dir("notify");
    std::fs::write(dir.join("sip.conf"), sipbox::config::EXAMPLE_SIP_CONF).unwrap();
    std::fs::write(
        dir.join("extensions.conf"),
        sipbox::config::EXAMPLE_EXTENSIONS_CONF,
    )
    .unwrap();
    std::fs::write(dir.join("sipbox.conf"), LOCAL_DIRECTORIES).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("--config-dir")
        .arg(&dir)
        .args(["--bind", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", notify)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sipbox");
    (child, dir)
}

/// The next notification (its first line, the state; then STATUS=).
fn next(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    // A signal to the test process (another test's child ending) may interrupt the wait.
    for _ in 0..100 {
        match sock.recv(&mut buf) {
            Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("no notification within 20 s: {e:?}"),
        }
    }
    panic!("no notification: interrupted 100 times")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn wait_exit(child: &mut Child) -> Option<i32> {
    for _ in 0..250 {
        if let Ok(Some(s)) = child.try_wait() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn notify_socket_gets_ready_reloading_and_stopping() {
    let dir = temp_dir("notify-sock");
    let path = dir.join("notify");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (mut child, conf) = start_notified(path.to_str().unwrap());
    let ready = next(&sock);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    assert!(ready.contains("STATUS=serving"), "{ready:?}");
    // Ready means the control socket answers.
    let out = Command::new(env!("CARGO_BIN_EXE_sipbox"))
        .arg("-s")
        .arg(conf.join("sipbox.ctl"))
        .args(["-rx", "core show uptime"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("System uptime:"),
        "{out:?}"
    );

    signal(&child, "-HUP");
    let m = next(&sock);
    assert!(m.starts_with("RELOADING=1\n"), "{m:?}");
    let m = next(&sock);
    assert!(m.starts_with("READY=1\n"), "{m:?}");
    assert!(m.contains("config reloaded"), "{m:?}");

    // A config Asterisk refuses: nothing changes, and sipbox is ready again all the same.
    std::fs::write(conf.join("sip.conf"), "allow=ulaw\n[general]\n").unwrap();
    signal(&child, "-HUP");
    assert!(next(&sock).starts_with("RELOADING=1\n"));
    let m = next(&sock);
    assert!(m.starts_with("READY=1\n"), "{m:?}");
    assert!(m.contains("failed"), "{m:?}");

    signal(&child, "-TERM");
    let m = next(&sock);
    assert!(m.starts_with("STOPPING=1\n"), "{m:?}");
    assert_eq!(wait_exit(&mut child), Some(0));
}

#[test]
fn abstract_notify_socket_as_systemd_passes_it() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sipbox-test-notify-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (mut child, _) = start_notified(&format!("@{name}"));
    assert!(next(&sock).starts_with("READY=1\n"));
    signal(&child, "-TERM");
    assert!(next(&sock).starts_with("STOPPING=1\n"));
    assert_eq!(wait_exit(&mut child), Some(0));
}
