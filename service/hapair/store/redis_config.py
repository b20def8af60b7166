"""The embedded Redis's configuration: its ACL users, passwords, limits, the 0600 files, URLs.

The server is never open (SPEC 6, "Redis, v3"): the ``default`` user is off; the user
``hapair`` (the API's) needs a password and may run only the commands hapair uses
(``ALLOWED_COMMANDS``: no Lua, no CONFIG, MODULE, DEBUG ...; compare-and-set is
WATCH/MULTI/EXEC); the user ``hapair-replica`` may only replicate (``REPLICATION_COMMANDS``)
with a password of its own, and is what the partner's replica logs in as (``masteruser``), so
a replication password, even sniffed, reads a copy and writes nothing. The user
``hapair-admin`` may only change those users' passwords and ``masterauth`` (a pair-key
rotation, ``store/redis_rotation.py``); its password is random at every start of the server
and known only to the unit's process and the 0600 configuration file. The configuration,
passwords included, is a 0600 file in a 0700 directory, never the command line. In HA mode both
passwords are derived from the pair key (``derived_password``, one label per user), so both
units' servers have the same users; otherwise they are random and kept in the data dir.
``maxmemory`` and the normal clients' output buffer limit bound what a client (or a flood of
requests from one) can make the server hold.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from hapair.files import UnsafePath, write_atomic
from hapair.secretfiles import read_checked
from hapair.urls import with_credentials

REDIS_USER = "hapair"
REPLICATION_USER = "hapair-replica"
ADMIN_USER = "hapair-admin"
PASSWORD_FILE = "password"  # noqa: S105 - a file name (in the redis directory, 0600)
REPLICATION_PASSWORD_FILE = "replication-password"  # noqa: S105 - a file name (0600)

# What the store holds is small (parameters, a bounded history and event stream, tokens):
# a server past this refuses writes (503 store-unavailable) rather than grow or evict.
MAXMEMORY = "256mb"
# Valkey's timer frequency (its default is 10). Each run of its timer wakes it twice (a wait
# rounded down to the millisecond, then the rest): measured side by side, one Valkey with a
# PING a second used 0.124 % of a core at hz 5, 0.061 % at hz 2, 0.042 % at hz 1 (issue 23
# point 5, bench/README.md, eighth and ninth rounds). Its blocked clients' timeouts (``WAIT``,
# ``XREAD BLOCK``) expire only on this timer, up to one period (500 ms) late:
# ``Replication.wait_partner`` keeps its bound itself (a whole 1 s window: asking the server
# for 1 s less the period, 500 ms, missed a just-resynced replica's acknowledgment), and the
# event stream's ``XREAD BLOCK 500`` ends within 1 s, below the client's 1.5 s socket timeout.
# Not 1: that XREAD could then meet the socket timeout, and a full resync (its fork started
# and its end noticed on this timer) would take up to 2 s more.
HZ = 2
# A normal client whose unread answers pass 32 MiB (or 8 MiB for 30 s) is disconnected.
NORMAL_OUTPUT_LIMIT = "32mb 8mb 30"

# ``everysec`` (hapair serve): at most a second of writes lost if the host crashes.
# ``always``: every write on disk before its answer, for a caller that SIGKILLs the server
# right after a write (with everysec Redis may postpone the write(2) itself by up to 2 s while
# a background fsync runs, so even a killed process, not only a crashed host, can lose it).
AppendFsync = Literal["everysec", "always"]

# What the ``hapair`` user may run: the data commands of the store, transactions (WATCH,
# MULTI, EXEC: the compare-and-set), replication control. Never EVAL/EVALSHA/SCRIPT/FUNCTION
# (no Lua: CVE-2024-31449 and friends), CONFIG, MODULE, DEBUG, SAVE/BGSAVE,
# FLUSHALL/FLUSHDB, SHUTDOWN, ACL, KEYS, MONITOR, MIGRATE ...
# Every name must exist in Redis 7.0 and Valkey 8+: an unknown one fails the start.
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
    # transactions: the compare-and-set
    "multi", "exec", "discard", "watch", "unwatch",
    # server: replication control and state
    "info", "role", "time", "wait", "replicaof", "slaveof",
)  # fmt: skip

# What the replication user may run: the replica's handshake and stream, nothing else.
REPLICATION_COMMANDS = ("psync", "sync", "replconf", "ping")

# What the admin user may run: new passwords for the two users and masterauth, in one
# transaction (CONFIG SET of a protected setting such as dir or dbfilename stays refused:
# enable-protected-configs is off).
ADMIN_COMMANDS = ("acl|setuser", "config|set", "multi", "exec", "discard", "ping")

# One label per ACL user: the same pair key derives unrelated passwords.
_LABELS = {REDIS_USER: b"hapair-redis", REPLICATION_USER: b"hapair-redis-replication"}


def derived_password(pair_key: str, user: str = REDIS_USER) -> str:
    """The password of ``user`` in an HA pair: both units derive the same one from the pair key.

    The one place a Redis password is derived: a unit that must accept a second key (pair-key
    rotation) derives both and gives each user both passwords (``RedisPasswords``).
    """
    return hmac.new(pair_key.encode(), _LABELS[user], hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RedisPasswords:
    """The passwords of the two ACL users: the first of each is what this unit logs in with,
    every one is accepted (``accepted``: more, while a pair key rotates)."""

    api: str
    replication: str
    accepted_api: tuple[str, ...] = ()
    accepted_replication: tuple[str, ...] = ()

    @classmethod
    def derived(cls, pair_key: str, *more_keys: str) -> RedisPasswords:
        """Both users' passwords from the pair key (and any other key accepted meanwhile)."""
        return cls(
            api=derived_password(pair_key, REDIS_USER),
            replication=derived_password(pair_key, REPLICATION_USER),
            accepted_api=tuple(derived_password(k, REDIS_USER) for k in more_keys),
            accepted_replication=tuple(derived_password(k, REPLICATION_USER) for k in more_keys),
        )

    def api_all(self) -> tuple[str, ...]:
        """Every password the ``hapair`` user accepts."""
        return (self.api, *(p for p in self.accepted_api if p != self.api))

    def replication_all(self) -> tuple[str, ...]:
        """Every password the replication user accepts."""
        return (
            self.replication,
            *(p for p in self.accepted_replication if p != self.replication),
        )


