"""The engine's pure core: tracks (never promote a unit with a failed track, hand over from a
failed active to a fit partner) and the failback delay."""

from __future__ import annotations

from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import TrackInfo
from tests.unit.test_machine import SHARED, hb, run, transitions

OK = [TrackInfo(name="web", ok=True, detail="200")]
FAILED = [TrackInfo(name="web", ok=False, detail="connection refused")]


def booted(
    unit: str = "first", *, params: m.Params | None = None, tracks: tuple[str, ...] = ("web",)
) -> m.State:
    config = m.Config(unit=unit, mode=unit, shared_address=SHARED, tracks=tracks)
    state, _ = m.boot(config, params or m.Params(ha_timeout=3.0), 0, 100.0, 1000.0)
    return state


def track(now: float, ok: bool, detail: str = "", name: str = "web") -> m.TrackChanged:
    return m.TrackChanged(now=now, name=name, ok=ok, detail=detail)


def reports(actions: list[m.Action]) -> list[m.TrackReported]:
    return [a for a in actions if isinstance(a, m.TrackReported)]


def standby_in_sync(params: m.Params | None = None, *, now: float = 100.0) -> m.State:
    """``first`` standby with a healthy track, replicating ``second`` (active) at revision 4."""
    params = params or m.Params(ha_timeout=3.0)
    s = booted(params=params)
    s, _ = run(
        s,
        m.Heard(now=now, heartbeat=hb(role="active", revision=4, tracks=OK)),
        track(now, True, "200"),
        m.Replicating(now=now + 0.1, url="redis://second"),
        m.StoreRead(now=now + 0.1, revision=4, params=params),
    )
    assert s.role == "standby" and m.in_sync(s, now + 0.2)
    return s


def active_with_track() -> m.State:
    s, _ = run(booted(), track(100.5, True, "200"), m.Tick(now=101.0))
    assert s.role == "active" and s.public_role == "active"
    return s


def test_boot_alone_waits_for_the_first_check_of_every_track() -> None:
    s, actions = run(booted(), m.Tick(now=101.0))
    assert s.role == "starting" and s.public_reason == "starting"  # not checked yet
    s, actions = run(s, track(101.2, True, "200"), m.Tick(now=102.0))
    assert s.role == "active"
    assert transitions(actions) == [("not_operational", "active", "boot-alone")]
    assert reports(actions) == []  # a first healthy result tells nothing


def test_a_unit_booting_with_a_failed_track_is_red_and_never_active() -> None:
    s, actions = run(booted(), track(100.5, False, "connection refused"))
    assert (s.public_role, s.public_reason) == ("not_operational", "track-failed")
    assert reports(actions) == [m.TrackReported("web", False, "connection refused")]
    for now in (101.0, 105.0, 120.0):
        s, actions = run(s, m.Tick(now=now))
        assert s.role == "starting" and not any(isinstance(a, m.Promote) for a in actions)
    s, actions = run(s, track(121.0, True, "200"), m.Tick(now=121.5))
    assert s.role == "active"
    assert transitions(actions)[-1] == ("not_operational", "active", "boot-alone")
    assert reports(actions) == [m.TrackReported("web", True, "200")]


def test_a_standby_whose_track_fails_is_red_and_never_fails_over() -> None:
    s = standby_in_sync()
    s, actions = run(s, track(101.0, False, "connection refused"))
    assert (s.public_role, s.public_reason) == ("not_operational", "track-failed")
    assert transitions(actions) == [("standby", "not_operational", "track-failed")]
    assert m.SendHeartbeat() in actions  # the active learns it at once
    s, actions = run(s, m.Tick(now=110.0))  # the active is gone for ha_timeout
    assert s.role == "standby" and not any(isinstance(a, m.Promote) for a in actions)
    s, actions = run(s, track(111.0, True, "200"))
    # recovered: eligible again, and it takes the role its partner left
    assert reports(actions) == [m.TrackReported("web", True, "200")]
    assert s.role == "active"
    assert transitions(actions) == [("not_operational", "active", "partner-lost")]


