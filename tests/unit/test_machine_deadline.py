"""The engine's clock rules: the standby's failover deadline (an event of the core, not the
next tick after it) and the virtual IP's lease (renewed each heartbeat, never put back by a
unit that was frozen past it before it hears its partner). SPEC 5b and 7; issue 23."""

from __future__ import annotations

from hapair.engine.core import machine as m
from tests.unit.test_machine import active, booted, hb, run, transitions


def standby(heard: float = 100.0) -> m.State:
    s, _ = run(booted(), m.Heard(now=heard, heartbeat=hb(role="active")))
    s, _ = run(s, m.Tick(now=heard + 0.5))
    assert s.role == "standby"
    return s


def test_the_deadline_of_a_standby_is_last_heard_plus_ha_timeout() -> None:
    s = standby(100.0)
    assert m.deadline(s) == 103.0
    s, _ = run(s, m.Heard(now=101.37, heartbeat=hb(role="active")))
    assert m.deadline(s) == 101.37 + 3.0
    assert m.deadline(active()) is None  # an active has no failover to decide


def test_the_standby_takes_over_at_the_deadline_itself() -> None:
    s = standby(101.37)
    due = m.deadline(s)
    assert due is not None
    s, actions = run(s, m.Deadline(now=due, due=due))
    assert s.role == "active" and s.serving
    assert transitions(actions) == [("standby", "active", "partner-lost")]
    assert m.ServeShared() in actions


def test_the_deadline_decides_whatever_the_float_rounding_of_the_sum() -> None:
    """125.01 + 3.0 - 125.01 < 3.0 in floats: "the partner answered within ha_timeout" must
    be the same sum as the deadline, or at its own deadline the standby still counts the
    partner as there and decides nothing until the next tick (the simulation's takeover at
    t=7.0 after its deadline t=6.53)."""
    s = standby(125.01)
    due = m.deadline(s)
    assert due is not None and due - 125.01 < 3.0
    s, actions = run(s, m.Deadline(now=due, due=due))
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "partner-lost")]


def test_a_deadline_heard_over_decides_nothing() -> None:
    s = standby(100.0)
    s, _ = run(s, m.Heard(now=102.0, heartbeat=hb(role="active")))
    s, actions = run(s, m.Deadline(now=103.0, due=103.0))  # the timer of the old deadline
    assert s.role == "standby" and not transitions(actions)


def test_a_deadline_missed_while_frozen_waits_for_the_next_tick() -> None:
    """Frozen over its deadline, the unit's last news is old: it hears its partner first."""
    s = standby(100.0)
    s, actions = run(s, m.Deadline(now=103.0 + m.DEADLINE_SLACK + 0.1, due=103.0))
    assert s.role == "standby" and not transitions(actions)
    assert [a.event for a in actions if isinstance(a, m.Note)] == ["deadline-missed"]
    # the tick's exchange came first: the active is there, nothing changes
    s, actions = run(s, m.Heard(now=104.0, heartbeat=hb(role="active")), m.Tick(now=104.0))
    assert s.role == "standby" and not transitions(actions)


def test_the_deadline_waits_for_the_end_of_a_hold() -> None:
    s = active()
    s, _ = run(s, m.Heard(now=101.5, heartbeat=hb(role="standby")))
    s, _ = run(s, m.DemoteAsked(now=102.0, request=7, by="second"))
    assert s.role == "standby" and s.hold_until == 108.0
    assert m.deadline(s) == 108.0  # heard at 101.5 + 3 is earlier: the hold decides


def test_a_unit_in_maintenance_or_pacified_has_no_deadline() -> None:
    s = standby(100.0)
    s, _ = run(s, m.MaintenanceSet(now=100.6, request=1, enabled=True))
    assert m.deadline(s) is None
    assert m.deadline(booted(pacified=True)) is None


def test_the_active_renews_its_lease_every_heartbeat() -> None:
    s = active()
    _, actions = run(s, m.Tick(now=102.0))
    assert m.RenewShared() in actions
    _, actions = run(standby(), m.Tick(now=101.0))
    assert m.RenewShared() not in actions


def test_lease_lost_while_frozen_is_not_put_back_before_hearing_the_partner() -> None:
    """SIGSTOP past the lease: the address is gone; the resumed unit must not add it back
    while its partner (which took over meanwhile) holds it."""
    s = active()
    s, actions = run(s, m.LeaseLost(now=110.0))
    assert not s.serving
    assert (s.public_role, s.public_reason) == ("not_operational", "shared-address-unavailable")
    assert transitions(actions) == [("active", "not_operational", "shared-address-unavailable")]
    s, actions = run(s, m.Tick(now=110.1))
    assert m.ServeShared() not in actions and m.RenewShared() not in actions
    # it hears the partner, active since: the split brain, which it loses (more recent active)
    partner = hb(role="active", active_since=s.active_since + 5, serving_shared=True)
    s, actions = run(s, m.Heard(now=110.2, heartbeat=partner), m.Tick(now=111.0))
    assert m.ServeShared() not in actions
    assert s.role in ("indeterminate", "standby")
    s, actions = run(s, m.Heard(now=111.5, heartbeat=partner), m.Tick(now=112.0))
    assert s.role == "standby" and not s.serving


def test_lease_lost_then_a_standby_partner_heard_puts_the_address_back() -> None:
    s = active()
    s, _ = run(s, m.LeaseLost(now=110.0))
    s, actions = run(s, m.Heard(now=110.2, heartbeat=hb(role="standby")), m.Tick(now=110.5))
    assert m.ServeShared() in actions
    assert s.serving and (s.public_role, s.public_reason) == ("active", None)
    assert s.lease_lost_at is None


def test_lease_lost_and_nobody_heard_for_ha_timeout_puts_the_address_back() -> None:
    s = active()
    s, _ = run(s, m.LeaseLost(now=110.0))
    s, actions = run(s, m.Tick(now=112.9))
    assert m.ServeShared() not in actions
    s, actions = run(s, m.Tick(now=113.0))
    assert m.ServeShared() in actions and s.serving


def test_lease_lost_when_not_serving_changes_nothing() -> None:
    s = standby()
    s2, actions = run(s, m.LeaseLost(now=101.0))
    assert s2 == s and actions == []
