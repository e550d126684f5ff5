#!/usr/bin/env bash
# IXFR benchmark (issue 14): NOTIFY -> served for one-record changes and a
# burst, Satellite, Knot and NSD as secondaries of one Knot primary in the
# same run. See tools/bench/ixfr.py --help.
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/ixfr.py" "$@"
