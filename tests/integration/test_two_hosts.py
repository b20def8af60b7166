"""The pair on two real network stacks, seen by a client on a third (SPEC 5b and 7; issue 9, 2).

``tests.netns.Lan``: namespaces first (192.0.2.11), second (.12) and client (.100) on one bridge.
Each unit runs ``hapair serve`` inside its namespace with its own embedded Redis replicating
across the bridge, and owns the shared address 192.0.2.10 as a virtual IP on ``eth0`` while
active. Every request of the test goes from the client namespace (threads moved there with
``setns``), through the virtual IP, as a client on the LAN would: the client's neighbour table
follows the gratuitous ARPs. Faults: kill -9 of the active, SIGSTOP of the active, a two-way
partition (the active's bridge port down). Failover times are printed (client's view: from the
fault to the first answer of the new active on the shared address); ``bench/failover.py``
gives medians.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hapair.cli.up_netns import SHARED_IP
from tests.integration.lanpair import (
    FAILOVER_BOUND,
    HA_TIMEOUT,
    RESUME_BOUND,
    SETTLE_BOUND,
    SHARED,
    VMAC,
    LanPair,
    StatusWatch,
)
from tests.netns import needs_netns, netns_executor
from tests.storm import WriteStorm
from tests.support import poll

pytestmark = [pytest.mark.timeout(150), needs_netns()]


def storm_in_client(lan_pair: LanPair) -> tuple[WriteStorm, ThreadPoolExecutor]:
    ex = netns_executor(lan_pair.lan.ns("client"), workers=4)
    return WriteStorm(SHARED, lan_pair.token, clients=4, timeout=1.0, executor=ex), ex


def test_kill9_of_the_active_moves_the_virtual_ip_with_no_acknowledged_write_lost(
    lan_pair: LanPair,
) -> None:
    lan_pair.start_pair()
    assert lan_pair.lan.neighbour("client", SHARED_IP) == lan_pair.lan.mac("first")
    storm, ex = storm_in_client(lan_pair)
    try:
        with storm:
            poll(lambda: len(storm.acked) >= 20, timeout=15, what="20 acknowledged writes")
            killed = time.monotonic()
            lan_pair.procs["first"].kill9()
            took = lan_pair.wait_answer_from("second", killed)
            after = storm.count()
            poll(lambda: storm.count() >= after + 10, timeout=10, what="writes on second")
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
    print(f"kill -9: second answered on {SHARED_IP} {took:.2f} s after the kill")
    assert took <= FAILOVER_BOUND
    assert lan_pair.lan.neighbour("client", SHARED_IP) == lan_pair.lan.mac("second")
    assert lan_pair.lan.holders(SHARED_IP, ("second",)) == ["second"]
    # the address answers once bound; the status follows at once after (read it when it has)
    me = poll(
        lambda: (u := lan_pair.me("second"))["role"] == "active" and u["serving_shared"] and u,
        timeout=5,
        what="second active and serving in its status",
    )
    assert me["last_transition"]["cause"] == "partner-lost"
    lan_pair.check_no_acknowledged_write_lost(storm, "second")


def test_sigstop_of_the_active_fails_over_and_the_resumed_unit_yields(lan_pair: LanPair) -> None:
    lan_pair.start_pair()
    first = lan_pair.procs["first"]
    storm, ex = storm_in_client(lan_pair)
    try:
        with StatusWatch(lan_pair, "second") as watch, storm:
            poll(lambda: len(storm.acked) >= 20, timeout=15, what="20 acknowledged writes")
            stopped = time.monotonic()
            os.kill(first.pid, signal.SIGSTOP)
            try:
                took = lan_pair.wait_answer_from("second", stopped)
                after = storm.count()
                poll(lambda: storm.count() >= after + 10, timeout=10, what="writes on second")
                # frozen for longer than ha_timeout in all
                poll(
                    lambda: time.monotonic() - stopped > HA_TIMEOUT + 1,
                    timeout=HA_TIMEOUT + 2,
                    what="a freeze longer than ha_timeout",
                )
            finally:
                os.kill(first.pid, signal.SIGCONT)
            resumed = time.time()
            settled, exchanged = lan_pair.wait_one_holder("second", "first", resumed)
            after = storm.count()
            poll(lambda: storm.count() >= after + 10, timeout=10, what="writes after resume")
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
    print(
        f"SIGSTOP: second answered on {SHARED_IP} {took:.2f} s after the freeze; after SIGCONT "
        f"the address was on second only, second active and first standby within {settled:.2f} s"
        f" ({exchanged:.2f} s after their first heartbeat exchange); second's icons meanwhile: "
        f"{watch.icons()}"
    )
    assert not watch.false_claims(), watch.false_claims()[:5]
    assert took <= FAILOVER_BOUND
    assert settled <= RESUME_BOUND
    assert exchanged <= SETTLE_BOUND
    assert lan_pair.lan.neighbour("client", SHARED_IP) == lan_pair.lan.mac("second")
    assert lan_pair.me("first")["last_transition"]["cause"] == "split-brain-lost"
    lan_pair.check_no_acknowledged_write_lost(storm, "second", every_answer=True)


def test_partition_fails_over_and_the_healed_unit_yields(lan_pair: LanPair) -> None:
    lan_pair.start_pair()
    cut = time.monotonic()
    lan_pair.lan.set_port("first", up=False)
    try:
        took = lan_pair.wait_answer_from("second", cut)
        # first, cut off, still thinks it is active and holds the address on its host
        assert lan_pair.me("first", host="first")["role"] == "active"
        assert lan_pair.lan.holders(SHARED_IP) == ["first", "second"]
        lan_pair.patch({"initial_wait_time": 7})  # second goes on taking writes
    finally:
        lan_pair.lan.set_port("first", up=True)
    healed = time.time()
    settled, exchanged = lan_pair.wait_one_holder("second", "first", healed)
    print(
        f"partition: second answered on {SHARED_IP} {took:.2f} s after the cut; after the heal "
        f"the address was on second only, first standby within {settled:.2f} s "
        f"({exchanged:.2f} s after their first heartbeat exchange)"
    )
    assert took <= FAILOVER_BOUND
    assert settled <= RESUME_BOUND
    assert exchanged <= SETTLE_BOUND
    assert lan_pair.lan.neighbour("client", SHARED_IP) == lan_pair.lan.mac("second")

    def first_has_it() -> bool:
        r = lan_pair.request("GET", f"{lan_pair.url('first')}/api/v1/ha/parameters")
        return bool(r.json()["initial_wait_time"] == 7)

    poll(first_has_it, timeout=5, what="the partition's write replicated to first")


def test_virtual_mac_moves_to_the_new_active(lan_pair: LanPair) -> None:
    lan_pair.start_pair(use_virtual_mac=True)
    killed = time.monotonic()
    lan_pair.procs["first"].kill9()
    took = lan_pair.wait_answer_from("second", killed)
    print(f"kill -9 with use_virtual_mac: second answered {took:.2f} s after the kill")
    assert lan_pair.lan.neighbour("client", SHARED_IP) == VMAC
    assert "hapair-vmac" in lan_pair.lan.addresses("second")
    assert took <= FAILOVER_BOUND
