#!/usr/bin/env bash
# Syscalls per call: sipbox under scripts/bench.sh's call load (SIPp caller with a 407 on every
# INVITE → sipbox → SIPp callee, 180, 200, ACK, 300 ms hold, BYE), counted exactly by the
# kernel's raw_syscalls:sys_enter tracepoint on sipbox's PID for the whole SIPp run
# (`perf stat -e ... -p PID`; falls back to `strace -c -f -p PID`, which slows sipbox, when
# perf cannot attach). Prints syscalls per call and the largest kinds.
# A call's floor here: its 8 datagrams in and 8 out, plus one EAGAIN recvfrom and one
# epoll_wait per wakeup; socket, bind and epoll_ctl come while the RTP pool fills (the first
# 2 s, the pool's quarantine), and the writer threads wake a few times a second
# (src/write_batch.rs).
#   scripts/syscalls.sh                # 20 000 calls at 1 000 calls/s
#   CPS=150 CALLS=3000 scripts/syscalls.sh
#   BIN=/path/to/other/sipbox BIN_GIVEN=1 scripts/syscalls.sh   # another build (before/after)
# Needs sipp and perf (Debian: linux-perf). Bounded: SIPp runs have -m and -timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${CALLS:-20000}
CPS=${CPS:-1000}
BIN=${BIN:-target/release/sipbox}
[ -n "${BIN_GIVEN:-}" ] || cargo build --release --quiet
D=$(mktemp -d /tmp/sipbox-syscalls.XXXXXX)
SB_PID=
trap '[ -n "$SB_PID" ] && kill $SB_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
. scripts/bench/config.sh
write_bench_config "$D"
printf '[general]\nrtpstart=20000\nrtpend=60000\n' > "$D/rtp.conf"
SIPP="sipp -i 127.0.0.1 -nostdin -timeout_error -nr"
PORT=$(free_port)
"$BIN" --config-dir "$D" --bind 127.0.0.1:$PORT 2> "$D/sipbox.log" &
SB_PID=$!
sleep 0.5
CP=$(free_port)
$SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p $CP -m 1 -timeout 10s 127.0.0.1:$PORT > /dev/null 2>&1
$SIPP -sf tests/sipp/uas_answer.xml -p $CP -m $CALLS -timeout 100s 127.0.0.1:$PORT > "$D/uas.out" 2>&1 &
UAS=$!
sleep 0.3
KINDS="raw_syscalls:sys_enter"
for k in recvfrom sendto epoll_wait epoll_ctl socket bind close write futex ioctl openat mkdir statx; do
  KINDS="$KINDS,syscalls:sys_enter_$k"
done
if perf stat -e raw_syscalls:sys_enter -p $SB_PID -- sleep 0.1 > /dev/null 2>&1; then
  TOOL=perf
  perf stat -x, -e "$KINDS" -p $SB_PID -o "$D/counts" &
else
  TOOL=strace
  strace -c -f -p $SB_PID -o "$D/counts" &
fi
TRACER=$!
sleep 0.3
$SIPP -sf tests/sipp/uac_auth_call.xml -s 1002 -au 1001 -ap 1001pass -p $(free_port) \
  -r $CPS -l 5000 -m $CALLS -timeout 90s -trace_stat -stf "$D/calls.csv" 127.0.0.1:$PORT > "$D/uac.out" 2>&1 || true
wait $UAS || true
kill -INT $TRACER; wait $TRACER 2>/dev/null || true
FAILED=$(tail -1 "$D/calls.csv" | awk -F';' '{print $18}')
python3 - "$TOOL" "$D/counts" "$CALLS" "$CPS" "${FAILED:-?}" "$BIN ($(git rev-parse --short HEAD) tree)" <<'PY'
import sys
tool, path, calls, cps, failed, bin = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
counts = {}
for line in open(path):
    f = line.strip().split(',') if tool == 'perf' else line.split()
    if tool == 'perf' and len(f) > 2 and f[0].replace('.', '').isdigit():
        counts[f[2].split(':')[-1].replace('sys_enter_', '')] = int(float(f[0]))
    elif tool == 'strace' and len(f) >= 5 and f[3].isdigit():
        counts[f[-1]] = int(f[3])
total = counts.pop('sys_enter', None)
if total is None:
    total = sum(counts.values())
done = calls - int(failed) if failed.isdigit() else calls
print(f"syscalls ({tool}, {bin}): {calls} calls at {cps}/s, failed={failed}: "
      f"{total:,} syscalls = {total / max(done, 1):.1f} per completed call")
for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
    if v:
        print(f"  {k}: {v / max(done, 1):.2f} per call")
other = total - sum(counts.values())
if tool == 'perf' and other > 0:
    # Kinds not listed above: find them with `perf stat --per-thread -e 'syscalls:sys_enter_*'`.
    print(f"  (other kinds: {other / max(done, 1):.2f} per call)")
PY
