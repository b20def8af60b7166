"""The engine's pure core, one rule at a time: ``step(state, event) -> (state, actions)``."""

from __future__ import annotations

import msgspec

from hapair.domain.errors import Pacified
from hapair.domain.version import PROTOCOL
from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import Heartbeat

SHARED = "127.0.0.10:8080"


def booted(
    unit: str = "first", *, params: m.Params | None = None, pacified: bool = False
) -> m.State:
    config = m.Config(unit=unit, mode=unit, shared_address=SHARED, pacified=pacified)
    state, _ = m.boot(config, params or m.Params(ha_timeout=3.0), 0, 100.0, 1000.0)
    return state


def hb(unit: str = "second", role: str = "standby", **kw: object) -> Heartbeat:
    fields: dict[str, object] = {
        "unit": unit,
        "mode": unit,
        "role": role,
        "shared_address": SHARED,
        "redis_url": f"redis://{unit}",
        "protocol": PROTOCOL,  # this build's (a heartbeat without one is an older build's)
        **kw,
    }
    return msgspec.convert(fields, Heartbeat)


def run(state: m.State, *events: m.Event) -> tuple[m.State, list[m.Action]]:
    """Steps events in order, feeding the results of serve and promote back as a driver does."""
    out: list[m.Action] = []
    queue = list(events)
    while queue:
        event = queue.pop(0)
        state, actions = m.step(state, event)
        out.extend(actions)
        for a in actions:
            if isinstance(a, m.ServeShared):
                queue.insert(0, m.SharedServed(now=event.now))
            if isinstance(a, m.Promote):
                queue.insert(0, m.Promoted(now=event.now))
    return state, out


def active(unit: str = "first") -> m.State:
    state, _ = run(booted(unit), m.Tick(now=101.0))
    assert state.role == "active" and state.public_role == "active"
    return state


def transitions(actions: list[m.Action]) -> list[tuple[str, str, str]]:
    return [
        (a.transition.from_role, a.transition.to_role, a.transition.cause)
        for a in actions
        if isinstance(a, m.Transitioned)
    ]


def test_boot_alone_after_initial_wait_becomes_active_serving() -> None:
    s = booted(params=m.Params(ha_timeout=3.0, initial_wait_time=5.0))
    s, actions = run(s, m.Tick(now=101.0))
    assert s.role == "starting" and s.public_reason == "starting"
    s, actions = run(s, m.Tick(now=105.0))
    assert s.role == "active" and s.serving
    assert transitions(actions) == [("not_operational", "active", "boot-alone")]
    assert isinstance(actions[0], m.Promote) and m.ServeShared() in actions


def test_boot_follows_an_active_partner() -> None:
    s, actions = run(booted(), m.Heard(now=100.1, heartbeat=hb(role="active")))
    assert s.role == "standby"
    assert transitions(actions) == [("not_operational", "standby", "boot-partner-active")]
    s, actions = run(s, m.Tick(now=101.0))
    assert m.ReplicateFrom("redis://second") in actions


def test_boot_negotiation_preferred_server_beats_higher_revision() -> None:
    params = m.Params(ha_timeout=3.0, preferred_server="second")
    s = booted(params=params)
    s, _ = run(s, m.Heard(now=100.1, heartbeat=hb(role="starting", revision=0)))
    assert s.role == "starting"  # second is preferred: first waits for it
    other = booted("second", params=params)
    other, _ = run(other, m.Heard(now=100.1, heartbeat=hb("first", role="starting", revision=9)))
    assert other.role == "active" and other.cause == "boot-negotiated"


def test_boot_negotiation_prefers_neither_when_the_parameters_disagree() -> None:
    """Both starting, each unit's Redis naming the other preferred (a change of
    preferred_server that did not reach the other's Redis): neither is preferred, the higher
    revision wins (each waited for the other before: neither ever active; found by tests/sim)."""
    config = m.Config(unit="first", mode="first", shared_address=SHARED)
    params = m.Params(ha_timeout=3.0, preferred_server="second")
    first, _ = m.boot(config, params, 1, 100.0, 1000.0)
    theirs = hb(role="starting", revision=0, preferred_server="first")
    first, _ = run(first, m.Heard(now=100.1, heartbeat=theirs))
    assert first.role == "active" and first.cause == "boot-negotiated"
    second = booted("second", params=m.Params(ha_timeout=3.0, preferred_server="first"))
    theirs = hb("first", role="starting", revision=1, preferred_server="second")
    second, _ = run(second, m.Heard(now=100.1, heartbeat=theirs))
    assert second.role == "starting"
    assert m.heartbeat(second, 100.2).preferred_server == "first"


def test_standby_fails_over_once_ha_timeout_passes_without_a_heartbeat() -> None:
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    s, _ = run(s, m.Tick(now=102.9))
    assert s.role == "standby"
    s, actions = run(s, m.Tick(now=103.0))
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "partner-lost")]


