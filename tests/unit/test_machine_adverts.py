"""The adverts in the core (SPEC 5b' "Adverts", "Virtual ID conflicts"): a partner heard by
advert within ``ha_timeout`` is alive for failover purposes (its role and revision still come
from heartbeats), the links in the heartbeat, the ``advert-path-down``, ``update-link-down``
and ``virtual-id-conflict`` alerts."""

from __future__ import annotations

from dataclasses import replace

from hapair.engine.core import machine as m
from tests.unit.test_machine import SHARED, hb, run, transitions


def booted(unit: str = "second", *, adverts: bool = True) -> m.State:
    config = m.Config(
        unit=unit, mode=unit, shared_address=SHARED, adverts=adverts,
        listen_first=1.5 if adverts else 0.0,
    )  # fmt: skip
    state, _ = m.boot(config, m.Params(ha_timeout=3.0), 0, 100.0, 1000.0)
    return state


def standby(heard: float = 100.0) -> m.State:
    """``second``, standby of an active ``first`` heard at ``heard`` by heartbeat and advert."""
    s, _ = run(
        booted(),
        m.Heard(now=heard, heartbeat=hb("first", role="active")),
        m.AdvertsSeen(now=heard + 0.1, ago=0.1),
        m.Tick(now=heard + 0.1),
    )
    assert s.role == "standby"
    return s


def alerts(actions: list[m.Action]) -> list[tuple[str, bool]]:
    return [(a.reason, a.raised) for a in actions if isinstance(a, m.Alert)]


def test_a_standby_that_hears_the_actives_adverts_does_not_fail_over() -> None:
    """Only the HTTP path is lost: heartbeats stop, adverts arrive every interval. The standby
    stays standby past its heartbeat deadline for as long as the adverts arrive (2 x
    ha_timeout here and more), with links.heartbeat false and the alert; its deadline moves
    with each advert."""
    s = standby(100.0)
    assert m.deadline(s) == 103.0
    for t in range(101, 110):
        s, actions = run(s, m.AdvertsSeen(now=t + 0.1, ago=0.1), m.Tick(now=t + 0.1))
        assert s.role == "standby" and not transitions(actions), t
        due = m.deadline(s)
        assert due is not None and due == t + 3.0
        s, actions = run(s, m.Deadline(now=due - 0.5, due=due - 0.5))  # an older deadline
        assert s.role == "standby" and not transitions(actions)
    links = m.links(s, 109.1)
    assert (links.heartbeat, links.update, links.advert) == (False, False, True)
    assert [a.reason for a in s.alerts] == ["update-link-down"]
    assert m.fresh_partner(s, 109.1) is None  # what it holds is still the heartbeats' word


def test_the_standby_fails_over_at_the_last_advert_plus_ha_timeout() -> None:
    """The active dies while only its adverts were getting through: the standby takes over at
    the deadline of its last advert, and the link alert ends."""
    s = standby(100.0)
    for t in (101.0, 102.0, 103.0):
        s, _ = run(s, m.AdvertsSeen(now=t + 0.1, ago=0.1), m.Tick(now=t + 0.1))
    s, _ = run(s, m.AdvertsSeen(now=104.1, ago=0.6), m.Tick(now=104.1))  # advert at 103.5
    assert s.role == "standby"
    assert [a.reason for a in s.alerts] == ["update-link-down"]
    assert m.deadline(s) == 106.5
    s, _ = run(s, m.AdvertsSeen(now=105.1, ago=1.6), m.Tick(now=105.1))  # nothing newer
    assert s.role == "standby" and m.deadline(s) == 106.5
    s, actions = run(s, m.Deadline(now=106.5, due=106.5))
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "partner-lost")]
    assert ("update-link-down", False) in alerts(actions)


def test_an_advert_heard_long_ago_is_no_sign_of_life() -> None:
    """The link tells how long ago the last advert arrived: a stale one keeps nobody alive."""
    s = standby(100.0)
    s, actions = run(s, m.AdvertsSeen(now=103.2, ago=3.2), m.Tick(now=103.2))
    assert s.role == "active" and transitions(actions)[-1][2] == "partner-lost"


