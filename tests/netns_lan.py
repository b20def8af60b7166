"""``Lan``: ``hapair up --netns``'s topology (``hapair.cli.lan``) under a unique prefix, with
what the virtual IP tests read and change in it. Importable from ``tests.netns`` too."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

from hapair.cli.lan import INTERFACE, LanTopology, delete_namespace, existing_namespaces, ip
from tests.support import poll

_LAN_NAMESPACE = re.compile(r"hpt-(\d+)-[0-9a-f]{4}-[a-z0-9-]+")  # any host, added ones too


def remove_orphaned_lans() -> list[str]:
    """Delete the namespaces of every ``Lan`` whose creating process is gone, and return them.

    A Lan's names hold its creator's pid; a test process killed before its cleanup ran (an
    xdist worker that crashed, a run stopped with SIGKILL) leaves them. Called when a test
    session starts; the namespaces of a live process are never touched.
    """
    removed = []
    for ns in sorted(existing_namespaces()):
        match = _LAN_NAMESPACE.fullmatch(ns)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            delete_namespace(ns)
            removed.append(ns)
    return removed


class Lan(LanTopology):
    """``hapair up --netns``'s topology under a unique prefix (``hpt-<pid>-<hex>``).

    Namespaces ``<prefix>-lan`` (bridge ``br0``), ``-first``, ``-second``, ``-client``, each
    host with ``eth0`` on the bridge: 192.0.2.11/.12/.100 and 2001:db8::11/::12/::100. No link
    or address is made in the root namespace; ``sync``: a second bridge, the units' sync link
    (``sync0``: 198.51.100.11/.12, ``set_sync_port``); ``close()`` deletes the namespaces by name.
    """

    def __init__(self, *, sync: bool = False) -> None:
        super().__init__(f"hpt-{os.getpid()}-{secrets.token_hex(2)}", sync=sync)

    def __enter__(self) -> Lan:
        super().__enter__()
        return self

    def link_local(self, host: str) -> str:
        """``host``'s link-local IPv6 address on ``eth0``, once duplicate address detection is
        done (the source of its IPv6 adverts and VRRP)."""

        def done() -> str | None:
            out = ip("-n", self.ns(host), "-6", "-o", "addr", "show", "dev", INTERFACE, "scope",
                     "link").stdout  # fmt: skip
            words = out.split()
            if "inet6" not in words or "tentative" in words:
                return None
            return words[words.index("inet6") + 1].split("/")[0]

        found: str = poll(done, timeout=10, what=f"{host}'s link-local address")
        return found

    def run(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``args`` inside ``host``'s namespace (output captured as text)."""
        result = subprocess.run(
            [*self.exec_prefix(host), *args], capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{args} in {host} exited {result.returncode}: {result.stderr}")
        return result

    def mac(self, host: str, interface: str = INTERFACE) -> str:
        """The MAC of ``interface`` in ``host``'s namespace."""
        return self.run(host, "cat", f"/sys/class/net/{interface}/address").stdout.strip()

    def neighbour(self, host: str, address: str) -> str | None:
        """The MAC ``host``'s neighbour table holds for ``address`` (None: no entry or failed)."""
        out = ip("-n", self.ns(host), "neigh", "show", address, "dev", INTERFACE).stdout
        words = out.split()
        return words[words.index("lladdr") + 1].lower() if "lladdr" in words else None

    def set_neighbour(self, host: str, address: str, mac: str) -> None:
        """Give ``host`` a stale neighbour entry ``address -> mac`` (as after earlier traffic)."""
        ip("-n", self.ns(host), "neigh", "replace", address, "lladdr", mac, "dev", INTERFACE,
            "nud", "stale")  # fmt: skip

    def addresses(self, host: str) -> str:
        """``ip -n NS addr`` of ``host``'s namespace."""
        return ip("-n", self.ns(host), "addr").stdout

    def set_port(self, host: str, up: bool) -> None:
        """Take ``host``'s bridge port down (cuts it from every other host) or up again."""
        ip("-n", self.lan, "link", "set", f"v-{host}", "up" if up else "down")

    def holders(self, address: str, hosts: tuple[str, ...] = ("first", "second")) -> list[str]:
        """The hosts whose namespace holds ``address`` (on ``eth0`` or the macvlan)."""
        held = []
        for host in hosts:
            out = ip("-n", self.ns(host), "-o", "addr", "show").stdout
            if any(f" {address}/" in line for line in out.splitlines()):
                held.append(host)
        return held
