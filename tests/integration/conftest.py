"""Fixtures for the single-unit integration tests: real ``hapair serve`` processes over HTTP.

A unit "alone" is started in HA mode (``--mode first``) with a partner address nobody answers,
so it becomes active after ``initial_wait_time`` (0) and serves the shared address too.
Module-scoped units keep the suite fast (a process start costs ~1.5 s); tests that need a
fresh unit (known revisions, environment overrides) start their own with :func:`start_unit`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from hapair.domain.parameters import HAParameters
from hapair.store.embedded import free_port
from tests.integration.pairs import Pair
from tests.support import HapairFactory, HapairProcess, poll

ADMIN_TOKEN = "it-admin-0123456789abcdefABCDEF"
DIRECT_HOST = "127.0.0.11"
PARTNER_HOST = "127.0.0.12"
SHARED_HOST = "127.0.0.10"
PARAMS = "/api/v1/ha/parameters"
MERGE_PATCH = "application/merge-patch+json"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")

# The defaults the API shows for the 13 stored fields with a fixed default (virtual_id's
# effective value is computed from the shared address): from the domain struct, never restated.
DEFAULTS: dict[str, Any] = {
    name: value
    for name, value in msgspec.structs.asdict(HAParameters()).items()
    if name != "virtual_id"
}


MakeUnit = Callable[..., "Unit"]
MakePair = Callable[..., Pair]


@dataclass
class Unit:
    """One running ``hapair serve`` and how to talk to it."""

    proc: HapairProcess
    data_dir: Path
    direct: str  # http://HOST:PORT
    shared: str | None  # http://HOST:PORT, HA mode only
    shared_address: str | None  # HOST:PORT
    token: str | None
    clients: list[httpx.Client] = field(default_factory=list)

    def client(
        self, *, shared: bool = True, token: str | bool | None = True, timeout: float = 10
    ) -> httpx.Client:
        """An httpx client on the shared (default, HA) or direct address.

        ``token=True`` uses the unit's admin token, a string that token, None/False none.
        """
        base = self.shared if shared and self.shared else self.direct
        headers = {}
        bearer = self.token if token is True else (token or None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        c = httpx.Client(base_url=base, headers=headers, timeout=timeout)
        self.clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()


def start_unit(
    factory: HapairFactory,
    data_dir: Path,
    *,
    ha: bool = True,
    token: str | None = ADMIN_TOKEN,
    no_auth: bool = False,
    shared_host: str = SHARED_HOST,
    redis_url: str | None = None,
    env: dict[str, str] | None = None,
    wait_active: bool = True,
    extra_args: list[str] | None = None,
) -> Unit:
    """Starts one unit on free ports and waits until it is ready (and active, in HA mode)."""
    direct_port = free_port(DIRECT_HOST)
    args = ["--listen", f"{DIRECT_HOST}:{direct_port}", "--data-dir", str(data_dir)]
    shared_address = None
    if ha:
        shared_address = f"{shared_host}:{free_port(shared_host)}"
        args += [
            "--mode", "first",
            "--partner", f"{PARTNER_HOST}:{free_port(PARTNER_HOST)}",
            "--shared", shared_address,
            "--pair-key", "it-pair-key-0123456789",
        ]  # fmt: skip
    if token:
        args += ["--admin-token", token]
    if no_auth:
        args += ["--no-auth"]
    if redis_url:
        args += ["--redis", redis_url]
    args += extra_args or []
    proc = factory(args, env=env)
    unit = Unit(
        proc=proc,
        data_dir=data_dir,
        direct=f"http://{DIRECT_HOST}:{direct_port}",
        shared=f"http://{shared_address}" if shared_address else None,
        shared_address=shared_address,
        token=token,
    )
    proc.wait_ready(unit.direct, timeout=15)
    if ha and wait_active:
        wait_active_on_shared(unit)
    return unit


def wait_active_on_shared(unit: Unit, timeout: float = 10) -> None:
    """Polls the shared address until the unit answers there as the active one."""
    assert unit.shared is not None

    def active() -> bool:
        r = httpx.get(f"{unit.shared}/readyz", timeout=1)
        return r.status_code == 200 and r.json().get("role") == "active"

    poll(active, timeout=timeout, what=f"{unit.shared} to answer as active")


def revision_of(client: httpx.Client) -> int:
    """The current revision, read from the ETag of ``GET /ha/parameters``."""
    r = client.get(PARAMS)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]
    assert etag == f'"{r.json()["revision"]}"'
    return int(etag.strip('"'))


def assert_unchanged(client: httpx.Client, revision: int) -> None:
    """Asserts the parameters are still at ``revision``: a refused request stored nothing."""
    assert revision_of(client) == revision, "a refused request must not change the parameters"


def reset_parameters(client: httpx.Client) -> dict[str, Any]:
    """PUT ``{}``: every field back to its default (a new revision unless already there)."""
    r = client.put(PARAMS, json={})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def run_serve(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``hapair serve ARGS`` run to its end (a start that must fail), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "hapair", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )


def create_token(data_dir: Path, role: str) -> str:
    """``hapair token create --role ROLE --data-dir DIR`` against the running unit."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hapair",
            "token",
            "create",
            "--role",
            role,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token, out.stderr
    return token


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Asserts ``r`` is an RFC 9457 problem of that status and slug; returns its body."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:hapair:problem:{slug}", body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def log_events(proc: HapairProcess) -> list[dict[str, Any]]:
    """The unit's log as parsed JSON lines (every non-empty line must be JSON)."""
    events = []
    for line in proc.log_text().splitlines():
        if line.strip():
            events.append(json.loads(line))
    return events


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HapairFactory]:
    """A HapairFactory whose processes live as long as the test module."""
    factory = HapairFactory(tmp_path_factory.mktemp("hapair-module"))
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def ha_unit(module_factory: HapairFactory) -> Iterator[Unit]:
    """An HA unit alone (active, on its shared address), admin token ``ADMIN_TOKEN``."""
    unit = start_unit(module_factory, module_factory.directory / "unit-data")
    try:
        yield unit
    finally:
        unit.close_clients()


@pytest.fixture
def make_unit(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[MakeUnit]:
    """``make_unit(name="d", **start_unit_kwargs) -> Unit``: a fresh unit for this test only."""
    units: list[Unit] = []

    def make(name: str = "d", **kwargs: Any) -> Unit:
        unit = start_unit(hapair_factory, tmp_path / name, **kwargs)
        units.append(unit)
        return unit

    try:
        yield make
    finally:
        for unit in units:
            unit.close_clients()


@pytest.fixture
def api(ha_unit: Unit) -> Iterator[httpx.Client]:
    """An admin client on the module unit's shared address, parameters reset to defaults."""
    client = ha_unit.client()
    reset_parameters(client)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def make_pair(hapair_factory: HapairFactory, tmp_path: Path) -> Iterator[MakePair]:
    """``make_pair(**pair_kwargs) -> Pair`` in ``tmp_path``; every pair made is closed after."""
    pairs: list[Pair] = []

    def make(**kwargs: Any) -> Pair:
        made = Pair(hapair_factory, tmp_path, **kwargs)
        pairs.append(made)
        return made

    try:
        yield make
    finally:
        for made in pairs:
            made.close()


@pytest.fixture
def pair(make_pair: MakePair) -> Pair:
    """A pair with the default arguments, not started (``pair.start_both()``)."""
    return make_pair()