def test_a_standby_whose_track_recovers_is_green_again_with_cause_track_recovered() -> None:
    s, _ = run(standby_in_sync(), track(101.0, False, "refused"))
    s, actions = run(
        s,
        m.Heard(now=101.5, heartbeat=hb(role="active", revision=4, tracks=OK)),
        track(101.6, True, "200"),
    )
    assert s.role == "standby" and s.public_role == "standby"
    assert transitions(actions) == [("not_operational", "standby", "track-recovered")]


def test_a_standby_with_a_failed_track_refuses_a_takeover() -> None:
    s, _ = run(standby_in_sync(), track(101.0, False, "refused"))
    s, actions = run(s, m.TakeoverAsked(now=101.5, request=3))
    replies = [a for a in actions if isinstance(a, m.Reply)]
    assert replies[0].error == "not-active" and "web: refused" in replies[0].detail
    assert s.role == "standby" and s.takeover is None


def test_a_fit_standby_takes_the_role_from_an_active_whose_track_failed() -> None:
    s = standby_in_sync()
    s, actions = run(s, m.Heard(now=101.0, heartbeat=hb(role="active", revision=4, tracks=FAILED)))
    assert m.AskDemote(None, "track-failed") in actions  # at once, not at the next tick
    s, actions = run(s, m.PartnerDemoted(now=101.2, request=None))
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "track-failed")]


def test_a_standby_not_in_sync_does_not_take_from_a_failed_active() -> None:
    s = standby_in_sync()
    failed = hb(role="active", revision=5, tracks=FAILED)  # a write it does not hold yet
    s, actions = run(s, m.Heard(now=101.0, heartbeat=failed), m.Tick(now=101.5))
    assert not any(isinstance(a, m.AskDemote) for a in actions)


def test_the_failed_active_steps_down_when_its_fit_partner_asks() -> None:
    s, _ = run(
        active_with_track(),
        m.Heard(now=101.2, heartbeat=hb(role="standby", replicating=True, tracks=OK)),
    )
    s, actions = run(s, track(102.0, False, "connection refused"))
    assert s.role == "active"  # the partner decides; it asks at once (its heartbeat is sent)
    [report] = reports(actions)
    assert not report.ok and "until the partner takes the role" in report.detail
    s, actions = run(s, m.DemoteAsked(now=102.1, request=7, by="second", cause="track-failed"))
    assert s.role == "standby" and m.StopShared() in actions
    assert transitions(actions) == [("active", "not_operational", "track-failed")]
    assert (s.public_role, s.public_reason) == ("not_operational", "track-failed")


def test_an_active_whose_partner_is_not_fit_keeps_the_role_and_says_why() -> None:
    s = active_with_track()
    cases = [
        (None, "the partner is not reachable"),
        (hb(role="standby", replicating=True, tracks=FAILED), "the partner's tracks failed too"),
        (hb(role="standby", replicating=False, tracks=OK), "the partner is not in sync"),
        (hb(role="standby", replicating=True, maintenance=True, tracks=OK), "in maintenance"),
    ]
    for partner, why in cases:
        t = s
        if partner is not None:
            t, _ = run(t, m.Heard(now=101.5, heartbeat=partner))
        t, actions = run(t, track(102.0, False, "connection refused"), m.Tick(now=103.0))
        [report] = reports(actions)
        assert t.role == "active" and t.public_role == "active" and t.serving
        assert why in report.detail and "connection refused" in report.detail


def test_a_fit_standby_takes_the_role_nobody_holds_when_its_partner_has_a_failed_track() -> None:
    s = booted()
    red = hb(role="starting", tracks=FAILED)  # the partner booted with a failed track
    s, actions = run(s, m.Heard(now=100.1, heartbeat=red), track(100.2, True, "200"))
    assert s.role == "active"
    assert transitions(actions) == [("not_operational", "active", "boot-negotiated")]
    s = standby_in_sync()
    red = hb(role="standby", tracks=FAILED)  # the active stepped down; the answer was lost
    s, actions = run(s, m.Heard(now=101.0, heartbeat=red))
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "track-failed")]


