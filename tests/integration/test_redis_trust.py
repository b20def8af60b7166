"""The embedded Redis is never open: each attack of issue 8 against a real unit, refused.

The attacker talks to the unit's redis-server from outside hapair (redis-py, redis-cli) on the
address the partner replicates from. Without the password nothing gets in; with it (a stolen
password) the administrative commands are still refused; the password is in no command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.store import keys
from hapair.store.embedded import (
    PASSWORD_FILE,
    REDIS_USER,
    EmbeddedRedis,
    RedisPasswords,
    supports_tls,
)
from hapair.urls import host_port, public_url
from tests.integration.conftest import MERGE_PATCH, MakePair, MakeUnit, Unit
from tests.integration.pairs import pair_certificate
from tests.support import HapairFactory, children_of, is_redis, poll

UNIT = "/api/v1/unit"
PLANTED_TOKEN = "planted-by-an-attacker-0123456789"
PAIR_KEY = "redis-trust-pair-key-0123456789abcdef"


NO_RETRY = Retry(NoBackoff(), 0)


def _unit(make_unit: MakeUnit) -> Unit:
    """An HA unit alone (active); the last ``--pair-key`` given wins over the harness's."""
    return make_unit(extra_args=["--pair-key", PAIR_KEY])


def _redis_address(unit: Unit) -> tuple[str, int]:
    """Where the embedded Redis listens (the address its partner replicates from)."""
    runtime: dict[str, Any] = json.loads((unit.data_dir / "runtime.json").read_text())
    return host_port(str(runtime["redis_url"]))


def _redis_pid(unit: Unit) -> int:
    pids = [p for p in children_of(unit.proc.pid) if is_redis(p)]
    assert len(pids) == 1, pids
    return pids[0]


def _password(unit: Unit) -> str:
    return (unit.data_dir / "redis" / PASSWORD_FILE).read_text().strip()


def _outsider(host: str, port: int, **kwargs: Any) -> redis.Redis:
    # RESP2: a plain client's first command is the attack itself (RESP3 would send HELLO first)
    return redis.Redis(
        host=host,
        port=port,
        protocol=2,
        socket_timeout=3,
        socket_connect_timeout=3,
        retry=NO_RETRY,  # a refusal is the answer: redis-py would retry it for about 4 s
        **kwargs,
    )


def _planted_record() -> tuple[str, bytes]:
    digest = hashlib.sha256(PLANTED_TOKEN.encode()).hexdigest()
    record = {"role": "admin", "id": "evil", "created_at": "2026-11-25T00:00:00+00:00"}
    return digest, json.dumps(record).encode()


