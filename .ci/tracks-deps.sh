#!/usr/bin/env bash
# System packages for the tracks (tests/integration/test_tracks_netns.py): HAProxy behind the
# virtual IP, iputils' ping (the `ping` track runs `ping -c1 -W`) and nftables (a partition
# that drops the standby's traffic to the gateway and the active). Installs only what misses.
set -euo pipefail
packages=(haproxy iputils-ping nftables)
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
