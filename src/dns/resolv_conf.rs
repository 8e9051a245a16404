//! `/etc/resolv.conf` (resolv.conf(5)): the nameservers and the `timeout:`/`attempts:` options,
//! read as text (the binary reads the file; this only parses it).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// glibc's MAXNS: later `nameserver` lines are ignored.
const MAX_SERVERS: usize = 3;

/// Where and how the resolver asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Nameservers, asked in order (port 53 unless set otherwise, e.g. by `--nameserver`).
    pub servers: Vec<SocketAddr>,
    /// How long one try waits for its answer (`options timeout:N`, 5 s as glibc).
    pub timeout: Duration,
    /// Rounds over all servers (`options attempts:N`, 2 as glibc).
    pub attempts: u32,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

impl ResolverConfig {
    /// Parses resolv.conf text. Unknown lines and bad values are ignored, as the C library
    /// does; a scoped IPv6 address (`fe80::1%eth0`) is skipped (a socket address cannot carry
    /// the interface name here).
    pub fn parse(text: &str) -> ResolverConfig {
        let mut c = ResolverConfig::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                        if c.servers.len() < MAX_SERVERS {
                            c.servers.push(SocketAddr::new(ip, 53));
                        }
                    }
                }
                Some("options") => {
                    for w in words {
                        if let Some(v) = w.strip_prefix("timeout:") {
                            if let Ok(n) = v.parse::<u64>() {
                                c.timeout = Duration::from_secs(n.clamp(1, 30));
                            }
                        } else if let Some(v) = w.strip_prefix("attempts:") {
                            if let Ok(n) = v.parse::<u32>() {
                                c.attempts = n.clamp(1, 5);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_options() {
        let c = ResolverConfig::parse(
            "# generated\nsearch example.com\nnameserver 192.0.2.53\nnameserver ::1 # v6\n\
             nameserver fe80::1%eth0\nnameserver bogus\noptions rotate timeout:2 attempts:3\n\
             nameserver 192.0.2.54\nnameserver 192.0.2.55\n",
        );
        assert_eq!(
            c.servers,
            vec![
                "192.0.2.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "192.0.2.54:53".parse().unwrap()
            ]
        );
        assert_eq!((c.timeout, c.attempts), (Duration::from_secs(2), 3));
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(ResolverConfig::parse(""), ResolverConfig::default());
        let c = ResolverConfig::parse("options timeout:0 attempts:99\n");
        assert_eq!((c.timeout, c.attempts), (Duration::from_secs(1), 5));
    }
}
