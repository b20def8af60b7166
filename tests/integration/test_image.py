"""The image: the repository's Dockerfile built with podman (the harness in
``tests/integration/podman.py``) and run, as an operator would; the Dockerfile linted and the
systemd unit verified."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.podman import (
    BASE_IMAGE,
    CACHE,
    PREFIX,
    ROOT,
    RUNROOT,
    TOKEN,
    Podman,
    base_image,
    build_wheels,
    require_tools,
    secret_args,
)
from tests.ports import free_port
from tests.support import poll

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    require_tools()
    CACHE.mkdir(parents=True, exist_ok=True)
    RUNROOT.mkdir(parents=True, exist_ok=True)
    tool = Podman()
    try:
        yield tool
    finally:
        tool.cleanup()


@pytest.fixture(scope="module")
def image(podman: Podman) -> Iterator[str]:
    """Builds the Dockerfile once for this module; removes the image by its name afterwards."""
    base_image(podman)
    wheels = build_wheels()
    name = f"localhost/{PREFIX}:latest"
    started = time.monotonic()
    try:
        podman(
            "build",
            "--quiet",
            "--format",
            "docker",  # HEALTHCHECK is a docker-format field; OCI drops it
            "--network",
            "none",  # offline by design: everything comes from the mounted wheels
            "--volume",
            f"{wheels}:/wheels:ro",
            "--build-arg",
            f"BASE={BASE_IMAGE}",
            "--build-arg",
            "PIP_NO_INDEX=1",
            "--build-arg",
            "PIP_FIND_LINKS=/wheels",
            "--tag",
            name,
            str(ROOT),
            timeout=600,
        )
        print(f"image {name} built in {time.monotonic() - started:.1f} s")
        yield name
    finally:
        podman.cleanup()
        podman("rmi", "--force", name, check=False)
        # build layers of earlier runs; the recent ones are the next run's cache (and a
        # concurrent run's build in progress is younger than that)
        podman("image", "prune", "--force", "--filter", "until=6h", check=False)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint not installed: pip install -e '.[dev]'"
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_container_answers_readyz_and_stops_on_sigterm_as_pid_1(podman: Podman, image: str) -> None:
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    assert info["Config"]["User"] == "10001:10001"
    assert "/var/lib/hapair" in info["Config"]["Volumes"]
    assert info["Healthcheck"]["Test"][-1] == "/opt/hapair/healthcheck.py"

    name = f"{PREFIX}-single"
    port = free_port("127.0.0.1")
    # no --init: hapair is PID 1 and must handle SIGTERM itself
    podman.run(
        name,
        "--publish",
        f"127.0.0.1:{port}:8080",
        "--env",
        f"HAPAIR_ADMIN_TOKEN={TOKEN}",
        image,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200

    try:
        poll(ready, timeout=30, interval=0.2, what="/readyz 200 through the published port")
    except AssertionError:
        print(podman.logs(name))
        raise
    unit = httpx.get(f"{url}/api/v1/unit", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unit.status_code == 200, unit.text
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    assert podman("healthcheck", "run", name, check=False).returncode == 0, podman.logs(name)

    started = time.monotonic()
    podman("stop", "--time", "20", name, timeout=60)
    took = time.monotonic() - started
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    print(f"podman stop took {took:.2f} s, exit code {state['ExitCode']}")
    assert state["ExitCode"] == 0, podman.logs(name)  # 137 would mean SIGKILL after 20 s
    assert '"event":"stop"' in podman.logs(name)


def _get(url: str, path: str) -> httpx.Response:
    return httpx.get(url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=3)


def _roles(url: str) -> dict[str, str]:
    body: dict[str, Any] = _get(url, "/api/v1/ha/status").json()
    return {u["name"]: u["role"] for u in body["units"]}


def _sees(url: str, roles: dict[str, str]) -> bool:
    return _roles(url) == roles


# Runs inside the active container: its shared address is on its own loopback (see below).
_PATCH_ON_SHARED = """
import json, os, urllib.request
request = urllib.request.Request(
    "http://127.0.0.10:8080/api/v1/ha/parameters", method="PATCH",
    data=json.dumps({"ha_timeout": 3}).encode(),
    headers={"Authorization": "Bearer " + os.environ["T"],
             "Content-Type": "application/merge-patch+json"})
