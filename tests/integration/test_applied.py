"""``GET /ha/parameters/applied`` on a real pair, and the IPVS sync daemon driven against a
fake proc root and a fake ``ipvsadm`` on ``PATH`` (this kernel has no IPVS)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import MakePair, problem
from tests.integration.handover import ready, started_and_ready, switchover
from tests.integration.pairs import Pair, Unit
from tests.support import poll

ENGINE = (
    "ha_timeout",
    "initial_wait_time",
    "virtual_id",
    "preferred_server",
    "hard_reboot_on_link_failure",
    "use_virtual_mac",
    "failback_delay",
)
L4 = ("l4_connection_updates", "l4_sync_threshold", "l4_sync_period", "l4_sync_refresh_period")

FAKE_IPVSADM = """#!/bin/sh
# records its argv, one line per run, in the file its unit was given
echo "$*" >> "$FAKE_IPVSADM_LOG"
"""


def applied(p: Pair, unit: Unit) -> dict[str, Any]:
    resp = p.http.get(f"{unit.url}/api/v1/ha/parameters/applied")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def parts(p: Pair, unit: Unit) -> dict[str, dict[str, Any]]:
    """The answer of ``unit``, by unit name."""
    return {u["name"]: u for u in applied(p, unit)["units"]}


def test_applied_reports_both_units_and_never_claims_what_is_not(
    make_pair: MakePair, tmp_path: Path
) -> None:
    no_ipvs = tmp_path / "proc"  # a proc root without sys/net/ipv4/vs
    no_ipvs.mkdir()
    p = make_pair(env={"HAPAIR_PROC_ROOT": str(no_ipvs)})
    started_and_ready(p)
    r = p.patch({"ha_timeout": 6})
    assert r.status_code == 200, r.text
    revision = r.json()["revision"]

    def both_observed() -> dict[str, dict[str, Any]] | None:
        got = parts(p, p.second)
        ok = all(u["observed_revision"] == revision for u in got.values())
        return got if ok else None

    seen = poll(both_observed, timeout=10, what=f"both units observe revision {revision}")
    assert list(seen) == ["second", "first"]  # the answering unit first
    for name, unit in seen.items():
        params = unit["parameters"]
        for field in ENGINE:
            assert params[field]["state"] == "applied", (name, field, params[field])
        for field in L4:
            assert params[field] == {
                "state": "unsupported",
                "detail": "ip_vs is not available in this kernel",
            }
        assert params["l7_persistence_updates"]["state"] == "unsupported"
        assert "no HAProxy configured" in params["l7_persistence_updates"]["detail"]
        for field in ("use_broadcast", "multicast_interface"):
            assert params[field] == {"state": "unsupported", "detail": "one host: no adverts"}
        assert params["update_interface"] == {
            "state": "unsupported",
            "detail": "one host: the units share loopback, no update link",
        }
        assert not [f for f, a in params.items() if a["state"] == "applied" and f not in ENGINE]
    # the same on the shared address (the active answers, itself first)
    assert [u["name"] for u in applied(p, p.first)["units"]] == ["first", "second"]
    # use_virtual_mac on without --shared-interface: there is no MAC to move
    r = p.patch({"use_virtual_mac": True})
    assert r.status_code == 200, r.text
    poll(
        lambda: (
            parts(p, p.first)["first"]["parameters"]["use_virtual_mac"]["state"] == "unsupported"
        ),
        timeout=10,
        what="use_virtual_mac unsupported without --shared-interface",
    )
    metrics = httpx.get(f"{p.first.url}/metrics", timeout=5).text
    assert 'hapair_parameter_applied{parameter="l4_sync_period",state="unsupported"} 1.0' in metrics
    assert 'hapair_parameter_applied{parameter="ha_timeout",state="applied"} 1.0' in metrics


def test_applied_is_ha_disabled_on_a_non_ha_unit(make_unit: Any) -> None:
    unit = make_unit(ha=False)
    with unit.client() as c:
        problem(c.get("/api/v1/ha/parameters/applied"), 409, "ha-disabled")


def _fake_kernel(root: Path) -> Path:
    vs = root / "sys/net/ipv4/vs"
    vs.mkdir(parents=True)
    (vs / "sync_threshold").write_text("3\t50\n")
    (vs / "sync_refresh_period").write_text("0\n")
    return vs


def test_ipvs_sync_daemon_follows_the_role(make_pair: MakePair, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ipvsadm"
    fake.write_text(FAKE_IPVSADM)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    p = make_pair(env={"PATH": path})
    vs: dict[str, Path] = {}
    logs: dict[str, Path] = {}
    for name, unit in p.units.items():
        vs[name] = _fake_kernel(tmp_path / f"proc-{name}")
        logs[name] = tmp_path / f"ipvsadm-{name}.log"
        unit.env.update(
            {
                "HAPAIR_PROC_ROOT": str(tmp_path / f"proc-{name}"),
                "FAKE_IPVSADM_LOG": str(logs[name]),
            }
        )
    started_and_ready(p)
    vid = int(p.shared_address.split(":")[0].rsplit(".", 1)[1])  # auto: the shared IP's last byte

    def runs(name: str) -> list[str]:
        return logs[name].read_text().splitlines() if logs[name].exists() else []

    # off: no daemon; every unit stopped any left behind at its start
    poll(
        lambda: (
            parts(p, p.first)["first"]["parameters"]["l4_connection_updates"]["state"] == "applied"
        ),
        timeout=10,
        what="l4 applied",
    )
    assert runs("first") == ["--stop-daemon master", "--stop-daemon backup"]
    r = p.patch(
        {"l4_connection_updates": True, "l4_sync_threshold": 4, "l4_sync_period": 60,
         "l4_sync_refresh_period": 7, "multicast_interface": "sync0"}
    )  # fmt: skip
    assert r.status_code == 200, r.text
    master = f"--start-daemon master --mcast-interface sync0 --syncid {vid}"
    backup = f"--start-daemon backup --mcast-interface sync0 --syncid {vid}"
    poll(lambda: runs("first")[-1:] == [master], timeout=10, what="master on the active")
    poll(lambda: runs("second")[-1:] == [backup], timeout=10, what="backup on the standby")
    for name in ("first", "second"):
        assert (vs[name] / "sync_threshold").read_text().split() == ["4", "60"]
        assert (vs[name] / "sync_refresh_period").read_text().strip() == "7"
    state = parts(p, p.first)
    assert state["first"]["parameters"]["l4_connection_updates"] == {
        "state": "applied",
        "detail": f"on: IPVS sync daemon master on sync0, syncid {vid}",
    }
    poll(
        lambda: (
            parts(p, p.first)["second"]["parameters"]["l4_connection_updates"]["detail"]
            == f"on: IPVS sync daemon backup on sync0, syncid {vid}"
        ),
        timeout=10,
        what="the partner's part from its heartbeat",
    )
    # a switchover swaps them: the old active stops its master first
    before = {n: len(runs(n)) for n in logs}
    assert switchover(p).status_code == 200
    poll(
        lambda: (
            runs("first")[before["first"] :] == ["--stop-daemon master", backup]
            and runs("second")[before["second"] :] == ["--stop-daemon backup", master]
        ),
        timeout=10,
        what="master and backup swapped",
    )
    # and back, once the pair is ready for it again (the new standby in sync)
    poll(lambda: ready(p), timeout=10, what="every switchover check passes")
    before = {n: len(runs(n)) for n in logs}
    assert switchover(p).status_code == 200
    poll(
        lambda: (
            runs("first")[before["first"] :] == ["--stop-daemon backup", master]
            and runs("second")[before["second"] :] == ["--stop-daemon master", backup]
        ),
        timeout=10,
        what="swapped back",
    )
