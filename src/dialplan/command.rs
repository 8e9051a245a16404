//! The runner's interface types: what the call layer is asked to do ([`Command`]), what it
//! reports back ([`Resume`]), and what it tells the runner about the call. The protocol
//! between them is described in [`super::exec`].

use std::time::Duration;

use compact_str::CompactString;

use super::cause::Cause;

/// What the call layer knows about the calling channel (inline strings: a new call's names
/// and numbers cost no allocation when short).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Caller number (`${CALLERID(num)}`).
    pub callerid_num: CompactString,
    /// Caller display name (`${CALLERID(name)}`).
    pub callerid_name: CompactString,
    /// The inbound leg's Call-ID (`${SIPCALLID}`).
    pub sip_call_id: CompactString,
    /// A unique id for the call (`${UNIQUEID}`).
    pub unique_id: CompactString,
    /// The sip.conf entry the call came from, if any (`${CHANNEL(peername)}`, the channel
    /// name `SIP/peer-...`).
    pub peer: CompactString,
    /// The channel's name when it is not `SIP/peer-0000000n` (a Local channel's
    /// `Local/exten@context-0000000n;2`).
    pub name: Option<CompactString>,
    /// The INVITE's headers as received, name and value (`${SIP_HEADER(name)}`).
    pub sip_headers: SipHeaders,
}

/// The headers `${SIP_HEADER(name[,n])}` reads: the channel's INVITE itself, shared with the
/// call (nothing copied per call: most dialplans never ask), or a list of name/value pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SipHeaders {
    /// No SIP request (a Local channel, a callee leg, a MESSAGE).
    #[default]
    None,
    /// The request's headers as received.
    Request(std::rc::Rc<crate::sip::Request>),
    /// Name and value pairs.
    List(Vec<(String, String)>),
}

impl SipHeaders {
    /// The `n`th (from 0) value of header `name`, compared case-insensitively with the
    /// canonical header names (as chan_sip's `get_header` does).
    pub fn nth(&self, name: &str, n: usize) -> Option<&str> {
        match self {
            SipHeaders::None => None,
            SipHeaders::Request(r) => r
                .headers()
                .iter()
                .filter(|(h, _)| h.as_str().eq_ignore_ascii_case(name))
                .nth(n)
                .map(|(_, v)| v),
            SipHeaders::List(l) => l
                .iter()
                .filter(|(h, _)| h.eq_ignore_ascii_case(name))
                .nth(n)
                .map(|(_, v)| v.as_str()),
        }
    }
}

impl From<Vec<(String, String)>> for SipHeaders {
    fn from(l: Vec<(String, String)>) -> Self {
        SipHeaders::List(l)
    }
}

/// How a Dial ended, as `${DIALSTATUS}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStatus {
    /// A callee answered (the bridged call has now ended).
    Answer,
    /// Every callee was busy.
    Busy,
    /// Nobody answered before the timeout.
    NoAnswer,
    /// The caller cancelled.
    Cancel,
    /// Congestion (503 and the like).
    Congestion,
    /// No callee could be reached (not registered, unknown peer).
    ChanUnavail,
}

impl DialStatus {
    /// The `${DIALSTATUS}` text.
    pub fn as_str(self) -> &'static str {
        match self {
            DialStatus::Answer => "ANSWER",
            DialStatus::Busy => "BUSY",
            DialStatus::NoAnswer => "NOANSWER",
            DialStatus::Cancel => "CANCEL",
            DialStatus::Congestion => "CONGESTION",
            DialStatus::ChanUnavail => "CHANUNAVAIL",
        }
    }
}

/// One `TECH/resource[/number]` of a Dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTarget {
    /// Technology, e.g. `SIP`.
    pub tech: String,
    /// Peer name (or host).
    pub resource: String,
    /// Number to dial at that peer (`SIP/provider/0123`).
    pub number: Option<String>,
}

