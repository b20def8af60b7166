"""``hapair serve | up | status | token``. Every flag has an ``HAPAIR_*`` environment variable."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hapair import cli_events, cli_token, logs
from hapair.settings import DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings, env, env_bool, pacify_limits

log = logging.getLogger("hapair")

ICON_COLOURS = {
    "green-active": "\033[42;30m A \033[0m",
    "green": "\033[42m   \033[0m",
    "red": "\033[41m   \033[0m",
    "blue": "\033[44m   \033[0m",
    "grey": "\033[100m   \033[0m",
}


def _is_loopback(address: str) -> bool:
    from hapair.domain.unit import parse_host_port

    host, _ = parse_host_port(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- serve ---------------------------------------------------------------------------------


def _serve_parser(sub: Any) -> None:
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


def _redis_for(settings: Settings, host: str) -> tuple[Any, str]:
    """The unit's Redis: ``--redis``, or the embedded one started now (and its URL).

    The embedded one listens on loopback and, when the direct address is not loopback, on
    that address too, so the partner can replicate from it; only the ``hapair`` user gets in,
    with a password derived from the pair key when there is one (the partner's replica has
    the same one).
    With ``--tls-cert``/``--tls-key`` and a redis-server built with TLS it speaks TLS only,
    replication included. The URL returned carries the credentials: log ``public_url`` of it.
    """
    from hapair.store.embedded import EmbeddedRedis, RedisTLS, derived_password, supports_tls

    if settings.redis_url:
        return None, settings.redis_url
    loopback = _is_loopback(settings.listen)
    wildcard = host == "0.0.0.0"
    bind = ["0.0.0.0"] if wildcard else ["127.0.0.1"] if loopback else ["127.0.0.1", host]
    executable = settings.redis_server or None
    tls = None
    if settings.tls_cert and settings.tls_key:
        if executable is not None and supports_tls(executable):
            ca = settings.tls_ca or settings.tls_cert
            tls = RedisTLS(cert=settings.tls_cert, key=settings.tls_key, ca=ca)
        else:
            log.warning(
                "the embedded redis-server has no TLS: Redis replication is not encrypted "
                "(--redis-server a TLS-capable one, e.g. Debian's /usr/bin/redis-server)",
                extra={"event": "redis-no-tls"},
            )
    # Derived whenever there is a pair key, not only in HA mode: a unit turned from non_ha to
    # HA by a reboot of the engine keeps this Redis, and its partner must get in.
    password = derived_password(settings.pair_key) if settings.pair_key else None
    embedded = EmbeddedRedis(
        settings.data_dir, bind=bind, executable=executable, password=password, tls=tls
    )
    embedded.start()
    if loopback or wildcard:
        return embedded, embedded.url
    return embedded, embedded.url_for(host)


async def _serve(settings: Settings) -> int:
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
    from hapair.store.events import EventStream
    from hapair.store.redis import Store, connect
    from hapair.store.urls import public_url

    files = _prepare_unit(settings)
    host, port = parse_host_port(settings.listen)
    embedded, redis_url = _redis_for(settings, host)
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
            asyncio.create_task(_keep_embedded(embedded, engine, redis_url))
            if embedded is not None
            else None
        )
        await stop.wait()
        if keeper is not None:
            keeper.cancel()
    finally:
        log.info("hapair stopping", extra={"event": "stop"})
        await engine.close()
        await events.close()
        await direct.stop()
        await store.close()
        files.clear_runtime()
        if embedded is not None:
            embedded.stop()
    return 0


async def _keep_embedded(embedded: Any, engine: Any, redis_url: str) -> None:
    """Restarts the embedded redis-server if it dies, once the unit is no longer active.

    An active unit first steps aside (``ha_timeout`` without its Redis): restarted from its
    append-only file, the Redis might lack the last writes its replica already has, so the unit
    comes back through the boot negotiation (standby, conflicts archived) rather than as the
    active. It runs on the event loop's thread: the parent-death signal of the child is tied
    to the thread that starts it.
    """
    from hapair.store.redis import host_port
    from hapair.store.urls import public_url

    while True:
        await asyncio.sleep(0.5)
        if embedded.pid is not None or (engine.ha and engine.role == "active"):
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


# ---- up ------------------------------------------------------------------------------------


def _pdeathsig() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _start_unit(
    name: str,
    address: str,
    *,
    partner: str,
    shared: str,
    data_dir: Path,
    ns: argparse.Namespace,
    env: dict[str, str],
    log_file: Any,
) -> subprocess.Popen[bytes]:
    """One unit of ``hapair up``, its JSON log in its data dir."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hapair",
            "serve",
            "--listen",
            address,
            "--data-dir",
            str(data_dir / name),
            "--mode",
            name,
            "--partner",
            partner,
            "--shared",
            shared,
            "--heartbeat-interval",
            str(ns.heartbeat_interval),
            # files, not values: argv is visible to every user in `ps`
            "--pair-key-file",
            str(data_dir / "pair.key"),
            "--admin-token-file",
            str(data_dir / "admin.token"),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=_pdeathsig,  # noqa: PLW1509 - the units must not outlive `hapair up`
        start_new_session=True,
    )


