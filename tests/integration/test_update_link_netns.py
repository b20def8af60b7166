"""The update link with real units on two hosts (SPEC 5b' ``update_interface``; issue 18 point
1): ``hapair serve`` in the namespaces of a ``tests.netns.Lan`` with a second bridge, the sync
link (``sync0``: 198.51.100.11 and .12), ``update_interface`` set to ``sync0``:

- both units report it ``applied``; the active's Redis shows its replica connected from the
  sync subnet (``INFO replication``);
- the sync link cut (the standby's port on the sync bridge down): no failover for 2 x
  ``ha_timeout``, ``links.update`` false, ``in_sync`` false, a write answers
  ``HA-Partner-Acknowledged: false``, the alert ``update-link-down``; the link back: in sync
  within 10 s;
- the LAN path between the units dropped (nftables on the LAN bridge) while the sync link
  stays: no failover, ``links.heartbeat`` false, ``links.update`` true.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from hapair.cli.lan import IPV4, SYNC_IPV4
from tests.integration.conflicts_harness import hold
from tests.integration.lanpair import HA_TIMEOUT, LanPair
from tests.integration.test_adverts_pair_netns import (
    RoleWatch,
    applied,
    bridge_drop,
    http_between_units,
    links,
)
from tests.netns import Lan, needs_netns
from tests.support import HapairFactory, poll

pytestmark = [
    pytest.mark.timeout(180),
    needs_netns(),
    pytest.mark.skipif(shutil.which("nft") is None, reason="nftables (nft) is not installed"),
]

SYNC = "198.51.100."


@pytest.fixture
def sync_pair(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[LanPair]:
    """A pair on a LAN with a sync link, not started; closed (and the namespaces gone) after."""
    with Lan(sync=True) as lan:
        made = LanPair(lan, hapair_factory, tmp_path / "pair")
        try:
            yield made
        finally:
            made.close()


def update_applied(pair: LanPair) -> bool:
    units = applied(pair, "first")["units"]
    return len(units) == 2 and all(
        u["parameters"]["update_interface"]["state"] == "applied" for u in units
    )


def replicas_of(pair: LanPair, name: str) -> list[str]:
    """The ``slaveN`` lines of ``INFO replication`` on ``name``'s Redis (from its own host)."""
    runtime = json.loads((pair.tmp / name / "runtime.json").read_text())

    def read() -> list[str]:
        with redis.Redis.from_url(str(runtime["redis_url"]), socket_timeout=2) as c:
            info: dict[str, Any] = c.info("replication")
        return [str(v) for k, v in info.items() if k.startswith("slave")]

    return pair.on(name, read)


def write(pair: LanPair, n: int) -> str:
    """A pair-wide write through the shared address; its ``HA-Partner-Acknowledged``."""
    r = pair.request("PATCH", "http://192.0.2.10:8080/api/v1/ha/parameters",
                     json={"failback_delay": n})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.headers["HA-Partner-Acknowledged"]


