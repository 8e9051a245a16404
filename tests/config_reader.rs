//! The Asterisk-dialect reader over real files: includes, templates, errors with `file:line`.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sipbox::config::reader::{read_file, read_file_with, read_str, read_str_with};
use sipbox::config::Section;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "sipbox-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn label(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn values<'a>(s: &'a Section, key: &'a str) -> Vec<&'a str> {
    s.all(key).map(|e| e.value.as_str()).collect()
}

#[test]
fn include_relative_to_config_dir_continues_section() {
    let d = TempDir::new("inc");
    d.write(
        "sip.conf",
        "[general]\nbindport=5060\n#include \"users/phones.conf\"\n[after]\nx=1\n",
    )
    .write(
        "users/phones.conf",
        "allow=ulaw ; still [general]\n#include <users/more.conf>\n[1001]\ntype=friend\n",
    )
    .write("users/more.conf", "allow=alaw\n");
    let s = read_file(d.path(), "sip.conf").expect("reads");
    let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["general", "1001", "after"]);
    assert_eq!(values(&s[0], "allow"), ["ulaw", "alaw"]);
    let allow = s[0].get("allow").expect("allow");
    assert_eq!(
        allow.loc.to_string(),
        format!("{}:1", d.label("users/more.conf"))
    );
    assert_eq!(
        s[1].loc.to_string(),
        format!("{}:3", d.label("users/phones.conf"))
    );
    assert_eq!(s[2].loc.to_string(), format!("{}:4", d.label("sip.conf")));
}

#[test]
fn include_without_quotes_and_tryinclude() {
    let d = TempDir::new("inc2");
    d.write(
        "a.conf",
        "[s]\n#include b.conf\n#tryinclude \"absent.conf\"\n",
    )
    .write("b.conf", "k => v\n");
    let s = read_file(d.path(), "a.conf").expect("reads");
    assert_eq!(s[0].entries.len(), 1);
    assert!(s[0].entries[0].arrow);
}

#[test]
fn missing_include_names_the_include_line() {
    let d = TempDir::new("missing");
    d.write("sip.conf", "[general]\n\n#include \"nope.conf\"\n");
    let err = read_file(d.path(), "sip.conf")
        .expect_err("fails")
        .to_string();
    let want = format!(
        "{}:3: cannot read included file '{}'",
        d.label("sip.conf"),
        d.label("nope.conf")
    );
    assert!(err.starts_with(&want), "{err}");
}

#[test]
fn missing_top_file_is_an_error() {
    let d = TempDir::new("nofile");
    let err = read_file(d.path(), "sip.conf")
        .expect_err("fails")
        .to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read", d.label("sip.conf"))),
        "{err}"
    );
}

#[test]
fn include_loops_are_refused() {
    let d = TempDir::new("loop");
    d.write("a.conf", "[s]\n#include b.conf\n")
        .write("b.conf", "x=1\n#include a.conf\n")
        .write("self.conf", "[s]\n#include self.conf\n");
    assert_eq!(
        read_file(d.path(), "a.conf").expect_err("loop").to_string(),
        format!(
            "{}:2: #include 'a.conf' would include itself (include loop)",
            d.label("b.conf")
        )
    );
    assert_eq!(
        read_file(d.path(), "self.conf")
            .expect_err("loop")
            .to_string(),
        format!(
            "{}:2: #include 'self.conf' would include itself (include loop)",
            d.label("self.conf")
        )
    );
}

#[test]
fn include_depth_is_bounded() {
    let d = TempDir::new("deep");
    d.write("f0.conf", "[s]\n#include f1.conf\n");
    for i in 1..20 {
        d.write(
            &format!("f{i}.conf"),
            &format!("#include f{}.conf\n", i + 1),
        );
    }
    d.write("f20.conf", "x=1\n");
    let err = read_file(d.path(), "f0.conf")
        .expect_err("too deep")
        .to_string();
    assert!(err.contains("nests deeper than 10 files"), "{err}");
    assert!(err.starts_with(&d.label("f10.conf")), "{err}");
}

#[test]
fn templates_several_in_order_and_template_of_template() {
    let text = "\
[base](!)
type=friend
allow=ulaw
[phone](!,base)
host=dynamic
allow=alaw
[extra](!)
allow=g722
[1001](phone,extra)
secret=s
allow=ulaw
";
    let s = read_str("sip.conf", text, None).expect("reads");
    assert_eq!(s.len(), 1);
    let keys: Vec<_> = s[0]
        .entries
        .iter()
        .map(|e| format!("{}={}@{}", e.key, e.value, e.loc.line))
        .collect();
    assert_eq!(
        keys,
        [
            "type=friend@2",
            "allow=ulaw@3",
            "host=dynamic@5",
            "allow=alaw@6",
            "allow=g722@8",
            "secret=s@10",
            "allow=ulaw@11"
        ]
    );
    assert_eq!(s[0].loc.line, 9);
}

