"""The update link in the core (SPEC 5b' ``update_interface``): heartbeats over either link keep
the partner alive, ``links`` tells each link apart, ``update-link-down`` is raised while the
update link carries nothing and the partner is heard another way, and the pair is not in sync
without the update link (replication runs there). The applied state of ``update_interface``."""

from __future__ import annotations

from hapair.engine.core import machine as m
from hapair.engine.dataplane.applied import update_state
from hapair.engine.pairlink.messages import UpdateLinkReport
from tests.unit.test_machine import SHARED, hb, run, transitions

TIMEOUT = 3.0


def standby() -> m.State:
    """``second``, standby of an active ``first``, a separate update link in use, heard over
    both links at 100.0, its replica of first's Redis up."""
    config = m.Config(unit="second", mode="second", shared_address=SHARED)
    s, _ = m.boot(config, m.Params(ha_timeout=TIMEOUT), 0, 100.0, 1000.0)
    s, _ = run(
        s,
        m.UpdateLinkSeen(now=100.0, separate=True),
        m.Heard(now=100.0, heartbeat=hb("first", role="active", sent_at=1000.0)),
        m.Heard(now=100.0, heartbeat=hb("first", role="active", via="update", sent_at=1000.0)),
        m.Tick(now=100.0),
        m.Replicating(now=100.0, url="redis://first", link_up=True),
    )
    assert s.role == "standby"
    assert m.in_sync(s, 100.0)
    return s


def beat(t: float, *, via: str = "") -> m.Heard:
    return m.Heard(now=t, heartbeat=hb("first", role="active", via=via, sent_at=t + 900.0))


def test_update_link_down_no_failover_alert_and_not_in_sync() -> None:
    """Only the direct link carries heartbeats for 2 x ha_timeout: no failover, links.update
    false, the pair not in sync, the alert raised once; back, and everything is as before."""
    s = standby()
    raised: list[tuple[str, bool]] = []
    for t in range(101, 108):
        s, actions = run(s, beat(t), m.UpdateLinkSeen(now=t, separate=True), m.Tick(now=t))
        assert s.role == "standby" and not transitions(actions), t
        raised += [(a.reason, a.raised) for a in actions if isinstance(a, m.Alert)]
    links = m.links(s, 107.0)
    assert (links.heartbeat, links.update) == (True, False)
    assert not m.in_sync(s, 107.0)
    assert raised == [("update-link-down", True)]
    assert [a.reason for a in s.alerts] == ["update-link-down"]
    s, actions = run(s, beat(108.0, via="update"), m.Tick(now=108.0))
    assert [(a.reason, a.raised) for a in actions if isinstance(a, m.Alert)] == [
        ("update-link-down", False)
    ]
    assert m.links(s, 108.0).update and m.in_sync(s, 108.0)


def test_direct_link_down_the_update_link_keeps_the_partner() -> None:
    """The direct link is cut, the update link still carries heartbeats: no failover past
    the direct link's deadline, links.heartbeat false, links.update true, no alert."""
    s = standby()
    for t in range(101, 110):
        s, actions = run(s, beat(t, via="update"), m.Tick(now=t))
        assert s.role == "standby" and not transitions(actions), t
    links = m.links(s, 109.0)
    assert (links.heartbeat, links.update) == (False, True)
    assert s.alerts == ()
    assert m.deadline(s) == 109.0 + TIMEOUT


def test_both_links_down_is_a_failover() -> None:
    s = standby()
    s, actions = run(s, m.Deadline(now=100.0 + TIMEOUT, due=100.0 + TIMEOUT))
    assert transitions(actions) == [("standby", "active", "partner-lost")]


def test_a_stale_heartbeat_still_shows_its_link_up() -> None:
    """Both links carry the same heartbeats: the one that comes second over its link is stale
    news, but it came over that link."""
    s = standby()
    late = hb("first", role="active", via="update", sent_at=1003.9)
    s, _ = run(s, beat(104.0), m.Heard(now=104.1, heartbeat=late))
    assert s.update_at == 104.1
    assert m.links(s, 106.0).update


def test_without_a_separate_update_link_it_follows_the_heartbeats() -> None:
    s = standby()
    s, _ = run(s, m.UpdateLinkSeen(now=100.5, separate=False))
    links = m.links(s, 101.0)
    assert links.update == links.heartbeat is True
    for t in range(101, 108):
        s, _ = run(s, beat(t), m.UpdateLinkSeen(now=t, separate=False), m.Tick(now=t))
    assert m.links(s, 107.0).update and s.alerts == ()


def test_applied_state_of_update_interface() -> None:
    assert update_state(one_host=True, report=None).state == "unsupported"
    assert update_state(one_host=False, report=None).state == "pending"
    no_if = UpdateLinkReport(interface="sync0", partner_heard=True, error="no interface sync0")
    state = update_state(one_host=False, report=no_if)
    assert state.state == "failed" and "no interface sync0" in state.detail
    assert "direct link" in state.detail
    lonely = UpdateLinkReport(interface="sync0", local="198.51.100.11", partner_heard=True)
    state = update_state(one_host=False, report=lonely)
    assert state.state == "failed" and "the partner has no address on sync0" in state.detail
    both = UpdateLinkReport(
        interface="sync0", local="198.51.100.11", partner="198.51.100.12", partner_heard=True
    )
    state = update_state(one_host=False, report=both)
    assert state.state == "applied" and "198.51.100.12" in state.detail
    unheard = UpdateLinkReport(interface="sync0", local="198.51.100.11")
    assert update_state(one_host=False, report=unheard).state == "pending"


def test_pick_takes_the_partners_address_in_this_units_subnet() -> None:
    from hapair.engine.adapters.uplink import pick

    mine = ["198.51.100.11/24", "fd01::11/64"]
    assert pick(mine, ["10.0.0.2/8", "198.51.100.12/24"]) == ("198.51.100.11", "198.51.100.12")
    assert pick(mine, ["fd01::12/64"]) == ("fd01::11", "fd01::12")
    assert pick(mine, ["10.0.0.2/8"]) == ("198.51.100.11", None)
    assert pick([], ["10.0.0.2/8"]) == (None, None)


def test_replication_off_the_update_link_keeps_in_sync_without_it() -> None:
    """With hapair's TLS tunnel (or a ``--redis`` of the operator's) replication keeps to the
    direct address: the update link's loss is still shown (links.update, the alert) but the
    pair stays in sync."""
    s = standby()
    for t in range(101, 108):
        s, _ = run(
            s, beat(t), m.UpdateLinkSeen(now=t, separate=True, replication=False), m.Tick(now=t)
        )
    assert not m.links(s, 107.0).update
    assert [a.reason for a in s.alerts] == ["update-link-down"]
    assert m.in_sync(s, 107.0)
