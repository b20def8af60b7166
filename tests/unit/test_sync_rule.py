"""The one in-sync rule (``machine.sync``, issue 21): same revision and the replication link
up, for the active and the standby alike, and the ``partner-in-sync`` check says the same."""

from __future__ import annotations

from hapair.engine.core import machine as m
from tests.unit.test_machine import active, booted, hb, run


def _standby(revision: int = 4) -> m.State:
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active", revision=revision)))
    s, _ = run(s, m.StoreRead(now=100.1, revision=revision, params=m.Params(ha_timeout=3.0)))
    assert s.role == "standby"
    return s


def _check(s: m.State, now: float) -> m.Check:
    return next(c for c in m.checks(s, now) if c.name == "partner-in-sync")


def test_standby_same_revision_without_its_link_is_not_in_sync() -> None:
    s = _standby()
    assert not m.sync(s, 100.2).in_sync  # no REPLICAOF yet: equal revisions are not enough
    s, _ = run(s, m.Replicating(now=100.3, url="redis://second", link_up=False))
    assert not m.sync(s, 100.4).in_sync  # configured, link not up (full sync under way)
    assert not m.heartbeat(s, 100.4).replicating
    s, _ = run(s, m.Replicating(now=100.5, url="redis://second", link_up=True))
    assert m.sync(s, 100.6).in_sync and m.heartbeat(s, 100.6).replicating
    # a fresher reading of either revision decides; an unread one is never in sync
    assert not m.sync(s, 100.6, partner_revision=5).in_sync
    assert not m.sync(s, 100.6, revision=None).in_sync


def test_standby_link_lost_with_its_redis() -> None:
    s = _standby()
    s, _ = run(s, m.Replicating(now=100.3, url="redis://second", link_up=True))
    s, _ = run(s, m.StoreFailed(now=100.4))
    assert not m.sync(s, 100.5).in_sync and not m.heartbeat(s, 100.5).replicating


def test_active_is_in_sync_only_with_a_replicating_standby_at_its_revision() -> None:
    s = active()
    assert not m.sync(s, 101.1).in_sync  # alone: its replica is not connected
    s, _ = run(s, m.Heard(now=101.2, heartbeat=hb(revision=0, replicating=False)))
    found = m.sync(s, 101.3)
    assert not found.in_sync and not _check(s, 101.3).ok
    assert _check(s, 101.3).detail == found.detail
    assert found.detail == "partner at revision 0, this unit at 0, replication down"
    s, _ = run(s, m.Heard(now=101.4, heartbeat=hb(revision=0, replicating=True)))
    assert m.sync(s, 101.5).in_sync and _check(s, 101.5).ok
    s, _ = run(s, m.StoreRead(now=101.6, revision=1, params=s.params))
    assert not m.sync(s, 101.7).in_sync and not _check(s, 101.7).ok
    # the partner not heard within ha_timeout: not in sync
    s, _ = run(s, m.StoreRead(now=101.8, revision=0, params=s.params))
    assert m.sync(s, 104.5).in_sync is False


def test_hand_over_check_uses_the_revisions_read_under_the_hand_over() -> None:
    s = active()
    s, _ = run(s, m.Heard(now=101.2, heartbeat=hb(revision=0, replicating=True)))
    synced = m.Synced(revision=3, partner_revision=2)
    check = next(c for c in m.checks(s, 101.3, synced=synced) if c.name == "partner-in-sync")
    assert not check.ok and check.detail.startswith("partner at revision 2, this unit at 3")
    unread = m.Synced(revision=None, partner_revision=0)
    check = next(c for c in m.checks(s, 101.3, synced=unread) if c.name == "partner-in-sync")
    assert not check.ok and "this unit at unknown" in check.detail
