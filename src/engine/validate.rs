//! (validate)
