"""The event stream's rules and the maintenance record, in the pure core (``core/tell.py``):
step in, actions out. The node only writes the ``Emit`` actions and saves ``SaveMaintenance``;
what a client of ``/ha/events`` receives is proven with real units in tests/inprocess/
test_events.py and tests/integration/test_maintenance.py."""

from __future__ import annotations

from dataclasses import replace

from hapair.domain.status import Role
from hapair.engine.core import machine as m
from tests.unit.test_machine import active, booted, hb, run
from tests.unit.test_machine_deadline import standby


def emitted(actions: list[m.Action], kind: str | None = None) -> list[dict[str, object]]:
    return [dict(a.data) for a in actions if isinstance(a, m.Emit) and kind in (None, a.kind)]


def saves(actions: list[m.Action]) -> list[m.SaveMaintenance]:
    return [a for a in actions if isinstance(a, m.SaveMaintenance)]


# ---- role and pair -------------------------------------------------------------------------


def test_becoming_active_emits_its_role_once_and_flushes_once() -> None:
    s, actions = run(booted(), m.Tick(now=101.0))
    assert s.role == "active"
    roles = emitted(actions, "role")
    assert roles == [
        {"unit": "first", "from": "not_operational", "to": "active", "cause": "boot-alone"}
    ]
    assert [a for a in actions if isinstance(a, m.FlushEvents)] == [m.FlushEvents()]
    role_at = next(a.at for a in actions if isinstance(a, m.Emit) and a.kind == "role")
    assert role_at == s.last_transition.at if s.last_transition else False
    s, actions = run(s, m.Tick(now=102.0), m.Tick(now=103.0))
    assert emitted(actions, "role") == [] and not any(isinstance(a, m.FlushEvents) for a in actions)


def test_a_standby_does_not_write_its_own_role_change() -> None:
    """Its Redis is a replica: the active writes it, from its heartbeat."""
    _, actions = run(booted(), m.Heard(now=100.1, heartbeat=hb(role="active")))
    assert [a for a in actions if isinstance(a, m.Transitioned)]
    assert emitted(actions) == []


def test_the_serving_active_emits_a_pair_event_when_its_partner_changes() -> None:
    s, actions = run(booted(), m.Tick(now=101.0))
    assert emitted(actions, "pair") == [{"state": "degraded", "active": "first"}]
    s, actions = run(s, m.Heard(now=101.5, heartbeat=hb("second", status_role="standby")))
    assert emitted(actions, "pair") == [{"state": "paired", "active": "first"}]
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb("second", status_role="standby")))
    assert emitted(actions, "pair") == []  # the same pair: no news
    s, actions = run(s, m.Tick(now=105.0))  # the partner unheard for ha_timeout
    assert emitted(actions, "pair") == [{"state": "degraded", "active": "first"}]


def test_what_was_told_outlives_an_in_process_reboot() -> None:
    """The node hands the last boot's memory to the next: no second pair event for the same
    pair."""
    s, _ = run(booted(), m.Tick(now=101.0))
    config = m.Config(unit="first", mode="first", shared_address=s.config.shared_address)
    again, _ = m.boot(config, s.params, 0, 200.0, 1100.0, told=s.told)
    _, actions = run(again, m.Tick(now=201.0))
    assert emitted(actions, "pair") == []
    assert emitted(actions, "role")  # its own role change is news
    fresh, _ = m.boot(config, s.params, 0, 200.0, 1100.0)
    _, actions = run(fresh, m.Tick(now=201.0))
    assert emitted(actions, "pair") == [{"state": "degraded", "active": "first"}]


# ---- the partner's news, written by the active ----------------------------------------------


def test_the_active_writes_the_partners_role_changes_once() -> None:
    s = active()
    change = {"from_role": "not_operational", "to_role": "standby", "cause": "boot-partner-active"}
    t = {**change, "at": 1001.5}
    s, actions = run(s, m.Heard(now=101.5, heartbeat=hb(last_transition=t)))
    assert emitted(actions, "role") == [
        {
            "unit": "second",
            "from": "not_operational",
            "to": "standby",
            "cause": "boot-partner-active",
        }
    ]
    assert next(a.at for a in actions if isinstance(a, m.Emit) and a.kind == "role") == 1001.5
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb(last_transition=t)))
    assert emitted(actions, "role") == []


def test_the_active_writes_the_partners_maintenance_changes_not_its_first_state() -> None:
    s = active()
    s, actions = run(s, m.Heard(now=101.5, heartbeat=hb(maintenance=True, maintenance_reason="x")))
    assert emitted(actions, "maintenance") == []  # the first heard is the baseline
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb()))
    assert emitted(actions, "maintenance") == [{"unit": "second", "enabled": False, "reason": None}]
    s, actions = run(s, m.Heard(now=102.5, heartbeat=hb(maintenance=True, maintenance_reason="y")))
    assert emitted(actions, "maintenance") == [{"unit": "second", "enabled": True, "reason": "y"}]


def test_a_stale_heartbeat_tells_nothing() -> None:
    """Older than what the partner already said: no news from it (it would flip the partner's
    maintenance back and forth)."""
    s = active()
    s, _ = run(s, m.Heard(now=101.5, heartbeat=hb(boot_id="b", sent_at=1002.0)))
    old = hb(boot_id="b", sent_at=1001.0, maintenance=True)
    _, actions = run(s, m.Heard(now=102.0, heartbeat=old))
    assert emitted(actions) == []


