#!/usr/bin/env bash
# Issue 15's configuration figures for the release binary, on 127.0.0.1:
#   1. start-up instructions with USERS users (valgrind callgrind, from spawn to the
#      'listening on udp' log line, dumped there with callgrind_control), minus 0 users;
#   2. start-up wall time, spawn to 'listening' (median of 5; drifts with the machine's load);
#   3. idle RSS (VmRSS 1 s after 'listening') with USERS users, with 0 users and with the
#      built-in example config; bytes per user = (RSS with USERS - RSS with 0) / USERS
#      (glibc's allocator defaults, as the packaged unit runs it). ONLY=rss: just these;
#      SMAPS=1: the mappings holding 256 KB or more, for each.
# The sip.conf is generated: USERS friends [u1000], [u1001], ... with secret, context,
# callerid and host=dynamic, most from a template, every tenth from two.
#   scripts/config_bench.sh [USERS]        (default 10000; BIN=... to measure another build)
# Bounded: every sipbox run is stopped with SIGTERM once measured.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-10000}
BIN=${BIN:-target/release/sipbox}
[ -n "${BIN_GIVEN:-}" ] || cargo build --release --quiet
D=$(mktemp -d /tmp/sipbox-cfgbench.XXXXXX)
trap 'rm -rf "$D"' EXIT
. scripts/bench/config.sh

# write_users DIR N: the bench config with N generated users.
write_users() {
  mkdir -p "$1"
  write_bench_config "$1"
  python3 - "$1/sip.conf" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = ["""[general]
bindaddr=127.0.0.1
context=default
allowguest=no
maxexpiry=3600
maxregistrations=200000
maxcalls=20000

[phone](!)
type=friend
host=dynamic
disallow=all
allow=ulaw
allow=alaw
dtmfmode=rfc2833
nat=force_rport,comedia
qualify=no

[office](!)
call-limit=4
callcounter=yes
"""]
for i in range(n):
    u = 1000 + i
    tmpl = "phone,office" if i % 10 == 0 else "phone"
    out.append(f"[u{u}]({tmpl})\nsecret=pw{u}x\ncontext=internal\n"
               f"callerid=\"User {u}\" <{u}>\n\n")
open(path, "w").write("".join(out))
PY
}

write_users "$D/n" "$USERS"
write_users "$D/zero" 0
mkdir -p "$D/home"

python3 - "$BIN" "$D" "$USERS" <<'PY'
import os, signal, statistics, subprocess, sys, time, glob, socket
binary, d, users = sys.argv[1], sys.argv[2], int(sys.argv[3])

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

warm = set()

def fresh(conf):
    # A restart, not a first start: the databases exist (creating them costs ~60 ms of
    # fsyncs here), so the first run of each config only creates them.
    if conf not in warm:
        warm.add(conf)
        p, _ = spawn(conf)
        stop(p)

def spawn(conf, prefix=()):
    env = dict(os.environ, HOME=os.path.join(d, "home"), XDG_STATE_HOME=os.path.join(d, "home"))
    env.pop("GLIBC_TUNABLES", None)
    env.pop("RUST_LOG", None)
    args = list(prefix) + [binary]
    fresh(conf)
    if conf is not None:
        args += ["--config-dir", conf]
    args += ["--bind", f"127.0.0.1:{free_port()}"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    for line in p.stderr:
        if "listening on udp" in line:
            return p, time.monotonic() - t0
    p.wait()
    raise SystemExit(f"sipbox exited before listening: {args}")

def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

def rss_kb(conf):
    p, _ = spawn(conf)
    time.sleep(1.0)
    with open(f"/proc/{p.pid}/status") as f:
        kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
    if os.environ.get("SMAPS"):
        # SMAPS=1: the mappings holding 256 KB or more (where the idle RSS is).
        head = ""
        for l in open(f"/proc/{p.pid}/smaps"):
            if "-" in l.split()[0] and not l[0].isupper():
                head = " ".join(l.split()[5:]) or "[anon]"
            elif l.startswith("Rss:") and int(l.split()[1]) >= 256:
                print(f"  {int(l.split()[1]):6d} KB {head}", file=sys.stderr)
    stop(p)
    return kb

def startup_instructions(conf):
    out = os.path.join(d, "cg.out")
    for f in glob.glob(out + "*"):
        os.remove(f)
    p, _ = spawn(conf, prefix=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"))
    # The counts up to 'listening' (callgrind_control dumps them into <out>.1).
    subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop(p)
    total = 0
    for l in open(out + ".1"):
        if l.startswith(("summary:", "totals:")):
            total = int(l.split()[1])
            break
    return total

conf_n, conf_0 = os.path.join(d, "n"), os.path.join(d, "zero")
if os.environ.get("ONLY") == "rss":
    n, z = rss_kb(conf_n), rss_kb(conf_0)
    print(f"idle RSS: {n} KB, 0 users {z} KB, {(n - z) * 1024 / max(users, 1):.0f} B/user")
    raise SystemExit(0)
ins_n = startup_instructions(conf_n)
ins_0 = startup_instructions(conf_0)
walls = []
for _ in range(5):
    p, t = spawn(conf_n)
    walls.append(t * 1000)
    stop(p)
walls0 = []
for _ in range(5):
    p, t = spawn(conf_0)
    walls0.append(t * 1000)
    stop(p)
print(f"sipbox {subprocess.run(['git','rev-parse','--short','HEAD'],capture_output=True,text=True).stdout.strip()}, "
      f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
print(f"start-up instructions, spawn to 'listening': {users} users {ins_n:,}, 0 users {ins_0:,}, "
      f"difference {ins_n - ins_0:,} ({(ins_n - ins_0) / max(users, 1):,.0f} per user)")
print(f"start-up wall time, spawn to 'listening' (median of 5): {users} users "
      f"{statistics.median(walls):.1f} ms (runs {', '.join(f'{w:.0f}' for w in walls)}), "
      f"0 users {statistics.median(walls0):.1f} ms")
n = rss_kb(conf_n)
z = rss_kb(conf_0)
ex = rss_kb(None)
print(f"idle RSS: {users} users {n / 1024:.1f} MB ({n} KB), 0 users {z / 1024:.1f} MB, "
      f"example config {ex / 1024:.1f} MB ({ex} KB); {(n - z) * 1024 / max(users, 1):.0f} bytes per user")
PY
