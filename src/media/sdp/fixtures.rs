//! SDP bodies as real phones send them, for the tests of this module.

/// baresip 3.x: opus first, G722, G.711, telephone-event, a=rtcp, ssrc lines.
pub const BARESIP: &str = "v=0\r
o=- 1262637151 2146380577 IN IP4 192.168.1.23\r
s=-\r
c=IN IP4 192.168.1.23\r
t=0 0\r
a=tool:baresip 3.10.1\r
m=audio 10138 RTP/AVP 96 9 0 8 101\r
b=AS:113\r
a=rtpmap:96 opus/48000/2\r
a=fmtp:96 stereo=1;sprop-stereo=1\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=rtcp-rsize\r
a=rtcp:10139 IN IP4 192.168.1.23\r
a=sendrecv\r
a=label:1\r
a=ssrc:1412552547 cname:2c9ff0a7-9d4e\r
a=ptime:20\r
";

/// Linphone 5.x: ICE at session level and candidates, rtcp-mux, three telephone-events, G729
/// (static PT 18) without rtpmap, LF line ends.
pub const LINPHONE: &str = "v=0
o=1001 2270 1593 IN IP4 192.168.1.50
s=Talk
c=IN IP4 192.168.1.50
t=0 0
a=ice-pwd:cc5d1c1b2d2c5a2d1a3f6e77
a=ice-ufrag:0b8a2b6e
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-mux
a=candidate:1 1 UDP 2130706431 192.168.1.50 7078 typ host
a=candidate:1 2 UDP 2130706430 192.168.1.50 7079 typ host
a=candidate:2 1 UDP 1694498815 203.0.113.9 7078 typ srflx raddr 192.168.1.50 rport 7078
a=rtcp-fb:* trr-int 5000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 nack pli
";

/// Zoiper 5: opus, G722, two telephone-events, GSM (static 3) without rtpmap.
pub const ZOIPER: &str = "v=0\r
o=Z 0 2 IN IP4 10.0.0.5\r
s=Z\r
c=IN IP4 10.0.0.5\r
t=0 0\r
m=audio 8000 RTP/AVP 106 9 98 101 0 8 3\r
a=rtpmap:106 opus/48000/2\r
a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1\r
a=rtpmap:98 telephone-event/48000\r
a=fmtp:98 0-16\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-16\r
a=sendrecv\r
a=rtcp-mux\r
";

/// A desk phone over IPv6 with media-level c=, A-law first, ptime 30.
pub const IPV6_DESK: &str = "v=0\r
o=- 20518 0 IN IP6 2001:db8::50\r
s=SDP data\r
t=0 0\r
m=audio 5004 RTP/AVP 8 0 101\r
c=IN IP6 2001:db8::50\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=ptime:30\r
a=sendrecv\r
";

/// Old-style hold (RFC 2543): c=0.0.0.0, no direction attribute.
pub const HOLD_ZERO: &str = "v=0\r
o=- 1 2 IN IP4 192.168.1.23\r
s=-\r
c=IN IP4 0.0.0.0\r
t=0 0\r
m=audio 10138 RTP/AVP 0 101\r
a=rtpmap:101 telephone-event/8000\r
";

/// RFC 3264 hold: a=sendonly.
pub const HOLD_SENDONLY: &str = "v=0\r
o=- 1262637151 2146380578 IN IP4 192.168.1.23\r
s=-\r
c=IN IP4 192.168.1.23\r
t=0 0\r
m=audio 10138 RTP/AVP 0 101\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=sendonly\r
";

/// Yealink T46U: G.711 both laws, G729 with annexb=no, G722, telephone-event with its fmtp
/// before its rtpmap.
pub const YEALINK: &str = "v=0\r
o=- 20024 20024 IN IP4 192.168.1.101\r
s=SDP data\r
c=IN IP4 192.168.1.101\r
t=0 0\r
m=audio 11780 RTP/AVP 0 8 18 9 101\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:18 G729/8000\r
a=fmtp:18 annexb=no\r
a=rtpmap:9 G722/8000\r
a=fmtp:101 0-15\r
a=rtpmap:101 telephone-event/8000\r
a=ptime:20\r
a=sendrecv\r
";

/// Polycom VVX: G722 first, Siren (G7221/16000), a session-level direction attribute.
pub const POLYCOM: &str = "v=0\r
o=- 1607537383 1607537383 IN IP4 10.1.2.30\r
s=Polycom IP Phone\r
c=IN IP4 10.1.2.30\r
t=0 0\r
a=sendrecv\r
m=audio 2222 RTP/AVP 9 102 0 8 18 127\r
a=rtpmap:9 G722/8000\r
a=rtpmap:102 G7221/16000\r
a=fmtp:102 bitrate=32000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:18 G729/8000\r
a=fmtp:18 annexb=no\r
a=rtpmap:127 telephone-event/8000\r
";