def test_the_sync_link_carries_replication_and_its_loss_fails_nothing_over(
    sync_pair: LanPair,
) -> None:
    pair = sync_pair
    pair.start_pair(update_interface="sync0")
    poll(lambda: update_applied(pair), timeout=15, what="update_interface applied on both")
    poll(lambda: all(links(pair, n)["update"] for n in ("first", "second")), timeout=10,
         what="links.update on both")  # fmt: skip
    poll(lambda: pair.me("first")["in_sync"] and pair.me("second")["in_sync"], timeout=15,
         what="in sync over the sync link")  # fmt: skip
    replicas = poll(
        lambda: (r := replicas_of(pair, "first")) and SYNC in r[0] and r, timeout=15,
        what="the replica connected from the sync subnet",
    )  # fmt: skip
    print(f"first's INFO replication: {replicas}")
    assert SYNC_IPV4["second"] in replicas[0]
    assert write(pair, 1) == "true"

    with RoleWatch(pair) as watch:
        cut = time.monotonic()
        pair.lan.set_sync_port("second", up=False)
        try:
            poll(lambda: not links(pair, "second")["update"], timeout=3 * HA_TIMEOUT,
                 what="second's links.update false")  # fmt: skip
            noticed = time.monotonic() - cut
            poll(lambda: "update-link-down" in [a["reason"] for a in pair.me("second")["alerts"]],
                 timeout=3 * HA_TIMEOUT, what="update-link-down on second")  # fmt: skip
            poll(lambda: not pair.me("first")["in_sync"], timeout=3 * HA_TIMEOUT,
                 what="first not in sync")  # fmt: skip
            second = pair.me("second")
            assert second["links"]["heartbeat"] and not second["links"]["update"]
            assert not second["in_sync"]
            assert write(pair, 2) == "false"
            checks = hold(
                2 * HA_TIMEOUT,
                lambda: pair.me("second")["role"] == "standby" and pair.shared_name() == "first",
                "second stayed standby, first on the shared address",
            )
        finally:
            pair.lan.set_sync_port("second", up=True)
        back = time.monotonic()
        poll(lambda: pair.me("first")["in_sync"] and pair.me("second")["in_sync"], timeout=10,
             what="in sync within 10 s of the sync link's return")  # fmt: skip
        resynced = time.monotonic() - back
        poll(lambda: "update-link-down" not in [a["reason"] for a in pair.me("second")["alerts"]],
             timeout=10, what="the alert to end")  # fmt: skip
    print(
        f"sync link cut: links.update false on second {noticed:.2f} s after; roles held in "
        f"{checks} checks over {2 * HA_TIMEOUT} s; in sync {resynced:.2f} s after it came back; "
        f"roles seen: {watch.seen} ({watch.errors} status calls timed out)"
    )
    assert watch.seen == {"first": {"active"}, "second": {"standby"}}

    with RoleWatch(pair) as watch:
        with bridge_drop(pair.lan, http_between_units()):
            poll(lambda: not links(pair, "second")["heartbeat"], timeout=3 * HA_TIMEOUT,
                 what="second's links.heartbeat false")  # fmt: skip
            assert links(pair, "second")["update"]
            checks = hold(
                2 * HA_TIMEOUT,
                lambda: pair.me("second")["role"] == "standby" and pair.shared_name() == "first",
                "second stayed standby with the LAN path between the units dropped",
            )
            assert pair.me("second")["in_sync"]
        poll(lambda: links(pair, "second")["heartbeat"], timeout=10,
             what="heartbeats over the LAN again")  # fmt: skip
    print(f"LAN path between the units dropped: roles held in {checks} checks; {watch.seen}")
    assert watch.seen == {"first": {"active"}, "second": {"standby"}}


def test_without_the_interface_or_an_address_on_it_the_direct_link_carries_everything(
    sync_pair: LanPair,
) -> None:
    """``update_interface`` names an interface the units lack: ``failed`` with the reason on
    both, replication over the direct link, in sync. Then ``sync0``, without an address on
    second's: first says the partner has none there, second that it has none."""
    pair = sync_pair
    pair.start_pair(update_interface="nosuch0")

    def states() -> dict[str, dict[str, str]]:
        units = applied(pair, "first")["units"]
        return {u["name"]: u["parameters"]["update_interface"] for u in units}

    got = poll(lambda: (s := states()) and len(s) == 2 and all(
        v["state"] == "failed" and "nosuch0" in v["detail"] for v in s.values()) and s,
        timeout=15, what="update_interface failed on both")  # fmt: skip
    for name, state in got.items():
        assert "no interface nosuch0 on this unit" in state["detail"], (name, state)
        assert "direct link" in state["detail"]
    poll(lambda: pair.me("first")["in_sync"], timeout=15, what="in sync over the direct link")
    assert links(pair, "second")["update"]  # no separate update link: the direct link's
    assert IPV4["second"] in replicas_of(pair, "first")[0]

    pair.lan.run("second", "ip", "addr", "flush", "dev", "sync0")
    pair.patch({"update_interface": "sync0"})
    got = poll(lambda: (s := states()) and len(s) == 2 and all(
        v["state"] == "failed" and "sync0" in v["detail"] for v in s.values()) and s,
        timeout=15, what="update_interface sync0 failed on both")  # fmt: skip
    assert "the partner has no address on sync0" in got["first"]["detail"], got
    assert "no address on sync0" in got["second"]["detail"], got
    poll(lambda: pair.me("first")["in_sync"], timeout=15, what="still in sync")
