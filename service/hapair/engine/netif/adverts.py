"""The pair's adverts and virtual-ID conflicts (SPEC 5b' "Adverts", "Virtual ID conflicts").

Every heartbeat interval each unit of a pair on two hosts sends one small signed UDP datagram on
its ``multicast_interface``: to 224.0.0.18 (ff02::12 when the shared address is IPv6), port
``--advert-port`` (default 9112), or, with ``use_broadcast``, to that interface's IPv4 broadcast
address (ff02::1 on IPv6), for switches that drop multicast
(``engine/netif/advert_sockets.py``). The datagram is a JSON array::

    ["hapair-advert", 1, virtual_id, unit, boot_id, role, revision, counter, pair, key, mac]

where ``pair`` is the pair id (``pairauth.pair_id``: shared address and virtual ID), ``key`` the
id of the pair key that signed, and ``mac`` the hex HMAC-SHA256 of the fields before it under a
key derived from the pair key (:func:`advert_key`, its own label: the pair key itself is never
used directly). A receiver:

- ignores adverts for another virtual ID, and its own unit's;
- counts an advert of its virtual ID that no key it accepts signs, or that names another pair,
  as a **virtual-ID conflict** (another hapair pair with the same ID), as it does a VRRP
  advertisement (IP protocol 112) whose VRID is the virtual ID (a keepalived or a router, which
  would also own the VRRP MAC ``00:00:5e:00:01:<id>``). A conflict is shown while the sender
  keeps sending and clears by itself :data:`CONFLICT_HOLD` of the sender's intervals after its
  last packet (``engine/netif/vidconflict.py``);
- takes a valid advert of the partner as a sign of life only when it is fresh: its counter is
  above every counter seen for that boot, and not behind the pace the sender sends at (a counter
  that falls more than :data:`PACE_SLACK` intervals behind the time since the first advert of
  that boot was seen is a delayed replay, which would otherwise keep a dead active "alive").

The engine asks :meth:`AdvertLink.partner_heard` and :meth:`AdvertLink.conflicts`; the rules that
use them (no failover while the active's adverts arrive, the ``alert`` events) are the core's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from hapair.engine.netif import advert_sockets, vidconflict
from hapair.engine.netif.vidconflict import (
    CONFLICT_HOLD,
    VRRP_PROTOCOL,
    Conflict,
    vrrp_advert,
    vrrp_message,
    vrrp_vrid,
)

__all__ = [
    "CONFLICT_HOLD",
    "VRRP_PROTOCOL",
    "Advert",
    "AdvertLink",
    "BadAdvert",
    "Conflict",
    "Received",
    "advert_key",
    "decode",
    "encode",
    "verify",
    "vrrp_advert",
    "vrrp_message",
    "vrrp_vrid",
]

log = logging.getLogger("hapair.engine")

MAGIC = "hapair-advert"
FORMAT = 1
DEFAULT_PORT = 9112
PACE_SLACK = 3.0  # intervals a fresh advert's counter may fall behind its sender's pace
MAX_DATAGRAM = 1024
_KEY_LABEL = b"hapair/advert/hmac-sha256/v1"
_HEX = frozenset("0123456789abcdef")


def advert_key(pair_key: str) -> bytes:
    """The adverts' MAC key: HMAC-SHA256 of a fixed label under the pair key."""
    return hmac.new(pair_key.encode(), _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class Advert:
    """What one advert says (all of it covered by the MAC)."""

    virtual_id: int
    unit: str
    boot_id: str
    role: str
    revision: int
    counter: int
    pair: str
    key: str

    def fields(self) -> list[object]:
        """The signed fields, in wire order."""
        return [
            MAGIC,
            FORMAT,
            self.virtual_id,
            self.unit,
            self.boot_id,
            self.role,
            self.revision,
            self.counter,
            self.pair,
            self.key,
        ]


class BadAdvert(ValueError):
    """A datagram that is not a well-formed advert of this format."""


def _mac(key: bytes, signed: bytes) -> str:
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def encode(advert: Advert, key: bytes) -> bytes:
    """The datagram for ``advert`` signed with ``key`` (:func:`advert_key`)."""
    signed = msgspec.json.encode(advert.fields())
    return msgspec.json.encode([*advert.fields(), _mac(key, signed)])


def decode(data: bytes) -> tuple[Advert, str, bytes]:
    """The advert in ``data``, its MAC and the bytes the MAC covers; :class:`BadAdvert` if
    ``data`` is not one."""
    if len(data) > MAX_DATAGRAM:
        raise BadAdvert("too long")
    try:
        items = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise BadAdvert("not JSON") from exc
    if not isinstance(items, list) or len(items) != 11 or items[:2] != [MAGIC, FORMAT]:
        raise BadAdvert("not an advert of this format")
    _, _, vid, unit, boot, role, revision, counter, pair, key, mac = items
    ints = (vid, revision, counter)
    strs = (unit, boot, role, pair, key, mac)
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ints):
        raise BadAdvert("a number field is not a non-negative integer")
    if not all(isinstance(s, str) and len(s) <= 64 for s in strs):
        raise BadAdvert("a text field is not a short string")
    if len(mac) != 64 or not set(mac) <= _HEX:
        raise BadAdvert("malformed MAC")
    advert = Advert(vid, unit, boot, role, revision, counter, pair, key)
    return advert, mac, msgspec.json.encode(advert.fields())


