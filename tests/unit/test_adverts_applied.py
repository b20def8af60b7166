"""The applied state of the advert parameters (SPEC 5b'): ``applied`` only once adverts went
out that way, ``failed`` with the reason, ``unsupported`` on one host; and the adapter's report
when the interface is missing."""

from __future__ import annotations

import asyncio

from hapair.domain.parameters import HAParameters
from hapair.engine.adapters.adverts import UdpAdverts
from hapair.engine.dataplane.applied import links_state
from hapair.engine.messages import AdvertsReport
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