def _wait_ready(
    procs: dict[str, subprocess.Popen[bytes]], units: dict[str, str], stopping: Any
) -> bool:
    """Polls each unit's ``/readyz`` (30 s); False when a unit exits first."""
    import httpx

    deadline = time.monotonic() + 30
    pending = set(units)
    while pending and not stopping() and time.monotonic() < deadline:
        for name in list(pending):
            if procs[name].poll() is not None:
                print(
                    f"hapair up: unit {name} exited with {procs[name].returncode}", file=sys.stderr
                )
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{units[name]}/readyz", timeout=1).status_code == 200:
                    pending.discard(name)
        time.sleep(0.1)
    return True


def _pair_status(address: str, token: str) -> dict[str, Any] | None:
    """``GET /api/v1/ha/status`` of the unit at ``address``; None when it does not answer."""
    import httpx

    with contextlib.suppress(httpx.HTTPError, ValueError):
        r = httpx.get(
            f"http://{address}/api/v1/ha/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=1,
        )
        if r.status_code == 200:
            body: dict[str, Any] = r.json()
            return body
    return None


def _wait_paired(address: str, token: str, stopping: Any) -> None:
    """Polls ``/ha/status`` until the pair is paired (10 s at most)."""
    deadline = time.monotonic() + 10
    while not stopping() and time.monotonic() < deadline:
        status = _pair_status(address, token)
        if status is not None and status["pair"]["state"] == "paired":
            return
        time.sleep(0.1)


