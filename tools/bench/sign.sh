#!/usr/bin/env bash
# Full-zone signing benchmark: Satellite's signer (satellite-signzone) against
# ldns-signzone, dnssec-signzone and Knot, in the same run, with `openssl speed`
# as the limit (shared/BENCHMARKS.md has the method and the goals).
#
#   tools/bench/sign.sh                       # 100k-name and 1M-record zones, alg 13 and 15, all signers
#   tools/bench/sign.sh --quick               # smoke run: 10k names, 50k records, openssl 1 s
#   tools/bench/sign.sh --skip-missing        # leave out signers whose binary is missing
#   tools/bench/sign.sh --signers satellite,knot --algorithms 15 --records 0
#   options: --names N (0: skip that zone)  --records N (0: skip that zone)
#            --algorithms 13,15  --signers satellite,ldns,bind,knot  --threads N
#            --runs N (median of each figure)  --timeout S (per signer run)
#            --openssl-seconds S  --verify (ldns-verify-zone every output)
#            --signzone PATH  --seed N  --keep
#
# Zones come from tools/bench/gen_zone.py (deterministic): --names N owner
# names (~1.5 records per name), and --records N records (the same mix:
# A, AAAA, MX, TXT, CNAME, SRV, empty non-terminals, a wildcard, 50 delegations
# with glue). Every signer gets a fresh KSK + ZSK of the algorithm, made before
# the clock starts, NSEC denial, signatures valid from an hour ago for 14 days,
# zone file in -> signed zone file out (text), one signer at a time:
#   satellite  satellite-signzone --threads N (all cores); the tool also
#              reports its own sign-only time ("sign-only s")
#   ldns       ldns-signzone (single-threaded)
#   bind       dnssec-signzone -n N -x -P -O full (-x: DNSKEY signed by the KSK
#              only, like the others; -P: no post-signing self-check, which the
#              others do not do either)
#   knot       knotd with dnssec-signing on (policy: the algorithm, nsec3 off,
#              signing-threads N), zonefile-load: whole, zonefile-sync: 0, on
#              127.0.0.1 at a port picked at run time. Two rows:
#                knot (load)  knotd start -> "zone file updated" in its log,
#                             i.e. parse + key generation + sign + signed zone
#                             file written: the same job as the other tools.
#                             THIS is the row the ratios use.
#                knot (resign) `knotc -b zone-sign` on the loaded zone (drops
#                             and remakes every signature; no parse, no write):
#                             compared with Satellite's sign-only time.
# Wall time and CPU time (user+sys: /usr/bin/time; knotd: /proc/PID/stat) per
# run; signatures = RRSIG records counted in the signed output. Limit:
# `openssl speed -seconds S ecdsap256|ed25519`, one core and -multi N.
# Ratios: Satellite wall ÷ each peer's wall (< 1: Satellite faster), and
# Satellite's sign-only signatures/s ÷ (openssl 1-core sign/s × cores).
# Before each measurement the script checks that the machine is idle, and
# after it how much CPU the rest of the machine used meanwhile (all non-idle
# time minus the signer's own); it says so, per measurement and again under
# the results, when either is more than a trace (those figures are not
# comparable: rerun on a quiet machine).
# Loopback only; every wait is bounded; knotd is stopped on exit.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

names=100000
records=1000000
algorithms="13,15"
signers="satellite,ldns,bind,knot"
signzone="$repo/build/bin/satellite-signzone"
threads=$(nproc)
runs=1
timeout_s=900
ossl_seconds=3
skip_missing=0
verify=0
quick=0
seed=1
keep=0
names_set=0 records_set=0 ossl_set=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
die() { echo "sign.sh: error: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --names) names="$2"; names_set=1; shift 2 ;;
    --records) records="$2"; records_set=1; shift 2 ;;
    --algorithms) algorithms="$2"; shift 2 ;;
    --signers) signers="$2"; shift 2 ;;
    --signzone) signzone="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --openssl-seconds) ossl_seconds="$2"; ossl_set=1; shift 2 ;;
    --skip-missing) skip_missing=1; shift ;;
    --verify) verify=1; shift ;;
    --quick) quick=1; shift ;;
    --seed) seed="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done
if (( quick )); then
  (( names_set )) || names=10000
  (( records_set )) || records=50000
  (( ossl_set )) || ossl_seconds=1
