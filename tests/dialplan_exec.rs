//! Whole calls driven through a sample extensions.conf, the way the call layer drives the
//! runner: a command out, an event back.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sipbox::config::raw::Section;
use sipbox::dialplan::{
    Cause, ChannelInfo, Command, DialStatus, DialTarget, Dialplan, Execution, Resume,
};

/// The sections of extensions.conf text, read by the project's own config reader.
fn sections(text: &str) -> Vec<Section> {
    sipbox::config::reader::read_str("test.conf", text, None).expect("reads")
}

const CONF: &str = r#"
[general]
autofallthrough=yes

[globals]
TRUNK=SIP/provider
OPERATOR=1000

[from-internal]
exten => 1234,1,Dial(SIP/special,20)
exten => _1XXX,1,Set(TARGET=${EXTEN})
 same => n,Dial(SIP/${TARGET},30,rg)
 same => n(busy),GotoIf($["${DIALSTATUS}" = "BUSY"]?isbusy)
 same => n,Hangup()
 same => n(isbusy),Busy()
exten => _9NXXXXXX,1,Dial(${TRUNK}/${EXTEN:1})
exten => _0.,1,Dial(SIP/intl/${EXTEN},,g)
 same => n,Set(AFTER=${DIALSTATUS})
exten => 555,1,Set(CALLERID(num)=+4420${CALLERID(num):-3})
 same => n,Set(CALLERID(name)=Front desk)
 same => n,Dial(SIP/a&SIP/b/777)
exten => 600,1,Gosub(sub-add,s,1(2,3))
 same => n,Set(SUM=${GOSUB_RETVAL})
 same => n,Set(ARGSEEN=${ARG1})
 same => n,Hangup(16)
exten => 700,1,Goto(loop)
 same => n(loop),Set(X=$[${X} + 1])
 same => n,Goto(loop)
exten => 800,1,GotoIfTime(09:00-17:00,mon-fri,*,*?open,1:closed,1)
exten => open,1,Playback(open-hours)
exten => closed,1,Playback(closed)
exten => 900,1,Unknownapp(x)
exten => 901,1,NoOp()
exten => h,1,Set(HUNGUP=yes:${HANGUPCAUSE})
include => shared
include => other

[shared]
exten => 2000,1,Dial(SIP/shared)
exten => 1234,1,Dial(SIP/never)
exten => _2XXX,1,Dial(SIP/shared-pattern)
include => other

[other]
exten => 2000,1,Dial(SIP/other)
exten => 3000,1,Dial(SIP/other3000)
include => from-internal

[sub-add]
exten => s,1,Return($[${ARG1} + ${ARG2}])

[ivr]
exten => s,1,Background(welcome)
 same => n,WaitExten(4)
exten => 1,1,Set(CHOICE=1)
 same => n,Playback(one)
exten => 12,1,Set(CHOICE=12)
 same => n,Playback(twelve)
exten => _3X,1,Set(CHOICE=${EXTEN})
exten => i,1,Set(CHOICE=invalid:${INVALID_EXTEN})
 same => n,Playback(invalid)
exten => t,1,Set(CHOICE=timeout)
 same => n,Hangup()

[read]
exten => s,1,Read(PIN,enter-pin,4,,2,3)
 same => n,Set(GOT=${PIN}/${READSTATUS})
 same => n,Playback(done)

[gotcha]
exten => 123,1,Set(WHO=literal)
exten => _1XX,1,Set(WHO=pattern)
 same => n,Set(SECOND=pattern2)
 same => n,Busy()
"#;

fn load() -> Dialplan {
    let (dp, warnings) = Dialplan::from_sections(&sections(CONF)).expect("loads");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("test.conf:"), "{}", warnings[0]);
    assert!(warnings[0].contains("Unknownapp"), "{}", warnings[0]);
    dp
}

/// Thursday 2024-02-29 12:34 UTC.
fn thursday_noon() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_210_040)
}

fn chan(num: &str) -> ChannelInfo {
    ChannelInfo {
        callerid_num: num.into(),
        callerid_name: "Alice".into(),
        sip_call_id: "abc@host".into(),
        unique_id: "1700000000.1".into(),
        ..ChannelInfo::default()
    }
}

fn start(dp: &Dialplan, ctx: &str, exten: &str) -> (Execution, Command) {
    let mut ex = Execution::new(dp, ctx, exten, chan("1001"));
    let cmd = ex.step(dp, thursday_noon(), Resume::Start);
    (ex, cmd)
}

