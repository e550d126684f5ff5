#!/usr/bin/env bash
# Presigned DNSSEC with real judges: zones signed by ldns-signzone (NSEC,
# NSEC3, NSEC3 opt-out) are served by satellited from files; delv (BIND's
# validator) with the zone's KSK as trust anchor must fully validate every
# kind of answer. Then the pre-flight: a broken DNSKEY signature, a broken
# data signature (presigned_verify = "full") and expired signatures are
# refused, and NSEC3 is refused without allow_nsec3.
#   tests/integration/dnssec/run.sh --satellited PATH
# Exit 0 pass, 1 fail, 77 a tool is missing. Last line: "N passed, M failed".
set -uo pipefail
satellited=""
while [ $# -gt 0 ]; do
  case "$1" in
    --satellited) satellited="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$satellited" ] || satellited="$(cd "$(dirname "$0")/../../.." && pwd)/build/bin/satellited"
for b in ldns-keygen ldns-signzone delv dig "$satellited"; do
  command -v "$b" >/dev/null || { echo "missing $b" >&2; exit 77; }
done
work=$(mktemp -d /tmp/satellite-dnssec.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM
cd "$work"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
passed=0; failed=0
check() {  # description, condition result (0 ok)
  if [ "$2" -eq 0 ]; then passed=$((passed+1)); echo "PASS $1"; else failed=$((failed+1)); echo "FAIL $1${3:+: $3}"; fi
}

cat > signed.test.zone <<'EOF'
$ORIGIN signed.test.
$TTL 300
@ SOA ns1 host 1 3600 600 86400 60
  NS ns1
  MX 10 mail
ns1 A 127.0.0.1
mail A 192.0.2.25
www A 192.0.2.1
*.wild TXT "wild"
a.b.c TXT "deep"
alias CNAME www
insecure NS ns.insecure
ns.insecure A 192.0.2.53
secure NS ns.secure
ns.secure A 192.0.2.54
secure DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
EOF
expiry=$(date -u -d "+30 days" +%Y%m%d%H%M%S)
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k signed.test)
zsk=$(ldns-keygen -a ECDSAP256SHA256 signed.test)
ldns-signzone -e "$expiry" -f nsec.zone signed.test.zone "$ksk" "$zsk"
ldns-signzone -n -e "$expiry" -f nsec3.zone signed.test.zone "$ksk" "$zsk"
ldns-signzone -n -p -e "$expiry" -f optout.zone signed.test.zone "$ksk" "$zsk"
ldns-signzone -e 20200101000000 -i 20190101000000 -f expired.zone signed.test.zone "$ksk" "$zsk"
awk '$0 !~ /^;/ && $4==257 {printf "trust-anchors { signed.test. static-key %s %s %s \"%s\"; };\n", $4, $5, $6, $7}' "$ksk.key" > anchor.conf
# Flip one character of a signature: the DNSKEY's, then www's A.
corrupt() {  # file pattern out
  awk -v pat="$2" 'BEGIN{done=0} { if (!done && $0 ~ pat) { s=$NF; c=(substr(s,6,1)=="A")?"B":"A"; $NF=substr(s,1,5) c substr(s,7); done=1 } print }' "$1" > "$3"
}
corrupt nsec.zone 'RRSIG[[:space:]]+DNSKEY' bad-dnskey.zone
corrupt nsec.zone '^www\.signed\.test\..*RRSIG[[:space:]]+A ' bad-www.zone

start() {  # zone-file extra-config-lines
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  cat > sat.toml <<EOF
[server]
listen = ["127.0.0.1:$port"]
threads = 1
state_dir = "$work/state"
[[zone]]
name = "signed.test."
file = "$work/$1"
$2
EOF
  "$satellited" --config sat.toml > "sat-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    dig +time=1 +tries=1 @127.0.0.1 -p "$port" signed.test SOA +norec >/dev/null 2>&1 && return 0
    sleep 0.1
  done
}
validate() {  # name type expect(positive|negative)
  local out
  out=$(delv -a anchor.conf +root=signed.test @127.0.0.1 -p "$port" "$1" "$2" 2>&1)
  case "$3" in
    positive) grep -q '^; fully validated' <<<"$out" ;;
    negative) grep -q '^; negative response, fully validated' <<<"$out" ;;
  esac
}

