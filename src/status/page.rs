//! `/`: a read-only status page for a person. Plain HTML with a small inline script that
//! polls `status.json` every second and fills the tables (text only: every value goes in with
//! `textContent`, so a peer name or a User-Agent cannot inject markup). No external assets:
//! it works on a machine with no internet and leaks nothing to a CDN.

/// Its Content-Type.
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The page.
pub const HTML: &str = include_str!("page.html");
