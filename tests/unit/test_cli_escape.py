"""The CLI prints nothing raw from the API: control characters are escaped (issue 16 point 7:
``hapair events`` printed a maintenance reason's escape sequences raw)."""

from __future__ import annotations

import pytest

from hapair.cli.events import line

HOSTILE = "\x1b[2J\x1b]0;owned\x07red\r\nfake line\x9b31m"


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("maintenance", {"unit": "first", "enabled": True, "reason": HOSTILE}),
        ("track", {"unit": "first", "name": HOSTILE, "ok": False, "detail": HOSTILE}),
        ("alert", {"unit": "first", "reason": "clock-skew", "detail": HOSTILE, "ended": False}),
        ("role", {"unit": HOSTILE, "from": "standby", "to": "active", "cause": HOSTILE}),
        ("future-type", {"x": HOSTILE}),
    ],
)
def test_event_lines_escape_control_characters(event: str, data: dict[str, object]) -> None:
    data = {"at": "2026-12-02T05:00:00.000Z", **data}
    printed = line(event, "1-0", data, as_json=False)
    assert all(c.isprintable() for c in printed), repr(printed)
    assert "\\x1b" in printed or "\\u001b" in printed
    as_json = line(event, "1-0", data, as_json=True)
    assert all(c.isprintable() for c in as_json), repr(as_json)


def test_alert_event_line_says_what_and_whether_it_ended() -> None:
    data = {"at": "2026-12-02T05:00:00.000Z", "unit": "second", "reason": "partner-auth-failed"}
    raised = line(
        "alert", None, {**data, "detail": "another pair key", "ended": False}, as_json=False
    )
    assert raised.endswith("second alert partner-auth-failed raised: another pair key")
    ended = line(
        "alert", None, {**data, "detail": "another pair key", "ended": True}, as_json=False
    )
    assert "partner-auth-failed ended" in ended
