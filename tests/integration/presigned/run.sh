#!/usr/bin/env bash
# Pre-signed DNSSEC end to end (issue 4, DESIGN.md §3): zones signed at run
# time with dnssec-signzone (NSEC, NSEC3, NSEC3 opt-out) under a signed parent
# `test.`, pulled by AXFR from a Knot primary that does not re-sign, served by
# the authority under test, judged by a validating unbound (trust anchor = the
# parent's DS), by delv, and by direct DO=1/DO=0 queries checked against
# RFC 4035 §3.1 and RFC 5155 §7.2. See presigned_test.py for the full list.
#
#   tests/integration/presigned/run.sh                          # satellited
#   tests/integration/presigned/run.sh --satellited PATH
#   tests/integration/presigned/run.sh --authority nsd          # the reference
#   ... --keep (keep the work directory), --verbose (print every response)
#
# Exit status: 0 pass, 1 a check failed, 2 harness error, 77 a needed binary
# is missing (ctest SKIP). Last line: `N passed, M failed` (checks).
# Needs /usr/bin/python3 with dnspython (python3-dnspython) and cryptography,
# knot, nsd, unbound, bind9 (dnssec-keygen, dnssec-signzone, delv),
# ldnsutils. Everything listens on 127.0.0.1, ports picked at run time; every
# daemon it starts is stopped on exit (and on SIGTERM/SIGINT).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec, cryptography' 2>/dev/null; then
  echo "error: $py with dnspython and cryptography is needed (apt-get install python3-dnspython python3-cryptography)" >&2
  exit 2
fi
# The driver stops its own daemons on exit and on SIGTERM; `timeout` is the
# last guard should the harness itself hang (a run takes well under 2 minutes).
exec timeout --signal=TERM --kill-after=15 300 "$py" "$here/presigned_test.py" "$@"
