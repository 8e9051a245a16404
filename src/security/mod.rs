//! Defences against hostile traffic that sit before the SIP logic: the brute-force ban and
//! the security log lines fail2ban and admins read.

pub mod ban;
pub mod event;
pub mod rate;
pub mod reflect;
