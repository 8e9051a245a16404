//! The dialplan functions and the applications real configs use (issue 9 part 2), driven
//! through loaded extensions.conf text the way the call layer drives the runner.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sipbox::config::raw::Section;
use sipbox::dialplan::{Cause, ChannelInfo, Command, Dialplan, Execution, Resume};

/// The sections of extensions.conf text, read by the project's own config reader.
fn sections(text: &str) -> Vec<Section> {
    sipbox::config::reader::read_str("test.conf", text, None).expect("reads")
}

fn load(text: &str) -> Dialplan {
    let (dp, warnings) = Dialplan::from_sections(&sections(text)).expect("loads");
    assert!(warnings.is_empty(), "{warnings:?}");
    dp
}

/// Thursday 2024-02-29 12:34 UTC.
fn noon() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_210_040)
}

fn chan() -> ChannelInfo {
    ChannelInfo {
        callerid_num: "1001".into(),
        callerid_name: "Alice".into(),
        sip_call_id: "abc@host".into(),
        unique_id: "1700000000.7".into(),
        peer: "alice".into(),
        name: None,
        sip_headers: vec![
            ("Via".into(), "SIP/2.0/UDP a".into()),
            ("Via".into(), "SIP/2.0/UDP b".into()),
            ("X-Account".into(), "42".into()),
        ]
        .into(),
    }
}

fn run(dp: &Dialplan, ctx: &str, exten: &str) -> (Execution, Command) {
    let mut ex = Execution::new(dp, ctx, exten, chan());
    let cmd = ex.step(dp, noon(), Resume::Start);
    (ex, cmd)
}

fn playback(cmd: &Command) -> Vec<String> {
    match cmd {
        Command::Playback { files, .. } => files.clone(),
        other => panic!("expected Playback, got {other:?}"),
    }
}

