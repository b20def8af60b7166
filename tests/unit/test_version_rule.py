"""The N/N+1 rule in the engine's pure core (SPEC 5 "Versions"): protocols at most one apart
pair normally; further apart both units are not_operational / version-skew and neither takes
the role from the other."""

from __future__ import annotations

from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine.core import machine as m
from tests.unit.test_machine import active, booted, hb, run, transitions


def test_heartbeat_carries_version_and_protocol() -> None:
    said = m.heartbeat(booted(), 100.0)
    assert (said.version, said.protocol) == (VERSION, PROTOCOL)


def test_one_protocol_apart_pairs_normally() -> None:
    s, _ = run(booted(), m.Heard(now=100.1, heartbeat=hb(role="active", protocol=PROTOCOL + 1)))
    assert s.role == "standby"
    s, _ = run(active(), m.Heard(now=101.1, heartbeat=hb(protocol=PROTOCOL - 1)))
    assert s.role == "active" and s.public_role == "active"


def test_active_next_to_a_skewed_partner_is_version_skew() -> None:
    s, actions = run(active(), m.Heard(now=101.1, heartbeat=hb(protocol=PROTOCOL + 2)))
    assert (s.public_role, s.public_reason) == ("not_operational", "version-skew")
    assert transitions(actions) == [("active", "not_operational", "version-skew")]
    assert m.StopShared() in actions


def test_booting_unit_next_to_a_skewed_active_does_not_take_the_role() -> None:
    skewed = hb(role="active", protocol=PROTOCOL - 2)
    s, _ = run(booted(), m.Heard(now=100.1, heartbeat=skewed))
    for now in (101.0, 102.0, 103.0):
        s, _ = run(s, m.Heard(now=now, heartbeat=skewed), m.Tick(now=now + 0.5))
        assert (s.role, s.public_reason) == ("not_operational", "version-skew")


def test_standby_does_not_fail_over_on_a_skewed_partner() -> None:
    s, _ = run(booted(), m.Heard(now=100.1, heartbeat=hb(role="active")))
    assert s.role == "standby"
    # the active came back another build, too far apart: not operational, not active
    skewed = hb(role="not_operational", reason="version-skew", protocol=PROTOCOL + 2)
    s, actions = run(s, m.Heard(now=101.0, heartbeat=skewed), m.Tick(now=101.5))
    assert (s.role, s.public_reason) == ("not_operational", "version-skew")
    assert transitions(actions) == [("standby", "not_operational", "version-skew")]
    assert "version-skew" in m.CAUSES
