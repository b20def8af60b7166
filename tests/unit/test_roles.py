"""The pure role decision of one unit (engine/roles.py), every transition the pair relies on."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.engine.roles import Facts, PartnerFacts, decide, wants_takeover, wins

SHARED = "127.0.0.10:8080"


def facts(role: str = "starting", partner: PartnerFacts | None = None, **kw: object) -> Facts:
    base = Facts(
        unit="first",
        mode="first",
        role=role,
        revision=5,
        shared_address=SHARED,  # type: ignore[arg-type]
        pacified=False,
        preferred_server="none",
        initial_wait_time=0.0,
        ha_timeout=3.0,
        booted_for=0.0,
        partner=partner,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def partner(role: str, revision: int = 5, **kw: object) -> PartnerFacts:
    base = PartnerFacts(
        unit="second", mode="second", role=role, revision=revision, shared_address=SHARED
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_decide_starting_follows_active_partner() -> None:
    assert decide(facts("starting", partner("active"))).role == "standby"


def test_decide_starting_alone_waits_for_initial_wait_time() -> None:
    assert decide(facts("starting", None, initial_wait_time=10, booted_for=9.9)).role == "starting"
    assert decide(facts("starting", None, initial_wait_time=10, booted_for=10)).role == "active"


@pytest.mark.parametrize(
    ("mine", "theirs", "preferred", "expected"),
    [
        (5, 5, "second", "starting"),  # preferred partner wins
        (5, 5, "first", "active"),
        (6, 5, "second", "active"),  # a higher revision beats the preference
        (4, 5, "none", "starting"),
        (5, 5, "none", "active"),  # tie: first
    ],
)
def test_decide_both_starting_tie_break(
    mine: int, theirs: int, preferred: str, expected: str
) -> None:
    f = facts("starting", partner("starting", theirs), revision=mine, preferred_server=preferred)
    assert decide(f).role == expected


def test_decide_standby_fails_over_when_partner_silent() -> None:
    assert decide(facts("standby", None)).role == "active"
    assert decide(facts("standby", None, holding=True)).role == "standby"


def test_decide_standby_takes_over_from_pacified_partner() -> None:
    assert decide(facts("standby", partner("pacified", pacified=True))).role == "active"


def test_decide_two_actives_are_indeterminate_then_resolved() -> None:
    assert decide(facts("active", partner("active"))).role == "indeterminate"
    assert decide(facts("indeterminate", partner("indeterminate", 7), revision=5)).role == "standby"
    assert decide(facts("indeterminate", partner("indeterminate", 3), revision=5)).role == "active"
    assert decide(facts("indeterminate", None)).role == "active"


@given(st.integers(0, 50), st.integers(0, 50), st.sampled_from(["none", "first", "second"]))
def test_wins_exactly_one_unit_of_two(a: int, b: int, preferred: str) -> None:
    first = wins("first", a, partner("active", b, unit="second"), preferred)
    second = wins("second", b, partner("active", a, unit="first"), preferred)
    assert first != second


@pytest.mark.parametrize(
    ("p", "reason"),
    [
        (partner("active", mode="first"), "same-mode"),
        (partner("active", shared_address="127.0.0.99:8080"), "shared-address-mismatch"),
    ],
)
def test_decide_misconfigured_pair_is_not_operational(p: PartnerFacts, reason: str) -> None:
    for role in ("starting", "active", "standby"):
        d = decide(facts(role, p))
        assert (d.role, d.reason) == ("not_operational", reason)


def test_decide_pacified_takes_no_part() -> None:
    assert decide(facts("standby", None, pacified=True)).role == "pacified"


def test_wants_takeover_only_for_preferred_standby_in_sync() -> None:
    f = facts("standby", partner("active"), preferred_server="first")
    assert wants_takeover(f, in_sync=True)
    assert not wants_takeover(f, in_sync=False)
    assert not wants_takeover(replace(f, preferred_server="second"), in_sync=True)
    assert not wants_takeover(replace(f, holding=True), in_sync=True)


def test_decide_unit_without_its_redis_steps_aside_after_ha_timeout() -> None:
    for role in ("active", "standby", "starting"):
        assert decide(facts(role, partner("standby"), store_down_for=2.9)).role != "not_operational"
        d = decide(facts(role, partner("standby"), store_down_for=3.0))
        assert (d.role, d.reason) == ("not_operational", "not-synced")
    # once it answers again, the unit negotiates afresh: the partner is active now
    assert decide(facts("not_operational", partner("active"))).role == "standby"
