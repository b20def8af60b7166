"""Other builds of hapair made in a test from a copy of this tree: "N+1" (protocol and minor
version one up), "N+2", ... run beside HEAD with ``PYTHONPATH`` pointing at the copy."""

from __future__ import annotations

import os
import re
import shutil
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
