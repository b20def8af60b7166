#!/usr/bin/env bash
# keepalived (Debian 2.2.7): tests/integration/test_adverts_netns.py runs a real keepalived with
# the pair's virtual ID as its VRID (a virtual-ID conflict), and bench/failover.py --keepalived
# measures it beside hapair. Installs it only when it is missing.
set -euo pipefail
packages=(keepalived)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
