#!/usr/bin/env bash
# Response rate limiting and DNS cookies: what they cost, and what they do
# to a spoofed-source flood. Satellite against Knot (mod-rrl, mod-cookies)
# in the same run, on the same 100k-name zone as qps.sh (issue 17).
#
#   tools/bench/rrl.sh                         # satellite, knot; 10 s + 10 s per phase
#   tools/bench/rrl.sh --duration 5 --fixed-duration 5 --flood 200000
#   options: --satellited PATH --servers satellite,knot --rate QPS --server-cpus 1
#            --client-cpus 0 --names N --queries N --seed N --flood N --flood-rrl R --keep
#
# Each server is started once per phase (one worker, `taskset -c 1`;
# dnsperf and the flooder on `taskset -c 0`):
#   off      RRL off, cookies off
#   rrl      RRL on at a rate no single client reaches (1,000,000/s, slip 2,
#            nothing exempt): the cost of the limiter's bookkeeping per answer
#   rrl+ck   the same with cookies on, every dnsperf query carrying a client
#            cookie and the valid server cookie `dig +cookie` got for it
#            (-E 10:...): each query's server cookie is checked and each
#            answer carries one (RFC 7873; SipHash-2-4 as RFC 9018)
#   flood    RRL on at --flood-rrl a second (default 20, slip 2), cookies on;
#            --flood queries (DO=1, SOA) sent as fast as one core can from
#            254 source addresses of 127.0.9.0/24 (one /24: what a spoofed
#            flood aimed at one victim network looks like)
# For off / rrl / rrl+ck: (a) QPS unthrottled (dnsperf -l --duration -c 4
# -q 200) and (b) answers per server CPU-second at a fixed offered rate
# (-Q --rate -l --fixed-duration; utime+stime of the server's processes).
# For flood: how many answers reached the "victims" (full, truncated), the
# bytes reflected per byte sent, and flood queries handled per server
# CPU-second. Then the same-run ratios: each phase against `off` of the same
# server, and Satellite/Knot per phase.
# Loopback only; every wait is bounded; servers are stopped on exit.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

servers="satellite,knot"
satellited="$repo/build/bin/satellited"
duration=10
fixed_duration=10
rate=100000
server_cpus=1
client_cpus=0
names=100000
nqueries=200000
seed=1
flood=300000
flood_rrl=20
start_timeout=10
keep=0
cookie_hex=0123456789abcdef   # a client cookie (8 octets), the same in every query

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
die() { echo "rrl.sh: error: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --servers) servers="$2"; shift 2 ;;
    --satellited) satellited="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --fixed-duration) fixed_duration="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --server-cpus) server_cpus="$2"; shift 2 ;;
    --client-cpus) client_cpus="$2"; shift 2 ;;
    --names) names="$2"; shift 2 ;;
    --queries) nqueries="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --flood) flood="$2"; shift 2 ;;
    --flood-rrl) flood_rrl="$2"; shift 2 ;;
    --start-timeout) start_timeout="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done
for n in duration fixed_duration rate names nqueries seed flood flood_rrl start_timeout; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--${n//_/-} wants a whole number, got '${!n}'"
done
(( flood <= 5000000 )) || die "--flood: at most 5,000,000 queries"
(( flood_rrl >= 1 && flood_rrl <= 1000000 )) || die "--flood-rrl: 1..1000000"

py=/usr/bin/python3
for b in dnsperf taskset dig bc "$py"; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found"
done
clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/satellite-rrl.XXXXXX)
server_pid=""
client_pid=""

