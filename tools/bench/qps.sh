#!/usr/bin/env bash
# Query benchmark: Satellite against NSD and Knot, in the same run, on the
# same 100k-name zone (shared/BENCHMARKS.md has the method and the goals).
#
#   tools/bench/qps.sh                        # satellite, nsd, knot; 15 s + 10 s each
#   tools/bench/qps.sh --skip-missing         # leave out servers whose binary is missing
#   tools/bench/qps.sh --servers nsd,knot --duration 5 --fixed-duration 5
#   tools/bench/qps.sh --do                   # DO bit on every query (dnsperf -D)
#   tools/bench/qps.sh --signed               # 1,000-name zone pre-signed with NSEC, DO=1
#   tools/bench/qps.sh --signed --nsec3       # the same zone pre-signed with NSEC3 (0 iterations, no salt)
#   tools/bench/qps.sh --compact              # online compact denial (RFC 9824): satellite vs knot, DO=1
#   tools/bench/qps.sh --runs 3               # median of 3 measurements per server
#   options: --satellited PATH --rate QPS --threads N --server-cpus 1 --client-cpus 0
#            --start-timeout S --names N --queries N --seed N --keep
#
# For each server, started one after another with `taskset -c 1` (dnsperf on
# `taskset -c 0`), one worker thread (threads=1 / server-count 1 / udp-workers 1):
#   (a) QPS unthrottled: dnsperf -l 15 -c 4 -T 1 -q 200
#   (b) queries answered per server CPU-second at a fixed offered rate
#       (dnsperf -Q 100000 -l 10): utime+stime of the server's processes
#       (/proc/PID/stat, the whole process tree: NSD serves from a child)
#   (c) memory: PSS summed over the process tree (/proc/PID/smaps_rollup)
# then a table and the ratios Satellite/NSD and Satellite/Knot.
# The zone and queries come from tools/bench/gen_zone.py (deterministic).
# --signed: the zone (1,000 names unless --names) is signed at run time with
# ldns-signzone (fresh ECDSA P-256 KSK + ZSK, signatures valid from an hour ago
# to now + 30 days; NSEC, or NSEC3 with --nsec3) and every server serves the
# signed file as is (Satellite: presigned mode, allow_nsec3 with --nsec3; Knot:
# no dnssec-signing); every query has DO=1, so answers carry RRSIGs and
# NSEC/NSEC3 denial. Same query mix (80% existing, 10% NXDOMAIN, 10% NODATA).
# --compact: the unsigned 1,000-name zone signed by the server itself with
# compact denial of existence (RFC 9824 "black lies", ECDSA P-256):
# Satellite in live mode (denial = "compact": the zone pre-signed at load,
# names that do not exist signed at query time with a per-worker cache)
# against Knot's mod-onlinesign (everything signed at query time; Knot
# refuses the module together with dnssec-signing: on). NSD has no online
# signing and is left out. Two query mixes, both DO=1, each 80% names that
# do not exist plus 20% of the standard mix above:
#   random  every missing name new (r<n><hex>.bench.test.): no cache helps
#   repeat  missing names drawn from a set of 1,000: what a cache can do
# Loopback only; every wait is bounded; servers are stopped on exit.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

servers="satellite,nsd,knot"
satellited="$repo/build/bin/satellited"
duration=15
fixed_duration=10
rate=100000
threads=1
server_cpus=1
client_cpus=0
start_timeout=10
skip_missing=0
do_bit=0
signed=0
nsec3=0
compact=0
servers_set=0
queries_set=0
runs=1
names=100000
names_set=0
nqueries=200000
seed=1
keep=0
warmup=2

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
die() { echo "qps.sh: error: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --servers) servers="$2"; servers_set=1; shift 2 ;;
    --satellited) satellited="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --fixed-duration) fixed_duration="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --server-cpus) server_cpus="$2"; shift 2 ;;
    --client-cpus) client_cpus="$2"; shift 2 ;;
    --start-timeout) start_timeout="$2"; shift 2 ;;
    --skip-missing) skip_missing=1; shift ;;
    --do) do_bit=1; shift ;;
    --signed) signed=1; do_bit=1; shift ;;
    --nsec3) signed=1; nsec3=1; do_bit=1; shift ;;
    --compact) compact=1; do_bit=1; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --names) names="$2"; names_set=1; shift 2 ;;
    --queries) nqueries="$2"; queries_set=1; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

