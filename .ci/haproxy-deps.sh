#!/usr/bin/env bash
# System package for the L7 persistence test (tests/integration/test_haproxy_peers.py): Debian's
# haproxy 2.6 (master-worker mode, master CLI, peers). The package's own service is not wanted:
# the test starts its HAProxy processes itself.
set -euo pipefail
if ! command -v haproxy >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends haproxy
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now haproxy >/dev/null 2>&1 || true
    fi
fi
