"""Which unit of a pair calls the heartbeat exchange and which answers (issue 23 point 4): the
active calls, so its heartbeat and its advert reach the standby at one phase of the interval;
with no active in view, ``first`` calls. ``engine.core.state.answers_partner``."""

from __future__ import annotations

from dataclasses import replace

from hapair.domain.status import Role
from hapair.engine.core import machine as m
from hapair.engine.core.state import answers_partner
from tests.unit.test_machine import active, booted, hb


def standby_of(partner_role: str, unit: str = "first") -> m.State:
    """``unit`` as a standby that last heard its partner say ``partner_role``."""
    other = "second" if unit == "first" else "first"
    partner = hb(unit=other, role=partner_role)
    return replace(booted(unit), role=Role.STANDBY, partner=partner, heard_at=100.0)


def test_the_active_calls_whichever_unit_it_is() -> None:
    assert not answers_partner(active("first"))
    assert not answers_partner(active("second"))


def test_a_unit_whose_partner_is_active_answers_whichever_unit_it_is() -> None:
    for unit in ("first", "second"):
        s = standby_of("active", unit)
        assert s.role != "active"
        assert answers_partner(s), unit


def test_with_no_active_in_view_second_answers_and_first_calls() -> None:
    assert answers_partner(standby_of("standby", "second"))
    assert not answers_partner(standby_of("standby", "first"))
    assert not answers_partner(booted("first"))
    assert answers_partner(booted("second"))


def test_never_both_answer_when_their_views_agree() -> None:
    """Units that see each other's roles as they are never both leave their call out."""
    pairs = [("active", "standby"), ("standby", "active"), ("standby", "standby")]
    for first_role, second_role in pairs:
        first = standby_of(second_role, "first") if first_role != "active" else active("first")
        second = standby_of(first_role, "second") if second_role != "active" else active("second")
        assert not (answers_partner(first) and answers_partner(second)), (first_role, second_role)
