#!/usr/bin/env bash
# Differential test of Satellite against a reference DNS server.
#
# Starts the reference (NSD 4.6 by default; --ref knot|bind) and the server
# under test (build/bin/satellited by default) on loopback ports picked at run
# time, both serving tests/integration/zones/{example.test,other.test,
# sub.example.test}.zone, sends them the same ~2,600 seeded queries and
# compares rcode, flags, sections (as RRset sets, RRSIGs included) and OPT.
# Then the same for signed copies made at run time (ldns-signzone, ECDSA
# P-256, 30-day signatures; nsec.test. with NSEC, nsec3.test. with NSEC3,
# each with a signed child zone): ~5,400 more queries, DO=1 and DO=0.
# Differences listed in expected_differences.txt (with their RFC reason) are
# allowed.
#
#   tests/integration/differential/run.sh                     # NSD vs satellited
#   tests/integration/differential/run.sh --satellited PATH   # another binary
#   tests/integration/differential/run.sh --ref knot          # Knot as reference
#   tests/integration/differential/run.sh --ref nsd --sut knot --expected ''   # two peers
#   tests/integration/differential/run.sh --sut cmd --sut-cmd 'valgrind -q build/bin/satellited --config {config}'
#   tests/integration/differential/run.sh --no-signed         # unsigned zones only
#   ... --verbose (show expected differences too), --report FILE (JSON lines),
#       --only CAT, --seed N, --list-queries, --keep (keep configs, signed zones, logs)
#
# Exit status: 0 pass, 1 unexplained differences, 2 harness error, 77 a needed
# binary is missing (ctest SKIP). Last line: `N passed, M failed` (queries).
# Needs /usr/bin/python3 with dnspython (python3-dnspython), nsd/knotd/named,
# ldns-keygen and ldns-signzone (ldnsutils) unless --no-signed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]]; then
  echo "error: $py not found (apt-get install python3 python3-dnspython)" >&2
  exit 2
fi
if ! $py -c 'import dns.message' 2>/dev/null; then
  echo "error: dnspython missing for $py (apt-get install python3-dnspython)" >&2
  exit 2
fi
# The script owns its servers: it starts them, stops them on exit, SIGINT or
# SIGTERM, and bounds every wait (server start 10 s, overall --max-time 480 s).
# `timeout` is a last-resort guard in case the harness itself hangs.
exec timeout --signal=TERM --kill-after=10 570 "$py" "$here/differential.py" "$@"