def verify(signed: bytes, mac: str, keys: Iterable[bytes]) -> bool:
    """Whether one of ``keys`` gives ``mac`` over ``signed`` (constant-time compare)."""
    return any(hmac.compare_digest(_mac(k, signed), mac) for k in keys)


@dataclass
class _Freshness:
    """The partner's adverts of one boot: the last counter and the pace they came at."""

    boot_id: str
    first_counter: int
    first_seen: float
    counter: int


@dataclass
class Received:
    """What the receiving side has learnt (read by the engine, written by the sockets)."""

    own: str
    interval: float
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    partner_seen: float | None = None  # monotonic time of the last fresh partner advert
    partner_role: str | None = None
    partner_revision: int | None = None
    partner_boot: str | None = None
    conflicts: dict[tuple[str, str], Conflict] = field(default_factory=dict)
    gone: dict[tuple[str, str], Conflict] = field(default_factory=dict)  # cleared lately
    refused: int = 0  # datagrams that were not adverts, or stale ones
    _fresh: _Freshness | None = None

    def conflict(
        self, sender: str, kind: str, *, period: float | None = None, counter: int | None = None
    ) -> None:
        """A packet of ``kind`` from ``sender`` claims this pair's virtual ID (``period``: the
        seconds between its packets it says; ``counter``: its advert's counter)."""
        vidconflict.note(self.conflicts, self.gone, sender, kind, own=self.own, now=self.clock(),
                         wall=self.wall(), period=period, counter=counter)  # fmt: skip

    def partner_advert(self, advert: Advert) -> bool:
        """Takes a valid advert of the partner; whether it was fresh (see the module doc)."""
        now = self.clock()
        fresh = self._fresh
        if fresh is None or fresh.boot_id != advert.boot_id:
            self._fresh = _Freshness(advert.boot_id, advert.counter, now, advert.counter)
        else:
            behind = (now - fresh.first_seen) / self.interval - (
                advert.counter - fresh.first_counter
            )
            if advert.counter <= fresh.counter or behind > PACE_SLACK:
                self.refused += 1
                return False
            fresh.counter = advert.counter
        self.partner_seen = now
        self.partner_role = advert.role
        self.partner_revision = advert.revision
        self.partner_boot = advert.boot_id
        return True

    def current_conflicts(self) -> list[Conflict]:
        """The conflicts whose sender was heard lately (``vidconflict``: each clears
        :data:`CONFLICT_HOLD` of its sender's intervals, at least of this unit's, after its
        last packet)."""
        return vidconflict.current(
            self.conflicts, self.gone, own=self.own, now=self.clock(), interval=self.interval
        )


