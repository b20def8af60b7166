"""TLS on two hosts with the bundled Valkey (SPEC 6 "TLS, v3"; issue 16 point 4): the two units
in two network namespaces, each with a non-loopback direct address, ``--tls-cert/--tls-key``.
The Valkey has no TLS, so replication goes through hapair's tunnel: the Redis listens on
loopback only and the tunnel's exit takes the direct address at the Redis's port number (before,
the Redis bound that address too and the unit did not start: address already in use)."""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
from pathlib import Path

import httpx
import pytest

from hapair.urls import host_port
from tests.integration.pairs import pair_certificate
from tests.netns import PairNetwork, Which, netns_available
from tests.support import HapairFactory, NsHapairProcess, poll

pytestmark = pytest.mark.skipif(
    netns_available() is not None or shutil.which("openssl") is None,
    reason=f"{netns_available()} / needs openssl",
)
PORT = 8443


def test_tls_pair_on_two_hosts_replicates_through_the_tunnel(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    token, key = "adm-" + secrets.token_hex(6), secrets.token_hex(8)
    with PairNetwork() as net:
        cert, tls_key, ca = pair_certificate(tmp_path, (net.shared_ip, net.addr_a, net.addr_b))
        url = {"first": f"https://{net.addr_a}:{PORT}", "second": f"https://{net.addr_b}:{PORT}"}

        def unit(which: Which) -> NsHapairProcess:
            name, other = ("first", "b") if which == "a" else ("second", "a")
            proc = NsHapairProcess(
                net.ns_prefix(which),
                [
                    "--listen", f"{net.addr(which)}:{PORT}", "--data-dir", str(tmp_path / name),
                    "--mode", name, "--partner", f"{net.addr(other)}:{PORT}",
                    "--shared", f"{net.shared_ip}:{PORT}", "--pair-key", key,
                    "--admin-token", token, "--heartbeat-interval", "0.5",
                    "--tls-cert", cert, "--tls-key", tls_key, "--tls-ca", ca,
                ],
                log_path=tmp_path / f"{name}.log",
            )  # fmt: skip
            hapair_factory.processes.append(proc)  # stopped by pid at teardown
            return proc

        verified = ssl.create_default_context(cafile=ca)  # every call checks the pair's cert
        with httpx.Client(
            verify=verified, headers={"Authorization": f"Bearer {token}"}, timeout=3
        ) as http:

            def role(name: str) -> str | None:
                try:
                    units = http.get(f"{url[name]}/api/v1/ha/status").json()["units"]
                    return str(next(u["role"] for u in units if u["name"] == name))
                except (httpx.HTTPError, KeyError, StopIteration):
                    return None

            unit("a").start().wait_ready(url["first"], timeout=60, verify=False)
            poll(lambda: role("first") == "active", timeout=30, what="first active")
            unit("b").start().wait_ready(url["second"], timeout=60, verify=False)
            poll(lambda: role("second") == "standby", timeout=30, what="second standby")
            # a write on the shared address (the root namespace routes it to first) reaches
            # the standby's Redis: the partner acknowledges it
            shared = f"https://{net.shared_ip}:{PORT}"
            poll(
                lambda: http.patch(
                    f"{shared}/api/v1/ha/parameters", json={"initial_wait_time": 9}
                ).headers.get("HA-Partner-Acknowledged") == "true",
                timeout=30,
                what="a write the standby acknowledged",
            )  # fmt: skip
            got = http.get(f"{url['second']}/api/v1/ha/parameters").json()
            assert got["initial_wait_time"] == 9
    for name in ("first", "second"):
        data = tmp_path / name
        conf = (data / "redis" / "redis.conf").read_text()
        binds = [line for line in conf.splitlines() if line.startswith("bind ")]
        assert binds == ["bind 127.0.0.1"], binds  # the Redis on loopback only
        redis_url = json.loads((data / "runtime.json").read_text())["redis_url"]
        assert host_port(redis_url)[0] == "127.0.0.1", redis_url
        log = (tmp_path / f"{name}.log").read_text()
        assert "redis-tls-tunnel" in log  # replication through hapair's tunnel
