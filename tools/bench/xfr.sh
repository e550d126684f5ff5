#!/usr/bin/env bash
# Transfer benchmark: time from a secondary's start to serving a large zone
# AXFR'd (TSIG hmac-sha256) from a local Knot primary, and memory after the
# load, for Satellite, Knot and NSD as secondaries — in the same run.
#
#   tools/bench/xfr.sh                       # 1,000,000 records, all three
#   tools/bench/xfr.sh --records 200000 --servers satellite,knot
#   options: --satellited PATH --runs N --timeout S --keep
#
# The primary runs on CPU 0, the secondary under test on CPU 1. "Served" =
# the secondary answers a name from the end of the zone with the primary's
# serial (polled every 10 ms). NSD runs with xfrd-reload-timeout: 0 (its
# default 1 s delay would dominate). Memory: PSS of the process tree.
# Loopback only; every wait is bounded; daemons are stopped on exit.
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
records=1000000
servers="satellite,knot,nsd"
satellited="$repo/build/bin/satellited"
runs=1
timeout_s=120
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    --servers) servers="$2"; shift 2 ;;
    --satellited) satellited="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "xfr.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for b in knotd knotc kdig /usr/sbin/nsd /usr/bin/python3 bc; do
  command -v "$b" >/dev/null || { echo "xfr.sh: $b is missing (tools/deps.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/satellite-xfrbench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret=$(head -c 32 /dev/urandom | base64)
zone=bench.test
names=$(( (records - 3) / 2 ))
last="h$((names - 1)).$zone."

echo "generating $zone with $records records ($names names × A+TXT)"
/usr/bin/python3 - "$work/$zone.zone" "$names" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("$ORIGIN bench.test.\n$TTL 300\n@ SOA ns1 hostmaster 2026112401 3600 600 864000 60\n  NS ns1\nns1 A 127.0.0.1\n")
    for i in range(n):
        f.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\nh{i} TXT \"record number {i}\"\n")
PY

pport=$(free_port)
mkdir -p "$work/primary"
cat > "$work/primary/knot.conf" <<EOF
server:
    rundir: $work/primary
    listen: 127.0.0.1@$pport
    background-workers: 1
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: xfr
    address: 127.0.0.1
    key: xfr-key
    action: transfer
database:
    storage: $work/primary/db
template:
  - id: default
    storage: $work
    zonefile-sync: -1
zone:
  - domain: $zone
    file: $zone.zone
    acl: xfr
log:
  - target: $work/primary/knot.log
    any: notice
EOF
taskset -c 0 knotd -c "$work/primary/knot.conf" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  kdig +timeout=1 +retry=0 @127.0.0.1 -p "$pport" "$zone" SOA +short 2>/dev/null | grep -q 2026112401 && break
  sleep 0.1
done
kdig +timeout=1 @127.0.0.1 -p "$pport" "$zone" SOA +short | grep -q 2026112401 || { echo "primary did not load" >&2; exit 1; }
echo "primary (knot) on 127.0.0.1:$pport serves $zone"

pss_tree() {  # PSS in KiB of a process and its children
  local total=0 p v
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

start_secondary() {  # name port dir → prints pid
  local name=$1 port=$2 dir=$3
  mkdir -p "$dir"
  case "$name" in
    satellite)
      cat > "$dir/satellite.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
threads = 1
state_dir = "$dir/state"
[log]
level = "warn"
[[tsig_key]]
name = "xfr-key"
algorithm = "hmac-sha256"
secret = "$secret"
[[zone]]
name = "$zone."
primaries = ["127.0.0.1:$pport"]
tsig_key = "xfr-key"
max_zone_records = 20000000
EOF
      taskset -c 1 "$satellited" --config "$dir/satellite.toml" >"$dir/log" 2>&1 &
      ;;
    knot)
      cat > "$dir/knot.conf" <<EOF
server:
    rundir: $dir
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: $secret
remote:
  - id: primary
    address: 127.0.0.1@$pport
    key: xfr-key
database:
    storage: $dir/db
template:
  - id: default
    storage: $dir
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $zone
    master: primary
log:
  - target: $dir/log
    any: notice
EOF
      taskset -c 1 knotd -c "$dir/knot.conf" >/dev/null 2>&1 &
      ;;
    nsd)
      cat > "$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    zonesdir: "$dir"
    database: ""
    pidfile: "$dir/nsd.pid"
    xfrdfile: "$dir/xfrd.state"
    zonelistfile: "$dir/zone.list"
    xfrd-reload-timeout: 0
    rrl-ratelimit: 0
    verbosity: 0
remote-control:
    control-enable: no
key:
    name: xfr-key
    algorithm: hmac-sha256
    secret: "$secret"
zone:
    name: $zone
    zonefile: "$dir/$zone.zone"
    request-xfr: AXFR 127.0.0.1@$pport xfr-key
    allow-notify: 127.0.0.1 NOKEY
EOF
      taskset -c 1 /usr/sbin/nsd -d -c "$dir/nsd.conf" >"$dir/log" 2>&1 &
      ;;
  esac
  echo $!
}

declare -A secs mem
for name in ${servers//,/ }; do
  best=""
  for run in $(seq 1 "$runs"); do
    port=$(free_port)
    dir="$work/$name-$run"
    t0=$(date +%s.%N)
    pid=$(start_secondary "$name" "$port" "$dir")
    pids+=("$pid")
    served=""
    deadline=$(( $(date +%s) + timeout_s ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      if kdig +timeout=1 +retry=0 @127.0.0.1 -p "$port" "$last" TXT +short 2>/dev/null | grep -q "record number"; then
        served=$(date +%s.%N); break
      fi
      sleep 0.01
    done
    if [ -z "$served" ]; then echo "$name: not served within ${timeout_s}s" >&2; kill "$pid" 2>/dev/null; continue; fi
    t=$(echo "$served - $t0" | bc -l)
    sleep 1  # let the load settle before reading memory
    m=$(pss_tree "$pid")
    printf '%-10s run %d: served after %.2f s, PSS %d MiB\n' "$name" "$run" "$t" $((m / 1024))
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; mem[$name]=$m; fi
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  done
  [ -n "$best" ] && secs[$name]=$best
done

echo
echo "Results: $records records, AXFR with TSIG from a local Knot primary (best of $runs)"
printf '%-10s %12s %10s\n' server "served (s)" "PSS MiB"
for name in ${servers//,/ }; do
  [ -n "${secs[$name]:-}" ] && printf '%-10s %12.2f %10d\n' "$name" "${secs[$name]}" $(( ${mem[$name]} / 1024 ))
done
if [ -n "${secs[satellite]:-}" ]; then
  for peer in knot nsd; do
    [ -n "${secs[$peer]:-}" ] && printf 'Satellite/%s  time %.2f   PSS %.2f\n' "$peer" \
      "$(echo "${secs[satellite]} / ${secs[$peer]}" | bc -l)" "$(echo "${mem[satellite]} / ${mem[$peer]}" | bc -l)"
  done
fi
echo "Goals (issue 3): time <= 0.8 x Knot, PSS <= Knot."
