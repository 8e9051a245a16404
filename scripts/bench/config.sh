# Shared by scripts/bench.sh and scripts/count.sh: the benchmark config (two friends, 1001 and
# 1002, dialling each other) and a free UDP port on 127.0.0.1.

# Writes sip.conf, extensions.conf and sipbox.conf (every directory inside $1) into directory $1.
write_bench_config() {
  cat > "$1/sip.conf" <<CONF
[general]
bindaddr=127.0.0.1
context=default
allowguest=no
maxexpiry=3600
maxregistrations=200000
maxcalls=20000
[1001]
type=friend
host=dynamic
secret=1001pass
context=internal
[1002]
type=friend
host=dynamic
secret=1002pass
context=internal
CONF
  cat > "$1/extensions.conf" <<CONF
[internal]
exten => _100X,1,Dial(SIP/\${EXTEN},30)
 same => n,Hangup()
CONF
  printf '[directories]\nastrundir => .\nastdbdir => .\nastlogdir => log\nastspooldir => spool\nastdatadir => data\n' > "$1/sipbox.conf"
}

free_port() {
  python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
