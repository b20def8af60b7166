"""The image: the repository's Dockerfile built with podman and run, as an operator would.

No registry is reachable here, so the build follows ``../shared/notes/containers.md``: a local
base image made by mmdebstrap (Debian bookworm's python3), the dependencies as wheels built on
the host and mounted into the build (``PIP_NO_INDEX``/``PIP_FIND_LINKS``); the Dockerfile
itself is the one everybody else builds from ``python:3.12-slim``. The base tarball, the
wheels and podman's storage are cached in ``$HAPAIR_PODMAN_CACHE`` (``/var/tmp/hapair-podman``)
so a warm run only rebuilds the layers whose sources changed.

Everything a test creates (image, containers, network, secrets) carries this run's unique
prefix and is removed by that name, failures included; other containers are never touched.
``.ci/container-deps.sh`` installs podman, buildah, runc and mmdebstrap and this VM's
containers.conf.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hapair.store.embedded import free_port
from tests.support import poll

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HAPAIR_PODMAN_CACHE", "/var/tmp/hapair-podman"))
# podman's run state belongs on a tmpfs (it must not survive a reboot); storage is the cache
RUNROOT = Path("/run/hapair-podman")
BASE_IMAGE = "localhost/hapair-base"
PREFIX = f"hapair-test-{uuid.uuid4().hex[:10]}"
TOKEN = "image-admin-0123456789abcdefABCDEF"
PAIR_KEY = "image-pair-key-0123456789abcdef"
HINT = "run .ci/container-deps.sh as root (podman, buildah, runc, mmdebstrap, containers.conf)"
# Debian bookworm's python3 is 3.11.2: redis needs async-timeout below 3.11.3, which a host
# python at 3.11.3 or later does not resolve; name it so the offline install finds it.
EXTRA_WHEELS = ["setuptools>=68", "wheel", "async-timeout>=4.0.3"]

pytestmark = pytest.mark.timeout(600)


@dataclass
class Podman:
    """The podman CLI on this test's own storage; remembers what it made, to remove it."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def __call__(
        self, *args: str, timeout: float = 120, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = ["podman", "--root", str(CACHE / "storage"), "--runroot", str(RUNROOT), *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, input=stdin
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def run(self, name: str, *args: str) -> None:
        """``podman run -d --name NAME ARGS``; the container is removed at teardown."""
        self.containers.append(name)
        self("run", "-d", "--name", name, *args)

    def network(self, name: str) -> ipaddress.IPv4Network:
        """Creates a network (podman picks a free subnet) and returns its subnet."""
        self.networks.append(name)
        self("network", "create", name)
        info = json.loads(self("network", "inspect", name).stdout)[0]
        return ipaddress.IPv4Network(info["subnets"][0]["subnet"])

    def secret(self, name: str, value: str) -> None:
        self.secrets.append(name)
        self("secret", "create", name, "-", stdin=value)

    def logs(self, name: str) -> str:
        result = self("logs", name, check=False)
        return result.stdout[-4000:] + result.stderr[-4000:]

    def cleanup(self) -> None:
        for name in reversed(self.containers):
            self("rm", "--force", "--time", "0", "--ignore", name, check=False)
        for name in self.secrets:
            self("secret", "rm", name, check=False)
        for name in self.networks:
            self("network", "rm", "--force", name, check=False)
        self.containers.clear()
        self.secrets.clear()
        self.networks.clear()


def _require_tools() -> None:
    missing = [t for t in ("podman", "buildah", "mmdebstrap") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: {HINT}")


def _base_image(podman: Podman) -> None:
    """The local base image: Debian bookworm minbase with python3, cached as a tarball."""
    tarball = CACHE / "base.tar"
    if not tarball.exists():
        sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
        sources_arg = [str(s) for s in sources] or ["http://deb.debian.org/debian"]
        partial = CACHE / "base.partial.tar"
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--include=ca-certificates,python3,python3-venv",
                "bookworm",
                str(partial),
                *sources_arg,
            ],
            check=True,
            timeout=600,
        )
        partial.rename(tarball)
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        podman("import", "--quiet", "--change", 'CMD ["/bin/bash"]', str(tarball), BASE_IMAGE)


def _wheels() -> Path:
    """hapair's dependencies (the SDK among them) as wheels, rebuilt only when a pyproject.toml
    changes."""
    wheels = CACHE / "wheels"
    stamp = CACHE / "wheels.stamp"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "sdk" / "pyproject.toml").read_bytes()
    ).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        shutil.rmtree(wheels, ignore_errors=True)
        result = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"),
                *("--wheel-dir", str(wheels), str(ROOT), str(ROOT / "sdk"), *EXTRA_WHEELS),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        stamp.write_text(digest)
    return wheels


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    _require_tools()
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
    _base_image(podman)
    wheels = _wheels()
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


def _secret_args(podman: Podman, image: str, suffix: str) -> list[str]:
    """Secrets as files when this image's ``hapair serve`` takes them, else as variables."""
    help_text = podman("run", "--rm", "--entrypoint", "hapair", image, "serve", "--help").stdout
    if "--admin-token-file" not in help_text or "--pair-key-file" not in help_text:
        print("this hapair has no --admin-token-file/--pair-key-file: secrets as variables")
        return ["-e", f"HAPAIR_ADMIN_TOKEN={TOKEN}", "-e", f"HAPAIR_PAIR_KEY={PAIR_KEY}"]
    args: list[str] = []
    for secret, value, variable in (
        ("admin-token", TOKEN, "HAPAIR_ADMIN_TOKEN_FILE"),
        ("pair-key", PAIR_KEY, "HAPAIR_PAIR_KEY_FILE"),
    ):
        name = f"{PREFIX}-{suffix}-{secret}"
        podman.secret(name, value)
        args += ["--secret", f"{name},uid=10001,mode=0400", "-e", f"{variable}=/run/secrets/{name}"]
    return args


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
            *_secret_args(podman, image, mode),
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
