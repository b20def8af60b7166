"""Pair-key rotation without downtime (SPEC 6) on a real pair: the next key on both units
(file + SIGHUP), then ``POST /ha/actions/rotate-pair-key`` under a write storm."""

from __future__ import annotations

import os
import secrets
import signal
from pathlib import Path
from typing import Any

import httpx

from hapair.domain.parameters import auto_virtual_id
from hapair.engine import pairauth
from hapair.keyring import key_id
from tests.integration.conftest import MakePair, problem
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

    _write(files["second"], new)
    os.kill(pair.second.proc.pid, signal.SIGHUP)
    both = {"first": (key_id(old), key_id(new)), "second": (key_id(old), key_id(new))}
    poll(
        lambda: _keys(pair.status(pair.first)) == both,
        timeout=10,
        what="both next key ids in the active's status (the partner's by heartbeat)",
    )
    before = pair.status(pair.first)["units"]

    with WriteStorm(pair.shared_url, pair.token, clients=4, timeout=2.0) as storm:
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
    history = read_history(pair.http, pair.first.url)
    conflicts = read_conflicts(pair.http, pair.first.url)
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
