"""The network of ``hapair up --netns``: two hosts and a client on one bridge, in namespaces.

The topology (``../shared/notes/netns-hosts.md``): a namespace ``<prefix>-lan`` holding one
bridge ``br0``, and namespaces ``<prefix>-first``, ``-second`` and ``-client``, each with an
``eth0`` whose veth peer is a port of the bridge. Addresses: first 192.0.2.11, second .12,
client .100 (/24), and 2001:db8::11, ::12, ::100 (/64); the shared address 192.0.2.10 is a
virtual IP the active unit adds to its ``eth0`` (``--shared-interface eth0``).

With ``sync`` a second bridge ``br1`` in the lan namespace is the units' sync link (the update
link, SPEC 5b'): each unit's host has a ``sync0`` on it, first 198.51.100.11, second .12 (/24),
fd51::11, ::12 (/64); the client has none.

Every link lives inside the namespaces (the veths are created in the lan namespace with the
peer straight in the host's), so deleting the namespaces removes everything, and nothing
touches the root namespace. :class:`LanTopology` is also what the tests (``tests/netns.py``)
and ``bench/failover.py`` build, under a unique prefix; they share ``ip``,
:func:`configure_host` and :func:`delete_namespace` for their own namespaces.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from types import TracebackType

HOSTS = ("first", "second", "client")
IPV4 = {"first": "192.0.2.11", "second": "192.0.2.12", "client": "192.0.2.100"}
IPV6 = {"first": "2001:db8::11", "second": "2001:db8::12", "client": "2001:db8::100"}
SHARED_IP = "192.0.2.10"
SHARED_IP6 = "2001:db8::10"
PREFIX4 = 24
PREFIX6 = 64
INTERFACE = "eth0"
SYNC_INTERFACE = "sync0"
SYNC_IPV4 = {"first": "198.51.100.11", "second": "198.51.100.12"}
SYNC_IPV6 = {"first": "fd51::11", "second": "fd51::12"}
_CLONE_NEWNET = 0x40000000


class TopologyError(RuntimeError):
    """An ``ip`` command of the topology failed."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise :class:`TopologyError` with its stderr when it fails."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise TopologyError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def existing_namespaces() -> set[str]:
    """The names ``ip netns list`` shows."""
    out = ip("netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


class LanTopology:
    """Namespaces ``<prefix>-lan`` (bridge), ``-first``, ``-second``, ``-client`` on one LAN.

    ``build()`` refuses to touch a namespace that already exists; ``close()`` removes, by name,
    the namespaces it created (SIGKILLing, by pid, anything still running inside them) and is
    safe to call twice and after a failed build.
    """

    def __init__(self, prefix: str, *, sync: bool = False) -> None:
        self.prefix = prefix
        self.sync = sync  # a second bridge, the units' sync link
        self.lan = f"{prefix}-lan"
        self.created: list[str] = []

    def ns(self, host: str) -> str:
        """The namespace of ``host`` (first, second, client, lan)."""
        return f"{self.prefix}-{host}"

    @property
    def names(self) -> list[str]:
        """Every namespace of this topology."""
        return [self.lan, *(self.ns(h) for h in HOSTS)]

    def exec_prefix(self, host: str) -> list[str]:
        """Prefix a command with this to run it inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.ns(host)]

    def __enter__(self) -> LanTopology:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def build(self) -> None:
        """Create the namespaces, the bridge, the veths and the addresses."""
        taken = existing_namespaces() & set(self.names)
        if taken:
            raise TopologyError(
                f"network namespace(s) {', '.join(sorted(taken))} already exist; remove them "
                f"(ip netns del NAME) if they are left over from an earlier run"
            )
        self._add_ns(self.lan)
        ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
        ip("-n", self.lan, "link", "set", "br0", "up")
        for host in HOSTS:
            self.add_host(host, IPV4[host], IPV6[host])
        if self.sync:
            self._build_sync()

    def add_host(self, host: str, ipv4: str, ipv6: str) -> None:
        """A host on the bridge: namespace ``<prefix>-<host>`` with ``eth0`` holding ``ipv4``/24
        and ``ipv6``/64 (``build`` adds first, second and client; tests add more: another
        pair, a keepalived); removed by ``close()``."""
        ns = self.ns(host)
        self._add_ns(ns)
        port = f"v-{host}"
        ip("-n", self.lan, "link", "add", port, "type", "veth", "peer", "name", INTERFACE,
           "netns", ns)  # fmt: skip
        ip("-n", self.lan, "link", "set", port, "master", "br0", "up")
        # nodad: usable at once instead of after duplicate address detection (~1 s)
        configure_host(ns, INTERFACE, [f"{ipv4}/{PREFIX4}"], [f"{ipv6}/{PREFIX6}", "nodad"])

    def _build_sync(self) -> None:
        """The sync link: bridge ``br1``, a ``sync0`` on each unit's host."""
        ip("-n", self.lan, "link", "add", "br1", "type", "bridge")
        ip("-n", self.lan, "link", "set", "br1", "up")
        for host, v4 in SYNC_IPV4.items():
            ns, port = self.ns(host), f"s-{host}"
            ip("-n", self.lan, "link", "add", port, "type", "veth", "peer", "name",
               SYNC_INTERFACE, "netns", ns)  # fmt: skip
            ip("-n", self.lan, "link", "set", port, "master", "br1", "up")
            configure_host(
                ns, SYNC_INTERFACE, [f"{v4}/{PREFIX4}"], [f"{SYNC_IPV6[host]}/{PREFIX6}", "nodad"]
            )

    def set_sync_port(self, host: str, up: bool) -> None:
        """Take ``host``'s port on the sync bridge down (the sync link is cut) or up again."""
        ip("-n", self.lan, "link", "set", f"s-{host}", "up" if up else "down")

    def close(self) -> None:
        """Remove every namespace this topology created (and so every link in them)."""
        for ns in reversed(self.created):
            delete_namespace(ns)
        self.created.clear()

    def _add_ns(self, ns: str) -> None:
        ip("netns", "add", ns)
        self.created.append(ns)


def configure_host(ns: str, interface: str, *addresses: list[str]) -> None:
    """Bring up ``lo`` in namespace ``ns``, add ``addresses`` to ``interface`` (each
    ``[CIDR, *options]``, e.g. ``["2001:db8::11/64", "nodad"]``), then bring it up."""
    ip("-n", ns, "link", "set", "lo", "up")
    for cidr, *options in addresses:
        ip("-n", ns, "addr", "add", cidr, "dev", interface, *options)
    ip("-n", ns, "link", "set", interface, "up")


def delete_namespace(ns: str) -> None:
    """Delete namespace ``ns`` (one this program created), first SIGKILLing what runs in it."""
    kill_namespace_processes(ns)
    ip("netns", "del", ns, check=False)


def kill_namespace_processes(ns: str) -> None:
    """SIGKILL, by pid, what still runs inside namespace ``ns`` (one this program created)."""
    for pid in ip("netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def enter_netns(ns: str) -> None:
    """Move the calling thread (only it: ``setns(2)`` is per thread) into network namespace ``ns``.

    Sockets the thread creates afterwards live in ``ns`` for good, wherever they are used: an
    HTTP client inside a namespace without a process per request (tests, ``bench/failover.py``).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
    finally:
        os.close(fd)


def fetch_from(topology: LanTopology, host: str, url: str, token: str | None = None) -> int:
    """The HTTP status of ``GET url`` made inside ``host``'s namespace; 0 when unreachable."""
    code = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1])\n"
        "if sys.argv[2]: req.add_header('Authorization', 'Bearer ' + sys.argv[2])\n"
        "try: print(urllib.request.urlopen(req, timeout=1).status)\n"
        "except urllib.error.HTTPError as e: print(e.code)\n"
        "except OSError: print(0)\n"
    )
    result = subprocess.run(
        [*topology.exec_prefix(host), sys.executable, "-c", code, url, token or ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    try:
        return int(result.stdout.strip() or 0)
    except ValueError:
        return 0
