#!/usr/bin/env bash
# Zone transfers against real primaries (Knot, BIND) and a scripted bad
# primary: AXFR/IXFR with TSIG, NOTIFY, IXFR->AXFR fallback, broken streams,
# restart from state_dir, damaged state, SOA expiry. See xfr_test.py.
#
#   tests/integration/xfr/run.sh --satellited build/bin/satellited
#   ... --only 1,6   (scenario numbers)   --keep   (keep configs and logs)
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 knotd/named
# missing (ctest SKIP). Last line: `N passed, M failed` (checks).
# Needs /usr/bin/python3 with dnspython (python3-dnspython), knot, bind9,
# bind9-dnsutils (nsupdate). Everything runs on 127.0.0.1/127.0.0.2, ports
# picked at run time; every daemon it starts is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.tsig' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
# The script stops its own daemons on exit and on SIGTERM; `timeout` is the
# last guard if the harness itself hangs (the whole run takes ~2 minutes).
exec timeout --signal=TERM --kill-after=15 480 "$py" "$here/xfr_test.py" "$@"