fn dial_targets(cmd: &Command) -> Vec<String> {
    match cmd {
        Command::Dial { targets, .. } => targets
            .iter()
            .map(|t: &DialTarget| match &t.number {
                Some(n) => format!("{}/{}/{}", t.tech, t.resource, n),
                None => format!("{}/{}", t.tech, t.resource),
            })
            .collect(),
        other => panic!("expected Dial, got {other:?}"),
    }
}

#[test]
fn numbers_land_on_the_expected_callee() {
    let dp = load();
    let cases: &[(&str, &str)] = &[
        ("1234", "SIP/special"),
        ("1001", "SIP/1001"),
        ("1-001", "SIP/1-001"),
        ("95551234", "SIP/provider/5551234"),
        ("0044123", "SIP/intl/0044123"),
        ("2000", "SIP/shared"),
        ("2999", "SIP/shared-pattern"),
        ("3000", "SIP/other3000"),
    ];
    for (num, want) in cases {
        let (_, cmd) = start(&dp, "from-internal", num);
        assert_eq!(dial_targets(&cmd), vec![want.to_string()], "{num}");
    }
    for num in ["4000", "", "95", "12345"] {
        let (_, cmd) = start(&dp, "from-internal", num);
        assert_eq!(
            cmd,
            Command::End {
                cause: Cause::UNALLOCATED
            },
            "{num:?}"
        );
    }
    let (_, cmd) = start(&dp, "no-such-context", "1001");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::UNALLOCATED
        }
    );
}

#[test]
fn dial_options_and_status_handling() {
    let dp = load();
    let (mut ex, cmd) = start(&dp, "from-internal", "1001");
    match &cmd {
        Command::Dial {
            timeout,
            options,
            callerid_num,
            ..
        } => {
            assert_eq!(*timeout, Some(Duration::from_secs(30)));
            assert!(options.ringback && options.continue_on_callee_hangup);
            assert_eq!(callerid_num, "1001");
        }
        other => panic!("{other:?}"),
    }
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::DialEnded {
            status: DialStatus::Busy,
            cause: Some(Cause::USER_BUSY),
        },
    );
    assert_eq!(cmd, Command::Busy);
    assert_eq!(ex.var("DIALSTATUS").as_deref(), Some("BUSY"));
    ex.hangup(&dp, thursday_noon(), Some(Cause::USER_BUSY));
    assert_eq!(ex.var("HUNGUP").as_deref(), Some("yes:17"));

    // No answer: the GotoIf falls through to Hangup().
    let (mut ex, _) = start(&dp, "from-internal", "1001");
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::DialEnded {
            status: DialStatus::NoAnswer,
            cause: None,
        },
    );
    assert_eq!(cmd, Command::Hangup { cause: None });

    // Answered without `g`: the call ends when the callee hangs up, then `h` runs.
    let (mut ex, _) = start(&dp, "from-internal", "95551234");
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::DialEnded {
            status: DialStatus::Answer,
            cause: Some(Cause::NORMAL_CLEARING),
        },
    );
    assert!(matches!(cmd, Command::End { .. }));
    assert!(ex.answered());
    ex.hangup(&dp, thursday_noon(), None);
    assert_eq!(ex.var("HUNGUP").as_deref(), Some("yes:16"));

    // Answered with `g`: the dialplan goes on, then falls off the end (autofallthrough).
    let (mut ex, _) = start(&dp, "from-internal", "0044");
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::DialEnded {
            status: DialStatus::Answer,
            cause: None,
        },
    );
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::NORMAL_CLEARING
        }
    );
    assert_eq!(ex.var("AFTER").as_deref(), Some("ANSWER"));

    // Busy then fall off the end: 486.
    let (mut ex, _) = start(&dp, "from-internal", "0044");
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::DialEnded {
            status: DialStatus::Busy,
            cause: None,
        },
    );
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::USER_BUSY
        }
    );
}

