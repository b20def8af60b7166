"""The few rtnetlink requests the virtual IP needs (``engine/netif/vip.py``), on a plain socket,
and the update link's read of its interface's addresses (``interface_addresses``).

One address added, replaced (with a lease) or deleted; one interface's addresses dumped; one
link read, brought up or deleted; one macvlan created. Nothing else: no cache, no
notifications. Messages are packed with ``struct`` as ``rtnetlink(7)``, ``netlink(7)`` and
``linux/if_addr.h`` / ``linux/if_link.h`` lay them out.

This replaces pyroute2 (issue 23, "a lighter unit"): its package ``__init__`` loads all of it
(164 modules, about 8 MB of RSS in every unit with a virtual IP, standby included), and each
lease renew (once a heartbeat on the active) went through its message classes; here a renew
is two small round trips on one socket.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["AddressWatch", "Link", "Netlink", "NetlinkError", "interface_addresses"]

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLA_F_NESTED = 0x8000

IFA_ADDRESS, IFA_LOCAL, IFA_CACHEINFO = 1, 2, 6
IFLA_ADDRESS, IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO = 1, 3, 5, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_MACVLAN_MODE = 1
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8, "source": 16}
IFF_UP = 0x1
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_RTATTR = struct.Struct("=HH")  # len, type
_CACHEINFO = struct.Struct("=IIII")  # preferred, valid, cstamp, tstamp
_ERROR = struct.Struct("=i")


class NetlinkError(OSError):
    """The kernel refused a request; ``code`` is the errno (as pyroute2's ``NetlinkError``)."""

    def __init__(self, code: int, what: str = "") -> None:
        super().__init__(code, f"{what}: {os.strerror(code)}" if what else os.strerror(code))
        self.code = code


@dataclass(frozen=True)
class Link:
    """One interface as ``RTM_GETLINK`` returns it: its index, MAC (``aa:bb:...``, None
    without one) and the index of the link it sits on (a macvlan's parent; None if none)."""

    index: int
    address: str | None
    link: int | None


def _attr(kind: int, payload: bytes) -> bytes:
    size = _RTATTR.size + len(payload)
    return _RTATTR.pack(size, kind) + payload + b"\0" * (-size % 4)


def _attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """The attributes of a message body from ``offset``, by type (nested flag masked off)."""
    found: dict[int, bytes] = {}
    while offset + _RTATTR.size <= len(data):
        size, kind = _RTATTR.unpack_from(data, offset)
        if size < _RTATTR.size:
            break
        found[kind & 0x3FFF] = data[offset + _RTATTR.size : offset + size]
        offset += (size + 3) & ~3
    return found


def _mac(raw: bytes | None) -> str | None:
    return ":".join(f"{b:02x}" for b in raw) if raw else None


class Netlink:
    """A ``NETLINK_ROUTE`` socket of this process's network namespace; a context manager.

    Every call blocks for one round trip (a dump: until its last part)."""

    def __init__(self, timeout: float | None = None) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            self._sock.settimeout(timeout)  # None: blocks (a worker thread's socket)
            self._sock.bind((0, 0))
        except OSError:
            self._sock.close()
            raise
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------------------------

    def _request(self, kind: int, flags: int, body: bytes) -> Iterator[tuple[int, bytes]]:
        """Sends one message; yields each answer's (type, body) until the request is done.
        An error answer raises :class:`NetlinkError`; an acknowledgement (error 0) ends it."""
        self._seq += 1
        seq = self._seq
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | flags, seq, 0)
        self._sock.send(header + body)
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                size, mtype, mflags, mseq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if size < _NLMSGHDR.size:
                    raise NetlinkError(errno.EBADMSG, "short netlink message")
                payload = data[offset + _NLMSGHDR.size : offset + size]
                offset += (size + 3) & ~3
                if mseq != seq:
                    continue  # a late answer to an earlier request
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    (code,) = _ERROR.unpack_from(payload)
                    if code:
                        raise NetlinkError(-code)
                    return
                yield mtype, payload
                if not mflags & NLM_F_MULTI and not flags & NLM_F_ACK:
                    return

    def _call(self, kind: int, flags: int, body: bytes) -> None:
        for _ in self._request(kind, flags | NLM_F_ACK, body):
            pass

    # ---- links -----------------------------------------------------------------------------

    @staticmethod
    def lookup(name: str) -> int | None:
        """The index of interface ``name`` in this namespace, None if there is none."""
        try:
            return socket.if_nametoindex(name)
        except OSError:
            return None

    def link(self, index: int) -> Link:
        """The interface with ``index`` (:class:`NetlinkError` ENODEV if there is none)."""
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0)
        for mtype, payload in self._request(RTM_GETLINK, 0, body):
            if mtype == RTM_NEWLINK:
                attrs = _attrs(payload, _IFINFOMSG.size)
                parent = attrs.get(IFLA_LINK)
                return Link(
                    index=_IFINFOMSG.unpack_from(payload)[2],
                    address=_mac(attrs.get(IFLA_ADDRESS)),
                    link=struct.unpack("=I", parent[:4])[0] if parent else None,
                )
        raise NetlinkError(errno.ENODEV, f"no link {index}")

    def link_up(self, index: int) -> None:
        self._call(RTM_NEWLINK, 0, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP))

    def link_del(self, index: int) -> None:
        self._call(RTM_DELLINK, 0, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0))

    def add_macvlan(self, name: str, parent: int, mac: str, mode: str = "private") -> None:
        """Creates macvlan ``name`` on ``parent`` with MAC ``mac`` (``ip link add ... type
        macvlan mode MODE``); :class:`NetlinkError` EEXIST if the name is taken."""
        data = _attr(IFLA_MACVLAN_MODE, struct.pack("=I", MACVLAN_MODES[mode]))
        info = _attr(IFLA_INFO_KIND, b"macvlan\0") + _attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
        body = (
            _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
            + _attr(IFLA_IFNAME, name.encode() + b"\0")
            + _attr(IFLA_LINK, struct.pack("=I", parent))
            + _attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))
            + _attr(IFLA_LINKINFO | NLA_F_NESTED, info)
        )
        self._call(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    # ---- addresses -------------------------------------------------------------------------

    def addresses(self, family: int, index: int) -> list[tuple[bytes, int | None]]:
        """The addresses of ``family`` on interface ``index``: (packed address, valid lifetime
        left in seconds, None when the kernel sent no cache info)."""
        out = []
        body = _IFADDRMSG.pack(family, 0, 0, 0, 0)
        for mtype, payload in self._request(RTM_GETADDR, NLM_F_DUMP, body):
            if mtype != RTM_NEWADDR:
                continue
            fam, _plen, _flags, _scope, idx = _IFADDRMSG.unpack_from(payload)
            if fam != family or idx != index:
                continue
            attrs = _attrs(payload, _IFADDRMSG.size)
            address = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
            if address is None:
                continue
            info = attrs.get(IFA_CACHEINFO)
            valid = _CACHEINFO.unpack_from(info)[1] if info and len(info) >= 16 else None
            out.append((address, valid))
        return out

    def prefixed(self, index: int) -> list[str]:
        """The global addresses (IPv4, then IPv6) on interface ``index`` as ``IP/PREFIX``:
        what the update link uses (SPEC 5b'); IPv6 link-local ones are left out."""
        out = []
        for family in (socket.AF_INET, socket.AF_INET6):
            body = _IFADDRMSG.pack(family, 0, 0, 0, 0)
            for mtype, payload in self._request(RTM_GETADDR, NLM_F_DUMP, body):
                if mtype != RTM_NEWADDR:
                    continue
                fam, plen, _flags, scope, idx = _IFADDRMSG.unpack_from(payload)
                if fam != family or idx != index or scope != 0:  # 0: RT_SCOPE_UNIVERSE
                    continue
                attrs = _attrs(payload, _IFADDRMSG.size)
                packed = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
                if packed is not None:
                    out.append(f"{socket.inet_ntop(family, packed)}/{plen}")
        return out

    def address(
        self,
        command: str,
        index: int,
        packed: bytes,
        prefixlen: int,
        *,
        flags: int = 0,
        lifetime: int | None = None,
    ) -> None:
        """``add`` (refused with EEXIST if there), ``replace`` (add or update) or ``del`` one
        address; ``lifetime``: its preferred and valid lifetimes (a lease), else permanent."""
        family = socket.AF_INET6 if len(packed) == 16 else socket.AF_INET
        body = _IFADDRMSG.pack(family, prefixlen, flags, 0, index)
        if family == socket.AF_INET:
            body += _attr(IFA_LOCAL, packed)
        body += _attr(IFA_ADDRESS, packed)
        if lifetime is not None and command != "del":
            body += _attr(IFA_CACHEINFO, _CACHEINFO.pack(lifetime, lifetime, 0, 0))
        if command == "del":
            self._call(RTM_DELADDR, 0, body)
        elif command == "replace":
            self._call(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, body)
        elif command == "add":
            self._call(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
        else:
            raise ValueError(f"unknown address command {command!r}")


def interface_addresses(name: str) -> list[str] | None:
    """``Netlink.prefixed`` of the interface ``name``; None when there is no such interface."""
    index = Netlink.lookup(name)
    if index is None:
        return None
    with Netlink() as nl:
        return nl.prefixed(index)


class AddressWatch:
    """Tells whether one interface's global addresses may have changed since the last
    ``changed()``: a non-blocking socket in rtnetlink's link and address groups, drained by
    each call (one ``recv`` answering EAGAIN when nothing happened).

    The update link's tick (``adapters/uplink.py``) reads its interface's addresses only when
    this says so, instead of a netlink dump in a worker thread every tick (issue 23 point 5).
    Any link message counts (an interface made, removed, renamed); an address message only on
    that interface, and not the update of an address already ``known`` (the virtual IP's lease
    renewed on the same interface, twice a second on the active). A full socket buffer
    (ENOBUFS: notifications were lost) counts as a change.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            self._sock.setblocking(False)
            self._sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
        except OSError:
            self._sock.close()
            raise

    def changed(self, index: int | None, known: frozenset[str]) -> bool:
        """True when a notification that may change ``Netlink.prefixed(index)`` (``known``, as
        last read) came, or may have been lost, since the last call."""
        seen = False
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return seen
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                seen = True
                continue
            seen = seen or _relevant(data, index, known)

    def close(self) -> None:
        self._sock.close()


def _relevant(data: bytes, index: int | None, known: frozenset[str]) -> bool:
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        size, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if size < _NLMSGHDR.size:
            return True
        payload = data[offset + _NLMSGHDR.size : offset + size]
        offset += (size + 3) & ~3
        if mtype not in (RTM_NEWADDR, RTM_DELADDR) or len(payload) < _IFADDRMSG.size:
            return True  # a link message (or one not understood)
        family, plen, _f, _scope, idx = _IFADDRMSG.unpack_from(payload)
        if idx != index:
            continue
        if mtype == RTM_DELADDR:
            return True
        attrs = _attrs(payload, _IFADDRMSG.size)
        packed = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if packed is None or f"{socket.inet_ntop(family, packed)}/{plen}" not in known:
            return True
    return False
