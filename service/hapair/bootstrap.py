"""The composition root: builds one unit's parts (store, engine, services, app) from settings.

Nothing else constructs them: ``hapair serve`` runs what ``build`` returns, and the OpenAPI
document is rendered from an app built here without starting anything (``render_openapi``).
Building does no network I/O except starting the embedded Redis when no ``--redis`` is given
(Redis clients connect on first use); ``Unit.close`` releases what ``build`` started.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from hapair import clock
from hapair.api.authenticator import Authenticator
from hapair.api.deps import Deps
from hapair.api.problems import SLUGS
from hapair.app import create_app
from hapair.domain.errors import ValidationFailed
from hapair.domain.unit import (
    check_unit_settings,
    parse_host_port,
    with_pending,
)
from hapair.engine.adapters import build_node
from hapair.engine.core.state import CAUSES
from hapair.engine.pairlink.pairauth import REASONS
from hapair.engine.redis_tunnel import RedisTunnel
from hapair.files import UnsafePath, check_private_dir
from hapair.metrics import Metrics
from hapair.secretfiles import SecretError, check_admin_token, check_pair_key, read_secret
from hapair.services.backup import BackupService
from hapair.services.events import Events
from hapair.services.health import PairMetrics, Readiness
from hapair.services.parameters import ParametersService
from hapair.services.tokens import TokensService
from hapair.services.unit import UnitService, no_auth_refusal
from hapair.settings import Settings
from hapair.store.client import Credentials, connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.events import EventStream
from hapair.store.redis import Store
from hapair.store.redis_start import redis_for
from hapair.store.unitfile import UnitFiles

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger("hapair")


class UnusableSettings(Exception):
    """The unit cannot start with these settings (the message says why, for a person)."""


@dataclass(frozen=True, kw_only=True)
class Unit:
    """One unit's parts: what the API is given (``deps``), its app and what it runs on."""

    deps: Deps
    app: Litestar
    store: Store
    files: UnitFiles
    redis_url: str
    embedded: Any = None  # the embedded Redis (store.embedded.EmbeddedRedis), or None
    tunnel: Any = None  # the replication TLS tunnel (engine.redis_tunnel.RedisTunnel), or None
    rotation: Any = None  # the embedded Redis's passwords following the pair keys, or None

    def reload_secrets(self) -> list[str]:
        """``SIGHUP``: re-reads the secret files and puts them in force at once, no restart.

        The admin token of ``--admin-token-file`` (the old one answers 401 from the next
        request on) and the next pair key of ``--pair-key-next-file`` (the unit-to-unit MAC
        accepts it beside the current one until the rotation, and the embedded Redis the
        passwords derived from it: ``store/redis_rotation.py``; a next key equal to the current
        one is none). The current pair key changes only by the rotation (``--pair-key-file``
        is read at start: a file still holding the old key must not undo a rotation). Every
        file is read and checked before anything changes: a file that is missing, empty or
        too short changes nothing.

        Returns:
            What changed, for the log (never a value).

        Raises:
            SecretError: A file cannot be used; the message says which and why.
        """
        settings = self.deps.settings
        changed: list[str] = []
        token = next_key = None
        if settings.admin_token_file:
            token = read_secret(settings.admin_token_file, "admin token")
            check_admin_token(token)
        keys = settings.pair_keys
        if keys is not None and settings.pair_key_next_file:
            next_key = read_secret(settings.pair_key_next_file, "next pair key")
            check_pair_key(next_key)
        # everything read and checked: now put in force
        if token is not None and self.deps.auth.set_admin_token(token):
            changed.append("admin token")
        next_in_force = None if next_key == (keys and keys.current) else next_key
        if keys is not None and settings.pair_key_next_file and keys.set_next(next_in_force):
            changed.append("next pair key")
        return changed

    async def close(self) -> None:
        """Releases the store and stops the embedded Redis (after the app's lifespan). Each
        step's time is logged (``closed``): a stop that hangs shows which step it is in."""
        started = time.monotonic()
        if self.rotation is not None:
            await self.rotation.close()
        await self.store.close()
        self.files.clear_runtime()
        if self.tunnel is not None:
            await self.tunnel.stop()
        store_s = time.monotonic() - started
        if self.embedded is not None:
            self.embedded.stop()
        log.info(
            "store closed",
            extra={
                "event": "closed",
                "store_s": round(store_s, 3),
                "embedded_redis_s": round(time.monotonic() - started - store_s, 3),
            },
        )


