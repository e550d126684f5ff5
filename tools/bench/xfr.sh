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
for b in knotd knotc kdig /usr/sbin/nsd /usr/bin/python3; do
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