for n in duration fixed_duration rate threads start_timeout runs names nqueries seed warmup; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--${n//_/-} wants a whole number, got '${!n}'"
done
(( runs >= 1 && runs <= 9 )) || die "--runs must be 1..9"
(( signed && compact )) && die "--compact and --signed/--nsec3 are different benchmarks; pick one"
if (( (signed || compact) && ! names_set )); then names=1000; fi
if (( compact )); then
  (( servers_set )) || servers="satellite,knot"
  (( queries_set )) || nqueries=500000   # the random mix should not wrap around within a run
fi

py=/usr/bin/python3
for b in dnsperf taskset "$py"; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found (apt-get install dnsperf util-linux python3)"
done
if command -v dig >/dev/null 2>&1; then
  soa_query() { dig @127.0.0.1 -p "$1" bench.test. SOA +short +time=1 +tries=1 2>/dev/null || true; }
  soa_dnssec_query() { dig @127.0.0.1 -p "$1" bench.test. SOA +dnssec +short +time=1 +tries=1 2>/dev/null || true; }
  nx_dnssec_query() { dig @127.0.0.1 -p "$1" nx-probe.bench.test. A +dnssec +time=1 +tries=1 2>/dev/null || true; }
elif command -v kdig >/dev/null 2>&1; then
  soa_query() { kdig @127.0.0.1 -p "$1" bench.test. SOA +short +time=1 +retry=0 2>/dev/null || true; }
  soa_dnssec_query() { kdig @127.0.0.1 -p "$1" bench.test. SOA +dnssec +short +time=1 +retry=0 2>/dev/null || true; }
  nx_dnssec_query() { kdig @127.0.0.1 -p "$1" nx-probe.bench.test. A +dnssec +time=1 +retry=0 2>/dev/null || true; }
else
  die "neither dig nor kdig found (apt-get install bind9-dnsutils or knot-dnsutils)"
fi
ncpu=$(nproc)
(( ncpu >= 2 )) || echo "qps.sh: warning: $ncpu CPU(s): server and dnsperf share a core" >&2
clk_tck=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/satellite-bench.XXXXXX)
server_pid=""