#[test]
fn set_callerid_changes_what_the_callee_sees() {
    let dp = load();
    let (ex, cmd) = start(&dp, "from-internal", "555");
    assert_eq!(dial_targets(&cmd), vec!["SIP/a", "SIP/b/777"]);
    match cmd {
        Command::Dial {
            callerid_name,
            callerid_num,
            ..
        } => {
            assert_eq!(callerid_num, "+4420001");
            assert_eq!(callerid_name, "Front desk");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ex.var("CALLERID(num)").as_deref(), Some("+4420001"));
}

#[test]
fn gosub_return_and_hangup_cause() {
    let dp = load();
    let (mut ex, cmd) = start(&dp, "from-internal", "600");
    assert_eq!(
        cmd,
        Command::Hangup {
            cause: Some(Cause::NORMAL_CLEARING)
        }
    );
    assert_eq!(ex.var("SUM").as_deref(), Some("5"));
    assert_eq!(ex.var("ARGSEEN").as_deref(), Some(""));
    ex.hangup(&dp, thursday_noon(), None);
    assert_eq!(ex.var("HUNGUP").as_deref(), Some("yes:16"));
    // A second hang-up does not run `h` again.
    ex.set_var("HUNGUP", "once");
    ex.hangup(&dp, thursday_noon(), None);
    assert_eq!(ex.var("HUNGUP").as_deref(), Some("once"));
}

#[test]
fn goto_loop_hits_the_step_budget() {
    let dp = load();
    let (ex, cmd) = start(&dp, "from-internal", "700");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );
    let x: u32 = ex.var("X").unwrap().parse().unwrap();
    assert!(x > 1000, "{x}");
}

#[test]
fn goto_if_time_with_a_fixed_clock() {
    let dp = load();
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    // Thursday noon, Thursday 20:00, Saturday noon.
    for (t, want) in [
        (1_709_210_040, "open-hours"),
        (1_709_236_800, "closed"),
        (1_709_380_800, "closed"),
    ] {
        let mut ex = Execution::new(&dp, "from-internal", "800", chan("1001"));
        let cmd = ex.step(&dp, at(t), Resume::Start);
        assert_eq!(cmd, Command::Answer, "{t}");
        let cmd = ex.step(&dp, at(t), Resume::Done);
        assert_eq!(
            cmd,
            Command::Playback {
                files: vec![want.into()],
                interrupt_digits: None
            },
            "{t}"
        );
    }
}

#[test]
fn unknown_application_hangs_up() {
    let dp = load();
    let (_, cmd) = start(&dp, "from-internal", "900");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );
    // NoOp then off the end: 480.
    let (_, cmd) = start(&dp, "from-internal", "901");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::NORMAL_CLEARING
        }
    );
}

fn ivr(digits: &[Resume]) -> Execution {
    let dp = load();
    let (mut ex, cmd) = start(&dp, "ivr", "");
    assert_eq!(cmd, Command::Answer);
    let cmd = ex.step(&dp, thursday_noon(), Resume::Done);
    assert_eq!(
        cmd,
        Command::Playback {
            files: vec!["welcome".into()],
            interrupt_digits: Some("0123456789*#".into())
        }
    );
    for d in digits {
        ex.step(&dp, thursday_noon(), d.clone());
    }
    ex
}

#[test]
fn background_collects_digits_into_an_extension() {
    use Resume::*;
    // (events after the prompt started, expected CHOICE)
    let cases: Vec<(Vec<Resume>, &str)> = vec![
        // "1" could become "12": wait for the digit timeout.
        (vec![Digit('1'), TimedOut], "1"),
        (vec![Digit('1'), Digit('2')], "12"),
        (vec![Digit('3'), Digit('7')], "37"),
        (vec![Digits("37".into())], "37"),
        (vec![Digit('5')], "invalid:5"),
        (vec![Digit('3'), TimedOut], "invalid:3"),
        // Prompt ends, WaitExten times out: `t`.
        (vec![Done, TimedOut], "timeout"),
        (vec![Done, Digit('1'), Digit('2')], "12"),
    ];
    for (events, want) in cases {
        let ex = ivr(&events);
        assert_eq!(ex.var("CHOICE").as_deref(), Some(want), "{events:?}");
    }
}

#[test]
fn read_collects_digits() {
    use Resume::*;
    let dp = load();
    let wait = Command::WaitDigit {
        timeout: Duration::from_secs(3),
    };
    let cases: Vec<(Vec<Resume>, &str)> = vec![
        (
            vec![Digit('1'), Digit('2'), Digit('3'), Digit('4')],
            "1234/OK",
        ),
        (vec![Done, Digit('9'), Digit('#')], "9/OK"),
        (vec![Done, Digit('7'), TimedOut], "7/OK"),
        (vec![Done, TimedOut, Done, TimedOut], "/TIMEOUT"),
        (vec![Done, TimedOut, Digit('5'), Digit('#')], "5/OK"),
    ];
    for (events, want) in cases {
        let (mut ex, cmd) = start(&dp, "read", "s");
        assert_eq!(cmd, Command::Answer);
        let cmd = ex.step(&dp, thursday_noon(), Done);
        assert_eq!(
            cmd,
            Command::Playback {
                files: vec!["enter-pin".into()],
                interrupt_digits: Some("0123456789*#".into())
            }
        );
        let mut last = cmd;
        for e in &events {
            last = ex.step(&dp, thursday_noon(), e.clone());
        }
        assert_eq!(ex.var("GOT").as_deref(), Some(want), "{events:?}");
        assert_eq!(
            last,
            Command::Playback {
                files: vec!["done".into()],
                interrupt_digits: None
            }
        );
        let _ = &wait;
    }
}

