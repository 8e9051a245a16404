//! Device states (per `SIP/name`) and extension states (a hint's devices aggregated), with
//! Asterisk's names for `DEVICE_STATE()` and `EXTENSION_STATE()`.

/// The state of one device (Asterisk's `enum ast_device_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    /// Not known (a device technology sipbox does not have).
    Unknown,
    /// Registered or reachable, no call.
    NotInUse,
    /// In a call.
    InUse,
    /// `busylevel` (or `call-limit`) calls.
    Busy,
    /// No such device.
    Invalid,
    /// Not registered, or qualify found it unreachable.
    Unavailable,
    /// An incoming call rings it.
    Ringing,
    /// A call rings it while it is in another call.
    RingInUse,
    /// It put its call on hold (with `notifyhold=yes`).
    OnHold,
}

impl DeviceState {
    /// Asterisk's name (`ast_devstate_str`), what `DEVICE_STATE()` returns.
    pub fn name(self) -> &'static str {
        match self {
            DeviceState::Unknown => "UNKNOWN",
            DeviceState::NotInUse => "NOT_INUSE",
            DeviceState::InUse => "INUSE",
            DeviceState::Busy => "BUSY",
            DeviceState::Invalid => "INVALID",
            DeviceState::Unavailable => "UNAVAILABLE",
            DeviceState::Ringing => "RINGING",
            DeviceState::RingInUse => "RINGINUSE",
            DeviceState::OnHold => "ONHOLD",
        }
    }

    /// chan_sip's `sip_devicestate` from the call counts of a peer: `in_use` calls,
    /// `ringing` of them ringing the phone, `held` of them on hold by it, `limit` the number
    /// of calls that make it busy (`busylevel`, else `call-limit`).
    pub fn from_counts(in_use: u32, ringing: u32, held: u32, limit: Option<u32>) -> DeviceState {
        if held > 0 {
            return DeviceState::OnHold;
        }
        if ringing > 0 {
            return if ringing >= in_use {
                DeviceState::Ringing
            } else {
                DeviceState::RingInUse
            };
        }
        match limit {
            Some(l) if in_use >= l => DeviceState::Busy,
            _ if in_use > 0 => DeviceState::InUse,
            _ => DeviceState::NotInUse,
        }
    }
}

/// The state of an extension (its hint's devices together; Asterisk's `ast_extension_states`
/// as `ast_extension_state2str` names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtState {
    /// Every device idle (or unknown).
    Idle,
    /// A device in use.
    InUse,
    /// A device busy.
    Busy,
    /// Every device unavailable (or invalid).
    Unavailable,
    /// A device ringing, none in use.
    Ringing,
    /// One device ringing while another (or the same) is in use.
    RingInUse,
    /// A call on hold (and none in use otherwise).
    OnHold,
    /// On hold and in use.
    HoldInUse,
}

impl ExtState {
    /// Asterisk's name, what `EXTENSION_STATE()` returns.
    pub fn name(self) -> &'static str {
        match self {
            ExtState::Idle => "NOT_INUSE",
            ExtState::InUse => "INUSE",
            ExtState::Busy => "BUSY",
            ExtState::Unavailable => "UNAVAILABLE",
            ExtState::Ringing => "RINGING",
            ExtState::RingInUse => "RINGINUSE",
            ExtState::OnHold => "ONHOLD",
            ExtState::HoldInUse => "HOLDINUSE",
        }
    }

    /// Ringing (alone or beside a call).
    pub fn ringing(self) -> bool {
        matches!(self, ExtState::Ringing | ExtState::RingInUse)
    }

    /// Aggregates the devices of a hint as `ast_devstate_aggregate` does: ringing beats
    /// idle, in-use beside ringing makes RINGINUSE, busy beats in use, unavailable only
    /// when every device is.
    pub fn aggregate(devices: impl IntoIterator<Item = DeviceState>) -> ExtState {
        let (mut any, mut all_unavail) = (false, true);
        let (mut ring, mut inuse, mut busy, mut hold) = (false, false, false, false);
        for d in devices {
            any = true;
            match d {
                DeviceState::Unavailable | DeviceState::Invalid => continue,
                DeviceState::Ringing => ring = true,
                DeviceState::RingInUse => (ring, inuse) = (true, true),
                DeviceState::InUse => inuse = true,
                DeviceState::Busy => busy = true,
                DeviceState::OnHold => hold = true,
                DeviceState::NotInUse | DeviceState::Unknown => {}
            }
            all_unavail = false;
        }
        if !any || all_unavail {
            return ExtState::Unavailable;
        }
        match (ring, inuse || busy || hold, busy, inuse, hold) {
            (true, true, ..) => ExtState::RingInUse,
            (true, false, ..) => ExtState::Ringing,
            (_, _, true, ..) => ExtState::Busy,
            (_, _, _, true, true) => ExtState::HoldInUse,
            (_, _, _, true, false) => ExtState::InUse,
            (_, _, _, _, true) => ExtState::OnHold,
            _ => ExtState::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceState as D;

    #[test]
    fn counts_give_chan_sip_states() {
        assert_eq!(D::from_counts(0, 0, 0, None), D::NotInUse);
        assert_eq!(D::from_counts(1, 1, 0, None), D::Ringing);
        assert_eq!(D::from_counts(2, 1, 0, None), D::RingInUse);
        assert_eq!(D::from_counts(1, 0, 0, None), D::InUse);
        assert_eq!(D::from_counts(2, 0, 0, Some(2)), D::Busy);
        assert_eq!(D::from_counts(1, 0, 1, Some(1)), D::OnHold);
    }

    #[test]
    fn hints_aggregate() {
        assert_eq!(
            ExtState::aggregate([D::Unavailable, D::Invalid]),
            ExtState::Unavailable
        );
        assert_eq!(ExtState::aggregate([]), ExtState::Unavailable);
        assert_eq!(
            ExtState::aggregate([D::Unavailable, D::NotInUse]),
            ExtState::Idle
        );
        assert_eq!(
            ExtState::aggregate([D::Ringing, D::NotInUse]),
            ExtState::Ringing
        );
        assert_eq!(
            ExtState::aggregate([D::Ringing, D::InUse]),
            ExtState::RingInUse
        );
        assert_eq!(ExtState::aggregate([D::Busy, D::InUse]), ExtState::Busy);
        assert_eq!(ExtState::aggregate([D::OnHold]), ExtState::OnHold);
        assert_eq!(
            ExtState::aggregate([D::OnHold, D::InUse]),
            ExtState::HoldInUse
        );
        assert_eq!(ExtState::RingInUse.name(), "RINGINUSE");
    }
}
