"""Other builds of hapair run beside HEAD with ``PYTHONPATH`` pointing at them: "N+1"
(protocol and minor version one up), "N+2", ... made from a copy of this tree, and the previous
release, taken from the clone's git history (``git archive`` of its tag)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import hapair
from hapair.domain.version import PROTOCOL, VERSION

SERVICE = Path(hapair.__file__).resolve().parents[1]  # the tree the tests run: service/


@dataclass(frozen=True)
class Build:
    """A copy of ``service/`` with another version and protocol."""

    root: Path  # its service/ directory
    version: str
    protocol: int

    def env(self) -> dict[str, str]:
        """The environment that runs ``python -m hapair`` from this build."""
        rest = os.environ.get("PYTHONPATH", "")
        return {"PYTHONPATH": os.pathsep.join(p for p in (str(self.root), rest) if p)}


def bumped(version: str, minors: int) -> str:
    """``version`` with its minor raised by ``minors`` (and its patch reset)."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return f"{major}.{minor + minors}.0"


def newer_build(directory: Path, steps: int) -> Build:
    """HEAD's ``service/`` copied into ``directory`` with ``PROTOCOL + steps`` and the minor
    version ``+ steps``: the build "N+steps"."""
    root = directory / f"n-plus-{steps}" / "service"
    shutil.copytree(SERVICE, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    version, protocol = bumped(VERSION, steps), PROTOCOL + steps
    init = root / "hapair" / "__init__.py"
    text, n = re.subn(r'__version__ = "[^"]*"', f'__version__ = "{version}"', init.read_text())
    assert n == 1, "no __version__ line in hapair/__init__.py"
    init.write_text(text)
    source = root / "hapair" / "domain" / "version.py"
    text, n = re.subn(
        r"^PROTOCOL: Final\[int\] = \d+$", f"PROTOCOL: Final[int] = {protocol}",
        source.read_text(), flags=re.MULTILINE,
    )  # fmt: skip
    assert n == 1, "no PROTOCOL line in hapair/domain/version.py"
    source.write_text(text)
    return Build(root=root, version=version, protocol=protocol)


# The last commit that was 0.1.0 with its unit-to-unit MAC (protocol 3): the next one, the
# safety work, changed the MAC (CHANGELOG.md 0.2.0).
LAST_0_1_0 = "a8220a1b7b0c892c34048e9a995667dc33a81983"


def head() -> Build:
    """The tree the tests run."""
    return Build(root=SERVICE, version=VERSION, protocol=PROTOCOL)


def _git(*args: str) -> str | None:
    """``git ARGS`` in the clone the tests run from; None outside a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(SERVICE.parent), *args],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def changelog_protocol(text: str) -> int | None:
    """The protocol of a CHANGELOG.md's newest entry (``## VERSION (protocol N)``)."""
    found = re.search(r"^## \S+ \(protocol (\d+)\)$", text, re.MULTILINE)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Release:
    """A release tagged in the clone's history (``vX.Y.Z``) and the protocol it speaks."""

    tag: str
    version: str
    protocol: int


def previous_release() -> Release | None:
    """The newest release tagged in the clone before this tree's version that pairs with it
    (protocols at most 1 apart, as its CHANGELOG.md says), or None (no such tag: a release
    two protocols apart, like 0.1.0 -> 0.2.0, is upgraded in one window, not rolled)."""
    tags = _git("tag", "--list", "v[0-9]*")
    for tag in sorted((tags or "").split(), key=lambda t: _version_key(t[1:]), reverse=True):
        version = tag[1:]
        if _version_key(version) >= _version_key(VERSION):
            continue
        changelog = _git("show", f"{tag}:CHANGELOG.md")
        protocol = changelog_protocol(changelog) if changelog else None
        if protocol is not None and abs(protocol - PROTOCOL) <= 1:
            return Release(tag=tag, version=version, protocol=protocol)
        return None  # the newest earlier release does not pair: nothing older will
    return None


def release_build(directory: Path, release: Release) -> Build:
    """``service/`` of ``release`` from the clone's git history, in ``directory``."""
    return commit_build(directory, release.tag, release.version, release.protocol)


def commit_build(directory: Path, ref: str, version: str, protocol: int) -> Build:
    """``service/`` as of ``ref`` (a tag or commit of the clone's history), in ``directory``."""
    root = directory / ref.replace("/", "-")
    root.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(SERVICE.parent), "archive", ref, "service"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return Build(root=root / "service", version=version, protocol=protocol)
