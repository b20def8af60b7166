"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import OUTSIDE


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the data dir, 0640, with known content: what a planted symlink targets
    (``tests.support.untouched`` checks it afterwards)."""
    path = tmp_path / "outside"
    path.write_bytes(OUTSIDE)
    path.chmod(0o640)
    return path
