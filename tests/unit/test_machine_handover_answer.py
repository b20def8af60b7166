"""The engine's pure core: a switchover's answer lists the checks evaluated once, when the
hand-over was asked (issue 20: a 200 once listed a failed ``partner-in-sync``, read again later)."""

from __future__ import annotations

from hapair.engine.core import machine as m
from tests.unit.test_machine import hb, run
from tests.unit.test_machine_tracks import booted


def test_switchover_answer_lists_the_checks_it_passed_when_asked() -> None:
    s, _ = run(booted(tracks=()), m.Tick(now=101.0))
    assert s.role == "active"
    s, _ = run(s, m.Heard(now=101.2, heartbeat=hb(role="standby", replicating=True)))
    synced = m.Synced(revision=0, partner_revision=0)
    s, actions = run(s, m.SwitchoverAsked(now=101.3, request=7, synced=synced))
    assert [a for a in actions if isinstance(a, m.AskHandover)], actions
    asked = {c.name: c for c in m.checks(s, 101.3, synced=synced)}
    assert all(c.ok for c in asked.values()), asked
    # the partner's news changes while the hand-over runs: a later reading would fail a check
    s, _ = run(s, m.Heard(now=101.4, heartbeat=hb(role="standby", replicating=False, revision=9)))
    assert not all(c.ok for c in m.checks(s, 101.5))
    _, actions = run(s, m.HandoverDone(now=101.6, request=7))
    [reply] = [a for a in actions if isinstance(a, m.Reply) and a.request == 7]
    assert reply.error is None
    assert reply.checks and all(c.ok for c in reply.checks), reply.checks
    assert {c.name for c in reply.checks} == set(asked)