for z in nsec nsec3 optout; do
  extra=""; [ "$z" != nsec ] && extra="allow_nsec3 = true"
  start "$z.zone" "$extra"
  validate www.signed.test A positive; check "$z: existing name validates" $?
  validate nx.signed.test A negative; check "$z: NXDOMAIN validates" $?
  validate a.nx.signed.test A negative; check "$z: NXDOMAIN below a missing name validates" $?
  validate www.signed.test TXT negative; check "$z: NODATA validates" $?
  validate b.c.signed.test TXT negative; check "$z: NODATA at an empty non-terminal validates" $?
  validate alias.signed.test A positive; check "$z: CNAME validates" $?
  validate x.wild.signed.test A negative; check "$z: wildcard NODATA validates" $?
  validate signed.test DNSKEY positive; check "$z: DNSKEY validates" $?
  validate secure.signed.test DS positive; check "$z: DS at a secure delegation validates" $?
  validate insecure.signed.test DS negative; check "$z: no DS at an insecure delegation validates" $?
  if [ "$z" != optout ]; then  # opt-out makes wildcard answers insecure (RFC 5155 §7.2.6 + opt-out)
    validate x.wild.signed.test TXT positive; check "$z: wildcard answer validates" $?
  fi
  # (One retry, and the full answer on failure: this check flaked once in
  # CI in a way we could not reproduce; the output will say why next time.)
  r=$(dig +dnssec +norec @127.0.0.1 -p "$port" www.signed.test A)
  grep -q 'RRSIG' <<<"$r" || { sleep 0.2; r=$(dig +dnssec +norec @127.0.0.1 -p "$port" www.signed.test A); }
  grep -q 'RRSIG' <<<"$r"; check "$z: DO=1 answer carries its RRSIG" $? "$r"
  r=$(dig +nodnssec +norec @127.0.0.1 -p "$port" nx.signed.test A)
  ! grep -qE 'RRSIG|NSEC' <<<"$r"; check "$z: DO=0 answer carries no DNSSEC records" $?
  r=$(dig +dnssec +norec @127.0.0.1 -p "$port" www.insecure.signed.test A)
  grep -qE 'IN[[:space:]]+NSEC3?[[:space:]]' <<<"$r" && ! grep -q 'flags:.* aa' <<<"$r"
  check "$z: referral to an insecure child proves no DS" $?
done

refused() {  # zone-file extra log-pattern description
  start "$1" "$2"
  local st
  st=$(dig +norec @127.0.0.1 -p "$port" www.signed.test A | grep -o 'status: [A-Z]*')
  grep -qE "$3" "sat-$1.log" && [ "$st" = "status: SERVFAIL" ]
  check "$4" $? "$st; $(grep -m1 'zone signed' "sat-$1.log" | cut -c25-)"
}
refused nsec3.zone "" "uses NSEC3.*allow_nsec3 = true" "NSEC3 zone refused without allow_nsec3"
refused bad-dnskey.zone "" "DNSKEY RRset of signed.test. is not signed" "broken DNSKEY signature refused (keys)"
refused bad-www.zone 'presigned_verify = "full"' "RRSIG over www.signed.test. A does not verify" "broken data signature refused (full)"
refused expired.zone "" "expired at 2020-01-01" "expired signatures refused"
start bad-www.zone ""
st=$(dig +norec @127.0.0.1 -p "$port" signed.test SOA | grep -o 'status: [A-Z]*')
[ "$st" = "status: NOERROR" ]; check "a broken data signature passes the default keys check (documented)" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
