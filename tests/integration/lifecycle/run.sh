#!/usr/bin/env bash
# The DNSSEC lifecycle of a live zone end to end (DESIGN.md §4-§5, seed 003):
# the REST API over a real socket, a full life (enable, ZSK roll, KSK roll,
# disable) judged by a validating unbound below a signed Knot parent while a
# query loop runs, restarts in the middle of each rollover, systemd notify
# (READY/RELOADING/STOPPING), SIGHUP reloads under query load, and
# parent_ds_check (satellited watching the parent's DS itself: a whole life
# without confirm-ds-* calls, then a parent that is down or fails). See
# lifecycle_test.py for the full list.
#
#   tests/integration/lifecycle/run.sh --satellited PATH [--keep] [--verbose]
#
# Exit status: 0 pass, 1 a check failed (or the harness broke), 77 a needed
# binary is missing (ctest SKIP). Last line: `N passed, M failed` (checks).
# Needs /usr/bin/python3 with dnspython and cryptography, knot (knotd,
# knotc), unbound; satellitectl next to satellited is used when present.
# Everything listens on 127.0.0.1, ports picked at run time; every daemon it
# starts is stopped on exit (and on SIGTERM/SIGINT); the work directory is
# removed unless --keep. A run takes about 3.5 minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec, cryptography' 2>/dev/null; then
  echo "SKIP: $py with dnspython and cryptography is needed (apt-get install python3-dnspython python3-cryptography)" >&2
  echo "0 passed, 0 failed"
  exit 77
fi
# The driver stops its own daemons on exit and on SIGTERM; `timeout` is the
# last guard should the harness itself hang.
exec timeout --signal=TERM --kill-after=15 840 "$py" "$here/lifecycle_test.py" "$@"
