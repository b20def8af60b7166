"""Redis replication inside a pair: the standby's sync state, a partial resync after a short
outage, a replica re-pointed behind the unit's back, an active whose Redis dies.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.pairs import Pair
from tests.support import children_of, poll

pytestmark = pytest.mark.timeout(90)


def _redis_pid_of(unit_pid: int) -> int:
    from tests.support import is_redis

    pids = [p for p in children_of(unit_pid) if is_redis(p)]
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
        # the first sync done (Valkey answers a PSYNC of an unsynced replica with a full one)
        poll(
            lambda: replica.info("replication")["master_link_status"] == "up",
            timeout=10,
            what="the standby's first sync",
        )
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
