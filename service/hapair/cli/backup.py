"""``hapair backup`` and ``hapair restore``: ``GET /ha/export`` and ``POST /ha/import``.

Both reach the pair as ``hapair status`` does (``--url``, else the shared address of the
``hapair up`` pair in ``--data-dir``; the token from ``--token-file``, ``--token`` or that pair's
``admin.token``), through the generated SDK's client, certificate checked. ``backup`` writes
the bundle exactly as the pair answered it; ``restore`` sends the file byte for byte (its
checksum covers every byte of content) and prints the diff.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hapair.cli.status import add_unit_flags, unit_client
from hapair.files import write_atomic
from hapair.settings import option

IMPORT_PATH = "/api/v1/ha/import"


def add_parser(sub: Any) -> None:
    """The ``backup`` and ``restore`` subcommands."""
    backup = sub.add_parser(
        "backup",
        help="save the pair's parameters and tokens to a bundle (GET /ha/export)",
        description="Save the pair's HA parameters and API tokens (digests, never the tokens) "
        "as a JSON bundle, through the shared address. Needs an admin token.",
    )
    add_unit_flags(backup)
    option(
        backup,
        "--out",
        env="BACKUP_OUT",
        metavar="F",
        help="write the bundle to F (mode 0600, replaced atomically) instead of stdout",
    )
    restore = sub.add_parser(
        "restore",
        help="make the pair hold a bundle's parameters and tokens (POST /ha/import)",
        description="Import a bundle of `hapair backup` through the shared address: the "
        "parameters become one new revision (actor import), the token set the bundle's (a "
        "revoked token stays revoked). Prints what changed. Needs an admin token.",
    )
    restore.add_argument("file", metavar="F", help="the bundle (`-`: standard input)")
    add_unit_flags(restore)
    option(
        restore,
        "--dry-run",
        env="RESTORE_DRY_RUN",
        action="store_true",
        help="only show what would change; store nothing",
    )
    restore.add_argument("--json", action="store_true", help="print the answer as JSON")


def _printable(text: str) -> str:
    """``text`` with control characters escaped (what a unit answers is not trusted)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _fail(command: str, message: str) -> int:
    print(f"hapair {command}: {_printable(message)}", file=sys.stderr)
    return 2


def _refusal(command: str, status: int, content: bytes) -> int:
    """The problem a unit answered, on one line with every field's pointer."""
    try:
        problem = json.loads(content)
        detail = str(problem.get("detail") or "")
        for err in problem.get("errors") or []:
            detail += f"; {err.get('pointer')}: {err.get('detail')}"
    except (ValueError, AttributeError):
        detail = content.decode(errors="replace")
    return _fail(command, f"{status} {detail}")


def cmd_backup(ns: argparse.Namespace) -> int:
    """``hapair backup [--out F]``."""
    import httpx
    from hapair_client.api.ha import export_bundle

    try:
        url, client = unit_client(ns, "backup", httpx.Timeout(10))
    except OSError as exc:
        return _fail("backup", str(exc))
    if client is None:
        return 2
    with client:
        try:
            resp = export_bundle.sync_detailed(client=client)
        except httpx.HTTPError as exc:
            return _fail("backup", f"{url} is not reachable: {exc}")
    if resp.status_code != 200:
        return _refusal("backup", int(resp.status_code), resp.content)
    try:
        bundle = json.loads(resp.content)
        summary = f"revision {bundle['revision']}, {len(bundle['tokens'])} token(s)"
    except (ValueError, KeyError, TypeError):
        return _fail("backup", f"{url} answered something that is not a bundle")
    if ns.out is None:
        sys.stdout.buffer.write(resp.content + b"\n")
        sys.stdout.flush()
        return 0
    try:
        write_atomic(Path(ns.out), resp.content + b"\n")  # 0600: it holds token digests
    except OSError as exc:
        return _fail("backup", f"cannot write {ns.out}: {exc.strerror}")
    print(f"backup of {summary} written to {ns.out}", file=sys.stderr)
    return 0


def _show(value: Any) -> str:
    return _printable(json.dumps(value))


def describe(result: dict[str, Any]) -> str:
    """The text ``hapair restore`` prints for the answer of ``POST /ha/import``."""
    lines = ["dry run: nothing was stored"] if result.get("dry_run") else []
    changes: dict[str, list[Any]] = result.get("changes") or {}
    revision = result.get("revision")
    if changes:
        lines.append(f"parameters: revision {revision} (actor import)")
        lines += [f"  {_printable(k)}: {_show(v[0])} -> {_show(v[1])}" for k, v in changes.items()]
    else:
        lines.append(f"parameters: unchanged (revision {revision})")
    tokens: dict[str, list[str]] = result.get("tokens") or {}
    for key, label in (
        ("added", "tokens added"),
        ("removed", "tokens removed"),
        ("revoked", "tokens revoked here, left revoked"),
    ):
        if tokens.get(key):
            lines.append(f"{label}: {_printable(', '.join(tokens[key]))}")
    if not any(tokens.get(k) for k in ("added", "removed", "revoked")):
        lines.append("tokens: unchanged")
    return "".join(line + "\n" for line in lines)


def cmd_restore(ns: argparse.Namespace) -> int:
    """``hapair restore F [--dry-run]``."""
    import httpx

    try:
        data = sys.stdin.buffer.read() if ns.file == "-" else Path(ns.file).read_bytes()
    except OSError as exc:
        return _fail("restore", f"cannot read {ns.file}: {exc.strerror}")
    try:
        json.loads(data)
    except ValueError:
        return _fail("restore", f"{ns.file} is not JSON (a bundle of `hapair backup` is)")
    try:
        url, client = unit_client(ns, "restore", httpx.Timeout(10))
    except OSError as exc:
        return _fail("restore", str(exc))
    if client is None:
        return 2
    with client:
        try:
            # the bundle byte for byte: a model's round trip could change what the checksum covers
            resp = client.get_httpx_client().post(
                IMPORT_PATH,
                content=data,
                headers={"Content-Type": "application/json"},
                params={"dry_run": "true"} if ns.dry_run else {},
            )
        except httpx.HTTPError as exc:
            return _fail("restore", f"{url} is not reachable: {exc}")
    if resp.status_code != 200:
        return _refusal("restore", resp.status_code, resp.content)
    result = resp.json()
    if ns.json:
        print(json.dumps(result, indent=2))
    else:
        print(describe(result), end="")
    return 0