/// Each case is one extension `Set(R=<expression>)` in `[t]`, with the variables below set
/// first; the value of `R` is compared.
#[test]
fn function_table() {
    let cases: &[(&str, &str)] = &[
        // CUT, FIELDQTY, FIELDNUM, LISTFILTER
        ("${CUT(LIST,-,2)}", "b"),
        ("${CUT(LIST,-,2-3)}", "b-c"),
        ("${CUT(LIST,-,3-)}", "c-d"),
        ("${CUT(LIST,-,-2)}", "a-b"),
        ("${CUT(LIST,-,1&4)}", "a-d"),
        ("${CUT(LIST,,2)}", "b"),
        ("${CUT(CSV,\\,,2)}", "y"),
        ("${CUT(NOSUCH,-,1)}", ""),
        ("${CUT(LIST,-,0)}", ""),
        ("${CUT(LIST)}", ""),
        ("${FIELDQTY(LIST,-)}", "4"),
        ("${FIELDQTY(EMPTY,-)}", "0"),
        ("${FIELDNUM(LIST,-,C)}", "3"),
        ("${FIELDNUM(LIST,-,z)}", "0"),
        ("${FIELDNUM(LIST,-)}", ""),
        ("${LISTFILTER(LIST,-,b)}", "a-c-d"),
        // strings
        ("${STRREPLACE(SENT,o,0)}", "f00 b00"),
        ("${STRREPLACE(SENT,o,0,2)}", "f00 boo"),
        ("${STRREPLACE(SENT,o)}", "f b"),
        ("${STRREPLACE(SENT,,x)}", ""),
        ("${TOUPPER(abc-1)}${TOLOWER(XyZ)}", "ABC-1xyz"),
        ("${FILTER(0-9,+1 (555) 12-34)}", "15551234"),
        ("${FILTER(0-9)}", ""),
        ("${REGEX(\"^[0-9]+$\" ${EXTEN})}", "1"),
        ("${REGEX(\"^9\" ${EXTEN})}", "0"),
        ("${REGEX(nonsense)}", ""),
        ("${MD5(hello)}", "5d41402abc4b2a76b9719d911017c592"),
        ("${MD5()}", ""),
        // numbers
        ("${MATH(3*8)}", "24.000000"),
        ("${MATH(123%16,int)}", "11"),
        ("${MATH(7/2,i)}", "3"),
        ("${MATH(1/0)}", ""),
        ("${MATH(3<4)}", "TRUE"),
        ("${INC(N)}/${N}", "6/6"),
        ("${INC(NEWVAR)}", "1"),
        ("${RAND(5,5)}", "5"),
        ("${RAND(x,0)}", "0"),
        // time
        ("${STRFTIME(${EPOCH},,%Y-%m-%d %H:%M)}", "2024-02-29 12:34"),
        ("${STRFTIME(0,UTC,%F %T)}", "1970-01-01 00:00:00"),
        ("${STRFTIME(1709210040,+05:30,%H:%M)}", "18:04"),
        ("${STRFTIME(1709210040,Etc/GMT+5,%H:%M %z)}", "07:34 -0500"),
        ("${STRFTIME(1709210040,Europe/Berlin,%H:%M)}", "12:34"),
        ("${STRFTIME(junk,,%H)}", ""),
        ("${STRFTIME(1709210040)}", "Thu Feb 29 12:34:00 2024"),
        // channel
        ("${CALLERID(all)}", "\"Alice\" <1001>"),
        (
            "${CALLERID(number)}|${CALLERID(ani)}|${CALLERID(dnid):0:2}",
            "1001|1001|10",
        ),
        ("${CALLERID(num-pres)}", "allowed_not_screened"),
        ("${CALLERID(rdnis)}", ""),
        ("${CALLERID(bogus)}", ""),
        ("${CHANNEL(name)}", "SIP/alice-00000007"),
        ("${CHANNEL}", "SIP/alice-00000007"),
        (
            "${CHANNEL(uniqueid)}|${CHANNEL(state)}",
            "1700000000.7|Ring",
        ),
        ("${CHANNEL(language)}|${CHANNEL(channeltype)}", "en|SIP"),
        ("${CHANNEL(peername)}|${CHANNEL(nosuch)}", "alice|"),
        ("${SIP_HEADER(X-Account)}", "42"),
        (
            "${SIP_HEADER(via)}|${SIP_HEADER(Via,2)}",
            "SIP/2.0/UDP a|SIP/2.0/UDP b",
        ),
        (
            "${SIP_HEADER(Via,3)}|${SIP_HEADER(Via,x)}|${SIP_HEADER()}",
            "||",
        ),
        ("${TIMEOUT(absolute)}|${TIMEOUT(bogus)}", "0|"),
        (
            "${DIALPLAN_EXISTS(t)}${DIALPLAN_EXISTS(t,fn)}${DIALPLAN_EXISTS(t,fn,99)}",
            "110",
        ),
        (
            "${DIALPLAN_EXISTS(t,fn,mark)}${DIALPLAN_EXISTS(nosuch)}${DIALPLAN_EXISTS()}",
            "10",
        ),
        ("${ENUMLOOKUP(+4420,sip)}", ""),
        ("${GROUP()}|${GROUP_COUNT(nobody)}|${GROUP_LIST()}", "|0|"),
        // variables
        ("${GLOBAL(G)}|${G}", "from-globals|from-globals"),
        ("${HASH(h,k)}", ""),
        ("${SHARED(S)}", ""),
        ("${ARRAY(x)}", ""),
        ("${NOSUCHFUNC(1)}", ""),
    ];
    let mut conf = String::from(
        "[globals]\nG=from-globals\n[t]\nexten => fn,1,NoOp()\n same => n(mark),NoOp()\n",
    );
    for (i, (expr, _)) in cases.iter().enumerate() {
        conf.push_str(&format!(
            "exten => {},1,MSet(LIST=a-b-c-d,CSV=x\\,y\\,z,EMPTY=,SENT=foo boo,N=5)\n \
             same => n,Set(R={expr})\n",
            1000 + i
        ));
    }
    let dp = load(&conf);
    for (i, (expr, want)) in cases.iter().enumerate() {
        let exten = (1000 + i).to_string();
        let mut ex = Execution::new(&dp, "t", &exten, chan());
        ex.step(&dp, noon(), Resume::Start);
        assert_eq!(ex.var("R").as_deref(), Some(*want), "{expr}");
    }
}