#[test]
fn a_missing_priority_is_taken_from_the_next_matching_extension() {
    let dp = load();
    let (ex, cmd) = start(&dp, "gotcha", "123");
    assert_eq!(cmd, Command::Busy);
    assert_eq!(ex.var("WHO").as_deref(), Some("literal"));
    assert_eq!(ex.var("SECOND").as_deref(), Some("pattern2"));
}

#[test]
fn caller_hangup_runs_h_with_the_channel_variables() {
    let dp = load();
    let (mut ex, _) = start(&dp, "from-internal", "1001");
    let cmd = ex.step(
        &dp,
        thursday_noon(),
        Resume::HungUp {
            cause: Some(Cause::NORMAL_CLEARING),
        },
    );
    assert!(matches!(cmd, Command::End { .. }));
    assert_eq!(ex.var("HUNGUP").as_deref(), Some("yes:16"));
    assert_eq!(ex.var("TARGET").as_deref(), Some("1001"));
    assert_eq!(ex.position().1, "h");
}

#[test]
fn exists_and_show() {
    let dp = load();
    let now = thursday_noon();
    assert!(dp.exists("from-internal", "1001", 2, "", now));
    assert!(!dp.exists("from-internal", "1001", 9, "", now));
    assert!(dp.exists("from-internal", "3000", 1, "", now));
    assert!(!dp.exists("shared", "1001", 1, "", now) || dp.exists("other", "1001", 1, "", now));
    let text = dp.show(Some("from-internal"));
    assert!(
        text.starts_with("[ Context 'from-internal' created by 'pbx_config' ]"),
        "{text}"
    );
    assert!(text.contains("'1234' =>"), "{text}");
    assert!(text.contains("[busy]GotoIf("), "{text}");
    assert!(text.contains("Include =>        'shared'"), "{text}");
    assert!(text.contains("in 1 context. =-"), "{text}");
    // Literals sort before patterns in the listing.
    assert!(text.find("'1234'").unwrap() < text.find("'_1XXX'").unwrap());
    assert!(dp
        .show(Some("nope"))
        .contains("There is no existence of 'nope' context"));
    assert!(dp.show(None).contains("in 7 contexts. =-"));
}

/// pbx_config logs a line it cannot use and loads the rest; so do we (these were errors
/// before): each bad line is one `file:line` warning and the good line after it loads.
#[test]
fn bad_lines_are_skipped_with_file_and_line() {
    let cases = [
        // The `[` hides the commas from the field split, as in pbx_strsep: no priority.
        ("[c]\nexten => _12[3,1,NoOp()", "invalid priority/label ''"),
        ("[c]\nsame => n,NoOp()", "no previous 'exten =>'"),
        (
            "[c]\nexten => 1,n,NoOp()",
            "'next' priority on the first entry",
        ),
        ("[c]\nexten => 1,0,NoOp()", "invalid priority '0'"),
        ("[c]\nexten => 1,x,NoOp()", "invalid priority/label 'x'"),
        ("[c]\nexten => 1,1", "no application"),
        ("[c]\nexten => ,1,NoOp()", "empty extension name"),
        ("[c]\nSAME = GOTO(c,s,1)", "no previous 'exten =>'"),
        ("[c]\ninclude => x,25:00-26:00,*,*,*", ""),
        ("[c]\ninclude => x,alaw", ""),
    ];
    for (text, why) in cases {
        let conf = format!("{text}\nexten => 9,1,NoOp()\n");
        let (dp, warnings) = Dialplan::from_sections(&sections(&conf)).expect(text);
        assert_eq!(warnings.len(), 1, "{text}: {warnings:?}");
        assert!(
            warnings[0].starts_with("test.conf:2: "),
            "{text}: {warnings:?}"
        );
        assert!(warnings[0].contains(why), "{text}: {warnings:?}");
        assert!(
            warnings[0].ends_with("; line skipped"),
            "{text}: {warnings:?}"
        );
        assert!(dp.exists("c", "9", 1, "", thursday_noon()), "{text}");
    }
    let (_, warnings) = Dialplan::from_sections(&sections(
        "[c]\nexten => 1,1,NoOp()\nexten => 1,1,Hangup()\nswitch => x\ninclude => nowhere",
    ))
    .unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].starts_with("test.conf:3:"));
}