# The unit settings' fields as the flags that set them at start (a person reads the message).
FLAGS_OF = {
    "partner_address": "--partner (HAPAIR_PARTNER)",
    "shared_address": "--shared (HAPAIR_SHARED)",
}


def as_flags(exc: ValidationFailed) -> str:
    """The refusal of the unit settings in the flags' words: each sentence once, the fields
    named by the flags that set them (``mode first requires --partner ... and --shared ...``)."""
    text = "; ".join(dict.fromkeys(f.detail for f in exc.errors))
    for field, flag in FLAGS_OF.items():
        text = re.sub(rf"\b{field}\b", flag, text)
    return text


def prepare_unit_files(settings: Settings) -> UnitFiles:
    """Writes the unit settings given as flags to the data dir; refuses unusable ones.

    Raises:
        UnusableSettings: The settings do not check, an HA mode has no pair key, or
            ``--no-auth`` is asked for with an address that is not loopback.
    """
    files = UnitFiles(settings.data_dir)
    try:  # another user's dir, or one others may write in, could hold planted files
        check_private_dir(settings.data_dir)
    except UnsafePath as exc:
        raise UnusableSettings(f"--data-dir: {exc}") from None
    # 0700 whatever the Redis (SPEC 6 "Files"): with --redis no embedded Redis sets it
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    uf = files.load_unit()
    given = {
        k: v
        for k, v in (
            ("mode", settings.mode),
            ("partner_address", settings.partner),
            ("shared_address", settings.shared),
        )
        if v is not None
    }
    if given:
        merged = with_pending(uf.settings, given)  # flags count as applied at once
        pending = {k: v for k, v in (uf.pending or {}).items() if k not in given} or None
        uf = type(uf)(settings=merged, pending=pending)
    try:
        check_unit_settings(uf.settings)
    except ValidationFailed as exc:
        raise UnusableSettings(as_flags(exc)) from None
    if uf.settings.mode != "non_ha" and not settings.pair_key:
        raise UnusableSettings(
            "a pair key is required in HA mode (--pair-key-file, HAPAIR_PAIR_KEY_FILE)"
        )
    if settings.no_auth:
        # the settings the engine runs with, pending ones applied (the boot applies them)
        applied = msgspec.structs.asdict(with_pending(uf.settings, uf.pending))
        refusal = no_auth_refusal(settings.listen, applied)
        if refusal is not None:
            raise UnusableSettings(refusal)
    files.save_unit(uf)
    return files


def tunnel_for(
    settings: Settings,
    host: str,
    embedded: EmbeddedRedis | None,
    partner_host: Callable[[], str | None],
) -> RedisTunnel | None:
    """hapair's TLS tunnel for replication (``engine.redis_tunnel``), when TLS is on and the
    embedded Redis has none; else None (no TLS, Redis's own TLS, or ``--redis``)."""
    if embedded is None or embedded.tls is not None or not settings.tls:
        return None
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