#[test]
fn function_writes() {
    let dp = load(
        r#"
[t]
exten => s,1,Set(CALLERID(all)="Bob B" <2002>)
 same => n,Set(A=${CALLERID(name)}/${CALLERID(num)})
 same => n,Set(CALLERID(rdnis)=3003)
 same => n,Set(CALLERID(num-pres)=prohib)
 same => n,Set(CALLERID(num-pres)=nonsense)
 same => n,Set(B=${CALLERID(rdnis)}/${CALLERID(num-pres)}/${CALLERID(name-pres)})
 same => n,Set(CHANNEL(language)=de)
 same => n,Set(CHANNEL(musicclass)=jazz)
 same => n,Set(CHANNEL(name)=nope)
 same => n,Set(C=${CHANNEL(language)}/${CHANNEL(musicclass)}/${LANGUAGE})
 same => n,Set(ARRAY(X,Y,Z)=1,2)
 same => n,Set(D=${X}/${Y}/${Z})
 same => n,Set(HASH(h,one)=1)
 same => n,Set(HASH(h,two)=2)
 same => n,Set(E=${HASH(h,two)}/${HASHKEYS(h)}/${HASH(h)})
 same => n,Set(SHARED(S)=sh)
 same => n,Set(SHARED(S,SIP/other-1)=no)
 same => n,Set(F=${SHARED(S)}/${S})
 same => n,Set(TIMEOUT(digit)=0)
 same => n,Set(TIMEOUT(response)=abc)
 same => n,Set(G=${TIMEOUT(digit)}/${TIMEOUT(response)})
 same => n,Set(NOSUCH(x)=1)
 same => n,Set(LOCAL(L)=outside)
 same => n,Set(H=${L})
 same => n,WaitExten()
"#,
    );
    let (ex, cmd) = run(&dp, "t", "s");
    assert!(matches!(cmd, Command::WaitDigit { .. }), "{cmd:?}");
    let got = |v: &str| ex.var(v).unwrap_or_default();
    assert_eq!(got("A"), "Bob B/2002");
    assert_eq!(got("B"), "3003/prohib/allowed_not_screened");
    assert_eq!(got("C"), "de/jazz/de");
    assert_eq!(got("D"), "1/2/");
    assert_eq!(got("E"), "2/one,two/1,2");
    assert_eq!(got("F"), "sh/");
    assert_eq!(got("G"), "5/10");
    assert_eq!(got("H"), "");
}

#[test]
fn globals_and_groups_are_shared_between_calls() {
    let dp = load(
        r#"
[globals]
G=start
[t]
exten => set,1,Set(GLOBAL(G)=changed)
 same => n,Set(GLOBAL(NEW)=fresh)
 same => n,Wait(1)
exten => read,1,Set(R=${G}/${NEW}/${GLOBAL(NEW)})
 same => n,Wait(1)
exten => join,1,Set(GROUP()=sales)
 same => n,Set(GROUP(trunk)=out1)
 same => n,Set(N=${GROUP_COUNT()}/${GROUP_COUNT(sales)}/${GROUP_COUNT(out1@trunk)}/${GROUP_MATCH_COUNT(^sal)}/${GROUP_MATCH_COUNT(out.@^tr)})
 same => n,Set(L=${GROUP_LIST()}/${GROUP(trunk)})
 same => n,Wait(1)
exten => count,1,Set(N=${GROUP_COUNT(sales)}/${GROUP_COUNT(SALES)}/${GROUP_MATCH_COUNT(.)})
 same => n,Wait(1)
exten => move,1,Set(GROUP()=sales)
 same => n,Set(GROUP()=support)
 same => n,Set(N=${GROUP_COUNT(sales)}/${GROUP_COUNT(support)})
 same => n,Set(GROUP()=vip@queue)
 same => n,Set(Q=${GROUP(queue)}/${GROUP_COUNT(vip@queue)})
 same => n,Wait(1)
"#,
    );
    let (reader_before, _) = run(&dp, "t", "read");
    assert_eq!(reader_before.var("R").as_deref(), Some("start//"));
    let (_setter, _) = run(&dp, "t", "set");
    let (reader, _) = run(&dp, "t", "read");
    assert_eq!(reader.var("R").as_deref(), Some("changed/fresh/fresh"));

    let (a, _) = run(&dp, "t", "join");
    assert_eq!(a.var("N").as_deref(), Some("1/1/1/1/1"));
    assert_eq!(a.var("L").as_deref(), Some("out1@trunk sales/out1"));
    let (b, _) = run(&dp, "t", "join");
    assert_eq!(b.var("N").as_deref(), Some("2/2/2/2/2"));
    let (c, _) = run(&dp, "t", "count");
    assert_eq!(c.var("N").as_deref(), Some("2/2/4"));
    // A call that ends (its execution goes) leaves its groups.
    drop(a);
    let (c, _) = run(&dp, "t", "count");
    assert_eq!(c.var("N").as_deref(), Some("1/1/2"));
    let (m, _) = run(&dp, "t", "move");
    assert_eq!(m.var("N").as_deref(), Some("1/1"));
    assert_eq!(m.var("Q").as_deref(), Some("vip/1"));
    drop(b);
    drop(m);
    let (c, _) = run(&dp, "t", "count");
    assert_eq!(c.var("N").as_deref(), Some("0/0/0"));
}

#[test]
fn rand_stays_in_range_and_differs_between_calls() {
    let dp = load("[t]\nexten => s,1,Set(R=${RAND(1,1000)},S=${RAND()})\n same => n,Set(R2=${RAND(10,1)})\n same => n,Wait(1)\n");
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..20 {
        let mut c = chan();
        c.sip_call_id = format!("call-{n}").into();
        let mut ex = Execution::new(&dp, "t", "s", c);
        ex.step(&dp, noon(), Resume::Start);
        let r: i64 = ex
            .var("R")
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1000).contains(&r), "{r}");
        let r2: i64 = ex.var("R2").unwrap().parse().unwrap();
        assert!((1..=10).contains(&r2), "{r2}");
        seen.insert(r);
    }
    assert!(seen.len() > 10, "{seen:?}");
}