fi
for n in names records threads runs timeout_s ossl_seconds seed; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--${n//_/-} wants a whole number, got '${!n}'"
done
(( runs >= 1 && runs <= 9 )) || die "--runs must be 1..9"
(( threads >= 1 )) || die "--threads must be at least 1"
(( names > 0 || records > 0 )) || die "nothing to sign (--names 0 and --records 0)"

py=/usr/bin/python3
for b in "$py" /usr/bin/time timeout bc openssl; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found (apt-get install python3 time coreutils bc openssl)"
done
ncpu=$(nproc)
clk_tck=$(getconf CLK_TCK)

IFS=',' read -r -a alg_list <<<"$algorithms"
for alg in "${alg_list[@]}"; do
  case "$alg" in 13|15) ;; *) die "algorithm $alg: only 13 (ECDSA P-256) and 15 (Ed25519) are compared" ;; esac
done
alg_label() { case "$1" in 13) echo "ECDSA P-256 (13)" ;; 15) echo "Ed25519 (15)" ;; esac; }

IFS=',' read -r -a signer_list <<<"$signers"
wanted=()
for s in "${signer_list[@]}"; do
  case "$s" in
    satellite) bins=("$signzone") ;;
    ldns) bins=(ldns-signzone ldns-keygen) ;;
    bind) bins=(dnssec-signzone dnssec-keygen) ;;
    knot) bins=(knotd knotc) ;;
    *) die "unknown signer '$s' (satellite, ldns, bind, knot)" ;;
  esac
  missing=""
  for b in "${bins[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=" $b"; done
  if [[ -n $missing ]]; then
    if (( skip_missing )); then echo "== $s:$missing not found, skipped (--skip-missing)"; continue; fi
    die "$s:$missing not found (build satellite-signzone / --signzone PATH; apt-get install ldnsutils bind9-utils knot; or --skip-missing)"
  fi
  wanted+=("$s")
