#!/usr/bin/env bash
# Multi-signer DNSSEC, RFC 8901 model 2, end to end (DESIGN.md §3
# "multi-signer", §4, §5 peer-keys): two satellited instances ("providers"
# A on 127.0.0.21 and B on 127.0.0.22) sign the same unsigned zone from one
# Knot primary with their own keys, exchange their keys through the REST API
# and are judged by validating unbounds (one per provider and one stubbing to
# both), dnspython checks that mix one provider's DNSKEY RRset with the other
# provider's answers, and ldns-verify-zone on the dumped zones; a ZSK roll on
# A gated on B publishing the new key, refused peer keys, a restart, and peer
# keys taken from the primary's zone. See multisigner_test.py for the list.
#
#   tests/integration/multisigner/run.sh --satellited PATH [--keep] [--verbose]
#
# Exit status: 0 pass, 1 a check failed (or the harness broke), 77 a needed
# binary is missing (ctest SKIP). Last line: `N checks, M failed`.
# Needs /usr/bin/python3 with dnspython and cryptography (Debian:
# python3-dnspython, python3-cryptography), knot (knotd, knotc), unbound,
# ldnsutils (ldns-verify-zone). Everything listens on loopback addresses
# (127.0.0.1, .21, .22), ports picked at run time; every daemon it starts is
# stopped on exit (and on SIGTERM/SIGINT); the work directory is removed
# unless --keep. A run takes about a minute.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import dns.message, dns.dnssec, cryptography' 2>/dev/null; then
  echo "SKIP: $py with dnspython and cryptography is needed (apt-get install python3-dnspython python3-cryptography)" >&2
  echo "0 checks, 0 failed"
  exit 77
fi
# The driver stops its own daemons on exit and on SIGTERM; `timeout` is the
# last guard should the harness itself hang.
exec timeout --signal=TERM --kill-after=15 600 "$py" "$here/multisigner_test.py" "$@"
