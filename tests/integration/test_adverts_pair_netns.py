"""The pair's adverts as a second liveness path, with real units on two hosts (SPEC 5b'; issue
18 point 2): ``hapair serve`` in the namespaces of a ``tests.netns.Lan`` (``LanPair``), faults
made by nftables rules on the bridge, in the LAN's own namespace:

- the HTTP path between the units dropped (every TCP packet between 192.0.2.11 and .12) while
  the adverts flow: no failover for 2 x ha_timeout, ``links.heartbeat`` false and the alert
  ``update-link-down`` on the standby; back when the rule goes;
- multicast dropped (an IGMP-snooping switch): ``links.advert`` false and ``advert-path-down``;
  PATCH ``use_broadcast`` true and it is true again within 5 s; no role changes throughout.

Every rule is removed in ``finally`` (and goes with the LAN's namespace anyway).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hapair.cli.up_netns import IPV4, SHARED_IP
from tests.integration.conflicts_harness import hold
from tests.integration.lanpair import HA_TIMEOUT, LanPair
from tests.netns import Lan, needs_netns
from tests.support import poll

pytestmark = [
    pytest.mark.timeout(150),
    needs_netns(),
    pytest.mark.skipif(shutil.which("nft") is None, reason="nftables (nft) is not installed"),
]

TABLE = "hpadvpair"


def _nft(lan: Lan, *args: str, rules: str | None = None) -> None:
    subprocess.run(["ip", "netns", "exec", lan.lan, "nft", *args], input=rules, text=True,
                   check=True, capture_output=True)  # fmt: skip


@contextmanager
def bridge_drop(lan: Lan, match: str) -> Iterator[None]:
    """A rule on the LAN's bridge that drops what ``match`` says, removed on the way out."""
    rules = (
        f"table bridge {TABLE} {{\n chain c {{\n  type filter hook forward priority 0\n"
        f"  {match} drop\n }}\n}}\n"
    )
    _nft(lan, "-f", "-", rules=rules)
    try:
        yield
    finally:
        _nft(lan, "delete", "table", "bridge", TABLE)


def http_between_units() -> str:
    """Every TCP packet between the units' hosts (their addresses and the shared one, which
    the active's host holds): heartbeats, replication, the hand-over calls. The client's
    traffic (192.0.2.100) passes."""
    units = f"{{ {IPV4['first']}, {IPV4['second']}, {SHARED_IP} }}"
    return f"ip saddr {units} ip daddr {units} meta l4proto tcp"


class RoleWatch:
    """Records each unit's role as it says itself, from the client, all along."""

    def __init__(self, pair: LanPair) -> None:
        self.pair = pair
        self.stop = threading.Event()
        self.seen: dict[str, set[str]] = {"first": set(), "second": set()}
        self.errors = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for name in ("first", "second"):
                try:
                    self.seen[name].add(self.pair.me(name)["role"])
                except Exception:  # an answer that did not come in time: no claim
                    self.errors += 1
            self.stop.wait(0.1)

    def __enter__(self) -> RoleWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(10)


def links(pair: LanPair, name: str) -> dict[str, Any]:
    found: dict[str, Any] = pair.me(name)["links"]
    return found


def alerts(pair: LanPair, name: str) -> list[str]:
    return [a["reason"] for a in pair.me(name)["alerts"]]


