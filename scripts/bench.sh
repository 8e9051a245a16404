#!/usr/bin/env bash
# SIP benchmarks against the release binary on 127.0.0.1, driven by SIPp:
#   1. authenticated REGISTERs per second, sipbox CPU per 1 000 REGISTERs
#   2. RSS idle (memory per binding: cargo bench --bench bindings)
#   3. calls per second (INVITE+407, 180, 200, ACK, BYE on both legs) at zero failed calls,
#      sipbox CPU per 1 000 calls, RSS per active call
# Prints the figures README quotes. Bounded: every SIPp run has -m and -timeout.
# Usage: scripts/bench.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${1:-}
REG_CALLS=${REG_CALLS:-50000}
REG_RATE=${REG_RATE:-5000}
CALLS=${CALLS:-20000}
CPS=${CPS:-1000}
HOLD_CALLS=${HOLD_CALLS:-4000}
if [ "$QUICK" = quick ]; then REG_CALLS=10000; CALLS=2000; HOLD_CALLS=1000; fi

cargo build --release --quiet
BIN=target/release/sipbox
DIR=$(mktemp -d /tmp/sipbox-bench.XXXXXX)
trap 'kill $SB_PID 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
. scripts/bench/config.sh
write_bench_config "$DIR"
printf '[general]\nrtpstart=20000\nrtpend=60000\n' > "$DIR/rtp.conf"

SB_PID=
start_sipbox() {  # a fresh process for each measurement, so memory figures do not mix
  [ -n "$SB_PID" ] && { kill $SB_PID 2>/dev/null || true; wait $SB_PID 2>/dev/null || true; }
  PORT=$(free_port)
  env ${SB_LOG:+RUST_LOG=$SB_LOG} $BIN --config-dir "$DIR" --bind 127.0.0.1:$PORT \
    2> "$DIR/sipbox.log" &
  SB_PID=$!
  sleep 0.5
}
start_sipbox
ticks() { awk '{print $14+$15}' /proc/$SB_PID/stat; }
rss_kb() { awk '/VmRSS/{print $2}' /proc/$SB_PID/status; }
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
SIPP="sipp -i 127.0.0.1 -nostdin -timeout_error -nr ${SIPP_EXTRA:-}"

echo "sipbox $(git rev-parse --short HEAD), $(nproc) cores, $(uname -r)"
echo "idle RSS: $(rss_kb) KB"

# 1: registrations
R0=$(rss_kb); T0=$(ticks); S0=$(now)
$SIPP -sf scripts/bench/register_many.xml -s 1001 -au 1001 -ap 1001pass -p $(free_port) \
  -r $REG_RATE -rp 1000 -l 20000 -m $REG_CALLS -timeout 120s -trace_stat -stf "$DIR/reg.csv" 127.0.0.1:$PORT > "$DIR/reg.out" 2>&1 || echo "(sipp reported failed registrations: see $DIR/reg.out)"
S1=$(now); T1=$(ticks); R1=$(rss_kb)
python3 - "$S0" "$S1" "$T0" "$T1" "$HZ" "$REG_CALLS" <<'PY'
import sys
s0,s1,t0,t1,hz,n=map(float,sys.argv[1:])
secs=s1-s0; cpu=(t1-t0)/hz
print(f"REGISTER (SIPp): {int(n)} authenticated registrations (401 + 200 each) in {secs:.1f} s = {n/secs:,.0f}/s; "
      f"sipbox CPU {cpu:.2f} s = {cpu*1000/n*1000:.1f} ms per 1000 REGISTERs ({cpu/secs*100:.0f}% of a core)")
PY

# 3: calls per second
start_sipbox
CALLEE_PORT=$(free_port)
$SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p $CALLEE_PORT -m 1 -timeout 10s 127.0.0.1:$PORT > /dev/null 2>&1
$SIPP -sf tests/sipp/uas_answer.xml -p $CALLEE_PORT -m $CALLS -timeout 100s 127.0.0.1:$PORT > "$DIR/uas.out" 2>&1 &
UAS=$!
sleep 0.3
T0=$(ticks); S0=$(now)
$SIPP -sf tests/sipp/uac_auth_call.xml -s 1002 -au 1001 -ap 1001pass -p $(free_port) \
  -r $CPS -l 5000 -m $CALLS -timeout 90s -trace_stat -stf "$DIR/calls.csv" 127.0.0.1:$PORT > "$DIR/uac.out" 2>&1 && OK=yes || OK=no
S1=$(now); T1=$(ticks)
wait $UAS || true
FAILED=$(tail -1 "$DIR/calls.csv" | awk -F';' '{print $18}')
python3 - "$S0" "$S1" "$T0" "$T1" "$HZ" "$CALLS" "$OK" "${FAILED:-?}" <<'PY'
import sys
s0,s1,t0,t1,hz,n=map(float,sys.argv[1:7]); ok=sys.argv[7]; failed=sys.argv[8]
secs=s1-s0; cpu=(t1-t0)/hz
print(f"calls: {int(n)} calls offered at the SIPp rate in {secs:.1f} s (each holds 300 ms), sipp ok={ok}, failed={failed}; "
      f"sipbox CPU {cpu:.2f} s = {cpu/n*1000*1000:.0f} ms per 1000 calls ({cpu/secs*100:.0f}% of a core)")
PY

# memory per active call: calls that hold 10 s (the debug line "answered by leg" counts them)
SB_LOG=info,sipbox::call::dial=debug start_sipbox
HOLD_DIR="$DIR/hold"; mkdir -p "$HOLD_DIR"
sed 's/<pause milliseconds="300"\/>/<pause milliseconds="10000"\/>/' tests/sipp/uac_auth_call.xml > "$HOLD_DIR/uac_hold.xml"
CALLEE_PORT=$(free_port)
$SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p $CALLEE_PORT -m 1 -timeout 10s 127.0.0.1:$PORT > /dev/null 2>&1
$SIPP -sf tests/sipp/uas_answer.xml -p $CALLEE_PORT -m $HOLD_CALLS -timeout 120s 127.0.0.1:$PORT > /dev/null 2>&1 &
UAS=$!
R0=$(rss_kb)
$SIPP -sf "$HOLD_DIR/uac_hold.xml" -s 1002 -au 1001 -ap 1001pass -p $(free_port) -r 2000 -l $HOLD_CALLS -m $HOLD_CALLS -timeout 120s 127.0.0.1:$PORT > /dev/null 2>&1 &
UAC=$!
sleep $(python3 -c "print($HOLD_CALLS/2000 + 3)")
R1=$(rss_kb)
UP=$(grep -c "answered by leg" "$DIR/sipbox.log" || true)
wait $UAC || true; wait $UAS || true
python3 - "$R0" "$R1" "$HOLD_CALLS" <<'PY'
import sys
r0,r1,n=map(float,sys.argv[1:])
print(f"active calls: {int(n)} calls up at once (both legs, RTP port pairs bound), RSS {r0:,.0f} KB -> {r1:,.0f} KB = {(r1-r0)*1024/n:,.0f} bytes per call")
PY
