"""Unit settings and boot history, kept per unit in the data dir (never replicated)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from hapair.domain.unit import BootRecord, Maintenance, UnitSettings
from hapair.files import write_atomic


class UnitFile(msgspec.Struct, kw_only=True):
    """What ``unit.json`` holds: the settings in force and those waiting for a reboot."""

    settings: UnitSettings = msgspec.field(default_factory=UnitSettings)
    pending: dict[str, str | None] | None = None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)  # 0600, write-and-rename (hapair/files.py)


class UnitFiles:
    """Reads and writes the per-unit files of a data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.unit_path = data_dir / "unit.json"
        self.boots_path = data_dir / "boots.json"
        self.runtime_path = data_dir / "runtime.json"
        self.maintenance_path = data_dir / "maintenance.json"

    def load_unit(self) -> UnitFile:
        """The unit file, or defaults when there is none yet."""
        if not self.unit_path.exists():
            return UnitFile()
        return msgspec.json.decode(self.unit_path.read_bytes(), type=UnitFile)

    def save_unit(self, unit: UnitFile) -> None:
        """Writes the unit file atomically."""
        _write_atomic(self.unit_path, msgspec.json.encode(unit))

    def load_boots(self) -> BootRecord:
        """The persisted boot history."""
        if not self.boots_path.exists():
            return BootRecord()
        return msgspec.json.decode(self.boots_path.read_bytes(), type=BootRecord)

    def save_boots(self, record: BootRecord) -> None:
        """Persists the boot history atomically."""
        _write_atomic(self.boots_path, msgspec.json.encode(record))

    def load_maintenance(self) -> Maintenance:
        """The unit's maintenance mode (off when never set)."""
        if not self.maintenance_path.exists():
            return Maintenance()
        return msgspec.json.decode(self.maintenance_path.read_bytes(), type=Maintenance)

    def save_maintenance(self, maintenance: Maintenance) -> None:
        """Persists the maintenance mode atomically (it survives reboots until disabled)."""
        _write_atomic(self.maintenance_path, msgspec.json.encode(maintenance))

    def save_runtime(self, info: dict[str, str | int | None]) -> None:
        """Where the running unit can be reached (its Redis URL, API address, pid)."""
        _write_atomic(self.runtime_path, msgspec.json.encode(info))

    def load_runtime(self) -> dict[str, str | int | None] | None:
        """The running unit's runtime info, if any."""
        if not self.runtime_path.exists():
            return None
        info: dict[str, str | int | None] = msgspec.json.decode(self.runtime_path.read_bytes())
        return info

    def clear_runtime(self) -> None:
        """Removes the runtime file at shutdown."""
        self.runtime_path.unlink(missing_ok=True)
