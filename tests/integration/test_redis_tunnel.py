"""TLS, v3 (SPEC 6): with ``--tls-cert``/``--tls-key`` and the embedded Valkey (no TLS built
in), replication runs through hapair's own TLS tunnel. tcpdump on loopback, between the two
units' addresses, sees no password and no cleartext RESP, while the standby replicates.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hapair.engine.redis_tunnel import RedisTunnel
from hapair.store.embedded import (
    PASSWORD_FILE,
    REPLICATION_PASSWORD_FILE,
    EmbeddedRedis,
    death_signal_preexec,
)
from hapair.urls import host_port
from tests.integration.conftest import MakePair
from tests.integration.pairs import FIRST_HOST, SECOND_HOST, SHARED_HOST, pair_certificate
from tests.ports import free_port
from tests.support import make_redis, poll, redis_client

pytestmark = pytest.mark.skipif(
    shutil.which("tcpdump") is None or shutil.which("openssl") is None,
    reason="needs tcpdump (.ci/tcpdump-deps.sh) and openssl",
)

# cleartext RESP of a replica's handshake and of the data it carries
RESP_NEEDLES = (b"PSYNC", b"REPLCONF", b"AUTH", b"hapair-replica", b"$4\r\nPING", b"hapair:params")


def _runtime(data_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((data_dir / "runtime.json").read_text())
    return loaded


def _packets(pcap: Path, expression: str, *, complete: bool = False) -> list[str]:
    """The packets of a capture that match ``expression``; one still being written may end in
    a part of a packet (tcpdump then exits 1): an error only for a ``complete`` one."""
    read = subprocess.run(
        ["tcpdump", "-r", str(pcap), "-n", expression],
        capture_output=True,
        text=True,
        check=complete,
    )
    return read.stdout.splitlines()


def test_replication_over_the_tls_tunnel_shows_nothing_in_clear(
    make_pair: MakePair, tmp_path: Path
) -> None:
    """The tap captures only this pair's ports (its HTTPS port and the two embedded Redis
    ports, fixed with ``--redis-port``; a tunnel exit listens on its unit's direct host with
    its Redis's port number), into a 16 MiB kernel buffer. It captured every unit address
    before, and in whole-suite runs the other workers' pairs on the same two addresses may
    fill its buffer (the likely cause of 0 packets at the tunnel exit in 1 of about 4
    whole-suite runs; not proven: alone under load it lost none). It is stopped only once the
    capture file holds the replication stream, and a failure shows tcpdump's own counts."""
    cert, key, ca = pair_certificate(tmp_path)
    pcap = tmp_path / "units.pcap"
    redis_ports = {"first": free_port("127.0.0.1"), "second": free_port("127.0.0.1")}
    http_port = free_port(SHARED_HOST)
    this_pair = " or ".join(f"tcp port {p}" for p in (http_port, *redis_ports.values()))
    tap = subprocess.Popen(
        [
            "tcpdump",
            "-i",
            "lo",
            "-s",
            "0",
            "-B",
            "16384",
            "-U",
            "--immediate-mode",
            "-n",
            "-w",
            str(pcap),
            f"(host {FIRST_HOST} or host {SECOND_HOST}) and ({this_pair})",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=death_signal_preexec(),  # noqa: PLW1509 - no tap outlives a killed run
    )
    try:
        assert tap.stderr is not None
        assert b"listening on" in tap.stderr.readline()
        pair = make_pair(
            tls=(cert, key),
            port=http_port,
            extra={
                name: ["--tls-ca", ca, "--redis-port", str(port)]
                for name, port in redis_ports.items()
            },
        )
        pair.start_both()
        resp = pair.patch({"initial_wait_time": 4})
        assert resp.status_code == 200, resp.text
        assert resp.headers["HA-Partner-Acknowledged"] == "true"  # the replica has it
        assert pair.params(pair.second)["initial_wait_time"] == 4
        first_dir, second_dir = tmp_path / "first", tmp_path / "second"
        first_redis = host_port(str(_runtime(first_dir)["redis_url"]))
        assert first_redis[1] == redis_ports["first"]  # the tap's filter has its port
        password = (second_dir / "redis" / PASSWORD_FILE).read_text().strip()
        replication = (second_dir / "redis" / REPLICATION_PASSWORD_FILE).read_text().strip()
        # the standby's replica follows its own unit's loopback entry, not the active's Redis
        with redis.Redis.from_url(str(_runtime(second_dir)["redis_url"])) as standby:
            link = standby.info("replication")
        assert link["role"] == "slave", link
        assert link["master_link_status"] == "up", link
        assert link["master_host"] == "127.0.0.1", link
        assert link["master_port"] != first_redis[1], link
        # both Redis servers listen on loopback only
        for data_dir in (first_dir, second_dir):
            assert "bind 127.0.0.1\n" in (data_dir / "redis" / "redis.conf").read_text()
        # the tap writes each packet as it gets it (-U): stopped only once the file holds the
        # replication stream (tcpdump may get the packets a while after the kernel had them)
        poll(
            lambda: len(_packets(pcap, f"host {FIRST_HOST} and tcp port {first_redis[1]}")) >= 10,
            timeout=15,
            what="the replication stream through the tunnel exit in the capture",
        )
        second_redis = host_port(str(_runtime(second_dir)["redis_url"]))
    finally:
        tap.send_signal(signal.SIGTERM)
        tap.wait(10)
        counts = tap.stderr.read().decode(errors="replace") if tap.stderr is not None else ""
        if tap.stderr is not None:
            tap.stderr.close()
    # this pair's traffic between the units (other tests may use these addresses too): the
    # HTTPS port and each unit's tunnel exit (its direct host, its Redis's port number)
    ours = (
        f"(host {FIRST_HOST} and tcp port {first_redis[1]})"
        f" or (host {SECOND_HOST} and tcp port {second_redis[1]})"
        f" or ((host {FIRST_HOST} or host {SECOND_HOST}) and tcp port {pair.port})"
    )
    filtered = tmp_path / "ours.pcap"
    subprocess.run(
        ["tcpdump", "-r", str(pcap), "-w", str(filtered), ours], capture_output=True, check=True
    )
    exit_packets = _packets(filtered, f"tcp port {first_redis[1]}", complete=True)
    print(f"{len(exit_packets)} packets through the active's tunnel exit")
    assert len(exit_packets) >= 10, (exit_packets, counts)  # the tap saw the replication
    captured = filtered.read_bytes()
    for secret in (password, replication):
        assert secret.encode() not in captured
    found = [n for n in RESP_NEEDLES if n in captured]
    assert found == [], found


def _connections(server: EmbeddedRedis) -> int:
    with redis_client(server) as c:
        return int(c.info("stats")["total_connections_received"])


async def _ping_through(tunnel: RedisTunnel, server: EmbeddedRedis, exit_port: int) -> bool:
    host, port = tunnel.target(f"redis://{FIRST_HOST}:{exit_port}/0")
    client = aioredis.Redis(
        host=host,
        port=port,
        username="hapair",
        password=server.password,
        socket_timeout=3,
        socket_connect_timeout=3,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(await client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    finally:
        await client.aclose()


def test_tunnel_refuses_strangers_and_unverified_exits(tmp_path: Path) -> None:
    """In process, real sockets and a real Valkey: the entry reaches the exit only with the
    pair's CA, and the exit forwards only the configured partner's connections."""
    cert, key, ca = pair_certificate(tmp_path)
    other_dir = tmp_path / "other-ca"
    other_dir.mkdir()
    _cert, _key, other_ca = pair_certificate(other_dir)

    def tunnel(listen: str, port: int, partner: str, trust: str) -> RedisTunnel:
        return RedisTunnel(
            listen_host=listen,
            redis_port=port,
            partner_host=lambda: partner,
            cert=cert,
            key=key,
            ca=trust,
        )

    with make_redis(tmp_path / "redis") as server:
        exit_port = server.port

        async def run() -> dict[str, tuple[bool, int]]:
            results: dict[str, tuple[bool, int]] = {}
            cases = {
                # the active's exit trusts the standby's host; the entry trusts the pair's CA
                "pair": (SECOND_HOST, ca),
                # an exit configured for another partner: the connection is closed unforwarded
                "stranger": ("192.0.2.77", ca),
                # an entry that does not trust the exit's certificate: nothing is sent
                "unverified": (SECOND_HOST, other_ca),
            }
            for name, (partner, trust) in cases.items():
                active = tunnel(FIRST_HOST, exit_port, partner, ca)
                standby = tunnel(SECOND_HOST, free_port(SECOND_HOST), FIRST_HOST, trust)
                await active.start()
                await standby.start()
                before = _connections(server)
                try:
                    ok = await _ping_through(standby, server, exit_port)
                finally:
                    await standby.stop()
                    await active.stop()
                # the forwarded connection, and the one _connections itself opens
                results[name] = (ok, _connections(server) - before - 1)
            return results

        results = asyncio.run(run())
    assert results == {"pair": (True, 1), "stranger": (False, 0), "unverified": (False, 0)}