stop_server() {
  [[ -n $server_pid ]] || return 0
  local pids p i
  pids=$(tree_pids "$server_pid")
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  # whatever of the tree is still there (NSD's children, a hung server)
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
client_pid=""
cleanup() {
  if [[ -n $client_pid ]]; then
    kill -TERM "$client_pid" 2>/dev/null || true   # timeout passes it on to dnsperf
    wait "$client_pid" 2>/dev/null || true
  fi
  stop_server
  if (( keep )); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server's process and all its descendants.
tree_pids() {
  local -a todo=("$1")
  local i=0 p c
  while (( i < ${#todo[@]} && i < 1000 )); do
    p=${todo[i]}; i=$((i + 1))
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
  done
  echo "${todo[@]}"
}
# utime+stime (clock ticks) summed over the tree.
cpu_ticks() {
  local total=0 p s
  for p in $(tree_pids "$1"); do
    s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    s=${s##*) }                      # fields after "pid (comm) "
    read -r -a f <<<"$s"
    total=$((total + f[11] + f[12]))  # fields 14 and 15: utime, stime
  done
  echo "$total"
}
# PSS in KiB summed over the tree.
pss_kib() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

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
    out=$(soa_query "$1")
    [[ $out == *hostmaster.bench.test.* ]] && return 0
    sleep 0.2
  done
  tail -20 "$work/$3.log" >&2
  die "$3 did not answer SOA for bench.test. within $start_timeout s (--start-timeout)"
}

# Fail (or skip) before the slow part when a server's binary is missing.
IFS=',' read -r -a server_list <<<"$servers"
wanted=()
for kind in "${server_list[@]}"; do
  case "$kind" in
    satellite) bin=$satellited ;;
    nsd) bin=/usr/sbin/nsd ;;
    knot) bin=/usr/sbin/knotd ;;
    *) die "unknown server '$kind' (satellite, nsd, knot)" ;;
  esac
  if (( compact )) && [[ $kind == nsd ]]; then die "--compact: NSD has no online signing (use --servers satellite,knot)"; fi
  if [[ ! -x $bin ]]; then
    if (( skip_missing )); then echo "== $kind: $bin not found, skipped (--skip-missing)"; continue; fi
    die "$kind binary not found: $bin (build it, pass --satellited PATH, or use --skip-missing)"
  fi
  wanted+=("$kind")
done
(( ${#wanted[@]} > 0 )) || die "no server to measure"

echo "== generating zone and queries (seed $seed)"
"$py" "$here/gen_zone.py" --out-dir "$work/data" --names "$names" --queries "$nqueries" --seed "$seed"
zone="$work/data/bench.test.zone"
queries="$work/data/queries.txt"
denial=""
if (( signed )); then
  for b in ldns-keygen ldns-signzone; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found (apt-get install ldnsutils)"
  done
  denial=$( (( nsec3 )) && echo NSEC3 || echo NSEC )
  inception=$(date -u -d '-1 hour' +%Y%m%d%H%M%S)
  expiry=$(date -u -d '+30 days' +%Y%m%d%H%M%S)   # near: ldns mis-prints dates past 2106
  echo "== signing bench.test. with ldns-signzone: ECDSA P-256, $denial, valid $inception..$expiry"
  sign_args=(-i "$inception" -e "$expiry" -f "$zone.signed")
  (( nsec3 )) && sign_args+=(-n -a 1 -t 0 -s "")   # RFC 9276: 0 extra iterations, no salt
  (
    cd "$work/data"
    ksk=$(ldns-keygen -a ECDSAP256SHA256 -k bench.test.)
    zsk=$(ldns-keygen -a ECDSAP256SHA256 bench.test.)
    timeout 300 ldns-signzone "${sign_args[@]}" "$zone" "$ksk" "$zsk"
  ) || die "signing failed"
  zone="$zone.signed"
  echo "   $(grep -c $'\tRRSIG\t' "$zone") RRSIGs in $zone"
fi
# Query files, one per mix (--compact measures two).
mixes=(standard)
declare -A mix_file=([standard]="$queries")
if (( compact )); then
  denial="compact"
  "$py" - "$queries" "$work/data" "$nqueries" "$seed" <<'EOF'
import random, sys
src, out, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed * 7919 + 1)
standard = open(src).read().splitlines()
pool = ["rep%d.bench.test." % i for i in range(1000)]
for mix in ("random", "repeat"):
    with open("%s/queries-%s.txt" % (out, mix), "w") as f:
        for i in range(n):
            if rng.random() < 0.8:
                name = "r%x%05x.bench.test." % (i, rng.getrandbits(20)) if mix == "random" else rng.choice(pool)
                f.write("%s %s\n" % (name, rng.choice(("A", "AAAA"))))
            else:
                f.write(standard[i % len(standard)] + "\n")
EOF
  mixes=(random repeat)
  mix_file=([random]="$work/data/queries-random.txt" [repeat]="$work/data/queries-repeat.txt")
  echo "   compact mixes: 80% missing names (random: all new; repeat: 1,000 names) + 20% standard mix, $nqueries queries each"
fi

start_server() {  # kind port -> sets server_pid
  local kind=$1 port=$2 dir="$work/$1"
  mkdir -p "$dir"
  local -a argv
  case "$kind" in
    satellite)
      cat >"$dir/satellite.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
threads = $threads
state_dir = "$dir/state"
online_signing_budget = 0   # Knot's onlinesign has no budget: measure signing, not truncation
[log]
level = "warn"
[[zone]]
name = "bench.test."
file = "$zone"
$( (( nsec3 )) && echo "allow_nsec3 = true" )
$( (( compact )) && printf 'mode = "live"\n[zone.signing]\nenabled = true\nalgorithm = 13\ndenial = "compact"\n' )
EOF
      mkdir -p "$dir/state"
      argv=("$satellited" --config "$dir/satellite.toml") ;;
    nsd)
      # rrl off (on by default at 200 qps/source), no nsd.db, no privilege drop.
      cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    port: $port
    server-count: $threads
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    round-robin: no
    minimal-responses: no
    refuse-any: no
remote-control:
    control-enable: no
zone:
    name: "bench.test."
    zonefile: "$zone"
EOF
      argv=(/usr/sbin/nsd -d -c "$dir/nsd.conf") ;;
    knot)
      cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$port
    udp-workers: $threads
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$dir/db"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
    dnssec-signing: off
zone:
  - domain: bench.test.
    file: "$zone"
$( (( compact )) && echo "    module: mod-onlinesign" )
EOF
      # mod-onlinesign: default policy (ECDSA P-256), keys in the KASP
      # database under storage; it refuses dnssec-signing: on.
      mkdir -p "$dir/db"
      argv=(/usr/sbin/knotd -c "$dir/knot.conf") ;;
  esac
  taskset -c "$server_cpus" "${argv[@]}" >"$work/$kind.log" 2>&1 </dev/null &
  server_pid=$!
}

