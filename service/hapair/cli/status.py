"""``hapair status``: the two units as the seed's coloured squares.

``render`` is pure (the status in, the text out); ``cmd_status`` fetches ``GET /ha/status``
through the generated SDK (``hapair_client``), with certificate verification on (``--tls-ca``,
else the system store), and prints it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hapair.cli.text import printable
from hapair.cli.upfile import UpFileError, up_url
from hapair.domain.status import MAINTENANCE_ICON, Role
from hapair.secretfiles import SecretError, read_secret
from hapair.settings import DEFAULT_DATA_DIR, DEFAULT_LISTEN, option

if TYPE_CHECKING:
    import httpx
    from hapair_client import AuthenticatedClient

ICON_COLOURS = {
    Role.ACTIVE.icon: "\033[42;30m A \033[0m",
    Role.STANDBY.icon: "\033[42m   \033[0m",
    Role.NOT_OPERATIONAL.icon: "\033[41m   \033[0m",
    MAINTENANCE_ICON: "\033[43m   \033[0m",
    Role.PACIFIED.icon: "\033[44m   \033[0m",
    Role.INDETERMINATE.icon: "\033[100m   \033[0m",
}


class _Model(Protocol):
    """A generated SDK model (``hapair_client.models.PairStatus``): ``to_dict()`` is its JSON."""

    def to_dict(self) -> dict[str, Any]: ...


def add_unit_flags(parser: Any) -> None:
    """How a command reaches a unit: ``--url``, ``--token``, ``--token-file``, ``--data-dir``,
    ``--tls-ca`` (``hapair status``, ``events``, ``backup`` and ``restore``)."""
    option(
        parser,
        "--url",
        env="URL",
        help=f"a unit or the shared address; default: the pair of `hapair up` in --data-dir, "
        f"else http://{DEFAULT_LISTEN}",
    )
    option(
        parser,
        "--token",
        env=("TOKEN", "ADMIN_TOKEN"),
        help="default: the admin token of `hapair up` in --data-dir (prefer --token-file: "
        "argv shows in ps)",
    )
    option(
        parser,
        "--token-file",
        env="TOKEN_FILE",
        metavar="F",
        help="read the token from F (first line); wins over --token",
    )
    option(parser, "--data-dir", env="DATA_DIR", default=DEFAULT_DATA_DIR)
    option(
        parser,
        "--tls-ca",
        env="TLS_CA",
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


def _tracks(unit: Mapping[str, Any]) -> str | None:
    """``tracks: web ok, gw FAILED (no answer)``, else None (a unit without tracks)."""
    tracks = unit.get("tracks") or []
    if not tracks:
        return None
    words = {True: "ok", False: "FAILED", None: "not checked yet"}
    parts = []
    for t in tracks:
        detail = f" ({t.get('detail')})" if t.get("ok") is False and t.get("detail") else ""
        parts.append(f"{t.get('name')} {words.get(t.get('ok'), '?')}{detail}")
    text = "tracks: " + ", ".join(parts)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
        tracks = _tracks(u)
        if tracks is not None:
            lines.append(f"      {tracks}")
    return "".join(line + "\n" for line in lines)


def unit_target(ns: argparse.Namespace) -> tuple[str, str | None]:
    """The unit's URL and token from the flags, else from ``hapair up``'s ``--data-dir``.

    The token: ``--token-file``, else ``--token``, else ``--data-dir``'s ``admin.token``.

    Raises:
        SecretError: The token file cannot be read, is empty, or is not safe to trust (a
            symlink, another user's, writable by group or others).
        UpFileError: ``up.json`` is not safe to read, or its URL is not an ``http(s)`` URL of a
            loopback address (``hapair.cli.upfile``): checked before any token is read.
    """
    url, token = ns.url, ns.token
    up_dir = Path(ns.data_dir)
    if url is None:
        url = up_url(up_dir) or f"http://{DEFAULT_LISTEN}"
    token_file = getattr(ns, "token_file", None)
    if token_file:
        token = read_secret(token_file, "token")
    if token is None and (up_dir / "admin.token").exists():
        token = read_secret(up_dir / "admin.token", "admin token")
    return str(url), token


def unit_client(
    ns: argparse.Namespace, command: str, timeout: httpx.Timeout
) -> tuple[str, AuthenticatedClient | None]:
    """The unit's URL (see :func:`unit_target`) and the SDK client of ``hapair status`` and
    ``hapair events`` for it; the client is None (said on stderr) when ``--tls-ca`` or
    ``--token-file`` cannot be read.

    Certificate verification stays on (``--tls-ca``, else the system store): the bearer token
    goes only to a unit whose certificate checks out (issue 8). Without a token no
    ``Authorization`` header is sent.
    """
    import ssl

    from hapair_client import AuthenticatedClient

    try:
        url, token = unit_target(ns)
    except SecretError as exc:
        print(f"hapair {command}: --token-file: {exc}", file=sys.stderr)
        return str(ns.url), None
    except UpFileError as exc:  # nothing is sent: the URL came from a file, not the user
        print(f"hapair {command}: {printable(str(exc))}", file=sys.stderr)
        return str(ns.url), None
    verify: ssl.SSLContext | bool = True
    if ns.tls_ca:
        try:
            verify = ssl.create_default_context(cafile=ns.tls_ca)
        except (OSError, ssl.SSLError) as exc:
            print(f"hapair {command}: --tls-ca {ns.tls_ca}: {exc}", file=sys.stderr)
            return url, None
    client = AuthenticatedClient(
        base_url=url.rstrip("/"), token=token or "", timeout=timeout, verify_ssl=verify
    )
    if not token:
        client.get_httpx_client().headers.pop("Authorization", None)
    return url, client


def cmd_status(ns: argparse.Namespace) -> int:
    """``hapair status``: the two units as the seed's coloured squares."""
    import httpx
    from hapair_client.api.ha import get_status
    from hapair_client.models import PairStatus
    from hapair_client.types import UNSET

    url, client = unit_client(ns, "status", httpx.Timeout(5))
    if client is None:
        return 2
    with client:
        try:
            # timeout=UNSET: no query string, as the plain GET (the server's fast path)
            resp = get_status.sync_detailed(client=client, timeout=UNSET)
        except httpx.HTTPError as exc:
            print(f"hapair status: {url} is not reachable: {exc}", file=sys.stderr)
            return 2
    if resp.status_code != 200 or not isinstance(resp.parsed, PairStatus):
        text = resp.content.decode(errors="replace")
        print(f"hapair status: {int(resp.status_code)} {printable(text)}", file=sys.stderr)
        return 2
    print(render(resp.parsed, color=sys.stdout.isatty() or ns.color), end="")
    return 0
