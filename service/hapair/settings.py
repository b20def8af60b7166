"""One frozen settings object, built from CLI flags and ``HAPAIR_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
    mode: str | None = None
    partner: str | None = None
    shared: str | None = None
    shared_interface: str | None = None  # the shared IP is a virtual IP moved on this interface
    shared_prefix: int | None = None  # its prefix length; None: 32 (IPv4) or 128 (IPv6)
    pair_key: str | None = None
    admin_token: str | None = None
    no_auth: bool = False
    heartbeat_interval: float = 1.0
    interfaces: tuple[str, ...] = ()
    on_role_change: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None  # CA file for the partner's certificate; None: the system store
    max_connections: int = 256  # concurrent connections over the unit's listeners
    pacify_window_s: float = 300.0
    pacify_max_boots: int = 3
    log_level: str = "info"

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


def events_limits() -> tuple[float, int, int, int]:
    """The event stream's keepalive interval (s), events kept, and how far a client may lag:
    events queued for it, bytes its connection holds unread.

    ``HAPAIR_EVENTS_KEEPALIVE_S`` (15), ``HAPAIR_EVENTS_KEEP`` (10000),
    ``HAPAIR_EVENTS_QUEUE`` (1000), ``HAPAIR_EVENTS_CLIENT_BUFFER`` (262144): overridable for
    tests and labs.
    """
    return (
        float(env("EVENTS_KEEPALIVE_S") or 15.0),
        int(env("EVENTS_KEEP") or 10_000),
        int(env("EVENTS_QUEUE") or 1000),
        int(env("EVENTS_CLIENT_BUFFER") or 256 * 1024),
    )


def pacify_limits() -> tuple[float, int]:
    """The pacify window and boot limit, overridable for tests and labs."""
    return float(env("PACIFY_WINDOW_S") or 300.0), int(env("PACIFY_MAX_BOOTS") or 3)
