"""``/docs`` and ``/`` in headless Chromium (Debian's ``chromium``, installed by .ci/run).

Chromium runs with every host name resolving to nothing except our loopback addresses
(``--host-resolver-rules``) and writes a NetLog of everything its network stack did. The test
asserts that each request of the page went to the unit's own origin and that no TCP connection
(and no UDP datagram) went anywhere but loopback, so a CDN script, a web font or a remote
favicon would fail the test rather than load. Rendering is waited for with
``--virtual-time-budget`` (virtual time does not advance while requests are pending), and the
DOM after scripts ran is read with ``--dump-dom``. Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
# The status page has no script and reloads itself every few seconds: a budget shorter than
# the refresh interval lets Chromium finish after the first load.
STATUS_BUDGET_MS = 1500


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail(
            "chromium is not installed (apt-get install -y chromium; see .ci/browser-deps.sh)"
        )
    return exe


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Visit:
    """One page load: the DOM after scripts ran and the NetLog of the whole browser."""

    def __init__(self, url: str, tmp: Path, screenshot: Path, budget_ms: int = 20000) -> None:
        self.url = url
        netlog = tmp / "netlog.json"
        host = urlsplit(url).hostname
        cmd = [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={tmp / 'profile'}",
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}",
            f"--log-net-log={netlog}",
            "--window-size=1280,1800",
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={screenshot}",
            "--dump-dom",
            url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
        assert proc.returncode == 0, proc.stderr[-4000:]
        self.dom = proc.stdout
        assert screenshot.exists(), proc.stderr[-2000:]
        assert screenshot.stat().st_size > 0
        self.log: dict[str, Any] = json.loads(netlog.read_text())
        self._types = {v: k for k, v in self.log["constants"]["logEventTypes"].items()}

    def events(self, *names: str) -> list[dict[str, Any]]:
        return [e.get("params", {}) for e in self.log["events"] if self._types[e["type"]] in names]

    def page_requests(self) -> list[str]:
        """URLs the page asked for (requests made for our site, not the browser's own)."""
        site = f"http://{urlsplit(self.url).hostname}"
        return [
            p["url"]
            for p in self.events("URL_REQUEST_START_JOB")
            if "url" in p and p.get("network_isolation_key", "").startswith(site)
        ]

    def assert_nothing_left_loopback(self) -> None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.url))
        requests = self.page_requests()
        assert requests, "the NetLog shows no request of the page"
        foreign = [u for u in requests if not u.startswith(origin + "/")]
        assert not foreign, f"the page requested other origins: {foreign}"
        # Whatever asked for it (page or browser), no connection went beyond loopback.
        remote = [
            p.get("address") or p.get("remote_address")
            for p in self.events("TCP_CONNECT_ATTEMPT", "TCP_CONNECT", "UDP_BYTES_SENT")
            if p.get("address") or p.get("remote_address")
        ]
        assert remote, "the NetLog shows no connection at all"
        outside = [a for a in remote if not _loopback(a.rsplit(":", 1)[0])]
        assert not outside, f"connections left loopback: {outside}"


def test_docs_render_offline_in_chromium(make_unit: Any, tmp_path: Path) -> None:
    unit = make_unit("docs", ha=False, token=None, no_auth=True)
    html = httpx.get(f"{unit.direct}/docs", timeout=5).text
    # Every URL in the page is same-origin and relative: no CDN, no remote favicon.
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    assert all(u.startswith("/docs/static/") for u in urls), urls
    assert "http" not in html
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(f"{unit.direct}/docs", tmp_path, ARTIFACTS / "docs.png")
    # Rendered by Swagger UI's script from /openapi.json: our operations and their ids.
    assert 'opblock-summary-operation-id">get_parameters<' in visit.dom
    assert 'opblock-summary-operation-id">patch_parameters<' in visit.dom
    assert "/api/v1/ha/parameters/history/{revision}" in visit.dom
    assert "OAS 3.1" in visit.dom
    requested = visit.page_requests()
    assert any(u.endswith("/openapi.json") for u in requested), requested
    assert any(u.endswith("/docs/static/swagger-ui-bundle.js") for u in requested), requested
    visit.assert_nothing_left_loopback()


def test_status_page_of_non_ha_unit_says_ha_is_disabled(make_unit: Any, tmp_path: Path) -> None:
    unit = make_unit("standalone", ha=False, token=None, no_auth=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(f"{unit.direct}/", tmp_path, ARTIFACTS / "status-non-ha.png", STATUS_BUDGET_MS)
    assert "HA is disabled" in visit.dom
    assert 'class="sq"' not in visit.dom
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', visit.dom)
    visit.assert_nothing_left_loopback()


def test_status_page_of_ha_unit_shows_squares_linking_to_units(
    make_unit: Any, tmp_path: Path
) -> None:
    unit = make_unit("ha")  # HA unit alone: active, its partner unreachable
    r = httpx.get(f"{unit.direct}/", timeout=5)
    assert r.status_code == 200  # no token needed
    assert r.headers["content-type"].startswith("text/html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(f"{unit.direct}/", tmp_path, ARTIFACTS / "status-ha.png", STATUS_BUDGET_MS)
    squares = re.findall(
        r'<a class="unit icon-([a-z-]+)" data-unit="(\w+)" data-icon="[a-z-]+" href="([^"]+)">'
        r'<div class="sq" style="background:(#[0-9a-f]{6})"[^>]*>(A?)</div>',
        visit.dom,
    )
    partner = httpx.get(
        f"{unit.direct}/api/v1/unit",
        headers={"Authorization": f"Bearer {unit.token}"},
        timeout=5,
    ).json()["partner_address"]
    assert squares == [
        ("green-active", "first", f"{unit.direct}/", "#2e9e44", "A"),
        ("red", "second", f"http://{partner}/", "#d2322d", ""),
    ], visit.dom
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', visit.dom)
    visit.assert_nothing_left_loopback()
