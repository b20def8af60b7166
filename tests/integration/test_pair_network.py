"""Split brain over a real network partition, and hard reboot on a real link failure.

Each unit runs in its own network namespace joined to the root namespace by veth pairs
(tests/netns.py); the test process in the root namespace reaches both direct addresses and
the shared address, which it routes to either unit.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.netns import PairNetwork, VethLink, Which, needs_netns
from tests.support import HapairFactory, HapairProcess, NsHapairProcess, poll

pytestmark = [pytest.mark.timeout(120), needs_netns()]


def _events(proc: HapairProcess) -> list[dict[str, Any]]:
    out = []
    for line in proc.log_text().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _fresh(token: str) -> httpx.Client:
    # a new connection each time: the shared route moves between namespaces mid-test
    return httpx.Client(
        headers={"Authorization": f"Bearer {token}", "Connection": "close"}, timeout=3.0
    )


def test_split_brain_resolves_and_archives_conflicts(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    token, key, port = "adm-" + secrets.token_hex(6), secrets.token_hex(8), 8080
    with PairNetwork() as net:
        names: dict[Which, str] = {"a": "first", "b": "second"}
        procs: dict[str, HapairProcess] = {}
        for which, other in (("a", "b"), ("b", "a")):
            name = names[which]
            proc = NsHapairProcess(
                net.ns_prefix(which),
                [
                    "--listen",
                    f"{net.addr(which)}:{port}",
                    "--data-dir",
                    str(tmp_path / name),
                    "--mode",
                    name,
                    "--partner",
                    f"{net.addr(other)}:{port}",
                    "--shared",
                    f"{net.shared_ip}:{port}",
                    "--pair-key",
                    key,
                    "--admin-token",
                    token,
                    "--heartbeat-interval",
                    "0.5",
                ],
                log_path=tmp_path / f"{name}.log",
            )
            hapair_factory.processes.append(proc)  # stopped by pid at teardown
            procs[name] = proc
        url = {"first": f"http://{net.addr_a}:{port}", "second": f"http://{net.addr_b}:{port}"}
        shared = f"http://{net.shared_ip}:{port}"

        def role(name: str, of: str) -> str | None:
            with _fresh(token) as c:
                try:
                    units = c.get(f"{url[of]}/api/v1/ha/status").json()["units"]
                except (httpx.HTTPError, KeyError):
                    return None
            return next((u["role"] for u in units if u["name"] == name), None)

        def patch(body: dict[str, Any], to: Which) -> dict[str, Any]:
            net.point_shared_to(to)
            with _fresh(token) as c:
                resp = c.patch(f"{shared}/api/v1/ha/parameters", json=body)
            assert resp.status_code == 200, resp.text
            result: dict[str, Any] = resp.json()
            return result

        procs["first"].start().wait_ready(url["first"], timeout=15)
        poll(lambda: role("first", "first") == "active", timeout=10, what="first active")
        procs["second"].start().wait_ready(url["second"], timeout=15)
        poll(lambda: role("second", "first") == "standby", timeout=10, what="second standby")
        base = patch({"ha_timeout": 3}, "a")["revision"]
        with _fresh(token) as c:
            poll(
                lambda: c.get(f"{url['second']}/api/v1/ha/parameters").json()["revision"] == base,
                timeout=5,
            )

        net.partition()
        poll(
            lambda: role("second", "second") == "active",
            timeout=10,
            what="second fails over in the partition",
        )
        assert role("first", "first") == "active"  # both active: the split brain
        only_first = patch({"initial_wait_time": 21}, "a")
        patch({"initial_wait_time": 22}, "b")
        winner = patch({"l4_sync_refresh_period": 5}, "b")
        assert only_first["revision"] == base + 1 and winner["revision"] == base + 2

        net.heal()
        healed = time.monotonic()
        poll(
            lambda: role("first", "second") == "standby" and role("second", "first") == "active",
            timeout=30,
            interval=0.05,
            what="split brain resolved",
        )
        took = time.monotonic() - healed
        print(f"split brain resolved {took:.2f} s after the partition healed (heartbeat 0.5 s)")
        # resolved, not stuck: 10x the 3 s this asserted before, which a loaded machine keeps.
        # How fast (one active within ha_timeout + 2 heartbeats of the heal, two actives for
        # less than 2 heartbeats) is proven on a logical clock by tests/sim/invariants.py
        # (check_timed); the figure is printed, no bench measures a heal
        assert took < 30.0

        # both went through indeterminate (grey) before the resolution
        for name in ("first", "second"):
            assert any(
                e.get("event") == "role-change" and e.get("to") == "indeterminate"
                for e in _events(procs[name])
            ), name
        # the revision only first held is archived, before first's Redis became a replica
        poll(
            lambda: any(e.get("event") == "replicaof" for e in _events(procs["first"])),
            timeout=5,
            what="first replicates from second",
        )
        events = _events(procs["first"])
        archived = next(i for i, e in enumerate(events) if e.get("event") == "conflicts-archived")
        replica = max(i for i, e in enumerate(events) if e.get("event") == "replicaof")
        assert archived < replica
        with _fresh(token) as c:
            conflicts = c.get(f"{url['second']}/api/v1/ha/conflicts").json()["items"]
            assert [(x["unit"], x["revision"]) for x in conflicts] == [("first", base + 1)]
            assert conflicts[0]["changes"]["initial_wait_time"] == [0, 21]
            assert conflicts[0]["parameters"]["initial_wait_time"] == 21
            # first now holds the pair's revisions, and shows the conflict too
            poll(
                lambda: (
                    c.get(f"{url['first']}/api/v1/ha/parameters").json()["revision"] == base + 2
                ),
                timeout=5,
            )
            assert c.get(f"{url['first']}/api/v1/ha/conflicts").json()["items"] == conflicts
            assert c.get(f"{url['first']}/api/v1/ha/parameters").json()["initial_wait_time"] == 22


def test_hard_reboot_on_link_failure_ends_pacified(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    from hapair.store.embedded import free_port

    port = free_port("127.0.0.10")
    token = "adm-" + secrets.token_hex(6)
    with VethLink() as link:
        proc = hapair_factory(
            [
                "--listen",
                f"127.0.0.11:{port}",
                "--data-dir",
                str(tmp_path / "first"),
                "--mode",
                "first",
                "--partner",
                f"127.0.0.12:{port}",
                "--shared",
                f"127.0.0.10:{port}",
                "--pair-key",
                "k-0123456789abcdef",
                "--admin-token",
                token,
                "--heartbeat-interval",
                "0.3",
                "--interface",
                link.monitored,
            ],
            env={"HAPAIR_PACIFY_WINDOW_S": "600", "HAPAIR_PACIFY_MAX_BOOTS": "3"},
        )
        direct, shared = f"http://127.0.0.11:{port}", f"http://127.0.0.10:{port}"
        proc.wait_ready(direct)
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=3) as c:
            poll(
                lambda: c.get(f"{direct}/api/v1/unit").status_code == 200 and _shared_up(c, shared),
                timeout=10,
            )
            resp = c.patch(
                f"{shared}/api/v1/ha/parameters", json={"hard_reboot_on_link_failure": True}
            )
            assert resp.status_code == 200, resp.text
            # refused together with a preferred server
            bad = c.patch(f"{shared}/api/v1/ha/parameters", json={"preferred_server": "first"})
            assert bad.status_code == 422
            assert {e["pointer"] for e in bad.json()["errors"]} == {
                "/hard_reboot_on_link_failure",
                "/preferred_server",
            }
            first_boot = c.get(f"{direct}/api/v1/unit").json()
            assert first_boot["boots_in_window"] == 1
            link.set_down()
            assert link.operstate() != "up"
            # the link stays down: the unit reboots until it is pacified (more than 3 boots)
            unit = poll(
                lambda: (u := c.get(f"{direct}/api/v1/unit").json())["pacified"] and u,
                timeout=20,
                what="pacified",
            )
            assert unit["boots_in_window"] == 4
            assert unit["boot_id"] != first_boot["boot_id"]
            status = c.get(f"{direct}/api/v1/ha/status").json()
            me = next(u for u in status["units"] if u["name"] == "first")
            assert (me["role"], me["icon"]) == ("pacified", "blue")
            reboots = [e for e in _events(proc) if e.get("event") == "link-failure"]
            assert len(reboots) == 3
            assert any(
                e.get("event") == "role-change" and e.get("to") == "active" for e in _events(proc)
            )


def _shared_up(c: httpx.Client, shared: str) -> bool:
    try:
        return c.get(f"{shared}/api/v1/unit").status_code == 200
    except httpx.HTTPError:
        return False
