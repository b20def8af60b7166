"""The embedded Redis's passwords follow the unit's pair keys while it runs (SPEC 6 "Rotation
without downtime").

Both ACL users' passwords are derived from the pair key (``redis_config.derived_password``).
When the keys change, by ``SIGHUP`` (a next key) or by ``POST /ha/actions/rotate-pair-key``,
the running server is given, without a restart:

- every password of every key the unit accepts (its current key, its next one, and the one a
  rotation just replaced, for the MAC window), on both users: ``ACL SETUSER ... resetpass``;
- ``masterauth``, the replication password of the current key: the replica's link stays up
  (a server checks a password only when a client logs in), and its next login uses the new
  one, which the partner's server accepts (it holds the same keys);
- hapair's own clients log in with the current key's password from then on (``Credentials``;
  connections already logged in stay).

So one unit at a time loads the next key (both passwords accepted on it), the rotation switches
both units, and once the replaced key's grace is over its passwords are refused. The commands
go through the ``hapair-admin`` user (random password, loopback, nothing else allowed);
``--redis`` (a server hapair did not start) is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from hapair.keyring import GRACE_S, Keyring
from hapair.store.client import Credentials, admin_client
from hapair.store.redis_config import REDIS_USER, REPLICATION_USER, RedisPasswords

if TYPE_CHECKING:
    from collections.abc import Callable

    from hapair.store.embedded import EmbeddedRedis

log = logging.getLogger("hapair")

RETRY_S = 1.0  # a failed change (the server restarting) is tried again after this


def passwords_for(keys: Keyring) -> RedisPasswords:
    """Both users' passwords for the keys the unit holds: it logs in with the current key's,
    and every accepted key's is accepted."""
    return RedisPasswords.derived(keys.current, *(k for k in keys.accepted() if k != keys.current))


async def apply_passwords(embedded: EmbeddedRedis, passwords: RedisPasswords) -> None:
    """Gives the running server these passwords and ``masterauth``, then writes its files.

    Raises:
        RedisError: The server did not take them (nothing is written then).
        OSError: The server cannot be reached.
    """
    client: Any = admin_client(embedded.admin_url)
    try:
        async with client.pipeline(transaction=True) as tx:  # all or nothing, at once
            for user, accepted in (
                (REDIS_USER, passwords.api_all()),
                (REPLICATION_USER, passwords.replication_all()),
            ):
                new = (f">{p}" for p in accepted)
                tx.execute_command("ACL", "SETUSER", user, "resetpass", *new)
            tx.execute_command("CONFIG", "SET", "masterauth", passwords.replication)
            await tx.execute()
    finally:
        await client.aclose()
    embedded.set_passwords(passwords)


class RedisRotation:
    """Keeps one embedded Redis's passwords in step with one keyring (a listener of it)."""

    def __init__(
        self,
        embedded: EmbeddedRedis,
        keys: Keyring,
        login: Credentials | None,
        on_login: Callable[[str], None] = lambda _url: None,
    ) -> None:
        self.embedded = embedded
        self.keys = keys
        self.login = login
        self.on_login = on_login  # told the new password of hapair's user (runtime.json)
        self.applied = passwords_for(keys)  # what the server was started with
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        keys.listeners.append(self.changed)

    def changed(self) -> None:
        """The keys changed: follow them now, and again once a replaced key's grace is over
        (its passwords are refused from then on)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a test's keyring): the next change, or start, applies
            return
        for delay in (0.0, GRACE_S + 0.5):
            task = loop.create_task(self._apply_after(delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _apply_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while True:
            try:
                await self.apply()
                return  # noqa: TRY300 - the loop ends here
            except (RedisError, OSError) as exc:
                log.error(  # noqa: TRY400 - the cause's name is enough, it is tried again
                    "the embedded Redis did not take the pair key's passwords; retrying",
                    extra={"event": "redis-passwords-failed", "error": type(exc).__name__},
                )
                await asyncio.sleep(RETRY_S)

    async def apply(self) -> bool:
        """Gives the server the passwords of the keys held now; whether anything changed."""
        async with self._lock:
            wanted = passwords_for(self.keys)
            if wanted == self.applied:
                return False
            await apply_passwords(self.embedded, wanted)
            self.applied = wanted
            if self.login is not None and self.login.password != wanted.api:
                self.login.password = wanted.api
                self.on_login(wanted.api)
            log.info(
                "embedded Redis passwords follow the pair keys",
                extra={
                    "event": "redis-passwords",
                    "key_id": self.keys.current_id,
                    "next_key_id": self.keys.next_id,
                    "accepted": len(wanted.api_all()),
                },
            )
            return True

    async def close(self) -> None:
        """Stops following (the unit stops)."""
        if self.changed in self.keys.listeners:
            self.keys.listeners.remove(self.changed)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
