"""The embedded Redis of ``hapair serve``: started with the unit, restarted if it dies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hapair.domain.status import Role
from hapair.domain.unit import is_loopback
from hapair.settings import Settings

log = logging.getLogger("hapair")


def redis_bind(settings: Settings, host: str, *, tunnel: bool = False) -> list[str]:
    """The addresses the embedded Redis listens on: loopback and, in HA mode, the update link.

    The update link's address is, until ``update_interface`` is read from the links
    (SPEC 5b'), the direct address's host: this is the one place to change for it. A loopback
    direct address (a pair on one host) or the wildcard binds loopback only: Redis never
    listens on every address (with ``0.0.0.0`` the partner cannot reach it: give a concrete
    ``--listen``). With hapair's TLS tunnel (``tunnel``) Redis listens on loopback only: the
    tunnel's exit takes the update link's address, on the same port number, and forwards to
    loopback (SPEC 6 "TLS, v3": nothing crosses the network in clear).
    """
    if tunnel or is_loopback(settings.listen) or host in {"0.0.0.0", "::", ""}:
        return ["127.0.0.1"]
    return ["127.0.0.1", host]


def redis_for(settings: Settings, host: str) -> tuple[Any, str]:
    """The unit's Redis: ``--redis``, or the embedded one started now (and its URL).

    The embedded one listens on ``redis_bind``, on ``--redis-port`` when given (else a free
    port); only hapair's two ACL users get in, with passwords derived from the pair key when
    there is one (the partner's replica has the same ones).
    With ``--tls-cert``/``--tls-key`` and a redis-server built with TLS it speaks TLS only,
    replication included. The URL returned carries the credentials: log ``public_url`` of it.
    """
    from hapair.store.embedded import EmbeddedRedis, RedisPasswords, RedisTLS, supports_tls

    if settings.redis_url:
        return None, settings.redis_url
    executable = settings.redis_server or None
    tls = None
    tunnel = False
    if settings.tls_cert and settings.tls_key:
        if executable is not None and supports_tls(executable):
            ca = settings.tls_ca or settings.tls_cert
            tls = RedisTLS(cert=settings.tls_cert, key=settings.tls_key, ca=ca)
        else:
            tunnel = True
            log.info(
                "the embedded Redis has no TLS: replication goes through hapair's TLS tunnel",
                extra={"event": "redis-tls-tunnel"},
            )
    bind = redis_bind(settings, host, tunnel=tunnel)
    # Derived whenever there is a pair key, not only in HA mode: a unit turned from non_ha to
    # HA by a reboot of the engine keeps this Redis, and its partner must get in.
    # A unit started with a next pair key (rotation) also accepts the passwords derived from
    # it, so a partner already started with the new key logs in (docs/operations.md); later
    # changes of the keys reach the running server through store/redis_rotation.py.
    more = [settings.pair_keys.next] if settings.pair_keys and settings.pair_keys.next else []
    passwords = RedisPasswords.derived(settings.pair_key, *more) if settings.pair_key else None
    embedded = EmbeddedRedis(
        settings.data_dir,
        bind=bind,
        port=settings.redis_port,
        executable=executable,
        passwords=passwords,
        tls=tls,
    )
    embedded.start()
    log.info(
        "embedded redis started",
        extra={
            "event": "redis-started",
            "url": embedded.public_url,
            "bind": bind,
            "redis_version": embedded.version(),
        },
    )
    if len(bind) == 1:
        return embedded, embedded.url
    return embedded, embedded.url_for(host)


def tunnel_for(
    settings: Settings, host: str, embedded: Any, partner_host: Callable[[], str | None]
) -> Any:
    """hapair's TLS tunnel for replication (``engine.redis_tunnel``), when TLS is on and the
    embedded Redis has none; else None (no TLS, Redis's own TLS, or ``--redis``)."""
    if embedded is None or embedded.tls is not None or not settings.tls:
        return None
    from hapair.engine.redis_tunnel import RedisTunnel

    assert settings.tls_cert is not None
    assert settings.tls_key is not None
    return RedisTunnel(
        listen_host=host,
        redis_port=embedded.port,
        partner_host=partner_host,
        cert=settings.tls_cert,
        key=settings.tls_key,
        ca=settings.tls_ca,
    )


async def keep_embedded(embedded: Any, engine: Any, redis_url: str) -> None:
    """Restarts the embedded redis-server if it dies, once the unit is no longer active.

    An active unit first steps aside (``ha_timeout`` without its Redis): restarted from its
    append-only file, the Redis might lack the last writes its replica already has, so the unit
    comes back through the boot negotiation (standby, conflicts archived) rather than as the
    active. It runs on the event loop's thread: the parent-death signal of the child is tied
    to the thread that starts it.
    """
    from hapair.store.client import host_port
    from hapair.store.urls import public_url

    while True:
        await asyncio.sleep(0.5)
        if embedded.pid is not None or (engine.ha and engine.role == Role.ACTIVE):
            continue
        log.error("embedded redis-server is gone; restarting it", extra={"event": "redis-restart"})
        try:
            url = embedded.start()
        except RuntimeError:
            log.exception("redis-server restart failed", extra={"event": "redis-restart-failed"})
            continue
        if embedded.port != host_port(redis_url)[1]:
            log.error(
                "redis-server restarted on another port",
                extra={"event": "redis-restart-port", "url": public_url(url)},
            )
