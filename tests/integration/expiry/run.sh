#!/usr/bin/env bash
# The signature-expiry guard (issue 15), see expiry_test.py: a pre-signed
# zone whose signatures run out is SERVFAIL (EDE 7) before they do and never
# sends an expired RRSIG; a freshly signed serial is served again; a version
# already inside signature_safety_margin and an NSEC3 zone with 150
# iterations are refused while the last good version keeps serving.
#
#   tests/integration/expiry/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a tool missing
# (unbound, ldns-signzone, ldns-keygen; with CI=true that is a failure).
# Last line: `N passed, M failed`. About 60 s.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.edns, dns.zone' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 180 "$py" "$here/expiry_test.py" "$@"
