"""``hapair up``'s unit logs: bounded in size by rotation, every file 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from hapair.cli.units import RotatingLog


def test_log_rotates_past_its_bound_keeps_backups_and_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "hapair.log"
    path.write_bytes(b"old\n")
    path.chmod(0o644)  # as an older hapair up left it
    log = RotatingLog(path, max_bytes=100, backups=2)
    line = b'{"msg":"x"}' + b"." * 38 + b"\n"  # 50 bytes
    for _ in range(12):
        log.write(line)
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["hapair.log", "hapair.log.1", "hapair.log.2"]
    for p in tmp_path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert p.stat().st_size <= 100, p
    assert path.read_bytes().endswith(line)