tree_pids() {
  local -a todo=("$1")
  local i=0 p c
  while (( i < ${#todo[@]} && i < 1000 )); do
    p=${todo[i]}; i=$((i + 1))
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
  done
  echo "${todo[@]}"
}
cpu_ticks() {
  local total=0 p s
  for p in $(tree_pids "$1"); do
    s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    s=${s##*) }
    read -r -a f <<<"$s"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}
stop_server() {
  [[ -n $server_pid ]] || return 0
  local pids p i
  pids=$(tree_pids "$server_pid")
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  if [[ -n $client_pid ]]; then kill -TERM "$client_pid" 2>/dev/null || true; wait "$client_pid" 2>/dev/null || true; fi
  stop_server
  if (( keep )); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$py" - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        u.close(); t.close()
    print(port); break
else:
    raise SystemExit("no free port")
EOF
}
wait_soa() {  # port pid label
  local deadline=$((SECONDS + start_timeout)) out
  while (( SECONDS < deadline )); do
    kill -0 "$2" 2>/dev/null || { tail -20 "$work/$3.log" >&2; die "$3 exited before it answered"; }
    out=$(dig @127.0.0.1 -p "$1" bench.test. SOA +short +time=1 +tries=1 2>/dev/null || true)
    [[ $out == *hostmaster.bench.test.* ]] && return 0
    sleep 0.2
  done
  tail -20 "$work/$3.log" >&2
  die "$3 did not answer SOA for bench.test. within $start_timeout s"
}

IFS=',' read -r -a wanted <<<"$servers"
for kind in "${wanted[@]}"; do
  case "$kind" in
    satellite) [[ -x $satellited ]] || die "satellited not found: $satellited (build it or pass --satellited)" ;;
    knot) [[ -x /usr/sbin/knotd ]] || die "knotd not found (apt-get install knot)" ;;
    *) die "unknown server '$kind' (satellite, knot)" ;;
  esac
done

echo "== generating zone and queries (seed $seed)"
"$py" "$here/gen_zone.py" --out-dir "$work/data" --names "$names" --queries "$nqueries" --seed "$seed"
zone="$work/data/bench.test.zone"
queries="$work/data/queries.txt"

start_server() {  # kind phase port -> server_pid
  local kind=$1 phase=$2 port=$3 dir="$work/$1.$2"
  local rrl=0 cookies=0
  case "$phase" in
    off) ;;
    rrl) rrl=1000000 ;;
    rrl+ck) rrl=1000000; cookies=1 ;;
    flood) rrl=$flood_rrl; cookies=1 ;;
  esac
  mkdir -p "$dir/state" "$dir/db"
  local -a argv
  if [[ $kind == satellite ]]; then
    {
      echo "[server]"
      echo "listen = [\"127.0.0.1:$port\"]"
      echo "threads = 1"
      echo "state_dir = \"$dir/state\""
      echo "cookies = $( (( cookies )) && echo true || echo false )"
      if (( rrl )); then printf '[server.rrl]\nrate = %d\nslip = 2\n' "$rrl"; fi
      printf '[log]\nlevel = "warn"\n[[zone]]\nname = "bench.test."\nfile = "%s"\n' "$zone"
    } >"$dir/satellite.toml"
    argv=("$satellited" --config "$dir/satellite.toml")
  else
    local mods=()
    (( rrl )) && mods+=("mod-rrl/bench")
    (( cookies )) && mods+=("mod-cookies/bench")
    {
      printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%d\n    udp-workers: 1\n    tcp-workers: 1\n' "$dir" "$port"
      printf '    background-workers: 1\nlog:\n  - target: stderr\n    any: warning\ndatabase:\n    storage: "%s/db"\n' "$dir"
      if (( rrl )); then printf 'mod-rrl:\n  - id: bench\n    rate-limit: %d\n    slip: 2\n' "$rrl"; fi
      if (( cookies )); then printf 'mod-cookies:\n  - id: bench\n'; fi
      printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\n    zonefile-load: whole\n' "$dir"
      printf '    journal-content: none\n    semantic-checks: off\n'
      if (( ${#mods[@]} )); then printf '    global-module: [%s]\n' "$(IFS=,; echo "${mods[*]}" | sed 's/,/, /g')"; fi
      printf 'zone:\n  - domain: bench.test.\n    file: "%s"\n' "$zone"
    } >"$dir/knot.conf"
    argv=(/usr/sbin/knotd -c "$dir/knot.conf")
  fi
  taskset -c "$server_cpus" "${argv[@]}" >"$work/$kind.$phase.log" 2>&1 </dev/null &
  server_pid=$!
}

dnsperf_run() {  # port out-file extra-args...
  local port=$1 out=$2; shift 2
  timeout $(( (duration > fixed_duration ? duration : fixed_duration) + 30 )) taskset -c "$client_cpus" \
    dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -c 4 -T 1 -q 200 "$@" >"$out" 2>&1 </dev/null &
  client_pid=$!
  local rc=0
  wait "$client_pid" || rc=$?
  client_pid=""
  (( rc == 0 )) || { cat "$out" >&2; die "dnsperf failed with status $rc"; }
}
field() { awk -v k="$1" 'index($0, k) { sub(".*" k ":?[ \t]*", ""); split($0, a, /[ \t]/); print a[1]; exit }' "$2"; }

# The flooder: --flood DO=1 SOA queries, round robin over 254 sockets bound
# to 127.0.9.1-254 (the victims), reading what comes back as it goes and for
# one second after (bounded). Prints: sent, bytes sent, answers, truncated,
# BADCOOKIE, bytes received.
flood_run() {  # port
  timeout 300 taskset -c "$client_cpus" "$py" - "$1" "$flood" <<'EOF'
import select, socket, struct, sys, time
port, total = int(sys.argv[1]), int(sys.argv[2])
def query(qid):
    name = b"".join(bytes([len(l)]) + l for l in (b"bench", b"test")) + b"\0"
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)  # EDNS0, DO=1
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1) + name + struct.pack("!HH", 6, 1) + opt
socks = []
for i in range(1, 255):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.9.%d" % i, 0)); s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    socks.append(s)
packets = [query(i) for i in range(256)]
dest = ("127.0.0.1", port)
sent = bytes_out = answers = tc = badcookie = bytes_in = 0
def drain(s):
    global answers, tc, badcookie, bytes_in
    while True:
        try:
            r = s.recv(4096)
        except BlockingIOError:
            return
        answers += 1; bytes_in += len(r)
        if len(r) >= 4 and r[2] & 0x02: tc += 1
        if len(r) >= 12 and (r[3] & 0x0f) == 7: badcookie += 1  # BADCOOKIE (23): 7 here, the rest in OPT
n = len(socks)
for k in range(total):
    s = socks[k % n]
    p = packets[k & 255]
    try:
        s.sendto(p, dest)
        sent += 1; bytes_out += len(p)
    except (BlockingIOError, OSError):
        pass
    if k % n == n - 1 and (k // n) % 16 == 0:
        for x in socks: drain(x)
end = time.monotonic() + 1.0
while time.monotonic() < end:
    r, _, _ = select.select(socks, [], [], 0.1)
    for x in r: drain(x)
print(sent, bytes_out, answers, tc, badcookie, bytes_in)
EOF
}

declare -A qps eff fl_sent fl_ans fl_tc fl_amp fl_eff
phases=(off rrl rrl+ck flood)
for kind in "${wanted[@]}"; do
  for phase in "${phases[@]}"; do
    port=$(free_port)
    echo "== $kind, $phase: 127.0.0.1:$port"
    start_server "$kind" "$phase" "$port"
    wait_soa "$port" "$server_pid" "$kind.$phase"
    if [[ $phase == flood ]]; then
      c0=$(cpu_ticks "$server_pid")
      read -r sent bout ans tcn bad bin < <(flood_run "$port")
      c1=$(cpu_ticks "$server_pid")
      cpu_s=$(echo "($c1 - $c0) / $clk_tck" | bc -l)
      fl_sent[$kind]=$sent fl_ans[$kind]=$ans fl_tc[$kind]=$tcn
      fl_amp[$kind]=$(echo "if ($bout > 0) $bin / $bout else 0" | bc -l)
      fl_eff[$kind]=$(echo "if ($cpu_s > 0) $sent / $cpu_s else 0" | bc -l)
      printf '   flood: %d sent from 127.0.9.0/24; %d answers back (%d truncated, %d BADCOOKIE); %.3f bytes back per byte sent; %.2f CPU-s, %.0f flood queries per CPU-s\n' \
        "$sent" "$ans" "$tcn" "$bad" "${fl_amp[$kind]}" "$cpu_s" "${fl_eff[$kind]}"
    else
      extra=()
      if [[ $phase == rrl+ck ]]; then
        # A client that has done its first exchange: our client cookie and
        # the server cookie it got for it (from 127.0.0.1, dnsperf's address).
        full=$(dig @127.0.0.1 -p "$port" +cookie="$cookie_hex" +time=1 +tries=1 bench.test. SOA 2>/dev/null |
               sed -n 's/.*COOKIE: \([0-9a-fA-F]*\).*/\1/p' | head -1)
        (( ${#full} >= 32 )) || die "$kind gave no server cookie to dig +cookie"
        extra=(-E "10:$full")
        echo "   client and server cookie: $full"
      fi
      dnsperf_run "$port" "$work/$kind.$phase.warm" -l 2 "${extra[@]}"
      dnsperf_run "$port" "$work/$kind.$phase.max" -l "$duration" "${extra[@]}"
      q=$(field "Queries per second" "$work/$kind.$phase.max")
      c0=$(cpu_ticks "$server_pid")
      dnsperf_run "$port" "$work/$kind.$phase.fixed" -l "$fixed_duration" -Q "$rate" "${extra[@]}"
      c1=$(cpu_ticks "$server_pid")
      done_q=$(field "Queries completed" "$work/$kind.$phase.fixed")
      cpu_s=$(echo "($c1 - $c0) / $clk_tck" | bc -l)
      qps[$kind.$phase]=$q
      eff[$kind.$phase]=$(echo "if ($cpu_s > 0) $done_q / $cpu_s else 0" | bc -l)
      rc_line=$(grep -m1 "Response codes:" "$work/$kind.$phase.max" | sed 's/^ *Response codes: *//')
      printf '   %.0f q/s unthrottled; at -Q %d: %s answered, %.2f CPU-s, %.0f per CPU-s; codes: %s\n' \
        "$q" "$rate" "$done_q" "$cpu_s" "${eff[$kind.$phase]}" "$rc_line"
    fi
    stop_server
  done
done

echo
echo "Results (one worker on CPU $server_cpus, clients on CPU $client_cpus; zone $names names)"
printf '%-10s %-8s %12s %16s %12s %14s\n' server phase "QPS (max)" "answered/CPU-s" "QPS vs off" "ans/CPU vs off"
for kind in "${wanted[@]}"; do
  for phase in off rrl rrl+ck; do
    printf '%-10s %-8s %12.0f %16.0f %12.3f %14.3f\n' "$kind" "$phase" "${qps[$kind.$phase]}" "${eff[$kind.$phase]}" \
      "$(echo "${qps[$kind.$phase]} / ${qps[$kind.off]}" | bc -l)" \
      "$(echo "if (${eff[$kind.off]} > 0) ${eff[$kind.$phase]} / ${eff[$kind.off]} else 0" | bc -l)"
  done
done
echo
printf '%-10s %10s %10s %10s %14s %18s\n' server sent answers truncated "bytes back/in" "flood q/CPU-s"
for kind in "${wanted[@]}"; do
  printf '%-10s %10d %10d %10d %14.3f %18.0f\n' "$kind" "${fl_sent[$kind]}" "${fl_ans[$kind]}" "${fl_tc[$kind]}" \
    "${fl_amp[$kind]}" "${fl_eff[$kind]}"
done
if [[ -n ${qps[satellite.off]:-} && -n ${qps[knot.off]:-} ]]; then
  echo
  for phase in off rrl rrl+ck; do
    printf 'Satellite/Knot %-7s QPS %.2f   answered/CPU-s %.2f\n' "$phase" \
      "$(echo "${qps[satellite.$phase]} / ${qps[knot.$phase]}" | bc -l)" \
      "$(echo "${eff[satellite.$phase]} / ${eff[knot.$phase]}" | bc -l)"
  done
  printf 'Satellite/Knot flood   answers back %.2f   flood queries/CPU-s %.2f\n' \
    "$(echo "if (${fl_ans[knot]} > 0) ${fl_ans[satellite]} / ${fl_ans[knot]} else 0" | bc -l)" \
    "$(echo "if (${fl_eff[knot]} > 0) ${fl_eff[satellite]} / ${fl_eff[knot]} else 0" | bc -l)"
fi
echo "Goal (issue 17): with RRL and cookies on, QPS and answered/CPU-s within 5 % of off."
