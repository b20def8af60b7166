"""A real pair of hapair processes on loopback: first 127.0.0.11, second 127.0.0.12, shared .10.

Each unit is a ``tests.units.Unit`` (the one unit of the tests, lone units too)."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port
from tests.support import HapairFactory, poll
from tests.units import Unit

FIRST_HOST = "127.0.0.11"
SECOND_HOST = "127.0.0.12"
SHARED_HOST = "127.0.0.10"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def pair_certificate(
    directory: Path, ips: tuple[str, ...] = (SHARED_HOST, FIRST_HOST, SECOND_HOST)
) -> tuple[str, str, str]:
    """A test CA and a server certificate it signs for the pair's three IPs (``ips``):
    (cert, key, CA).

    Needs ``openssl`` on PATH (callers skip without it).
    """
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key = directory / "cert.pem", directory / "key.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", str(ca_key), "-out", str(ca), "-subj", "/CN=hapair-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hapair-unit",
        "-CA", str(ca), "-CAkey", str(ca_key),
        "-addext", "subjectAltName=" + ",".join(f"IP:{ip}" for ip in ips),
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext", "extendedKeyUsage=serverAuth",
    )  # fmt: skip
    return str(cert), str(key), str(ca)


class Pair:
    """Two units started with ``hapair serve``; every process is stopped by the factory."""

    def __init__(
        self,
        factory: HapairFactory,
        tmp_path: Path,
        *,
        heartbeat: float = 0.5,
        env: dict[str, str] | None = None,
        extra: dict[str, list[str]] | None = None,
        modes: tuple[str, str] = ("first", "second"),
        shared: tuple[str, str] | None = None,
        redis: dict[str, str] | None = None,
        tls: tuple[str, str] | None = None,
        pair_key: str | None = None,
        port: int | None = None,
    ) -> None:
        self.scheme = "https" if tls else "http"
        self.heartbeat = heartbeat  # the units' --heartbeat-interval
        self.port = port or free_port(SHARED_HOST)  # every unit listens on this port
        self.token = "adm-" + secrets.token_hex(8)
        # given when the units' ``redis`` servers were started with ``derived_password`` of it
        self.pair_key = pair_key or secrets.token_hex(16)
        self.shared_address = f"{SHARED_HOST}:{self.port}"
        hosts = {"first": FIRST_HOST, "second": SECOND_HOST}
        self.units: dict[str, Unit] = {}
        for name, mode in zip(("first", "second"), modes, strict=True):
            other = "second" if name == "first" else "first"
            args = [
                "--listen",
                f"{hosts[name]}:{self.port}",
                "--data-dir",
                str(tmp_path / name),
                "--mode",
                mode,
                "--partner",
                f"{hosts[other]}:{self.port}",
                "--shared",
                (shared[0] if name == "first" else shared[1]) if shared else self.shared_address,
                # one argument, so a key that starts with "-" (token_urlsafe makes 1 in 64) is
                # not read as a flag
                f"--pair-key={self.pair_key}",
                "--admin-token",
                self.token,
                "--heartbeat-interval",
                str(heartbeat),
                *((extra or {}).get(name, [])),
            ]
            if redis and name in redis:
                args += ["--redis", redis[name]]
            if tls:
                args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
            self.units[name] = Unit(
                factory,
                name,
                args,
                dict(env or {}),
                f"{hosts[name]}:{self.port}",
                self.scheme,
                data_dir=tmp_path / name,
                shared_address=self.shared_address,
                token=self.token,
            )
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {self.token}"}, timeout=5.0, verify=False
        )

    @property
    def first(self) -> Unit:
        return self.units["first"]

    @property
    def second(self) -> Unit:
        return self.units["second"]

    @property
    def shared_url(self) -> str:
        return f"{self.scheme}://{self.shared_address}"

    def close(self) -> None:
        self.http.close()

    def status(self, unit: Unit) -> dict[str, Any]:
        resp = self.http.get(f"{unit.url}/api/v1/ha/status")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def roles(self, unit: Unit) -> dict[str, str]:
        """Each unit's role as ``unit`` sees it."""
        return {u["name"]: u["role"] for u in self.status(unit)["units"]}

    def wait_roles(
        self, expected: dict[str, str], *, via: Unit, timeout: float = 15
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            try:
                body = self.status(via)
            except (httpx.HTTPError, AssertionError):
                return None
            got = {u["name"]: u["role"] for u in body["units"]}
            return body if all(got.get(k) == v for k, v in expected.items()) else None

        return poll(check, timeout=timeout, interval=0.1, what=f"roles {expected} via {via.name}")

    def wait_in_sync(self, *, via: Unit, timeout: float = 15) -> None:
        """Until the status says both units in sync (the standby's replication link is up:
        a write acknowledges only from then on)."""

        def check() -> bool:
            try:
                return all(u["in_sync"] for u in self.status(via)["units"])
            except (httpx.HTTPError, AssertionError):
                return False

        poll(check, timeout=timeout, interval=0.1, what=f"both in sync via {via.name}")

    def shared_unit_name(self, timeout: float = 1.0) -> str | None:
        """Which unit answers on the shared address (None if nobody does)."""
        try:
            resp = self.http.get(f"{self.shared_url}/api/v1/unit", timeout=timeout)
        except httpx.HTTPError:
            return None
        return str(resp.json()["name"]) if resp.status_code == 200 else None

    def patch(self, body: dict[str, Any], *, url: str | None = None) -> httpx.Response:
        return self.http.patch(f"{url or self.shared_url}/api/v1/ha/parameters", json=body)

    def params(self, unit: Unit) -> dict[str, Any]:
        resp = self.http.get(f"{unit.url}/api/v1/ha/parameters")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def start_both(self, *, first_active: bool = True) -> None:
        """Starts first, waits until it is active, then second (deterministic roles)."""
        a, b = (self.first, self.second) if first_active else (self.second, self.first)
        a.start()
        self.wait_roles({a.name: "active"}, via=a)
        b.start()
        self.wait_roles({a.name: "active", b.name: "standby"}, via=a)
