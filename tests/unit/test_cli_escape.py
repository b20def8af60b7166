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


def test_token_list_and_errors_escape_what_the_api_sent(capsys: pytest.CaptureFixture[str]) -> None:
    """A token's description is the API's to store (any text); ``hapair token list`` prints it
    escaped, as it prints an error's text."""
    from hapair.cli.token import _fail, _print_list

    item = {"id": "tok-1", "role": "admin", "created_at": "2026-12-02T00:00:00Z",
            "expires_at": None, "description": HOSTILE}  # fmt: skip
    _print_list([item], as_json=False)
    assert _fail(f"409 {HOSTILE}") == 2
    out, err = capsys.readouterr()
    for text in (out, err):
        assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text), text
    assert out.count("\n") == 2 and err.count("\n") == 1  # no line of the API's own
