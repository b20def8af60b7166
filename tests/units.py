"""The one ``Unit`` of the tests: a unit started with ``hapair serve``'s flags, and how to talk
to it; ``start_unit`` starts a lone one (a pair's two: ``tests/integration/pairs.py``).

What runs it is the factory's: ``tests.support.HapairFactory`` starts ``hapair serve``
processes (tests/integration/), ``tests.inprocess.runner.InProcessFactory`` runs the same
flags inside the test process (tests/inprocess/). Both runners have ``start``, ``wait_ready``,
``terminate``, ``log_text`` and ``client``; only a process has a pid and can be SIGKILLed.

A unit "alone" is started in HA mode (``--mode first``) with a partner address nobody answers,
so it becomes active after ``initial_wait_time`` (0) and serves the shared address too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

from tests.ports import free_port
from tests.support import poll

ADMIN_TOKEN = "it-admin-0123456789abcdefABCDEF"
DIRECT_HOST = "127.0.0.11"
PARTNER_HOST = "127.0.0.12"
SHARED_HOST = "127.0.0.10"


class Runner(Protocol):
    """What runs one unit: a process (``HapairProcess``) or this process (``InProcess``)."""

    args: list[str]
    log_path: Path

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def wait_ready(self, base_url: str, timeout: float = 30, *, verify: bool = True) -> None: ...

    def client(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
        verify: bool = True,
    ) -> httpx.Client: ...

    def terminate(self, timeout: float = 10) -> int | None: ...

    def kill9(self) -> int | None: ...

    def log_text(self) -> str: ...

    def log_tail(self, lines: int = 40) -> str: ...


Factory = Callable[..., Any]  # (args, env=None, *, start=True) -> Runner


class Unit:
    """One unit: its flags, its addresses, its runner once started, and its clients.

    ``url`` (alias ``direct``) is its own address, ``shared`` the pair's shared address (HA
    mode), ``token`` the admin token ``client()`` sends by default.
    """

    def __init__(
        self,
        factory: Factory,
        name: str,
        args: list[str],
        env: dict[str, str],
        address: str,
        scheme: str = "http",
        *,
        data_dir: Path | None = None,
        shared_address: str | None = None,
        token: str | None = None,
    ) -> None:
        self.factory = factory
        self.name = name
        self.args = args
        self.env = env
        self.address = address
        self.scheme = scheme
        self.data_dir = data_dir
        self.shared_address = shared_address
        self.token = token
        self.proc: Any = None  # the Runner, once started
        self.clients: list[httpx.Client] = []

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    @property
    def direct(self) -> str:
        return self.url

    @property
    def shared(self) -> str | None:
        return f"{self.scheme}://{self.shared_address}" if self.shared_address else None

    @shared.setter
    def shared(self, url: str | None) -> None:
        self.shared_address = url.partition("://")[2] if url else None

    def start(self, *, wait: bool = True, timeout: float = 30) -> Unit:
        self.proc = self.factory(self.args, env=self.env)
        if wait:
            self.proc.wait_ready(self.url, timeout=timeout, verify=False)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill9()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()

    def client(
        self, *, shared: bool = True, token: str | bool | None = True, timeout: float = 10
    ) -> httpx.Client:
        """A client on the shared (default, HA) or direct address.

        ``token=True`` uses the unit's admin token, a string that token, None/False none.
        """
        assert self.proc is not None, "not started"
        base = self.shared if shared and self.shared else self.direct
        headers = {}
        bearer = self.token if token is True else (token or None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        c = self.proc.client(base, headers=headers, timeout=timeout, verify=False)
        self.clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()


def start_unit(
    factory: Factory,
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
    unit = Unit(
        factory,
        data_dir.name,
        args,
        dict(env or {}),
        f"{DIRECT_HOST}:{direct_port}",
        data_dir=data_dir,
        shared_address=shared_address,
        token=token,
    )
    unit.start()
    if ha and wait_active:
        wait_active_on_shared(unit)
    return unit


def wait_active_on_shared(unit: Unit, timeout: float = 10) -> None:
    """Polls the shared address until the unit answers there as the active one: over a real
    socket in either tier (the shared listener is bound, the address serves)."""
    assert unit.shared is not None

    def active() -> bool:
        r = httpx.get(f"{unit.shared}/readyz", timeout=1)
        return r.status_code == 200 and r.json().get("role") == "active"

    poll(active, timeout=timeout, what=f"{unit.shared} to answer as active")


MakeUnit = Callable[..., Unit]  # the ``make_unit`` fixture: (name="d", **start_unit kwargs)


def made_units(start: Callable[..., Unit]) -> Iterator[MakeUnit]:
    """The ``make_unit`` fixture of either tier: ``make(name="d", **kwargs)`` is
    ``start(name, **kwargs)``; every unit made has its clients closed after the test."""
    units: list[Unit] = []

    def make(name: str = "d", **kwargs: Any) -> Unit:
        unit = start(name, **kwargs)
        units.append(unit)
        return unit

    try:
        yield make
    finally:
        for unit in units:
            unit.close_clients()


def admin_client(unit: Unit) -> Iterator[httpx.Client]:
    """The ``api`` fixture of either tier: an admin client on ``unit``'s shared address, the
    parameters reset to their defaults first."""
    from tests.api_checks import reset_parameters

    client = unit.client()
    reset_parameters(client)
    try:
        yield client
    finally:
        client.close()
