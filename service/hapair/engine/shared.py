"""The shared address of a unit: its listener and, with ``--shared-interface``, the virtual IP.

Serving it means: the virtual IP on the interface by netlink first (when there is one), then
the listener bound, then the address announced (gratuitous ARP / unsolicited NA) in the
background. Stopping it releases the address at once (requests under way finish) and removes
the virtual IP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from hapair.domain.errors import NoSharedInterface, NotActive
from hapair.domain.parameters import HAParameters, effective_virtual_id
from hapair.domain.unit import parse_host_port
from hapair.engine.listener import Listener
from hapair.engine.vip import VipError, VirtualIP, vrrp_mac
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
    """Serves and releases one unit's shared address."""

    def __init__(self, settings: Settings, spawn: Spawn) -> None:
        self.settings = settings
        self.app: Any = None  # the ASGI app the shared listener serves; set by the wiring
        self._spawn = spawn
        self._listener: Listener | None = None
        self._vip: VirtualIP | None = None

    @property
    def serving(self) -> bool:
        """Whether the shared listener runs."""
        return self._listener is not None and self._listener.running

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

    async def serve(self, shared: str | None, params: HAParameters) -> str | None:
        """Serves the shared address; the error when it cannot (yet)."""
        if not shared or self.serving:
            return None
        host, port = parse_host_port(shared, require_ip=True)
        vip = self.virtual_ip(shared, params)
        if vip is not None:
            try:
                await asyncio.to_thread(vip.add)
            except (VipError, OSError) as exc:
                log.warning(
                    "cannot add the virtual IP",
                    extra={"event": "vip-add-failed", "address": shared, "error": str(exc)},
                )
                return f"virtual IP: {exc}"
            self._vip = vip
        ssl = (
            {
                "ssl_certfile": self.settings.tls_cert or "",
                "ssl_keyfile": self.settings.tls_key or "",
            }
            if self.settings.tls
            else None
        )
        listener = Listener(self.app, host, port, ssl=ssl)
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
        if vip is not None:
            self._spawn(self._announce(vip), "announce")
        return None

    async def _announce(self, vip: VirtualIP) -> int:
        try:
            sent = await asyncio.to_thread(vip.announce)
        except (VipError, OSError) as exc:
            log.warning("announce failed", extra={"event": "announce-failed", "error": str(exc)})
            return 0
        extra = {"event": "announce", "address": str(vip.address), "sent": sent}
        log.info("announced", extra=extra)
        return sent

    async def announce(self) -> tuple[str, str, int]:
        """``POST /ha/actions/announce``: the active re-announces its virtual IP now."""
        if self.settings.shared_interface is None:
            raise NoSharedInterface
        vip = self._vip
        if vip is None:
            raise NotActive("this unit does not hold the virtual IP")
        return str(vip.address), vip.carrier, await self._announce(vip)

    async def stop(self, *, drain: bool) -> None:
        """Releases the address (``drain``: requests under way finish in the background) and
        removes the virtual IP."""
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop(drain=drain)
        vip, self._vip = self._vip, None
        if vip is not None:
            await self._remove(vip, leftover=False)

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
