"""``hapair --help`` of every command: a description, help on every flag with its default and
its ``HAPAIR_*`` variable (cli/helptext.py); bad values refused in one line, exit 2."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hapair
from hapair.bootstrap import as_flags
from hapair.cli import backup as cli_backup
from hapair.cli import events as cli_events
from hapair.cli import key as cli_key
from hapair.cli import main
from hapair.cli import serve as cli_serve
from hapair.cli import status as cli_status
from hapair.cli import token as cli_token
from hapair.cli import up as cli_up
from hapair.cli.events import line
from hapair.cli.helptext import SECRET
from hapair.domain.errors import ValidationFailed
from hapair.domain.unit import UnitSettings, check_unit_settings
from hapair.domain.version import VERSION
from hapair.settings import (
    LAB_LIMITS,
    env_names,
    from_flags,
    host_port,
    interface_name,
    ip_port,
    lab_limits,
    positive_float,
    positive_int,
    prefix_length,
    tcp_port,
    track_text,
    udp_port,
)


def _parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The ``hapair`` parser as ``main`` builds it (caught at ``parse_args``)."""
    found: list[argparse.ArgumentParser] = []

    def catch(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        found.append(self)
        raise SystemExit(0)

    with monkeypatch.context() as patched:
        patched.setattr(argparse.ArgumentParser, "parse_args", catch)
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


HOOK_VARIABLES = {"HAPAIR_ROLE", "HAPAIR_UNIT", "HAPAIR_SHARED_ADDRESS", "HAPAIR_VIRTUAL_ID"}
"""Named in --on-role-change's help: what the hook gets, not what hapair reads."""


def _options(command: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in command._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction | argparse._VersionAction)
    ]