done
(( ${#wanted[@]} > 0 )) || die "no signer to measure"
if (( verify )); then command -v ldns-verify-zone >/dev/null 2>&1 || die "--verify needs ldns-verify-zone (ldnsutils)"; fi

[[ $signzone == */* && $signzone != /* ]] && signzone="$PWD/$signzone"
work=$(mktemp -d /tmp/satellite-signbench.XXXXXX)
cd "$work"   # nothing the signers write lands in the caller's directory
knot_pid=""
stop_knot() {
  [[ -n $knot_pid ]] || return 0
  local i
  kill -TERM "$knot_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$knot_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$knot_pid" 2>/dev/null || true
  wait "$knot_pid" 2>/dev/null || true
  knot_pid=""
}
job_pid=""
tree_pids() {  # a process and all its descendants
  local -a todo=("$1")
  local i=0 p c
  while (( i < ${#todo[@]} && i < 1000 )); do
    p=${todo[i]}; i=$((i + 1))
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do todo+=("$c"); done
  done
  echo "${todo[@]}"
}
cleanup() {
  if [[ -n $job_pid ]]; then   # /usr/bin/time -> timeout -> signer
    for p in $(tree_pids "$job_pid"); do kill -TERM "$p" 2>/dev/null || true; done
    wait "$job_pid" 2>/dev/null || true
  fi
  stop_knot
  if (( keep )); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
calc() { echo "$1" | bc -l; }
fmt() { LC_ALL=C printf "%.${2:-2}f" "$1"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Fraction of CPU time not idle over 0.5 s (all CPUs), in percent.
busy_pct() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 0.5
  read -r -a b < <(head -1 /proc/stat)
  local i ta=0 tb=0
  for ((i = 1; i < ${#a[@]}; i++)); do ta=$((ta + a[i])); tb=$((tb + b[i])); done
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=$((tb - ta))
  (( total > 0 )) || { echo 0; return; }
  echo $(( 100 * (total - idle) / total ))
}
busy_warnings=()
cur=""   # what is being measured, for the warnings
busy_ticks() {  # non-idle clock ticks of all CPUs since boot
  local -a f
  read -r -a f < <(head -1 /proc/stat)
  echo $(( f[1] + f[2] + f[3] + f[6] + f[7] + f[8] ))
}
# After a measurement: CPU time the rest of the machine used meanwhile
# (all non-idle time minus the signer's own); warn above 10% of one core.
check_others() {  # busy-ticks-before signer-cpu-seconds wall-seconds
  local other
  other=$(calc "($(busy_ticks) - $1) / $clk_tck - $2")
  if (( $(calc "$other > 0.1 * $3 + 0.2") )); then
    echo "   WARNING: other processes used $(fmt "$other") CPU-s during this $(fmt "$3") s measurement; figures not comparable" >&2
    busy_warnings+=("$cur: other processes used $(fmt "$other") CPU-s during the $(fmt "$3") s run")
  fi
}
check_idle() {  # label
  local p
  p=$(busy_pct)
  if (( p > 10 )); then
    echo "   WARNING: the machine is ${p}% busy before '$1' (busiest processes, lifetime %CPU:" \
      "$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 5 {printf "%s %s%%; ", $2, $1}')); figures not comparable" >&2
    busy_warnings+=("$cur: ${p}% busy before the run")
  fi
}

rrsig_count() {  # signed zone file -> number of RRSIG records (not RRSIG in NSEC bitmaps)
  grep -cE '[[:space:]]RRSIG[[:space:]]+[A-Z0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+' "$1" || true
}

# ---- openssl speed: the limit ---------------------------------------------
declare -A ossl1 osslm
openssl_rate() {  # alg multi -> sign/s
  local alg=$1 multi=$2 name line
  name=$([[ $alg == 13 ]] && echo ecdsap256 || echo ed25519)
  local -a args=(speed -seconds "$ossl_seconds" -mr)
  (( multi > 1 )) && args+=(-multi "$multi")
  args+=("$name")
  local b0 e u s
  b0=$(busy_ticks)
  line=$(/usr/bin/time -f "%e %U %S" -o "$work/openssl.time" timeout $((ossl_seconds * 4 + 30)) openssl "${args[@]}" 2>/dev/null \
    | grep -E '^\+F[46]:' | tail -1) || true
  # the rest of the machine's CPU use meanwhile
  read -r e u s < <(tail -1 "$work/openssl.time") && check_others "$b0" "$(calc "$u + $s")" "$e"
  # ECDSA: +F4:idx:bits:sign/s:verify/s   EdDSA: +F6:idx:bits:name:sign/s:verify/s
  case "$line" in
    +F4:*) echo "$line" | awk -F: '{print $4}' ;;
    +F6:*) echo "$line" | awk -F: '{print $5}' ;;
    *) echo 0 ;;
  esac
}

# ---- zones ------------------------------------------------------------------
origin=bench.test.
zones=()
declare -A zone_file zone_desc
echo "== generating zones (tools/bench/gen_zone.py, seed $seed)"
gen() {  # key args... ; gen_zone.py prints "zone PATH: N owner names with data, M empty non-terminals, R records"
  local key=$1 out; shift
  out=$("$py" "$here/gen_zone.py" --out-dir "$work/z-$key" --queries 0 --seed "$seed" "$@") || die "gen_zone.py failed"
  out=${out%%$'\n'*}
  echo "   $out"
  zone_file[$key]="$work/z-$key/bench.test.zone"
  zone_desc[$key]=$(sed -nE 's/.*: ([0-9]+) owner names with data, ([0-9]+) empty non-terminals, ([0-9]+) records.*/\1 names, \3 records/p' <<<"$out")
  [[ -s ${zone_file[$key]} && -n ${zone_desc[$key]} ]] || die "gen_zone.py failed: $out"
  zones+=("$key")
}
(( names > 0 )) && gen names --names "$names"
(( records > 0 )) && gen records --records "$records"
# a tiny zone with the same origin, to make Satellite's keys before the clock starts
printf '%s %s\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n' '$ORIGIN' "$origin" >"$work/tiny.zone"

inception_ts=$(date -u -d '-1 hour' +%Y%m%d%H%M%S)
expiry_ts=$(date -u -d '+14 days' +%Y%m%d%H%M%S)

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
cpu_ticks() {  # pid -> utime+stime of all its threads (clock ticks)
  local s
  s=$(cat /proc/"$1"/stat 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}

# Results of one run go into these globals.
r_wall="" r_cpu="" r_signonly="" r_err=""
declare -A resign_wall resign_cpu   # knot (resign), per run

# Runs a command with /usr/bin/time under the timeout; sets r_wall, r_cpu, r_err.
timed() {  # dir cmd...
  local dir=$1; shift
  local rc=0 b0
  b0=$(busy_ticks)
  /usr/bin/time -f "%e %U %S" -o "$dir/time" timeout -k 10 "$timeout_s" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  job_pid=$!
  wait "$job_pid" || rc=$?
  job_pid=""
  if (( rc == 124 || rc == 137 )); then r_err="TIMEOUT after ${timeout_s} s"; return 1; fi
  if (( rc != 0 )); then r_err="exit status $rc: $(grep -v '^Command exited' "$dir/stderr" | tail -3 | tr '\n' ' ')"; return 1; fi
  local e u s
  read -r e u s < <(tail -1 "$dir/time")
  r_wall=$e
  r_cpu=$(calc "$u + $s")
  check_others "$b0" "$r_cpu" "$r_wall"
}

run_satellite() {  # zone alg dir
  local zone=$1 alg=$2 dir=$3
  mkdir -p "$dir"
  "$signzone" --origin "$origin" --in "$work/tiny.zone" --out "$dir/tiny.signed" --keys "$dir/keys" \
    --algorithm "$alg" --denial nsec >/dev/null 2>"$dir/keygen.err" || { r_err="key generation: $(cat "$dir/keygen.err")"; return 1; }
  check_idle "$cur"
  timed "$dir" "$signzone" --origin "$origin" --in "$zone" --out "$dir/signed.zone" --keys "$dir/keys" \
    --algorithm "$alg" --denial nsec --threads "$threads" || return 1
  local line
  line=$(grep -m1 'signed in' "$dir/stderr" || true)
  echo "   satellite-signzone: ${line#satellite-signzone: }"
  # "... signed in Y ms (S signatures, R/s) ..."
  r_signonly=$(sed -nE 's/.*signed in ([0-9.]+) ms.*/\1/p' <<<"$line")
  [[ -n $r_signonly ]] && r_signonly=$(calc "$r_signonly / 1000")
  sat_reported=$(sed -nE 's/.* \(([0-9]+) signatures.*/\1/p' <<<"$line")
  grep -v 'signed in' "$dir/stderr" | sed 's/^/   satellite-signzone stderr: /' >&2 || true
}

run_ldns() {
  local zone=$1 alg=$2 dir=$3 ksk zsk
  mkdir -p "$dir"
  local kalg=ED25519
  [[ $alg == 13 ]] && kalg=ECDSAP256SHA256
  if ! ksk=$(cd "$dir" && ldns-keygen -a "$kalg" -k "$origin") || ! zsk=$(cd "$dir" && ldns-keygen -a "$kalg" "$origin"); then
    r_err="ldns-keygen failed"; return 1
  fi
  check_idle "$cur"
  timed "$dir" ldns-signzone -i "$inception_ts" -e "$expiry_ts" -o "$origin" -f "$dir/signed.zone" \
    "$zone" "$dir/$ksk" "$dir/$zsk"
}

run_bind() {
  local zone=$1 alg=$2 dir=$3
  mkdir -p "$dir/keys"
  local kalg=ED25519
  [[ $alg == 13 ]] && kalg=ECDSAP256SHA256
  if ! dnssec-keygen -q -K "$dir/keys" -a "$kalg" -f KSK "$origin" >/dev/null 2>"$dir/keygen.err" \
    || ! dnssec-keygen -q -K "$dir/keys" -a "$kalg" "$origin" >/dev/null 2>>"$dir/keygen.err"; then
    r_err="dnssec-keygen failed: $(cat "$dir/keygen.err")"; return 1
  fi
  check_idle "$cur"
  timed "$dir" dnssec-signzone -S -K "$dir/keys" -d "$dir" -x -P -n "$threads" -O full -o "$origin" \
    -s now-3600 -e now+1209600 -f "$dir/signed.zone" "$zone"
}

run_knot() {  # also measures the re-sign (knot (resign)) on the loaded zone
  local zone=$1 alg=$2 dir=$3 run=$4
  mkdir -p "$dir/db"
  local kalg=ed25519
  [[ $alg == 13 ]] && kalg=ecdsap256sha256
  cp "$zone" "$dir/bench.test.zone"
  local port
  port=$(free_port)
  cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: $threads
log:
  - target: "$dir/knot.log"
    any: info
database:
    storage: "$dir/db"
policy:
  - id: bench
    algorithm: $kalg
    nsec3: off
    signing-threads: $threads
    rrsig-lifetime: 14d
template:
  - id: default
    storage: "$dir"
    zonefile-load: whole
    zonefile-sync: 0
    journal-content: none
    semantic-checks: off
    dnssec-signing: on
    dnssec-policy: bench
zone:
  - domain: $origin
    file: bench.test.zone
EOF
  : >"$dir/knot.log"
  check_idle "$cur"
  local t0 t1 deadline b0
  b0=$(busy_ticks)
  t0=$(now)
  knotd -c "$dir/knot.conf" >"$dir/stderr" 2>&1 </dev/null &
  knot_pid=$!
  deadline=$((SECONDS + timeout_s))
  t1=""
  while (( SECONDS < deadline )); do
    if grep -q 'zone file updated' "$dir/knot.log"; then t1=$(now); break; fi
    if ! kill -0 "$knot_pid" 2>/dev/null; then
      r_err="knotd exited: $(tail -3 "$dir/knot.log" "$dir/stderr" | tr '\n' ' ')"; knot_pid=""; return 1
    fi
    if grep -qE ' (error|critical): ' "$dir/knot.log"; then
      r_err="knotd: $(grep -m3 -E ' (error|critical): ' "$dir/knot.log" | tr '\n' ' ')"; stop_knot; return 1
    fi
    sleep 0.02
  done
  if [[ -z $t1 ]]; then r_err="TIMEOUT after ${timeout_s} s (no 'zone file updated' in the log)"; stop_knot; return 1; fi
  r_wall=$(calc "$t1 - $t0")
  r_cpu=$(calc "$(cpu_ticks "$knot_pid") / $clk_tck")
  check_others "$b0" "$r_cpu" "$r_wall"
  grep -q 'DNSSEC, successfully signed' "$dir/knot.log" || echo "   WARNING: knot: no 'DNSSEC, successfully signed' in its log" >&2
  cp "$dir/bench.test.zone" "$dir/signed.zone"
  # knot (resign): knotc -b waits until the zone-sign event has finished
  local c0 c1 rc=0
  sleep 1
  c0=$(cpu_ticks "$knot_pid")
  b0=$(busy_ticks)
  t0=$(now)
  timeout -k 5 "$timeout_s" knotc -c "$dir/knot.conf" -b -t "$timeout_s" zone-sign "$origin" >"$dir/resign.out" 2>&1 || rc=$?
  t1=$(now)
  c1=$(cpu_ticks "$knot_pid")
  if (( rc == 0 )) && grep -q '^OK' "$dir/resign.out"; then
    resign_wall[$run]=$(calc "$t1 - $t0")
    resign_cpu[$run]=$(calc "($c1 - $c0) / $clk_tck")
    cur="knot (resign) ${cur#knot }"
    check_others "$b0" "${resign_cpu[$run]}" "${resign_wall[$run]}"
  else
    echo "   WARNING: knotc zone-sign failed (status $rc): $(tr '\n' ' ' <"$dir/resign.out")" >&2
  fi
  stop_knot
}

# ---- measurements -----------------------------------------------------------
declare -A res_wall res_cpu res_sigs res_signonly res_err
order=()
sat_reported=""
for alg in "${alg_list[@]}"; do
  echo "== openssl speed -seconds $ossl_seconds, $(alg_label "$alg"): 1 core and -multi $ncpu"
  cur="openssl speed alg $alg"
  check_idle "$cur"
  openssl_rate "$alg" 1 >"$work/openssl.rate"
  ossl1[$alg]=$(cat "$work/openssl.rate")
  openssl_rate "$alg" "$ncpu" >"$work/openssl.rate"
  osslm[$alg]=$(cat "$work/openssl.rate")
  echo "   $(fmt "${ossl1[$alg]}" 0) sign/s on one core; $(fmt "${osslm[$alg]}" 0) sign/s with -multi $ncpu"
  for z in "${zones[@]}"; do
    for s in "${wanted[@]}"; do
      key="$z/$alg/$s"
      order+=("$key")
      walls="" cpus="" signonly_list="" sigs="" err=""
      resign_wall=() resign_cpu=()
      for ((r = 1; r <= runs; r++)); do
        dir="$work/run/$z-$alg-$s-$r"
        echo "== $s: ${zone_desc[$z]}, $(alg_label "$alg"), NSEC, run $r"
        r_wall="" r_cpu="" r_signonly="" r_err="" sat_reported=""
        cur="$s [$z] alg $alg run $r"
        ok=1
        "run_$s" "${zone_file[$z]}" "$alg" "$dir" "$r" || ok=0
        if (( !ok )); then
          echo "   FAILED: $r_err" >&2
          err=$r_err
          [[ -f $dir/stderr ]] && tail -5 "$dir/stderr" | sed 's/^/   stderr: /' >&2
          break
        fi
        n=$(rrsig_count "$dir/signed.zone")
        printf '   wall %.2f s, CPU %.2f s, %d RRSIGs in the output' "$r_wall" "$r_cpu" "$n"
        [[ -n $r_signonly ]] && printf ', sign-only %.2f s' "$r_signonly"
        [[ -n ${resign_wall[$r]:-} ]] && printf '; knotc zone-sign %.2f s (CPU %.2f s)' "${resign_wall[$r]}" "${resign_cpu[$r]}"
        echo
        if [[ $s == satellite && -n $sat_reported && $sat_reported != "$n" ]]; then
          echo "   NOTE: satellite-signzone reported $sat_reported signatures made; the output holds $n RRSIGs" >&2
        fi
        (( n > 0 )) || { echo "   WARNING: no RRSIG in $s's output" >&2; err="no RRSIG in the output"; }
        if (( verify )); then
          if vout=$(timeout -k 5 "$timeout_s" ldns-verify-zone "$dir/signed.zone" 2>&1); then
            echo "   ldns-verify-zone: $(tail -1 <<<"$vout")"
          else
            echo "   WARNING: ldns-verify-zone failed on $s's output: $(tail -3 <<<"$vout" | tr '\n' ' ')" >&2
            err="ldns-verify-zone failed"
          fi
        fi
        walls+=" $r_wall" cpus+=" $r_cpu" sigs=$n
        [[ -n $r_signonly ]] && signonly_list+=" $r_signonly"
        (( keep )) || rm -f "$dir/signed.zone" "$dir/bench.test.zone" "$dir/tiny.signed"
      done
      res_err[$key]=$err
      if [[ -n $walls ]]; then
        res_wall[$key]=$(echo "$walls" | median)
        res_cpu[$key]=$(echo "$cpus" | median)
        res_sigs[$key]=$sigs
        [[ -n $signonly_list ]] && res_signonly[$key]=$(echo "$signonly_list" | median)
      fi
      if [[ $s == knot && ${#resign_wall[@]} -gt 0 ]]; then
        k2="$z/$alg/knot-resign"
        order+=("$k2")
        res_wall[$k2]=$(echo "${resign_wall[*]}" | median)
        res_cpu[$k2]=$(echo "${resign_cpu[*]}" | median)
        res_sigs[$k2]=$sigs
        res_signonly[$k2]=${res_wall[$k2]}
        res_err[$k2]=""
      fi
    done
  done
done

# ---- results ----------------------------------------------------------------
label() { case "$1" in satellite) echo satellite ;; ldns) echo "ldns-signzone" ;; bind) echo "dnssec-signzone" ;;
  knot) echo "knot (load)" ;; knot-resign) echo "knot (resign)" ;; *) echo "$1" ;; esac; }
sthreads() { case "$1" in ldns) echo 1 ;; *) echo "$threads" ;; esac; }

