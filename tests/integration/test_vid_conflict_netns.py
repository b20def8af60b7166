"""Virtual-ID conflicts with real senders (SPEC 5b' "Virtual ID conflicts"; issue 18 point 3).

A pair (``LanPair``: first 192.0.2.11, second .12, shared .10, so virtual ID 10) runs in the
namespaces of a ``tests.netns.Lan``; on the same bridge, in hosts of their own:

- another hapair pair (another pair key, shared 192.0.2.20, units .21 and .22) PATCHed to
  virtual ID 10;
- a real keepalived (Debian) with a ``vrrp_instance`` whose ``virtual_router_id`` is 10 (its
  virtual address 192.0.2.200, not the pair's).

A pair whose shared address is IPv6 (2001:db8::10, virtual ID 16) sends its adverts to ff02::12
and sees a keepalived with an IPv6 instance (VRRPv3, from its link-local address) the same way.

Each unit of the pair shows one ``virtual-id-conflict`` alert per sender, naming the sender's
address, and the first pair's stream carries the ``alert`` events; no role or icon changes on
either pair (each unit's status polled all along, and no ``role`` event on the stream). Once the
sender stops, the alerts clear by themselves and the stream carries their ends
(``"ended": true``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.cli.up_netns import IPV6, PREFIX4, PREFIX6, SHARED_IP6
from tests.integration.conflicts_harness import (
    UNITS,
    NsPair,
    Stream,
    Watch,
    alert_events,
    conflicts,
    detail,
    hold,
    keepalived,
    keepalived_conf,
    statuses,
    statuses_links,
    stop_keepalived,
    wait_alerts,
    wait_conflicts,
)
from tests.integration.lanpair import LanPair
from tests.netns import needs_netns
from tests.support import poll

pytestmark = [pytest.mark.timeout(180), needs_netns()]

VID = 10  # the pair's automatic virtual ID (192.0.2.10)
OTHER_SHARED = "192.0.2.20"
OTHER = {"first": ("other1", "192.0.2.21", "2001:db8::21"),
         "second": ("other2", "192.0.2.22", "2001:db8::22")}  # fmt: skip
KEEPALIVED = ("vrrp", "192.0.2.30", "2001:db8::30")


@pytest.fixture
def stream_on_first(lan_pair: LanPair) -> Iterator[Stream]:
    """The pair started, then its active's stream followed (so only live events arrive)."""
    lan_pair.start_pair()
    stream = Stream(lan_pair, lan_pair.url("first"))
    try:
        yield stream
    finally:
        stream.close()


def test_another_pair_with_the_same_virtual_id_is_a_conflict_that_clears(
    lan_pair: LanPair, stream_on_first: Stream
) -> None:
    stream = stream_on_first
    mine = {n: lan_pair.url(n) for n in UNITS}
    for host, ipv4, ipv6 in OTHER.values():
        lan_pair.lan.add_host(host, ipv4, ipv6)
    units = {name: (host, ipv4) for name, (host, ipv4, _) in OTHER.items()}
    other = NsPair(lan_pair, "other", units, OTHER_SHARED, PREFIX4)
    other.start()  # virtual ID 20 (192.0.2.20): no conflict yet
    watched = {**mine, **other.units()}
    before = statuses(lan_pair, watched)
    wait_conflicts(lan_pair, mine, [], "no conflict before")
    senders = [OTHER[n][1] for n in UNITS]
    with Watch(lan_pair, mine) as watch, Watch(lan_pair, other.units()) as other_watch:
        started = time.monotonic()
        url = f"{other.shared}/api/v1/ha/parameters"
        r = lan_pair.request("PATCH", url, json={"virtual_id": VID})
        assert r.status_code == 200, r.text
        want = sorted(detail("hapair", s) for s in senders)
        wait_conflicts(lan_pair, mine, want, "both units show both other units as conflicts")
        shown = time.monotonic() - started
        # the other pair sees this one the same way
        theirs = sorted(detail("hapair", s) for s in ("192.0.2.11", "192.0.2.12"))
        urls = {n: other.url(n) for n in UNITS}
        wait_conflicts(lan_pair, urls, theirs, "the other pair shows this one as conflicts")
        wait_alerts(stream, senders, ended=False, what="both units' alert events on the stream")
        other_watch.__exit__()  # what the other pair does once stopped is no conflict's doing
        stopped = time.monotonic()
        other.stop()
        wait_conflicts(lan_pair, mine, [], "the conflicts to clear once the other pair stopped")
        cleared = time.monotonic() - stopped
        wait_alerts(stream, senders, ended=True, what="both units' alert ends on the stream")
    print(
        f"another pair: conflicts shown on both units {shown:.2f} s after its PATCH virtual_id; "
        f"cleared {cleared:.2f} s after it began stopping; roles and icons seen meanwhile: "
        f"{watch.seen}, {other_watch.seen}; alert events: {stream.of('alert')}"
    )
    paired = {"first": ("active", "green-active"), "second": ("standby", "green")}
    assert statuses(lan_pair, mine) == {n: before[n] for n in UNITS} == paired
    assert watch.seen == {n: {before[n]} for n in mine}
    assert other_watch.seen == {label: {before[label]} for label in other.units()}
    assert stream.of("role") == []


