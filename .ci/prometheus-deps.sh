#!/usr/bin/env bash
# promtool for the alert rules' tests (tests/unit/test_prometheus_rules.py and
# tests/integration/test_metrics_alerts.py): Debian's prometheus package, unpacked, not
# installed (its daemon is not wanted; promtool needs nothing else). /usr/local/bin/promtool.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    dir=/opt/hapair-ci/prometheus
    mkdir -p "$dir"
    tmp=$(mktemp -d)
    apt-get update
    (cd "$tmp" && apt-get download prometheus)
    dpkg -x "$tmp"/prometheus_*.deb "$dir"
    rm -rf "$tmp"
    ln -sf "$dir/usr/bin/promtool" /usr/local/bin/promtool
fi
promtool --version | head -1