dnsperf_run() {  # port out-file extra-args...  ($queries: the query file)
  local port=$1 out=$2; shift 2
  local -a extra=("$@")
  (( do_bit )) && extra+=(-D)
  local limit=$(( ${duration} > ${fixed_duration} ? duration : fixed_duration ))
  # in the background, so that a signal is acted on at once (bash runs traps
  # only between commands, and `wait` is interruptible)
  timeout $((limit + warmup + 30)) taskset -c "$client_cpus" \
    dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -c 4 -T 1 -q 200 "${extra[@]}" >"$out" 2>&1 </dev/null &
  client_pid=$!
  local rc=0
  wait "$client_pid" || rc=$?
  client_pid=""
  (( rc == 0 )) || { cat "$out" >&2; die "dnsperf failed with status $rc (see above)"; }
}
field() { awk -v k="$1" 'index($0, k) { sub(".*" k ":?[ \t]*", ""); split($0, a, /[ \t]/); print a[1]; exit }' "$2"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A res_qps res_lost res_eff res_cpu res_pss res_rcodes
measured=()   # "kind" or, with several mixes, "kind/mix"
for kind in "${wanted[@]}"; do
  port=$(free_port)
  echo "== $kind: starting on 127.0.0.1:$port (taskset -c $server_cpus, $threads worker(s))"
  t0=$(date +%s.%N)
  start_server "$kind" "$port"
  wait_soa "$port" "$server_pid" "$kind"
  t1=$(date +%s.%N)
  printf '   answering after %.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
  # Every thread back on the server's CPUs: Knot pins its UDP workers
  # itself (worker i to CPU i), which would put it beside dnsperf.
  moved=0
  for p in $(tree_pids "$server_pid"); do
    for t in /proc/"$p"/task/*; do
      tid=${t##*/}
      [[ $(taskset -pc "$tid" 2>/dev/null | awk '{print $NF}') == "$server_cpus" ]] && continue
      taskset -pc "$server_cpus" "$tid" >/dev/null 2>&1 && moved=$((moved + 1))
    done
  done
  (( moved == 0 )) || echo "   $moved thread(s) had left CPU $server_cpus; pinned back"
  if (( signed || compact )) && [[ $(soa_dnssec_query "$port") != *"SOA 13 "* ]]; then
    echo "   WARNING: $kind gave no RRSIG for bench.test. SOA with DO=1; its figures are not comparable" >&2
  fi
  if (( compact )); then
    # RFC 9824 §3.1: a name that does not exist is NOERROR with an NSEC at the name.
    probe=$(nx_dnssec_query "$port")
    if [[ $probe != *"status: NOERROR"* || ! $probe =~ nx-probe\.bench\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NSEC ]]; then
      echo "   WARNING: $kind did not answer a missing name with a compact (NOERROR + NSEC) denial" >&2
    fi
  fi
  for mix in "${mixes[@]}"; do
    queries=${mix_file[$mix]}
    key=$kind
    (( ${#mixes[@]} > 1 )) && key="$kind/$mix" && echo "   -- mix $mix"
    if (( warmup > 0 )); then
      dnsperf_run "$port" "$work/$kind.$mix.warmup" -l "$warmup"
    fi
    qps_list="" lost_list="" eff_list="" cpu_list=""
    for ((r = 1; r <= runs; r++)); do
      # (a) unthrottled
      dnsperf_run "$port" "$work/$kind.$mix.max.$r" -l "$duration"
      q=$(field "Queries per second" "$work/$kind.$mix.max.$r")
      lost=$(field "Queries lost" "$work/$kind.$mix.max.$r")
      # (b) fixed offered rate, CPU time of the server's processes
      c0=$(cpu_ticks "$server_pid")
      dnsperf_run "$port" "$work/$kind.$mix.fixed.$r" -l "$fixed_duration" -Q "$rate"
      c1=$(cpu_ticks "$server_pid")
      done_q=$(field "Queries completed" "$work/$kind.$mix.fixed.$r")
      cpu_s=$(echo "($c1 - $c0) / $clk_tck" | bc -l)
      eff=$(echo "if ($cpu_s > 0) $done_q / $cpu_s else 0" | bc -l)
      printf '   run %d: %.0f q/s unthrottled (lost %s); at -Q %d: %s answered, %.2f CPU-s, %.0f per CPU-s\n' \
        "$r" "$q" "$lost" "$rate" "$done_q" "$cpu_s" "$eff"
      qps_list+=" $q" lost_list+=" $lost" eff_list+=" $eff" cpu_list+=" $cpu_s"
    done
    # sanity: the answers should be mostly NOERROR/NXDOMAIN, not errors
    rc_line=$(grep -m1 "Response codes:" "$work/$kind.$mix.max.1" | sed 's/^ *Response codes: *//')
    echo "   response codes: $rc_line"
    if [[ $rc_line =~ (SERVFAIL|REFUSED|FORMERR|NOTIMP) ]]; then
      echo "   WARNING: $kind answered with error codes; its figures are not comparable" >&2
    fi
    res_qps[$key]=$(echo "$qps_list" | median)
    res_lost[$key]=$(echo "$lost_list" | median)
    res_eff[$key]=$(echo "$eff_list" | median)
    res_cpu[$key]=$(echo "$cpu_list" | median)
    res_rcodes[$key]=$rc_line
    measured+=("$key")
  done
  # (c) memory after load
  pss=$(pss_kib "$server_pid")
  for mix in "${mixes[@]}"; do
    key=$kind
    (( ${#mixes[@]} > 1 )) && key="$kind/$mix"
    res_pss[$key]=$pss
  done
  stop_server
done

(( ${#measured[@]} > 0 )) || die "no server was measured"

echo
dolabel=$([[ $do_bit == 1 ]] && echo ", DO=1" || echo "")
(( signed )) && dolabel=", pre-signed ($denial, ECDSA P-256)$dolabel"
(( compact )) && dolabel=", compact denial signed by the server (ECDSA P-256)$dolabel"
echo "Results (median of $runs; zone $names names; $nqueries queries; server on CPU $server_cpus, dnsperf on CPU $client_cpus, $threads worker(s)$dolabel)"
printf '%-17s %14s %10s %20s %10s %10s\n' server "QPS (max)" "lost" "answered/CPU-s" "CPU-s" "PSS MiB"
printf '%-17s %14s %10s %20s %10s %10s\n' "" "-l $duration" "" "@ -Q $rate -l $fixed_duration" "" ""
for kind in "${measured[@]}"; do
  printf '%-17s %14.0f %10s %20.0f %10.2f %10.1f\n' "$kind" "${res_qps[$kind]}" "${res_lost[$kind]}" \
    "${res_eff[$kind]}" "${res_cpu[$kind]}" "$(echo "${res_pss[$kind]} / 1024" | bc -l)"
done
echo
ratio() {  # a b kind-a kind-b label
  if [[ -n ${res_qps[$1]:-} && -n ${res_qps[$2]:-} ]]; then
    printf '%-16s QPS %.2f   answered/CPU-s %.2f   PSS %.2f\n' "$3" \
      "$(echo "${res_qps[$1]} / ${res_qps[$2]}" | bc -l)" \
      "$(echo "if (${res_eff[$2]} > 0) ${res_eff[$1]} / ${res_eff[$2]} else 0" | bc -l)" \
      "$(echo "if (${res_pss[$2]} > 0) ${res_pss[$1]} / ${res_pss[$2]} else 0" | bc -l)"
  else
    printf '%-16s n/a (not both measured)\n' "$3"
  fi
}
if (( compact )); then
  for mix in "${mixes[@]}"; do ratio "satellite/$mix" "knot/$mix" "Satellite/Knot $mix"; done
  echo "(Knot signs every answer at query time; Satellite only what does not exist or comes from a wildcard.)"
else
  ratio satellite nsd "Satellite/NSD"
  ratio satellite knot "Satellite/Knot"
  ratio nsd knot "(NSD/Knot)"
fi
echo "Goals (shared/BENCHMARKS.md): QPS >= NSD; answered/CPU-s >= 1.2 x Knot; PSS <= Knot."
