//! Media: the pure building blocks of RTP relay, SDP offer/answer, G.711 and playback.
//! (module docs: being written)

pub mod g711;
pub mod learning;
pub mod player;
pub mod rtp;
pub mod sdp;
pub mod wav;