def build(settings: Settings) -> Unit:
    """Every part of one unit, wired; the embedded Redis is started unless ``--redis`` is set.

    Raises:
        UnusableSettings: See ``prepare_unit_files``; also a file of the embedded Redis that
            is not safe to use (a symlink in its place: never followed), named.
    """
    if settings.clock_offset_s:
        clock.set_offset(settings.clock_offset_s)  # the test hook of hapair.clock
    files = prepare_unit_files(settings)
    host, _port = parse_host_port(settings.listen)
    try:
        embedded, redis_url = redis_for(settings, host)
    except (UnsafePath, SecretError) as exc:  # a symlink planted in the data dir: one line
        raise UnusableSettings(f"--data-dir: {exc}") from None
    # the embedded Redis's password changes with the pair key (store/redis_rotation.py)
    login = Credentials.of(redis_url) if embedded is not None else None
    store = Store(connect(redis_url, login=login))
    # problem slugs, and the fixed reasons of refused unit-to-unit calls
    # (engine/pairlink/pairauth.py)
    metrics = Metrics(causes=CAUSES, reasons=(*SLUGS, *REASONS))
    # the event stream's fan-out reader blocks in XREAD on a connection of its own
    events = Events(
        EventStream(
            store.client,
            connect(redis_url, max_connections=1, login=login),
            keep=settings.events_keep,
        ),
        keepalive_s=settings.events_keepalive_s,
        queue=settings.events_queue,
        client_buffer=settings.events_client_buffer,
    )
    engine = build_node(
        settings,
        files=files,
        store=store,
        redis_url=redis_url,
        metrics=metrics,
        events=events,
    )
    parameters = ParametersService(store, engine, metrics, events=events)

    async def revocation_acknowledged() -> bool | None:
        return await parameters.acknowledged() if engine.ha else None  # None: no partner

    tokens = TokensService(store, revocation_acknowledged)
    deps = Deps(
        settings=settings,
        engine=engine,
        metrics=metrics,
        auth=Authenticator(tokens, admin_token=settings.admin_token, enabled=not settings.no_auth),
        parameters=parameters,
        tokens=tokens,
        unit=UnitService(engine, files),
        readiness=Readiness(store, engine),
        events=events,
        backup=BackupService(parameters),
    )
    app = create_app(deps)
    metrics.sampler = PairMetrics(store, engine).sample
    engine.app = app  # the shared listener, bound while the unit is active, serves it too
    tunnel = tunnel_for(settings, host, embedded, engine.partner_host)
    if tunnel is not None:
        engine.partner_store.target = tunnel.target
        engine.advertise_redis(tunnel.advertised_url)
    elif embedded is not None:
        _redis_follows_update_link(engine, embedded, redis_url)
    return Unit(
        deps=deps,
        app=app,
        store=store,
        files=files,
        redis_url=redis_url,
        embedded=embedded,
        tunnel=tunnel,
        rotation=redis_rotation(settings, embedded, login, files),
    )


def _redis_follows_update_link(engine: Any, embedded: Any, redis_url: str) -> None:
    """The embedded Redis listens on the update link's address too while there is one, and
    the heartbeat advertises it there, so the partner's replica connects over that link (SPEC
    5b'). It keeps its first addresses (loopback, the direct address: this unit's own clients
    connect there, and the direct link takes over at once when the update link goes). With
    hapair's TLS tunnel (not here) replication stays on the tunnel, which listens on the direct
    address: Redis itself listens on loopback only."""
    from hapair.engine.adapters.uplink import NetlinkUpdateLink
    from hapair.store.redis_bind import apply_bind

    uplink = engine.node.ports.update_link
    if not isinstance(uplink, NetlinkUpdateLink):
        return
    first = tuple(embedded.bind)
    if len(first) < 2:  # loopback only (a pair on one host, a wildcard --listen)
        return

    async def on_local(address: str | None) -> None:
        await apply_bind(embedded, (*first, address) if address else first)
        engine.advertise_redis(embedded.url_for(address) if address else redis_url)

    uplink.on_local = on_local


def redis_rotation(
    settings: Settings, embedded: Any, login: Credentials | None, files: UnitFiles
) -> Any:
    """The embedded Redis's passwords following the pair keys (None without either)."""
    if embedded is None or settings.pair_keys is None:
        return None
    from hapair.store.redis_config import REDIS_USER
    from hapair.store.redis_rotation import RedisRotation
    from hapair.urls import with_credentials

    def new_login(password: str) -> None:  # runtime.json: hapair token finds Redis there
        runtime = files.load_runtime()
        if runtime and runtime.get("redis_url"):
            url = with_credentials(str(runtime["redis_url"]), REDIS_USER, password)
            files.save_runtime({**runtime, "redis_url": url})

    return RedisRotation(embedded, settings.pair_keys, login, on_login=new_login)


def render_openapi() -> bytes:
    """``openapi.json`` from a unit's app, built on a scratch data dir; nothing is started
    (the Redis URL given is never contacted)."""
    from hapair.api.openapi import render

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch), redis_url="redis://127.0.0.1:1/0")
        return render(build(settings).app)
