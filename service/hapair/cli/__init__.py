"""The ``hapair`` command: one module per subcommand.

``serve`` (one unit; its embedded Redis in ``embedded``), ``up`` (a pair on this host;
``--netns`` in ``up_netns``), ``status``, ``events``, ``token``, ``key``, ``backup`` and
``restore``. A flag that is a setting has an ``HAPAIR_*`` variable (``settings.option``); a
variable's value is checked as the flag's, for the command being run only.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from hapair.cli import helptext, serve
from hapair.domain.version import VERSION
from hapair.settings import EnvRefused, resolve_env

# the module of each subcommand after serve, in the order --help lists them
OTHERS = ("up", "status", "token", "key", "events", "backup")


def _others() -> dict[str, ModuleType]:
    from hapair.cli import backup, events, key, status, token, up

    modules = {"up": up, "status": status, "token": token, "key": key}
    return modules | {"events": events, "backup": backup}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hapair`` command.

    ``hapair serve`` (every unit's process) builds serve's parser alone and never imports the
    other commands' modules (issue 23: memory every unit held for nothing); ``hapair serve
    --help`` and its errors read as with the whole parser."""
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="hapair", description="Management plane of an HA pair")
    parser.add_argument(
        "--version", action="version", version=f"hapair {VERSION}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(sub)
    others = {} if args[:1] == ["serve"] else _others()
    for name in OTHERS:
        if name in others:
            others[name].add_parser(sub)
    helptext.finish(parser)
    ns = parser.parse_args(args)
    try:
        resolve_env(ns)  # the variables of the flags not given, checked as the flags are
    except EnvRefused as exc:
        sys.stderr.write(f"{exc.prog}: error: {exc} (see {exc.prog} --help)\n")
        return 2
    if ns.command == "serve":
        return serve.cmd_serve(ns)
    return _run_other(ns, others)


def _run_other(ns: argparse.Namespace, others: dict[str, ModuleType]) -> int:
    """Every command but serve."""
    if ns.command == "up":
        return int(others["up"].run(ns))
    if ns.command == "status":
        return int(others["status"].cmd_status(ns))
    if ns.command == "events":
        return int(others["events"].cmd_events(ns))
    if ns.command == "backup":
        return int(others["backup"].cmd_backup(ns))
    if ns.command == "restore":
        return int(others["backup"].cmd_restore(ns))
    if ns.command == "key":
        return int(others["key"].cmd_key(ns))
    return int(others["token"].cmd_token(ns))
