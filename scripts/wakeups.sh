#!/usr/bin/env bash
# Event-loop wake-ups per call: the config and SIPp scenarios of scripts/bench.sh (INVITE+407,
# 180, 200, ACK, BYE on both legs, 300 ms hold) at a given rate, with the kernel's
# epoll_wait/epoll_pwait tracepoints counted on the sipbox process for the whole run (the
# linger after the last call included: the count stops LINGER seconds after SIPp is done).
#   scripts/wakeups.sh 150 4500      # CPS CALLS
# Also prints all syscalls per call and sipbox's CPU per 1 000 calls. Needs perf and sipp.
# Bounded: SIPp runs have -m and -timeout; sipbox is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
CPS=${1:-150}
CALLS=${2:-4500}
LINGER=${LINGER:-34}
BIN=${BIN:-target/release/sipbox}
D=$(mktemp -d /tmp/sipbox-wake.XXXXXX)
SB=
PERF=
trap '[ -n "$PERF" ] && kill -INT $PERF 2>/dev/null; [ -n "$SB" ] && kill $SB 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
. scripts/bench/config.sh
write_bench_config "$D"
printf '[general]\nrtpstart=20000\nrtpend=60000\n' > "$D/rtp.conf"
PORT=$(free_port)
$BIN --config-dir "$D" --bind 127.0.0.1:$PORT 2> "$D/sipbox.log" &
SB=$!
sleep 0.5
SIPP="sipp -i 127.0.0.1 -nostdin -timeout_error -nr"
CALLEE_PORT=$(free_port)
$SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p $CALLEE_PORT -m 1 -timeout 10s \
  127.0.0.1:$PORT > /dev/null 2>&1
$SIPP -sf tests/sipp/uas_answer.xml -p $CALLEE_PORT -m $CALLS -timeout 200s 127.0.0.1:$PORT \
  > "$D/uas.out" 2>&1 &
UAS=$!
sleep 0.3
perf stat -x, -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,raw_syscalls:sys_enter \
  -p $SB -o "$D/perf.csv" &
PERF=$!
sleep 0.2
T0=$(awk '{print $14+$15}' /proc/$SB/stat)
$SIPP -sf tests/sipp/uac_auth_call.xml -s 1002 -au 1001 -ap 1001pass -p $(free_port) \
  -r $CPS -l 5000 -m $CALLS -timeout 200s -trace_stat -stf "$D/calls.csv" 127.0.0.1:$PORT \
  > "$D/uac.out" 2>&1 && OK=yes || OK=no
T1=$(awk '{print $14+$15}' /proc/$SB/stat)
RSS=$(awk '/VmRSS/{print $2}' /proc/$SB/status)
wait $UAS || true
sleep "$LINGER"
RSS2=$(awk '/VmRSS/{print $2}' /proc/$SB/status)
kill -INT $PERF; wait $PERF || true; PERF=
FAILED=$(tail -1 "$D/calls.csv" | awk -F';' '{print $18}')
python3 - "$D/perf.csv" "$CALLS" "$CPS" "$OK" "${FAILED:-?}" "$T0" "$T1" "$(getconf CLK_TCK)" "$RSS" "$RSS2" <<'PY'
import sys
path, n, cps, ok, failed, t0, t1, hz, rss, rss2 = sys.argv[1:]
n = int(n)
c = {}
for line in open(path):
    f = line.strip().split(',')
    if len(f) > 2 and f[0].replace('.', '').isdigit():
        c[f[2]] = int(float(f[0]))
wait = c.get('syscalls:sys_enter_epoll_wait', 0) + c.get('syscalls:sys_enter_epoll_pwait', 0)
allsys = c.get('raw_syscalls:sys_enter', 0)
cpu = (int(t1) - int(t0)) / int(hz)
print(f"{n} calls at {cps}/s (ok={ok}, failed={failed}): {wait / n:.2f} epoll waits per call, "
      f"{allsys / n:.1f} syscalls per call (run + linger); CPU {cpu * 1e6 / n:.0f} ms per 1000 calls; "
      f"RSS at the end of the calls {rss} KB, after the linger {rss2} KB")
PY