/// Dial options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DialOptions {
    /// `r`: generate ringback to the caller.
    pub ringback: bool,
    /// `g`: continue in the dialplan after the callee hangs up.
    pub continue_on_callee_hangup: bool,
    /// `t`: the callee may transfer by DTMF (features.conf `blindxfer`/`atxfer`).
    pub callee_transfer: bool,
    /// `T`: the caller may transfer by DTMF.
    pub caller_transfer: bool,
    /// `m[(class)]`: music on hold to the caller instead of ringing until a callee answers
    /// (the class is [`Command::Dial`]'s `music_class`).
    pub music: bool,
}

/// What the call layer must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Answer the call (200 OK); resume with `Done`.
    Answer,
    /// Send 183 Session Progress; resume with `Done`.
    Progress,
    /// Send 180 Ringing; resume with `Done`.
    Ringing,
    /// Indicate busy (486 if unanswered) and end the call.
    Busy,
    /// Indicate congestion (503 if unanswered) and end the call.
    Congestion,
    /// Hang up, with this cause when given.
    Hangup {
        /// `Hangup(cause)`'s cause.
        cause: Option<Cause>,
    },
    /// Call the targets in parallel; resume with `DialEnded`.
    Dial {
        /// Targets, rung at once.
        targets: Vec<DialTarget>,
        /// Give up after this long (`NOANSWER`).
        timeout: Option<Duration>,
        /// Options.
        options: DialOptions,
        /// Caller ID name to present.
        callerid_name: String,
        /// Caller ID number to present.
        callerid_num: String,
        /// `m(class)`'s class (empty: the channel's).
        music_class: String,
    },
    /// Play these sound files in order; with `interrupt_digits`, stop at the first of those
    /// digits and resume with `Digit`.
    Playback {
        /// Files, without extension (`hello-world`, `digits/5`).
        files: Vec<String>,
        /// Digits that interrupt playback.
        interrupt_digits: Option<String>,
    },
    /// Echo the caller's media back until `#` (resume `Digit('#')`) or hang-up.
    Echo,
    /// Wait this long; resume with `Done`.
    Wait(Duration),
    /// Wait for one DTMF digit: resume with `Digit` or, after `timeout`, `TimedOut`.
    WaitDigit {
        /// How long to wait.
        timeout: Duration,
    },
    /// Start playing a tone (a name of the tone zone or a tone list) in the background;
    /// resume with `Done` at once.
    PlayTones {
        /// `ring`, `busy`, ... or `440+480/2000,0/4000`.
        tone: String,
    },
    /// Stop the tone PlayTones started; resume with `Done`.
    StopPlayTones,
    /// `SendDTMF(digits[,timeout_ms[,duration_ms[,channel]]])`: send the digits to the
    /// channel (this one when `channel` is None) in its dtmfmode; resume with `Done` once
    /// they are sent.
    SendDtmf {
        /// `0-9*#A-D`, `w` (half a second of pause), `W` (a second).
        digits: String,
        /// Pause after each digit.
        between: Duration,
        /// Length of each digit.
        duration: Duration,
        /// The channel to send to (a name like `SIP/1002-00000002`).
        channel: Option<String>,
    },
    /// `MusicOnHold([class[,duration]])`: music to the caller; resume with `Done` after
    /// `duration` (never without one: until hang-up).
    MusicOnHold {
        /// The class (empty: the channel's, then `default`).
        class: String,
        /// How long.
        duration: Option<Duration>,
    },
    /// `StartMusicOnHold([class])`: music to the caller while the dialplan goes on; resume
    /// with `Done` at once.
    StartMusicOnHold {
        /// The class (empty: the channel's, then `default`).
        class: String,
    },
    /// `StopMusicOnHold()`; resume with `Done`.
    StopMusicOnHold,
    /// Record the caller into a WAV file; resume with `Recorded`.
    Record {
        /// The file (relative names are under soundsdir), `.wav` included.
        path: String,
        /// Stop after this much trailing silence.
        silence: Option<Duration>,
        /// Stop after this long.
        max: Option<Duration>,
        /// Digits that end the recording (`#` by default).
        terminators: String,
    },
    /// Record a voicemail message or greeting (sipbox keeps the samples: the voicemail
    /// application stores them); resume with `Message`.
    RecordMessage {
        /// Stop after this much trailing silence.
        silence: Option<Duration>,
        /// Stop after this long.
        max: Option<Duration>,
        /// Mean absolute sample of a 20 ms frame below which it is silence.
        threshold: u32,
        /// Digits that end the recording.
        terminators: String,
    },
    /// Report the device state of each target; resume with `Availability`.
    ChanIsAvail {
        /// The targets, as Dial's.
        targets: Vec<DialTarget>,
    },
    /// `Pickup()` / `PickupChan()`: answer a ringing call on this (unanswered) channel; the
    /// dialplan stops when it worked, else resume with `Done`.
    Pickup {
        /// Whose ringing call.
        target: PickupTarget,
    },
    /// `Park([lot[,options]])`: park the caller in `lot` (res_parking's `park_app_exec`);
    /// resume with `Parked` or `ParkFailed`, later `ParkTimedOut`.
    Park {
        /// The lot (empty: `${PARKINGLOT}`, then `default`).
        lot: String,
        /// `t(duration)`: instead of the lot's `parkingtime`.
        timeout: Option<Duration>,
        /// `c(context,exten,priority)`: where the call goes on timeout instead.
        comeback: Option<(String, String, u32)>,
        /// `s`: no announcement (and no failure prompt).
        silence: bool,
    },
    /// `ParkedCall([lot[,slot]])`: bridge this caller with the call parked there; the dialplan
    /// stops when it worked, else resume with `Done`.
    ParkedCall {
        /// The lot (empty: `${PARKINGLOT}`, then `default`).
        lot: String,
        /// The position (None: the lowest one taken).
        slot: Option<u32>,
    },
    /// `Queue()`: wait in the queue (music, or ringing with `r`) while its members are rung
    /// by its strategy; a member answering bridges the call (resume `DialEnded` when the
    /// member hangs up with `c`); the queue giving up resumes `QueueEnded`.
    Queue(Box<super::queue::QueueRequest>),
    /// Run a shell command off the loop; resume with `SystemDone`.
    System {
        /// The command line (for `/bin/sh -c`).
        command: String,
    },
    /// `AGI()`: start the script (or connect to the FastAGI server) and send it `env`, the
    /// `agi_*` block; resume with `AgiLine` for each line it sends and `AgiClosed` when it
    /// ends. No line within `timeout`: the call layer closes the session and resumes with
    /// `AgiClosed { end: AgiEnd::TimedOut }`.
    AgiOpen {
        /// Where the script is.
        target: AgiTarget,
        /// The environment block, blank line included.
        env: String,
        /// How long the script may take to send its first line.
        timeout: Duration,
    },
    /// Send `text` (a result line) to the AGI script. `wait: Some(t)`: wait up to `t` for its
    /// next line; `None`: resume with `Done` at once (the next line is already here, or the
    /// script is gone).
    AgiSend {
        /// The result line(s), newline included.
        text: String,
        /// How long to wait for the next command.
        wait: Option<Duration>,
    },
    /// Run a shell command off the loop for `SHELL()` and capture its output; resume with
    /// `ShellDone`.
    Shell {
        /// The command line (for `/bin/sh -c`).
        command: String,
    },
    /// `MessageSend(to[,from])`: send the text message (`MESSAGE(body)`) to `to`; resume
    /// with `MessageSent`.
    MessageSend {
        /// `sip:peer` or `sip:user@host`.
        to: String,
        /// The From to use (empty: the message's own `MESSAGE(from)`).
        from: String,
        /// The body.
        body: String,
    },
    /// `MixMonitor()`: start recording the channel's two directions; resume with `Done`
    /// at once (the recording runs beside the dialplan).
    MixMonitor(Box<MixMonitorSpec>),
    /// `StopMixMonitor([id])`: stop that recording (without an id: the channel's oldest);
    /// resume with `Done`.
    StopMixMonitor {
        /// The `i(var)` id (empty: the oldest running).
        id: String,
    },
    /// `ConfBridge()` / `MeetMe()`: the (answered) caller joins the conference; resume with
    /// `ConferenceLeft` when it is out while its call goes on (full, `end_marked`).
    Conference(Box<super::conference::ConferenceSpec>),
    /// `Page()`: ring every target; each that answers hears the (answered) caller, and is
    /// heard too with `duplex`. The caller stays until it hangs up: no resume.
    Page {
        /// Targets, rung at once.
        targets: Vec<DialTarget>,
        /// Stop the targets still ringing after this long.
        timeout: Option<Duration>,
        /// `d`: everybody hears everybody.
        duplex: bool,
    },
    /// Nothing new: keep doing what the previous command asked.
    Keep,
    /// The dialplan is over: hang up for this reason (UNALLOCATED: no such extension,
    /// NORMAL_CLEARING: ran off the end, USER_BUSY after a busy Dial, ...). The engine turns it
    /// into the final response of an unanswered call: see [`Cause`] for the table.
    End {
        /// Why the call ends.
        cause: Cause,
    },
}

