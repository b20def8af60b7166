"""The standby's alerts on the stream (SPEC 5a ``alert``): a standby's Redis takes no writes, so
the active writes the partner's alerts as its heartbeats list them, raised and ended, as it does
the partner's tracks. The end-to-end proof with real units is
tests/integration/test_vid_conflict_netns.py.

The rules are the pure core's (``engine/core/tell.py``): each unit is stepped, and the events
are the ``Emit`` actions its steps hand out."""

from __future__ import annotations

from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import Heartbeat
from tests.unit.test_machine import active, hb, run
from tests.unit.test_machine_deadline import standby

CONFLICT = {
    "reason": "virtual-id-conflict",
    "detail": "a VRRP advertisement with this pair's virtual ID from 192.0.2.30",
    "since": 1000.0,
}
SKEW = {"reason": "clock-skew", "detail": "the partner's clock is 12 s ahead", "since": 1.0}


class Sink:
    """A unit stepped as its node steps it, keeping the events its steps emit."""

    def __init__(self, state: m.State) -> None:
        self.state = state
        self.now = state.booted + 1.0
        self.events: list[tuple[str, dict[str, object]]] = []

    def partner(self, heartbeat: Heartbeat) -> None:
        """The partner's heartbeat heard (a moment after the last)."""
        self.step(m.Heard(now=self.now, heartbeat=heartbeat))

    def step(self, event: m.Event) -> None:
        self.state, actions = run(self.state, event)
        self.events += [(a.kind, dict(a.data)) for a in actions if isinstance(a, m.Emit)]
        self.now += 0.1


def announcer() -> tuple[Sink, Sink]:
    """``first``, active and serving (its own events and the partner's in one sink)."""
    sink = Sink(active())
    return sink, sink


def alerts(sink: Sink) -> list[tuple[object, object, object]]:
    return [(d["unit"], d["reason"], d["ended"]) for t, d in sink.events if t == "alert"]


def test_the_active_writes_the_standbys_alerts_and_their_ends() -> None:
    a, sink = announcer()
    a.partner(hb("second"))
    assert alerts(sink) == []
    a.partner(hb("second", alerts=[CONFLICT]))
    assert alerts(sink) == [("second", "virtual-id-conflict", False)]
    assert sink.events[-1][1]["detail"] == CONFLICT["detail"]
    a.partner(hb("second", alerts=[CONFLICT]))  # still there: no news
    a.partner(hb("second", alerts=[CONFLICT, SKEW]))
    a.partner(hb("second", alerts=[SKEW]))
    a.partner(hb("second"))
    assert alerts(sink) == [
        ("second", "virtual-id-conflict", False),
        ("second", "clock-skew", False),
        ("second", "virtual-id-conflict", True),
        ("second", "clock-skew", True),
    ]


def test_an_alert_already_there_when_the_active_first_hears_the_standby_is_written() -> None:
    a, sink = announcer()
    a.partner(hb("second", alerts=[CONFLICT]))
    assert alerts(sink) == [("second", "virtual-id-conflict", False)]


def test_a_new_active_does_not_repeat_what_its_partner_wrote_as_active() -> None:
    """The partner was active (it wrote its own alerts) and its last heartbeat listed them."""
    a = sink = Sink(standby(100.0))
    a.partner(hb("second", role="active", alerts=[CONFLICT]))
    due = m.deadline(a.state)
    assert due is not None
    a.step(m.Deadline(now=due, due=due))  # the partner is lost: this unit becomes active
    assert a.state.role == "active"
    a.partner(hb("second", alerts=[CONFLICT]))
    assert alerts(sink) == []
    a.partner(hb("second"))
    assert alerts(sink) == [("second", "virtual-id-conflict", True)]