#[test]
fn local_variables_belong_to_the_gosub() {
    let dp = load(
        r#"
[t]
exten => s,1,Set(X=outer)
 same => n,Gosub(sub,s,1)
 same => n,Set(R=${X}/${Y}/${GOSUB_RETVAL})
 same => n,Wait(1)
[sub]
exten => s,1,Set(LOCAL(X)=inner)
 same => n,Set(LOCAL(Y)=only-here)
 same => n,Set(LOCAL(X)=inner2)
 same => n,Return(${X}${LOCAL(Y)})
"#,
    );
    let (ex, _) = run(&dp, "t", "s");
    assert_eq!(ex.var("R").as_deref(), Some("outer//inner2only-here"));
}

const MACROS: &str = r#"
[from-internal]
exten => 100,1,Set(ARG1=callers-arg1)
 same => n,Set(ARG3=callers-arg3)
 same => n,Macro(dial,SIP/100,20)
 same => n,Set(AFTER=${ARG1}|${ARG2}|${ARG3}|${MACRO_EXTEN}|${MACRO_DEPTH}|${SEEN})
 same => n,Wait(1)
exten => 200,1,Macro(offset)
 same => n,Set(PATH=normal)
 same => n,Wait(1)
 same => n,Set(PATH=offset)
 same => n,Wait(2)
exten => 300,1,Macro(recurse)
 same => n,Set(DEPTHS=${D})
 same => n,Wait(1)
exten => 400,1,Macro(leave)
 same => n,Set(WRONG=1)
exten => 500,1,Macro(early)
 same => n,Set(AFTER=${E})
 same => n,Wait(1)
exten => 600,1,Macro(nosuch)
 same => n,Macro()
 same => n,Set(AFTER=went-on)
 same => n,Wait(1)
exten => 700,1,MacroExit()
exten => 800,1,MacroIf($[1=1]?early:nosuch)
 same => n,Set(AFTER=${E})
 same => n,Wait(1)
exten => 900,1,Macro(hangs)
exten => landed,1,Set(LANDED=${MACRO_CONTEXT}|${ARG1})
 same => n,Wait(1)
exten => h,1,Set(HCTX=${CONTEXT})
 same => n,Macro(hangupcall,bye)
 same => n,Set(HAFTER=${HMACRO})

[macro-dial]
exten => s,1,Set(SEEN=${ARG1}|${ARG2}|${ARG3}|${MACRO_EXTEN}|${MACRO_CONTEXT}|${MACRO_PRIORITY}|${MACRO_DEPTH})
 same => n,Macro(inner,x)
 same => n,Set(SEEN=${SEEN}|${ARG1})

[macro-inner]
exten => s,1,Set(INNER=${ARG1}|${MACRO_EXTEN}|${MACRO_CONTEXT}|${MACRO_DEPTH})

[macro-offset]
exten => s,1,Set(MACRO_OFFSET=2)

[macro-recurse]
exten => s,1,Set(D=${D}${MACRO_DEPTH})
 same => n,Macro(recurse)

[macro-leave]
exten => s,1,Goto(from-internal,landed,1)

[macro-early]
exten => s,1,Set(E=before)
 same => n,MacroExit()
 same => n,Set(E=after)

[macro-hangupcall]
exten => s,1,Set(HMACRO=${ARG1}@${MACRO_EXTEN})

[macro-hangs]
exten => s,1,Answer()
 same => n,Hangup()
"#;

