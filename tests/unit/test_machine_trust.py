"""The engine's rules for a partner that answers but is not heard, fails authentication, or
runs on another clock (SPEC 5 "A partner that answers is alive", "Clocks")."""

from __future__ import annotations

from hapair.engine.core import machine as m
from tests.unit.test_machine import SHARED, active, booted, hb, run, transitions

ANOTHER_KEY = "another pair key"


def alerts(actions: list[m.Action]) -> list[tuple[str, str, bool]]:
    return [(a.reason, a.detail, a.raised) for a in actions if isinstance(a, m.Alert)]


def test_a_partner_that_only_answers_503_keeps_a_starting_unit_from_booting_alone() -> None:
    s = booted()  # ha_timeout 3, initial wait 0
    for t in (100.5, 101.5, 102.5, 103.5):
        s, _ = run(s, m.PartnerAnswered(now=t), m.Tick(now=t + 0.1))
        assert s.role == "starting", t
    # the answers stop: after ha_timeout without any, it boots alone
    s, actions = run(s, m.Tick(now=106.4))
    assert s.role == "starting"
    s, actions = run(s, m.Tick(now=106.6))
    assert s.role == "active"
    assert transitions(actions) == [("not_operational", "active", "boot-alone")]


def test_a_standby_whose_active_answers_503_does_not_fail_over() -> None:
    s = booted()
    s, _ = run(s, m.Heard(now=100.5, heartbeat=hb(role="active")), m.Tick(now=100.6))
    assert s.role == "standby"
    # no authentic heartbeat for much longer than ha_timeout, but a 503 every second
    t = 101.0
    while t < 110.0:
        s, actions = run(s, m.PartnerAnswered(now=t), m.Tick(now=t + 0.1))
        assert s.role == "standby" and not transitions(actions), t
        t += 1.0
    s, actions = run(s, m.Tick(now=112.1))  # the last answer at 109.0, + ha_timeout
    assert s.role == "active"
    assert transitions(actions) == [("standby", "active", "partner-lost")]


def test_a_partner_failing_authentication_makes_a_booting_unit_not_operational() -> None:
    s = booted()
    s, actions = run(s, m.PartnerAnswered(now=100.2, auth_failed=ANOTHER_KEY), m.Tick(now=101.0))
    assert s.role == "starting" and not alerts(actions)  # within the grace: still starting
    s, actions = run(s, m.PartnerAnswered(now=102.2, auth_failed=ANOTHER_KEY), m.Tick(now=102.3))
    assert (s.role, s.public_reason) == ("not_operational", "partner-auth-failed")
    assert alerts(actions) == [("partner-auth-failed", ANOTHER_KEY, True)]
    assert s.last_transition is not None and s.last_transition.cause == "partner-auth-failed"
    sent = m.heartbeat(s, 102.3)
    assert (sent.status_reason, sent.status_detail) == ("partner-auth-failed", ANOTHER_KEY)
    for t in range(103, 120):  # it keeps answering: never active
        s, _ = run(s, m.PartnerAnswered(now=float(t), auth_failed=ANOTHER_KEY), m.Tick(now=t + 0.5))
        assert s.role == "not_operational", t
    # the partner is authentic again (its key fixed): the alert ends, the unit pairs
    s, actions = run(s, m.Heard(now=120.0, heartbeat=hb(role="active")), m.Tick(now=120.1))
    assert s.role == "standby"
    assert alerts(actions) == [("partner-auth-failed", ANOTHER_KEY, False)]


def test_an_active_unit_whose_partner_fails_authentication_steps_down() -> None:
    """Never two actives: two units with different keys both step aside."""
    s = active()
    s, _ = run(s, m.PartnerAnswered(now=102.0, auth_failed=ANOTHER_KEY), m.Tick(now=102.1))
    assert s.role == "active"
    s, actions = run(s, m.PartnerAnswered(now=104.0, auth_failed=ANOTHER_KEY), m.Tick(now=104.1))
    assert (s.role, s.reason) == ("not_operational", "partner-auth-failed")
    assert m.StopShared() in actions and not s.serving