echo
echo "Results: NSEC, zone file -> signed zone file, $ncpu CPUs, --threads $threads, median of $runs run(s)"
echo "  zones: [names] ${zone_desc[names]:-skipped}; [records] ${zone_desc[records]:-skipped}"
echo "  knot (load) = knotd start -> signed zone file written (parse+keys+sign+write; used in the ratios);"
echo "  knot (resign) = knotc -b zone-sign on the loaded zone (sign only); sign-only s = the signer's own sign phase"
printf '%-8s %-5s %-16s %3s %9s %9s %11s %9s %11s %11s %11s\n' zone alg signer thr "wall s" "CPU s" "sign-only s" \
  RRSIGs "sig/s wall" "sig/CPU-s" "sig/s sign"
for key in "${order[@]}"; do
  IFS=/ read -r z alg s <<<"$key"
  if [[ -n ${res_err[$key]:-} && -z ${res_wall[$key]:-} ]]; then
    printf '%-8s %-5s %-16s %3s  %s\n' "$z" "$alg" "$(label "$s")" "$(sthreads "$s")" "FAILED: ${res_err[$key]}"
    continue
  fi
  w=${res_wall[$key]} c=${res_cpu[$key]} n=${res_sigs[$key]} so=${res_signonly[$key]:-}
  printf '%-8s %-5s %-16s %3s %9.2f %9.2f %11s %9d %11.0f %11.0f %11s%s\n' "$z" "$alg" "$(label "$s")" "$(sthreads "$s")" \
    "$w" "$c" "$([[ -n $so ]] && fmt "$so" || echo -)" "$n" "$(calc "$n / $w")" \
    "$(calc "if ($c > 0) $n / $c else 0")" "$([[ -n $so ]] && fmt "$(calc "$n / $so")" 0 || echo -)" \
    "$([[ -n ${res_err[$key]:-} ]] && echo "  (${res_err[$key]})")"
