"""TLS, v3 (SPEC 6): with ``--tls-cert``/``--tls-key`` and the embedded Valkey (no TLS built
in), replication runs through hapair's own TLS tunnel. tcpdump on loopback, between the two
units' addresses, sees no password and no cleartext RESP, while the standby replicates.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from hapair.store.client import host_port
from hapair.store.embedded import (
    PASSWORD_FILE,
    REPLICATION_PASSWORD_FILE,
    death_signal_preexec,
)
from tests.integration.conftest import MakePair
from tests.integration.pairs import FIRST_HOST, SECOND_HOST, pair_certificate
from tests.support import poll

pytestmark = pytest.mark.skipif(
    shutil.which("tcpdump") is None or shutil.which("openssl") is None,
    reason="needs tcpdump (.ci/tcpdump-deps.sh) and openssl",
)

# cleartext RESP of a replica's handshake and of the data it carries
RESP_NEEDLES = (b"PSYNC", b"REPLCONF", b"AUTH", b"hapair-replica", b"$4\r\nPING", b"hapair:params")


def _runtime(data_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((data_dir / "runtime.json").read_text())
    return loaded


def test_replication_over_the_tls_tunnel_shows_nothing_in_clear(
    make_pair: MakePair, tmp_path: Path
) -> None:
    cert, key, ca = pair_certificate(tmp_path)
    pcap = tmp_path / "units.pcap"
    tap = subprocess.Popen(
        [
            "tcpdump",
            "-i",
            "lo",
            "-s",
            "0",
            "-U",
            "-n",
            "-w",
            str(pcap),
            f"host {FIRST_HOST} or host {SECOND_HOST}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=death_signal_preexec(),  # noqa: PLW1509 - no tap outlives a killed run
    )
    try:
        assert tap.stderr is not None
        assert b"listening on" in tap.stderr.readline()
        flags = ["--tls-ca", ca]
        pair = make_pair(tls=(cert, key), extra={"first": flags, "second": flags})
        pair.start_both()
        resp = pair.patch({"initial_wait_time": 4})
        assert resp.status_code == 200, resp.text
        assert resp.headers["HA-Partner-Acknowledged"] == "true"  # the replica has it
        assert pair.params(pair.second)["initial_wait_time"] == 4
        first_dir, second_dir = tmp_path / "first", tmp_path / "second"
        first_redis = host_port(str(_runtime(first_dir)["redis_url"]))
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
        poll(lambda: pcap.stat().st_size > 0, timeout=5, what="captured packets")
        second_redis = host_port(str(_runtime(second_dir)["redis_url"]))
    finally:
        tap.send_signal(signal.SIGTERM)
        tap.wait(10)
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
    exit_packets = subprocess.run(
        ["tcpdump", "-r", str(filtered), "-n", f"tcp port {first_redis[1]}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    print(f"{len(exit_packets)} packets through the active's tunnel exit")
    assert len(exit_packets) >= 10, exit_packets  # the tap saw the replication stream
    captured = filtered.read_bytes()
    for secret in (password, replication):
        assert secret.encode() not in captured
    found = [n for n in RESP_NEEDLES if n in captured]
    assert found == [], found
