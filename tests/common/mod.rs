//! Shared helpers for the loopback tests: start the real `sipbox` binary on 127.0.0.1 with an
//! ephemeral port, talk to it with std `UdpSocket`s, and read its log.
#![allow(dead_code)]

pub mod baresip;
pub mod dns;
pub mod dnsmasq;
pub mod engine_net;
pub mod fakenet;
pub mod rtp;
pub mod scen;
pub mod sipp;
pub mod ua;
pub mod wire;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `sipbox.conf` putting the socket and the database in the config dir itself.
pub const LOCAL_DIRECTORIES: &str = "[directories]\nastrundir => .\nastdbdir => .\n\
    astlogdir => log\nastspooldir => spool\nastdatadir => data\n";

/// A running sipbox; killed (by PID, the child we started) on drop.
pub struct Sipbox {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The config dir it runs on.
    pub dir: PathBuf,
}

impl Sipbox {
    /// Writes `sip_conf` and `extensions_conf` to a fresh temp dir and starts sipbox on it.
    pub fn start(sip_conf: &str, extensions_conf: &str) -> Sipbox {
        let dir = temp_dir("sipbox");
        std::fs::write(dir.join("sip.conf"), sip_conf).unwrap();
        std::fs::write(dir.join("extensions.conf"), extensions_conf).unwrap();
        Sipbox::start_in(&dir)
    }

    /// Starts sipbox on an existing config dir.
    pub fn start_in(dir: &Path) -> Sipbox {
        Sipbox::start_logging(dir, "debug")
    }

    /// Starts sipbox on `dir` with this `RUST_LOG` filter. A dir without `sipbox.conf` or
    /// `asterisk.conf` gets a `sipbox.conf` keeping every directory inside it, so tests never
    /// share Debian's `/run/sipbox` or `/var/lib/sipbox`.
    pub fn start_logging(dir: &Path, rust_log: &str) -> Sipbox {
        Sipbox::start_with(dir, rust_log, &[])
    }

