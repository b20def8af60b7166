"""The harness of test_pair_trust.py: a fake partner process, a unit paired with it, and
what "the unit is unchanged" means (role, shared address, its Redis still a master).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from hapair.domain.parameters import auto_virtual_id
from hapair.domain.version import PROTOCOL
from hapair.engine.pairlink import pairauth
from hapair.store.embedded import (
    PASSWORD_FILE,
    REDIS_USER,
    death_signal_preexec,
)
from hapair.store.redis_process import stop_process
from hapair.urls import host_port
from tests.integration.conftest import PARTNER_HOST, Unit, start_unit, wait_active_on_shared
from tests.ports import free_port
from tests.support import HapairFactory, poll

PAIR_KEY = "pair-trust-key-0123456789abcdef"
HEARTBEAT = "/internal/v1/heartbeat"
DEMOTE = "/internal/v1/demote"
OFF_HOST_REDIS = "redis://192.0.2.1:6379/0"  # TEST-NET-1: not the partner's host
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FakePartner:
    """A ``tests/fake_partner.py`` process on the partner's address, stopped by pid."""

    proc: subprocess.Popen[bytes]
    address: str
    record: Path

    def calls(self) -> list[dict[str, Any]]:
        try:
            lines = self.record.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def stop(self) -> None:
        stop_process(self.proc, 5)


@contextlib.contextmanager
def fake_partner(
    tmp_path: Path, answer: str, redis_url: str = "", shared: str = ""
) -> Iterator[FakePartner]:
    address = f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}"
    record = tmp_path / f"fake-{answer}.jsonl"
    with (tmp_path / f"fake-{answer}.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fake_partner",
                "--listen",
                address,
                "--record",
                str(record),
                "--answer",
                answer,
                "--redis-url",
                redis_url,
                "--pair-key",
                PAIR_KEY,
                "--shared",
                shared,
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
        )
    fake = FakePartner(proc, address, record)
    try:

        def up() -> bool:
            assert proc.poll() is None, f"fake partner exited with {proc.returncode}"
            return httpx.get(f"http://{address}/", timeout=1).status_code == 200

        poll(up, timeout=10, what="the fake partner to listen")
        yield fake
    finally:
        fake.stop()


def unit_with_partner(
    factory: HapairFactory,
    tmp_path: Path,
    partner: str,
    *,
    shared: str | None = None,
    wait_active: bool = True,
) -> Unit:
    """An HA unit ``first`` whose configured partner is ``partner`` (active unless told not to
    wait: a partner that answers keeps it from booting alone)."""
    extra = ["--partner", partner, "--pair-key", PAIR_KEY, "--heartbeat-interval", "0.2"]
    if shared is not None:
        extra += ["--shared", shared]
    unit = start_unit(factory, tmp_path / "first", extra_args=extra, wait_active=False)
    if shared is not None:
        unit.shared, unit.shared_address = f"http://{shared}", shared
    if wait_active:
        wait_active_on_shared(unit)
    return unit


def partner_auth(unit: Unit, name: str = "second", key: str = PAIR_KEY) -> pairauth.PairAuth:
    """A signer holding the pair key, as ``name`` of ``unit``'s pair (stands for a capture)."""
    shared = unit.shared_address
    return pairauth.PairAuth(key, name, pair=pairauth.pair_id(shared, auto_virtual_id(shared)))


def challenge(unit: Unit, auth: pairauth.PairAuth, path: str = HEARTBEAT) -> str:
    """A fresh challenge of ``unit``: what it answers a key holder's call bound to none."""
    body = heartbeat_body(shared=unit.shared_address)
    resp = post(unit, path, body, auth.sign_call("POST", path, body))
    assert resp.status_code == 401, resp.text
    assert resp.headers[pairauth.REFUSED_HEADER] == "challenge"
    return resp.headers[pairauth.CHALLENGE_HEADER]


def signed_call(unit: Unit, auth: pairauth.PairAuth, path: str, body: bytes) -> dict[str, str]:
    """The headers of a call ``unit`` accepts (bound to one of its challenges)."""
    return auth.sign_call("POST", path, body, challenge=challenge(unit, auth))