ADVERT_INT = 3  # keepalived's seconds between adverts: 6 of the pair's heartbeat intervals


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")
def test_a_keepalived_with_the_virtual_id_as_vrid_is_a_conflict_that_clears(
    lan_pair: LanPair, stream_on_first: Stream, tmp_path: Path
) -> None:
    stream = stream_on_first
    mine = {n: lan_pair.url(n) for n in UNITS}
    host, address, ipv6 = KEEPALIVED
    lan_pair.lan.add_host(host, address, ipv6)
    before = statuses(lan_pair, mine)
    want = [detail("vrrp", address)]
    with Watch(lan_pair, mine) as watch:
        started = time.monotonic()
        conf = keepalived_conf(VID, advert_int=ADVERT_INT)
        proc = keepalived(lan_pair.lan, host, conf, tmp_path)
        try:
            # keepalived sends once master: 3 x advert_int (and a skew) after its start
            wait_conflicts(lan_pair, mine, want, "keepalived's adverts shown as a conflict", 40)
            wait_alerts(stream, [address], ended=False, what="both units' alerts on the stream")
            shown = time.monotonic() - started
            # it lasts while keepalived sends (each advert_int apart, longer than 3 of the
            # pair's intervals): held over 3 of its adverts, one alert per unit, no end
            hold(
                3 * ADVERT_INT,
                lambda: all(conflicts(lan_pair, mine[n], n) == want for n in UNITS),
                "the conflict lasts",
            )
            assert alert_events(stream, address, ended=True) == set()
        finally:
            stopped = time.monotonic()
            stop_keepalived(proc)
        wait_conflicts(lan_pair, mine, [], "the conflict to clear once keepalived stopped", 40)
        cleared = time.monotonic() - stopped
        wait_alerts(stream, [address], ended=True, what="both units' alert ends on the stream")
    print(
        f"keepalived (advert_int {ADVERT_INT}): conflict shown on both units {shown:.2f} s after "
        f"it started (it sends once master, 3 x advert_int after its start); cleared "
        f"{cleared:.2f} s after SIGTERM; roles and icons seen meanwhile: {watch.seen}; alert "
        f"events: {stream.of('alert')}"
    )
    raised = [e for e in stream.of("alert") if not e["ended"]]
    assert sorted(e["unit"] for e in raised) == list(UNITS), "one alert per unit, no flapping"
    assert statuses(lan_pair, mine) == before
    assert watch.seen == {label: {before[label]} for label in mine}
    assert stream.of("role") == []
    assert lan_pair.lan.holders("192.0.2.200") == []  # keepalived's address went with it


VID6 = 0x10  # the automatic virtual ID of 2001:db8::10


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")
def test_an_ipv6_pair_sends_to_ff02_12_and_sees_an_ipv6_keepalived(
    lan_pair: LanPair, tmp_path: Path
) -> None:
    """A pair whose shared address is IPv6 (2001:db8::10, direct addresses IPv6 too): its
    adverts go to ff02::12 and arrive both ways; a keepalived with an IPv6 instance (VRRPv3 to
    ff02::12, from its link-local address) whose VRID is the virtual ID is a conflict on both
    units, which clears once keepalived stops; no role or icon changes."""
    units = {name: (name, IPV6[name]) for name in UNITS}
    six = NsPair(lan_pair, "six", units, SHARED_IP6, PREFIX6)
    six.start()
    mine = {n: six.url(n) for n in UNITS}

    def adverts_arrive() -> bool:
        return all(statuses_links(lan_pair, url, n)["advert"] for n, url in mine.items())

    poll(adverts_arrive, timeout=15, what="each unit hears its partner's IPv6 adverts")
    r = lan_pair.request("GET", f"{six.url('first')}/api/v1/ha/parameters/applied")
    assert r.status_code == 200, r.text
    details = {u["parameters"]["multicast_interface"]["detail"] for u in r.json()["units"]}
    assert details == {"adverts on eth0 to [ff02::12]:9112"}, details
    host, address, ipv6 = "vrrp6", "192.0.2.31", "2001:db8::31"
    lan_pair.lan.add_host(host, address, ipv6)
    sender = lan_pair.lan.link_local(host)
    before = statuses(lan_pair, mine)
    with Watch(lan_pair, mine) as watch:
        proc = keepalived(lan_pair.lan, host, keepalived_conf(VID6, ipv6=True), tmp_path)
        try:
            wait_conflicts(lan_pair, mine, [detail("vrrp", sender)],
                           "the IPv6 keepalived shown as a conflict", 40)  # fmt: skip
        finally:
            stop_keepalived(proc)
        wait_conflicts(lan_pair, mine, [], "the conflict to clear once keepalived stopped", 40)
        assert adverts_arrive()
    print(f"IPv6 pair: applied {details}; keepalived from {sender}; seen {watch.seen}")
    assert statuses(lan_pair, mine) == before == {
        "first": ("active", "green-active"), "second": ("standby", "green")}  # fmt: skip
    assert watch.seen == {n: {before[n]} for n in mine}
