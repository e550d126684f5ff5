#!/usr/bin/env bash
# cmake --install into a temporary prefix, then the installed satellited on
# the installed config (see install_test.py): files, unit (systemd-analyze),
# man pages (groff), signed answers, satellitectl.
#
#   tests/integration/install/run.sh --satellited build/bin/satellited [--keep]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 skipped
# (cmake missing). Everything on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: $py with dnspython is needed (apt-get install python3-dnspython)" >&2
  exit 2
fi
exec timeout --signal=TERM --kill-after=15 60 "$py" "$here/install_test.py" "$@"