/// Grandstream GXP: c= at session and media level, nine codecs, iLBC and opus with fmtp, ptime
/// between rtpmaps.
pub const GRANDSTREAM: &str = "v=0\r
o=1000 8000 8000 IN IP4 192.168.0.160\r
s=SIP Call\r
c=IN IP4 192.168.0.160\r
t=0 0\r
m=audio 5004 RTP/AVP 0 8 4 18 9 97 2 123 101\r
c=IN IP4 192.168.0.160\r
a=sendrecv\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:4 G723/8000\r
a=rtpmap:18 G729/8000\r
a=rtpmap:9 G722/8000\r
a=rtpmap:97 iLBC/8000\r
a=fmtp:97 mode=20\r
a=rtpmap:2 G726-32/8000\r
a=rtpmap:123 opus/48000/2\r
a=fmtp:123 maxplaybackrate=16000; sprop-maxcapturerate=16000; useinbandfec=1\r
a=ptime:20\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
";

/// Zoiper 5 with video and SDES crypto on both streams, rtcp-mux, b= on the video.
pub const ZOIPER_VIDEO: &str = "v=0\r
o=Zoiper 0 91224393 IN IP4 192.168.2.7\r
s=Zoiper\r
c=IN IP4 192.168.2.7\r
t=0 0\r
m=audio 56144 RTP/SAVP 0 101 8 3\r
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Q2xlYXJseSBub3QgYSByZWFsIGtleSBhdCBhbGwh\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-16\r
a=sendrecv\r
a=rtcp-mux\r
m=video 56146 RTP/SAVP 34 97\r
b=AS:512\r
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Tm90IGEgcmVhbCBrZXkgZWl0aGVyLCBzb3JyeQ==\r
a=rtpmap:34 H263/90000\r
a=fmtp:34 CIF=1;QCIF=1;SQCIF=1\r
a=rtpmap:97 H264/90000\r
a=fmtp:97 profile-level-id=42801F\r
a=sendrecv\r
a=rtcp-mux\r
";

/// baresip over IPv6 with ICE in the audio section, a=rtcp naming an IPv6 address.
pub const BARESIP_V6_ICE: &str = "v=0\r
o=- 3913469213 3913469213 IN IP6 2001:db8::23\r
s=-\r
c=IN IP6 2001:db8::23\r
t=0 0\r
a=tool:baresip 3.10.1\r
a=ice-options:trickle\r
m=audio 31000 RTP/AVP 0 8 101\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=ice-ufrag:x6wR\r
a=ice-pwd:jEx7qX2bA0bQ1lVdpN1QeYwI\r
a=candidate:1 1 UDP 2130706431 2001:db8::23 31000 typ host\r
a=end-of-candidates\r
a=rtcp:31001 IN IP6 2001:db8::23\r
a=sendrecv\r
a=ptime:20\r
";

/// Two audio streams (the second only rejected by sipbox), a port count, media-level c= only,
/// session b= and i= lines, an extra t= and r=.
pub const TWO_AUDIO: &str = "v=0\r
o=gw 5 6 IN IP4 172.16.0.9\r
s=gateway\r
i=trunk call\r
b=CT:128\r
t=0 0\r
t=3034423619 3042462419\r
r=7d 1h 0 25h\r
m=audio 40000/2 RTP/AVP 8 0\r
i=first\r
c=IN IP4 172.16.0.9\r
b=AS:64\r
a=rtpmap:8 PCMA/8000\r
a=recvonly\r
m=audio 40010 RTP/AVP 0\r
c=IN IP4 172.16.0.10\r
a=rtpmap:0 PCMU/8000\r
";

/// Lines out of the printer's order (t= before c=, an attribute before an r=): the model path.
pub const OUT_OF_ORDER: &str = "v=0\r
o=- 1 1 IN IP4 10.0.0.1\r
s=-\r
t=0 0\r
c=IN IP4 10.0.0.1\r
a=x\r
r=7d 1h 0 25h\r
m=audio 4000 RTP/AVP 0\r
";

/// Every fixture, for the tables.
pub const ALL: &[&str] = &[
    BARESIP,
    LINPHONE,
    ZOIPER,
    IPV6_DESK,
    HOLD_ZERO,
    HOLD_SENDONLY,
    YEALINK,
    POLYCOM,
    GRANDSTREAM,
    ZOIPER_VIDEO,
    BARESIP_V6_ICE,
    TWO_AUDIO,
    OUT_OF_ORDER,
];