def cmd_up(ns: argparse.Namespace) -> int:
    """``hapair up``: a whole pair on this host, each unit with its embedded Redis.

    A unit that exits (say, killed to watch a failover) is started again once its partner has
    taken over (or after 20 s), as a rebooted appliance would be: it comes back as the
    standby, or pacified after too many boots.
    """
    from hapair.secretfiles import SECRET_ENV, SecretError, new_pair_key, read_or_create
    from hapair.services.tokens import new_token

    data_dir = Path(ns.data_dir).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        read_or_create(data_dir / "pair.key", new_pair_key)  # created 0600, read by the units
        token = read_or_create(data_dir / "admin.token", new_token)
    except (OSError, SecretError) as exc:
        print(f"hapair up: {exc}", file=sys.stderr)
        return 2
    shared = f"127.0.0.10:{ns.port}"
    units = {"first": f"127.0.0.11:{ns.port}", "second": f"127.0.0.12:{ns.port}"}
    # `hapair status` run in the same folder finds the pair without flags
    (data_dir / "up.json").write_text(json.dumps({"url": f"http://{shared}", **units}) + "\n")
    # the units read their secrets from the files above; no secret in their environment
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop_all(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    def start(name: str) -> None:
        (data_dir / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        with (data_dir / name / "hapair.log").open("ab") as log_file:
            procs[name] = _start_unit(
                name,
                units[name],
                partner=units["second" if name == "first" else "first"],
                shared=shared,
                data_dir=data_dir,
                ns=ns,
                env=env,
                log_file=log_file,
            )

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        # first, then second: the pair comes up paired with first active, not racing
        for name, address in units.items():
            start(name)
            if not _wait_ready(procs, {name: address}, lambda: stopping):
                return 1
        _wait_paired(units["first"], token, lambda: stopping)
        if not stopping:
            print(
                f"hapair pair is up\n"
                f"  shared address : http://{shared}   (the active unit)\n"
                f"  first          : http://{units['first']}   (pid {procs['first'].pid})\n"
                f"  second         : http://{units['second']}   (pid {procs['second'].pid})\n"
                f"  admin token    : {token}\n"
                f"  docs           : http://{shared}/docs\n"
                f"  logs           : {data_dir / 'first' / 'hapair.log'}, "
                f"{data_dir / 'second' / 'hapair.log'}\n"
                f"Ctrl-C stops both units.",
                flush=True,
            )
        exited: dict[str, float] = {}
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None and name not in exited:
                    exited[name] = time.monotonic()
                    print(
                        f"hapair up: unit {name} exited ({proc.returncode}); it starts again "
                        "once its partner has taken over",
                        flush=True,
                    )
            for name, since in list(exited.items()):
                other = "second" if name == "first" else "first"
                status = _pair_status(units[other], token)
                taken_over = status is not None and status["pair"]["active"] == other
                if time.monotonic() - since >= 20 or taken_over:
                    del exited[name]
                    start(name)
                    print(
                        f"hapair up: unit {name} started again (pid {procs[name].pid})", flush=True
                    )
            time.sleep(0.2)
    finally:
        _stop_units(procs)
    return 0


def _stop_units(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print("hapair pair stopped", flush=True)


# ---- status --------------------------------------------------------------------------------


def cmd_status(ns: argparse.Namespace) -> int:
    """``hapair status``: the two units as the seed's coloured squares."""
    import httpx

    url, token = ns.url, ns.token
    up_dir = Path(ns.data_dir)
    if url is None:
        up = up_dir / "up.json"
        url = json.loads(up.read_text())["url"] if up.exists() else f"http://{DEFAULT_LISTEN}"
    if token is None and (up_dir / "admin.token").exists():
        token = (up_dir / "admin.token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.get(
            f"{url.rstrip('/')}/api/v1/ha/status",
            headers=headers,
            timeout=5,
            verify=False,  # noqa: S501 - units often serve a self-signed certificate
        )
    except httpx.HTTPError as exc:
        print(f"hapair status: {url} is not reachable: {exc}", file=sys.stderr)
        return 2
    if resp.status_code != 200:
        print(f"hapair status: {resp.status_code} {resp.text}", file=sys.stderr)
        return 2
    body = resp.json()
    pair = body["pair"]
    print(f"pair: {pair['state']}" + (f" (active: {pair['active']})" if pair.get("active") else ""))
    if not body["units"]:
        print("HA is disabled on this unit (no HA icons)")
    for u in body["units"]:
        square = (
            ICON_COLOURS.get(u["icon"], "[?]")
            if sys.stdout.isatty() or ns.color
            else f"[{u['icon']}]"
        )
        reason = f" ({u['reason']})" if u.get("reason") else ""
        sync = "" if u.get("in_sync") is None else (" in sync" if u["in_sync"] else " NOT in sync")
        print(
            f"{square} {u['name']:<7} {u['role']}{reason}  rev {u.get('revision')}{sync}"
            f"  {u.get('address') or ''}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hapair`` command."""
    parser = argparse.ArgumentParser(prog="hapair", description="Management plane of an HA pair")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    up = sub.add_parser("up", help="run a whole pair on this host")
    up.add_argument("--data-dir", default=env("DATA_DIR", DEFAULT_DATA_DIR))
    up.add_argument("--port", type=int, default=int(env("PORT") or 8080))
    up.add_argument(
        "--heartbeat-interval", type=float, default=float(env("HEARTBEAT_INTERVAL") or 1.0)
    )
    up.add_argument(
        "--netns",
        action="store_true",
        help="the pair as two hosts in network namespaces hapair-first/-second/-client (root)",
    )
    st = sub.add_parser("status", help="the pair's status as coloured squares")
    st.add_argument(
        "--url",
        default=env("URL"),
        help=f"a unit or the shared address; default: the pair of `hapair up` in --data-dir, "
        f"else http://{DEFAULT_LISTEN}",
    )
    st.add_argument(
        "--token",
        default=env("TOKEN") or env("ADMIN_TOKEN"),
        help="default: the admin token of `hapair up` in --data-dir",
    )
    st.add_argument("--data-dir", default=env("DATA_DIR", DEFAULT_DATA_DIR))
    st.add_argument("--color", action="store_true", help="colour even when not a terminal")
    cli_token.add_parsers(sub, env, DEFAULT_DATA_DIR)
    cli_events.add_parser(sub, env, DEFAULT_DATA_DIR, DEFAULT_LISTEN)
    ns = parser.parse_args(argv)
    if ns.command == "serve":
        return cmd_serve(ns)
    if ns.command == "up":
        if ns.netns:
            from hapair.up_netns import cmd_up_netns

            return cmd_up_netns(ns)
        return cmd_up(ns)
    if ns.command == "status":
        return cmd_status(ns)
    if ns.command == "events":
        return cli_events.cmd_events(ns)
    if ns.command == "key":
        return cli_token.cmd_key(ns)
    return cli_token.cmd_token(ns)
