#!/usr/bin/env bash
# The example config out of the box (see example_test.py): etc/satellite.toml
# copied to a temporary directory with free ports, started as README's first
# command starts it; then dig-like queries, satellitectl and /readyz.
#
#   tests/integration/example/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error. Last line:
# `N passed, M failed`. Needs /usr/bin/python3 with dnspython. Everything
# runs on 127.0.0.1, ports picked at run time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 120 "$py" "$here/example_test.py" "$@"
