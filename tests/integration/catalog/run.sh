#!/usr/bin/env bash
# Satellite as an RFC 9432 catalog consumer (issue 16): a Knot primary serves
# a catalog zone and its members; satellited serves the members the catalog
# lists (a group's template signs them live), follows additions and
# removals, refuses malformed catalogs as a whole, and serves its members
# after a restart without transferring them again. See catalog_test.py.
#
#   tests/integration/catalog/run.sh --satellited PATH [--keep] [--verbose]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a needed binary
# is missing (ctest SKIP; a failure with CI=true). ~30 s.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 120 "$py" "$here/catalog_test.py" "$@"