def test_demote_then_a_stale_tick_never_takes_the_role_back() -> None:
    """The race of the old engine: a tick decided from facts read before a demote."""
    s = active()
    s, _ = run(s, m.Heard(now=101.5, heartbeat=hb(role="standby")))
    s, actions = run(s, m.DemoteAsked(now=102.0, request=7, by="second"))
    assert s.role == "standby" and m.StopShared() in actions
    assert m.Reply(7, demoted=True) in actions
    # The facts the stale tick would have used: the partner still standby, then silent.
    s, actions = run(s, m.Tick(now=102.1), m.Heard(now=102.2, heartbeat=hb(role="standby")))
    assert s.role == "standby" and not transitions(actions)
    s, actions = run(s, m.Tick(now=106.0))  # silent past ha_timeout: still holding
    assert s.role == "standby"
    s, actions = run(s, m.Tick(now=108.0))  # the hold (2 x ha_timeout) is over
    assert s.role == "active"


def test_active_that_cannot_bind_shows_not_operational_and_keeps_trying() -> None:
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    s, actions = m.step(s, m.Tick(now=103.0))
    assert s.role == "active" and m.ServeShared() in actions
    assert s.public_role == "standby"  # the bind is under way: nothing more claimed yet
    s, actions = m.step(s, m.SharedFailed(now=103.0, error="in use"))
    assert (s.public_role, s.public_reason) == ("not_operational", "shared-address-unavailable")
    assert transitions(actions) == [("standby", "not_operational", "shared-address-unavailable")]
    s, actions = m.step(s, m.Tick(now=104.0))
    assert m.ServeShared() in actions  # retried every heartbeat
    s, actions = m.step(s, m.SharedServed(now=104.0))
    assert transitions(actions) == [("not_operational", "active", "partner-lost")]
    assert m.heartbeat(s, 104.0).serving_shared


def test_split_brain_on_equal_revisions_the_more_recent_active_stays() -> None:
    s = active()  # active since wall 1001
    newer = hb(role="active", active_since=1050.0, revision=0)
    s, actions = run(s, m.Heard(now=102.0, heartbeat=newer))
    assert s.role == "indeterminate" and m.StopShared() in actions
    assert transitions(actions) == [("active", "indeterminate", "split-brain-lost")]
    s, actions = run(s, m.Tick(now=102.5))
    assert s.role == "standby"
    assert transitions(actions) == [("indeterminate", "standby", "split-brain-lost")]


def test_split_brain_higher_revision_stays_and_keeps_serving() -> None:
    s = active()
    s, _ = run(s, m.StoreRead(now=101.5, revision=5, params=s.params))
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb(role="active", active_since=1050.0)))
    assert s.role == "indeterminate" and s.serving and m.StopShared() not in actions
    s, actions = run(s, m.Tick(now=102.5))
    assert s.role == "active"
    assert transitions(actions) == [("indeterminate", "active", "split-brain-won")]
    # it kept the address: announced again (the loser may have announced it meanwhile, and a
    # client's neighbour entry may point at the loser's MAC), not served a second time
    assert m.Reannounce() in actions and m.ServeShared() not in actions


def test_split_brain_loser_yields_to_a_grey_winner_that_could_not_bind_yet() -> None:
    """Found by the simulation: the winner (higher revision) could not bind the shared address
    while the loser still held it, so it is grey and not serving; the loser must not read that
    as a yielding partner and take the role back (the two then traded grey for ever)."""
    s = active()  # revision 0
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb(role="active", revision=1)))
    assert transitions(actions) == [("active", "indeterminate", "split-brain-lost")]
    winner = hb(role="indeterminate", revision=1, serving_shared=False, active_since=1050.0)
    s, actions = run(s, m.Heard(now=102.2, heartbeat=winner), m.Tick(now=102.5))
    assert s.role == "standby"
    assert transitions(actions) == [("indeterminate", "standby", "split-brain-lost")]


def test_store_lost_for_ha_timeout_steps_aside_and_comes_back_as_standby() -> None:
    s = active()
    s, _ = run(s, m.StoreFailed(now=102.0), m.Tick(now=104.9))
    assert s.role == "active"
    s, actions = run(s, m.Tick(now=105.0))
    assert (s.role, s.reason) == ("not_operational", "not-synced")
    assert transitions(actions) == [("active", "not_operational", "store-lost")]
    s, actions = run(
        s,
        m.StoreRead(now=106.0, revision=0, params=s.params),
        m.Heard(now=106.0, heartbeat=hb(role="active")),
    )
    assert s.role == "standby"
    assert transitions(actions) == [("not_operational", "standby", "store-back")]


def test_pacified_unit_is_never_active_and_refuses_takeover() -> None:
    s = booted(pacified=True)
    assert s.role == "pacified"
    s, actions = run(s, m.Tick(now=200.0), m.TakeoverAsked(now=200.0, request=1))
    assert s.role == "pacified"
    assert m.Reply(1, "pacified", Pacified.default_detail) in actions


def test_same_mode_partner_is_misconfigured() -> None:
    s = active()
    s, actions = run(s, m.Heard(now=102.0, heartbeat=hb("first", role="active")))
    assert (s.public_role, s.public_reason) == ("not_operational", "same-mode")
    assert m.StopShared() in actions
    assert transitions(actions) == [("active", "not_operational", "misconfigured")]


