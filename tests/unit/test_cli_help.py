"""``hapair --help`` of every command: a description, help on every flag with its default and
its ``HAPAIR_*`` variable (cli/helptext.py); bad values refused in one line, exit 2."""

from __future__ import annotations

import argparse

import pytest

from hapair.bootstrap import as_flags
from hapair.cli import main
from hapair.cli.events import line
from hapair.domain.errors import ValidationFailed
from hapair.domain.unit import UnitSettings, check_unit_settings
from hapair.domain.version import VERSION


def _parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The ``hapair`` parser as ``main`` builds it (caught at ``parse_args``)."""
    found: list[argparse.ArgumentParser] = []

    def catch(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        found.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    with pytest.raises(SystemExit):
        main([])
    return found[0]


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += _commands(sub)
    return out


def test_every_command_has_a_description_and_every_flag_help(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands = _commands(_parser(monkeypatch))
    assert len(commands) > 10
    missing = []
    for command in commands:
        text = command.format_help()  # renders: no stray % in any help
        assert text
        if not command.description:
            missing.append(f"{command.prog}: no description")
        for action in command._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            if not action.help:
                missing.append(f"{command.prog} {name}: no help")
            elif (
                action.option_strings
                and "default:" not in action.help
                and ("env HAPAIR_" not in action.help)
            ):
                missing.append(f"{command.prog} {name}: neither default nor variable")
    assert missing == []


def test_secrets_show_their_variable_never_their_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAPAIR_PAIR_KEY", "very-secret-pair-key-value")
    serve = next(c for c in _commands(_parser(monkeypatch)) if c.prog.endswith(" serve"))
    text = serve.format_help()
    assert "very-secret-pair-key-value" not in text
    assert "HAPAIR_PAIR_KEY" in text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["serve", "--log-level", "bogus"], "--log-level"),
        (["serve", "--heartbeat-interval", "0"], "above 0"),
        (["up", "--heartbeat-interval", "-1"], "above 0"),
    ],
)
def test_bad_flag_values_are_refused_in_one_line_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_version_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"hapair {VERSION}\n"


def test_mode_first_without_partner_is_one_sentence_naming_the_flags() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_unit_settings(UnitSettings(mode="first"))
    assert as_flags(refused.value) == (
        "mode first requires --partner (HAPAIR_PARTNER) and --shared (HAPAIR_SHARED)"
    )


def test_hapair_events_lines_say_their_time_is_utc() -> None:
    data = {"at": "2026-11-25T12:15:07.012Z", "unit": "second", "from": "standby",
            "to": "active", "cause": "partner-lost"}  # fmt: skip
    printed = line("role", "1-0", data, as_json=False)
    assert printed.startswith("12:15:07.012Z  role "), printed
