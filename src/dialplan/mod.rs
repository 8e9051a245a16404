//! The dialplan: an extensions.conf interpreter that behaves like Asterisk's, driven as a
//! sans-IO cursor per call.
//!
//! - [`pattern`]: extension names and patterns, matching, Asterisk's precedence order.
//! - [`model`]: contexts, extensions, priorities, includes, and the lookup.
//! - `load`: extensions.conf sections into the model ([`Dialplan::from_sections`]).
//! - [`vars`]: `${VAR}`, substrings, functions and `$[...]` substitution.
//! - [`expr`] / [`rx`]: `ast_expr2` expressions and the regex subset behind `:` / `=~`.
//! - [`time`]: `GotoIfTime` and timed-include conditions.
//! - [`apps`]: the applications, each turning its arguments into an action.
//! - `functions`: the dialplan functions (`CUT`, `MATH`, `STRFTIME`, `GROUP_COUNT`, ...).
//! - `shared`: run-time globals, group counts and the AstDB every call sees ([`astdb`]).
//! - [`cause`]: Q.850 hang-up causes ([`Cause`]), what the dialplan ends a call with.
//! - [`command`]: the commands and events exchanged with the call layer.
//! - `cursor`: the runner's state ([`Execution`]), shared by the applications and the runner.
//! - [`exec`]: the runner ([`Execution`]) the call layer drives with [`Resume`] events.
//! - [`show`]: the `dialplan show` rendering.
//! - [`queue`]: call queues (queues.conf, members, waiting callers) every call shares.
//! - `prompts`: the sound files the dialplan names literally ([`Dialplan::literal_sound_names`]).

pub mod agi;
pub mod apps;
pub mod astdb;
pub mod cause;
pub mod cdr_vars;
pub mod command;
pub mod conference;
mod cursor;
pub mod exec;
pub mod expr;
pub(crate) mod functions;
mod load;
pub mod model;
pub mod pattern;
mod prompts;
pub mod queue;
pub mod rx;
pub(crate) mod shared;
pub mod show;
pub mod technologies;
pub mod time;
pub mod vars;

pub use cause::Cause;
pub use command::{
    AgiEnd, AgiTarget, ChannelInfo, Command, DialOptions, DialStatus, DialTarget, MixMonitorSpec,
    Resume, SipHeaders,
};
pub use cursor::{Execution, PinFailure};
pub use functions::message::set_field as set_message_field;
pub use model::Dialplan;
