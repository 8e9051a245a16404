#!/usr/bin/env bash
# CPU per 1 000 calls, two builds side by side in one run (issue 15): rounds alternate A and
# B, each a fresh sipbox with USERS generated users (plus the bench friends 1001 and 1002)
# taking CALLS calls at CPS through SIPp (caller with a 407 on every INVITE -> sipbox -> SIPp
# callee, 180, 200, ACK, 300 ms hold, BYE on both legs). sipbox's CPU is read from
# /proc/PID/stat around the SIPp run; failed calls from SIPp's statistics.
#   A=/tmp/sipbox-old B=target/release/sipbox CPS=60 CALLS=3000 scripts/ab_calls.sh
#   B=target/release/sipbox CPS=2000 CALLS=150000 ROUNDS=1 scripts/ab_calls.sh   # sustained
#   (A empty: only B is measured)
# Bounded: every SIPp run has -m and -timeout; every sipbox is stopped with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${A:-}
B=${B:-target/release/sipbox}
USERS=${USERS:-10000}
CPS=${CPS:-60}
CALLS=${CALLS:-3000}
ROUNDS=${ROUNDS:-2}
D=$(mktemp -d /tmp/sipbox-ab.XXXXXX)
SB_PID=
trap '[ -n "$SB_PID" ] && kill $SB_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
. scripts/bench/config.sh
# The config is copied afresh for every run: sipbox keeps registrations in sipbox.db, and a
# binding left by an earlier run's callee would be rung too.
T="$D/template"
mkdir -p "$T"
write_bench_config "$T"
python3 - "$T/sip.conf" "$USERS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = ["\n[phone](!)\ntype=friend\nhost=dynamic\ncontext=internal\n"]
for i in range(n):
    u = 20000 + i
    out.append(f"[{u}](phone)\nsecret=pw{u}x\ncallerid=\"User {u}\" <{u}>\n")
open(path, "a").write("".join(out))
PY
printf '[general]\nrtpstart=20000\nrtpend=60000\n' > "$T/rtp.conf"
SIPP="sipp -i 127.0.0.1 -nostdin -timeout_error -nr"
HZ=$(getconf CLK_TCK)
LIMIT=$((CPS * 2 + 200))
TIMEOUT=$((CALLS / CPS + 60))

# run LABEL BIN: one measurement; prints a line and appends "LABEL ms_per_1000" to $D/res.
run() {
  local label=$1 bin=$2 port cp uas t0 t1 s0 s1 failed ok
  rm -rf "$D/run" && cp -a "$T" "$D/run"
  port=$(free_port)
  "$bin" --config-dir "$D/run" --bind 127.0.0.1:$port 2> "$D/sipbox.log" &
  SB_PID=$!
  for _ in $(seq 100); do grep -q 'listening on udp' "$D/sipbox.log" && break; sleep 0.1; done
  # Idle CPU first (timers that run whether or not calls come), then the calls.
  t0=$(awk '{print $14+$15}' /proc/$SB_PID/stat); sleep 5
  t1=$(awk '{print $14+$15}' /proc/$SB_PID/stat)
  echo "$label: idle CPU $(( (t1 - t0) * 1000 / HZ / 5 )) ms per s"
  cp=$(free_port)
  $SIPP -sf tests/sipp/register.xml -s 1002 -au 1002 -ap 1002pass -p $cp -m 1 -timeout 10s \
    127.0.0.1:$port > /dev/null 2>&1
  $SIPP -sf tests/sipp/uas_answer.xml -p $cp -m $CALLS -timeout ${TIMEOUT}s 127.0.0.1:$port \
    > "$D/uas.out" 2>&1 &
  uas=$!
  sleep 0.3
  t0=$(awk '{print $14+$15}' /proc/$SB_PID/stat); u0=$(awk '{print $14}' /proc/$SB_PID/stat)
  s0=$(date +%s.%N)
  $SIPP -sf tests/sipp/uac_auth_call.xml -s 1002 -au 1001 -ap 1001pass -p $(free_port) \
    -r $CPS -l $LIMIT -m $CALLS -timeout ${TIMEOUT}s -trace_stat -stf "$D/calls.csv" \
    127.0.0.1:$port > "$D/uac.out" 2>&1 && ok=yes || ok=no
  s1=$(date +%s.%N); t1=$(awk '{print $14+$15}' /proc/$SB_PID/stat)
  u1=$(awk '{print $14}' /proc/$SB_PID/stat)
  wait $uas || true
  failed=$(tail -1 "$D/calls.csv" | awk -F';' '{print $18}')
  done_ok=$(tail -1 "$D/calls.csv" | awk -F';' '{print $16}')
  kill $SB_PID; wait $SB_PID 2>/dev/null || true; SB_PID=
  # sipbox's own view of a run with failures: its warnings, the most frequent first.
  if [ "${failed:-0}" != 0 ]; then
    grep -E ' (WARN|ERROR) ' "$D/sipbox.log" | sed -E 's/^.*(WARN|ERROR) +//; s/[0-9]+/N/g' \
      | sort | uniq -c | sort -rn | head -3 | sed 's/^/  sipbox log: /' || true
  fi
  python3 - "$label" "$s0" "$s1" "$t0" "$t1" "$HZ" "$CALLS" "$ok" "${failed:-?}" "$D/res" "$u0" "$u1" "${done_ok:-?}" <<'PY'
import sys
label=sys.argv[1]; s0,s1,t0,t1,hz,n=map(float,sys.argv[2:8]); ok=sys.argv[8]; failed=sys.argv[9]
succeeded=sys.argv[13]
# Per call of what SIPp completed (a run cut by its timeout did not complete all it offered).
if succeeded.isdigit() and failed.isdigit() and int(succeeded) + int(failed) > 0:
    n = float(int(succeeded) + int(failed))
user=(float(sys.argv[12])-float(sys.argv[11]))/max(t1-t0,1)
secs=s1-s0; cpu=(t1-t0)/hz; per=cpu/n*1e6
print(f"{label}: {sys.argv[7]} calls offered, {succeeded} succeeded, {failed} failed in {secs:.1f} s "
      f"({n/secs:.0f}/s completed), sipp ok={ok}; "
      f"sipbox CPU {cpu:.2f} s = {per:.0f} ms per 1000 calls ({cpu/secs*100:.0f}% of a core, "
      f"{user*100:.0f}% of it user time)", flush=True)
open(sys.argv[10], "a").write(f"{label} {per:.1f}\n")
PY
}

echo "A/B at $CPS calls/s, $CALLS calls per run, $USERS users, $ROUNDS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  [ -n "$A" ] && run "A $(basename "$A") round $r" "$A"
  run "B $(basename "$B") round $r" "$B"
done
python3 - "$D/res" <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, v = line.rsplit(" ", 1)
    d[label.split(" round")[0]].append(float(v))
for k, v in d.items():
    print(f"{k}: median {statistics.median(v):.0f} ms per 1000 calls over {len(v)} runs ({', '.join(f'{x:.0f}' for x in v)})")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
