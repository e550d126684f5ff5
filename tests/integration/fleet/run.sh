#!/usr/bin/env bash
# Satellite feeds a fleet (issue 16): a Knot hidden primary -> satellited
# signing live -> NSD and Knot secondaries pulling from satellited with TSIG,
# notified by satellited; unbound validates an answer fetched from a replica;
# a change on the primary reaches the replicas signed; the provide_xfr
# refusals; a client that never reads is dropped. See fleet_test.py.
#
#   tests/integration/fleet/run.sh --satellited PATH [--keep] [--verbose]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a needed binary
# is missing (ctest SKIP). Last line: `N passed, M failed` (checks).
# Needs /usr/bin/python3 with dnspython, knot, nsd, unbound. Everything
# listens on 127.0.0.1 (one check connects from 127.0.0.3), ports picked at
# run time; every daemon it starts is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 300 "$py" "$here/fleet_test.py" "$@"
