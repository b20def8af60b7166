"""The standby's alerts on the stream (SPEC 5a ``alert``): a standby's Redis takes no writes, so
the active writes the partner's alerts as its heartbeats list them, raised and ended, as it does
the partner's tracks (``engine/announce.py``). The end-to-end proof with real units is
tests/integration/test_vid_conflict_netns.py."""

from __future__ import annotations

from typing import Any

from hapair.engine.announce import Announcer
from tests.unit.test_machine import hb

CONFLICT = {
    "reason": "virtual-id-conflict",
    "detail": "a VRRP advertisement with this pair's virtual ID from 192.0.2.30",
    "since": 1000.0,
}
SKEW = {"reason": "clock-skew", "detail": "the partner's clock is 12 s ahead", "since": 1.0}


class Sink:
    """The event stream's port, collecting what is emitted."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def emit(self, type: str, data: dict[str, object], *, at: str | None = None) -> None:
        self.events.append((type, data))

    async def flush(self) -> None:
        """Nothing is buffered here."""


class _Nothing:
    def __getattr__(self, _: str) -> Any:
        return lambda *a, **k: None


def announcer() -> tuple[Announcer, Sink]:
    sink = Sink()
    made = Announcer("first", metrics=_Nothing(), events=sink, hooks=_Nothing(),
                     spawn=lambda coro, _: coro.close())  # fmt: skip
    return made, sink


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
    a, sink = announcer()
    a.became_active(hb("second", role="active", alerts=[CONFLICT]))
    a.partner(hb("second", alerts=[CONFLICT]))
    assert alerts(sink) == []
    a.partner(hb("second"))
    assert alerts(sink) == [("second", "virtual-id-conflict", True)]
