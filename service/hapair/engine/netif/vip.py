"""The shared address as a virtual IP that moves between two hosts (SPEC section 5b).

:class:`VirtualIP` adds and removes ``IP/N`` on an interface by netlink
(``engine/netif/rtnetlink.py``, no ``ip`` subprocess), optionally on a macvlan carrying the VRRP
virtual MAC, and announces the address to the segment so neighbours drop the previous owner's
MAC at once:

- IPv4: gratuitous ARP requests from a raw ``AF_PACKET`` socket bound to the interface;
- IPv6: unsolicited neighbour advertisements to ff02::1 from a raw ``ICMPv6`` socket with hop
  limit 255; IPv6 virtual addresses are added with ``IFA_F_NODAD`` (as keepalived does) so
  they are usable, and can be the NA's source, at once.

The frames themselves are built in ``engine/netif/frames.py``.

A receiver only *updates* an existing neighbour entry from these (Linux ignores them for
addresses it has no entry for unless ``arp_accept``/``accept_untracked_na`` say otherwise),
which is exactly the failover case: clients that talked to the old owner follow the address.

With ``virtual_mac`` the address lives on a macvlan ``hapair-vmac`` on the interface whose
MAC is the VRRP virtual MAC (:func:`vrrp_mac`); the parent interface is told, as keepalived
tells it (``arp_ignore=1``, ``arp_filter=1``), to answer ARP only for its own addresses, or it
would also answer for the virtual IP with its own MAC. The sysctls are written under
``/proc/sys`` of the calling process's network namespace and restored by :meth:`remove` when
this object set them.

All calls block briefly (netlink round trips; ``announce`` sleeps ``interval`` between
packets) and need CAP_NET_ADMIN and CAP_NET_RAW: :func:`check_capabilities`.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hapair.engine.netif.frames import ETH_P_ARP, gratuitous_arp, unsolicited_na, vrrp_mac
from hapair.engine.netif.rtnetlink import Netlink, NetlinkError

__all__ = [
    "VipError",
    "VirtualIP",
    "check_capabilities",
    "effective_capabilities",
    "gratuitous_arp",
    "unsolicited_na",
    "vrrp_mac",
]

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
VMAC_INTERFACE = "hapair-vmac"
IFA_F_NODAD = 0x02
PERMANENT = 0xFFFFFFFF  # the lifetime the kernel reports for an address without a lease
RENEW_TIMEOUT_S = 0.2  # the most a renew's round trip may hold the event loop

_ALL_NODES = "ff02::1"
_PROC_SYS_CONF = Path("/proc/sys/net/ipv4/conf")
# keepalived's set_interface_parameters: the parent answers ARP only for its own addresses,
# the macvlan answers for the virtual IP and accepts it as a source.
_PARENT_SYSCTLS = {"arp_ignore": "1", "arp_filter": "1"}
_VMAC_SYSCTLS = {"arp_ignore": "1", "accept_local": "1", "rp_filter": "0"}


class VipError(Exception):
    """The virtual IP cannot be managed (missing capability, interface, netlink failure)."""


def effective_capabilities(status: Path = Path("/proc/self/status")) -> int:
    """The calling process's effective capability bits (``CapEff`` of ``/proc/self/status``)."""
    for line in status.read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise VipError(f"no CapEff line in {status}")


def check_capabilities() -> None:
    """Raise :class:`VipError` unless this process holds CAP_NET_ADMIN and CAP_NET_RAW."""
    caps = effective_capabilities()
    missing = [
        name
        for name, bit in (("CAP_NET_ADMIN", CAP_NET_ADMIN), ("CAP_NET_RAW", CAP_NET_RAW))
        if not caps & (1 << bit)
    ]
    if missing:
        raise VipError(
            f"moving the shared address needs {' and '.join(missing)} (run as root, or grant "
            "them: setcap/systemd AmbientCapabilities/podman --cap-add NET_ADMIN,NET_RAW)"
        )


