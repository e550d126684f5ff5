#!/usr/bin/env bash
# Public-facing hardening (issue 17): TCP slow-client and runt-frame attacks,
# a hostile primary past max_zone_bytes, API token reload, NOTIFY refusals.
# See hardening_test.py.
#
#   tests/integration/hardening/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a tool missing
# (ctest SKIP). Needs /usr/bin/python3 with dnspython. Loopback only
# (127.0.0.1 to 127.0.0.9), ports picked at run time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 200 "$py" "$here/hardening_test.py" "$@"
