#!/usr/bin/env bash
# Fleet benchmark (issue 16), Satellite against Knot in the same run:
#
#  1. Propagation: a Knot hidden primary -> the signer (satellited signing
#     live, or Knot signing) -> N replicas (NSD and Knot alternately, each on
#     its own loopback address), fed by the signer's NOTIFY and IXFR. For
#     each of --changes edits on the primary: the time until every replica
#     serves the new record signed (DO=1 answer with an RRSIG). Median and
#     worst per signer.
#  2. AXFR out of a large signed zone: satellited serves a live-signed copy
#     of a --records zone; Knot serves the same signed records (satellited's
#     own signed version, dumped) unsigned-as-is. Time of one AXFR and the
#     server's CPU seconds for it (utime+stime from /proc), with kdig (which
#     parses and prints every record: the client is the bottleneck) and with
#     a raw client that only reads the messages (the server's rate).
#
# Last lines: the same-run ratios, satellite / knot (< 1: satellite faster).
#
#   tools/bench/fleet.sh                           # 10 replicas, 20 changes, 1,000,000 records
#   tools/bench/fleet.sh --replicas 4 --changes 5 --records 100000
#   options: --satellited PATH --part propagation|axfr|all --keep
#
# Not run in CI: it needs a quiet machine (../shared/BENCHMARKS.md). Loopback
# only (127.0.1.x for the replicas); every wait is bounded; every daemon is
# stopped on exit.
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
satellited="$repo/build/bin/satellited"
replicas=10
changes=20
records=1000000
part=all
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --satellited) satellited="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    --changes) changes="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    --part) part="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "fleet.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for b in knotd knotc kdig /usr/sbin/nsd /usr/bin/python3; do
  command -v "$b" >/dev/null || { echo "fleet.sh: $b is missing (tools/deps.sh)" >&2; exit 2; }
done
/usr/bin/python3 -c 'import dns.message' 2>/dev/null || { echo "fleet.sh: python3-dnspython is missing" >&2; exit 2; }
[ -x "$satellited" ] || { echo "fleet.sh: $satellited is not built" >&2; exit 2; }

