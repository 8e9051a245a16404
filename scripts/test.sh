#!/usr/bin/env bash
# The one test command: installs the test peers when they are missing (Debian packages) and
# the rustfmt and clippy components, checks the format and the lints (clippy.toml holds the
# sans-IO rule), then runs every test (unit, conformance, loopback tests of the real binary
# with SIPp).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v fail2ban-regex >/dev/null 2>&1 || need+=(fail2ban)
command -v svwar >/dev/null 2>&1 || need+=(sipvicious)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
{ command -v dnsmasq || [ -x /usr/sbin/dnsmasq ]; } >/dev/null 2>&1 || need+=(dnsmasq)
# The real-NAT test (tests/nat_netns.rs): network namespaces and a MASQUERADE rule.
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
# The status page in a real headless browser (tests/http_status.rs).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing test peers: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# A minimal rustup toolchain may lack the format and lint tools.
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
