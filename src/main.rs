//! `sipbox [--config-dir DIR] [--bind ADDR:PORT] [--nameserver ADDR[:PORT]] [-v...] [-d...]`:
//! load the config, bind, run the loop. `sipbox -rx 'COMMAND'` / `sipbox -r`: talk to a
//! running sipbox over its control socket (`console.rs`).
// `deny`, not `forbid`: heap_trim.rs holds the one call into C (malloc_trim), allowed there.
#![deny(unsafe_code)]

mod agi_driver;
mod astdb_disk;
mod cdr_disk;
mod console;
mod ctl_driver;
mod driver;
mod fastagi_driver;
mod heap_trim;
mod http_driver;
mod jobs_driver;
mod log_sink;
mod moh_disk;
mod monitor_disk;
mod reload_driver;
mod resolve;
mod sd_notify;
mod sounds_disk;
mod store_disk;
mod voicemail_disk;
mod write_batch;

use driver::Driver;
use sipbox::config::{self, ConfigSource};
use sipbox::dialplan::Dialplan;
use sipbox::dns::ResolverConfig;
use sipbox::engine::{Engine, Environment, Settings};
use sounds_disk::DiskSounds;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

const USAGE: &str =
    "usage: sipbox [--config-dir DIR] [--bind ADDR:PORT] [--nameserver ADDR[:PORT]] [-v...] [-d...]
       sipbox [--config-dir DIR | -s SOCKET] -rx 'COMMAND'
       sipbox [--config-dir DIR | -s SOCKET] -r [-v...]

  --config-dir DIR  read DIR/sip.conf, DIR/extensions.conf (and DIR/rtp.conf, DIR/http.conf,
  (-c DIR)          DIR/sipbox.conf or DIR/asterisk.conf if present). Default: /etc/sipbox if
                    it exists, else the example files built in (the status page then on
                    http://127.0.0.1:8088/).
  --bind ADDR:PORT  listen here instead of sip.conf's bindaddr/bindport (port 0: any free port)
  (-b ADDR:PORT)
  --nameserver ADDR[:PORT]
                    ask this DNS server (port 53 unless given; repeatable) instead of the
                    nameservers of /etc/resolv.conf
  -v, -vv, -vvv     Asterisk's verbosity: -- and == lines (Executing, Called, Registered SIP)
                    up to that level; -vvv also prints every SIP message (sip set debug on)
  -d, -dd           debug logging (debug, trace); RUST_LOG works too
  -r                remote console on a running sipbox: line editing, history, tab
                    completion, the live log at the console's verbosity (-r -vvv: 3);
                    commands are read from stdin when it is not a terminal
  -x COMMAND        with -r (-rx): run one command, print its answer, exit
  -s SOCKET         the control socket to use (default: [files] astctl in astrundir of
                    DIR/sipbox.conf or DIR/asterisk.conf, /run/sipbox/sipbox.ctl)
  -V, --version     print the version
  -h, --help        this text

SIGHUP reloads the config files without dropping calls or registrations; SIGINT/SIGTERM stop.
Under systemd (NOTIFY_SOCKET set) sipbox reports READY=1, RELOADING=1 and STOPPING=1.
See sipbox(8).";

struct Args {
    config_dir: Option<PathBuf>,
    bind: Option<SocketAddr>,
    nameservers: Vec<SocketAddr>,
    verbosity: u8,
    debug: u8,
    remote: bool,
    execute: Option<String>,
    socket: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config_dir: None,
        bind: None,
        nameservers: Vec::new(),
        verbosity: 0,
        debug: 0,
        remote: false,
        execute: None,
        socket: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config-dir" | "-c" => {
                args.config_dir = Some(it.next().ok_or("--config-dir needs a directory")?.into())
            }
            "--bind" | "-b" => {
                let v = it.next().ok_or("--bind needs ADDR:PORT")?;
                args.bind = Some(
                    v.parse()
                        .map_err(|_| format!("--bind: '{v}' is not ADDR:PORT"))?,
                );
            }
            "--nameserver" => {
                let v = it.next().ok_or("--nameserver needs ADDR[:PORT]")?;
                let addr = v
                    .parse::<SocketAddr>()
                    .or_else(|_| {
                        v.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| format!("--nameserver: '{v}' is not ADDR[:PORT]"))?;
                args.nameservers.push(addr);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("sipbox {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            // Asterisk's bundled short flags: -rx, -rvvv, -vvv, -dd, -s.
            flags
                if flags.len() > 1
                    && flags.starts_with('-')
                    && flags[1..].chars().all(|c| "rvdxs".contains(c)) =>
            {
                for c in flags[1..].chars() {
                    match c {
                        'r' => args.remote = true,
                        'v' => args.verbosity = args.verbosity.saturating_add(1),
                        'd' => args.debug = args.debug.saturating_add(1),
                        'x' => args.execute = Some(it.next().ok_or("-x needs a command")?),
                        _ => args.socket = Some(it.next().ok_or("-s needs a socket path")?.into()),
                    }
                }
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sipbox: {e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The binary looks at the disk; the library does not.
    #[allow(clippy::disallowed_methods)]
    let dir = args.config_dir.clone().or_else(|| {
        let etc = PathBuf::from("/etc/sipbox");
        etc.is_dir().then_some(etc)
    });
    if args.remote || args.execute.is_some() {
        return remote(&args, dir.as_deref());
    }
    let level = match args.debug {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    log_sink::install(level, args.verbosity, args.debug);
    // Before any helper thread exists: the variable is cleared from the environment.
    let notifier = sd_notify::Notifier::from_env();
    let mut cfg = match config::load(dir.as_deref(), &embedded_base()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sipbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &cfg.source {
        ConfigSource::Dir(d) => log::info!("config from {}", d.display()),
        ConfigSource::Embedded => {
            log::info!("config: the built-in example files (no --config-dir, no /etc/sipbox)")
        }
    }
    for w in &cfg.warnings {
        log::warn!("{w}");
    }
    let bind = args.bind.unwrap_or(cfg.sip.general.bind);
    let (dialplan, dp_warnings) = match Dialplan::from_sections(&cfg.take_dialplan_sections()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sipbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &dp_warnings {
        log::warn!("{w}");
    }
    // Bad lines no longer stop start-up (as in Asterisk): say how many were set aside, so a
    // long scroll of warnings is not missed.
    let total = cfg.warnings.len() + dp_warnings.len();
    if total > 0 {
        log::warn!("config: {total} warnings above; those lines or options were ignored");
    }
    log::info!(
        "directories: run {}, db {}, log {}, spool {}, data {}",
        cfg.dirs.run.display(),
        cfg.dirs.db.display(),
        cfg.dirs.log.display(),
        cfg.dirs.spool.display(),
        cfg.dirs.data.display()
    );
    // chan_sip's registrations in an Asterisk AstDB (`/SIP/Registry/<peer>`), for a first
    // start on a copied astdb.sqlite3.
    let mut asterisk_registry = Vec::new();
    // AstDB: read now, written behind by a helper thread of the driver.
    let db_writer = {
        let path = cfg.dirs.db.join("astdb.sqlite3");
        #[allow(clippy::disallowed_methods)]
        let opened = std::fs::create_dir_all(&cfg.dirs.db)
            .map_err(|e| e.to_string())
            .and_then(|()| astdb_disk::open(&path).map_err(|e| e.to_string()));
        match opened {
            Ok((rows, conn)) => {
                asterisk_registry = rows
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("/SIP/Registry/")?, v)))
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                let n = dialplan.load_astdb(rows);
                log::info!("AstDB: {n} entries from {}", path.display());
                astdb_disk::writer(conn)
            }
            Err(e) => {
                log::warn!(
                    "AstDB: cannot open {}: {e}; kept in memory only, not persisted",
                    path.display()
                );
                None
            }
        }
    };
    let (store, cdr_sink) = open_store(&cfg);
    // Voicemail: the spool is read now (as AstDB is), then kept current by the engine.
    {
        let root = cfg.dirs.spool.join("voicemail");
        let mut vm = sipbox::voicemail::Voicemail::new(
            cfg.voicemail.clone(),
            root.clone(),
            cfg.voicemail_file.clone(),
        );
        vm.index = voicemail_disk::scan(&root, &cfg.voicemail);
        if !cfg.voicemail.boxes.is_empty() {
            log::info!(
                "voicemail: {} mailboxes, spool {}",
                cfg.voicemail.boxes.len(),
                root.display()
            );
        }
        dialplan.set_voicemail(vm);
    }
    dialplan.set_monitor_dir(cfg.dirs.spool.join("monitor"));
    dialplan.set_conference_conf(cfg.conference.clone());
    // queues.conf; persistent members come from the AstDB just read.
    dialplan.set_queues(cfg.queues.clone());
    // One users table: the engine's settings take sip.conf's entries over (moved, not
    // copied); the config kept for SIGHUP keeps only where to read again.
    let sip = cfg.take_sip();
    let settings =
        Settings::new(sip.general, sip.peers).with_trunks(sip.registrations, sip.realm_auth);
    let resolver = resolver_config(args.nameservers);
    let extern_ip = resolve_extern(&settings.general.nat_addressing);
    let rtp = cfg.rtp.clone();
    let mut sounds = DiskSounds::new(settings.general.sounds_dir.clone());
    let named = dialplan.literal_sound_names();
    let (files, bytes) = sounds.preload(named.iter().map(String::as_str));
    log::info!(
        "prompts: {files} of the {} the dialplan names read ({} KiB)",
        named.len(),
        bytes >> 10
    );
    let moh = moh_disk::load(&cfg.moh, &cfg.dirs.data, &mut sounds);
    let (db_tx, db_thread) = match db_writer {
        Some((tx, handle)) => (Some(tx), Some(handle)),
        None => (None, None),
    };
    let (stored_rows, store_conn, fresh) = match store {
        Some(o) => (o.rows, Some(o.conn), o.fresh),
        None => (Vec::new(), None, false),
    };
    let cdr_conf = cfg.cdr.clone();
    let driver = Driver::bind(bind, db_tx, |local| {
        let advertised = advertised_addr(local);
        // The binary is where the clocks and the seed come from (the engine is sans-IO).
        #[allow(clippy::disallowed_methods)]
        let (now, wall, seed) = (Instant::now(), SystemTime::now(), rand::random());
        let env = Environment::new(now, wall, seed)
            .with_sounds(Box::new(sounds))
            .with_resolver(resolver);
        let mut engine = Engine::new(settings, dialplan, rtp, advertised, env)
            .with_cdr(cdr_conf)
            .with_moh(moh)
            .with_features(cfg.features.clone())
            .with_parking(cfg.parking.clone());
        if let Some(ip) = extern_ip {
            engine.set_extern_ip(ip);
        }
        restore_registrations(
            &mut engine,
            now,
            wall,
            stored_rows,
            fresh,
            asterisk_registry,
        );
        engine
    });
    let mut driver = match driver {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sipbox: cannot bind {bind}: {e}");
            return ExitCode::FAILURE;
        }
    };
    driver.set_agi_places(&cfg.dirs);
    match driver.listen_ctl(&cfg.dirs) {
        Ok(()) => {}
        Err(ctl_driver::OpenError::InUse(p)) => {
            eprintln!(
                "sipbox: another sipbox is running and answers on {} (stop it, or give this one \
                 its own [files] astctl / astrundir)",
                p.display()
            );
            return ExitCode::FAILURE;
        }
        Err(ctl_driver::OpenError::Io(p, e)) => log::warn!(
            "control socket {}: {e}; sipbox -r/-rx cannot reach this sipbox",
            p.display()
        ),
    }
    // http.conf's status page and /metrics (before "listening on udp": tests read both).
    driver.apply_http(cfg.http.clone());
    if args.verbosity >= 3 {
        // -vvv: every SIP message, as `sip set debug on`.
        driver
            .engine_mut()
            .set_sip_debug(sipbox::cli::SipDebug::All);
    }
    let store_thread = match store_disk::writer(store_conn, cdr_sink) {
        Some((tx, handle)) => {
            driver.set_disk(tx);
            Some(handle)
        }
        None => None,
    };
    driver.set_notifier(notifier);
    // SIGHUP reads the same place again (the embedded config too: nothing changes then).
    driver.set_config(cfg);
    match driver.local_addr() {
        Ok(a) => log::info!("listening on udp {a}"),
        Err(e) => log::warn!("bound, but the address is unknown: {e}"),
    }
    // The config reader's tables are gone: their free pages go back before the loop starts
    // (idle RSS with 10 000 users: README, issue 15).
    heap_trim::trim();
    let result = driver.run();
    // The AstDB writer ends once the driver (its last sender) is gone and the queue is on
    // disk.
    drop(driver);
    if let Some(t) = db_thread {
        let _ = t.join();
    }
    if let Some(t) = store_thread {
        let _ = t.join();
    }
    match result {
        Ok(()) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sipbox: event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens `sipbox.db` in astdbdir (None, logged, when it cannot be used: registrations then
/// live in memory only) and the CDR sink cdr.conf asks for.
fn open_store(cfg: &config::Config) -> (Option<store_disk::Opened>, Option<cdr_disk::CdrSink>) {
    let path = cfg.dirs.db.join("sipbox.db");
    #[allow(clippy::disallowed_methods)]
    let now_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    #[allow(clippy::disallowed_methods)]
    let opened = std::fs::create_dir_all(&cfg.dirs.db)
        .map_err(|e| e.to_string())
        .and_then(|()| store_disk::open(&path, now_unix).map_err(|e| e.to_string()));
    let store = match opened {
        Ok(o) => {
            log::info!(
                "registrations: {} stored in {} ({} expired ones deleted)",
                o.rows.len(),
                path.display(),
                o.expired
            );
            Some(o)
        }
        Err(e) => {
            log::error!(
                "registrations: cannot use {}: {e}; registrations are kept in memory only \
                 and will not survive a restart",
                path.display()
            );
            None
        }
    };
    let cdr = &cfg.cdr;
    let dir = cfg.dirs.log.join("cdr-csv");
    match (cdr.enable, cdr.csv) {
        (false, _) => log::info!("CDR: off (cdr.conf enable=no)"),
        (true, None) => {
            log::info!("CDR: cdr.conf has no [csv] section: no CSV records are written")
        }
        (true, Some(_)) => {
            log::info!("CDR: records go to {}", dir.join("Master.csv").display())
        }
    }
    // The sink is there whatever cdr.conf says: a reload may turn records on (the engine
    // sends none while they are off).
    (store, Some(cdr_disk::CdrSink::new(dir)))
}

/// Puts the stored registrations back (and, on a first start, those of an Asterisk AstDB's
/// `SIP/Registry` family), and says how many.
fn restore_registrations(
    engine: &mut Engine,
    now: Instant,
    wall: SystemTime,
    rows: Vec<sipbox::store::StoredBinding>,
    fresh: bool,
    asterisk: Vec<(String, String)>,
) {
    let r = engine.restore_bindings(now, rows, false);
    if r.restored + r.expired + r.dropped > 0 {
        log::info!(
            "registrations: {} restored with their remaining lifetime, {} expired, {} of \
             entries no longer host=dynamic dropped",
            r.restored,
            r.expired,
            r.dropped
        );
    }
    if fresh && !asterisk.is_empty() {
        let now_unix = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let rows: Vec<_> = asterisk
            .iter()
            .filter_map(|(peer, v)| sipbox::store::parse_asterisk_registry(peer, v, now_unix))
            .collect();
        let r = engine.restore_bindings(now, rows, true);
        log::info!(
            "registrations: {} imported from the AstDB's SIP/Registry (chan_sip), {} dropped",
            r.restored,
            r.dropped + r.expired
        );
    }
}

/// `-rx COMMAND` / `-r`: the socket from `-s`, else from the config dir's directories.
fn remote(args: &Args, dir: Option<&std::path::Path>) -> ExitCode {
    let socket = match &args.socket {
        Some(s) => s.clone(),
        None => match config::Directories::load(dir, &embedded_base()) {
            Ok(d) => d.ctl,
            Err(e) => {
                eprintln!("sipbox: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    match &args.execute {
        Some(cmd) => console::execute(&socket, cmd),
        None => console::console(&socket, (args.verbosity > 0).then_some(args.verbosity)),
    }
}

/// Where the embedded example config keeps its socket, database, logs and spool: a place the
/// user running it may write (`$XDG_STATE_HOME/sipbox`, else `~/.local/state/sipbox`, else
/// the temp directory), so `cargo run` works unprivileged.
fn embedded_base() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XDG_STATE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("sipbox")
}

/// The nameservers: `--nameserver` if given, else `/etc/resolv.conf` (read once at start, as
/// the binary reads the disk; the engine's resolver sends its queries on the loop).
fn resolver_config(nameservers: Vec<SocketAddr>) -> ResolverConfig {
    #[allow(clippy::disallowed_methods)]
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut conf = ResolverConfig::parse(&text);
    if !nameservers.is_empty() {
        conf.servers = nameservers;
    }
    if conf.servers.is_empty() {
        log::warn!(
            "DNS: no nameserver (/etc/resolv.conf, --nameserver): host names will not resolve"
        );
    }
    conf
}

/// `externaddr` / `externhost` given by name: resolved once at start (externhost is then
/// refreshed by the engine every `externrefresh`). A name that does not resolve is logged;
/// until it does, the local address is advertised everywhere.
fn resolve_extern(nat: &sipbox::config::sip_nat::NatAddressing) -> Option<std::net::IpAddr> {
    let x = nat.extern_addr.as_ref()?;
    if nat.localnet.is_empty() {
        // chan_sip's rule: without localnet nothing is "outside", so nothing is rewritten.
        log::warn!("externaddr/externhost without localnet: nothing is rewritten (set localnet)");
    }
    if x.ip.is_some() {
        return None;
    }
    let ip = resolve::first_addr(&x.host, x.port.unwrap_or(5060)).map(|a| a.ip());
    if ip.is_none() {
        log::warn!("externaddr/externhost '{}' does not resolve", x.host);
    }
    ip
}

/// The address sipbox names in Via, Contact and SDP. Bound to a wildcard (`bindaddr=0.0.0.0`,
/// the default), it is the address of the interface that carries the default route, found the
/// way Asterisk's `ast_ouraddrfor` does it: a UDP socket is "connected" towards a
/// documentation address, which only asks the kernel for a route and sends nothing.
fn advertised_addr(local: SocketAddr) -> SocketAddr {
    if !local.ip().is_unspecified() {
        return local;
    }
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect("203.0.113.1:9")?;
        s.local_addr()
    });
    match probe {
        Ok(a) if !a.ip().is_unspecified() => {
            log::info!("bound to {local}; advertising {} in SIP and SDP", a.ip());
            SocketAddr::new(a.ip(), local.port())
        }
        _ => {
            log::warn!(
                "bound to {local} and no default route: advertising 127.0.0.1; set bindaddr"
            );
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
        }
    }
}