def test_a_starting_unit_that_hears_adverts_does_not_boot_alone() -> None:
    """The partner's HTTP path is lost at this unit's boot: its adverts say it is there."""
    s = booted("first")
    s, actions = run(s, m.AdvertsSeen(now=101.0, ago=0.2), m.Tick(now=101.0))
    assert s.role == "starting" and not transitions(actions)
    # the adverts stop: alone after ha_timeout from the last one
    s, actions = run(s, m.AdvertsSeen(now=103.9, ago=3.1), m.Tick(now=103.9))
    assert s.role == "active"


def test_a_booting_unit_listens_for_adverts_before_it_takes_the_role_alone() -> None:
    """Restarted while the HTTP path is down: its first tick comes before its partner's next
    advert. It listens an advert interval and a half first (initial_wait_time 0)."""
    s = booted("first")
    s, actions = run(s, m.AdvertsSeen(now=100.0), m.Tick(now=100.0))
    assert s.role == "starting"
    s, actions = run(s, m.AdvertsSeen(now=101.0, ago=0.4), m.Tick(now=101.0))
    assert s.role == "starting" and not transitions(actions)  # the partner is there
    alone = booted("first")
    alone, _ = run(alone, m.Tick(now=101.0))
    assert alone.role == "starting"
    alone, _ = run(alone, m.Tick(now=101.5))
    assert alone.role == "active"


def test_an_active_that_hears_only_adverts_keeps_the_role() -> None:
    s, _ = run(booted("first"), m.Tick(now=101.5))
    assert s.role == "active"
    s, _ = run(s, m.Heard(now=101.5, heartbeat=hb("second", role="standby")))
    for t in range(102, 112):
        s, actions = run(s, m.AdvertsSeen(now=float(t), ago=0.3), m.Tick(now=float(t)))
        assert s.role == "active" and not transitions(actions)


def test_adverts_never_make_two_actives_that_heard_each_other() -> None:
    """A heartbeat that says the partner is active still makes the split-brain rule run: the
    adverts add liveness, never a role."""
    s, _ = run(booted("first"), m.Tick(now=101.5))
    s, _ = run(s, m.AdvertsSeen(now=101.7, ago=0.1))
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb("second", role="active")))
    assert s.role == "indeterminate"
    assert [t[2] for t in transitions(actions)] in (["split-brain-won"], ["split-brain-lost"])


def test_advert_path_down_while_heartbeats_flow() -> None:
    """Heartbeats arrive, adverts do not (an IGMP-snooping switch): the alert, once the unit
    has run for ha_timeout; it ends when an advert arrives. No role changes."""
    s, _ = run(booted(), m.Heard(now=100.5, heartbeat=hb("first", role="active")))
    s, actions = run(s, m.Tick(now=101.0))
    assert s.role == "standby" and alerts(actions) == []  # not yet: adverts had no chance
    for t in (102.0, 103.0, 103.5):
        s, actions = run(s, m.Heard(now=t, heartbeat=hb("first", role="active")), m.Tick(now=t))
    assert [a.reason for a in s.alerts] == ["advert-path-down"]
    assert m.links(s, 103.5).heartbeat and not m.links(s, 103.5).advert
    assert m.heartbeat(s, 103.5).links == m.links(s, 103.5)  # the partner shows it
    s, actions = run(s, m.AdvertsSeen(now=103.8, ago=0.1), m.Tick(now=103.8))
    assert alerts(actions) == [("advert-path-down", False)] and s.alerts == ()
    assert s.role == "standby" and not transitions(actions)


def test_a_unit_without_adverts_raises_no_link_alert() -> None:
    """One host: no adverts, so no advert-path-down; links.advert is false."""
    s, _ = run(booted(adverts=False), m.Heard(now=100.5, heartbeat=hb("first", role="active")))
    for t in (101.0, 102.0, 103.0, 104.0):
        s, actions = run(s, m.Heard(now=t, heartbeat=hb("first", role="active")), m.Tick(now=t))
        assert alerts(actions) == []
    assert not m.links(s, 104.0).advert and m.links(s, 104.0).heartbeat


