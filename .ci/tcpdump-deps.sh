#!/usr/bin/env bash
# System package for the replication-tunnel test (tests/integration/test_redis_tunnel.py):
# Debian's tcpdump captures the loopback traffic between the two units of a pair.
set -euo pipefail
if ! command -v tcpdump >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends tcpdump
fi
