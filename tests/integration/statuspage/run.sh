#!/usr/bin/env bash
# The status page in a real browser (see statuspage_test.py): satellited with
# a live-signed zone, headless Chromium logging in through the form and
# rendering GET / and GET /zones/example.test; screenshots are kept in
# <build>/test-artifacts/.
#
#   tests/integration/statuspage/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 skipped
# (chromium missing; a failure with CI=true). Everything on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 90 "$py" "$here/statuspage_test.py" "$@"