#[test]
fn macros_as_app_macro_runs_them() {
    let dp = load(MACROS);
    let (ex, cmd) = run(&dp, "from-internal", "100");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("INNER").as_deref(), Some("x|s|macro-dial|2"));
    assert_eq!(
        ex.var("AFTER").as_deref(),
        Some("callers-arg1||callers-arg3|||SIP/100|20|callers-arg3|100|from-internal|3|1|SIP/100")
    );
    assert_eq!(ex.position(), ("from-internal", "100", 5));

    // MACRO_OFFSET=2 skips two priorities when that one exists.
    let (ex, cmd) = run(&dp, "from-internal", "200");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(2)));
    assert_eq!(ex.var("PATH").as_deref(), Some("offset"));

    // The depth limit (MACRO_RECURSION, default 7) ends the recursion and goes on.
    let (ex, cmd) = run(&dp, "from-internal", "300");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("DEPTHS").as_deref(), Some("1234567"));
    assert_eq!(ex.var("MACRO_DEPTH"), None);

    // A Goto out of the macro context ends the macro there.
    let (ex, _) = run(&dp, "from-internal", "400");
    assert_eq!(ex.var("LANDED").as_deref(), Some("|"));
    assert_eq!(ex.var("WRONG"), None);

    // MacroExit returns at once.
    let (ex, _) = run(&dp, "from-internal", "500");
    assert_eq!(ex.var("AFTER").as_deref(), Some("before"));
    let (ex, _) = run(&dp, "from-internal", "800");
    assert_eq!(ex.var("AFTER").as_deref(), Some("before"));

    // A missing macro is a warning; the dialplan goes on.
    let (ex, _) = run(&dp, "from-internal", "600");
    assert_eq!(ex.var("AFTER").as_deref(), Some("went-on"));

    // MacroExit outside a macro ends the call.
    let (_, cmd) = run(&dp, "from-internal", "700");
    assert!(matches!(cmd, Command::End { .. }), "{cmd:?}");

    // Hanging up inside a macro runs `h` in the caller's context.
    let (mut ex, cmd) = run(&dp, "from-internal", "900");
    assert_eq!(cmd, Command::Answer);
    let cmd = ex.step(&dp, noon(), Resume::Done);
    assert!(matches!(cmd, Command::Hangup { .. }), "{cmd:?}");
    ex.hangup(&dp, noon(), None);
    assert_eq!(ex.var("HCTX").as_deref(), Some("from-internal"));
    assert_eq!(ex.var("HAFTER").as_deref(), Some("bye@h"));
}

#[test]
fn execif_while_mset() {
    let dp = load(
        r#"
[t]
exten => 1,1,ExecIf($[1 = 1]?Set(A=yes):Set(A=no))
 same => n,ExecIf($[1 = 2]?Set(B=yes):Set(B=no))
 same => n,ExecIf(0?Set(C=yes))
 same => n,ExecIf(1?Set(D=a:b))
 same => n,ExecIf(1?Goto(2,1))
exten => 2,1,Set(E=jumped)
 same => n,ExecIf(1?Playback(hello&world))
 same => n,ExecIf(1?NoSuchApp(x))
exten => 3,1,Set(I=0)
 same => n,While($[${I} < 5])
 same => n,Set(I=$[${I} + 1])
 same => n,ExecIf($[${I} = 2]?ContinueWhile())
 same => n,Set(S=${S}${I})
 same => n,ExecIf($[${I} = 4]?ExitWhile())
 same => n,EndWhile()
 same => n,Set(DONE=${S}|${I})
 same => n,Wait(1)
exten => 4,1,Set(I=0)
 same => n,While($[${I} < 2])
 same => n,Set(J=0)
 same => n,While($[${J} < 3])
 same => n,Set(P=${P}${I}${J})
 same => n,MSet(J=$[${J} + 1],UNUSED=x)
 same => n,EndWhile()
 same => n,Set(I=$[${I} + 1])
 same => n,EndWhile()
 same => n,Wait(1)
exten => 5,1,While(0)
 same => n,Set(NEVER=1)
exten => 6,1,EndWhile()
 same => n,ExitWhile()
 same => n,ContinueWhile()
 same => n,MSet(A=1,B="x,y",C=a\,b,=bad,novalue)
 same => n,Set(M=${A}|${B}|${C})
 same => n,ExecIf(nothing)
"#,
    );
    let (mut ex, cmd) = run(&dp, "t", "1");
    assert_eq!(cmd, Command::Answer);
    let cmd = ex.step(&dp, noon(), Resume::Done);
    assert_eq!(playback(&cmd), ["hello", "world"]);
    assert_eq!(ex.var("A").as_deref(), Some("yes"));
    assert_eq!(ex.var("B").as_deref(), Some("no"));
    assert_eq!(ex.var("C"), None);
    assert_eq!(ex.var("D").as_deref(), Some("a:b"));
    assert_eq!(ex.var("E").as_deref(), Some("jumped"));
    let cmd = ex.step(&dp, noon(), Resume::Done);
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );

    let (ex, _) = run(&dp, "t", "3");
    assert_eq!(ex.var("DONE").as_deref(), Some("134|4"));
    let (ex, _) = run(&dp, "t", "4");
    assert_eq!(ex.var("P").as_deref(), Some("000102101112"));
    let (_, cmd) = run(&dp, "t", "5");
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );
    let (ex, cmd) = run(&dp, "t", "6");
    assert_eq!(ex.var("M").as_deref(), Some("1|x,y|a,b"));
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::FAILURE
        }
    );
}

