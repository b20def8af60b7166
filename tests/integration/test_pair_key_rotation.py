"""Pair-key rotation without downtime (SPEC 6) on a real pair: the next key on both units
(file + SIGHUP), then ``POST /ha/actions/rotate-pair-key`` under a write storm. The unit-to-unit
MAC and the embedded Redis's passwords (both ACL users, ``masterauth``) move to the new key
without a restart, and replication stays up."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hapair.domain.parameters import auto_virtual_id
from hapair.engine.pairlink import pairauth
from hapair.keyring import key_id
from hapair.store.redis_config import REDIS_USER, REPLICATION_USER, derived_password
from hapair.urls import credentials, host_port
from tests.integration.conftest import MakePair, problem
from tests.integration.pairs import Unit
from tests.procfs import children_of, is_redis
from tests.storm import WriteStorm, missing_writes, read_conflicts, read_history
from tests.support import poll

ROTATE = "/api/v1/ha/actions/rotate-pair-key"


def _write(path: Path, value: str) -> None:
    tmp = path.with_suffix(".new")
    tmp.write_text(value + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _keys(status: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {u["name"]: (u["pair_key_id"], u["pair_key_next_id"]) for u in status["units"]}


def _signed_with(key: str, url: str, shared: str) -> int:
    """The status of a unit-to-unit heartbeat call from second signed with ``key``: 401 when
    the key is refused, 400 (the body is no heartbeat) when accepted (bound to a challenge of
    the unit, asked for first as the partner does)."""
    pid = pairauth.pair_id(shared, auto_virtual_id(shared))
    auth = pairauth.PairAuth(key, "second", pair=pid)
    body = b"[]"  # refused as malformed once authentic: nothing reaches the engine
    path = f"{url}/internal/v1/heartbeat"
    headers = auth.sign_call("POST", "/internal/v1/heartbeat", body)
    r = httpx.post(path, content=body, headers=headers, timeout=5)
    if r.status_code == 401 and r.headers.get(pairauth.REFUSED_HEADER) == "challenge":
        challenge = r.headers[pairauth.CHALLENGE_HEADER]
        headers = auth.sign_call("POST", "/internal/v1/heartbeat", body, challenge=challenge)
        r = httpx.post(path, content=body, headers=headers, timeout=5)
    return r.status_code


def _redis_url(unit: Unit) -> str:
    """The unit's Redis URL as runtime.json says (with the password hapair logs in with)."""
    data_dir = Path(unit.args[unit.args.index("--data-dir") + 1])
    return str(json.loads((data_dir / "runtime.json").read_text())["redis_url"])


def _client(unit: Unit, user: str, password: str) -> redis.Redis:
    host, port = host_port(_redis_url(unit))
    return redis.Redis(
        host=host, port=port, username=user, password=password,
        socket_timeout=5, socket_connect_timeout=5,
        retry=Retry(NoBackoff(), 0),  # a refusal is the answer, not something to retry
    )  # fmt: skip


def _accepts(unit: Unit, key: str) -> bool:
    """Whether the unit's Redis lets both users in with the passwords derived from ``key``
    (both or neither: one user without the other is a failure of its own).

    The server changes both users in one transaction, but the two logins here are two
    moments: a change between them shows one user old and one new. So a split answer is read
    again (the change is over by then), and only a split that stays is a failure."""
    for _ in range(3):
        ins = []
        for user in (REDIS_USER, REPLICATION_USER):
            with _client(unit, user, derived_password(key, user)) as c:
                try:
                    ins.append(bool(c.ping()))
                except redis.AuthenticationError:
                    ins.append(False)
        if ins[0] == ins[1]:
            return ins[0]
    raise AssertionError(f"{unit.name}: the API user {ins[0]}, replication {ins[1]}")


def _info(unit: Unit) -> dict[str, Any]:
    """INFO of the unit's Redis, logged in as hapair logs in now (runtime.json)."""
    _user, password = credentials(_redis_url(unit))
    assert password is not None
    with _client(unit, REDIS_USER, password) as c:
        info: dict[str, Any] = c.info()
    return info