/// Arbitrary dialled numbers, dialplans and expressions never panic or hang.
#[test]
fn garbage_in_no_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let alphabet: Vec<char> = "0123456789*#_XNZ.![]-()${}:=~?&|+,/\"ab ".chars().collect();
    let dp = load();
    for round in 0..3000 {
        let len = rnd(12);
        let s: String = (0..len).map(|_| alphabet[rnd(alphabet.len())]).collect();
        let _ = dp.exists("from-internal", &s, 1, &s, thursday_noon());
        if round % 10 != 0 {
            continue;
        }
        let conf = format!(
            "[c]\nexten => {s},1,Set(A=$[{s}])\n same => n,GotoIf({s}?1:2)\n same => n,Goto({s})"
        );
        if let Ok((dp2, _)) = Dialplan::from_sections(&sections(&conf)) {
            let mut ex = Execution::new(&dp2, "c", &s, chan(&s));
            let _ = ex.step(&dp2, thursday_noon(), Resume::Start);
            let _ = ex.step(&dp2, thursday_noon(), Resume::Digit('1'));
            ex.hangup(&dp2, thursday_noon(), None);
        }
    }
    for round in 0..300 {
        let s: String = (0..rnd(12))
            .map(|_| alphabet[rnd(alphabet.len())])
            .collect();
        let mut ex = Execution::new(
            &dp,
            if round % 2 == 0 { "ivr" } else { "read" },
            "s",
            chan(&s),
        );
        let _ = ex.step(&dp, thursday_noon(), Resume::Start);
        for c in s.chars() {
            let _ = ex.step(&dp, thursday_noon(), Resume::Digit(c));
            let _ = ex.step(&dp, thursday_noon(), Resume::Done);
        }
    }
}

#[test]
fn include_order_loops_and_timed_includes() {
    let conf = r#"
[a]
exten => _1X.,1,Dial(SIP/a-pattern)
include => b
include => c
include => daytime,09:00-17:00,mon-fri,*,*
[b]
exten => 1000,1,Dial(SIP/b)
exten => 2000,1,Dial(SIP/b)
include => a
[c]
exten => 2000,1,Dial(SIP/c)
exten => 3000,1,Dial(SIP/c)
include => b
[daytime]
exten => 4000,1,Dial(SIP/day)
"#;
    let mut text = conf.to_string();
    // A diamond of includes 40 levels deep must not explode.
    for i in 0..40 {
        text.push_str(&format!(
            "[d{i}]\ninclude => d{}\ninclude => e{i}\n[e{i}]\ninclude => d{}\n",
            i + 1,
            i + 1
        ));
    }
    text.push_str("[d40]\nexten => 5000,1,Dial(SIP/deep)\n");
    let (dp, _) = Dialplan::from_sections(&sections(&text)).unwrap();
    let day = thursday_noon();
    let night = UNIX_EPOCH + Duration::from_secs(1_709_236_800);
    // (context, number, time, expected first Dial target or None for 404)
    let cases: &[(&str, &str, SystemTime, Option<&str>)] = &[
        // Own extensions first, even a pattern over an included literal.
        ("a", "1000", day, Some("SIP/a-pattern")),
        // Includes in order.
        ("a", "2000", day, Some("SIP/b")),
        ("a", "3000", day, Some("SIP/c")),
        ("c", "1000", day, Some("SIP/b")),
        ("a", "4000", day, Some("SIP/day")),
        ("a", "4000", night, None),
        ("a", "9999", day, None),
        ("d0", "5000", day, Some("SIP/deep")),
        // Not found: without a bound this would visit 2^40 contexts.
        ("d0", "9999", day, None),
        ("d30", "5000", day, Some("SIP/deep")),
    ];
    for (ctx, num, at, want) in cases {
        let mut ex = Execution::new(&dp, ctx, num, chan("1001"));
        let cmd = ex.step(&dp, *at, Resume::Start);
        match want {
            Some(w) => assert_eq!(dial_targets(&cmd), vec![w.to_string()], "{ctx} {num}"),
            None => assert_eq!(
                cmd,
                Command::End {
                    cause: Cause::UNALLOCATED
                },
                "{ctx} {num}"
            ),
        }
    }
}

