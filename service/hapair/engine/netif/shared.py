"""The shared address of a unit: its listener and, with ``--shared-interface``, the virtual IP.

Serving it means: the virtual IP on the interface by netlink first (when there is one), then
the listener bound, then the address announced (gratuitous ARP / unsolicited NA) in the
background. Stopping it releases the address at once (requests under way finish) and removes
the virtual IP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from hapair.domain.errors import NoSharedInterface, NotActive
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.domain.unit import parse_host_port
from hapair.engine.netif.vip import VipError, VirtualIP, vrrp_mac
from hapair.server.listener import Listener
from hapair.settings import Settings

log = logging.getLogger("hapair.engine")

Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


def addressed(shared: str | None, server: tuple[str, int | None] | None) -> bool:
    """Whether a request's server address (the ASGI ``server``) is the shared address."""
    if server is None or not shared:
        return False
    try:
        host, port = parse_host_port(shared, require_ip=True)
    except ValueError:
        return False
    return server[0] == host and server[1] == port


class SharedAddress:
    """Serves and releases one unit's shared address.

    With a virtual IP (``--shared-interface``) the listener is **bound ahead**: at boot, on
    every unit, with ``IP_FREEBIND`` (the address need not exist yet), and it stays bound for
    the engine's life. The kernel delivers nothing to it until the address is on the host, so
    taking the role is one netlink add and the gratuitous ARPs right after it, and leaving it
    is one netlink delete. The address is a **lease** of ``ha_timeout`` seconds that the
    active renews each heartbeat (:meth:`renew`), so a unit that dies or freezes loses it by
    the kernel's own clock; the active announces it at takeover and again once a frozen
    former active's lease must have run out (``ha_timeout`` + 1 s later).
    Without a virtual IP (one host) the listener is bound when the unit becomes active and
    closed when it leaves: the two units of a pair on one host share the address.
    """

    def __init__(self, settings: Settings, spawn: Spawn) -> None:
        self.settings = settings
        self.app: Any = None  # the ASGI app the shared listener serves; set by the wiring
        self._spawn = spawn
        self._listener: Listener | None = None
        self._vip: VirtualIP | None = None  # the virtual IP this unit holds (its lease)
        self._held = 0  # +1 each time the address is taken: a re-announce is for one holding

    @property
    def listening(self) -> bool:
        """Whether the shared listener is bound (ahead of the address, with a virtual IP)."""
        return self._listener is not None and self._listener.running

    @property
    def serving(self) -> bool:
        """Whether the unit answers on the shared address: the listener runs and, with a
        virtual IP, the address is on this host (its lease held)."""
        if not self.listening:
            return False
        return self.settings.shared_interface is None or self._vip is not None

    def virtual_ip(self, shared: str | None, params: HAParameters) -> VirtualIP | None:
        """The shared IP as a virtual IP (``--shared-interface``), with the VRRP MAC when
        ``use_virtual_mac`` is on; None when the shared IP is an operator's business."""
        iface = self.settings.shared_interface
        if not iface or not shared:
            return None
        host, _ = parse_host_port(shared, require_ip=True)
        vmac = None
        if params.use_virtual_mac:
            vid, _ = effective_virtual_id(params, shared)
            vmac = vrrp_mac(vid, ipv6=":" in host)
        return VirtualIP(host, iface, self.settings.shared_prefix, virtual_mac=vmac)

    async def bind_ahead(self, shared: str | None) -> None:
        """At boot, with a virtual IP: the shared listener bound before the address exists
        (``IP_FREEBIND``). A failure is logged; :meth:`serve` tries again."""
        if not shared or not self.settings.shared_interface or self.listening:
            return
        error = await self._listen(shared)
        if error is None:
            log.info("shared listener bound ahead", extra={"event": "shared-bound-ahead"})

    async def _listen(self, shared: str) -> str | None:
        host, port = parse_host_port(shared, require_ip=True)
        freebind = self.settings.shared_interface is not None
        listener = Listener(self.app, host, port, ssl=self.settings.listener_ssl, freebind=freebind)
        self._listener = listener  # answering from the moment it is bound (``serving``)
        try:
            await listener.start()
        except OSError as exc:
            self._listener = None
            log.warning(
                "cannot bind the shared address yet",
                extra={"event": "shared-bind-failed", "address": shared, "error": str(exc)},
            )
            return str(exc)
        return None

    async def serve(self, shared: str | None, params: HAParameters) -> str | None:
        """Serves the shared address; the error when it cannot (yet)."""
        if not shared or self.serving:
            return None
        if not self.listening:
            error = await self._listen(shared)
            if error is not None:
                return error
        vip = self.virtual_ip(shared, params)
        if vip is None:
            return None
        lease = int(params.ha_timeout)
        try:
            await asyncio.to_thread(_add_and_announce, vip, lease)
        except (VipError, OSError) as exc:
            log.warning(
                "cannot add the virtual IP",
                extra={"event": "vip-add-failed", "address": shared, "error": str(exc)},
            )
            return f"virtual IP: {exc}"
        self._vip = vip
        self._held += 1
        log.info("announced", extra={"event": "announce", "address": str(vip.address), "sent": 1})
        self._spawn(self._announce(vip, first=1), "announce")
        self._spawn(
            self._announce_later(vip, self._held, lease + REANNOUNCE_AFTER_S), "re-announce"
        )
        return None

    async def renew(self, params: HAParameters) -> bool:
        """Renews the lease of the virtual IP this unit holds; False when it was lost (ran
        out while the process was frozen or its loop stalled): then it is not put back here
        (the engine decides, after hearing its partner)."""
        vip = self._vip
        if vip is None:
            return True
        try:
            renewed = vip.renew(int(params.ha_timeout))  # on the loop: see VirtualIP.renew
        except (VipError, OSError) as exc:
            extra = {"event": "lease-renew-failed", "error": str(exc)}
            log.warning("cannot renew the lease", extra=extra)
            return True  # not known to be lost: the next heartbeat tries again
        if renewed:
            return True
        vip.close()
        if self._vip is vip:
            self._vip = None
        extra = {"event": "lease-lost", "address": str(vip.address)}
        log.warning("the virtual IP's lease ran out", extra=extra)
        return False

    async def _announce(self, vip: VirtualIP, *, first: int = 0) -> int:
        try:
            sent = await asyncio.to_thread(vip.announce, ANNOUNCE_COUNT - first)
        except (VipError, OSError) as exc:
            log.warning("announce failed", extra={"event": "announce-failed", "error": str(exc)})
            return 0
        extra = {"event": "announce", "address": str(vip.address), "sent": sent}
        log.info("announced", extra=extra)
        return sent

    async def _announce_later(self, vip: VirtualIP, held: int, delay: float) -> None:
        """Once a frozen former active's lease must have run out: announce again, for a client
        that resolved the address to that host's MAC meanwhile (both hosts held it).

        Not when this unit was the one frozen: a wait that ended more than ``LATE_S`` late
        means the process stood still over it, and its own lease may have run out meanwhile
        (the kernel may not have taken the address off yet, and the engine learns it only at
        its next renew). Announcing then would point the clients back at this host while the
        partner serves (tests/integration/test_two_hosts.py, SIGSTOP: the client's entry was
        left on the resumed unit's MAC). Nor when the lease has less than a second left."""
        due = time.monotonic() + delay
        await asyncio.sleep(delay)
        late = time.monotonic() - due
        if late > LATE_S:
            extra = {"event": "reannounce-skipped", "late_s": round(late, 3)}
            log.info("re-announce skipped: this unit stood still over it", extra=extra)
            return
        if self._vip is not vip or self._held != held:
            return
        try:
            left = await asyncio.to_thread(vip.lease_left)
        except (VipError, OSError):
            return
        if left is not None and left >= 1 and self._vip is vip and self._held == held:
            await self._announce(vip)

    async def announce(self) -> tuple[str, str, int]:
        """``POST /ha/actions/announce``: the active re-announces its virtual IP now."""
        if self.settings.shared_interface is None:
            raise NoSharedInterface
        vip = self._vip
        if vip is None:
            raise NotActive("this unit does not hold the virtual IP")
        return str(vip.address), vip.carrier, await self._announce(vip)

    async def release(self, *, drain: bool) -> None:
        """Leaving the role: the virtual IP goes (the listener bound ahead stays bound);
        without one, the listener is closed (``drain``: requests under way finish in the
        background)."""
        vip, self._vip = self._vip, None
        if vip is not None:
            await self._remove(vip, leftover=False)
        if self.settings.shared_interface is None:
            await self._close(drain=drain)

    async def stop(self, *, drain: bool) -> None:
        """The engine stops: the address is released and the listener closed."""
        await self._close(drain=drain)
        vip, self._vip = self._vip, None
        if vip is not None:
            await self._remove(vip, leftover=False)

    async def _close(self, *, drain: bool) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop(drain=drain)

    async def remove_leftover(self, shared: str | None, params: HAParameters) -> None:
        """At boot, not active yet: a virtual IP a crash left behind goes."""
        vip = self.virtual_ip(shared, params)
        if vip is None:
            return
        try:
            present = await asyncio.to_thread(vip.present)
        except (VipError, OSError):
            present = False
        if present:
            await self._remove(vip, leftover=True)

    async def _remove(self, vip: VirtualIP, *, leftover: bool) -> None:
        try:
            await asyncio.to_thread(vip.remove)
        except (VipError, OSError) as exc:
            extra = {"event": "vip-remove-failed", "error": str(exc)}
            log.warning("cannot remove the virtual IP", extra=extra)
            return
        log.info("virtual IP removed", extra={"event": "vip-removed", "leftover": leftover})


ANNOUNCE_COUNT = 3  # gratuitous ARPs / unsolicited NAs per announcement (SPEC 5b: at least 3)
REANNOUNCE_AFTER_S = 1.0  # after ha_timeout: the kernel removes an expired lease within 1 s
LATE_S = 0.5  # a re-announce's wait that ended later than this: the process stood still


def _add_and_announce(vip: VirtualIP, lease: int) -> None:
    """The address added with its lease, and the first gratuitous ARP / NA at once, in one
    thread: nothing between the netlink add and the announcement."""
    vip.add(lease)
    try:
        vip.announce(1)
    except (VipError, OSError) as exc:  # the address is there: the background ones may get out
        log.warning("announce failed", extra={"event": "announce-failed", "error": str(exc)})