def signed_as(
    auth: pairauth.PairAuth, sender: str, recipient: str, path: str, body: bytes, ch: str
) -> dict[str, str]:
    """A call's headers signed with the pair key under any names (``sign_call`` signs as the
    signer's own unit, to its partner): a same-mode unit's call, a forged sender."""
    ts, nonce = f"{time.time():.3f}", pairauth.new_nonce()
    signature = pairauth.mac(
        pairauth.derive_key(PAIR_KEY),
        kind=pairauth.CALL,
        method="POST",
        path=path,
        sender=sender,
        recipient=recipient,
        pair=auth.pair_id,
        key_name=auth.key_id,
        timestamp=ts,
        nonce=nonce,
        challenge=ch,
        body=body,
    )
    return {
        pairauth.FROM_HEADER: sender,
        pairauth.TO_HEADER: recipient,
        pairauth.PAIR_HEADER: auth.pair_id,
        pairauth.KEY_HEADER: auth.key_id,
        pairauth.TIMESTAMP_HEADER: ts,
        pairauth.NONCE_HEADER: nonce,
        pairauth.CHALLENGE_HEADER: ch,
        pairauth.SIGNATURE_HEADER: signature,
    }


def redis_role(unit: Unit) -> dict[str, str]:
    """``INFO replication`` of the unit's own Redis, read with its credentials."""
    runtime: dict[str, Any] = json.loads((unit.data_dir / "runtime.json").read_text())
    host, port = host_port(str(runtime["redis_url"]))
    password_file = unit.data_dir / "redis" / PASSWORD_FILE
    password = password_file.read_text().strip() if password_file.exists() else None
    username = REDIS_USER if password else None
    with redis.Redis(
        host=host, port=port, username=username, password=password, socket_timeout=3
    ) as client:
        info: dict[str, Any] = client.info("replication")
    return {k: str(v) for k, v in info.items()}


def snapshot(unit: Unit) -> dict[str, Any]:
    """What an attack must not change: roles, who serves the shared address, Redis, revision."""
    with unit.client(shared=False) as client:
        status = client.get("/api/v1/ha/status").json()
        revision = client.get("/api/v1/ha/parameters").json()["revision"]
    me = next(u for u in status["units"] if u["name"] == "first")
    partner = next(u for u in status["units"] if u["name"] == "second")
    assert unit.shared is not None
    shared = httpx.get(f"{unit.shared}/readyz", timeout=2).json()
    info = redis_role(unit)
    return {
        "role": me["role"],
        "role_since": me.get("role_since"),
        "partner_role": partner["role"],
        "partner_revision": partner.get("revision"),
        "shared_role": shared.get("role"),
        "redis_role": info["role"],
        "redis_master_host": info.get("master_host"),
        "revision": revision,
    }


def assert_untouched(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after == before
    assert after["role"] == "active" and after["shared_role"] == "active"
    assert after["redis_role"] == "master" and after["redis_master_host"] is None


def post(unit: Unit, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{unit.direct}{path}",
        content=body,
        headers={"content-type": "application/json", **headers},
        timeout=5,
    )


def refused(resp: httpx.Response, reason: str | None = None) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["type"] == "urn:hapair:problem:unauthorized"
    assert pairauth.SIGNATURE_HEADER not in resp.headers
    assert resp.headers[pairauth.REFUSED_HEADER] in pairauth.REASONS
    if reason is not None:
        assert resp.headers[pairauth.REFUSED_HEADER] == reason, resp.text


def heartbeat_body(
    role: str = "active", revision: int = 99, redis_url: str = "", shared: str | None = None
) -> bytes:
    """A heartbeat of ``second`` (``shared``: the pair's shared address, as a real partner's)."""
    return json.dumps(
        {
            "shared_address": shared,
            "unit": "second",
            "mode": "second",
            "role": role,
            "boot_id": "e" * 32,
            "booted_at": time.time() - 3600,
            "revision": revision,
            "redis_url": redis_url,
            "sent_at": time.time(),
            "protocol": PROTOCOL,  # this build's: a heartbeat without one is an older build's
        }
    ).encode()