#[test]
fn priorities_labels_same_hints_and_callerid_matching() {
    let conf = r#"
[c]
exten => 100,hint,SIP/100
exten => 100,1(start),Set(P=${PRIORITY})
exten => 100,n,Set(P=${P}-${PRIORITY})
 same => n(third),Set(P=${P}-${PRIORITY})
 same => 4,Set(P=${P}-${PRIORITY})
 same => n,Goto(200,lbl)
exten => 200,1,NoOp()
exten => 200,5(lbl),Set(P=${P}-${EXTEN}-${PRIORITY})
 same => n,Goto(c,300,1)
exten => 300/_555X,1,Dial(SIP/vip)
exten => 300,1,Dial(SIP/normal)
exten => 400,1,Goto(nolabel)
"#;
    let (dp, warnings) = Dialplan::from_sections(&sections(conf)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    for (cid, want) in [
        ("5551", "SIP/vip"),
        ("1001", "SIP/normal"),
        ("55512", "SIP/normal"),
    ] {
        let mut ex = Execution::new(&dp, "c", "100", chan(cid));
        let cmd = ex.step(&dp, thursday_noon(), Resume::Start);
        assert_eq!(dial_targets(&cmd), vec![want.to_string()], "{cid}");
        assert_eq!(ex.var("P").as_deref(), Some("1-2-3-4-200-5"));
        assert_eq!(ex.position(), ("c", "300", 1));
    }
    let (_, cmd) = start(&dp, "c", "400");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );
    // A gap in the priorities ends the extension, as in Asterisk.
    let gap = "[c]\nexten => 1,1,Set(A=1)\nexten => 1,3,Set(A=3)\n";
    let (dp, _) = Dialplan::from_sections(&sections(gap)).unwrap();
    let (ex, cmd) = start(&dp, "c", "1");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::NORMAL_CLEARING
        }
    );
    assert_eq!(ex.var("A").as_deref(), Some("1"));
}

#[test]
fn builtin_variables() {
    let conf = r#"
[c]
exten => s,1,Set(V=${CONTEXT}|${EXTEN}|${PRIORITY}|${UNIQUEID}|${SIPCALLID}|${EPOCH}|${CALLERID(name)}|${LEN(${CALLERID(num)})})
 same => n,Set(TIMEOUT(digit)=2)
 same => n,Set(T=${TIMEOUT(digit)}/${TIMEOUT(response)})
 same => n,Set(CALLERID(all)="Bob B" <2002>)
 same => n,WaitExten()
"#;
    let (dp, _) = Dialplan::from_sections(&sections(conf)).unwrap();
    let (ex, cmd) = start(&dp, "c", "");
    assert_eq!(
        cmd,
        Command::WaitDigit {
            timeout: Duration::from_secs(10)
        }
    );
    assert_eq!(
        ex.var("V").as_deref(),
        Some("c|s|1|1700000000.1|abc@host|1709210040|Alice|4")
    );
    assert_eq!(ex.var("T").as_deref(), Some("2/10"));
    assert_eq!(ex.callerid(), ("Bob B", "2002"));
}

#[test]
fn underscore_variables_are_inherited_once_or_always() {
    let text = "[c]\nexten => s,1,Set(__A=1)\n same => n,Set(_B=2)\n same => n,Set(C=3)\n \
                same => n,Set(__D=4)\n same => n,Set(D=5)\n same => n,Wait(1)\n";
    let (dp, _) = Dialplan::from_sections(&sections(text)).expect("dialplan");
    let (ex, cmd) = start(&dp, "c", "s");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    let mut got = ex.inherited();
    got.sort();
    // `__A` stays inheritable, `_B` arrives plain, `C` never; `D=5` after `__D` is plain.
    let want = vec![
        ("A".to_string(), "1".to_string(), 2),
        ("B".into(), "2".into(), 0),
    ];
    assert_eq!(got, want);
    let mut child = Execution::new(&dp, "c", "s", chan("1001"));
    child.inherit(got);
    assert_eq!(child.var("A").as_deref(), Some("1"));
    assert_eq!(child.var("B").as_deref(), Some("2"));
    assert_eq!(child.var("C"), None);
    assert_eq!(
        child.inherited(),
        vec![("A".into(), "1".into(), 2)],
        "B stops here"
    );
}
