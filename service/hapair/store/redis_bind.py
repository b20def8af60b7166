"""The embedded Redis listens on loopback and the update link's address (SPEC 5b', 6).

The update link's address is read by netlink while the unit runs (``update_interface`` is a
replicated parameter, and the address may come and go), so the running server is told where to
listen with ``CONFIG SET bind`` through the ``hapair-admin`` user (loopback, nothing else
allowed, ``store/redis_rotation.py``); connections already open (a replica's link) stay. The
new addresses are written to the server's files so a restart listens there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hapair.store.client import admin_client

if TYPE_CHECKING:
    from hapair.store.embedded import EmbeddedRedis


async def apply_bind(embedded: EmbeddedRedis, bind: Sequence[str]) -> None:
    """Makes the running server listen on ``bind`` (loopback first).

    Raises:
        RedisError: The server refused (an address it cannot bind: nothing changed).
        OSError: The server cannot be reached.
    """
    if tuple(bind) == embedded.bind:
        return
    client: Any = admin_client(embedded.admin_url)
    try:
        await client.execute_command("CONFIG", "SET", "bind", " ".join(bind))
    finally:
        await client.aclose()
    embedded.set_bind(bind)