def test_plant_token_without_password_is_refused_and_token_gets_401(make_unit: MakeUnit) -> None:
    unit = _unit(make_unit)
    host, port = _redis_address(unit)
    digest, record = _planted_record()

    with (
        _outsider(host, port) as attacker,
        pytest.raises(redis.AuthenticationError, match="Authentication required"),
    ):
        attacker.hset(keys.TOKENS, digest, record)
    # the default user is off: an empty or guessed password for it gets nowhere either
    for user, password in (("default", ""), ("default", "hapair"), (REDIS_USER, "hapair")):
        with (
            _outsider(host, port, username=user, password=password) as attacker,
            pytest.raises(redis.AuthenticationError),
        ):
            attacker.hset(keys.TOKENS, digest, record)
    if shutil.which("redis-cli"):
        out = subprocess.run(
            ["redis-cli", "-h", host, "-p", str(port), "HSET", keys.TOKENS, digest, record],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert "NOAUTH" in out.stdout + out.stderr, out

    with redis.Redis.from_url(f"redis://{REDIS_USER}:{_password(unit)}@{host}:{port}/0") as insider:
        assert insider.hget(keys.TOKENS, digest) is None

    admin = unit.client(shared=False)
    before = admin.get(UNIT).json()
    planted = unit.client(shared=False, token=PLANTED_TOKEN)
    r = planted.patch(
        UNIT, json={"partner_address": "127.0.0.99:9"}, headers={"content-type": MERGE_PATCH}
    )
    assert r.status_code == 401, r.text
    assert admin.get(UNIT).json() == before


_ADMIN_COMMANDS: list[tuple[str, ...]] = [
    ("CONFIG", "SET", "dir", "/tmp"),
    ("CONFIG", "SET", "dbfilename", "authorized_keys"),
    ("CONFIG", "GET", "*"),
    ("SAVE",),
    ("BGSAVE",),
    ("BGREWRITEAOF",),
    ("MODULE", "LOAD", "/tmp/evil.so"),
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("KEYS", "*"),
    ("DEBUG", "SLEEP", "0"),
    ("SHUTDOWN", "NOSAVE"),
    ("ACL", "SETUSER", "evil", "on", ">pw", "+@all", "~*"),
    ("ACL", "LIST"),
    ("MONITOR",),
    ("MIGRATE", "127.0.0.1", "1", "", "0", "1000", "KEYS", keys.REVISION),
    ("SCRIPT", "FLUSH"),
    ("SWAPDB", "0", "1"),
    ("CLIENT", "KILL", "TYPE", "normal"),
]


def test_stolen_password_cannot_run_admin_commands(make_unit: MakeUnit) -> None:
    unit = _unit(make_unit)
    api = unit.client(shared=False)
    revision = api.get("/api/v1/ha/parameters").json()["revision"]
    host, port = _redis_address(unit)
    refused = []
    with redis.Redis.from_url(
        f"redis://{REDIS_USER}:{_password(unit)}@{host}:{port}/0", socket_timeout=3
    ) as thief:
        assert thief.ping()
        for command in _ADMIN_COMMANDS:
            with pytest.raises(redis.ResponseError) as caught:
                thief.execute_command(*command)
            message = str(caught.value)
            # Redis 7 refuses MODULE/DEBUG before the ACL even looks (enable-*-command no)
            assert "no permissions" in message or "not allowed" in message, (command, message)
            refused.append(command[0])
    assert len(refused) == len(_ADMIN_COMMANDS)
    assert not list(Path("/tmp").glob("evil*"))
    # nothing changed: the unit and its data are still there
    assert api.get("/api/v1/ha/parameters").json()["revision"] == revision
    assert _redis_pid(unit)


def test_password_in_no_command_line_and_files_private(make_unit: MakeUnit) -> None:
    unit = _unit(make_unit)
    password = _password(unit)
    assert len(password) >= 32
    pid = _redis_pid(unit)
    for proc in (pid, unit.proc.pid):
        cmdline = Path(f"/proc/{proc}/cmdline").read_bytes()
        assert password.encode() not in cmdline
        assert b"masterauth" not in cmdline
        assert b"requirepass" not in cmdline
    assert password.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
    assert password not in unit.proc.log_text()

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(unit.data_dir) == 0o700
    redis_dir = unit.data_dir / "redis"
    assert mode(redis_dir) == 0o700
    # the append-only file is written once the first write lands
    unit.client(shared=False).get("/api/v1/ha/parameters")
    files = poll(
        lambda: [p for p in redis_dir.rglob("*") if p.is_file()],
        timeout=5,
        what="the Redis files",
    )
    assert {p.name for p in files} >= {"redis.conf", PASSWORD_FILE, "redis.log"}
    assert {str(p): oct(mode(p)) for p in redis_dir.rglob("*") if p.is_file()} == {
        str(p): "0o600" for p in redis_dir.rglob("*") if p.is_file()
    }
    assert password not in (redis_dir / "redis.log").read_text()
    config = (redis_dir / "redis.conf").read_text()
    assert "protected-mode yes" in config
    assert "user default off" in config


def test_pair_key_gives_both_units_the_same_password(make_unit: MakeUnit) -> None:
    unit = _unit(make_unit)
    from hapair.store.embedded import REPLICATION_PASSWORD_FILE

    # its partner, started with the same pair key, derives the same passwords; the two users'
    # passwords are unrelated (one label each)
    derived = RedisPasswords.derived(PAIR_KEY)
    assert _password(unit) == derived.api
    replication = (unit.data_dir / "redis" / REPLICATION_PASSWORD_FILE).read_text().strip()
    assert replication == derived.replication != derived.api
    for name in (PASSWORD_FILE, REPLICATION_PASSWORD_FILE):
        assert os.stat(unit.data_dir / "redis" / name).st_mode & 0o077 == 0


def test_redis_server_argv_names_only_the_config_file(tmp_path: Path) -> None:
    passwords = RedisPasswords(api="api-password-not-shown", replication="repl-password-not-shown")
    server = EmbeddedRedis(tmp_path, passwords=passwords)
    assert server.command() == [server.command()[0], str(tmp_path / "redis" / "redis.conf")]
    assert "api-password-not-shown" in server.config()
    assert "repl-password-not-shown" in server.config()


DEBIAN_REDIS = "/usr/bin/redis-server"


@pytest.mark.skipif(
    not (os.access(DEBIAN_REDIS, os.X_OK) and supports_tls(DEBIAN_REDIS))
    or shutil.which("openssl") is None,
    reason="needs a redis-server built with TLS at /usr/bin/redis-server and openssl",
)
def test_pair_replicates_over_tls_with_tls_redis_server(
    make_pair: MakePair, tmp_path: Path
) -> None:
    cert, key, ca = pair_certificate(tmp_path)
    flags = ["--tls-ca", ca, "--redis-server", DEBIAN_REDIS]
    pair = make_pair(tls=(cert, key), extra={"first": flags, "second": flags})
    pair.start_both()
    # the standby's replica synced over TLS (a write just after the roles can come before the
    # first sync ends: not acknowledged within 1 s, seen once in a whole-suite run)
    pair.wait_in_sync(via=pair.first)
    resp = pair.patch({"initial_wait_time": 4})
    assert resp.status_code == 200, resp.text
    assert resp.headers["HA-Partner-Acknowledged"] == "true"  # WAIT: the replica has it
    assert pair.params(pair.second)["initial_wait_time"] == 4

    standby_dir = tmp_path / "second"
    runtime = json.loads((standby_dir / "runtime.json").read_text())
    host, port = host_port(str(runtime["redis_url"]))
    password = (standby_dir / "redis" / PASSWORD_FILE).read_text().strip()
    # Redis speaks TLS only: a cleartext client gets nothing from either unit
    for data_dir in (tmp_path / "first", standby_dir):
        run = json.loads((data_dir / "runtime.json").read_text())
        plain_host, plain_port = host_port(str(run["redis_url"]))
        with (
            redis.Redis(
                host=plain_host,
                port=plain_port,
                username=REDIS_USER,
                password=password,
                socket_timeout=2,
                socket_connect_timeout=2,
                retry=NO_RETRY,
            ) as plain,
            pytest.raises(redis.ConnectionError),
        ):
            plain.ping()
    # over TLS, verified against the pair's CA: the standby replicates from the active
    with redis.Redis(
        host=host,
        port=port,
        username=REDIS_USER,
        password=password,
        ssl=True,
        ssl_ca_certs=ca,
        ssl_check_hostname=False,
        socket_timeout=3,
    ) as standby:
        info = standby.info("replication")
        assert info["role"] == "slave", info
        assert info["master_link_status"] == "up", info
    log = (standby_dir / "redis" / "redis.log").read_text()
    assert "MASTER <-> REPLICA sync: Finished with success" in log
    for unit in (pair.first, pair.second):
        assert unit.proc is not None
        assert password not in unit.proc.log_text()


def test_heartbeat_advertises_redis_url_without_credentials(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    from tests.integration.test_pair_trust import fake_partner, unit_with_partner

    with fake_partner(tmp_path, "unsigned") as fake:
        # the fake answers (unsigned): a partner that answers is alive, so the unit does not
        # boot alone beside it (SPEC 5) and is not waited for as active
        unit = unit_with_partner(hapair_factory, tmp_path, fake.address, wait_active=False)
        sent = poll(
            lambda: [c for c in fake.calls() if c["path"].endswith("/heartbeat")],
            timeout=10,
            what="a heartbeat the unit sent",
        )
    advertised = json.loads(sent[-1]["body"])["redis_url"]
    assert advertised.startswith("redis://"), advertised
    assert _password(unit) not in advertised
    assert advertised == public_url(advertised)