def test_refusals_as_another_pair_count_from_the_last_virtual_id_change() -> None:
    """A new virtual ID is a new pair id: until the partner has read it, the two refuse each
    other as another pair. Changes one after another keep the roles; a refusal that lasts the
    grace after the last change steps the unit down."""
    s = active()
    another = "another pair (another shared address or virtual ID)"
    t = 102.0
    # a new virtual ID every 0.5 s, 3 s in all
    for revision, virtual_id in enumerate((20, 21, 22, 23, 24, 25), start=1):
        params = m.Params(ha_timeout=3.0, virtual_id=virtual_id)
        s, _ = run(
            s,
            m.StoreRead(now=t, revision=revision, params=params),
            m.PartnerAnswered(now=t + 0.1, auth_failed=another),
            m.Tick(now=t + 0.4),
        )
        assert (s.role, s.public_reason) == ("active", None), virtual_id
        t += 0.5
    # no change after the last one: refused for the grace after it, it steps down
    s, actions = run(s, m.PartnerAnswered(now=t + 1.0, auth_failed=another), m.Tick(now=t + 1.4))
    assert s.role == "active"
    s, actions = run(s, m.PartnerAnswered(now=t + 1.6, auth_failed=another), m.Tick(now=t + 1.7))
    assert (s.role, s.public_reason) == ("not_operational", "partner-auth-failed")
    assert alerts(actions) == [("partner-auth-failed", another, True)]


def test_another_pair_with_another_shared_address_is_shown_as_a_mismatch() -> None:
    s = booted()
    other = "127.0.0.13:8080"
    for t in (100.2, 102.5):
        s, _ = run(
            s,
            m.PartnerAnswered(now=t, auth_failed="another pair", shared_address=other),
            m.Tick(now=t + 0.1),
        )
    assert (s.role, s.public_reason) == ("not_operational", "shared-address-mismatch")
    assert other != SHARED


def test_clocks_five_minutes_apart_pair_and_the_skew_is_shown() -> None:
    s = booted("second")  # wall = now + 900 (booted at now 100, wall 1000)
    ahead = hb("first", role="active", sent_at=1000.5 + 300.0)
    s, actions = run(s, m.Heard(now=100.5, heartbeat=ahead), m.Tick(now=100.6))
    assert s.role == "standby"
    assert [(r, raised) for r, _, raised in alerts(actions)] == [("clock-skew", True)]
    assert [a.reason for a in s.alerts] == ["clock-skew"]
    assert "300.0 s ahead" in s.alerts[0].detail
    assert m.heartbeat(s, 100.6).alerts == list(s.alerts)
    # the partner restarted with its clock set right: the alert ends
    s, actions = run(
        s, m.Heard(now=101.5, heartbeat=hb("first", role="active", sent_at=1001.5, boot_id="b"))
    )
    assert [(r, raised) for r, _, raised in alerts(actions)] == [("clock-skew", False)]
    assert s.alerts == ()


def test_split_brain_compares_durations_not_the_partners_timestamps() -> None:
    """The partner's wall clock says it became active long after this unit (its clock runs an
    hour ahead), but by the durations each measured, this unit is the more recent active."""
    s = booted()
    s, _ = run(s, m.Tick(now=150.0))  # active from now 150
    assert s.role == "active"
    older = hb(role="active", active_since=1050.0 + 3600, active_for=60.0)
    s, actions = run(s, m.Heard(now=160.0, heartbeat=older))  # this unit: 10 s, partner: 60 s
    assert transitions(actions) == [("active", "indeterminate", "split-brain-won")]
    s2 = booted()
    s2, _ = run(s2, m.Tick(now=150.0))
    newer = hb(role="active", active_since=0.0, active_for=2.0)  # its clock far behind
    s2, actions = run(s2, m.Heard(now=160.0, heartbeat=newer))
    assert transitions(actions) == [("active", "indeterminate", "split-brain-lost")]


def test_active_durations_within_a_second_are_a_tie_decided_by_first() -> None:
    s = booted()
    s, _ = run(s, m.Tick(now=150.0))
    s, actions = run(s, m.Heard(now=160.0, heartbeat=hb(role="active", active_for=9.5)))
    assert transitions(actions) == [("active", "indeterminate", "split-brain-won")]
    s = booted("second")
    s, _ = run(s, m.Tick(now=150.0))
    s, actions = run(s, m.Heard(now=160.0, heartbeat=hb("first", role="active", active_for=10.5)))
    assert transitions(actions) == [("active", "indeterminate", "split-brain-lost")]
