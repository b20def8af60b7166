"""The ``--no-auth`` rules (SPEC section 6) against real units: a non-loopback address is never
staged, through the API or by hand (reboot and restart refuse it), and a write from another
origin is forbidden."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api_checks import (
    PARAMS,
    problem,
    run_serve,
)
from tests.ports import free_port
from tests.units import (
    MakeUnit,
    wait_active_on_shared,
)


def test_no_auth_unit_refuses_to_stage_a_non_loopback_address(make_unit: MakeUnit) -> None:
    unit = make_unit(token=None, no_auth=True)
    client = unit.client(shared=False, token=None)
    for body in ({"shared_address": "192.0.2.10:8080"}, {"shared_address": "0.0.0.0:8080"}):
        r = client.patch("/api/v1/unit", json=body)
        got = problem(r, 422, "validation")
        assert got["errors"][0]["pointer"] == "/shared_address"
        assert "--no-auth" in got["errors"][0]["detail"]
    assert client.get("/api/v1/unit").json()["pending"] is None
    ok = client.patch("/api/v1/unit", json={"shared_address": f"127.0.0.13:{free_port()}"})
    assert ok.status_code == 202, ok.text


def test_no_auth_reboot_and_restart_refuse_a_hand_staged_address(
    make_unit: MakeUnit, tmp_path: Path
) -> None:
    unit = make_unit(token=None, no_auth=True)
    client = unit.client(shared=False, token=None)
    unit_file = unit.data_dir / "unit.json"
    stored = json.loads(unit_file.read_text())
    stored["pending"] = {"shared_address": "192.0.2.10:8080"}
    unit_file.write_text(json.dumps(stored))
    got = problem(client.post("/api/v1/unit/reboot"), 422, "validation")
    assert "192.0.2.10:8080" in got["errors"][0]["detail"]
    assert unit.shared is not None
    wait_active_on_shared(unit)  # not rebooted: still serving its loopback shared address
    assert unit.proc.terminate() == 0
    out = run_serve(["--listen", unit.direct.removeprefix("http://"),
                  "--data-dir", str(unit.data_dir), "--no-auth",
                  "--pair-key", "it-pair-key-0123456789"])  # fmt: skip
    assert out.returncode != 0
    assert "192.0.2.10:8080" in out.stderr, out.stderr
    del tmp_path


def test_no_auth_cross_origin_write_is_403(make_unit: MakeUnit) -> None:
    unit = make_unit(token=None, no_auth=True)
    assert unit.shared is not None
    client = unit.client(token=None)
    own = unit.shared
    for origin in ("http://evil.example", "null", f"https://{own.removeprefix('http://')}",
                   unit.direct, "http://localhost:1"):  # fmt: skip
        r = client.patch(PARAMS, json={"ha_timeout": 3}, headers={"Origin": origin})
        problem(r, 403, "forbidden")
        r = client.post("/api/v1/tokens", json={"role": "admin"}, headers={"Origin": origin})
        problem(r, 403, "forbidden")
    assert client.get(PARAMS).json()["ha_timeout"] != 3
    # reads from any origin, writes from its own origin or from no browser at all
    assert client.get(PARAMS, headers={"Origin": "http://evil.example"}).status_code == 200
    r = client.patch(PARAMS, json={"ha_timeout": 3}, headers={"Origin": own})
    assert r.status_code == 200, r.text
    r = client.patch(PARAMS, json={"ha_timeout": 6})
    assert r.status_code == 200, r.text


def test_no_auth_answers_only_a_loopback_or_localhost_host(make_unit: MakeUnit) -> None:
    """DNS rebinding: a page's own name resolving to 127.0.0.1 reads nothing (issue 16 point 7)."""
    unit = make_unit(token=None, no_auth=True)
    client = unit.client(token=None, shared=False)
    port = unit.direct.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io", "10.0.0.1"):
        for path in ("/api/v1/tokens", PARAMS):
            problem(client.get(path, headers={"Host": host}), 403, "forbidden")
    # not even a host name: the HTTP layer refuses it as malformed
    r = client.get(PARAMS, headers={"Host": "\u00e9".encode()})  # type: ignore[dict-item]
    problem(r, 400, "malformed")
    for host in (f"localhost:{port}", f"127.0.0.11:{port}", "127.0.0.1", f"[::1]:{port}"):
        assert client.get(PARAMS, headers={"Host": host}).status_code == 200, host