def applied(pair: LanPair, name: str) -> dict[str, Any]:
    r = pair.request("GET", f"{pair.url(name)}/api/v1/ha/parameters/applied")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_http_lost_while_the_adverts_flow_fails_nothing_over(lan_pair: LanPair) -> None:
    lan_pair.start_pair()
    for name in ("first", "second"):
        poll(lambda n=name: links(lan_pair, n)["advert"], timeout=10,  # type: ignore[misc]
             what=f"{name} hears its partner's adverts")  # fmt: skip

    def multicast_applied() -> bool:
        units = applied(lan_pair, "first")["units"]
        return len(units) == 2 and all(
            u["parameters"]["multicast_interface"]["state"] == "applied"
            and u["parameters"]["use_broadcast"]["state"] == "applied"
            for u in units
        )

    poll(multicast_applied, timeout=10, what="multicast_interface, use_broadcast applied")
    with RoleWatch(lan_pair) as watch:
        cut = time.monotonic()
        with bridge_drop(lan_pair.lan, http_between_units()):
            poll(lambda: not links(lan_pair, "second")["heartbeat"], timeout=3 * HA_TIMEOUT,
                 what="second's links.heartbeat false")  # fmt: skip
            noticed = time.monotonic() - cut
            second = poll(lambda: lan_pair.me("second"), timeout=5, what="second's status")
            assert second["links"] == {"heartbeat": False, "update": False, "advert": True}
            # the links are as of the status call, the alerts as of the engine's last step:
            # the alert comes with the step after the heartbeats' ha_timeout (a tick at most)
            poll(lambda: "update-link-down" in alerts(lan_pair, "second"), timeout=5,
                 what="second's update-link-down alert")  # fmt: skip
            checks = hold(
                2 * HA_TIMEOUT,
                lambda: (
                    lan_pair.me("second")["role"] == "standby" and lan_pair.shared_name() == "first"
                ),
                "second stayed standby, first on the shared address",
            )
        poll(lambda: links(lan_pair, "second")["heartbeat"], timeout=10,
             what="heartbeats again once the rule is gone")  # fmt: skip
        poll(lambda: "update-link-down" not in alerts(lan_pair, "second"), timeout=10,
             what="the alert to end")  # fmt: skip
    print(
        f"HTTP path dropped: links.heartbeat false on second {noticed:.2f} s after the rule; "
        f"second standby and first on the shared address in {checks} checks over "
        f"{2 * HA_TIMEOUT} s; roles seen meanwhile: {watch.seen} ({watch.errors} status calls "
        "timed out)"
    )
    assert watch.seen == {"first": {"active"}, "second": {"standby"}}
    poll(lambda: lan_pair.shared_name() == "first", timeout=5, what="first on the shared address")


def test_multicast_dropped_then_use_broadcast_brings_the_adverts_back(
    lan_pair: LanPair,
) -> None:
    lan_pair.start_pair()
    for name in ("first", "second"):
        poll(lambda n=name: links(lan_pair, n)["advert"], timeout=10,  # type: ignore[misc]
             what=f"{name} hears its partner's adverts")  # fmt: skip
    with RoleWatch(lan_pair) as watch:
        with bridge_drop(lan_pair.lan, "meta pkttype multicast"):
            poll(
                lambda: (
                    not links(lan_pair, "first")["advert"]
                    and not links(lan_pair, "second")["advert"]
                ),
                timeout=3 * HA_TIMEOUT,
                what="links.advert false on both",
            )
            poll(lambda: "advert-path-down" in alerts(lan_pair, "second"), timeout=10,
                 what="advert-path-down on second")  # fmt: skip
            patched = time.monotonic()
            lan_pair.patch({"use_broadcast": True})
            poll(
                lambda: links(lan_pair, "first")["advert"] and links(lan_pair, "second")["advert"],
                timeout=5,
                what="links.advert true on both within 5 s of use_broadcast",
            )
            took = time.monotonic() - patched
            poll(lambda: "advert-path-down" not in alerts(lan_pair, "second"), timeout=5,
                 what="advert-path-down to end")  # fmt: skip

            def broadcast_applied() -> bool:
                body = applied(lan_pair, "second")
                units = body.get("units", [body])
                return all(
                    u["parameters"]["use_broadcast"]["state"] == "applied"
                    and "broadcast" in u["parameters"]["use_broadcast"]["detail"]
                    for u in units
                )

            poll(broadcast_applied, timeout=5, what="use_broadcast applied on both")
        poll(
            lambda: (
                links(lan_pair, "first")["heartbeat"] and links(lan_pair, "second")["heartbeat"]
            ),
            timeout=5,
            what="heartbeats flowing",
        )
    print(
        f"multicast dropped: adverts back {took:.2f} s after PATCH use_broadcast; roles seen "
        f"meanwhile: {watch.seen}"
    )
    assert watch.seen == {"first": {"active"}, "second": {"standby"}}
