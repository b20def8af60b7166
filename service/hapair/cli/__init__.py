"""The ``hapair`` command: one module per subcommand.

``serve`` (one unit; its embedded Redis in ``embedded``), ``up`` (a pair on this host;
``--netns`` in ``up_netns``), ``status``, ``events``, ``token``, ``key``, ``backup`` and
``restore``. A flag that is a setting has an ``HAPAIR_*`` variable (``settings.option``); a
variable's value is checked as the flag's, for the command being run only.
"""

from __future__ import annotations

import argparse
import sys

from hapair.cli import backup, events, helptext, key, serve, status, token, up
from hapair.domain.version import VERSION
from hapair.settings import EnvRefused, resolve_env


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hapair`` command."""
    parser = argparse.ArgumentParser(prog="hapair", description="Management plane of an HA pair")
    parser.add_argument(
        "--version", action="version", version=f"hapair {VERSION}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(sub)
    up.add_parser(sub)
    status.add_parser(sub)
    token.add_parser(sub)
    key.add_parser(sub)
    events.add_parser(sub)
    backup.add_parser(sub)
    helptext.finish(parser)
    ns = parser.parse_args(argv)
    try:
        resolve_env(ns)  # the variables of the flags not given, checked as the flags are
    except EnvRefused as exc:
        sys.stderr.write(f"{exc.prog}: error: {exc} (see {exc.prog} --help)\n")
        return 2
    if ns.command == "serve":
        return serve.cmd_serve(ns)
    if ns.command == "up":
        return up.run(ns)
    if ns.command == "status":
        return status.cmd_status(ns)
    if ns.command == "events":
        return events.cmd_events(ns)
    if ns.command == "backup":
        return backup.cmd_backup(ns)
    if ns.command == "restore":
        return backup.cmd_restore(ns)
    if ns.command == "key":
        return key.cmd_key(ns)
    return token.cmd_token(ns)