#[test]
fn say_applications_name_asterisks_prompts() {
    let dp = load(
        r#"
[t]
exten => 1,1,SayAlpha(aB1.)
exten => 2,1,SayPhonetic(ab)
exten => 3,1,SayUnixTime(1709210040,UTC)
exten => 4,1,SayUnixTime(1709210040,+01:00,HM)
exten => 5,1,SayUnixTime(,,'hello' A)
exten => 6,1,SayUnixTime(soon)
 same => n,SayAlpha()
 same => n,Set(OK=1)
 same => n,Wait(1)
"#,
    );
    let cases: &[(&str, &[&str])] = &[
        ("1", &["letters/a", "letters/b", "digits/1", "letters/dot"]),
        ("2", &["phonetic/a_p", "phonetic/b_p"]),
        (
            "3",
            &[
                "digits/day-4",
                "digits/mon-1",
                "digits/20",
                "digits/h-9",
                "digits/2",
                "digits/thousand",
                "digits/20",
                "digits/4",
                "digits/at",
                "digits/12",
                "digits/30",
                "digits/4",
                "digits/p-m",
            ],
        ),
        ("4", &["digits/13", "digits/30", "digits/4"]),
        ("5", &["hello", "digits/day-4"]),
    ];
    for (exten, want) in cases {
        let (_, cmd) = run(&dp, "t", exten);
        assert_eq!(playback(&cmd), *want, "{exten}");
    }
    let (ex, cmd) = run(&dp, "t", "6");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("OK").as_deref(), Some("1"));
}

#[test]
fn wait_until_cdr_and_sip_headers() {
    let dp = load(
        r#"
[t]
exten => 1,1,WaitUntil(1709210100)
 same => n,Set(S1=${WAITUNTILSTATUS})
 same => n,WaitUntil(1000)
 same => n,Set(S2=${WAITUNTILSTATUS})
 same => n,WaitUntil(garbage)
 same => n,Set(S3=${WAITUNTILSTATUS})
 same => n,NoCDR()
 same => n,ResetCDR(w)
 same => n,SIPAddHeader(X-One: 1)
 same => n,SIPAddHeader(X-Two: 2)
 same => n,SIPAddHeader(Alert-Info: <http://x>)
 same => n,SIPAddHeader(no colon)
 same => n,Set(H=${SIPADDHEADER01}|${SIPADDHEADER02}|${SIPADDHEADER03}|${SIPADDHEADER04})
 same => n,SIPRemoveHeader(x-one:)
 same => n,Set(H2=${SIPADDHEADER01}|${SIPADDHEADER02})
 same => n,SIPAddHeader(X-Three: 3)
 same => n,Set(H3=${SIPADDHEADER01})
 same => n,SIPRemoveHeader()
 same => n,Set(H4=${SIPADDHEADER01}${SIPADDHEADER02}${SIPADDHEADER03})
 same => n,Wait(1)
"#,
    );
    let (mut ex, cmd) = run(&dp, "t", "1");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(60)));
    let cmd = ex.step(&dp, noon() + Duration::from_secs(60), Resume::Done);
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("S1").as_deref(), Some("OK"));
    assert_eq!(ex.var("S2").as_deref(), Some("PAST"));
    assert_eq!(ex.var("S3").as_deref(), Some("FAILURE"));
    assert_eq!(
        ex.var("H").as_deref(),
        Some("X-One: 1|X-Two: 2|Alert-Info: <http://x>|")
    );
    assert_eq!(ex.var("H2").as_deref(), Some("|X-Two: 2"));
    assert_eq!(ex.var("H3").as_deref(), Some("X-Three: 3"));
    assert_eq!(ex.var("H4").as_deref(), Some(""));
}

#[test]
fn absolute_timeout_goes_to_t_or_hangs_up() {
    let dp = load(
        r#"
[t]
exten => 1,1,Set(TIMEOUT(absolute)=30)
 same => n,Set(LEFT=${TIMEOUT(absolute)})
 same => n,Wait(60)
 same => n,Set(NEVER=1)
exten => T,1,Set(TIMED=yes)
 same => n,Wait(1)
[u]
exten => 1,1,Set(TIMEOUT(absolute)=30)
 same => n,Set(TIMEOUT(absolute)=0)
 same => n,Wait(60)
 same => n,Set(TIMEOUT(absolute)=10)
 same => n,Wait(60)
 same => n,Set(NEVER=1)
"#,
    );
    let (mut ex, cmd) = run(&dp, "t", "1");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(60)));
    assert_eq!(ex.var("LEFT").as_deref(), Some("30.000"));
    let cmd = ex.step(&dp, noon() + Duration::from_secs(60), Resume::Done);
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("TIMED").as_deref(), Some("yes"));
    assert_eq!(ex.var("NEVER"), None);

    let (mut ex, _) = run(&dp, "u", "1");
    let later = noon() + Duration::from_secs(60);
    assert_eq!(
        ex.step(&dp, later, Resume::Done),
        Command::Wait(Duration::from_secs(60))
    );
    let cmd = ex.step(&dp, later + Duration::from_secs(60), Resume::Done);
    assert_eq!(
        cmd,
        Command::End {
            cause: Cause::NORMAL_CLEARING
        }
    );
    assert_eq!(ex.var("NEVER"), None);
}

