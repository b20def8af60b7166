"""Network harness for link and partition tests of the HA pair (root, iproute2 only).

``PairNetwork`` builds two network namespaces A and B, each joined to the root namespace by a
veth pair, with the root namespace routing between them; ``partition()`` cuts A from B while
the root namespace still reaches both. ``VethLink`` is a veth pair whose operstate a unit
can monitor (``--interface``). ``Lan`` is ``hapair up --netns``'s topology (two units and a
client on one bridge, 192.0.2.0/24) for virtual IP tests (``tests/netns_lan.py``; the ``lan``
and ``lan_pair`` fixtures of tests/integration/conftest.py). Everything is named with a random
suffix and removed on exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import random
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Literal

import pytest

from hapair.cli.lan import (
    configure_host,
    delete_namespace,
    enter_netns,
    existing_namespaces,
    ip,
)
from tests.netns_lan import Lan

__all__ = [
    "Lan",
    "PairNetwork",
    "VethLink",
    "Which",
    "needs_netns",
    "netns_available",
    "netns_executor",
]

Which = Literal["a", "b"]
_IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
_NETNS_ETC = Path("/etc/netns")
# Shared by every PairNetwork on this machine (xdist workers, other runs): the lock serialises
# picking a subnet and switching forwarding; the file keeps forwarding's value from before the
# first live PairNetwork, for the last one to restore (it survives a killed run).
_STATE = Path("/run/hapair-tests")
_FORWARD_SAVED = _STATE / "ip_forward.before"
_BOTH_WAYS: tuple[tuple[Which, Which], ...] = (("a", "b"), ("b", "a"))


@functools.cache
def netns_available() -> str | None:
    """None if network namespaces and veth pairs can be created here, else why not."""
    if os.geteuid() != 0:
        return "network namespace tests need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    suffix = secrets.token_hex(3)
    ns, veth = f"hpchk-{suffix}", f"hpc-{suffix}"
    try:
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}p", "netns", ns)
    except RuntimeError as exc:
        return f"cannot create a network namespace with a veth pair: {exc}"
    finally:
        ip("link", "del", veth, check=False)
        ip("netns", "del", ns, check=False)
    return None


def needs_netns() -> pytest.MarkDecorator:
    """The mark of a test that needs network namespaces: skipped, saying why, without them."""
    reason = netns_available()
    return pytest.mark.skipif(reason is not None, reason=str(reason))


def netns_executor(ns: str, workers: int = 1) -> ThreadPoolExecutor:
    """Threads that live in network namespace ``ns``: ``ex.submit(fn).result()`` runs ``fn``
    there (an HTTP client inside a namespace, without a process per request). Shut it down."""
    return ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix=f"netns-{ns}", initializer=enter_netns,
        initargs=(ns,),
    )  # fmt: skip


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """Held while a PairNetwork picks its subnet or switches forwarding (machine-wide)."""
    _STATE.mkdir(parents=True, exist_ok=True)
    with (_STATE / "pairnetwork.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pick_subnet() -> int:
    """A second octet n in 200..250 with no 10.n.x.x address or route in the root namespace."""
    used = ip("-4", "addr", "show").stdout + ip("-4", "route", "show", "table", "all").stdout
    free = [n for n in range(200, 251) if f"10.{n}." not in used]
    if not free:
        raise RuntimeError("no free 10.n.0.0/16 (n in 200..250) for a PairNetwork")
    return random.choice(free)


class PairNetwork:
    """Two namespaces (A, B) routed through the root namespace, plus a shared address.

    Layout for a random n in 200..250:
      root ``veth`` ends 10.n.1.1/24 (to A) and 10.n.2.1/24 (to B);
      A: 10.n.1.2/24, B: 10.n.2.2/24, default routes via the root ends;
      the shared address 10.n.3.10/32 on ``lo`` in both namespaces, and in the root namespace
      a route to it via A (``point_shared_to`` moves it).

    Each namespace gets its own ``/etc/hosts`` and ``/etc/resolv.conf`` (``ip netns exec``
    mounts ``/etc/netns/NAME/*``): the pair's addresses resolve locally and DNS fails at once,
    as reverse lookups (``http.server``'s ``getfqdn``) would otherwise wait for the host's
    resolver, which the namespaces cannot reach.
    """

    def __init__(self) -> None:
        suffix = secrets.token_hex(3)
        self.suffix = suffix
        self.ns_a = f"hpA-{suffix}"
        self.ns_b = f"hpB-{suffix}"
        self._root_if = {"a": f"hpAr-{suffix}", "b": f"hpBr-{suffix}"}
        self._ns_if = {"a": f"hpAn-{suffix}", "b": f"hpBn-{suffix}"}
        self.n = 0
        self._created_ns: list[str] = []
        self._prev_forward: str | None = None
        self._shared_route = False
        self._partitioned = False
        self._partition_kind = "prohibit"

    # addresses ---------------------------------------------------------------------------
    @property
    def addr_a(self) -> str:
        return f"10.{self.n}.1.2"

    @property
    def addr_b(self) -> str:
        return f"10.{self.n}.2.2"

    @property
    def shared_ip(self) -> str:
        return f"10.{self.n}.3.10"

    def gateway(self, which: Which) -> str:
        """The root namespace's address facing namespace ``which``."""
        return f"10.{self.n}.{self._index(which)}.1"

    def addr(self, which: Which) -> str:
        return self.addr_a if which == "a" else self.addr_b

    def ns(self, which: Which) -> str:
        return self.ns_a if which == "a" else self.ns_b

    def ns_prefix(self, which: Which) -> list[str]:
        """Prefix a command with this to run it inside namespace ``which``."""
        return ["ip", "netns", "exec", self.ns(which)]

    def root_interface(self, which: Which) -> str:
        """The root namespace's veth end facing namespace ``which``."""
        return self._root_if[which]

    def namespace_interface(self, which: Which) -> str:
        """The veth end inside namespace ``which``."""
        return self._ns_if[which]

    # lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> PairNetwork:
        try:
            self._setup()
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

    def _setup(self) -> None:
        # Under the machine-wide lock: two networks set up at once (xdist workers) would pick
        # the same free subnet, and save each other's "1" as forwarding's previous value.
        with _machine_lock():
            self.n = _pick_subnet()
            for which in ("a", "b"):
                ns, idx = self.ns(which), self._index(which)
                ip("netns", "add", ns)
                self._created_ns.append(ns)
                self._write_etc(ns)
                root_if, ns_if = self._root_if[which], self._ns_if[which]
                ip("link", "add", root_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
                ip("addr", "add", f"10.{self.n}.{idx}.1/24", "dev", root_if)
            if not _FORWARD_SAVED.exists():  # the first live PairNetwork: keep the value
                _FORWARD_SAVED.write_text(_IP_FORWARD.read_text())
            self._prev_forward = _FORWARD_SAVED.read_text().strip()
            _IP_FORWARD.write_text("1\n")
        for which in ("a", "b"):
            ns, idx = self.ns(which), self._index(which)
            root_if, ns_if = self._root_if[which], self._ns_if[which]
            ip("link", "set", root_if, "up")
            configure_host(ns, ns_if, [f"10.{self.n}.{idx}.2/24"])
            ip("-n", ns, "route", "add", "default", "via", f"10.{self.n}.{idx}.1")
            ip("-n", ns, "addr", "add", f"{self.shared_ip}/32", "dev", "lo")
        self.point_shared_to("a")

    def close(self) -> None:
        """Remove everything this network created; safe to call twice and after a failure."""
        if self._shared_route:
            ip("route", "del", f"{self.shared_ip}/32", check=False)
            self._shared_route = False
        for which in ("a", "b"):
            # Deleting the root end removes the pair even if a process still pins the namespace.
            ip("link", "del", self._root_if[which], check=False)
        for ns in self._created_ns:
            delete_namespace(ns)  # SIGKILLs, by pid, what a test left in our own namespace
            shutil.rmtree(_NETNS_ETC / ns, ignore_errors=True)
        self._created_ns.clear()
        self._restore_forwarding()

    def _write_etc(self, ns: str) -> None:
        etc = _NETNS_ETC / ns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(
            "127.0.0.1 localhost\n"
            f"{self.addr_a} {self.ns_a}\n"
            f"{self.addr_b} {self.ns_b}\n"
            f"{self.shared_ip} hapair-shared-{self.suffix}\n"
        )
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def _restore_forwarding(self) -> None:
        if self._prev_forward is None:
            return
        with _machine_lock():
            others = [ns for ns in existing_namespaces() if ns.startswith("hpA-")]
            # Another PairNetwork still needs forwarding: leave it on; the last one restores
            # the value saved by the first.
            if not others:
                _IP_FORWARD.write_text(self._prev_forward + "\n")
                _FORWARD_SAVED.unlink(missing_ok=True)
        self._prev_forward = None

    # topology changes --------------------------------------------------------------------
    def point_shared_to(self, which: Which) -> None:
        """Route the root namespace's traffic for the shared address to namespace ``which``."""
        ip("route", "replace", f"{self.shared_ip}/32", "via", self.addr(which))
        self._shared_route = True

    def partition(self, kind: Literal["prohibit", "blackhole"] = "prohibit") -> None:
        """Cut traffic between A and B; the root namespace still reaches both.

        ``prohibit`` fails connections at once (ICMP unreachable, ``EACCES``); ``blackhole``
        drops packets silently, so connections time out as over a dead link.
        """
        if self._partitioned:
            self.heal()
        for which, other in _BOTH_WAYS:
            ip("-n", self.ns(which), "route", "replace", kind, f"{self.addr(other)}/32")
        self._partitioned = True
        self._partition_kind = kind

    def heal(self) -> None:
        """Undo ``partition()``."""
        for which, other in _BOTH_WAYS:
            ip(
                "-n", self.ns(which), "route", "del", self._partition_kind,
                f"{self.addr(other)}/32", check=False,
            )  # fmt: skip
        self._partitioned = False

    def set_link(self, which: Which, up: bool) -> None:
        """Take namespace ``which``'s veth down or up (cuts it from root and the partner)."""
        ip("link", "set", self._root_if[which], "up" if up else "down")

    @staticmethod
    def _index(which: Which) -> int:
        return 1 if which == "a" else 2


class VethLink:
    """A veth pair in the root namespace whose ``monitored`` end can be taken down and up."""

    def __init__(self) -> None:
        suffix = secrets.token_hex(3)
        self.monitored = f"hpl-{suffix}"
        self.peer = f"hpr-{suffix}"
        self._created = False

    def __enter__(self) -> VethLink:
        try:
            ip("link", "add", self.monitored, "type", "veth", "peer", "name", self.peer)
            self._created = True
            ip("link", "set", self.monitored, "up")
            ip("link", "set", self.peer, "up")
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

    def close(self) -> None:
        if self._created:
            ip("link", "del", self.monitored, check=False)
            self._created = False

    def set_down(self) -> None:
        ip("link", "set", self.monitored, "down")

    def set_up(self) -> None:
        ip("link", "set", self.monitored, "up")

    def operstate(self) -> str:
        """``/sys/class/net/<monitored>/operstate``: ``up``, ``down``, ``lowerlayerdown``..."""
        return Path(f"/sys/class/net/{self.monitored}/operstate").read_text().strip()
