#!/usr/bin/env bash
# Installs the Debian 12 packages Satellite builds with and tests against.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(
  # build
  build-essential cmake ninja-build pkg-config clang
  libboost1.81-dev libboost-json1.81-dev libldns-dev libssl-dev libspdlog-dev
  libtomlplusplus-dev libgtest-dev libgmock-dev libsystemd-dev
  # test peers and judges
  nsd knot knot-dnsutils bind9 bind9-dnsutils ldnsutils unbound dnsperf
  python3 python3-dnspython bc
  chromium                    # the status page test renders the pages headless
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The packaged daemons must not hold port 53 or run as services in tests.
for svc in nsd knot named bind9 unbound; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
echo "deps: ok"