def test_takeover_asks_the_partner_and_becomes_active_once_it_stepped_down() -> None:
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    s, actions = run(s, m.TakeoverAsked(now=100.5, request=3))
    assert actions == [m.AskDemote(3)]
    s, actions = run(s, m.TakeoverAsked(now=100.6, request=4))
    assert m.Reply(4, "not-active", "a takeover is already under way") in actions
    s, actions = run(s, m.PartnerDemoted(now=101.0, request=3))
    assert s.role == "active" and m.Reply(3) in actions
    assert transitions(actions) == [("standby", "active", "takeover")]


def test_takeover_without_a_partner_is_partner_unavailable() -> None:
    s, _ = run(booted(), m.Heard(now=100.0, heartbeat=hb(role="active")))
    _, actions = run(s, m.TakeoverAsked(now=110.0, request=1))
    assert [a.error for a in actions if isinstance(a, m.Reply)] == ["partner-unavailable"]


def test_preferred_server_in_sync_takes_the_role_back() -> None:
    params = m.Params(ha_timeout=3.0, preferred_server="first")
    s = booted(params=params)
    s, _ = run(s, m.Heard(now=100.0, heartbeat=hb(role="active", revision=4)))
    s, actions = run(s, m.Tick(now=100.5))
    assert m.AskDemote(None) not in actions  # not yet in sync
    s, _ = run(
        s,
        m.Replicating(now=100.6, url="redis://second"),
        m.StoreRead(now=100.7, revision=4, params=params),
    )
    s, actions = run(s, m.Tick(now=101.0))
    assert m.AskDemote(None) in actions
    s, actions = run(s, m.PartnerDemoted(now=101.2, request=None))
    assert transitions(actions) == [("standby", "active", "preferred-return")]


def test_link_down_with_hard_reboot_reboots() -> None:
    s = active()
    s, actions = run(s, m.LinkDown(now=102.0, interfaces=("eth0",)))
    assert s.role == "active"  # hard reboot is off
    on = m.Params(ha_timeout=3.0, hard_reboot_on_link_failure=True)
    s, _ = run(s, m.StoreRead(now=102.0, revision=0, params=on))
    s, actions = run(s, m.LinkDown(now=102.5, interfaces=("eth0",)))
    assert m.Reboot("link-failure") in actions and m.StopShared() in actions
    assert transitions(actions) == [("active", "not_operational", "link-failure")]


def test_shutdown_releases_the_shared_address_and_answers_what_waits() -> None:
    s = active()
    s, actions = run(s, m.Shutdown(now=103.0))
    assert m.StopShared() in actions and s.stopped
    assert transitions(actions) == [("active", "not_operational", "shutdown")]
    _, actions = m.step(s, m.TakeoverAsked(now=103.1, request=9))
    assert actions == [m.Reply(9, "not-active", "the unit is stopping")]


def test_every_cause_is_one_the_spec_lists() -> None:
    assert set(m.CAUSES) == {
        "boot-alone", "boot-partner-active", "boot-negotiated", "partner-lost",
        "preferred-return", "takeover", "demoted", "switchover", "split-brain-won",
        "split-brain-lost", "store-lost", "store-back", "link-failure", "pacified",
        "maintenance", "misconfigured", "shared-address-unavailable", "track-failed",
        "track-recovered", "version-skew", "partner-auth-failed", "shutdown",
    }  # fmt: skip


def test_active_winner_is_not_turned_grey_by_the_yielding_loser() -> None:
    """The loser of a split brain goes grey and stops serving: no rival for the winner."""
    s = active()
    loser = hb(role="indeterminate", serving_shared=False, active_since=900.0)
    s, actions = run(s, m.Heard(now=102.0, heartbeat=loser), m.Tick(now=102.5))
    assert s.role == "active" and not transitions(actions)


def test_a_heartbeat_older_than_the_last_one_heard_decides_nothing() -> None:
    """A request that waited in the socket while this unit was frozen is stale."""
    s = active()
    fresh = hb(role="standby", sent_at=1010.0, boot_id="b")
    s, _ = run(s, m.Heard(now=110.0, heartbeat=fresh))
    stale = hb(role="active", sent_at=1005.0, boot_id="b", revision=0, active_since=1004.0)
    s2, actions = m.step(s, m.Heard(now=110.1, heartbeat=stale))
    assert s2 == s and actions == []


def test_a_partner_heard_with_a_new_boot_id_is_noted_as_restarted() -> None:
    s = active()
    s, _ = run(s, m.Heard(now=110.0, heartbeat=hb(sent_at=1010.0, boot_id="a")))
    s, actions = m.step(s, m.Heard(now=110.5, heartbeat=hb(sent_at=1010.5, boot_id="a")))
    assert not [a for a in actions if isinstance(a, m.Note)]
    s, actions = m.step(s, m.Heard(now=111.0, heartbeat=hb(sent_at=1011.0, boot_id="b")))
    assert m.Note("partner-restarted", (("boot_id", "b"),)) in actions
    assert s.role == "active" and not transitions(actions)