class VirtualIP:
    """One virtual IP on one interface of this host (this network namespace).

    Args:
        ip: the address, IPv4 or IPv6 (no prefix).
        interface: the interface it lives on (the macvlan's parent with ``virtual_mac``).
        prefix: the prefix length; None means a host address (32 or 128).
        virtual_mac: put the address on macvlan ``hapair-vmac`` with this MAC (see
            :func:`vrrp_mac`) so the MAC moves with the address.
    """

    def __init__(
        self, ip: str, interface: str, prefix: int | None, *, virtual_mac: str | None = None
    ) -> None:
        try:
            self.address = ipaddress.ip_address(ip)
        except ValueError:
            raise VipError(f"{ip!r} is not an IP address") from None
        self.ipv6 = self.address.version == 6
        full = 128 if self.ipv6 else 32
        self.prefix = full if prefix is None else prefix
        if not 1 <= self.prefix <= full:
            raise VipError(f"prefix /{self.prefix} is not valid for {self.address}")
        self.interface = interface
        self.virtual_mac = virtual_mac.lower() if virtual_mac else None
        self._saved_sysctls: dict[tuple[str, str], str] = {}
        self._renew_index: int | None = None  # the carrier's index when last renewed
        self._renew_socket: Netlink | None = None  # kept from one renew to the next

    def __repr__(self) -> str:
        vmac = f" on {VMAC_INTERFACE} ({self.virtual_mac})" if self.virtual_mac else ""
        return f"VirtualIP({self.address}/{self.prefix} dev {self.interface}{vmac})"

    @property
    def carrier(self) -> str:
        """The interface that holds the address: the macvlan with a virtual MAC, else ours."""
        return VMAC_INTERFACE if self.virtual_mac else self.interface

    def check_capabilities(self) -> None:
        """Raise :class:`VipError` unless this process holds CAP_NET_ADMIN and CAP_NET_RAW."""
        check_capabilities()

    # ---- netlink ---------------------------------------------------------------------------

    def add(self, lifetime: int | None = None) -> None:
        """Put the address on its interface (creating the macvlan first); idempotent.

        With ``lifetime`` (seconds) the address is a lease (SPEC 5b): its valid and preferred
        lifetimes are set to it (also when it was already there), and the kernel removes it by
        itself once that has run out without a :meth:`renew`. None: a permanent address.
        """
        with _netlink() as ipr:
            parent = _index(ipr, self.interface)
            if self.virtual_mac:
                index = self._ensure_vmac(ipr, parent)
                self._set_sysctls(self.interface, _PARENT_SYSCTLS)
                self._set_sysctls(VMAC_INTERFACE, _VMAC_SYSCTLS)
            else:
                index = parent
            if lifetime is not None:
                self._replace(ipr, index, lifetime)
                return
            if self._has_address(ipr, index):
                return
            try:
                ipr.address("add", index, self.address.packed, self.prefix, flags=self._flags)
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise VipError(f"cannot add {self}: {exc}") from exc

    def renew(self, lifetime: int) -> bool:
        """Restart the lease: the address's lifetimes start again at ``lifetime`` seconds.

        Never puts back an address that is gone: False when its lease ran out (or someone took
        it off), or runs out within the second (the kernel counts the lifetime left in whole
        seconds, so a lease at 0 may be removed at any moment: renewing it could race the
        kernel's removal and add the address again). True when renewed.

        Called on the event loop (``SharedAddress.renew``, twice a heartbeat on the active):
        the kernel answers route requests within the send, so a renew is two round trips of
        microseconds on a socket kept from one renew to the next (closed by :meth:`close`, and
        after any failure), each bounded by ``RENEW_TIMEOUT_S``. A worker thread's hand-off
        cost more than the call (issue 23's idle cost: five wake-ups of the process a renew).
        """
        ipr = self._renew_socket
        if ipr is None:
            try:
                ipr = self._renew_socket = Netlink(timeout=RENEW_TIMEOUT_S)
            except OSError as exc:
                raise VipError(f"cannot open a netlink socket: {exc}") from exc
        try:
            return self._renew(ipr, lifetime)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Closes the socket the renews keep (the address stays); idempotent."""
        ipr, self._renew_socket = self._renew_socket, None
        if ipr is not None:
            ipr.close()

    def _renew(self, ipr: Netlink, lifetime: int) -> bool:
        # the carrier's index from the last renew saves a dump of every link each
        # heartbeat (issue 23: idle CPU); an address not found there is looked for again
        # under the index the name has now (the interface may have been made again)
        index = self._renew_index
        left = None if index is None else self._valid_left(ipr, index)
        if index is None or left is None:
            index = self._renew_index = _lookup(ipr, self.carrier)
            if index is None:
                return False
            left = self._valid_left(ipr, index)
        if left is None or left < 1:
            return False
        self._replace(ipr, index, lifetime)
        return True

    def lease_left(self) -> int | None:
        """The address's valid lifetime left, in whole seconds (the kernel's count); None when
        the address is not there; ``0xFFFFFFFF`` for a permanent address."""
        with _netlink() as ipr:
            index = _lookup(ipr, self.carrier)
            return None if index is None else self._valid_left(ipr, index)

    @property
    def _flags(self) -> int:
        return IFA_F_NODAD if self.ipv6 else 0

    def _replace(self, ipr: Netlink, index: int, lifetime: int) -> None:
        try:
            ipr.address(
                "replace", index, self.address.packed, self.prefix,
                flags=self._flags, lifetime=lifetime,
            )  # fmt: skip
        except NetlinkError as exc:
            raise VipError(f"cannot add {self} with a lease of {lifetime} s: {exc}") from exc

    def _valid_left(self, ipr: Netlink, index: int) -> int | None:
        family = socket.AF_INET6 if self.ipv6 else socket.AF_INET
        for packed, valid in ipr.addresses(family, index):
            if packed == self.address.packed:
                return PERMANENT if valid is None else valid
        return None

    def remove(self) -> None:
        """Take the address off (and delete the macvlan); idempotent, also after a crash."""
        self.close()
        with _netlink() as ipr:
            for name in (self.interface, VMAC_INTERFACE):
                index = _lookup(ipr, name)
                if index is None:
                    continue
                if name == VMAC_INTERFACE and self.virtual_mac:
                    with contextlib.suppress(NetlinkError):
                        ipr.link_del(index)
                    continue
                if self._has_address(ipr, index):
                    try:
                        ipr.address("del", index, self.address.packed, self.prefix)
                    except NetlinkError as exc:
                        if exc.code not in {errno.EADDRNOTAVAIL, errno.ENODEV}:
                            raise VipError(f"cannot remove {self}: {exc}") from exc
        self._restore_sysctls()

    def present(self) -> bool:
        """Whether the address is on its interface (the macvlan with a virtual MAC)."""
        with _netlink() as ipr:
            index = _lookup(ipr, self.carrier)
            return index is not None and self._has_address(ipr, index)

    def _has_address(self, ipr: Netlink, index: int) -> bool:
        return self._valid_left(ipr, index) is not None

    def _ensure_vmac(self, ipr: Netlink, parent: int) -> int:
        assert self.virtual_mac is not None
        index = _lookup(ipr, VMAC_INTERFACE)
        if index is not None:
            link = ipr.link(index)
            if (link.address or "").lower() != self.virtual_mac or link.link != parent:
                ipr.link_del(index)
                index = None
        if index is None:
            try:
                ipr.add_macvlan(VMAC_INTERFACE, parent, self.virtual_mac, mode="private")
            except NetlinkError as exc:
                raise VipError(f"cannot create macvlan {VMAC_INTERFACE}: {exc}") from exc
            index = _index(ipr, VMAC_INTERFACE)
        ipr.link_up(index)
        return index

    # ---- sysctls ---------------------------------------------------------------------------

    def _set_sysctls(self, interface: str, values: dict[str, str]) -> None:
        if self.ipv6:
            return  # neighbour discovery answers only for the receiving interface's addresses
        for key, value in values.items():
            path = _PROC_SYS_CONF / interface / key
            try:
                old = path.read_text().strip()
                if old != value:
                    if interface != VMAC_INTERFACE:
                        self._saved_sysctls.setdefault((interface, key), old)
                    path.write_text(value + "\n")
            except OSError as exc:
                raise VipError(f"cannot set {path} to {value}: {exc}") from exc

    def _restore_sysctls(self) -> None:
        for (interface, key), old in self._saved_sysctls.items():
            with contextlib.suppress(OSError):
                (_PROC_SYS_CONF / interface / key).write_text(old + "\n")
        self._saved_sysctls.clear()

    # ---- announcements ---------------------------------------------------------------------

    def announce(self, count: int = 3, interval: float = 0.2) -> int:
        """Send ``count`` gratuitous ARPs / unsolicited NAs, the first at once.

        Returns how many were sent. Raises :class:`VipError` if none could be sent.
        """
        with _netlink() as ipr:
            index = _index(ipr, self.carrier)
            mac = ipr.link(index).address
        if not mac:
            raise VipError(f"{self.carrier} has no link-layer address")
        hw = bytes.fromhex(mac.replace(":", ""))
        send = self._arp_sender(hw) if not self.ipv6 else self._na_sender(hw, index)
        sent = 0
        last: OSError | None = None
        with send as emit:
            for i in range(count):
                if i:
                    time.sleep(interval)
                try:
                    emit()
                    sent += 1
                except OSError as exc:
                    last = exc
        if sent == 0 and count > 0:
            raise VipError(f"cannot announce {self}: {last}")
        return sent

    @contextlib.contextmanager
    def _arp_sender(self, hw: bytes) -> Any:
        """A raw packet socket that only sends: protocol 0, so the kernel registers no receive
        hook for it, and no ``bind``: each frame goes with ``sendto`` naming the interface.

        Opened with ``ETH_P_ARP`` and then bound to the interface, the socket's hook was
        unregistered and registered again by the bind, which waits for an RCU grace period
        (``synchronize_net``): the first gratuitous ARP left 15 to 45 ms after the address was
        added (``bench/failover.py``, issue 23 point 2's "within 15 ms" and the failover's
        ``ha_timeout`` + 0.1 s). Closing it still waits for one, after the frames are sent."""
        frame = gratuitous_arp(hw, self.address.packed)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as exc:
            raise VipError(f"cannot open a raw packet socket: {exc}") from exc
        with sock:
            yield lambda: sock.sendto(frame, (self.carrier, ETH_P_ARP))

    @contextlib.contextmanager
    def _na_sender(self, hw: bytes, index: int) -> Any:
        message = unsolicited_na(hw, self.address.packed)
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        except OSError as exc:
            raise VipError(f"cannot open a raw ICMPv6 socket: {exc}") from exc
        with sock:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            with contextlib.suppress(OSError):
                # the virtual IP as source (added NODAD, so usable); else the kernel picks one
                sock.bind((str(self.address), 0, 0, 0))
            target = (_ALL_NODES, 0, 0, index)
            yield lambda: sock.sendto(message, target)


@contextlib.contextmanager
def _netlink() -> Iterator[Netlink]:
    try:
        ipr = Netlink()
    except OSError as exc:
        raise VipError(f"cannot open a netlink socket: {exc}") from exc
    try:
        yield ipr
    finally:
        ipr.close()


def _lookup(ipr: Netlink, name: str) -> int | None:
    return ipr.lookup(name)


def _index(ipr: Netlink, name: str) -> int:
    index = _lookup(ipr, name)
    if index is None:
        raise VipError(f"no interface {name!r} in this network namespace")
    return index