def test_both_starting_the_fit_unit_wins_over_the_preferred_one() -> None:
    params = m.Params(ha_timeout=3.0, preferred_server="second")
    s = booted(params=params)
    s, _ = run(s, track(100.1, True, "200"))
    starting = hb(role="starting", tracks=[TrackInfo(name="web", ok=False)])
    s, _ = run(s, m.Heard(now=100.2, heartbeat=starting))
    assert s.role == "active"


def test_switchover_check_partner_tracks_ok() -> None:
    s = active_with_track()
    s, _ = run(s, m.Heard(now=101.2, heartbeat=hb(role="standby", replicating=True, tracks=OK)))
    [ok] = [c for c in m.checks(s, 101.5) if c.name == "partner-tracks-ok"]
    assert ok.ok and ok.detail == "1 track healthy"
    s, _ = run(s, m.Heard(now=101.3, heartbeat=hb(role="standby", tracks=FAILED)))
    [bad] = [c for c in m.checks(s, 101.5) if c.name == "partner-tracks-ok"]
    assert not bad.ok and "web: connection refused" in bad.detail
    _, actions = run(s, m.SwitchoverAsked(now=101.6, request=2))
    [reply] = [a for a in actions if isinstance(a, m.Reply)]
    assert reply.error == "switchover-refused"


def test_the_heartbeat_carries_the_tracks() -> None:
    s, _ = run(booted(), track(100.5, False, "refused"))
    assert m.heartbeat(s, 100.6).tracks == [TrackInfo(name="web", ok=False, detail="refused")]


def _preferred_return_at(delay: float) -> tuple[float, float]:
    """(when ``first`` became fit and in sync, when it asked the active to step down)."""
    params = m.Params(ha_timeout=3.0, preferred_server="first", failback_delay=delay)
    s = standby_in_sync(params)
    ready = s.ready_since
    assert ready is not None
    now = 101.0
    while now < 200.0:
        s, actions = run(
            s,
            m.Heard(now=now - 0.01, heartbeat=hb(role="active", revision=4, tracks=OK)),
            m.Tick(now=now),
        )
        if m.AskDemote(None) in actions:
            return ready, now
        now += 1.0
    raise AssertionError("never took the role back")


def test_failback_delay_holds_the_preferred_return() -> None:
    for delay in (0.0, 5.0, 30.0):
        ready, asked = _preferred_return_at(delay)
        assert ready + delay <= asked <= ready + delay + 1.0  # the first tick after it


def test_failback_delay_counts_again_after_a_failed_track() -> None:
    params = m.Params(ha_timeout=3.0, preferred_server="first", failback_delay=5.0)
    s = standby_in_sync(params)
    s, _ = run(s, track(102.0, False, "refused"))
    assert s.ready_since is None
    s, _ = run(
        s,
        m.Heard(now=104.0, heartbeat=hb(role="active", revision=4, tracks=OK)),
        track(104.0, True, "200"),
    )
    assert s.ready_since == 104.0
    s, actions = run(
        s, m.Heard(now=108.5, heartbeat=hb(role="active", revision=4, tracks=OK)), m.Tick(now=108.5)
    )
    assert m.AskDemote(None) not in actions
    s, actions = run(
        s, m.Heard(now=109.0, heartbeat=hb(role="active", revision=4, tracks=OK)), m.Tick(now=109.0)
    )
    assert m.AskDemote(None) in actions


def test_a_standby_with_a_failed_track_has_no_failover_deadline() -> None:
    s = standby_in_sync()
    assert m.deadline(s) is not None
    s, _ = run(s, track(101.0, False, "refused"))
    assert m.deadline(s) is None
    s, _ = run(s, track(101.5, True, "200"))
    assert m.deadline(s) is not None
