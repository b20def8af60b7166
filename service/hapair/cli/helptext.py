"""What ``--help`` says, written once for every subcommand (SPEC 8): a description on every
command, help on every flag with its default and its ``HAPAIR_*`` variable, and a bad flag
value refused in one line (exit 2).

``finish(parser)`` walks the finished parser tree: a command without a description gets its
one-line help as one; a flag without help gets it from ``FLAG_HELP``; every option flag's help
ends with ``(default: D; env HAPAIR_X)``. The variable is the one the flag is bound to
(``settings.option``: the same binding the value is read through), none when it has none. The
value of a secret (``SECRET``) is never shown, only its variable.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from hapair.settings import env_names, shown_default

FLAG_HELP: dict[str, str] = {
    "--data-dir": "the unit's data directory (settings, boots, keys, logs)",
    "--mode": "the unit's mode: non_ha (alone) or first / second of a pair",
    "--no-auth": "serve without tokens (loopback only; writes need a same-origin request)",
    "--heartbeat-interval": "seconds between heartbeats to the partner (> 0)",
    "--on-role-change": "command run on every role change, with HAPAIR_ROLE, HAPAIR_UNIT, "
    "HAPAIR_SHARED_ADDRESS and HAPAIR_VIRTUAL_ID in its environment",
    "--tls-cert": "certificate file: serve HTTPS (with --tls-key)",
    "--tls-key": "private key file of --tls-cert",
    "--log-level": "log level of the JSON log lines on stderr",
    "--role": "the token's role",
    "--description": "what the token is for (shown in the token list)",
    "id": "the token's id (from token list)",
    "command": "what to do (each has its own --help)",
    "token_command": "create, list or revoke",
    "key_command": "what to do with a pair key",
}
SECRET = frozenset({"pair_key", "admin_token", "token"})


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if value is False:
        return "off"
    if value is True:
        return "on"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _suffix(action: argparse.Action) -> str:
    if not action.option_strings or isinstance(
        action, argparse._HelpAction | argparse._VersionAction
    ):
        return ""
    parts = []
    if action.dest not in SECRET and not action.required and "default" not in (action.help or ""):
        parts.append(f"default: {_shown(shown_default(action))}".replace("%", "%%"))
    if env_names(action):
        parts.append(f"env {' or '.join(env_names(action))}")
    return f" ({'; '.join(parts)})" if parts else ""


def _one_line_error(parser: argparse.ArgumentParser) -> None:
    def error(message: str) -> NoReturn:
        sys.stderr.write(f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]


def finish(parser: argparse.ArgumentParser, summary: str | None = None) -> None:
    """Descriptions, flag help, defaults and variables, one-line errors: the whole tree."""
    if not parser.description and summary:
        parser.description = summary
    _one_line_error(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                finish(sub, helps.get(name))
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        if not action.help:
            key = action.option_strings[-1] if action.option_strings else action.dest
            action.help = FLAG_HELP.get(key) or FLAG_HELP.get(action.dest)
        if action.help and "env HAPAIR_" not in action.help:
            action.help += _suffix(action)
