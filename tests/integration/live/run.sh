#!/usr/bin/env bash
# Live signing end to end (DESIGN.md §3 "live"): unsigned zones from a Knot
# primary (AXFR, then IXFR from its journal), signed by satellited with every
# algorithm (8 10 13 14 15) and denial (NSEC, NSEC3, compact) it offers,
# judged by ldns-verify-zone (on the zones satellited dumps through
# SATELLITE_DUMP_DIR), a validating unbound, delv, dnssec-dsfromkey and
# direct DO=1 checks; IXFR re-signing counts, signature refresh with a 60 s
# validity, and the key files (modes, restart, damaged files). See
# live_test.py for the full list.
#
#   tests/integration/live/run.sh --satellited PATH [--keep] [--verbose]
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a needed binary
# is missing (ctest SKIP). Last line: `N passed, M failed` (checks).
# Needs /usr/bin/python3 with dnspython and cryptography, knot, unbound,
# bind9 (delv, dnssec-dsfromkey), ldnsutils. Everything listens on
# 127.0.0.1, ports picked at run time; every daemon it starts is stopped on
# exit (and on SIGTERM/SIGINT); the work directory is removed unless --keep.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec, cryptography' 2>/dev/null; then
  echo "error: $py with dnspython and cryptography is needed (apt-get install python3-dnspython python3-cryptography)" >&2
  exit 2
fi
# The driver stops its own daemons on exit and on SIGTERM; `timeout` is the
# last guard should the harness itself hang (a run takes about 3 minutes).
exec timeout --signal=TERM --kill-after=15 600 "$py" "$here/live_test.py" "$@"
