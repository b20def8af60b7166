"""Redis URLs with and without credentials (outside the layers: the store and the engine use it).

A unit's own Redis URL may carry a user name and password (``redis://hapair:PW@host:port/0``)
and, for TLS, client options in its query (``rediss://...?ssl_ca_certs=/path``). What leaves
the unit (a log line, a heartbeat's ``redis_url``) is the public form: scheme, host, port and
database only. No unit logs into its partner's Redis: the partner's replica is the only one
to connect there (as the replication-only user, with ``masteruser``/``masterauth``).
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlparse, urlsplit, urlunsplit

REDIS_SCHEMES = ("redis", "rediss")


def _netloc(host: str | None, port: int | None) -> str:
    name = host or "127.0.0.1"
    if ":" in name:  # IPv6
        name = f"[{name}]"
    return f"{name}:{port}" if port is not None else name


def public_url(url: str) -> str:
    """``url`` without user name, password, query or fragment: safe to log and to advertise.

    Anything that does not parse as a URL comes back as ``"<redis url>"`` rather than risk
    showing a secret.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<redis url>"
    if parts.scheme not in REDIS_SCHEMES:
        return "<redis url>"
    return urlunsplit((parts.scheme, _netloc(parts.hostname, port), parts.path, "", ""))


def credentials(url: str) -> tuple[str | None, str | None]:
    """The (user name, password) a URL carries, each ``None`` when absent."""
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return user, password


def with_credentials(
    url: str, username: str | None, password: str | None, *, query: str | None = None
) -> str:
    """``url`` (credentials dropped) with ``username``/``password`` and, if given, ``query``."""
    parts = urlsplit(url)
    netloc = _netloc(parts.hostname, parts.port)
    if password is not None:
        user = quote(username or "", safe="")
        netloc = f"{user}:{quote(password, safe='')}@{netloc}"
    elif username:
        netloc = f"{quote(username, safe='')}@{netloc}"
    return urlunsplit(
        (parts.scheme, netloc, parts.path, parts.query if query is None else query, "")
    )


def host_port(url: str) -> tuple[str, int]:
    """Host and port of a redis:// URL."""
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379