work=$(mktemp -d /tmp/satellite-fleetbench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_serial() {  # addr port zone: until it answers SOA (at most 120 s)
  for _ in $(seq 1 1200); do
    kdig +short +timeout=1 +retry=0 @"$1" -p "$2" "$3" SOA 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  echo "fleet.sh: $1@$2 does not serve $3" >&2; return 1
}
zone=fleet.bench
rport=$(free_port)  # every replica listens on this port, each on its own address

# ---------------------------------------------------------------- part 1 ----
start_primary() {  # dir port signer_port
  local dir=$1
  mkdir -p "$dir/db"
  printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 864000 60\n  NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n' \
    "$zone" > "$dir/$zone.zone"
  cat > "$dir/knot.conf" <<EOF
server:
    rundir: $dir
    listen: 127.0.0.1@$2
    background-workers: 1
database:
    storage: $dir/db
remote:
  - id: signer
    address: 127.0.0.1@$3
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
zone:
  - domain: $zone
    file: $dir/$zone.zone
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    semantic-checks: off
    notify: signer
    acl: xfr
EOF
  knotd -c "$dir/knot.conf" >"$dir/out" 2>&1 &
  pids+=($!)
  wait_serial 127.0.0.1 "$2" "$zone"
}

start_replicas() {  # dir signer_port: NSD on odd, Knot on even replicas
  local dir=$1 i addr
  for i in $(seq 1 "$replicas"); do
    addr=127.0.1.$i
    mkdir -p "$dir/r$i/db"
    if (( i % 2 == 1 )); then
      cat > "$dir/r$i/nsd.conf" <<EOF
server:
    ip-address: $addr
    port: $rport
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$dir/r$i"
    database: ""
    zonelistfile: "$dir/r$i/zone.list"
    xfrdfile: "$dir/r$i/xfrd.state"
    xfrdir: "$dir/r$i"
    pidfile: "$dir/r$i/nsd.pid"
    xfrd-reload-timeout: 0
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "$zone"
    request-xfr: 127.0.0.1@$2 NOKEY
    allow-notify: 127.0.0.0/8 NOKEY
EOF
      /usr/sbin/nsd -d -c "$dir/r$i/nsd.conf" >"$dir/r$i/log" 2>&1 &
    else
      cat > "$dir/r$i/knot.conf" <<EOF
server:
    rundir: $dir/r$i
    listen: $addr@$rport
    background-workers: 1
database:
    storage: $dir/r$i/db
remote:
  - id: signer
    address: 127.0.0.1@$2
acl:
  - id: notify
    address: 127.0.0.0/8
    action: notify
zone:
  - domain: $zone
    master: signer
    acl: notify
    file: $dir/r$i/$zone.zone
    zonefile-sync: -1
    journal-content: changes
EOF
      knotd -c "$dir/r$i/knot.conf" >"$dir/r$i/out" 2>&1 &
    fi
    pids+=($!)
  done
}

notify_list() {
  local i out=""
  for i in $(seq 1 "$replicas"); do out+="${out:+, }\"127.0.1.$i:$rport\""; done
  echo "$out"
}

start_signer() {  # kind dir port primary_port
  local kind=$1 dir=$2
  mkdir -p "$dir/db"
  if [ "$kind" = satellite ]; then
    cat > "$dir/satellite.toml" <<EOF
[server]
listen = ["127.0.0.1:$3"]
state_dir = "$dir/state"
provide_xfr = ["127.0.0.0/8"]
[log]
level = "warn"
[[zone]]
name = "$zone."
primaries = ["127.0.0.1:$4"]
mode = "live"
notify = [$(notify_list)]
[zone.signing]
enabled = true
algorithm = 13
EOF
    "$satellited" --config "$dir/satellite.toml" >"$dir/log" 2>&1 &
  else
    local i remotes="" ids=""
    for i in $(seq 1 "$replicas"); do
      remotes+="  - id: r$i"$'\n'"    address: 127.0.1.$i@$rport"$'\n'
      ids+="${ids:+, }r$i"
    done
    cat > "$dir/knot.conf" <<EOF
server:
    rundir: $dir
    listen: 127.0.0.1@$3
    background-workers: 2
database:
    storage: $dir/db
remote:
  - id: primary
    address: 127.0.0.1@$4
$remotes
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
  - id: notify
    address: 127.0.0.1
    action: notify
policy:
  - id: p256
    algorithm: ecdsap256sha256
zone:
  - domain: $zone
    master: primary
    acl: [xfr, notify]
    notify: [$ids]
    file: $dir/$zone.zone
    zonefile-sync: -1
    journal-content: all
    dnssec-signing: on
    dnssec-policy: p256
EOF
    knotd -c "$dir/knot.conf" >"$dir/out" 2>&1 &
  fi
  pids+=($!)
  wait_serial 127.0.0.1 "$3" "$zone"
}

propagation() {  # kind
  local kind=$1 dir="$work/prop-$1" pport sport i
  mkdir -p "$dir"
  pport=$(free_port); sport=$(free_port)
  start_primary "$dir/primary" "$pport" "$sport"
  start_signer "$kind" "$dir/signer" "$sport" "$pport"
  start_replicas "$dir" "$sport"
  for i in $(seq 1 "$replicas"); do wait_serial "127.0.1.$i" "$rport" "$zone"; done
  /usr/bin/python3 - "$kind" "$dir/primary" "$pport" "$zone" "$rport" "$replicas" "$changes" <<'PY'
import statistics, subprocess, sys, time
import dns.message, dns.query, dns.rdatatype, dns.rcode
kind, pdir, pport, zone, rport, n, changes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
addrs = [f"127.0.1.{i}" for i in range(1, n + 1)]
def signed_answer(addr, name):
    q = dns.message.make_query(name, "TXT", want_dnssec=True)
    try:
        r = dns.query.udp(q, addr, port=rport, timeout=0.5)
    except Exception:
        return False
    return r.rcode() == dns.rcode.NOERROR and any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
times = []
for c in range(1, changes + 1):
    serial = c + 1
    with open(f"{pdir}/{zone}.zone", "w") as f:
        f.write(f"$ORIGIN {zone}.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 864000 60\n  NS ns1\n"
                "ns1 A 127.0.0.1\nwww A 192.0.2.1\n" + "".join(f'change{k} TXT "{k}"\n' for k in range(1, c + 1)))
    t0 = time.monotonic()
    subprocess.run(["knotc", "-c", f"{pdir}/knot.conf", "zone-reload", zone], capture_output=True, timeout=30)
    pending, done = set(addrs), {}
    name = f"change{c}.{zone}."
    while pending and time.monotonic() - t0 < 120:
        for a in list(pending):
            if signed_answer(a, name):
                done[a] = time.monotonic() - t0
                pending.discard(a)
        time.sleep(0.005)
    if pending:
        print(f"  {kind}: change {c}: {len(pending)} replicas never served it within 120 s", flush=True)
        continue
    times.append(max(done.values()))
    time.sleep(0.5)  # let every replica's transfer settle before the next change
if times:
    print(f"  {kind:9s} signer: all {n} replicas serve a change signed: median {statistics.median(times)*1000:.0f} ms, "
          f"worst {max(times)*1000:.0f} ms over {len(times)} changes", flush=True)
    with open(f"{pdir}/../../prop-{kind}.result", "w") as f:
        f.write(f"{statistics.median(times)} {max(times)}\n")
PY
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  pids=()
}

# ---------------------------------------------------------------- part 2 ----
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
axfr_time() {  # port pid: "seconds cpu_seconds records"
  local before after t0 t1 n
  before=$(cpu_s "$2"); t0=$(date +%s.%N)
  n=$(kdig +noall +answer +timeout=600 @127.0.0.1 -p "$1" "$zone" AXFR | wc -l)
  t1=$(date +%s.%N); after=$(cpu_s "$2")
  echo "$(echo "$t1 - $t0" | bc) $(echo "$after - $before" | bc) $n"
}
# The same AXFR read by a client that only frames the messages and counts
# their answers up to `records` (kdig's count): "seconds cpu_seconds".
axfr_raw() {  # port pid records
  local before after t
  before=$(cpu_s "$2")
  t=$(/usr/bin/python3 - "$1" "$zone" "$3" <<'PY'
import socket, struct, sys, time
import dns.message
port, zone, want = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
q = dns.message.make_query(zone + ".", "AXFR").to_wire()
s = socket.create_connection(("127.0.0.1", port), timeout=600)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
t0 = time.monotonic()
s.sendall(struct.pack("!H", len(q)) + q)
buf, got, messages = bytearray(), 0, 0
while got < want:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    buf += chunk
    at = 0  # messages taken from the front once per read (not one copy per message)
    while len(buf) - at >= 2:
        n = struct.unpack_from("!H", buf, at)[0]
        if len(buf) - at < 2 + n:
            break
        got += struct.unpack_from("!H", buf, at + 2 + 6)[0]
        messages += 1
        at += 2 + n
    del buf[:at]
print(f"{time.monotonic() - t0:.3f} {messages}")
PY
)
  after=$(cpu_s "$2")
  echo "${t% *} $(echo "$after - $before" | bc) ${t#* }"
}

axfr_out() {
  local dir="$work/axfr" sport kport spid kpid names
  mkdir -p "$dir/dump" "$dir/knot/db"
  names=$(( (records - 3) / 2 ))
  echo "generating $zone with $records records, signed live by satellited"
  /usr/bin/python3 - "$dir/$zone.zone" "$names" "$zone" <<'PY'
import sys
path, n, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write(f"$ORIGIN {zone}.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 864000 60\n  NS ns1\nns1 A 127.0.0.1\n")
    for i in range(n):
        f.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\nh{i} TXT \"record number {i}\"\n")
PY
  sport=$(free_port); kport=$(free_port)
  cat > "$dir/satellite.toml" <<EOF
[server]
listen = ["127.0.0.1:$sport"]
state_dir = "$dir/state"
provide_xfr = ["127.0.0.0/8"]
[log]
level = "warn"
[[zone]]
name = "$zone."
file = "$dir/$zone.zone"
mode = "live"
[zone.signing]
enabled = true
algorithm = 13
EOF
  SATELLITE_DUMP_DIR="$dir/dump" "$satellited" --config "$dir/satellite.toml" >"$dir/log" 2>&1 &
  spid=$!; pids+=($spid)
  wait_serial 127.0.0.1 "$sport" "$zone"
  for _ in $(seq 1 600); do [ -s "$dir/dump/$zone.zone" ] && break; sleep 0.5; done
  cat > "$dir/knot/knot.conf" <<EOF
server:
    rundir: $dir/knot
    listen: 127.0.0.1@$kport
    background-workers: 1
    tcp-io-timeout: 600000
database:
    storage: $dir/knot/db
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
zone:
  - domain: $zone
    file: $dir/dump/$zone.zone
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
    acl: xfr
EOF
  knotd -c "$dir/knot/knot.conf" >"$dir/knot/out" 2>&1 &
  kpid=$!; pids+=($kpid)
  wait_serial 127.0.0.1 "$kport" "$zone"
  read -r st sc sn <<<"$(axfr_time "$sport" "$spid")"
  read -r kt kc kn <<<"$(axfr_time "$kport" "$kpid")"
  printf '  AXFR to kdig (%s records): satellite %.2f s, %.2f CPU s | knot %.2f s, %.2f CPU s | time ratio %.2f\n' \
    "$sn" "$st" "$sc" "$kt" "$kc" "$(echo "$st / $kt" | bc -l)"
  [ "$sn" = "$kn" ] || echo "  note: record counts differ (satellite $sn, knot $kn)"
  local r rst rsc rkt rkc
  for r in 1 2 3; do  # alternating, three each; the medians
    read -r rst rsc <<<"$(axfr_raw "$sport" "$spid" "$sn")"; echo "$rst $rsc" >> "$dir/raw-satellite"
    read -r rkt rkc <<<"$(axfr_raw "$kport" "$kpid" "$sn")"; echo "$rkt $rkc" >> "$dir/raw-knot"
  done
  local rsm rkm
  read -r rst rsc rsm <<<"$(sort -n "$dir/raw-satellite" | sed -n 2p)"
  read -r rkt rkc rkm <<<"$(sort -n "$dir/raw-knot" | sed -n 2p)"
  printf '  AXFR to a raw reader, median of 3: satellite %.2f s (%.0f records/s, %s messages), %.2f CPU s | knot %.2f s (%.0f records/s, %s messages), %.2f CPU s\n' \
    "$rst" "$(echo "$sn / $rst" | bc -l)" "$rsm" "$rsc" "$rkt" "$(echo "$sn / $rkt" | bc -l)" "$rkm" "$rkc"
  echo "$st $sc $kt $kc $rst $rsc $rkt $rkc" > "$work/axfr.result"
}