def server_version(info: Mapping[str, Any]) -> str:
    """The server's name and version from ``INFO server``: Valkey reports its own
    (``valkey_version``) beside the Redis version it is compatible with (``redis_version``)."""
    if info.get("valkey_version"):
        return f"valkey {info['valkey_version']}"
    return f"redis {info.get('redis_version', 'unknown')}"


def stored_password(data_dir: Path, name: str = PASSWORD_FILE) -> str | None:
    """A password the embedded Redis of ``data_dir`` was last started with, if any
    (``name``: ``PASSWORD_FILE`` for the ``hapair`` user, ``REPLICATION_PASSWORD_FILE``).

    Read by ``read_checked`` (SPEC 6 "Files"): a symlink in its place is refused, never
    followed (a password taken from a file outside the data dir), as is another user's file or
    one group or others may write. A 0644 file of an older hapair is read (the 0700 directory
    kept it from others), then rewritten 0600 by ``prepare_files``.

    Raises:
        SecretError: The file is not safe to read; the message names the path and the reason.
    """
    path = Path(data_dir) / "redis" / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        return None  # left empty: a new password is chosen, as when there is none
    return read_checked(path, "Redis password", private=False)


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
    """Writes ``text`` to ``path``: 0600 from the first byte, write-and-rename, never through a
    symlink (``hapair/files.py``)."""
    write_atomic(path, text.encode())


def prepare_files(
    data_dir: Path, redis_dir: Path, password: str, replication_password: str | None = None
) -> None:
    """The 0700 directories and the 0600 password files; older files narrowed to 0600.

    Raises:
        UnsafePath: A symlink in the Redis directory (or in its place), named.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    if redis_dir.is_symlink():
        raise UnsafePath(f"{redis_dir} is a symbolic link: give the directory itself")
    redis_dir.mkdir(mode=0o700, exist_ok=True)
    redis_dir.chmod(0o700)
    for path in redis_dir.rglob("*"):
        if path.is_symlink():
            # redis-server opens its log, dump and AOF files itself, following links; and
            # chmod here would change the file the link points at
            raise UnsafePath(
                f"{path} is a symbolic link: hapair does not follow one in its data dir (remove it)"
            )
        path.chmod(0o700 if path.is_dir() else 0o600)
    write_private(redis_dir / PASSWORD_FILE, password + "\n")
    if replication_password is not None:
        write_private(redis_dir / REPLICATION_PASSWORD_FILE, replication_password + "\n")


def _passwords(values: Sequence[str]) -> str:
    for value in values:
        if not value or any(c.isspace() for c in value):
            raise ValueError("a Redis password is non-empty and has no white space")
    return " ".join(f">{v}" for v in values)


def config_text(
    *,
    redis_dir: Path,
    log_path: Path,
    bind: Sequence[str],
    port: int,
    passwords: RedisPasswords,
    tls: RedisTLS | None,
    appendfsync: AppendFsync = "everysec",
    admin_password: str | None = None,
) -> str:
    """The redis.conf text: the ACL users and their passwords inside (0600), the limits."""
    rules = " ".join(f"+{c}" for c in ALLOWED_COMMANDS)
    replication_rules = " ".join(f"+{c}" for c in REPLICATION_COMMANDS)
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
        f"maxmemory {MAXMEMORY}",
        "maxmemory-policy noeviction",
        f"hz {HZ}",
        f"client-output-buffer-limit normal {NORMAL_OUTPUT_LIMIT}",
        # nobody gets in without the password: the default user is off, with no password
        "user default off resetpass -@all",
        f"user {REDIS_USER} reset on {_passwords(passwords.api_all())} ~* &* -@all {rules}",
        # replication only: no key, no channel, no command but the replica's own
        f"user {REPLICATION_USER} reset on {_passwords(passwords.replication_all())} "
        f"resetkeys resetchannels -@all {replication_rules}",
        # the partner's Redis has the same users and passwords (derived from the pair key)
        f"masteruser {REPLICATION_USER}",
        f"masterauth {passwords.replication}",
    ]
    if admin_password is not None:
        admin_rules = " ".join(f"+{c}" for c in ADMIN_COMMANDS)
        lines.append(
            f"user {ADMIN_USER} reset on {_passwords([admin_password])} "
            f"resetkeys resetchannels -@all {admin_rules}"
        )
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


def client_url(
    host: str, port: int, password: str, tls: RedisTLS | None, *, user: str = REDIS_USER
) -> str:
    """redis-py URL of database 0 at ``host``:``port`` as the ``hapair`` user (or ``user``).

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
    return with_credentials(f"{scheme}://{host}:{port}/0", user, password, query=query)


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
