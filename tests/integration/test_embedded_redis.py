"""The embedded redis-server: start, persistence, stop, and no orphan after the parent dies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.store import embedded
from hapair.store.client import Link, connect
from hapair.store.embedded import EmbeddedRedis
from hapair.store.redis_config import HZ
from hapair.store.replication import Replication
from tests.ports import free_port
from tests.support import (
    children_of,
    is_redis,
    kill9,
    pid_alive,
    poll,
    redis_client,
    restart,
)

# a refused client is the answer: redis-py would retry the refusal for about 4 s
NO_RETRY = Retry(NoBackoff(), 0)


def _kill_if_redis(pid: int) -> None:
    """Last-resort cleanup of a redis-server this test started (by pid, checked by name)."""
    if pid_alive(pid) and is_redis(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_start_set_get_stop_reloads_data_on_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    try:
        url = server.start()
        assert url == server.url
        assert server.public_url == f"redis://127.0.0.1:{server.port}/0"
        pid = server.pid
        assert pid is not None
        assert pid in children_of(os.getpid())
        with redis.Redis.from_url(url) as client:
            assert client.set("greeting", "hello")
            assert client.get("greeting") == b"hello"
        server.stop()
        assert server.pid is None
        poll(lambda: not pid_alive(pid), timeout=5, what=f"redis-server {pid} to exit")
        server.stop()  # idempotent
    finally:
        server.stop()

    again = EmbeddedRedis(tmp_path)
    try:
        with redis.Redis.from_url(again.start()) as client:
            assert client.get("greeting") == b"hello"
    finally:
        again.stop()
    # Redis 7 and Valkey keep the append-only file as a manifest and parts in a directory
    assert list((tmp_path / "redis" / "appendonlydir").glob("appendonly.aof.*"))
    assert (tmp_path / "redis" / "redis.log").exists()


def test_start_when_running_returns_same_url(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    try:
        url = server.start()
        pid = server.pid
        assert server.start() == url
        assert server.pid == pid
    finally:
        server.stop()


def test_start_on_taken_fixed_port_raises_with_log_tail(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = EmbeddedRedis(tmp_path, port=holder.getsockname()[1])
        with pytest.raises(RuntimeError, match="Address already in use"):
            server.start()
        assert server.pid is None


def test_start_on_auto_port_retries_when_port_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = iter([taken, free_port()])
        monkeypatch.setattr(embedded, "free_port", lambda host="127.0.0.1": next(ports))
        server = EmbeddedRedis(tmp_path)
        assert server.port == taken
        try:
            server.start()
            assert server.port != taken
            with redis.Redis.from_url(server.url) as client:
                assert client.ping()
        finally:
            server.stop()


def test_start_with_bad_executable_raises_with_reason(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, executable="/bin/false")
    with pytest.raises(RuntimeError, match="exited with status 1"):
        server.start()
    assert server.pid is None


_PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from hapair.store.embedded import EmbeddedRedis

    server = EmbeddedRedis(Path(sys.argv[1]))
    server.start()
    print(server.pid, flush=True)
    time.sleep(120)
    """
)


def test_redis_dies_when_parent_is_sigkilled(tmp_path: Path) -> None:
    redis_pid = 0
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as parent:
        try:
            line = parent.stdout.readline() if parent.stdout else ""
            assert line.strip().isdigit(), f"parent printed {line!r}, exit {parent.poll()}"
            redis_pid = int(line)
            assert is_redis(redis_pid)
            assert children_of(parent.pid) == [redis_pid]
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(10)
            # The orphan is reparented (to init or a subreaper) and must exit on its own.
            poll(
                lambda: not pid_alive(redis_pid),
                timeout=10,
                what=f"orphaned redis-server {redis_pid} to exit",
            )
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait()
            if redis_pid:
                _kill_if_redis(redis_pid)


def test_restart_after_stop_or_kill9_keeps_port_and_data(redis_server: EmbeddedRedis) -> None:
    """What fault tests (and ``keep_embedded``) do: stop or kill -9, then start again."""
    port = redis_server.port
    with redis_client(redis_server) as client:
        client.set("k", "v")
    redis_server.stop()
    with pytest.raises(redis.ConnectionError), redis_client(redis_server) as client:
        client.ping()
    restart(redis_server)
    assert redis_server.port == port
    with redis_client(redis_server) as client:
        assert client.get("k") == b"v"
    pid = redis_server.pid
    assert pid is not None
    kill9(redis_server)
    assert not pid_alive(pid)
    restart(redis_server)
    with redis_client(redis_server) as client:
        assert client.ping()


def test_default_server_is_locked_down(tmp_path: Path) -> None:
    """No password-less access, no default user, and the ``hapair`` user cannot run CONFIG."""
    with EmbeddedRedis(tmp_path) as server:
        with (
            redis.Redis(port=server.port, socket_timeout=2, retry=NO_RETRY) as anonymous,
            pytest.raises(redis.AuthenticationError),
        ):
            anonymous.ping()
        with (
            redis.Redis(
                port=server.port,
                username="default",
                password="",
                socket_timeout=2,
                retry=NO_RETRY,
            ) as default,
            pytest.raises((redis.AuthenticationError, redis.ResponseError)),
        ):
            default.ping()
        with redis.Redis.from_url(server.url, socket_timeout=2) as insider:
            assert insider.ping()
            with pytest.raises(redis.ResponseError, match="no permissions"):
                insider.config_get("appendfsync")
        config = server.config()
        assert "appendfsync everysec" in config
        assert "user default off" in config


def test_wait_partner_is_answered_within_its_bound_with_no_replica(tmp_path: Path) -> None:
    """``WAIT`` expires on Valkey's timer (``redis_config.HZ``), up to one period late, so the
    store keeps the bound itself: with no replica to acknowledge, "not acknowledged" comes
    after the whole window (1 s) and within it plus a loaded machine's slack (the figure is
    printed). The connection it gave up on is dropped: the late ``WAIT`` reply is never read
    as the next command's."""

    async def waits(url: str) -> tuple[list[tuple[bool, float]], int, list[bytes | None]]:
        client = connect(url)
        try:
            replication = Replication(Link(client))
            found, reads = [], []
            for n in range(3):
                await client.set("k", f"v{n}")
                started = time.monotonic()
                acked = await replication.wait_partner(1000)
                found.append((acked, time.monotonic() - started))
                reads.append(await client.get("k"))  # a stale WAIT reply would read as 0
            return found, replication.gave_up, reads
        finally:
            await client.aclose()

    with EmbeddedRedis(tmp_path) as server:
        assert f"hz {HZ}" in server.config()
        found, gave_up, reads = asyncio.run(waits(server.url))
    print("WAIT with no replica: " + ", ".join(f"{took:.3f} s" for _, took in found))
    assert reads == [b"v0", b"v1", b"v2"]
    # the server would answer 1.0-1.5 s after the WAIT at hz 2: the client cut it (all three,
    # unless a timer tick fell in the microseconds before the cut)
    assert gave_up >= 1
    for acked, took in found:
        assert acked is False
        assert took >= 0.99  # the whole window
        assert took < 3.0