echo "fleet benchmark: $replicas replicas, $changes changes, $records records; work $work"
if [ "$part" = all ] || [ "$part" = propagation ]; then
  echo "1. propagation (primary change -> every replica serves it signed)"
  propagation satellite
  propagation knot
fi
if [ "$part" = all ] || [ "$part" = axfr ]; then
  echo "2. AXFR out"
  axfr_out
fi
echo "same-run ratios, satellite / knot (< 1: satellite faster or cheaper):"
if [ -s "$work/prop-satellite.result" ] && [ -s "$work/prop-knot.result" ]; then
  read -r sm sw < "$work/prop-satellite.result"; read -r km kw < "$work/prop-knot.result"
  printf '  propagation to %s replicas: median %.2f, worst %.2f\n' "$replicas" "$(echo "$sm / $km" | bc -l)" \
    "$(echo "$sw / $kw" | bc -l)"
fi
if [ -s "$work/axfr.result" ]; then
  read -r st sc kt kc rst rsc rkt rkc < "$work/axfr.result"
  ratio() { [ "$(echo "$2 > 0" | bc)" = 1 ] && printf '%.2f' "$(echo "$1 / $2" | bc -l)" || echo "n/a"; }
  echo "  AXFR out time: to kdig $(ratio "$st" "$kt"), to a raw reader $(ratio "$rst" "$rkt")"
  echo "  AXFR out server CPU: to kdig $(ratio "$sc" "$kc"), to a raw reader $(ratio "$rsc" "$rkc")"
fi
