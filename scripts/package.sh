#!/usr/bin/env bash
# Builds the Debian package (cargo deb, Cargo.toml [package.metadata.deb]), checks it
# (dpkg-deb --info/--contents, the conffiles, lintian when present, systemd-analyze verify
# when present), extracts it into a scratch root (dpkg-deb -x) and runs the INSTALLED
# binary on the INSTALLED /etc/sipbox. Two adjustments, both said here: the packaged
# sipbox.conf's [directories] paths get the scratch root as prefix (sed on that one file),
# and --bind 127.0.0.1:0 replaces bindport=5060 (a test must not take the machine's 5060).
# It binds a datagram socket (an abstract @ address, as systemd passes it) as
# $NOTIFY_SOCKET and checks READY=1, `sipbox -rx 'core show uptime'` over the control
# socket, SIGHUP -> RELOADING=1 then READY=1, SIGTERM -> STOPPING=1 and exit 0.
# Needs dpkg-deb and python3 (the notify listener). Usage: scripts/package.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --no-build ]; then
  command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked
  # --strip: the release profile keeps line tables for profiling (debug = 1); the package
  # does not need them (38 MB of the binary's 40).
  cargo deb --strip
fi
deb=$(ls -t target/debian/sipbox_*.deb | head -1)
echo "== package: $deb ($(stat -c %s "$deb") bytes)"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

fail() { echo "package.sh: FAIL: $*" >&2; exit 1; }
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/sbin/sipbox ./etc/sipbox/sip.conf ./etc/sipbox/extensions.conf \
  ./etc/sipbox/rtp.conf ./etc/sipbox/http.conf ./etc/sipbox/sipbox.conf ./etc/logrotate.d/sipbox \
  ./usr/share/man/man8/sipbox.8.gz; do
  grep -qx "$f" <<<"$contents" || fail "$f is not in the package"
done
unit=$(grep -E '^\./(usr/)?lib/systemd/system/sipbox\.service$' <<<"$contents") \
  || fail "no sipbox.service in the package"
conffiles=$(dpkg-deb --info "$deb" conffiles)
echo "== conffiles:"; echo "$conffiles"
for f in sip.conf extensions.conf rtp.conf http.conf sipbox.conf; do
  grep -qx "/etc/sipbox/$f" <<<"$conffiles" || fail "/etc/sipbox/$f is not a conffile"
done
dpkg-deb --info "$deb" postinst | grep -q adduser || fail "postinst does not create the user"
# The maintainer scripts as cargo deb assembled them (its systemd snippets at #DEBHELPER#).
for m in postinst prerm postrm; do
  dpkg-deb --info "$deb" "$m" >"${TMPDIR:-/tmp}/sipbox-pkg-$m.$$"
  sh -n "${TMPDIR:-/tmp}/sipbox-pkg-$m.$$" || fail "$m: shell syntax"
  rm -f "${TMPDIR:-/tmp}/sipbox-pkg-$m.$$"
done
echo "== maintainer scripts: sh -n clean"

if command -v lintian >/dev/null 2>&1; then
  echo "== lintian"
  lintian "$deb" || echo "lintian: findings above (not fatal)"
else
  echo "== lintian: not installed, skipped"
fi

root=$(mktemp -d /tmp/sipbox-pkg-root.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$root"
echo "== extracted into $root"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify checks that ExecStart exists: the copy it reads points at the extracted binary
  # (nothing else changes); the man page is checked with man -l, not in the man database.
  echo "== systemd-analyze verify $unit (ExecStart pointed at the extracted binary)"
  sed "s#^ExecStart=/usr/sbin/sipbox #ExecStart=$root/usr/sbin/sipbox #" "$root/${unit#./}" \
    >"$root/sipbox.service"
  grep -q "^ExecStart=$root/usr/sbin/sipbox " "$root/sipbox.service" || fail "ExecStart"
  systemd-analyze verify --man=no "$root/sipbox.service" \
    || fail "systemd-analyze verify found problems in the unit"
fi
if command -v man >/dev/null 2>&1; then
  man -l "$root/usr/share/man/man8/sipbox.8.gz" 2>&1 >/dev/null | grep . && fail "man page warnings"
  echo "== man -l sipbox.8.gz: renders without warnings"
fi

# The one adjustment to the installed config: [directories] under the scratch root.
sed -i -E "s#^(ast[a-z]+dir[[:space:]]*=>?[[:space:]]*)/#\1$root/#" "$root/etc/sipbox/sipbox.conf"
echo "== sipbox.conf directories, pointed into the scratch root:"
grep -E '^ast[a-z]+dir' "$root/etc/sipbox/sipbox.conf"
mkdir -p "$root/run/sipbox" "$root/var/lib/sipbox" "$root/var/log/sipbox" "$root/var/spool/sipbox"

bin="$root/usr/sbin/sipbox"
"$bin" --version
"$bin" --help | grep -q -- --config-dir || fail "--help"

# The listener: prints each notification's first line, one per line, for 30 s at most.
notify_name="sipbox-pkg-$$"
python3 - "$notify_name" >"$root/notify.log" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1])
s.settimeout(1)
print("bound", flush=True)
end = time.time() + 30
while time.time() < end:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        continue
    print(m.splitlines()[0], flush=True)
    if m.startswith("STOPPING=1"):
        break
EOF
listener=$!
for _ in $(seq 50); do grep -q bound "$root/notify.log" && break; sleep 0.1; done

wait_notify() { # the Nth notification line equals $2
  for _ in $(seq 100); do
    [ "$(grep -cv bound "$root/notify.log")" -ge "$1" ] && break
    sleep 0.1
  done
  got=$(grep -v bound "$root/notify.log" | sed -n "${1}p")
  [ "$got" = "$2" ] || fail "notification $1: expected $2, got '${got}' (log: $(cat "$root/notify.log"))"
  echo "notify: $got"
}

NOTIFY_SOCKET="@$notify_name" "$bin" --config-dir "$root/etc/sipbox" --bind 127.0.0.1:0 \
  2>"$root/sipbox.log" &
pid=$!
wait_notify 1 READY=1
ctl="$root/run/sipbox/sipbox.ctl"
uptime=$("$bin" -s "$ctl" -rx 'core show uptime')
echo "-rx 'core show uptime': $uptime"
grep -q 'System uptime:' <<<"$uptime" || fail "core show uptime"
# -rx finds the socket from the installed config dir too.
"$bin" --config-dir "$root/etc/sipbox" -rx 'core show uptime' | grep -q 'System uptime:' \
  || fail "-rx from --config-dir"
kill -HUP "$pid"
wait_notify 2 RELOADING=1
wait_notify 3 READY=1
kill -TERM "$pid"
wait_notify 4 STOPPING=1
rc=0; wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "sipbox exited $rc; log: $(cat "$root/sipbox.log")"
wait "$listener" || true
grep -q "config from $root/etc/sipbox" "$root/sipbox.log" || fail "it did not read the installed config"
echo "== OK: $deb ($(stat -c %s "$deb") bytes) builds, installs into a scratch root, starts on its own config, answers -rx, notifies READY/RELOADING/STOPPING"
