#!/usr/bin/env bash
# System packages for tests/integration/test_browser.py: Debian's chromium (headless).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends chromium
fi
