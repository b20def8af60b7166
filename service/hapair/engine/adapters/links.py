"""The monitored links, read from sysfs."""

from __future__ import annotations

from pathlib import Path


def link_is_up(name: str, sys_class_net: Path = Path("/sys/class/net")) -> bool:
    """Whether an interface's operstate is up (``unknown`` counts as up: loopback, tun)."""
    try:
        state = (sys_class_net / name / "operstate").read_text().strip()
    except OSError:
        return False
    return state in ("up", "unknown")


class SysfsLinks:
    """The interfaces of ``--interface`` whose operstate is not up."""

    def __init__(self, sys_class_net: Path = Path("/sys/class/net")) -> None:
        self.root = sys_class_net

    def down(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in names if not link_is_up(n, self.root))
