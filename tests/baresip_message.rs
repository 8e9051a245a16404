//! A real softphone texts another through the binary: baresip 1001 (module `contact`, its
//! one contact 1002) runs `/message <text>` (sent through its ctrl_tcp module), sipbox takes
//! the MESSAGE (challenged, 202), runs `[messages]` and `MessageSend()`s it to 1002's
//! registered contact, and baresip 1002 prints the text it received.
#![allow(clippy::disallowed_methods)] // tests and benches may read clocks, files, OS entropy

mod common;
use common::baresip::{write_tone, Baresip, BaresipSpec};
use common::*;
use std::time::Duration;

const EXT: &str = "\
[internal]
exten => _100X,1,Dial(SIP/${EXTEN},10)

[messages]
exten => _100X,1,Verbose(1,text for ${EXTEN} from ${CALLERID(num)}: ${MESSAGE(body)})
 same => n,MessageSend(sip:${EXTEN},${CALLERID(num)})
 same => n,Verbose(1,message to ${EXTEN}: ${MESSAGE_SEND_STATUS})
";

#[test]
fn a_message_from_baresip_reaches_another_baresip() {
    let sip = TEST_SIP_CONF.replace(
        "[general]\n",
        "[general]\naccept_outofcall_message=yes\noutofcall_message_context=messages\n",
    );
    let sb = Sipbox::start(&sip, EXT);
    let dir = temp_dir("baresip-message");
    let silence = dir.join("silence.wav");
    write_tone(&silence, 440.0, 0.0, 1.0);
    let spec = |user, password| BaresipSpec {
        user,
        password,
        server: sb.addr,
        auto_answer: false,
        source: &silence,
        record: None,
        commands: &[],
        quit_after: 20,
    };
    let receiver = Baresip::start_for_messages(&spec("1002", "1002pass"), "");
    let contacts = format!("\"Bob\" <sip:1002@{}>\n", sb.addr);
    let sender = Baresip::start_for_messages(&spec("1001", "1001pass"), &contacts);
    for user in ["1001", "1002"] {
        assert!(
            sb.wait_log(&format!("registered '{user}'"), Duration::from_secs(10)),
            "{user} did not register: {:?}",
            sb.log()
        );
    }
    let text = "hello-from-1001";
    assert!(
        sender.command("message", text),
        "ctrl_tcp took no command: {:?}",
        sender.output()
    );
    assert!(
        sb.wait_log(
            &format!("text for 1002 from 1001: {text}"),
            Duration::from_secs(5)
        ),
        "sipbox ran no [messages]: {:?}\n1001: {:?}",
        sb.log(),
        sender.output()
    );
    assert!(
        sb.wait_log("message to 1002: SUCCESS", Duration::from_secs(2)),
        "{:?}",
        sb.log()
    );
    assert!(
        receiver.wait_for(&format!("\"{text}\""), Duration::from_secs(5)),
        "1002 printed no text: {:?}\nsipbox: {:?}",
        receiver.output(),
        sb.log()
    );
    let line = receiver
        .output()
        .into_iter()
        .find(|l| l.contains(text))
        .unwrap_or_default();
    eprintln!("1002 printed: {line}");
    assert!(line.contains("sip:1001@"), "from 1001: {line}");
}