# ---- this unit's alerts and tracks -----------------------------------------------------------


def test_a_standby_leaves_its_alerts_to_the_active() -> None:
    skewed = hb(role="active", sent_at=1000.0 + 30.0)  # 30 s ahead of this unit's clock
    _, actions = run(standby(), m.Heard(now=100.5, heartbeat=skewed))
    assert [a.reason for a in actions if isinstance(a, m.Alert)] == ["clock-skew"]
    assert emitted(actions, "alert") == []  # its active partner writes it, from its heartbeat


def test_a_lone_unit_writes_its_own_track_events() -> None:
    config = m.Config(unit="first", mode="first", shared_address=None, tracks=("web",))
    s, _ = m.boot(config, m.Params(ha_timeout=3.0), 0, 100.0, 1000.0)
    s, _ = run(s, m.TrackChanged(now=100.5, name="web", ok=True), m.Tick(now=101.0))
    s, actions = run(s, m.TrackChanged(now=101.5, name="web", ok=False, detail="refused"))
    assert m.publishes(s, 101.5)
    assert emitted(actions, "track") == [
        {
            "unit": "first",
            "name": "web",
            "ok": False,
            "detail": "refused; stays active: the partner is not reachable",
        }
    ]


# ---- maintenance -----------------------------------------------------------------------------


def test_maintenance_set_on_a_standby_is_saved_once_with_its_reason() -> None:
    s = standby()
    s, actions = run(s, m.MaintenanceSet(now=100.6, request=1, enabled=True, reason="disk"))
    assert m.Reply(1) in actions
    assert saves(actions) == [m.SaveMaintenance(True, "disk", m.wall(s, 100.6))]
    assert (s.maintenance, s.maintenance_reason) == (True, "disk")
    assert emitted(actions, "maintenance") == []  # the active partner tells it
    assert m.heartbeat(s, 100.7).maintenance_reason == "disk"
    s, actions = run(s, m.MaintenanceSet(now=100.8, request=2, enabled=True, reason="disk"))
    assert saves(actions) == [] and s.maintenance_since == m.wall(s, 100.6)  # nothing new
    s, actions = run(s, m.MaintenanceSet(now=100.9, request=3, enabled=True, reason="fans"))
    assert saves(actions) == [m.SaveMaintenance(True, "fans", m.wall(s, 100.9))]
    s, actions = run(s, m.MaintenanceSet(now=101.0, request=4, enabled=False, reason="fans"))
    assert saves(actions) == [m.SaveMaintenance(False, None, None)]
    s, actions = run(s, m.MaintenanceSet(now=101.1, request=5, enabled=False))
    assert saves(actions) == [] and m.Reply(5) in actions


def test_maintenance_refused_on_the_active_is_not_saved_and_forced_is_saved_and_told() -> None:
    s = active()  # alone: the hand-over checks fail
    s2, actions = run(s, m.MaintenanceSet(now=101.5, request=1, enabled=True, reason="r"))
    assert [a.error for a in actions if isinstance(a, m.Reply)] == ["switchover-refused"]
    assert saves(actions) == [] and not s2.maintenance
    s, actions = run(
        s, m.MaintenanceSet(now=101.5, request=2, enabled=True, reason="r", force=True)
    )
    assert saves(actions) == [m.SaveMaintenance(True, "r", m.wall(s, 101.5))]
    # no partner heard: this unit writes its own maintenance event
    assert emitted(actions, "maintenance") == [{"unit": "first", "enabled": True, "reason": "r"}]
    assert m.Note("maintenance", (("enabled", True),)) in actions
    assert s.public_role == Role.NOT_OPERATIONAL and s.public_reason == "maintenance"


def test_a_maintenance_hand_over_saves_the_record_when_it_is_done_and_only_then() -> None:
    pending = m.Takeover(request=7, cause="maintenance", reason="swap")
    s = replace(active(), handover=pending)
    s2, actions = run(s, m.HandoverDone(now=101.5, request=7, error="partner-unavailable"))
    assert saves(actions) == [] and not s2.maintenance
    s, actions = run(s, m.HandoverDone(now=101.5, request=7))
    assert saves(actions) == [m.SaveMaintenance(True, "swap", m.wall(s, 101.5))]


def test_the_maintenance_record_kept_in_the_data_dir_is_the_booted_state() -> None:
    config = m.Config(
        unit="first", mode="first", shared_address=None, maintenance=True,
        maintenance_reason="disk", maintenance_since=5.0,
    )  # fmt: skip
    s, _ = m.boot(config, m.Params(), 0, 100.0, 1000.0)
    assert (s.maintenance, s.maintenance_reason, s.maintenance_since) == (True, "disk", 5.0)
    _, actions = run(s, m.Tick(now=101.0))
    assert saves(actions) == []  # nothing changed: nothing to save


# ---- what the status shows -------------------------------------------------------------------


def test_the_status_shows_active_as_soon_as_the_shared_listener_answers() -> None:
    s, _ = m.step(booted(), m.Tick(now=101.0))  # decided active, its bind not yet reported
    assert s.role == "active" and not s.serving
    assert m.shown(s, serving_now=False) == (Role.NOT_OPERATIONAL, "starting", False)
    assert m.shown(s, serving_now=True) == (Role.ACTIVE, None, True)
    st = standby()
    assert m.shown(st, serving_now=True) == (Role.STANDBY, None, False)
