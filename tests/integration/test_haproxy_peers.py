"""L7 persistence updates with two real HAProxy processes (Debian's 2.6) on the pair's loopback
addresses: hapair writes each unit's ``peers hapair`` section, reloads HAProxy through its
master socket and reads ``show peers``; stick-table entries replicate between the two."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import MakePair
from tests.integration.handover import ready, started_and_ready, switchover
from tests.integration.pairs import FIRST_HOST, SECOND_HOST, Pair, Unit
from tests.integration.sse import Follower
from tests.ports import free_port
from tests.support import poll

MAIN_CFG = """\
global
    stats socket {dir}/stats.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend web
    stick-table type string len 32 size 1k peers hapair store server_id,gpt0
"""


def cli(path: Path, line: str) -> str:
    """One command on an HAProxy CLI socket (the write side closed after it)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


class HAProxy:
    """One HAProxy in master-worker mode: the master socket for hapair, a stats socket for
    the test, the peers file hapair writes (first a local-only section, as an operator's)."""

    def __init__(self, directory: Path, name: str, host: str, port: int) -> None:
        directory.mkdir()
        self.dir = directory
        self.name = name
        self.master = directory / "master.sock"
        self.stats = directory / "stats.sock"
        self.peers = directory / "peers.cfg"
        (directory / "main.cfg").write_text(MAIN_CFG.format(dir=directory))
        self.peers.write_text(f"peers hapair\n    peer {name} {host}:{port}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HAProxy:
        with (self.dir / "haproxy.log").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [
                    "haproxy", "-W", "-S", str(self.master), "-L", self.name,
                    "-f", str(self.dir / "main.cfg"), "-f", str(self.peers),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        poll(lambda: self.stats.exists() and bool(cli(self.stats, "show info")), timeout=10,
             what=f"{self.name}'s HAProxy answers")  # fmt: skip
        return self

    def stop(self) -> None:
        """Stops the master by its pid (its workers follow it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def table(self) -> str:
        return cli(self.stats, "show table web")

    def remote_peers(self) -> str:
        return cli(self.stats, "show peers")


@pytest.fixture
def haproxies() -> Iterator[dict[str, HAProxy]]:
    if shutil.which("haproxy") is None:  # a missing package fails, it is never skipped
        pytest.fail("this test needs Debian's haproxy: run .ci/haproxy-deps.sh")
    # a short directory: unix socket paths are limited to 107 bytes
    top = Path(tempfile.mkdtemp(prefix="hx-"))
    port = free_port(FIRST_HOST)
    while not _free(SECOND_HOST, port):
        port = free_port(FIRST_HOST)
    made = {
        "first": HAProxy(top / "first", "first", FIRST_HOST, port),
        "second": HAProxy(top / "second", "second", SECOND_HOST, port),
    }
    made["port"] = port  # type: ignore[assignment]
    try:
        yield made
    finally:
        for h in made.values():
            if isinstance(h, HAProxy):
                h.stop()
        shutil.rmtree(top, ignore_errors=True)


def _free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def l7(p: Pair, unit: Unit, of: str) -> dict[str, Any]:
    resp = p.http.get(f"{unit.url}/api/v1/ha/parameters/applied")
    assert resp.status_code == 200, resp.text
    part = next(u for u in resp.json()["units"] if u["name"] == of)
    state: dict[str, Any] = part["parameters"].get("l7_persistence_updates", {})
    return state


def wait_l7(
    p: Pair, state: str, contains: str, *, units: tuple[str, ...] = ("first", "second")
) -> None:
    for name in units:
        poll(
            lambda n=name: (
                (s := l7(p, p.units[n], n)).get("state") == state
                and contains in s.get("detail", "")
            ),
            timeout=20,
            what=f"{name}: l7_persistence_updates {state} ({contains})",
        )


def check(p: Pair, name: str) -> dict[str, Any] | None:
    resp = switchover(p, dry_run="true")
    assert resp.status_code == 200, resp.text
    return next((c for c in resp.json()["checks"] if c["name"] == name), None)


def test_stick_tables_replicate_through_hapair_peers(
    make_pair: MakePair, haproxies: dict[str, Any]
) -> None:
    port = str(haproxies["port"])
    hx: dict[str, HAProxy] = {n: haproxies[n] for n in ("first", "second")}
    extra = {
        n: ["--haproxy-socket", str(h.master), "--haproxy-peers-file", str(h.peers),
            "--haproxy-peers-port", port]
        for n, h in hx.items()
    }  # fmt: skip
    for h in hx.values():
        h.start()
    p = make_pair(extra=extra)
    started_and_ready(p)
    # off (the default): the local-only section, loaded
    wait_l7(p, "applied", "off: peers hapair lists the local peer")
    assert hx["first"].peers.read_text().splitlines()[1:] == [
        "peers hapair",
        f"    peer first {FIRST_HOST}:{port}",
    ]
    assert check(p, "state-sync") is None  # the check applies only while the parameter is on
    assert p.patch({"l7_persistence_updates": True}).status_code == 200
    wait_l7(p, "applied", "connected")
    assert hx["second"].peers.read_text().splitlines()[1:] == [
        "peers hapair",
        f"    peer second {SECOND_HOST}:{port}",
        f"    peer first {FIRST_HOST}:{port}",
    ]
    assert check(p, "state-sync") == {
        "name": "state-sync",
        "ok": True,
        "detail": f"HAProxy peers: peer second at {SECOND_HOST}:{port} connected",
    }
    # an entry made on the active's HAProxy reaches the standby's
    cli(hx["first"].stats, "set table web key client-1 data.server_id 3")
    poll(lambda: "key=client-1" in hx["second"].table(), timeout=5, what="entry replicated")
    # after a switchover the new active holds it, and its own entries go the other way
    poll(lambda: ready(p), timeout=10, what="every switchover check passes")
    assert switchover(p).status_code == 200
    p.wait_roles({"first": "standby", "second": "active"}, via=p.second)
    assert "server_id=3" in hx["second"].table()
    cli(hx["second"].stats, "set table web key client-2 data.server_id 4")
    poll(lambda: "key=client-2" in hx["first"].table(), timeout=5, what="entry back")
    # off: each unit's section holds its local peer alone; nothing is sent
    assert p.patch({"l7_persistence_updates": False}).status_code == 200
    wait_l7(p, "applied", "off: peers hapair lists the local peer")
    for h in hx.values():
        poll(lambda h=h: "(remote" not in h.remote_peers(), timeout=10, what="no remote peer")
    cli(hx["second"].stats, "set table web key client-3 data.server_id 5")
    # on again, then the first unit's HAProxy stops: the active's peer link is down
    assert p.patch({"l7_persistence_updates": True}).status_code == 200
    wait_l7(p, "applied", "connected")
    hx["first"].stop()
    wait_l7(p, "failed", "peer first", units=("second",))
    state_sync = check(p, "state-sync")
    assert state_sync is not None and not state_sync["ok"], state_sync

    def only_state_sync_fails() -> bool:
        checks = switchover(p, dry_run="true").json()["checks"]
        return [c["name"] for c in checks if not c["ok"]] == ["state-sync"]

    poll(only_state_sync_fails, timeout=10, what="every other check passes")
    refused = switchover(p)
    assert refused.status_code == 409, refused.text
    failed = [c["name"] for c in refused.json()["checks"] if not c["ok"]]
    assert failed == ["state-sync"], refused.json()
    metrics = httpx.get(f"{p.second.url}/metrics", timeout=5).text
    assert (
        'hapair_parameter_applied{parameter="l7_persistence_updates",state="failed"} 1.0' in metrics
    )
    # the event stream tells of it (kept in Redis: read from the start)
    events = Follower(p.second.url, p.token, params={"types": "applied", "since": "0"})
    try:
        # the active's own, and the standby's as its heartbeat told the active
        expected = {
            ("second", "l7_persistence_updates", "failed"),
            ("first", "l7_persistence_updates", "failed"),
        }
        poll(
            lambda: (
                expected <= {(e["unit"], e["parameter"], e["state"]) for e in events.of("applied")}
            ),
            timeout=10,
            what="applied events: both units' l7_persistence_updates failed",
        )
    finally:
        events.close()
