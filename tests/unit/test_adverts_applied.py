"""The applied state of the advert parameters (SPEC 5b'): ``applied`` only once adverts went
out that way, ``failed`` with the reason, ``unsupported`` on one host; and the adapter's report
when the interface is missing."""

from __future__ import annotations

import asyncio

from hapair.domain.parameters import HAParameters
from hapair.engine.adapters.adverts import UdpAdverts, is_ipv6
from hapair.engine.dataplane.applied import links_state
from hapair.engine.pairlink.messages import AdvertsReport
from hapair.keyring import Keyring

PARAMS = HAParameters(multicast_interface="eth1", use_broadcast=False)


def state(name: str, adverts: AdvertsReport | None, *, one_host: bool = False) -> str:
    return links_state(name, one_host=one_host, params=PARAMS, adverts=adverts).state


def test_one_host_and_no_shared_interface_are_unsupported() -> None:
    got = links_state("multicast_interface", one_host=True, params=PARAMS, adverts=None)
    assert (got.state, got.detail) == ("unsupported", "one host: no adverts")
    assert state("use_broadcast", None) == "unsupported"


def test_applied_only_once_an_advert_went_out_that_way() -> None:
    report = AdvertsReport(interface="eth1", broadcast=False, destination="224.0.0.18",
                           port=9112, sent=False)  # fmt: skip
    assert state("multicast_interface", report) == "pending"
    sent = AdvertsReport(interface="eth1", broadcast=False, destination="224.0.0.18",
                         port=9112, sent=True)  # fmt: skip
    got = links_state("multicast_interface", one_host=False, params=PARAMS, adverts=sent)
    assert (got.state, got.detail) == ("applied", "adverts on eth1 to 224.0.0.18:9112")
    got = links_state("use_broadcast", one_host=False, params=PARAMS, adverts=sent)
    assert got.state == "applied" and got.detail.startswith("off:")
    # use_broadcast PATCHed on: pending until the link is reopened that way
    on = HAParameters(multicast_interface="eth1", use_broadcast=True)
    assert links_state("use_broadcast", one_host=False, params=on, adverts=sent).state == "pending"


def test_a_missing_interface_is_failed_with_the_reason() -> None:
    adverts = UdpAdverts(port=9112, interval=1.0, keys=Keyring("k" * 20),
                         virtual_id=lambda: 10, pair=lambda: "p")  # fmt: skip
    asyncio.run(adverts.configure(unit="first", interface="nosuch0", broadcast=False))
    report = adverts.report()
    assert report is not None and report.error is not None and "nosuch0" in report.error
    params = HAParameters(multicast_interface="nosuch0")
    for name in ("multicast_interface", "use_broadcast"):
        got = links_state(name, one_host=False, params=params, adverts=report)
        assert got.state == "failed" and "nosuch0" in got.detail
    assert adverts.partner_ago() is None and adverts.conflicts() == ()
    adverts.send(boot_id="b", role="active", revision=1)  # nothing open: nothing sent
    adverts.close()


def test_an_ipv6_pair_reports_its_group_and_all_nodes_in_brackets() -> None:
    """A pair whose shared address is IPv6 sends to ff02::12, or ff02::1 with use_broadcast
    (engine/netif/advert_sockets.py); the adapter picks the family from the shared address."""
    sent = AdvertsReport(interface="eth1", broadcast=False, destination="ff02::12",
                         port=9112, sent=True)  # fmt: skip
    got = links_state("multicast_interface", one_host=False, params=PARAMS, adverts=sent)
    assert (got.state, got.detail) == ("applied", "adverts on eth1 to [ff02::12]:9112")
    on = HAParameters(multicast_interface="eth1", use_broadcast=True)
    all_nodes = AdvertsReport(interface="eth1", broadcast=True, destination="ff02::1",
                              port=9112, sent=True)  # fmt: skip
    got = links_state("use_broadcast", one_host=False, params=on, adverts=all_nodes)
    assert (got.state, got.detail) == (
        "applied", "on: to the all-nodes group (IPv6) [ff02::1]:9112")  # fmt: skip
    assert is_ipv6("[2001:db8::10]:8080") and not is_ipv6("192.0.2.10:8080")
    assert not is_ipv6(None) and not is_ipv6("not an address")