/// A MixMonitor to start, as the application parsed it: paths resolved (relative names
/// under `<astspooldir>/monitor/`), the post-command's variables substituted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MixMonitorSpec {
    /// The mixed recording (None: only `r()`/`t()` files).
    pub mixed: Option<std::path::PathBuf>,
    /// `r(file)`: what the channel's phone sends.
    pub receive: Option<std::path::PathBuf>,
    /// `t(file)`: what the channel's phone is sent.
    pub transmit: Option<std::path::PathBuf>,
    /// `a`: append to existing files.
    pub append: bool,
    /// `b`: only while the channel is bridged.
    pub bridged_only: bool,
    /// `v(x)`/`W(x)`: the receive direction's volume factor (see `media::monitor`).
    pub read_volume: i32,
    /// `V(x)`/`W(x)`: the transmit direction's volume factor.
    pub write_volume: i32,
    /// `i(var)`: the channel variable that gets the recording's id.
    pub id_var: Option<String>,
    /// Run when the recording ends (`/bin/sh -c`).
    pub command: Option<String>,
}

/// What happened since the last command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// First call of `step`.
    Start,
    /// A `MessageSend` was handed on (or not): `${MESSAGE_SEND_STATUS}`.
    MessageSent {
        /// SUCCESS, FAILURE, INVALID_URI, INVALID_PROTOCOL.
        status: &'static str,
    },
    /// The command finished normally.
    Done,
    /// The Dial finished.
    DialEnded {
        /// The outcome (`Answer`: a callee answered and has since hung up).
        status: DialStatus,
        /// The cause for `${HANGUPCAUSE}`.
        cause: Option<Cause>,
    },
    /// One DTMF digit.
    Digit(char),
    /// Several digits at once (handled one by one).
    Digits(String),
    /// A `WaitDigit` timed out.
    TimedOut,
    /// The device state of each ChanIsAvail target, in order (Asterisk's numbers: 1 not in
    /// use, 2 in use, 3 busy, 4 invalid, 5 unavailable).
    Availability {
        /// One state per target.
        states: Vec<u8>,
    },
    /// Record() ended: `DTMF`, `SILENCE`, `TIMEOUT` or `ERROR` (`${RECORD_STATUS}`).
    Recorded {
        /// Why it ended.
        status: &'static str,
        /// The digit that ended it (`DTMF`).
        digit: Option<char>,
        /// Samples recorded (8 kHz).
        samples: usize,
    },
    /// A `RecordMessage` ended (`DTMF`, `SILENCE`, `TIMEOUT`, or `HANGUP` when the caller
    /// hung up while recording) with what was recorded: 8 kHz samples, trailing silence cut.
    Message {
        /// Why it ended.
        status: &'static str,
        /// The recording.
        samples: Vec<i16>,
    },
    /// The System() command ended with this exit status (None: it could not run).
    SystemDone {
        /// Its exit status.
        exit: Option<i32>,
    },
    /// `Park`: the caller is parked at `slot` of `lot`.
    Parked {
        /// The lot's name.
        lot: String,
        /// The position.
        slot: u32,
        /// The caller parked itself: it hears the position (unless `s`).
        announce: bool,
        /// The lot's `parkedmusicclass`.
        music_class: String,
    },
    /// `Park`: no free position, or no such lot.
    ParkFailed,
    /// The parked caller's `parkingtime` is over: where it goes now.
    ParkTimedOut {
        /// The comeback.
        comeback: ParkComeback,
    },
    /// The member is out of its conference while its call goes on.
    ConferenceLeft {
        /// Why.
        why: super::conference::ConfLeft,
    },
    /// `Queue()` left the queue without a member: `${QUEUESTATUS}`.
    QueueEnded {
        /// TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY, UNKNOWN, ...
        status: super::queue::QueueResult,
    },
    /// A `Shell` command ended with this output (None: it could not run).
    ShellDone {
        /// Its standard output, bounded.
        output: Option<String>,
    },
    /// One line from the AGI script (newline removed).
    AgiLine(String),
    /// The AGI session is over.
    AgiClosed {
        /// How.
        end: AgiEnd,
    },
    /// The caller hung up.
    HungUp {
        /// The caller's cause.
        cause: Option<Cause>,
    },
}