class AdvertLink:
    """One unit's adverts on one interface: the sending socket, the receiving socket and the VRRP
    listener, IPv4 or (``ipv6``) IPv6. ``virtual_id``, ``pair`` and ``keys`` are read at each use
    (a PATCH or a key rotation takes effect at the next advert)."""

    def __init__(
        self,
        *,
        own: str,
        interface: str,
        port: int,
        broadcast: bool,
        interval: float,
        virtual_id: Callable[[], int],
        pair: Callable[[], str],
        keys: Callable[[], list[tuple[str, bytes]]],
        clock: Callable[[], float] = time.monotonic,
        ipv6: bool = False,
    ) -> None:
        self.own = own
        self.interface = interface
        self.port = port
        self.broadcast = broadcast
        self.virtual_id = virtual_id
        self.pair = pair
        self.keys = keys  # (key id, advert key): the first signs, all are accepted
        self.received = Received(own=own, interval=interval, clock=clock)
        self.counter = 0
        self.sent = 0
        self.send_errors = 0
        self.address: str | None = None
        self.destination: str | None = None
        self.ipv6 = ipv6
        self._send: socket.socket | None = None
        self._sockaddr: tuple[str, int] | tuple[str, int, int, int] = ("", 0)
        self._sockets: list[socket.socket] = []

    async def start(self) -> None:
        """Opens the sockets (OSError or LookupError if the interface or its address is
        missing; nothing is left open then)."""
        loop = asyncio.get_running_loop()
        opener = advert_sockets.open_v6 if self.ipv6 else advert_sockets.open_v4
        try:
            opened = opener(self._open, self.interface, self.port, self.broadcast)
            loop.add_reader(opened.recv.fileno(), self._read, opened.recv, self.on_datagram)
            on_vrrp = self.on_vrrp if opened.vrrp_has_ip_header else self.on_vrrp_message
            loop.add_reader(opened.vrrp.fileno(), self._read, opened.vrrp, on_vrrp)
        except BaseException:
            self.close()
            raise
        self.address, self.destination = opened.address, opened.destination
        self._send, self._sockaddr = opened.send, opened.sockaddr

    def _open(self, family: int, kind: int, proto: int) -> socket.socket:
        sock = socket.socket(family, kind, proto)
        self._sockets.append(sock)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.interface.encode())
        return sock

    @staticmethod
    def _read(sock: socket.socket, handle: Callable[[bytes, str], None]) -> None:
        for _ in range(64):  # what is queued now, bounded: the loop's other work goes on
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM + 1)
            except OSError:  # nothing more queued (BlockingIOError), or the socket failed
                return
            handle(data, addr[0])

    def close(self) -> None:
        """Closes every socket (idempotent)."""
        for sock in self._sockets:
            if sock.fileno() >= 0:
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    asyncio.get_running_loop().remove_reader(sock.fileno())
                sock.close()
        self._sockets.clear()
        self._send = None

    def on_vrrp(self, packet: bytes, sender: str) -> None:
        """One packet of IP protocol 112: a VRRP advertisement for this virtual ID is a
        conflict."""
        self._vrrp(vrrp_advert(packet), sender)

    def on_vrrp_message(self, message: bytes, sender: str) -> None:
        """:meth:`on_vrrp` of the VRRP message alone (a raw IPv6 socket's)."""
        self._vrrp(vrrp_message(message), sender)

    def _vrrp(self, found: tuple[int, float] | None, sender: str) -> None:
        if found is not None and found[0] == self.virtual_id():
            self.received.conflict(sender, "vrrp", period=found[1])

    def send(self, *, boot_id: str, role: str, revision: int) -> None:
        """Sends one advert now (a send error is counted and logged once, never raised)."""
        if self._send is None or self.destination is None:
            return
        self.counter += 1
        key_id, key = self.keys()[0]
        advert = Advert(
            self.virtual_id(), self.own, boot_id, role, revision, self.counter, self.pair(), key_id
        )
        try:
            self._send.sendto(encode(advert, key), self._sockaddr)
            self.sent += 1
        except OSError as exc:
            self.send_errors += 1
            if self.send_errors == 1:
                log.warning(
                    "advert not sent",
                    extra={"event": "advert-send-failed", "unit": self.own, "error": str(exc)},
                )

    def on_datagram(self, data: bytes, sender: str) -> None:
        """One datagram on the advert port (see the module doc for what it counts as)."""
        try:
            advert, mac, signed = decode(data)
        except BadAdvert:
            self.received.refused += 1
            return
        if advert.virtual_id != self.virtual_id():
            return
        keys = [k for _, k in self.keys()]
        if not verify(signed, mac, keys) or advert.pair != self.pair():
            self.received.conflict(sender, "hapair", counter=advert.counter)
            return
        if advert.unit == self.own:
            return  # our own (looped back broadcast), or a unit misconfigured in our mode
        self.received.partner_advert(advert)

    def partner_heard(self, within: float) -> bool:
        """Whether a fresh advert of the partner arrived in the last ``within`` seconds."""
        seen = self.received.partner_seen
        return seen is not None and self.received.clock() - seen <= within

    def conflicts(self) -> list[Conflict]:
        """The current virtual-ID conflicts."""
        return self.received.current_conflicts()