def test_every_command_has_a_description_and_every_flag_help(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every flag's help says its default (unless it is a secret or required) and names
    exactly the variables the flag is bound to: the ones its value is read from."""
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
                continue
            if not action.option_strings:
                continue
            if "default" not in action.help and not action.required and action.dest not in SECRET:
                missing.append(f"{command.prog} {name}: no default")
            named = set(re.findall(r"HAPAIR_[A-Z0-9_]+", action.help)) - (
                HOOK_VARIABLES if name == "--on-role-change" else set()
            )
            if named != set(env_names(action)):
                reads = set(env_names(action))
                missing.append(f"{command.prog} {name}: help names {named}, reads {reads}")
            for variable in env_names(action):
                if f"env {variable}" not in action.help and f"or {variable}" not in action.help:
                    missing.append(f"{command.prog} {name}: no 'env {variable}'")
    assert missing == []


SAMPLES: dict[object, str] = {
    tcp_port: "4242",
    udp_port: "4244",
    positive_int: "7",
    positive_float: "2.5",
    prefix_length: "24",
    host_port: "127.0.0.9:4242",
    ip_port: "127.0.0.9:4243",
    interface_name: "eth9",
    track_text: "web:tcp:127.0.0.1:80",
}


def _argv(command: argparse.ArgumentParser) -> list[str]:
    """The shortest command line of ``command`` (its required flags and arguments)."""
    argv = command.prog.split()[1:]
    for action in command._actions:
        if action.required and action.option_strings:
            argv += [action.option_strings[0], (action.choices or ["x"])[0]]  # type: ignore[index]
        elif action.required:
            argv.append("x")
    return argv


def _parsed(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> argparse.Namespace:
    """What ``hapair ARGV`` runs its command with (the command itself not run)."""
    got: list[argparse.Namespace] = []

    def run(ns: argparse.Namespace) -> int:
        got.append(ns)
        return 0

    for module, name in [(cli_serve, "cmd_serve"), (cli_up, "run"), (cli_status, "cmd_status"),
                         (cli_events, "cmd_events"), (cli_backup, "cmd_backup"),
                         (cli_backup, "cmd_restore"), (cli_key, "cmd_key"),
                         (cli_token, "cmd_token")]:  # fmt: skip
        monkeypatch.setattr(module, name, run)
    assert main(argv) == 0
    return got[0]


def _leaves(monkeypatch: pytest.MonkeyPatch) -> list[argparse.ArgumentParser]:
    return [
        c
        for c in _commands(_parser(monkeypatch))
        if not any(isinstance(a, argparse._SubParsersAction) for a in c._actions)
    ]


def test_every_variable_a_help_names_sets_its_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Derived, not pattern-matched: for each flag of each command and each variable its help
    names, setting that variable (alone) makes the command run with the variable's value."""
    for name in [n for n in os.environ if n.startswith("HAPAIR_")]:
        monkeypatch.delenv(name)
    checked = 0
    for command in _leaves(monkeypatch):
        argv = _argv(command)
        for action in _options(command):
            variables = sorted(set(re.findall(r"env (HAPAIR_[A-Z0-9_]+)", action.help or "")))
            variables += re.findall(r" or (HAPAIR_[A-Z0-9_]+)\)", action.help or "")
            for variable in variables:
                if isinstance(action, argparse._StoreTrueAction):
                    sample, expected = "yes", True
                elif action.choices:
                    sample = next(str(c) for c in action.choices if c != _parsed(
                        monkeypatch, argv).__dict__[action.dest])  # fmt: skip
                    expected = sample
                else:
                    sample = SAMPLES.get(action.type, "/some/value")
                    expected = action.type(sample) if action.type else sample
                if isinstance(action, argparse._AppendAction):
                    expected = [expected]
                monkeypatch.setenv(variable, sample)
                value = getattr(_parsed(monkeypatch, argv), action.dest)
                monkeypatch.delenv(variable)
                assert value == expected, (command.prog, action.option_strings, variable)
                assert getattr(_parsed(monkeypatch, argv), action.dest) != expected
                checked += 1
    assert checked > 40


class _Recording(dict[str, str]):
    """An environment that remembers which ``HAPAIR_*`` names were looked up."""

    def __init__(self, base: dict[str, str]) -> None:
        super().__init__(base)
        self.read: set[str] = set()

    def __repr__(self) -> str:  # an assertion's message shows no value of the environment
        return f"<environment; read {sorted(self.read)}>"

    def _saw(self, key: object) -> None:
        if isinstance(key, str) and key.startswith("HAPAIR_"):
            self.read.add(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._saw(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self._saw(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._saw(key)
        return super().__contains__(key)


def test_every_variable_a_command_reads_is_named_by_its_help(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other way round: the ``HAPAIR_*`` names looked up while a command's flags are
    parsed are the ones its help names (and serve's settings add only the lab limits, which
    ``lab_limits`` documents)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")}
    seen: set[str] = set()
    for command in _leaves(monkeypatch):
        environ = _Recording(base)
        monkeypatch.setattr(os, "environ", environ)
        ns = _parsed(monkeypatch, _argv(command))
        help_names = set(re.findall(r"HAPAIR_[A-Z0-9_]+", command.format_help())) - HOOK_VARIABLES
        read = set(environ.read)
        seen |= read
        assert read <= help_names, (command.prog, read - help_names)
        if command.prog == "hapair serve":
            environ.read.clear()
            from_flags(ns)
            lab = environ.read - help_names
            assert lab == {*LAB_LIMITS, "HAPAIR_FASTPATH"}, lab
            assert all(name in (lab_limits.__doc__ or "") for name in lab)
        monkeypatch.undo()
    assert len(seen) > 20


def test_only_settings_reads_the_environment() -> None:
    """No other module looks a setting up in the environment (``units.unit_env`` and the
    secret scrubbing copy or drop variables; they read no value)."""
    root = Path(hapair.__file__).parent
    lookups = re.compile(r"environ\.get\(|environ\[|getenv\(|\benv\(\"|env_bool\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.name != "settings.py"
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if lookups.search(text)
    ]
    assert found == []


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


def _hapair(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real ``hapair`` process (this checkout's package first on its path)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HAPAIR_")}
    package_root = str(Path(hapair.__file__).parents[1])
    environ["PYTHONPATH"] = os.pathsep.join([package_root, environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "hapair", *argv],
        env={**environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


REFUSED = [
    # (argv, environment, what the one line names)
    (["serve", "--listen", "foo"], {}, "--listen"),
    (["serve", "--listen", "127.0.0.1:0"], {}, "--listen"),
    (["serve", "--listen", "127.0.0.1:70000"], {}, "--listen"),
    (["serve", "--partner", "nohostport"], {}, "--partner"),
    (["serve", "--shared", "name.example:8080"], {}, "--shared"),
    (["serve", "--redis-port", "70000"], {}, "--redis-port"),
    (["serve", "--shared-prefix", "129"], {}, "--shared-prefix"),
    (["serve", "--max-connections", "0"], {}, "--max-connections"),
    (["serve", "--haproxy-peers-port", "x"], {}, "--haproxy-peers-port"),
    (["up", "--port", "70000"], {}, "--port"),
    (["up", "--port", "0"], {}, "--port"),
    (["token", "create", "--role", "admin", "--expires-in", "-5"], {}, "--expires-in"),
    (["serve"], {"HAPAIR_HEARTBEAT_INTERVAL": "0"}, "HAPAIR_HEARTBEAT_INTERVAL"),
    (["serve"], {"HAPAIR_HEARTBEAT_INTERVAL": "abc"}, "HAPAIR_HEARTBEAT_INTERVAL"),
    (["up"], {"HAPAIR_HEARTBEAT_INTERVAL": "-1"}, "HAPAIR_HEARTBEAT_INTERVAL"),
    (["serve"], {"HAPAIR_REDIS_PORT": "abc"}, "HAPAIR_REDIS_PORT"),
    (["serve"], {"HAPAIR_LISTEN": "127.0.0.1:0"}, "HAPAIR_LISTEN"),
    (["serve"], {"HAPAIR_MODE": "third"}, "HAPAIR_MODE"),
    (["serve"], {"HAPAIR_NO_AUTH": "maybe"}, "HAPAIR_NO_AUTH"),
    (["serve"], {"HAPAIR_INTERFACE": "eth0,$(id)"}, "HAPAIR_INTERFACE"),
    (["serve"], {"HAPAIR_TRACK": "web:dns:x"}, "HAPAIR_TRACK"),
    (["serve"], {"HAPAIR_PACIFY_MAX_BOOTS": "many"}, "HAPAIR_PACIFY_MAX_BOOTS"),
    (["up"], {"HAPAIR_PORT": "65536"}, "HAPAIR_PORT"),
    (["restore", "-"], {"HAPAIR_RESTORE_DRY_RUN": "perhaps"}, "HAPAIR_RESTORE_DRY_RUN"),
]


@pytest.mark.parametrize(("argv", "env", "names"), REFUSED)
def test_a_bad_value_of_a_flag_or_its_variable_is_one_line_exit_2(
    tmp_path: Path, argv: list[str], env: dict[str, str], names: str
) -> None:
    """SPEC 8 / issue 20 point 4, through a real ``hapair``: refused before anything starts
    (nothing written in the working directory), one line on stderr naming the flag or the
    variable, exit 2, no traceback."""
    out = _hapair(argv, env, tmp_path)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1 and names in out.stderr, out.stderr
    assert out.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no data dir, no up.json


def test_a_bad_variable_breaks_only_the_command_that_reads_it(tmp_path: Path) -> None:
    """``HAPAIR_REDIS_PORT`` is serve's: ``hapair status --help`` and ``hapair key generate``
    do not read it, so they work with a bad value in the environment."""
    env = {"HAPAIR_REDIS_PORT": "abc", "HAPAIR_HEARTBEAT_INTERVAL": "abc"}
    helped = _hapair(["status", "--help"], env, tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "usage: hapair status" in helped.stdout
    generated = _hapair(["key", "generate"], env, tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert len(generated.stdout.strip()) == 43
    helped = _hapair(["serve", "--help"], env, tmp_path)  # --help reads no variable either
    assert helped.returncode == 0, helped.stderr


def test_a_flag_given_wins_over_its_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable is read only for a flag not given: a bad one under a given flag is unused."""
    monkeypatch.setenv("HAPAIR_HEARTBEAT_INTERVAL", "abc")
    monkeypatch.setenv("HAPAIR_INTERFACE", "$(id)")
    ns = _parsed(monkeypatch, ["serve", "--heartbeat-interval", "0.5", "--interface", "eth1"])
    assert ns.heartbeat_interval == 0.5
    assert ns.interface == ["eth1"]  # the flags replace the variable's list


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
