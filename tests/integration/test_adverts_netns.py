"""Adverts between two hosts (network namespaces on one bridge): multicast, broadcast when a
switch drops multicast, and virtual-ID conflicts from another pair and from a real keepalived
(SPEC 5b'). The links here are ``engine/adverts.AdvertLink`` objects running in each host's
namespace on their own event loop, sending every interval as a unit does."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hapair.cli.lan import enter_netns, ip
from hapair.engine.netif.adverts import AdvertLink, advert_key
from hapair.engine.pairlink.pairauth import pair_id
from hapair.keyring import key_id
from tests.integration.conflicts_harness import keepalived, keepalived_conf, stop_keepalived
from tests.netns import Lan, netns_available
from tests.support import poll

pytestmark = pytest.mark.skipif(netns_available() is not None, reason=str(netns_available()))

INTERVAL = 0.2
PORT = 9112
VID = 42
SHARED = "192.0.2.10:8080"


class HostLink:
    """An ``AdvertLink`` in one host's namespace, sending every ``INTERVAL`` on its own loop."""

    def __init__(self, lan: Lan, host: str, own: str, *, key: str = "pair-key-0123456789",
                 broadcast: bool = False, shared: str = SHARED,
                 ipv6: bool = False) -> None:  # fmt: skip
        self.ns = lan.ns(host)
        keys = [(key_id(key), advert_key(key))]
        self.link = AdvertLink(
            own=own, interface="eth0", port=PORT, broadcast=broadcast, interval=INTERVAL,
            virtual_id=lambda: VID, pair=lambda: pair_id(shared, VID), keys=lambda: keys,
            ipv6=ipv6,
        )  # fmt: skip
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"adverts-{host}", daemon=True)
        self.thread.start()
        assert self.started.wait(10), f"advert link in {host} did not start"
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        enter_netns(self.ns)
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.link.start())
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.started.set()
            return
        self.started.set()
        self.loop.call_soon(self._tick)
        self.loop.run_forever()
        self.link.close()
        self.loop.close()

    def _tick(self) -> None:
        self.link.send(boot_id="b" * 32, role="active", revision=1)
        self.loop.call_later(INTERVAL, self._tick)

    def call(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the link's loop (its state is the loop's)."""
        return asyncio.run_coroutine_threadsafe(_call(fn), self.loop).result(5)

    def heard(self) -> bool:
        return bool(self.call(lambda: self.link.partner_heard(3 * INTERVAL)))

    def conflicts(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = self.call(
            lambda: [(c.sender, c.kind) for c in self.link.conflicts()]
        )
        return found

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _call(fn: Callable[[], Any]) -> Any:
    return fn()


@pytest.fixture
def lan() -> Iterator[Lan]:
    with Lan() as topology:
        yield topology


@pytest.fixture
def links() -> Iterator[list[HostLink]]:
    made: list[HostLink] = []
    yield made
    for link in made:
        link.stop()


def start_pair(lan: Lan, links: list[HostLink], **options: Any) -> tuple[HostLink, HostLink]:
    """The pair's links, first's then second's, with the same ``options``, in ``links`` (the
    fixture stops them)."""
    first = HostLink(lan, "first", "first", **options)
    links.append(first)
    second = HostLink(lan, "second", "second", **options)
    links.append(second)
    return first, second


def _drop_multicast(lan: Lan) -> None:
    rules = (
        "table bridge hpadv {\n chain c {\n  type filter hook forward priority 0\n"
        "  meta pkttype multicast drop\n }\n}\n"
    )
    subprocess.run(["ip", "netns", "exec", lan.lan, "nft", "-f", "-"], input=rules, text=True,
                   check=True)  # fmt: skip


@pytest.mark.skipif(shutil.which("nft") is None, reason="nftables (nft) is not installed")
def test_partner_adverts_arrive_by_multicast_and_by_broadcast_when_multicast_is_dropped(
    lan: Lan, links: list[HostLink]
) -> None:
    first, second = start_pair(lan, links)
    assert first.link.destination == "224.0.0.18"
    poll(lambda: first.heard() and second.heard(), timeout=5, what="adverts both ways")
    assert first.conflicts() == [] and second.conflicts() == []

    _drop_multicast(lan)  # a switch with IGMP snooping that drops the group
    poll(lambda: not first.heard() and not second.heard(), timeout=5, what="adverts lost")

    # use_broadcast: the same adverts to the interface's broadcast address pass.
    for link in links:
        link.stop()
    links.clear()
    first, second = start_pair(lan, links, broadcast=True)
    assert first.link.destination == "192.0.2.255"
    poll(lambda: first.heard() and second.heard(), timeout=5, what="broadcast adverts")
    assert first.conflicts() == [] and second.conflicts() == []
    # Its own broadcast, looped back to it, is not the partner.
    assert first.call(lambda: first.link.received.partner_boot) == "b" * 32


def test_another_pair_with_the_same_virtual_id_is_a_conflict_that_clears(
    lan: Lan, links: list[HostLink]
) -> None:
    first = HostLink(lan, "first", "first")
    links.append(first)
    intruder = HostLink(lan, "client", "first", key="another-pair-key-0123")
    links.append(intruder)
    poll(lambda: first.conflicts() == [("192.0.2.100", "hapair")], timeout=5,
         what="the other pair's adverts seen as a conflict")  # fmt: skip
    assert not first.heard()  # its adverts are no sign of life of a partner
    intruder.stop()
    poll(lambda: first.conflicts() == [], timeout=5, what="the conflict to clear")

    # Same key, but another pair (another shared address): a conflict too.
    other = HostLink(lan, "client", "second", shared="192.0.2.20:8080")
    links.append(other)
    poll(lambda: first.conflicts() == [("192.0.2.100", "hapair")], timeout=5,
         what="another pair with the same key and virtual ID")  # fmt: skip
    assert not first.heard()


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")
def test_a_keepalived_with_the_virtual_id_as_vrid_is_a_conflict_that_clears(
    lan: Lan, links: list[HostLink], tmp_path: Path
) -> None:
    first, second = start_pair(lan, links)
    proc = keepalived(lan, "client", keepalived_conf(VID), tmp_path)
    try:
        want = [("192.0.2.100", "vrrp")]
        poll(lambda: first.conflicts() == want and second.conflicts() == want, timeout=10,
             what="keepalived's VRRP adverts seen as a conflict by both units")  # fmt: skip
        assert first.heard() and second.heard()  # the pair's own adverts still pass
    finally:
        stop_keepalived(proc)
    poll(lambda: first.conflicts() == [] and second.conflicts() == [], timeout=10,
         what="the conflict to clear once keepalived stopped")  # fmt: skip
    assert "192.0.2.200" not in ip("-n", lan.ns("first"), "addr").stdout


# IPv6: a pair whose shared address is IPv6 sends to ff02::12, or to ff02::1 with
# use_broadcast (engine/netif/advert_sockets.py), from each host's link-local address.
SHARED6 = "[2001:db8::10]:8080"


@pytest.mark.skipif(shutil.which("nft") is None, reason="nftables (nft) is not installed")
def test_ipv6_adverts_go_to_ff02_12_and_to_all_nodes_with_use_broadcast(
    lan: Lan, links: list[HostLink]
) -> None:
    for host in ("first", "second"):
        lan.link_local(host)
    first, second = start_pair(lan, links, shared=SHARED6, ipv6=True)
    assert first.link.destination == "ff02::12"
    poll(lambda: first.heard() and second.heard(), timeout=5, what="IPv6 adverts both ways")
    assert first.conflicts() == [] and second.conflicts() == []
    for link in links:
        link.stop()
    links.clear()
    first, second = start_pair(lan, links, shared=SHARED6, ipv6=True, broadcast=True)
    assert first.link.destination == "ff02::1"
    poll(lambda: first.heard() and second.heard(), timeout=5, what="all-nodes adverts")
    assert first.conflicts() == [] and second.conflicts() == []


def test_another_ipv6_pair_with_the_same_virtual_id_is_a_conflict_that_clears(
    lan: Lan, links: list[HostLink]
) -> None:
    sender = lan.link_local("client")
    first = HostLink(lan, "first", "first", shared=SHARED6, ipv6=True)
    links.append(first)
    intruder = HostLink(lan, "client", "first", key="another-pair-key-0123", shared=SHARED6,
                        ipv6=True)  # fmt: skip
    links.append(intruder)
    poll(lambda: first.conflicts() == [(sender, "hapair")], timeout=5,
         what="the other IPv6 pair's adverts seen as a conflict")  # fmt: skip
    assert not first.heard()
    intruder.stop()
    poll(lambda: first.conflicts() == [], timeout=5, what="the conflict to clear")


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")
def test_an_ipv6_keepalived_with_the_virtual_id_as_vrid_is_a_conflict_that_clears(
    lan: Lan, links: list[HostLink], tmp_path: Path
) -> None:
    sender = lan.link_local("client")
    for host in ("first", "second"):
        lan.link_local(host)
    first, second = start_pair(lan, links, shared=SHARED6, ipv6=True)
    proc = keepalived(lan, "client", keepalived_conf(VID, ipv6=True), tmp_path)
    try:
        want = [(sender, "vrrp")]
        poll(lambda: first.conflicts() == want and second.conflicts() == want, timeout=15,
             what="keepalived's IPv6 VRRPv3 adverts seen as a conflict by both")  # fmt: skip
        [c] = first.call(first.link.conflicts)
        assert c.period == 1.0  # its Max Adver Int, 100 centiseconds
        assert first.heard() and second.heard()
    finally:
        stop_keepalived(proc)
    poll(lambda: first.conflicts() == [] and second.conflicts() == [], timeout=10,
         what="the conflict to clear once keepalived stopped")  # fmt: skip