/// Where a parked call goes when its time is over (res_parking's `comeback_goto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkComeback {
    /// To this place in the dialplan.
    Goto {
        /// The context.
        context: String,
        /// The extension.
        exten: String,
        /// The priority.
        prio: u32,
    },
    /// `comebacktoorigin`: `Dial(parker,comebackdialtime)` at `park-dial,<flat>,1` (the
    /// extension res_parking makes there), then hang up.
    Dial {
        /// The parker's device.
        target: DialTarget,
        /// `comebackdialtime`.
        timeout: Duration,
        /// The parker flattened (`SIP_1002`): the extension's name.
        flat: String,
    },
    /// Nowhere (a parker sipbox cannot call back): hang up.
    Hangup,
}

/// The ringing call a pickup answers (Asterisk's `app_directed_pickup.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickupTarget {
    /// `Pickup()` without an argument, or `pickupexten`: a call ringing a phone whose
    /// `callgroup` meets the picker's `pickupgroup`.
    Group,
    /// `Pickup(exten[@context])`: a call that Dial rings from `exten` in `context`.
    Exten {
        /// The extension.
        exten: String,
        /// Its context.
        context: String,
    },
    /// `PickupChan(SIP/name[&SIP/name2])`: a call ringing one of these sip.conf entries.
    Channel(Vec<String>),
}

/// Where an AGI script runs (`res/res_agi.c` `launch_script`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgiTarget {
    /// A program (relative names resolve in `astagidir`) run with these arguments.
    Process {
        /// The program as written.
        script: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// `agi://host[:port]/...`: a FastAGI server.
    Fast {
        /// Host name or address.
        host: String,
        /// Port (4573 by default).
        port: u16,
    },
}

/// How an AGI session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgiEnd {
    /// The script closed its output (a process: with this exit status when known).
    Exited(Option<i32>),
    /// The program does not exist.
    NotFound,
    /// It could not be started, or the connection failed or broke a bound.
    Failed,
    /// It sent nothing within the AGI timeout and was stopped.
    TimedOut,
}
