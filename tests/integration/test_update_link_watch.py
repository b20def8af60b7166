"""The update link reads its interface's addresses only after the kernel told of a change
(``rtnetlink.AddressWatch``, ``adapters/uplink.py``; issue 23 point 5), in a network namespace
of its own: an address added, removed, an interface appearing after the first read, all seen
at the next read; nothing read while nothing changed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from hapair.engine.adapters import uplink as uplink_module
from hapair.engine.adapters.uplink import NetlinkUpdateLink
from hapair.engine.netif import rtnetlink
from tests.netns import ip, needs_netns, netns_executor
from tests.support import poll

pytestmark = needs_netns()


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"hpw-{secrets.token_hex(3)}"
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        ip("netns", "del", name, check=False)


def test_the_watch_tells_of_link_and_address_changes(ns: str) -> None:
    ex = netns_executor(ns)
    try:
        watch = ex.submit(rtnetlink.AddressWatch).result()
        none: frozenset[str] = frozenset()

        def changed(index: int | None, known: frozenset[str] = none) -> bool:
            return bool(ex.submit(watch.changed, index, known).result())

        try:
            changed(None)  # whatever came before
            assert changed(None) is False
            ip("-n", ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
            poll(lambda: changed(None), timeout=5, what="link added")
            assert changed(None) is False  # drained
            index = ex.submit(rtnetlink.Netlink.lookup, "dum0").result()
            ip("-n", ns, "addr", "add", "198.51.100.7/24", "dev", "dum0")
            poll(lambda: changed(index), timeout=5, what="address added")
            known = frozenset({"198.51.100.7/24"})

            def renew_and_elsewhere(n: int) -> None:
                """The same address renewed (a lease, as the virtual IP's), and an address on
                another interface: notifications, none of them changing dum0's addresses.
                Multicast notifications are queued before ``ip`` returns."""
                ip("-n", ns, "addr", "replace", "198.51.100.7/24", "dev", "dum0",
                   "valid_lft", str(30 + n), "preferred_lft", str(30 + n))  # fmt: skip
                ip("-n", ns, "addr", "add", f"203.0.113.{n}/24", "dev", "dum1")

            renew_and_elsewhere(1)
            assert changed(index) is True  # they came (nothing known: each one counts)
            renew_and_elsewhere(2)
            assert changed(index, known) is False  # they came, and change nothing
            ip("-n", ns, "addr", "add", "198.51.100.8/24", "dev", "dum0")
            assert changed(index, known) is True  # a new one
            ip("-n", ns, "addr", "del", "198.51.100.8/24", "dev", "dum0")
            assert changed(index, known | {"198.51.100.8/24"}) is True  # one gone
            assert changed(index, known) is False
        finally:
            ex.submit(watch.close).result()
    finally:
        ex.shutdown()


def test_the_update_link_reads_only_after_a_change(
    ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = rtnetlink.interface_addresses

    def counted(name: str) -> list[str] | None:
        reads.append(name)
        return real(name)

    monkeypatch.setattr(uplink_module.rtnetlink, "interface_addresses", counted)
    link = NetlinkUpdateLink(settings=None, client=lambda *_: None, app=lambda: None)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    ex = netns_executor(ns)

    def read(interface: str = "dum0") -> Any:
        # the loop runs in the namespace's thread: its worker threads are born there too
        return ex.submit(loop.run_until_complete, link._read(interface)).result()

    def quiet() -> bool:
        """A read that reads nothing: what every read is once the kernel is quiet (a late
        notification may still cost one more read). Read at every call, it never is."""
        before = len(reads)
        read()
        return len(reads) == before

    try:
        assert read() is None  # no such interface yet
        assert reads == ["dum0"]
        ip("-n", ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
        assert poll(lambda: read() == [], timeout=5, what="the interface seen")
        poll(quiet, timeout=5, what="no read while nothing changes")
        assert read() == []
        ip("-n", ns, "addr", "add", "198.51.100.7/24", "dev", "dum0")
        assert poll(lambda: read() == ["198.51.100.7/24"], timeout=5, what="the address")
        poll(quiet, timeout=5, what="no read while nothing changes")
        assert read() == ["198.51.100.7/24"]
        assert read("lo") == []  # another interface: read at once (lo has no global address)
        assert reads[-1] == "lo"
        ip("-n", ns, "addr", "del", "198.51.100.7/24", "dev", "dum0")
        assert poll(lambda: read() == [], timeout=5, what="the address gone")
    finally:
        if link._watch is not None:
            ex.submit(link._watch.close).result()
        ex.submit(loop.close).result()
        ex.shutdown()
