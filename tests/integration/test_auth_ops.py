"""Auth (bearer tokens, roles, ``--no-auth``) and operations (open endpoints, metrics, logs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hapair.store.embedded import free_port
from tests.integration.conftest import (
    ADMIN_TOKEN,
    DIRECT_HOST,
    PARAMS,
    PARTNER_HOST,
    MakeUnit,
    Unit,
    create_token,
    log_events,
    problem,
    revision_of,
)
from tests.procfs import accepted_socket_option
from tests.support import poll

BAD_TOKENS = ["not-a-real-token-5f1d2c", "it-admin-0123456789abcdefABCDEx"]

READS = [
    ("GET", PARAMS),
    ("GET", f"{PARAMS}/history"),
    ("GET", "/api/v1/ha/conflicts"),
    ("GET", "/api/v1/ha/status"),
    ("GET", "/api/v1/unit"),
]
WRITES = [
    ("PUT", PARAMS, {}),
    ("PATCH", PARAMS, {"ha_timeout": 3}),
    ("POST", f"{PARAMS}/rollback", {"revision": 1}),
    ("POST", "/api/v1/ha/actions/force-partner-update", None),
    ("PATCH", "/api/v1/unit", {"mode": "non_ha"}),
    ("POST", "/api/v1/unit/reboot", None),
    ("POST", "/api/v1/unit/takeover", None),
]


@pytest.fixture(scope="module")
def viewer_token(ha_unit: Unit) -> str:
    return create_token(ha_unit.data_dir, "viewer")


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.parametrize(("method", "path"), READS + [(m, p) for m, p, _ in WRITES])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Token abc",
        "Basic YWRtaW46YWRtaW4=",
        *(f"Bearer {t}" for t in BAD_TOKENS),
        ADMIN_TOKEN,
    ],
)
def test_api_without_valid_token_answers_401(
    ha_unit: Unit, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    client = ha_unit.client(token=None)
    r = client.request(method, path, headers=headers, json={})
    problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


def test_admin_token_reads_and_writes(ha_unit: Unit) -> None:
    client = ha_unit.client()
    revision = revision_of(client)
    r = client.patch(PARAMS, json={"ha_timeout": 15 if revision % 2 else 12})
    assert r.status_code == 200, r.text
    assert revision_of(client) == revision + 1


@pytest.mark.parametrize(("method", "path"), READS)
def test_viewer_token_reads(ha_unit: Unit, viewer_token: str, method: str, path: str) -> None:
    r = ha_unit.client(token=viewer_token).request(method, path)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_viewer_token_write_answers_403(
    ha_unit: Unit, viewer_token: str, method: str, path: str, body: object
) -> None:
    admin = ha_unit.client()
    revision = revision_of(admin)
    unit_before = admin.get("/api/v1/unit").json()
    r = ha_unit.client(token=viewer_token).request(method, path, json=body)
    problem(r, 403, "forbidden")
    assert revision_of(admin) == revision
    assert admin.get("/api/v1/unit").json() == unit_before


def test_created_token_is_stored_hashed(ha_unit: Unit, viewer_token: str) -> None:
    ha_unit.client(token=viewer_token).get(PARAMS)
    found = []
    for path in ha_unit.data_dir.rglob("*"):
        if path.is_file() and viewer_token.encode() in path.read_bytes():
            found.append(path)
    assert found == [], f"token in plain text in {found}"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
@pytest.mark.parametrize("shared", [True, False])
def test_ops_endpoints_are_open_without_token(ha_unit: Unit, path: str, shared: bool) -> None:
    r = ha_unit.client(shared=shared, token=None).get(path)
    assert r.status_code == 200, r.text


def test_openapi_document_declares_bearer_security(ha_unit: Unit) -> None:
    doc = ha_unit.client(token=None).get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def _serve_refused(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> str:
    """Runs ``hapair serve`` expecting it to refuse to start; returns its output."""
    out = subprocess.run(
        [sys.executable, "-m", "hapair", "serve", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode != 0, out
    return out.stdout + out.stderr


def test_no_auth_with_non_loopback_listen_is_refused(tmp_path: Path) -> None:
    port = free_port("0.0.0.0")
    output = _serve_refused(["--listen", f"0.0.0.0:{port}", "--no-auth"], tmp_path)
    assert "--no-auth" in output, output
    assert "loopback" in output, output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_no_auth_from_environment_with_non_loopback_listen_is_refused(tmp_path: Path) -> None:
    port = free_port("0.0.0.0")
    output = _serve_refused(["--listen", f"0.0.0.0:{port}"], tmp_path, env={"HAPAIR_NO_AUTH": "1"})
    assert "--no-auth" in output, output


def test_no_auth_with_non_loopback_shared_address_is_refused(tmp_path: Path) -> None:
    output = _serve_refused(
        [
            "--listen",
            f"{DIRECT_HOST}:{free_port(DIRECT_HOST)}",
            "--mode",
            "first",
            "--partner",
            f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}",
            "--shared",
            "192.0.2.10:8080",
            "--pair-key",
            "k-0123456789abcdef",
            "--no-auth",
        ],
        tmp_path,
    )
    assert "--no-auth" in output, output


def test_no_auth_on_loopback_serves_api_without_token(make_unit: MakeUnit) -> None:
    unit = make_unit(token=None, no_auth=True)
    client = unit.client(token=None)
    assert client.get(PARAMS).status_code == 200
    r = client.patch(PARAMS, json={"ha_timeout": 3})
    assert r.status_code == 200, r.text
    item = client.get(f"{PARAMS}/history").json()["items"][0]
    assert item["actor"] == "anonymous"


def test_metrics_count_requests_by_route_and_status(ha_unit: Unit) -> None:
    client = ha_unit.client()
    anonymous = ha_unit.client(token=None)
    before = _samples(client.get("/metrics").text)
    for _ in range(3):
        assert client.get(PARAMS).status_code == 200
    assert anonymous.get(PARAMS).status_code == 401
    assert client.patch(PARAMS, json={"ha_timeout": 4}).status_code == 422
    revision = revision_of(client)
    assert client.get(f"{PARAMS}/history/{revision}").status_code in (200, 404)
    after = _samples(client.get("/metrics").text)

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    total = "hapair_http_requests_total"
    # +1: revision_of() also reads the parameters.
    assert delta(total, route=PARAMS, method="GET", status="200") == 4
    assert delta(total, route=PARAMS, method="GET", status="401") == 1
    assert delta(total, route=PARAMS, method="PATCH", status="422") == 1
    history_routes = {
        dict(labels)["route"]
        for (name, labels) in after
        if name == total and dict(labels)["route"].startswith(f"{PARAMS}/history/")
    }
    assert history_routes, after
    assert all("{" in r for r in history_routes), (
        f"route label must be the template: {history_routes}"
    )
    hist = "hapair_http_request_duration_seconds"
    assert delta(f"{hist}_count", route=PARAMS) == 6
    assert _metric(after, f"{hist}_bucket", route=PARAMS, le="+Inf") == _metric(
        after, f"{hist}_count", route=PARAMS
    )
    assert _metric(after, f"{hist}_sum", route=PARAMS) > 0


def test_metrics_count_unknown_paths(ha_unit: Unit) -> None:
    client = ha_unit.client()
    before = _samples(client.get("/metrics").text)
    problem(client.get("/no/such/path"), 404, "not-found")
    after = _samples(client.get("/metrics").text)
    counted = sum(
        value - before.get((name, labels), 0.0)
        for (name, labels), value in after.items()
        if name == "hapair_http_requests_total" and dict(labels)["status"] == "404"
    )
    assert counted == 1, "a 404 on an unknown path must be counted (route 'unmatched')"


def test_metrics_report_role_and_revision(ha_unit: Unit) -> None:
    client = ha_unit.client()
    r = client.patch(PARAMS, json={"initial_wait_time": 1 + revision_of(client) % 100})
    assert r.status_code == 200
    samples = _samples(client.get("/metrics").text)
    assert _metric(samples, "hapair_role", role="active") == 1
    others = [
        v
        for (name, labels), v in samples.items()
        if name == "hapair_role" and dict(labels)["role"] != "active"
    ]
    assert others, samples
    assert all(v == 0 for v in others)
    assert _metric(samples, "hapair_revision") == r.json()["revision"]


def test_keepalive_requests_answer_without_nagle_delay(ha_unit: Unit) -> None:
    """A response split in two writes must not wait for a delayed ACK (~40 ms each).

    Proven by its cause, not a stopwatch: the sockets the unit accepts, on the shared and on
    the direct address, have ``TCP_NODELAY``. The time of 100 keep-alive GETs is printed (a
    bound on it broke on a loaded machine; keep-alive throughput is bench/throughput.py's).
    """
    client = ha_unit.client()
    client.get(PARAMS)
    start = time.monotonic()
    for _ in range(100):
        assert client.get(PARAMS).status_code == 200
    print(f"100 keep-alive GETs took {time.monotonic() - start:.2f} s (Nagle: 4 s or more)")
    assert ha_unit.shared is not None
    for base in (ha_unit.shared, ha_unit.direct):
        host, port = base.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert conn.recv(65536).startswith(b"HTTP/1.1 200"), base
            nodelay = accepted_socket_option(
                ha_unit.proc.pid, conn, socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            assert nodelay, f"{base}: accepted socket without TCP_NODELAY"


def test_logs_are_json_lines_with_role_change_and_commit_events(ha_unit: Unit) -> None:
    client = ha_unit.client()
    r = client.patch(PARAMS, json={"l4_sync_refresh_period": 1 + revision_of(client) % 10})
    assert r.status_code == 200, r.text
    revision = r.json()["revision"]

    def commit_logged() -> list[dict[str, object]]:
        return [
            e
            for e in log_events(ha_unit.proc)
            if e.get("event") == "commit" and e.get("revision") == revision
        ]

    (commit,) = poll(commit_logged, timeout=5, what="the commit log line")
    assert commit["actor"] == "bootstrap-admin"
    assert commit["fields"] == ["l4_sync_refresh_period"]
    events = log_events(ha_unit.proc)
    for e in events:
        assert {"ts", "level", "logger", "msg"} <= set(e), e
    assert any(e.get("event") == "role-change" and e.get("to") == "active" for e in events), events


def test_tokens_never_reach_the_log(ha_unit: Unit, viewer_token: str) -> None:
    # Make sure each token was used (good and bad), then look for it in everything logged.
    ha_unit.client(token=viewer_token).get(PARAMS)
    ha_unit.client(token=viewer_token).patch(PARAMS, json={})
    for bad in BAD_TOKENS:
        ha_unit.client(token=bad).get(PARAMS)
    ha_unit.client().get(PARAMS)
    text = ha_unit.proc.log_text()
    assert text, "the unit logs something"
    for token in [ADMIN_TOKEN, viewer_token, *BAD_TOKENS]:
        assert token not in text
    for path in ha_unit.data_dir.rglob("*.log"):
        for token in [ADMIN_TOKEN, viewer_token]:
            assert token not in path.read_text(errors="replace"), path
