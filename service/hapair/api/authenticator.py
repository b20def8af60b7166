"""Who a bearer token is: the bootstrap admin token or a stored token, compared in constant time.

Apart from ``api/auth.py`` (the hooks that check each request) so the unit's ``Deps`` can name
it without importing the hooks that read the ``Deps``.
"""

from __future__ import annotations

import hmac

from hapair.services.tokens import TokensService, digest


class Authenticator:
    """Resolves a bearer token to a role and an actor name."""

    def __init__(self, tokens: TokensService, *, admin_token: str | None, enabled: bool) -> None:
        self.tokens = tokens
        self.enabled = enabled
        self._bootstrap = digest(admin_token) if admin_token else None

    def set_admin_token(self, admin_token: str) -> bool:
        """Replaces the bootstrap admin token (SIGHUP, ``--admin-token-file``): the next request
        with the old one is a 401. Returns whether it changed."""
        new = digest(admin_token)
        changed = new != self._bootstrap
        self._bootstrap = new
        return changed

    async def identify(self, token: str) -> tuple[str, str, float | None] | None:
        """(role, actor, expiry as a Unix time or None) of a token, or None when it is unknown,
        expired or revoked."""
        d = digest(token)
        if self._bootstrap is not None and hmac.compare_digest(d, self._bootstrap):
            return "admin", "bootstrap-admin", None
        record = await self.tokens.resolve(token)
        if record is None:
            return None
        return record.role, f"token:{record.id}", record.expires_unix
