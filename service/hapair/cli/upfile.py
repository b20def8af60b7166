"""``up.json``: where ``hapair up`` says its pair answers, as ``hapair status`` and ``hapair
token`` (and ``events``, ``backup``) read it to find the pair without flags.

They send the admin token of the same directory to that URL, so the file is trusted no more
than it must be: read without following a symlink and only if it is this user's own file that
nobody else may write (``hapair.files.read_owned``), and its URL used only if it is what
``hapair up`` writes, an ``http``/``https`` URL of a loopback address (an IP literal: a name
could resolve anywhere). Anything else is refused before any request is made.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from urllib.parse import urlsplit

from hapair.files import UnsafePath, read_owned

UP_FILE = "up.json"


class UpFileError(ValueError):
    """An ``up.json`` that is not used; the message names the path and the reason."""


def loopback_url(url: str) -> bool:
    """Whether ``url`` is ``http(s)://`` a loopback IP literal (``127.0.0.0/8``, ``[::1]``),
    an optional port and nothing that could send it elsewhere (no user info)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return False
    return (
        parts.scheme in {"http", "https"}
        and parts.username is None
        and parts.password is None
        and address.is_loopback
    )


def up_url(data_dir: Path) -> str | None:
    """The pair's URL in ``data_dir``'s ``up.json``; None when there is no such file.

    Raises:
        UpFileError: The file is not safe to read (a symlink, another user's, writable by group
            or others), is not JSON with a ``url``, or its URL is not an ``http(s)`` URL of a
            loopback address: no request may carry the admin token there.
    """
    path = data_dir / UP_FILE
    try:
        raw = read_owned(path)
    except FileNotFoundError:
        return None
    except UnsafePath as exc:
        raise UpFileError(str(exc)) from None
    except OSError as exc:
        raise UpFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        url = json.loads(raw)["url"]
    except (ValueError, KeyError, TypeError):
        raise UpFileError(f"{path} does not hold hapair up's JSON with a url") from None
    if not isinstance(url, str) or not loopback_url(url):
        raise UpFileError(
            f"{path} gives the URL {url!r}, not an http(s) URL of a loopback address as "
            "hapair up writes: the admin token is not sent there (give --url)"
        )
    return url
