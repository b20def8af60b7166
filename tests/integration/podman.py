"""The podman harness for the image tests: the repository's Dockerfile built offline, containers,
networks and secrets made under this run's prefix and removed by name.

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

import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


def require_tools() -> None:
    missing = [t for t in ("podman", "buildah", "mmdebstrap") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: {HINT}")


def base_image(podman: Podman) -> None:
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


def build_wheels() -> Path:
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


def secret_args(podman: Podman, image: str, suffix: str) -> list[str]:
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