def test_virtual_id_conflicts_are_alerts_that_clear_by_themselves() -> None:
    s = standby(100.0)
    vrrp = ("10.0.0.9", "a VRRP advertisement with this pair's virtual ID from 10.0.0.9")
    other = ("10.0.0.7", "an advert of another pair with this pair's virtual ID from 10.0.0.7")
    beat = m.Heard(now=100.5, heartbeat=hb("first", role="active"))
    s, actions = run(s, beat, m.AdvertsSeen(now=100.6, ago=0.1, conflicts=(vrrp,)))
    s, actions2 = run(s, m.Tick(now=100.6))
    assert ("virtual-id-conflict", True) in alerts(actions + actions2)
    assert [a.detail for a in s.alerts] == [vrrp[1]]
    assert "10.0.0.9" in s.alerts[0].detail
    s, actions = run(s, m.AdvertsSeen(now=101.0, ago=0.1, conflicts=(vrrp, other)))
    assert alerts(actions) == [("virtual-id-conflict", True)]
    assert len(s.alerts) == 2
    s, actions = run(s, m.AdvertsSeen(now=102.0, ago=0.1, conflicts=()))
    assert alerts(actions) == [("virtual-id-conflict", False)] * 2 and s.alerts == ()
    assert s.role == "standby" and not transitions(actions)  # no role change throughout


def test_a_conflict_changes_no_role_of_an_active() -> None:
    s, _ = run(booted("first"), m.Tick(now=101.5))
    conflict = ("10.0.0.9", "a VRRP advertisement with this pair's virtual ID from 10.0.0.9")
    s, actions = run(s, m.AdvertsSeen(now=102.0, conflicts=(conflict,)), m.Tick(now=102.0))
    assert s.role == "active" and not transitions(actions)
    assert alerts(actions) == [("virtual-id-conflict", True)]
    assert m.heartbeat(s, 101.5).alerts[0].reason == "virtual-id-conflict"


def test_no_link_alert_for_a_partner_heard_on_one_path_a_moment_before_the_other() -> None:
    """A partner that comes back (a restart) is heard by advert a moment before its first
    heartbeat, or the other way round: no alert for that."""
    s = standby(100.0)
    s, _ = run(s, m.AdvertsSeen(now=110.0, ago=0.2), m.Tick(now=110.0))  # back after 10 s
    assert s.alerts == ()
    s, _ = run(s, m.Heard(now=110.5, heartbeat=hb("first", role="active")), m.Tick(now=110.5))
    assert s.alerts == ()
    # and heartbeats first, its adverts a heartbeat later
    s, _ = run(s, m.Heard(now=120.0, heartbeat=hb("first", role="active")), m.Tick(now=120.0))
    s, actions = run(s, m.AdvertsSeen(now=121.0, ago=0.3), m.Tick(now=121.0))
    assert s.alerts == () and alerts(actions) == []
    # an HTTP path that stays down while the adverts run on is told after ha_timeout
    for t in range(1, 5):
        s, _ = run(s, m.AdvertsSeen(now=130.0 + t, ago=0.1), m.Tick(now=130.0 + t))
    assert [a.reason for a in s.alerts] == ["update-link-down"]


def test_the_advert_time_never_goes_back() -> None:
    """A link reopened (a PATCH of multicast_interface) has heard nothing yet: the last advert
    still counts until it is ha_timeout old."""
    s = standby(100.0)
    s, _ = run(s, m.AdvertsSeen(now=101.0, ago=0.1))
    s, _ = run(s, m.AdvertsSeen(now=101.5, ago=None))
    assert s.advert_at == 100.9
    s = replace(s, advert_at=100.9)
    s, _ = run(s, m.AdvertsSeen(now=102.0, ago=5.0))
    assert s.advert_at == 100.9
