#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each; FUZZ_SECONDS to change):
#   parse   the SIP parser (no panic; what parses re-serializes into something that parses)
#   engine  the whole engine fed datagram sequences (no panic; afterwards every call,
#           transaction and RTP pair is gone)
#   http    the HTTP request head parser and connection machine (no panic; a head fed in two
#           pieces gets the verdict of the whole)
#   sdp     SDP differentially: the zero-copy scan accepts and refuses what the parser does,
#           the lean writers print what the model path prints
# Needs the nightly toolchain and cargo-fuzz (installed here when missing). Not part of the
# test command: fuzzing is open-ended, CI runs the deterministic robustness tests instead.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz
for t in parse engine http sdp; do
  echo "== fuzz $t for ${SECS}s"
  cargo +nightly fuzz run "$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 2>&1 | tail -4
done
