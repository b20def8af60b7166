"""The embedded Redis's configuration: its one ACL user, the password, the 0600 files, URLs.

The server is never open: the ``default`` user is off, and the one user ``hapair`` needs a
password and may run only the commands hapair uses (``ALLOWED_COMMANDS``). Its configuration,
password included, is a 0600 file in a 0700 directory, never the command line. In HA mode the
password is derived from the pair key, so the partner's replica authenticates with the same
``masteruser``/``masterauth``; otherwise it is random and kept in the data dir.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from hapair.store.urls import with_credentials

REDIS_USER = "hapair"
PASSWORD_FILE = "password"  # noqa: S105 - a file name (in the redis directory, 0600)

# ``everysec`` (hapair serve): at most a second of writes lost if the host crashes.
# ``always``: every write on disk before its answer, for a caller that SIGKILLs the server
# right after a write (with everysec Redis may postpone the write(2) itself by up to 2 s while
# a background fsync runs, so even a killed process, not only a crashed host, can lose it).
AppendFsync = Literal["everysec", "always"]

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


def write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` created (or narrowed to) mode 0600 before any byte lands."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def prepare_files(data_dir: Path, redis_dir: Path, password: str) -> None:
    """The 0700 directories and the 0600 password file; older files narrowed to 0600."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    redis_dir.mkdir(mode=0o700, exist_ok=True)
    redis_dir.chmod(0o700)
    for path in redis_dir.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    write_private(redis_dir / PASSWORD_FILE, password + "\n")


def config_text(
    *,
    redis_dir: Path,
    log_path: Path,
    bind: Sequence[str],
    port: int,
    password: str,
    tls: RedisTLS | None,
    appendfsync: AppendFsync = "everysec",
) -> str:
    """The redis.conf text: locked down to the ``hapair`` user, its password inside (0600)."""
    rules = " ".join(f"+{c}" for c in ALLOWED_COMMANDS)
    lines = [
        f"bind {' '.join(bind)}",
        "protected-mode yes",
        f"dir {_quote(str(redis_dir))}",
        f"logfile {_quote(str(log_path))}",
        "daemonize no",
        "appendonly yes",
        f"appendfsync {appendfsync}",
        'save ""',
        "repl-backlog-size 64mb",
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
        # nobody gets in without the password: the default user is off, with no password
        "user default off resetpass -@all",
        f"user {REDIS_USER} reset on >{password} ~* &* -@all {rules}",
        # the partner's Redis has the same user and password (derived from the pair key)
        f"masteruser {REDIS_USER}",
        f"masterauth {password}",
    ]
    if tls is None:
        lines.append(f"port {port}")
    else:
        lines += [
            "port 0",
            f"tls-port {port}",
            f"tls-cert-file {_quote(tls.cert)}",
            f"tls-key-file {_quote(tls.key)}",
            f"tls-ca-cert-file {_quote(tls.ca)}",
            "tls-replication yes",
            # clients prove themselves with the ACL password; a required (or optional,
            # hence verified) client certificate would refuse the replica of a unit whose
            # certificate is for servers only (extendedKeyUsage=serverAuth)
            "tls-auth-clients no",
        ]
    return "\n".join(lines) + "\n"


def client_url(host: str, port: int, password: str, tls: RedisTLS | None) -> str:
    """redis-py URL of database 0 at ``host``:``port`` as the ``hapair`` user.

    With TLS the URL carries the client's TLS options: the CA that signs the server's
    certificate is checked; the host name is not (the units' certificates name the units,
    not every address their Redis listens on).
    """
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    scheme = "rediss" if tls else "redis"
    query = ""
    if tls is not None:
        query = urlencode(
            {
                "ssl_cert_reqs": "required",
                "ssl_ca_certs": tls.ca,
                "ssl_check_hostname": "false",
            }
        )
    return with_credentials(f"{scheme}://{host}:{port}/0", REDIS_USER, password, query=query)


def url_host(bind: Sequence[str]) -> str:
    """The host of the URL for clients on this machine: loopback when bound there."""
    if not bind or "127.0.0.1" in bind or "0.0.0.0" in bind or "*" in bind:
        return "127.0.0.1"
    if "::1" in bind or "::" in bind:
        return "[::1]"
    host = bind[0].lstrip("-")
    return f"[{host}]" if ":" in host else host


def probe_host(bind: Sequence[str]) -> str:
    """``url_host`` without IPv6 brackets: where to look for a free port."""
    return url_host(bind).strip("[]")
