#!/usr/bin/env bash
# The parent's DS seen from both sides (issue 18): `satellitectl dnssec
# confirm-ds --from-parent` against two Knot parents, and the status page's
# per-server "serves our DS" from the daemon's own DS check. See parentds_test.py.
#
#   tests/integration/parentds/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a tool missing
# (ctest SKIP). Loopback only, ports picked at run time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 120 "$py" "$here/parentds_test.py" "$@"