    /// As [`Sipbox::start_logging`], with extra command-line arguments.
    pub fn start_with(dir: &Path, rust_log: &str, extra: &[&str]) -> Sipbox {
        if !dir.join("sipbox.conf").exists() && !dir.join("asterisk.conf").exists() {
            std::fs::write(dir.join("sipbox.conf"), LOCAL_DIRECTORIES).unwrap();
        }
        // SIPBOX_BIN: another build (benchmarks comparing a tree before and after a change).
        let bin = std::env::var_os("SIPBOX_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_sipbox").into());
        let mut child = Command::new(bin)
            .arg("--config-dir")
            .arg(dir)
            .args(["--bind", "127.0.0.1:0", "-v"])
            .args(extra)
            .env("RUST_LOG", rust_log)
            .env("RUST_LOG_STYLE", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sipbox");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(a) = line.split("listening on udp ").nth(1) {
                    let _ = tx.send(a.trim().to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("sipbox did not start; log: {:?}", log.lock().unwrap());
            }
        };
        Sipbox {
            child,
            addr,
            log,
            dir: dir.to_path_buf(),
        }
    }

    /// Every log line so far.
    /// Its resident memory (VmRSS) in KB.
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Its log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Its process id (to signal it: `kill -HUP`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// As [`Sipbox::stop`], also returning every log line (those written while stopping).
    pub fn stop_logged(self) -> (Option<i32>, Vec<String>) {
        let log = self.log.clone();
        let code = self.stop();
        let lines = log.lock().unwrap().clone();
        (code, lines)
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Sipbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(prefix: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A parsed SIP response or request, as the tests need it: start line and headers.
#[derive(Debug, Clone)]
pub struct Msg {
    /// The first line.
    pub start: String,
    /// Headers in order, names as written.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Msg {
    /// Parses leniently (test side; the sipbox parser is tested on its own).
    pub fn parse(data: &[u8]) -> Msg {
        let text = String::from_utf8_lossy(data);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or("").to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Msg {
            start,
            headers,
            body: body.to_string(),
        }
    }

    /// The status code of a response (0 for a request).
    pub fn status(&self) -> u16 {
        self.start
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header with this name.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A parameter of a Digest challenge header, e.g. `nonce`.
    pub fn auth_param(&self, header: &str, param: &str) -> Option<String> {
        let v = self.header(header)?;
        let key = format!("{param}=");
        let at = v.find(&key)? + key.len();
        let rest = &v[at..];
        Some(match rest.strip_prefix('"') {
            Some(q) => q[..q.find('"')?].to_string(),
            None => rest.split(',').next()?.trim().to_string(),
        })
    }
}

/// A UDP SIP peer on 127.0.0.1.
pub struct Peer {
    /// The socket.
    pub sock: UdpSocket,
    /// Its address.
    pub addr: SocketAddr,
}

impl Peer {
    /// Binds an ephemeral loopback port.
    pub fn new() -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let addr = sock.local_addr().unwrap();
        Peer { sock, addr }
    }

    /// Sends raw bytes.
    pub fn send(&self, to: SocketAddr, data: &[u8]) {
        self.sock.send_to(data, to).unwrap();
    }

    /// Receives one datagram, or None after the read timeout.
    pub fn recv(&self) -> Option<Msg> {
        let mut buf = vec![0u8; 65535];
        match self.sock.recv_from(&mut buf) {
            Ok((n, _)) => Some(Msg::parse(&buf[..n])),
            Err(_) => None,
        }
    }

    /// Receives until a message with a final status (>= 200) arrives.
    pub fn recv_final(&self) -> Option<Msg> {
        loop {
            let m = self.recv()?;
            if m.status() >= 200 || m.status() == 0 {
                return Some(m);
            }
        }
    }

    /// Sets how long `recv` waits.
    pub fn timeout(&self, d: Duration) {
        self.sock.set_read_timeout(Some(d)).unwrap();
    }
}

/// A REGISTER from `peer` for `user`, optionally with an Authorization value.
pub fn register(
    peer: &Peer,
    server: SocketAddr,
    user: &str,
    call_id: &str,
    cseq: u32,
    expires: u32,
    auth: Option<&str>,
) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {peer};branch=z9hG4bK{call_id}{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag=t{call_id}\r\n\
         To: <sip:{user}@{server}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@{peer}>\r\n\
         Expires: {expires}\r\n\
         {auth}Content-Length: 0\r\n\r\n",
        peer = peer.addr
    )
}

/// The Authorization value answering a challenge (qop=auth, nc=1).
pub fn digest(
    user: &str,
    password: &str,
    realm: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    nc: u32,
) -> String {
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let cnonce = "0a4f113b";
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc={nc:08x}, cnonce=\"{cnonce}\""
    )
}

/// MD5 as lowercase hex (test side, independent of sipbox's own helper).
pub fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sip.conf the loopback tests run on: three phones, contacts limited to loopback.
pub const TEST_SIP_CONF: &str = "\
[general]
bindaddr=127.0.0.1
bindport=0
context=default
allowguest=no
alwaysauthreject=yes
realm=sipbox
minexpiry=60
maxexpiry=3600
defaultexpiry=120

[phone](!)
type=friend
host=dynamic
context=internal
; deny first, then permit: as in Asterisk the last matching rule wins
contactdeny=0.0.0.0/0.0.0.0
contactpermit=127.0.0.0/255.0.0.0

[1001](phone)
secret=1001pass

[1002](phone)
secret=1002pass

[1003](phone)
secret=1003pass

[trunk]
type=peer
host=127.0.0.1
secret=trunkpass
";

/// A small dialplan for the loopback tests.
pub const TEST_EXTENSIONS_CONF: &str = "\
[general]
autofallthrough=yes

[internal]
exten => _100X,1,Dial(SIP/${EXTEN},10)
 same => n,Hangup()

[default]
exten => _X.,1,Hangup()
";
