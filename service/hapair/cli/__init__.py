"""The ``hapair`` command: one module per subcommand.

``serve`` (one unit; its embedded Redis in ``embedded``), ``up`` (a pair on this host;
``--netns`` in ``up_netns``), ``status``, ``events``, ``token``, ``key``, ``backup`` and
``restore``. Every flag has an
``HAPAIR_*`` environment variable.
"""

from __future__ import annotations

import argparse

from hapair.cli import backup, events, helptext, key, serve, status, token, up
from hapair.domain.version import VERSION
from hapair.settings import DEFAULT_DATA_DIR, env


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
    token.add_parser(sub, env, DEFAULT_DATA_DIR)
    key.add_parser(sub)
    events.add_parser(sub)
    backup.add_parser(sub)
    helptext.finish(parser)
    ns = parser.parse_args(argv)
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
