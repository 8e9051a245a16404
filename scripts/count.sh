#!/usr/bin/env bash
# Deterministic cost counts: sipbox's user-space instructions (valgrind callgrind) for N
# authenticated REGISTERs or N authenticated calls driven by SIPp on 127.0.0.1, minus an idle
# start/stop. Counts don't drift with the machine's load the way CPU timings do.
#   scripts/count.sh reg 500      # per REGISTER (401 + 200)
#   scripts/count.sh call 200     # per call (INVITE+407, 180, 200, ACK, BYE on both legs)
#   TOOL=dhat scripts/count.sh call 200   # heap blocks and bytes allocated per call (valgrind
#                                         # DHAT: exact counts, no code change), all threads,
#                                         # and the part allocated under the writer threads
# Needs valgrind and sipp. Bounded: SIPp runs have -m and -timeout; sipbox stops on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:-call}
N=${2:-200}
BIN=${BIN:-target/release/sipbox}
[ -n "${BIN_GIVEN:-}" ] || cargo build --release --quiet
D=$(mktemp -d /tmp/sipbox-count.XXXXXX)
TOOL=${TOOL:-callgrind}
# KEEP=1 keeps the callgrind (or DHAT) files (and prints where), for callgrind_annotate
# (or DHAT's viewer, dh_view.html).
if [ -n "${KEEP:-}" ]; then echo "callgrind files in $D" >&2; else trap 'rm -rf "$D"' EXIT; fi
. scripts/bench/config.sh
write_bench_config "$D"
SIPP="sipp -i 127.0.0.1 -nostdin -timeout_error"

# Instructions of one sipbox run doing `n` operations.
run() {
  local n=$1 port pid cp uas
  port=$(free_port)
  if [ "$TOOL" = dhat ]; then
    valgrind --tool=dhat --dhat-out-file="$D/dh.$n" "$BIN" --config-dir "$D" \
      --bind 127.0.0.1:$port 2> "$D/log.$n" &
  else
    valgrind --tool=callgrind ${CG_OPTS:-} --callgrind-out-file="$D/cg.$n" "$BIN" \
      --config-dir "$D" --bind 127.0.0.1:$port 2> "$D/log.$n" &
  fi
  pid=$!
  # Start-up under valgrind is slow on a loaded machine: wait for the listening line (at
  # most 60 s), so the idle run is a whole start and stop and SIGTERM never cuts start-up.
  for _ in $(seq 600); do
    grep -q 'listening on udp' "$D/log.$n" 2>/dev/null && break
    sleep 0.1
  done
  sleep ${START_WAIT:-1}
  if [ "$n" -gt 0 ] && [ "$KIND" = reg ]; then
    $SIPP -sf scripts/bench/register_many.xml -s 1001 -au 1001 -ap 1001pass -p "$(free_port)" \
      -r 50 -m "$n" -timeout 300s 127.0.0.1:$port > /dev/null 2>&1 || echo "(SIPp failed)" >&2
  elif [ "$n" -gt 0 ]; then
    cp=$(free_port)
    $SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p "$cp" -m 1 -timeout 20s \
      127.0.0.1:$port > /dev/null 2>&1
    $SIPP -sf tests/sipp/uas_answer.xml -p "$cp" -m "$n" -timeout 300s 127.0.0.1:$port \
      > /dev/null 2>&1 &
    uas=$!
    sleep 0.5
    $SIPP -sf tests/sipp/uac_auth_call.xml -s 1002 -au 1001 -ap 1001pass -p "$(free_port)" -r 20 \
      -m "$n" -timeout 300s 127.0.0.1:$port > /dev/null 2>&1 || echo "(SIPp caller failed)" >&2
    wait $uas || echo "(SIPp callee failed)" >&2
  fi
  sleep 1
  kill -TERM $pid
  wait $pid || true
  if [ "$TOOL" = dhat ]; then
    dhat_totals "$D/dh.$n"
    return
  fi
  # Every thread's file when CG_OPTS=--separate-threads=yes (cg.N-01, -02, ...).
  awk '/^(summary|totals):/ && !seen[FILENAME]++ {s += $2} END {print s}' "$D"/cg."$n"*
  if [ -n "${CG_OPTS:-}" ]; then
    for f in "$D"/cg."$n"-*; do
      echo "  $(basename "$f"): $(awk '/^(summary|totals):/{print $2; exit}' "$f")" >&2
    done
  fi
}
# With --separate-threads=yes: each thread's instructions per operation (thread 01 is the
# event loop; threads are numbered in the order they start, the same in both runs).
per_thread() {
  for f in "$D"/cg."$N"-*; do
    local t=${f##*-} i
    [ -e "$D/cg.0-$t" ] || continue
    i=$(awk '/^(summary|totals):/{print $2; exit}' "$D/cg.0-$t")
    awk -v t="$t" -v i="$i" -v n="$N" '/^(summary|totals):/{printf "  thread %s: %\047.0f per operation\n", t, ($2-i)/n; exit}' "$f"
  done
}
# DHAT's totals of one run: "blocks bytes writer_blocks writer_bytes", where the writer part
# is what was allocated with a writer thread's function on the stack (DHAT does not tell
# threads apart; the loop thread never runs those functions).
dhat_totals() {
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ftbl = d["ftbl"]
writer = ("store_disk", "cdr_disk", "astdb_disk", "monitor_disk", "voicemail_disk", "rusqlite")
wfr = {i for i, f in enumerate(ftbl) if any(w in f for w in writer)}
tb = tbk = wb = wbk = 0
for pp in d["pps"]:
    tb += pp["tb"]; tbk += pp["tbk"]
    if any(f in wfr for f in pp["fs"]):
        wb += pp["tb"]; wbk += pp["tbk"]
print(tbk, tb, wbk, wb)
PY
}
IDLE=$(run 0)
TOTAL=$(run "$N")
if [ "$TOOL" = dhat ]; then
  python3 - "$KIND" "$N" $IDLE $TOTAL <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
i = list(map(int, sys.argv[3:7]))
t = list(map(int, sys.argv[7:11]))
per = [(b - a) / n for a, b in zip(i, t)]
print(f"{kind}: {per[0]:,.1f} allocations ({per[1]:,.0f} bytes) each, all threads; "
      f"{per[0] - per[2]:,.1f} ({per[1] - per[3]:,.0f} bytes) outside the writer threads "
      f"({n} of them; idle start/stop {i[0]:,} allocations)")
PY
  exit 0
fi
python3 - "$KIND" "$IDLE" "$TOTAL" "$N" <<'PY'
import sys
kind = sys.argv[1]
idle, total, n = map(int, sys.argv[2:])
print(f"{kind}: {(total - idle) / n:,.0f} instructions each ({n} of them; idle start/stop {idle:,})")
PY
if [[ "${CG_OPTS:-}" == *separate-threads=yes* ]]; then per_thread; fi