with urllib.request.urlopen(request, timeout=5) as answer:
    print(json.dumps({"status": answer.status,
                      "acknowledged": answer.headers["HA-Partner-Acknowledged"],
                      "body": json.load(answer)}))
"""


def test_two_containers_on_one_network_form_a_pair_that_replicates(
    podman: Podman, image: str
) -> None:
    """first and second on one podman network, each with its embedded Redis.

    Each unit listens on its own static address of the network (the embedded Redis binds that
    address too, so the standby replicates across the network). The shared address is
    127.0.0.10:8080: without ``--shared-interface`` a unit binds the shared IP only where it
    is already local, and 127.0.0.0/8 is local in every container, so the active serves it on
    its own loopback and the write goes there through ``podman exec``. A shared IP reachable
    from the network needs the virtual IP (SPEC 5b: NET_ADMIN, NET_RAW).
    """
    network = f"{PREFIX}-net"
    subnet = podman.network(network)
    hosts = {"first": str(subnet.network_address + 11), "second": str(subnet.network_address + 12)}
    urls = {mode: f"http://{ip}:8080" for mode, ip in hosts.items()}
    names = {mode: f"{PREFIX}-{mode}" for mode in hosts}
    for mode, partner in (("first", "second"), ("second", "first")):
        podman.run(
            names[mode],
            "--init",
            "--network",
            network,
            "--ip",
            hosts[mode],
            "--env",
            f"HAPAIR_LISTEN={hosts[mode]}:8080",
            "--env",
            f"HAPAIR_MODE={mode}",
            "--env",
            f"HAPAIR_PARTNER={hosts[partner]}:8080",
            "--env",
            "HAPAIR_SHARED=127.0.0.10:8080",
            *secret_args(podman, image, mode),
            image,
        )
        if mode == "first":  # first becomes active before second starts: fixed roles
            try:
                poll(
                    lambda: _roles(urls["first"]).get("first") == "active",
                    timeout=30,
                    interval=0.2,
                    what="first active",
                )
            except AssertionError:
                print(podman.logs(names["first"]))
                raise

    paired = {"first": "active", "second": "standby"}
    try:
        for mode in ("first", "second"):
            poll(
                functools.partial(_sees, urls[mode], paired),
                timeout=40,
                interval=0.2,
                what=f"{paired} as {mode} sees it",
            )
    except AssertionError:
        for name in names.values():
            print(podman.logs(name))
        raise

    written = podman(
        "exec", "--env", f"T={TOKEN}", names["first"], "python3", "-c", _PATCH_ON_SHARED
    )
    answer = json.loads(written.stdout)
    assert answer["status"] == 200, answer
    revision = answer["body"]["revision"]
    if answer["acknowledged"] == "true":  # the standby's Redis holds it already
        standby = _get(urls["second"], "/api/v1/ha/parameters").json()
    else:
        standby = poll(
            lambda: (
                (body := _get(urls["second"], "/api/v1/ha/parameters").json())["revision"]
                == revision
                and body
            ),
            timeout=5,
            what="the write on the standby",
        )
    assert standby["ha_timeout"] == 3
    assert standby["revision"] == revision
    status: dict[str, Any] = _get(urls["second"], "/api/v1/ha/status").json()
    assert all(u["in_sync"] for u in status["units"]), status


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """deploy/hapair.service as docs/operations.md installs it, checked by systemd itself.

    The only change is ExecStart's path (``/opt/hapair/bin/hapair`` in the file, this venv's
    ``hapair`` here): verify checks that the command exists. Warnings such as an unknown key
    leave verify's exit status 0, so any output fails the test too.
    """
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    hapair = Path(sys.executable).parent / "hapair"
    assert hapair.exists(), hapair
    text = (ROOT / "deploy" / "hapair.service").read_text()
    assert "ExecStart=/opt/hapair/bin/hapair serve\n" in text
    unit = tmp_path / "hapair.service"
    unit.write_text(text.replace("ExecStart=/opt/hapair/bin/hapair", f"ExecStart={hapair}"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == "", result.stdout + result.stderr