/// Odd arguments to every function and application: warnings, never a panic, and the
/// dialplan reaches its last priority (or ends where Asterisk ends the call).
#[test]
fn odd_arguments_never_panic() {
    let funcs = [
        "CUT",
        "FIELDQTY",
        "FIELDNUM",
        "LISTFILTER",
        "STRREPLACE",
        "REPLACE",
        "TOLOWER",
        "TOUPPER",
        "FILTER",
        "REGEX",
        "MD5",
        "QUOTE",
        "CSV_QUOTE",
        "SHA1",
        "MATH",
        "RAND",
        "INC",
        "DEC",
        "MIN",
        "MAX",
        "ABS",
        "STRFTIME",
        "CALLERID",
        "CHANNEL",
        "TIMEOUT",
        "SIP_HEADER",
        "GROUP",
        "GROUP_COUNT",
        "GROUP_MATCH_COUNT",
        "GROUP_LIST",
        "DIALPLAN_EXISTS",
        "ENUMLOOKUP",
        "GLOBAL",
        "LOCAL",
        "SHARED",
        "HASH",
        "HASHKEYS",
        "ARRAY",
        "LEN",
        "IF",
    ];
    let odd = [
        "",
        ",",
        ",,,,",
        "(",
        ")",
        "\"",
        "\\",
        "-",
        "0-",
        "-0",
        "99999999999999999999",
        "-99999999999999999999",
        "1e308*1e308",
        "\"(\" x",
        "x@",
        "@",
        "[",
        "a-z-",
        "\\x",
        "%",
        "%%%q%9q",
        "1<<64",
        "0/0",
        "ä€",
        "a,b,c,d,e,f,g",
    ];
    let mut conf = String::from("[t]\n");
    let mut n = 0;
    for f in funcs {
        for a in odd {
            conf.push_str(&format!(
                "exten => {},1,Set(R=${{{f}({a})}})\n same => n,Set({f}({a})={a})\n same => n,Set(OK=1)\n",
                10_000 + n
            ));
            n += 1;
        }
    }
    let apps = [
        "Macro",
        "MacroIf",
        "ExecIf",
        "While",
        "EndWhile",
        "ExitWhile",
        "ContinueWhile",
        "MSet",
        "SayAlpha",
        "SayPhonetic",
        "SayUnixTime",
        "WaitUntil",
        "NoCDR",
        "ResetCDR",
        "SIPAddHeader",
        "SIPRemoveHeader",
        "SayNumber",
        "SayDigits",
    ];
    let first_app = n;
    for app in apps {
        for a in odd {
            conf.push_str(&format!(
                "exten => {},1,{app}({a})\n same => n,Set(OK=1)\n",
                10_000 + n
            ));
            n += 1;
        }
    }
    let dp = load(&conf);
    for i in 0..n {
        let exten = (10_000 + i).to_string();
        let mut ex = Execution::new(&dp, "t", &exten, chan());
        let mut cmd = ex.step(&dp, noon(), Resume::Start);
        for _ in 0..20 {
            match cmd {
                Command::End { .. } | Command::Hangup { .. } => break,
                _ => cmd = ex.step(&dp, noon(), Resume::Done),
            }
        }
        if i < first_app {
            assert_eq!(ex.var("OK").as_deref(), Some("1"), "function case {i}");
        }
    }
}

#[test]
fn setcallerpres_userevent_stackpop() {
    let dp = load(
        r#"
[t]
exten => 1,1,SetCallerPres(prohib)
 same => n,Set(P1=${CALLERID(pres)})
 same => n,SetCallerPres(1)
 same => n,Set(P2=${CALLERID(name-pres)})
 same => n,SetCallerPres(nonsense)
 same => n,Set(P3=${CALLERID(pres)})
 same => n,UserEvent(Billing,Status: ok)
 same => n,Gosub(sub,s,1)
 same => n,Set(AFTER=returned)
 same => n,Wait(1)
exten => 2,1,Wait(2)
exten => 3,1,Gosub(sub2,s,1)
 same => n,Wait(3)
[sub]
exten => s,1,StackPop()
 same => n,Goto(t,2,1)
[sub2]
exten => s,1,StackPop()
 same => n,Return()
"#,
    );
    // With its frame popped, the Return has nowhere to go: the call hangs up.
    let (_, cmd) = run(&dp, "t", "3");
    assert!(matches!(cmd, Command::End { .. }), "{cmd:?}");
    let (ex, cmd) = run(&dp, "t", "1");
    assert_eq!(
        cmd,
        Command::Wait(Duration::from_secs(2)),
        "StackPop + Goto left the sub"
    );
    assert_eq!(ex.var("P1").as_deref(), Some("prohib"));
    assert_eq!(ex.var("P2").as_deref(), Some("allowed_passed_screen"));
    assert_eq!(
        ex.var("P3").as_deref(),
        Some("allowed_passed_screen"),
        "bad value ignored"
    );
    assert_eq!(ex.var("AFTER"), None);
}

