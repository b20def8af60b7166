"""The HA pair (SPEC section 5) with two real hapair processes, each with its own real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hapair.domain.parameters import HAParameters
from hapair.engine import pairauth
from hapair.store.client import connect
from hapair.store.embedded import derived_password
from hapair.store.redis import Store
from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.support import children_of, make_redis, pid_alive, poll

pytestmark = pytest.mark.timeout(90)


def seed(url: str, commits: list[dict[str, object]]) -> None:
    """Commits revisions straight into a unit's Redis with hapair's own store (before it boots)."""

    async def run() -> None:
        store = Store(connect(url))
        try:
            for values in commits:
                snap = await store.read()
                new = HAParameters(**{**_asdict(snap.params), **values})
                await store.commit(
                    expected=snap.revision,
                    params=new,
                    changes={},
                    actor="seed",
                    now="2026-01-01T00:00:00Z",
                )
        finally:
            await store.close()

    asyncio.run(run())


def _asdict(p: HAParameters) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__struct_fields__}


def test_heartbeat_with_wrong_key_is_refused(pair: Pair) -> None:
    pair.first.start()
    body = b'{"unit":"second","mode":"second","role":"active","revision":99}'
    path = "/internal/v1/heartbeat"
    url = f"{pair.first.url}{path}"
    forged = pairauth.PairAuth("not-the-key-0123456789", "second").sign_call("POST", path, body)
    for headers in ({}, forged):
        resp = httpx.post(
            url, content=body, headers={"content-type": "application/json", **headers}
        )
        assert resp.status_code == 401
        assert resp.json()["type"] == "urn:hapair:problem:unauthorized"
    status = pair.status(pair.first)
    second = next(u for u in status["units"] if u["name"] == "second")
    assert second["role"] == "not_operational" and second["reason"] == "unreachable"
    # a correctly signed one is accepted, and an unknown field from a newer unit is ignored
    newer = b'{"unit":"second","mode":"second","role":"standby","revision":0,"future_field":1}'
    auth = pairauth.PairAuth(pair.pair_key, "second")
    signed = auth.sign_call("POST", path, newer)
    ok = httpx.post(url, content=newer, headers={"content-type": "application/json", **signed})
    assert ok.status_code == 200 and ok.json()["unit"] == "first"
    # the answer is signed by first for second and bound to this call
    auth.verify_answer("POST", path, signed[pairauth.NONCE_HEADER], ok.headers, ok.content)


def test_boot_follows_an_active_partner(pair: Pair) -> None:
    pair.start_both(first_active=False)
    body = pair.wait_roles({"second": "active", "first": "standby"}, via=pair.first)
    assert body["pair"] == {"state": "paired", "active": "second"}
    assert pair.shared_unit_name() == "second"


@pytest.mark.parametrize(
    ("first_commits", "second_commits", "expected_active"),
    [
        (
            [{"initial_wait_time": 60, "preferred_server": "second"}],
            [{"initial_wait_time": 60, "preferred_server": "second"}],
            "second",
        ),
        (
            [{"initial_wait_time": 60}],
            [{"initial_wait_time": 60}, {"use_broadcast": True}],
            "second",
        ),
        ([{"initial_wait_time": 60}], [{"initial_wait_time": 60}], "first"),
    ],
    ids=["preferred-wins", "higher-revision-wins", "tie-first-wins"],
)
def test_boot_tie_break_when_both_start(
    make_pair: MakePair,
    tmp_path: Path,
    first_commits: list[dict[str, object]],
    second_commits: list[dict[str, object]],
    expected_active: str,
) -> None:
    # the units' Redis servers as ``hapair serve`` would start them for this pair: each one's
    # replica gets into the other with the password both derive from the pair key
    key = secrets.token_hex(16)
    servers = {
        name: make_redis(tmp_path / f"redis-{name}", password=derived_password(key))
        for name in ("first", "second")
    }
    try:
        for server in servers.values():
            server.start()
        seed(servers["first"].url, first_commits)
        seed(servers["second"].url, second_commits)
        p = make_pair(redis={k: v.url for k, v in servers.items()}, pair_key=key)
        p.first.start(wait=False)
        p.second.start(wait=False)
        other = "first" if expected_active == "second" else "second"
        # initial_wait_time is 60 s: a role within 15 s can only come from meeting the partner
        p.wait_roles({expected_active: "active", other: "standby"}, via=p.units[other], timeout=15)
    finally:
        for server in servers.values():
            server.stop()


def test_boot_alone_becomes_active_after_initial_wait(make_pair: MakePair, tmp_path: Path) -> None:
    with make_redis(tmp_path / "redis") as server:
        seed(server.url, [{"initial_wait_time": 2}])
        p = make_pair(redis={"first": server.url})
        started = time.monotonic()
        p.first.start()
        p.wait_roles({"first": "active"}, via=p.first, timeout=10)
        assert time.monotonic() - started >= 2.0


def test_write_on_shared_is_readable_on_standby_when_acknowledged(pair: Pair) -> None:
    pair.start_both()
    for i in range(20):
        resp = pair.patch({"initial_wait_time": i + 1})
        assert resp.status_code == 200, resp.text
        assert resp.headers["HA-Partner-Acknowledged"] == "true"
        standby = pair.params(pair.second)
        assert standby["revision"] == resp.json()["revision"]
        assert standby["initial_wait_time"] == i + 1
    # the standby's Redis is a replica: pair-wide writes on its direct address are refused
    direct = pair.patch({"initial_wait_time": 1}, url=pair.second.url)
    assert direct.status_code == 409
    assert direct.json()["type"] == "urn:hapair:problem:use-shared-address"


def test_write_commits_while_partner_is_down_and_partner_catches_up(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    pair.second.stop()
    started = time.monotonic()
    resp = pair.http.patch(
        f"{pair.shared_url}/api/v1/ha/parameters", json={"initial_wait_time": 7}, timeout=20
    )
    assert resp.status_code == 200
    assert resp.headers["HA-Partner-Acknowledged"] == "false"
    took = time.monotonic() - started
    print(f"write without the partner answered in {took:.2f} s (WAIT gives up after 1 s)")
    # bounded by WAIT's 1 s, never a hang: 10x that, which a loaded machine keeps (the figure
    # is printed; no bench measures a write with the partner down)
    assert took < 10
    revision = resp.json()["revision"]
    pair.second.start()
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    poll(
        lambda: pair.params(pair.second)["revision"] == revision,
        timeout=10,
        what="standby catches up",
    )
    assert pair.params(pair.second)["initial_wait_time"] == 7


def test_failover_within_ha_timeout_after_kill9(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5)
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    pair.first.kill9()
    killed = time.monotonic()
    poll(
        lambda: pair.shared_unit_name(timeout=0.3) == "second",
        timeout=10 * 3,
        interval=0.05,
        what="failover",
    )
    elapsed = time.monotonic() - killed
    print(
        f"failover: shared address answered by second {elapsed:.2f} s after kill -9 (ha_timeout 3)"
    )
    # a takeover, not a hang (10x ha_timeout, which a loaded machine keeps). SPEC 7's "within
    # ha_timeout" is proven on a logical clock by tests/sim/test_pair_sim.py (expect_failover:
    # active within ha_timeout + 1 heartbeat of a kill or a freeze) and measured by
    # bench/failover.py (kill -9 of the active, medians)
    assert elapsed <= 10 * 3
    body = pair.status(pair.second)
    first = next(u for u in body["units"] if u["name"] == "first")
    assert (first["role"], first["icon"], first["reason"]) == (
        "not_operational",
        "red",
        "unreachable",
    )
    assert body["pair"] == {"state": "degraded", "active": "second"}


def test_returning_unit_stays_standby_until_takeover(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5)
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=10)
    pair.first.start()
    pair.wait_roles({"first": "standby", "second": "active"}, via=pair.first)
    # it stays standby: watch it over more than two ha_timeouts' worth of heartbeats
    window_end = time.monotonic() + 2.0
    while time.monotonic() < window_end:
        assert pair.roles(pair.first)["first"] == "standby"
        time.sleep(0.2)
    resp = pair.http.post(f"{pair.first.url}/api/v1/unit/takeover")
    assert resp.status_code == 200, resp.text
    assert resp.json()["pair"] == {"state": "paired", "active": "first"}
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second)
    poll(
        lambda: pair.shared_unit_name() == "first",
        timeout=5,
        what="first serves the shared address",
    )
    # the pair still replicates, now the other way round
    resp = pair.patch({"initial_wait_time": 9})
    assert resp.headers["HA-Partner-Acknowledged"] == "true"
    assert pair.params(pair.second)["initial_wait_time"] == 9


def test_preferred_server_takes_over_when_it_returns(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3, "preferred_server": "first"}).status_code == 200
    poll(lambda: pair.params(pair.second)["preferred_server"] == "first", timeout=5)
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second, timeout=10)
    assert pair.patch({"initial_wait_time": 4}).status_code == 200  # a write while first is away
    pair.first.start()
    pair.wait_roles({"first": "active", "second": "standby"}, via=pair.second, timeout=15)
    poll(
        lambda: pair.shared_unit_name() == "first",
        timeout=5,
        what="first back on the shared address",
    )
    assert pair.params(pair.first)["initial_wait_time"] == 4  # nothing lost in the double failover


def test_pacified_unit_takes_no_part(make_pair: MakePair) -> None:
    p = make_pair(
        env={"HAPAIR_PACIFY_MAX_BOOTS": "1", "HAPAIR_PACIFY_WINDOW_S": "600"},
    )
    p.start_both()
    assert p.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: p.params(p.second)["ha_timeout"] == 3, timeout=5)
    assert p.http.post(f"{p.second.url}/api/v1/unit/reboot").status_code == 202
    body = p.wait_roles({"second": "pacified", "first": "active"}, via=p.first)
    second = next(u for u in body["units"] if u["name"] == "second")
    assert second["icon"] == "blue"
    assert p.http.get(f"{p.second.url}/api/v1/unit").json()["pacified"] is True
    before = p.params(p.second)["revision"]
    resp = p.patch({"initial_wait_time": 3})
    assert resp.status_code == 200
    assert resp.headers["HA-Partner-Acknowledged"] == "false"
    assert p.params(p.second)["revision"] == before  # it replicates nothing
    write = p.patch({"initial_wait_time": 4}, url=p.second.url)
    assert write.json()["type"] == "urn:hapair:problem:pacified"
    p.first.kill9()
    # it never takes over: watch well past ha_timeout
    window_end = time.monotonic() + 3 + 1.5
    while time.monotonic() < window_end:
        assert p.shared_unit_name(timeout=0.3) is None
        time.sleep(0.2)
    assert p.roles(p.second)["second"] == "pacified"


@pytest.mark.parametrize(
    ("modes", "shared", "reason"),
    [
        (("first", "first"), None, "same-mode"),
        (("first", "second"), ("a", "b"), "shared-address-mismatch"),
    ],
)
def test_misconfigured_pair_is_not_operational(
    make_pair: MakePair,
    modes: tuple[str, str],
    shared: tuple[str, str] | None,
    reason: str,
) -> None:
    p = make_pair(modes=modes)
    if shared:
        p = make_pair(shared=(p.shared_address, f"127.0.0.13:{p.port}"))
    p.first.start()
    p.second.start()
    for unit in (p.first, p.second):

        def own(u=unit) -> bool:
            me = next(x for x in p.status(u)["units"] if x["address"] == u.address)
            return (
                me["role"] == "not_operational" and me["reason"] == reason and me["icon"] == "red"
            )

        poll(own, timeout=10, what=f"{unit.name} not_operational {reason}")
    assert p.status(p.first)["pair"]["state"] == "misconfigured"


def test_force_partner_update_answers_once_partner_holds_revision(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"initial_wait_time": 11}).status_code == 200
    resp = pair.http.post(f"{pair.shared_url}/api/v1/ha/actions/force-partner-update")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["revision"] == body["partner_revision"] == pair.params(pair.second)["revision"]
    assert body["duration_ms"] >= 0
    pair.second.stop()
    resp = pair.http.post(f"{pair.shared_url}/api/v1/ha/actions/force-partner-update")
    assert resp.status_code == 503
    assert resp.json()["type"] == "urn:hapair:problem:partner-unavailable"


def test_status_cli_prints_coloured_squares(pair: Pair) -> None:
    pair.start_both()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hapair",
            "status",
            "--url",
            pair.shared_url,
            "--token",
            pair.token,
            "--color",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert "pair: paired (active: first)" in out
    assert "\033[42;30m A \033[0m first" in out  # green square with A
    assert "\033[42m   \033[0m second" in out  # green square


def test_role_hook_runs_with_role_environment(make_pair: MakePair, tmp_path: Path) -> None:
    out = tmp_path / "hook.log"
    hook = f'echo "$HAPAIR_ROLE $HAPAIR_UNIT $HAPAIR_SHARED_ADDRESS $HAPAIR_VIRTUAL_ID" >> {out}'
    p = make_pair(
        extra={"first": ["--on-role-change", hook], "second": ["--on-role-change", hook]},
    )
    p.start_both()
    expected_first = f"active first {p.shared_address} 10"
    expected_second = f"standby second {p.shared_address} 10"
    lines = poll(
        lambda: (
            (t := out.read_text().splitlines() if out.exists() else [])
            and expected_first in t
            and expected_second in t
            and t
        ),
        timeout=10,
        what="hook lines",
    )
    assert expected_first in lines


def test_up_runs_a_pair_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    from hapair.store.embedded import free_port

    port = free_port("127.0.0.10")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hapair",
            "up",  # the README's run command: default (relative) data dir ./.hapair
            "--port",
            str(port),
            "--heartbeat-interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert (
            f"127.0.0.10:{port}" in text
            and f"127.0.0.11:{port}" in text
            and f"127.0.0.12:{port}" in text
        ), text
        token = next(line.split(":", 1)[1].strip() for line in lines if "admin token" in line)
        units = children_of(proc.pid)
        everything = units + [pid for u in units for pid in children_of(u)]
        assert len(everything) >= 4, everything  # two hapair units and their two redis-servers
        resp = httpx.get(
            f"http://127.0.0.10:{port}/api/v1/ha/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert resp.status_code == 200
        # `hapair status` in the same folder finds the pair and its token by itself
        out = subprocess.run(
            [sys.executable, "-m", "hapair", "status"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        assert "pair: paired (active: first)" in out, out
        # kill -9 the active: second takes over, then `up` starts first again: the standby
        headers = {"Authorization": f"Bearer {token}"}
        shared_params = f"http://127.0.0.10:{port}/api/v1/ha/parameters"
        assert (
            httpx.patch(shared_params, json={"ha_timeout": 3}, headers=headers).status_code == 200
        )
        first_pid = next(
            int(x.split("pid ")[1].rstrip(")\n ")) for x in lines if x.lstrip().startswith("first")
        )
        os.kill(first_pid, signal.SIGKILL)
        restarted = proc.stdout.readline() + proc.stdout.readline()
        assert "unit first exited" in restarted, restarted
        assert "started again" in restarted, restarted

        def paired() -> bool:
            r = httpx.get(
                f"http://127.0.0.12:{port}/api/v1/ha/status",
                headers={"Authorization": f"Bearer {token}"},
                timeout=2,
            )
            got = {u["name"]: u["role"] for u in r.json()["units"]}
            return got == {"first": "standby", "second": "active"}

        poll(paired, timeout=30, interval=0.2, what="first back as the standby")
        units = children_of(proc.pid)
        everything += units + [pid for u in units for pid in children_of(u)]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        poll(
            lambda: not any(pid_alive(p) for p in everything), timeout=10, what="all processes gone"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        for pid in children_of(proc.pid) if proc.poll() is None else []:
            os.kill(pid, signal.SIGKILL)


def _redis_pid_of(unit_pid: int) -> int:
    from tests.support import process_name

    pids = [p for p in children_of(unit_pid) if "redis-server" in (process_name(p) or "")]
    assert len(pids) == 1, pids
    return pids[0]


def test_status_shows_standby_not_in_sync_until_write_reaches_it(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"initial_wait_time": 1}).status_code == 200
    assert pair.second.proc is not None
    standby_redis = _redis_pid_of(pair.second.proc.pid)
    os.kill(standby_redis, signal.SIGSTOP)  # the standby's Redis stops taking the stream
    try:
        resp = pair.patch({"initial_wait_time": 2})
        assert resp.status_code == 200
        assert resp.headers["HA-Partner-Acknowledged"] == "false"
        body = pair.status(pair.first)
        second = next(u for u in body["units"] if u["name"] == "second")
        assert second["in_sync"] is False
        assert second["revision"] != resp.json()["revision"]
    finally:
        os.kill(standby_redis, signal.SIGCONT)
    revision = resp.json()["revision"]

    def synced() -> bool:
        units = pair.status(pair.first)["units"]
        s = next(u for u in units if u["name"] == "second")
        return bool(s["in_sync"]) and s["revision"] == revision

    poll(synced, timeout=10, what="standby back in sync")


def test_short_replication_outage_resyncs_partially(pair: Pair) -> None:
    import redis as redis_sync

    pair.start_both()
    assert pair.first.proc is not None and pair.second.proc is not None
    runtime = {
        u.name: (Path(u.args[u.args.index("--data-dir") + 1]) / "runtime.json").read_text()
        for u in (pair.first, pair.second)
    }
    import json

    urls = {k: json.loads(v)["redis_url"] for k, v in runtime.items()}
    master = redis_sync.Redis.from_url(urls["first"])
    replica = redis_sync.Redis.from_url(urls["second"])
    try:
        before = int(master.info("stats")["sync_partial_ok"])
        full_before = int(master.info("stats")["sync_full"])
        # Drop the replication link, as a short outage would. hapair's Redis user may not
        # CLIENT KILL (an admin command), but it may re-point replication: pointed at the same
        # master under another spelling of its address (127.1), the replica drops its link
        # and continues on a new one with PSYNC, from its cached master state.
        link = replica.info("replication")
        assert link["master_host"] == "127.0.0.1", link
        replica.execute_command("REPLICAOF", "127.1", link["master_port"])
        assert pair.patch({"initial_wait_time": 5}).status_code == 200
        poll(
            lambda: int(master.info("stats")["sync_partial_ok"]) > before,
            timeout=10,
            what="partial resync",
        )
        assert int(master.info("stats")["sync_full"]) == full_before
        poll(lambda: pair.params(pair.second)["initial_wait_time"] == 5, timeout=5)
    finally:
        master.close()
        replica.close()


def test_standby_repoints_replication_changed_behind_its_back(pair: Pair) -> None:
    import json

    import redis as redis_sync

    pair.start_both()
    url = json.loads(
        (
            Path(pair.second.args[pair.second.args.index("--data-dir") + 1]) / "runtime.json"
        ).read_text()
    )["redis_url"]
    replica = redis_sync.Redis.from_url(url)
    try:
        replica.execute_command("REPLICAOF", "NO", "ONE")
        poll(lambda: replica.info("replication")["role"] == "slave", timeout=5, what="re-pointed")
        assert pair.patch({"initial_wait_time": 8}).headers["HA-Partner-Acknowledged"] == "true"
    finally:
        replica.close()


def test_active_whose_redis_dies_steps_aside_and_partner_takes_over(pair: Pair) -> None:
    pair.start_both()
    assert pair.patch({"ha_timeout": 3}).status_code == 200
    poll(lambda: pair.params(pair.second)["ha_timeout"] == 3, timeout=5)
    assert pair.first.proc is not None
    os.kill(_redis_pid_of(pair.first.proc.pid), signal.SIGKILL)  # the process lives on
    killed = time.monotonic()
    poll(lambda: pair.shared_unit_name(timeout=0.3) == "second", timeout=15, what="second serves")
    print(f"second took over {time.monotonic() - killed:.2f} s after first's Redis died")

    # it stepped aside as not_operational / not-synced (its Redis comes back soon after, so
    # the state is short: read it from the unit's log)
    assert pair.first.proc is not None
    proc = pair.first.proc

    def stepped_aside() -> bool:
        events = [json.loads(x) for x in proc.log_text().splitlines() if x.startswith("{")]
        return any(
            e.get("event") == "role-change" and e.get("to") == "not_operational" for e in events
        )

    poll(stepped_aside, timeout=5, what="first logs its step aside")
    resp = pair.patch({"initial_wait_time": 12})
    assert resp.status_code == 200, resp.text
    # first restarts its Redis once it has stepped aside, and rejoins as the standby
    body = pair.wait_roles({"first": "standby", "second": "active"}, via=pair.second, timeout=15)
    poll(
        lambda: pair.params(pair.first)["initial_wait_time"] == 12, timeout=5, what="first in sync"
    )
    assert pair.first.proc is not None and "redis-restart" in pair.first.proc.log_text()
    assert body["pair"]["state"] == "paired"