done
echo
echo "openssl speed -seconds $ossl_seconds (sign/s):"
for alg in "${alg_list[@]}"; do
  printf '  %-18s 1 core %9.0f   x %d cores %9.0f   -multi %d %9.0f\n' "$(alg_label "$alg")" "${ossl1[$alg]}" \
    "$ncpu" "$(calc "${ossl1[$alg]} * $ncpu")" "$ncpu" "${osslm[$alg]}"
done
echo
echo "Ratios (Satellite wall time / peer wall time; < 1 means Satellite is faster):"
for z in "${zones[@]}"; do
  for alg in "${alg_list[@]}"; do
    sk="$z/$alg/satellite"
    [[ -n ${res_wall[$sk]:-} ]] || { echo "  [$z] alg $alg: no Satellite result"; continue; }
    line="  [$z] alg $alg:"
    for s in ldns bind knot; do
      pk="$z/$alg/$s"
      [[ -n ${res_wall[$pk]:-} ]] && line+=" /$(label "$s") $(fmt "$(calc "${res_wall[$sk]} / ${res_wall[$pk]}")")"
    done
    rk="$z/$alg/knot-resign"
    if [[ -n ${res_wall[$rk]:-} && -n ${res_signonly[$sk]:-} ]]; then
      line+="; sign-only / knot (resign) $(fmt "$(calc "${res_signonly[$sk]} / ${res_wall[$rk]}")")"
    fi
    echo "$line"
  done