#[test]
fn authenticate_three_tries_then_goodbye() {
    let dp = load(
        r#"
[t]
exten => 1,1,Answer()
 same => n,Authenticate(1234)
 same => n,Set(IN=yes)
 same => n,Wait(1)
exten => 2,1,Authenticate(/etc/passwords)
"#,
    );
    let digits = |ex: &mut Execution, s: &str| {
        let mut cmd = Command::Keep;
        for c in s.chars() {
            cmd = ex.step(&dp, noon(), Resume::Digit(c));
        }
        cmd
    };
    let (mut ex, cmd) = run(&dp, "t", "1");
    assert_eq!(cmd, Command::Answer);
    let cmd = ex.step(&dp, noon(), Resume::Done);
    assert_eq!(playback(&cmd), ["agent-pass"]);
    // Wrong twice, right the third time.
    for _ in 0..2 {
        let cmd = digits(&mut ex, "99#");
        assert_eq!(playback(&cmd), ["auth-incorrect", "agent-pass"], "{cmd:?}");
    }
    let cmd = digits(&mut ex, "1234#");
    assert_eq!(playback(&cmd), ["auth-thankyou"]);
    assert_eq!(
        ex.step(&dp, noon(), Resume::Done),
        Command::Wait(Duration::from_secs(1))
    );
    assert_eq!(ex.var("IN").as_deref(), Some("yes"));
    // Three wrong tries: goodbye, then the call ends.
    let (mut ex, _) = run(&dp, "t", "1");
    ex.step(&dp, noon(), Resume::Done);
    digits(&mut ex, "1#");
    digits(&mut ex, "2#");
    let cmd = digits(&mut ex, "3#");
    assert_eq!(playback(&cmd), ["vm-goodbye"]);
    assert!(matches!(
        ex.step(&dp, noon(), Resume::Done),
        Command::End { .. }
    ));
    assert_eq!(ex.var("IN"), None);
    // A password file is refused.
    let (_, cmd) = run(&dp, "t", "2");
    assert!(matches!(cmd, Command::End { .. }), "{cmd:?}");
}

#[test]
fn astdb_functions_and_applications() {
    let dp = load(
        r#"
[t]
exten => 1,1,Set(DB(cf/1001)=2000)
 same => n,Set(DB(cf/1002)=3000)
 same => n,Set(DB(cfb/1001)=busy)
 same => n,Set(A=${DB(cf/1001)})
 same => n,Set(E=${DB_EXISTS(cf/1002)}:${DB_RESULT})
 same => n,Set(N=${DB_EXISTS(cf/9999)})
 same => n,Set(K=${DB_KEYS(cf)})
 same => n,Set(D=${DB_DELETE(cf/1002)})
 same => n,Set(K2=${DB_KEYS(cf)})
 same => n,DBdel(cfb/1001)
 same => n,Set(DB(bad)=x)
 same => n,DBdeltree(cf)
 same => n,Set(GONE=${DB(cf/1001)})
 same => n,Wait(1)
"#,
    );
    dp.load_astdb([("/old/key".to_string(), "kept".to_string())]);
    let (ex, cmd) = run(&dp, "t", "1");
    assert_eq!(cmd, Command::Wait(Duration::from_secs(1)));
    assert_eq!(ex.var("A").as_deref(), Some("2000"));
    assert_eq!(ex.var("E").as_deref(), Some("1:3000"));
    assert_eq!(ex.var("N").as_deref(), Some("0"));
    assert_eq!(ex.var("K").as_deref(), Some("1001,1002"));
    assert_eq!(ex.var("D").as_deref(), Some("3000"));
    assert_eq!(ex.var("K2").as_deref(), Some("1001"));
    assert_eq!(ex.var("GONE").as_deref(), Some(""));
    assert_eq!(
        dp.db_get("old/key").as_deref(),
        Some("kept"),
        "loaded rows are seen"
    );
    assert_eq!(dp.db_get("cfb/1001"), None);
    // Every change is queued for the disk, in order.
    let ops = dp.take_db_ops();
    assert_eq!(ops.len(), 6, "{ops:?}");
    assert!(dp.take_db_ops().is_empty());
}
