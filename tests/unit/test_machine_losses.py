"""The engine's pure core in exchanges the simulation found once it lost and delayed messages
(``tests/sim``): each replays one, step by step."""

from __future__ import annotations

from hapair.engine.core import machine as m
from tests.unit.test_machine import active, booted, hb, run, transitions


def test_a_lost_demote_reply_leaves_the_asker_the_role_not_an_empty_pair() -> None:
    """Found by the simulation (message loss): first stepped down for second's takeover and
    holds off for 2 x ha_timeout; its reply was lost, second's request failed. Both standby,
    second lost the stuck rule's negotiation (``first`` wins a tie): no active for the whole
    hold. The unit whose partner holds off after stepping down on request takes the role."""
    first = active("first")
    second, _ = run(booted("second"), m.Heard(now=101.0, heartbeat=m.heartbeat(first, 101.0)))
    second, actions = run(second, m.TakeoverAsked(now=101.5, request=3))
    first, actions = run(first, m.DemoteAsked(now=101.5, request=9, by="second"))
    assert first.role == "standby" and m.Reply(9, demoted=True) in actions
    for now in (102.0 + i / 2 for i in range(10)):  # up to ha_timeout + 2 heartbeats after
        said = {u.config.unit: m.heartbeat(u, now) for u in (first, second)}
        second, _ = run(second, m.Heard(now=now, heartbeat=said["first"]), m.Tick(now=now))
        first, _ = run(first, m.Heard(now=now, heartbeat=said["second"]), m.Tick(now=now))
    second, actions = run(second, m.PartnerDemoteFailed(now=106.5, request=3, error="x"))
    assert m.Reply(3, "partner-unavailable", "x") in actions  # the request timed out
    assert first.role == "standby"  # holding: it never takes the role back
    assert second.role == "active" and second.cause == "boot-negotiated"


def test_a_partner_starting_in_maintenance_is_not_waited_for() -> None:
    """Found by the simulation (message loss): second restarted, the answer to its first
    heartbeat was lost, and maintenance was enabled while it was still starting. A unit in
    maintenance never decides: first (standby, or starting and losing the negotiation) waited
    for it for ever, and the pair had no active."""
    starting = hb(role="starting", maintenance=True)
    s, actions = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    s, actions = run(s, m.Heard(now=101.0, heartbeat=starting), m.Tick(now=101.0))
    assert transitions(actions) == [("standby", "active", "maintenance")]
    s = booted(params=m.Params(ha_timeout=3.0, preferred_server="second"))
    s, actions = run(s, m.Heard(now=100.5, heartbeat=starting), m.Tick(now=101.0))
    assert s.role == "active"


def test_active_loser_yields_to_a_grey_winner_whose_active_heartbeat_was_lost() -> None:
    """Found by the simulation (message loss): the winner could not bind (the loser held the
    address) and went grey each time it heard the loser, active again at its tick; the one
    heartbeat that said it was active was lost each time, and the loser stayed active."""
    s = active("second")
    won = {"from_role": "not_operational", "to_role": "indeterminate", "cause": "split-brain-won"}
    winner = hb("first", role="indeterminate", active_since=2000.0, last_transition=won)
    s, actions = run(s, m.Heard(now=102.0, heartbeat=winner))
    assert s.role == "indeterminate" and m.StopShared() in actions


def test_maintenance_enabled_while_the_partner_steps_down_keeps_this_unit_standby() -> None:
    """Found by the simulation (a delayed demote): maintenance was enabled while the demote
    asked for a takeover was on its way; the partner's answer made the unit active."""
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    s, actions = run(s, m.TakeoverAsked(now=100.5, request=3))
    s, _ = run(s, m.MaintenanceSet(now=100.6, request=4, enabled=True))
    s, actions = run(s, m.PartnerDemoted(now=100.8, request=3))
    assert s.role == "standby" and not transitions(actions)
    assert m.Reply(3, "not-active", "this unit is in maintenance now") in actions