#[test]
fn duplicates_kept_in_order_and_sections_repeat() {
    let text =
        "[internal]\nexten => 1,1,A()\nsame => n,B()\n[other]\nx=1\n[internal]\nexten => 2,1,C()\n";
    let s = read_str("extensions.conf", text, None).expect("reads");
    let names: Vec<_> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["internal", "other", "internal"]);
    assert_eq!(values(&s[0], "exten"), ["1,1,A()"]);
    assert_eq!(values(&s[2], "exten"), ["2,1,C()"]);
    assert!(s[0].entries.iter().all(|e| e.arrow));
}

#[test]
fn escaped_semicolons_and_arrows() {
    let s = read_str(
        "x.conf",
        "[a]\nsecret = p\\;w ; comment\nexten=>1,1,NoOp(a\\;b)\n",
        None,
    )
    .expect("reads");
    assert_eq!(s[0].entries[0].value, "p;w");
    assert!(!s[0].entries[0].arrow);
    assert_eq!(s[0].entries[1].value, "1,1,NoOp(a;b)");
    assert!(s[0].entries[1].arrow);
}

/// What Asterisk refuses is an error; what it logs and skips is a warning (config.c).
#[test]
fn error_texts() {
    let cases = [
        (
            "bindport=5060\n",
            "sip.conf:1: 'bindport' is outside any [section]",
        ),
        (
            "[general]\n[1001](phone)\n",
            "sip.conf:2: unknown template 'phone' in '[1001]'",
        ),
        ("[general\n", "sip.conf:1: unterminated '[' (missing ']')"),
    ];
    for (text, want) in cases {
        let got = read_str("sip.conf", text, None)
            .expect_err(text)
            .to_string();
        assert_eq!(got, want);
    }
    // Formerly errors here; Asterisk only warns about them, and so do we now.
    let warned = [
        (
            "[general]\nbindport\n",
            "sip.conf:2: no '=' in 'bindport': line ignored",
        ),
        (
            "[general]\n#exec /bin/echo\n",
            "sip.conf:2: #exec ignored: sipbox runs no programs to read its config",
        ),
    ];
    for (text, want) in warned {
        let mut w = Vec::new();
        read_str_with("sip.conf", text, None, &mut w).expect(text);
        assert_eq!(w, [want]);
    }
}

#[test]
fn wildcard_include_and_unterminated_block_in_include() {
    let d = TempDir::new("glob");
    d.write(
        "sip.conf",
        "[general]\n#include sip_custom*.conf\n#tryinclude none*.conf\nz=1\n",
    )
    .write("sip_custom_b.conf", "b=2\n;-- left open\n")
    .write("sip_custom_a.conf", "a=1\n");
    let mut w = Vec::new();
    let s = read_file_with(d.path(), "sip.conf", &mut w).expect("reads");
    let keys: Vec<_> = s[0].entries.iter().map(|e| e.key.as_str()).collect();
    // Sorted as glob(3) sorts; the open block does not leak out of its file.
    assert_eq!(keys, ["a", "b", "z"]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(&format!("{}:2: ';--' block", d.label("sip_custom_b.conf"))));
    d.write("bad.conf", "[general]\n#include nothing*.conf\n");
    let err = read_file(d.path(), "bad.conf")
        .expect_err("no match")
        .to_string();
    assert!(
        err.starts_with(&format!("{}:2: no file matches", d.label("bad.conf"))),
        "{err}"
    );
}

/// A cheap deterministic fuzz: random lines from a dialect-heavy alphabet never panic.
#[test]
fn random_input_never_panics() {
    let alphabet: Vec<char> = "[]()!+,=>;\\-#\"<> \tabc01:/.\n\u{e9}".chars().collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(state % 60) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        state = state.wrapping_add(1);
        if let Ok(sections) = read_str("f.conf", &text, None) {
            let mut w = sipbox::config::values::Warnings::default();
            let _ = sipbox::config::SipConf::from_sections(&sections, &mut w);
            let _ = sipbox::config::RtpConf::from_sections(&sections, &mut w);
        }
    }
}