def _reset_replication(standby: Unit, active: Unit) -> None:
    """Resets the standby's replication connection (``ss -K``): its Redis must log in again,
    with ``masterauth``."""
    assert standby.proc is not None
    redis_pid = next(p for p in children_of(standby.proc.pid) if is_redis(p))
    _host, port = host_port(_redis_url(active))
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dport", "=", f":{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = [line for line in out.splitlines() if f"pid={redis_pid}," in line]
    assert len(lines) == 1, out
    local, remote = lines[0].split()[2:4]
    subprocess.run(["ss", "-K", "src", local, "dst", remote], capture_output=True, check=True)


class LinkWatch:
    """Samples the standby's ``master_link_status`` until stopped: every sample taken."""

    def __init__(self, standby: Unit) -> None:
        self.standby = standby
        self.samples: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                self.samples.append(str(_info(self.standby).get("master_link_status")))
            except redis.RedisError as exc:
                self.samples.append(f"error: {exc}")

    def __enter__(self) -> LinkWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_rotation_under_a_write_storm_switches_both_units(
    make_pair: MakePair, tmp_path: Path
) -> None:
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    files = {name: tmp_path / f"{name}.next" for name in ("first", "second")}
    for f in files.values():
        _write(f, old)  # the next key equal to the current one: no next key yet
    pair = make_pair(
        pair_key=old,
        extra={name: ["--pair-key-next-file", str(f)] for name, f in files.items()},
    )
    pair.start_both()
    assert _keys(pair.status(pair.first)) == {
        "first": (key_id(old), None),
        "second": (key_id(old), None),
    }
    # no next key anywhere: refused, nothing switched
    problem(pair.http.post(f"{pair.shared_url}{ROTATE}"), 409, "pair-key-mismatch")

    # a next key on the active only: the partner's differs (none)
    _write(files["first"], new)
    assert pair.first.proc is not None and pair.second.proc is not None
    os.kill(pair.first.proc.pid, signal.SIGHUP)
    poll(
        lambda: _keys(pair.status(pair.first))["first"] == (key_id(old), key_id(new)),
        timeout=10,
        what="first's next key id in its status",
    )
    refused = problem(pair.http.post(f"{pair.shared_url}{ROTATE}"), 409, "pair-key-mismatch")
    assert key_id(new) in refused["detail"]
    assert (
        _signed_with(old, pair.first.url, pair.shared_address) == 400
    )  # the old key still works everywhere
    # first's Redis accepts the passwords of both keys now, second's (no next key) only the old
    poll(lambda: _accepts(pair.first, new), timeout=10, what="first's Redis takes the next key")
    assert _accepts(pair.first, old)
    assert _accepts(pair.second, old) and not _accepts(pair.second, new)

    _write(files["second"], new)
    os.kill(pair.second.proc.pid, signal.SIGHUP)
    both = {"first": (key_id(old), key_id(new)), "second": (key_id(old), key_id(new))}
    poll(
        lambda: _keys(pair.status(pair.first)) == both,
        timeout=10,
        what="both next key ids in the active's status (the partner's by heartbeat)",
    )
    poll(lambda: _accepts(pair.second, new), timeout=10, what="second's Redis takes it too")
    assert _accepts(pair.second, old) and _accepts(pair.first, old)
    before = pair.status(pair.first)["units"]
    poll(lambda: _info(pair.second)["master_link_status"] == "up", timeout=20, what="link up")
    full_syncs = _info(pair.first)["sync_full"]

    with (
        LinkWatch(pair.second) as link,
        # two clients, 0.1 s apart: the storm runs past the replaced key's grace (10 s), and
        # every acknowledged write must still be in the history (its last 1000 revisions)
        WriteStorm(pair.shared_url, pair.token, clients=2, timeout=2.0, pause=0.1) as storm,
    ):
        poll(lambda: len(storm.acked) >= 20, timeout=15, what="20 acknowledged writes")
        r = pair.http.post(f"{pair.shared_url}{ROTATE}")
        assert r.status_code == 200, r.text
        assert r.json() == {"key_id": key_id(new)}
        after = len(storm.acked)
        poll(lambda: len(storm.acked) >= after + 20, timeout=15, what="writes after it")
        switched = {"first": (key_id(new), None), "second": (key_id(new), None)}
        poll(
            lambda: _keys(pair.status(pair.second)) == switched,
            timeout=10,
            what="both units on the new key, as the standby sees them",
        )
        # the Redis passwords followed: the old key's are refused once its grace is over
        for unit in (pair.first, pair.second):
            poll(
                lambda unit=unit: not _accepts(unit, old),
                timeout=30,
                what=f"{unit.name}'s Redis refuses the old key's passwords",
            )
            assert _accepts(unit, new)
        acked = len(storm.acked)
        poll(lambda: len(storm.acked) >= acked + 10, timeout=15, what="acknowledged writes")
    # replication never went down, and never started over
    print(f"standby's link during the rotation: {len(link.samples)} samples")
    assert link.samples and set(link.samples) == {"up"}, sorted(set(link.samples))
    assert _info(pair.first)["sync_full"] == full_syncs
    # the replica logs in again with masterauth, which is the new key's (the old one is refused)
    partial = _info(pair.first)["sync_partial_ok"]
    _reset_replication(pair.second, pair.first)
    poll(
        lambda: _info(pair.first)["sync_partial_ok"] > partial,
        timeout=20,
        what="the standby's Redis back in (a partial resync, with the new password)",
    )
    poll(lambda: _info(pair.second)["master_link_status"] == "up", timeout=20, what="link up")
    assert _info(pair.first)["sync_full"] == full_syncs
    resp = pair.patch({"initial_wait_time": 7})
    assert resp.status_code == 200, resp.text
    assert resp.headers["HA-Partner-Acknowledged"] == "true"
    conflicts = read_conflicts(pair.http, pair.first.url)
    history = read_history(pair.http, pair.first.url)
    with storm.lock:
        written = list(storm.written)
    lost = missing_writes([w for w in written if w.acknowledged], history, conflicts)
    print(f"rotation under a write storm: {storm.summary()}; acknowledged lost: {len(lost)}")
    assert not lost, "\n".join(lost[:20])
    # no role changed: the same roles, taken at the same time, as before the rotation
    units = pair.status(pair.first)["units"]
    assert [(u["name"], u["role"], u["role_since"]) for u in units] == [
        (u["name"], u["role"], u["role_since"]) for u in before
    ]
    # afterwards the old key is refused (once the grace of one MAC window has passed)
    poll(
        lambda: _signed_with(old, pair.first.url, pair.shared_address) == 401,
        timeout=20,
        what="a call signed with the old key refused",
    )
    assert _signed_with(new, pair.first.url, pair.shared_address) == 400
