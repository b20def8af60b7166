"""The unit's Redis at start: ``--redis``, or the embedded redis-server started with the unit.

The composition root (``bootstrap.build``) calls ``redis_for``; ``cli/embedded.py`` restarts
the server if it dies.
"""

from __future__ import annotations

import logging

from hapair.domain.unit import is_loopback
from hapair.settings import Settings
from hapair.store.embedded import EmbeddedRedis, RedisPasswords, RedisTLS, supports_tls

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


def redis_for(settings: Settings, host: str) -> tuple[EmbeddedRedis | None, str]:
    """The unit's Redis: ``--redis``, or the embedded one started now (and its URL).

    The embedded one listens on ``redis_bind``, on ``--redis-port`` when given (else a free
    port); only hapair's two ACL users get in, with passwords derived from the pair key when
    there is one (the partner's replica has the same ones).
    With ``--tls-cert``/``--tls-key`` and a redis-server built with TLS it speaks TLS only,
    replication included. The URL returned carries the credentials: log ``public_url`` of it.
    """
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
