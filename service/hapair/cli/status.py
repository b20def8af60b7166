"""``hapair status``: the two units as the seed's coloured squares.

``render`` is pure (the status in, the text out); ``cmd_status`` fetches ``GET /ha/status``
with certificate verification on (``--tls-ca``, else the system store) and prints it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from hapair.settings import DEFAULT_DATA_DIR, DEFAULT_LISTEN, env

ICON_COLOURS = {
    "green-active": "\033[42;30m A \033[0m",
    "green": "\033[42m   \033[0m",
    "red": "\033[41m   \033[0m",
    "yellow": "\033[43m   \033[0m",
    "blue": "\033[44m   \033[0m",
    "grey": "\033[100m   \033[0m",
}


class _Model(Protocol):
    """A generated SDK model (``hapair_client.models.PairStatus``): ``to_dict()`` is its JSON."""

    def to_dict(self) -> dict[str, Any]: ...


def add_unit_flags(parser: Any) -> None:
    """How a command reaches a unit: ``--url``, ``--token``, ``--data-dir``, ``--tls-ca``
    (``hapair status`` and ``hapair events``)."""
    parser.add_argument(
        "--url",
        default=env("URL"),
        help=f"a unit or the shared address; default: the pair of `hapair up` in --data-dir, "
        f"else http://{DEFAULT_LISTEN}",
    )
    parser.add_argument(
        "--token",
        default=env("TOKEN") or env("ADMIN_TOKEN"),
        help="default: the admin token of `hapair up` in --data-dir",
    )
    parser.add_argument("--data-dir", default=env("DATA_DIR", DEFAULT_DATA_DIR))
    parser.add_argument(
        "--tls-ca",
        default=env("TLS_CA"),
        help="CA file of the unit's certificate (default: the system store)",
    )


def add_parser(sub: Any) -> None:
    """The ``status`` subcommand."""
    st = sub.add_parser("status", help="the pair's status as coloured squares")
    add_unit_flags(st)
    st.add_argument("--color", action="store_true", help="colour even when not a terminal")


def _transition(unit: Mapping[str, Any]) -> str | None:
    """``last: from -> to (cause) at AT``, else ``since AT``, else None."""
    last = unit.get("last_transition")
    if last:
        return (
            f"last: {last.get('from')} -> {last.get('to')} ({last.get('cause')}) "
            f"at {last.get('at')}"
        )
    if unit.get("role_since"):
        return f"since {unit['role_since']}"
    return None


def render(status: Mapping[str, Any] | _Model, *, color: bool) -> str:
    """The text of ``hapair status`` for the body of ``GET /ha/status``.

    Args:
        status: The JSON body as a mapping, or the SDK's ``PairStatus`` model.
        color: ANSI coloured squares; otherwise the icon's name in brackets.

    Returns:
        The lines, each ending with a newline.
    """
    body: Mapping[str, Any] = status if isinstance(status, Mapping) else status.to_dict()
    pair = body["pair"]
    lines = [
        f"pair: {pair['state']}" + (f" (active: {pair['active']})" if pair.get("active") else "")
    ]
    units = body.get("units") or []
    if not units:
        lines.append("HA is disabled on this unit (no HA icons)")
    for u in units:
        square = ICON_COLOURS.get(u["icon"], "[?]") if color else f"[{u['icon']}]"
        reason = f" ({u['reason']})" if u.get("reason") else ""
        sync = "" if u.get("in_sync") is None else (" in sync" if u["in_sync"] else " NOT in sync")
        shared = "  serving shared" if u.get("serving_shared") else ""
        lines.append(
            f"{square} {u['name']:<7} {u['role']}{reason}  rev {u.get('revision')}{sync}"
            f"  {u.get('address') or ''}{shared}"
        )
        transition = _transition(u)
        if transition is not None:
            lines.append(f"      {transition}")
    return "".join(line + "\n" for line in lines)


def cmd_status(ns: argparse.Namespace) -> int:
    """``hapair status``: the two units as the seed's coloured squares."""
    import ssl

    import httpx

    url, token = ns.url, ns.token
    up_dir = Path(ns.data_dir)
    if url is None:
        up = up_dir / "up.json"
        url = json.loads(up.read_text())["url"] if up.exists() else f"http://{DEFAULT_LISTEN}"
    if token is None and (up_dir / "admin.token").exists():
        token = (up_dir / "admin.token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # the bearer token goes only to a unit whose certificate checks out (issue 8)
    verify: ssl.SSLContext | bool = True
    if ns.tls_ca:
        try:
            verify = ssl.create_default_context(cafile=ns.tls_ca)
        except (OSError, ssl.SSLError) as exc:
            print(f"hapair status: --tls-ca {ns.tls_ca}: {exc}", file=sys.stderr)
            return 2
    try:
        resp = httpx.get(
            f"{url.rstrip('/')}/api/v1/ha/status", headers=headers, timeout=5, verify=verify
        )
    except httpx.HTTPError as exc:
        print(f"hapair status: {url} is not reachable: {exc}", file=sys.stderr)
        return 2
    if resp.status_code != 200:
        print(f"hapair status: {resp.status_code} {resp.text}", file=sys.stderr)
        return 2
    print(render(resp.json(), color=sys.stdout.isatty() or ns.color), end="")
    return 0