done
echo
echo "Satellite against the limit (signatures/s in its sign phase / openssl sign/s; goal >= 0.90 x 1-core rate x cores):"
for z in "${zones[@]}"; do
  for alg in "${alg_list[@]}"; do
    sk="$z/$alg/satellite"
    [[ -n ${res_signonly[$sk]:-} ]] || continue
    rate=$(calc "${res_sigs[$sk]} / ${res_signonly[$sk]}")
    wrate=$(calc "${res_sigs[$sk]} / ${res_wall[$sk]}")
    lim=$(calc "${ossl1[$alg]} * $ncpu")
    printf '  [%s] alg %s: %.0f sig/s  / (1 core x %d = %.0f) = %.2f   / -multi %d (%.0f) = %.2f   [whole job %.0f sig/s = %.2f]\n' \
      "$z" "$alg" "$rate" "$ncpu" "$lim" "$(calc "if ($lim > 0) $rate / $lim else 0")" "$ncpu" "${osslm[$alg]}" \
      "$(calc "if (${osslm[$alg]} > 0) $rate / ${osslm[$alg]} else 0")" "$wrate" "$(calc "if ($lim > 0) $wrate / $lim else 0")"
  done
done
echo "Goals (shared/BENCHMARKS.md): Satellite faster than ldns-signzone, dnssec-signzone and Knot; >= 0.90 x openssl x cores."
if (( ${#busy_warnings[@]} > 0 )); then
  echo
  echo "WARNING: the machine was not idle before some measurements (figures not comparable):"
  printf '  %s\n' "${busy_warnings[@]}"
fi
