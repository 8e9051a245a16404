//! The configuration as the engine reads it (see [`crate::config::settings`]).

pub use crate::config::settings::{PeerId, Settings};
