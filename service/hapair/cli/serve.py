"""``hapair serve``: run one unit. Every flag has an ``HAPAIR_*`` environment variable."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from hapair import logs
from hapair.cli.embedded import keep_embedded, redis_for
from hapair.settings import DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings, env, env_bool, pacify_limits

log = logging.getLogger("hapair")


def add_parser(sub: Any) -> None:
    """The ``serve`` subcommand."""
    p = sub.add_parser("serve", help="run one unit")
    p.add_argument(
        "--listen", default=env("LISTEN", DEFAULT_LISTEN), help="direct address HOST:PORT"
    )
    p.add_argument("--data-dir", default=env("DATA_DIR", DEFAULT_DATA_DIR))
    p.add_argument(
        "--redis", default=env("REDIS"), help="use this Redis instead of the embedded one"
    )
    p.add_argument(
        "--redis-server",
        default=env("REDIS_SERVER"),
        help="redis-server binary of the embedded Redis (default: the bundled 6.2, no TLS)",
    )
    p.add_argument("--mode", choices=["non_ha", "first", "second"], default=env("MODE"))
    p.add_argument("--partner", default=env("PARTNER"), help="the partner's direct address")
    p.add_argument("--shared", default=env("SHARED"), help="the pair's shared address IP:PORT")
    p.add_argument(
        "--shared-interface",
        default=env("SHARED_INTERFACE"),
        help="move the shared IP as a virtual IP on this interface (CAP_NET_ADMIN, CAP_NET_RAW)",
    )
    p.add_argument(
        "--shared-prefix",
        type=int,
        default=int(env("SHARED_PREFIX") or 0) or None,
        help="prefix length of the virtual IP (default 32 for IPv4, 128 for IPv6)",
    )
    p.add_argument("--pair-key", default=env("PAIR_KEY"), help="prefer --pair-key-file (ps)")
    p.add_argument(
        "--pair-key-file", default=env("PAIR_KEY_FILE"), help="file holding the pair key"
    )
    p.add_argument("--admin-token", default=env("ADMIN_TOKEN"), help="prefer --admin-token-file")
    p.add_argument(
        "--admin-token-file",
        default=env("ADMIN_TOKEN_FILE"),
        help="file holding a bootstrap admin token",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=int(env("MAX_CONNECTIONS") or 256),
        help="concurrent connections per unit (default 256)",
    )
    p.add_argument("--no-auth", action="store_true", default=env_bool("NO_AUTH"))
    p.add_argument(
        "--heartbeat-interval", type=float, default=float(env("HEARTBEAT_INTERVAL") or 1.0)
    )
    p.add_argument(
        "--interface",
        action="append",
        default=[x for x in (env("INTERFACE") or "").split(",") if x],
        help="monitored interface (repeatable)",
    )
    p.add_argument("--on-role-change", default=env("ON_ROLE_CHANGE"))
    p.add_argument("--tls-cert", default=env("TLS_CERT"))
    p.add_argument("--tls-key", default=env("TLS_KEY"))
    p.add_argument(
        "--tls-ca",
        default=env("TLS_CA"),
        help="CA file that signs the partner's certificate (default: the system store)",
    )
    p.add_argument("--log-level", default=env("LOG_LEVEL", "info"))


def settings_from(ns: argparse.Namespace) -> Settings:
    """The frozen settings of ``hapair serve``."""
    window, max_boots = pacify_limits()
    return Settings(
        listen=ns.listen,
        data_dir=Path(ns.data_dir).resolve(),
        redis_url=ns.redis,
        redis_server=ns.redis_server,
        mode=ns.mode,
        partner=ns.partner,
        shared=ns.shared,
        shared_interface=ns.shared_interface,
        shared_prefix=ns.shared_prefix,
        pair_key=ns.pair_key,
        admin_token=ns.admin_token,
        no_auth=ns.no_auth,
        heartbeat_interval=ns.heartbeat_interval,
        interfaces=tuple(ns.interface),
        on_role_change=ns.on_role_change,
        tls_cert=ns.tls_cert,
        tls_key=ns.tls_key,
        tls_ca=ns.tls_ca,
        max_connections=ns.max_connections,
        pacify_window_s=window,
        pacify_max_boots=max_boots,
        log_level=ns.log_level,
    )


def _prepare_unit(settings: Settings) -> Any:
    """Writes the flags given to the unit settings; refuses an unusable configuration."""
    from hapair.domain.errors import ValidationFailed
    from hapair.domain.unit import UnitSettings, check_unit_settings
    from hapair.store.unitfile import UnitFiles

    files = UnitFiles(settings.data_dir)
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
        current = uf.settings
        merged = UnitSettings(
            mode=given.get("mode", current.mode),  # type: ignore[arg-type]
            partner_address=given.get("partner_address", current.partner_address),
            shared_address=given.get("shared_address", current.shared_address),
        )
        pending = {k: v for k, v in (uf.pending or {}).items() if k not in given} or None
        uf = type(uf)(settings=merged, pending=pending)
    target = uf.settings
    try:
        check_unit_settings(target)
    except ValidationFailed as exc:
        raise SystemExit("hapair: " + "; ".join(f.detail for f in exc.errors)) from None
    if target.mode != "non_ha" and not settings.pair_key:
        raise SystemExit(
            "hapair: a pair key is required in HA mode (--pair-key-file, HAPAIR_PAIR_KEY_FILE)"
        )
    if settings.no_auth:
        import msgspec

        from hapair.services.unit import no_auth_refusal

        # the settings the engine runs with, pending ones applied (the boot applies them)
        applied = {**msgspec.structs.asdict(uf.settings), **(uf.pending or {})}
        refusal = no_auth_refusal(settings.listen, applied)
        if refusal is not None:
            raise SystemExit(f"hapair: {refusal}")
    files.save_unit(uf)
    return files


async def _serve(settings: Settings) -> int:  # noqa: PLR0915 - linear wiring until bootstrap.py
    from hapair.api.auth import Authenticator
    from hapair.api.context import AppContext
    from hapair.app import create_app
    from hapair.domain.unit import parse_host_port
    from hapair.engine.driver import Engine
    from hapair.engine.listener import Listener
    from hapair.metrics import Metrics
    from hapair.services.events import Events
    from hapair.services.parameters import ParametersService
    from hapair.services.tokens import TokensService
    from hapair.settings import events_limits
    from hapair.store.client import connect
    from hapair.store.events import EventStream
    from hapair.store.redis import Store
    from hapair.store.urls import public_url

    files = _prepare_unit(settings)
    host, port = parse_host_port(settings.listen)
    embedded, redis_url = redis_for(settings, host)
    store = Store(connect(redis_url))
    store.start_probe()
    metrics = Metrics()
    keepalive_s, events_keep, events_queue, client_buffer = events_limits()
    # the event stream's fan-out reader blocks in XREAD on a connection of its own
    events = Events(
        EventStream(store.client, connect(redis_url, max_connections=1), keep=events_keep),
        keepalive_s=keepalive_s,
        queue=events_queue,
        client_buffer=client_buffer,
    )
    engine = Engine(
        settings=settings,
        files=files,
        store=store,
        redis_url=redis_url,
        metrics=metrics,
        events=events,
    )
    tokens = TokensService(store)
    ctx = AppContext(
        settings=settings,
        store=store,
        engine=engine,
        metrics=metrics,
        auth=Authenticator(tokens, admin_token=settings.admin_token, enabled=not settings.no_auth),
        files=files,
        parameters=ParametersService(store, engine, metrics, events=events),
        tokens=tokens,
        events=events,
    )
    app = create_app(ctx)
    ssl = (
        {"ssl_certfile": settings.tls_cert or "", "ssl_keyfile": settings.tls_key or ""}
        if settings.tls
        else None
    )
    direct = Listener(app, host, port, ssl=ssl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.boot()
        await direct.start()
        files.save_runtime({"pid": os.getpid(), "address": settings.listen, "redis_url": redis_url})
        log.info(
            "hapair serving",
            extra={
                "event": "start",
                "address": settings.listen,
                "redis": public_url(redis_url),
                "unit": engine.name,
            },
        )
        keeper = (
            asyncio.create_task(keep_embedded(embedded, engine, redis_url))
            if embedded is not None
            else None
        )
        await stop.wait()
        if keeper is not None:
            keeper.cancel()
    finally:
        log.info("hapair stopping", extra={"event": "stop"})
        _bound_shutdown()
        await engine.close()
        await events.close()
        await direct.stop()
        await store.close()
        files.clear_runtime()
        if embedded is not None:
            embedded.stop()
    return 0


SHUTDOWN_BOUND_S = 15.0


def _bound_shutdown() -> None:
    """A stop never hangs: past ``SHUTDOWN_BOUND_S`` the process writes every thread's stack to
    its log (so the step that hung can be found) and exits. The address and the engine are
    released first, within seconds; a stop that hung in the clean-up after was seen twice
    under load and not yet explained (see the README)."""
    import faulthandler
    import threading

    def give_up() -> None:
        log.error(
            "shutdown took too long: stacks follow, exiting",
            extra={"event": "shutdown-stuck", "after_s": SHUTDOWN_BOUND_S},
        )
        faulthandler.dump_traceback(all_threads=True)
        os._exit(0)

    timer = threading.Timer(SHUTDOWN_BOUND_S, give_up)
    timer.daemon = True
    timer.start()


def _resolve_secrets(ns: argparse.Namespace) -> str | None:
    """Reads ``--pair-key-file``/``--admin-token-file`` into ``ns``; the refusal, if any."""
    from hapair.secretfiles import SecretError, check_pair_key, choose, scrub_process_environment

    try:
        ns.pair_key = choose(ns.pair_key, ns.pair_key_file, what="pair key", flag="--pair-key")
        ns.admin_token = choose(
            ns.admin_token, ns.admin_token_file, what="admin token", flag="--admin-token"
        )
        check_pair_key(ns.pair_key)
    except SecretError as exc:
        return str(exc)
    if ns.max_connections < 1:
        return "--max-connections must be at least 1"
    scrub_process_environment()  # read: no child (role hook, redis-server) inherits them
    return None


def cmd_serve(ns: argparse.Namespace) -> int:
    """``hapair serve``."""
    refusal = _resolve_secrets(ns)
    if refusal is not None:
        print(f"hapair: {refusal}", file=sys.stderr)
        return 2
    if bool(ns.tls_cert) != bool(ns.tls_key):
        print(
            "hapair: --tls-cert and --tls-key (HAPAIR_TLS_CERT, HAPAIR_TLS_KEY) go together: "
            "give both to serve HTTPS, or neither",
            file=sys.stderr,
        )
        return 2
    import re

    from hapair.domain.parameters import INTERFACE_PATTERN

    for flag, name in [("--shared-interface", ns.shared_interface)] + [
        ("--interface", n) for n in ns.interface
    ]:
        if name and not re.fullmatch(INTERFACE_PATTERN.removesuffix("$"), name):
            print(
                f"hapair: {flag} {name!r}: an interface name is 1 to 15 of A-Z a-z 0-9 _ . - "
                "(not '.' or '..')",
                file=sys.stderr,
            )
            return 2
    if ns.shared_interface:
        from hapair.engine.vip import VipError, check_capabilities

        try:
            check_capabilities()
        except VipError as exc:
            print(f"hapair: --shared-interface {ns.shared_interface}: {exc}", file=sys.stderr)
            return 2
    settings = settings_from(ns)
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from hapair.engine.listener import run

    return run(_serve(settings))  # on uvloop, the loop of every listener of this process
