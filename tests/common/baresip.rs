//! Running baresip (Debian `baresip-core`) as a real softphone against sipbox on loopback:
//! its own config dir, file audio (aufile source, aubridge as a silent sink), and an
//! LD_PRELOAD shim so it sees only 127.0.0.1 (see tests/baresip/lo_only.c); optionally its
//! `ctrl_tcp` module, to send it commands (netstring JSON) while it runs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Compiles the loopback-only shim once per test process.
pub fn shim() -> PathBuf {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/baresip/lo_only.c");
        let out = super::temp_dir("shim").join("lo_only.so");
        let ok = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .arg("-ldl")
            .status()
            .expect("cc (gcc) must be installed: see README");
        assert!(ok.success(), "compiling the baresip shim failed");
        out
    })
    .clone()
}

/// Writes a mono 8 kHz 16-bit WAV: `secs` of a `hz` sine, then `silence` seconds of silence.
pub fn write_tone(path: &Path, hz: f64, secs: f64, silence: f64) {
    let rate = 8000.0;
    let n_tone = (secs * rate) as usize;
    let n = n_tone + (silence * rate) as usize;
    let mut data = Vec::with_capacity(n * 2);
    for i in 0..n {
        let v = if i < n_tone {
            ((i as f64) * hz * 2.0 * std::f64::consts::PI / rate).sin() * 12000.0
        } else {
            0.0
        };
        data.extend_from_slice(&(v as i16).to_le_bytes());
    }
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav).unwrap();
}

/// A running baresip; killed on drop.
pub struct Baresip {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    ctrl: Option<u16>,
    /// Held open for the `stdio` UI (epoll refuses /dev/null).
    _stdin: Option<std::process::ChildStdin>,
    /// Its config dir.
    pub dir: PathBuf,
}

/// How to start one baresip.
pub struct BaresipSpec<'a> {
    /// Account user (sip.conf entry) and password.
    pub user: &'a str,
    /// Its password.
    pub password: &'a str,
    /// sipbox's address.
    pub server: SocketAddr,
    /// Answer incoming calls automatically.
    pub auto_answer: bool,
    /// WAV to send as audio.
    pub source: &'a Path,
    /// Record received audio here (sndfile module), if given.
    pub record: Option<&'a Path>,
    /// Commands to run at start (`-e`), e.g. `/dial 1002`.
    pub commands: &'a [String],
    /// Quit after this many seconds (`-t`).
    pub quit_after: u32,
}

impl Baresip {
    /// Writes its config and starts it.
    pub fn start(spec: &BaresipSpec) -> Baresip {
        Self::launch(spec, None, None)
    }

    /// As [`Baresip::start`], with `ctrl_tcp` listening for [`Baresip::command`].
    pub fn start_controlled(spec: &BaresipSpec) -> Baresip {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        Self::launch(spec, Some(port), None)
    }

    /// As [`Baresip::start_controlled`], for text messages: the `contact` module with this
    /// `contacts` file (`"Name" <sip:user@host>` lines; `/message text` texts the current
    /// contact) and the `stdio` UI, without which the menu prints no received message.
    pub fn start_for_messages(spec: &BaresipSpec, contacts: &str) -> Baresip {
        Self::start_with_contacts(spec, contacts, &[])
    }

    /// As [`Baresip::start_for_messages`], with more modules (`presence.so`: it subscribes to
    /// the contacts marked `;presence=p2p` and prints their status changes).
    pub fn start_with_contacts(spec: &BaresipSpec, contacts: &str, more: &[&str]) -> Baresip {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        Self::launch(spec, Some(port), Some((contacts, more)))
    }

    /// Sends a command (as the menu's `/cmd params`) through `ctrl_tcp`; false when it could
    /// not be delivered.
    pub fn command(&self, cmd: &str, params: &str) -> bool {
        let Some(port) = self.ctrl else {
            return false;
        };
        let json = format!(r#"{{"command":"{cmd}","params":"{params}","token":"t1"}}"#);
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let ok = write!(s, "{}:{json},", json.len()).is_ok();
        std::thread::sleep(Duration::from_millis(200));
        ok
    }

    fn launch(spec: &BaresipSpec, ctrl: Option<u16>, contacts: Option<(&str, &[&str])>) -> Baresip {
        let dir = super::temp_dir(&format!("baresip-{}", spec.user));
        let sip_port = super::sipp::free_port();
        let player = "aubridge,sink";
        let mut modules = vec![
            "g711.so",
            "aufile.so",
            "aubridge.so",
            "account.so",
            "menu.so",
        ];
        if spec.record.is_some() {
            modules.push("sndfile.so");
        }
        if ctrl.is_some() {
            modules.push("ctrl_tcp.so");
        }
        if let Some((_, more)) = contacts {
            modules.extend(["contact.so", "stdio.so"]);
            modules.extend(more.iter().copied());
        }
        let mut config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\ncall_local_timeout 120\naudio_player {player}\n\
             audio_source aufile,{src}\naudio_alert {player}\nrtp_ports 30000-39999\nrtcp_mux no\njitter_buffer_delay 1-5\n\
             module_path /usr/lib/baresip/modules\n",
            src = spec.source.display()
        );
        for m in &modules {
            config += &format!("module {m}\n");
        }
        if let Some(rec) = spec.record {
            config += &format!("snd_path {}\n", rec.display());
        }
        if let Some(port) = ctrl {
            config += &format!("ctrl_tcp_listen 127.0.0.1:{port}\n");
        }
        std::fs::write(dir.join("config"), config).unwrap();
        let answer = if spec.auto_answer {
            ";answermode=auto"
        } else {
            ""
        };
        let account = format!(
            "<sip:{u}@{s}>;auth_user={u};auth_pass={p};outbound=\"sip:{s}\";regint=600;ptime=20;audio_codecs=PCMU{answer}\n",
            u = spec.user,
            s = spec.server,
            p = spec.password
        );
        std::fs::write(dir.join("accounts"), account).unwrap();
        let contacts_file = contacts.map_or("", |(c, _)| c);
        std::fs::write(dir.join("contacts"), contacts_file).unwrap();
        let mut cmd = Command::new("baresip");
        cmd.arg("-4")
            .arg("-f")
            .arg(&dir)
            .args(["-t", &spec.quit_after.to_string()]);
        for c in spec.commands {
            cmd.args(["-e", c]);
        }
        let mut child = cmd
            .env("LD_PRELOAD", shim())
            .env("HOME", &dir)
            .stdin(if contacts.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baresip (Debian package baresip-core) must be installed: see README");
        let stdin = child.stdin.take();
        let out = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Baresip {
            child,
            out,
            ctrl,
            _stdin: stdin,
            dir,
        }
    }

    /// Everything it printed so far.
    pub fn output(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a line containing `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.out.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Waits for it to exit by itself (`-t`), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
