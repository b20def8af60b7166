"""Redis URLs with and without credentials.

A unit's own Redis URL may carry a user name and password (``redis://hapair:PW@host:port/0``)
and, for TLS, client options in its query (``rediss://...?ssl_ca_certs=/path``). What leaves
the unit (a log line, a heartbeat's ``redis_url``) is the public form: scheme, host, port and
database only. A unit reaches its partner's Redis at the partner's public URL with its own
credentials and TLS options: in HA mode both units derive the same password from the pair key.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

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


def partner_store_url(advertised_url: str, own_url: str, *, partner_host: str | None = None) -> str:
    """The URL this unit uses to reach its partner's Redis.

    The partner advertises its public URL (no credentials); this unit adds its own user name
    and password (both units of a pair share them: derived from the pair key) and, when both
    speak TLS, its own TLS client options (``ssl_ca_certs`` ...), which name files on this host.

    Args:
        advertised_url: the ``redis_url`` of the partner's heartbeat.
        own_url: this unit's own Redis URL, credentials included.
        partner_host: when given, the partner's host: a URL naming another host is refused
            (a unit uses only Redis addresses on its partner's host).

    Raises:
        ValueError: the advertised URL is not a redis:// or rediss:// URL, or names a host
            other than ``partner_host``.
    """
    try:
        parts = urlsplit(advertised_url)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise ValueError("the partner advertised an unusable Redis URL") from exc
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ValueError("the partner advertised an unusable Redis URL")
    if partner_host is not None and parts.hostname != partner_host.strip("[]"):
        raise ValueError("the partner advertised a Redis URL on another host")
    user, password = credentials(own_url)
    own = urlsplit(own_url)
    query = own.query if parts.scheme == "rediss" and own.scheme == "rediss" else ""
    return with_credentials(public_url(advertised_url), user, password, query=query)
