"""The update link (SPEC 5b' ``update_interface``): this unit's addresses there, read by netlink
at every tick, its listener there, and the signed client to the partner's address there.

The partner's address is the one its heartbeat tells (``update_addresses``) that lies in one of
this unit's subnets on the interface. With both, heartbeats also go that way, and replication,
force-partner-update and the hand-over calls use it; the embedded Redis is told to listen on
this unit's address there (``on_local``, wired by the bootstrap). Without (no such interface,
no address, a partner with none or an older one), everything stays on the direct link and the
applied state says why (``dataplane/applied.update_state``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hapair.domain.unit import parse_host_port
from hapair.engine.netif import rtnetlink
from hapair.engine.pairlink.messages import Heartbeat, UpdateLinkReport
from hapair.engine.ports import PartnerLink
from hapair.server.listener import Listener, limits_of
from hapair.settings import Settings

log = logging.getLogger("hapair")


def pick(mine: list[str], theirs: list[str]) -> tuple[str | None, str | None]:
    """(this unit's address, the partner's) on the update link: the first partner address in
    one of this unit's subnets; this unit's first address and None when there is none."""
    for own in mine:
        try:
            net = ipaddress.ip_interface(own).network
        except ValueError:
            continue
        for other in theirs:
            try:
                ip = ipaddress.ip_interface(other).ip
            except ValueError:
                continue
            if ip in net and str(ip) != own.split("/")[0]:
                return own.split("/")[0], str(ip)
    return (mine[0].split("/")[0] if mine else None), None


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class NetlinkUpdateLink:
    """One unit's update link; ``refresh`` is called at every tick."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: Callable[[str, str], PartnerLink | None],
        app: Callable[[], Any],
    ) -> None:
        self.settings = settings
        self._client_for = client  # (partner's HOST:PORT, this unit's source IP) -> client
        self._app = app
        self.on_local: Callable[[str | None], Awaitable[None]] | None = None
        self._mine: list[str] = []
        self._local: str | None = None
        self._partner: str | None = None
        self._report: UpdateLinkReport | None = None
        self._listener: Listener | None = None
        self._link: PartnerLink | None = None
        self._bound: str | None = None  # what on_local was last told
        self._watch: rtnetlink.AddressWatch | None = None
        self._unwatched = False  # the watch's socket was refused: read every tick
        self._read_of: str | None = None  # the interface ``_found`` was read of
        self._found: list[str] | None = None
        self._index: int | None = None  # the interface's index at that read
        self._picked_for: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._picked: tuple[str | None, str | None] = (None, None)

    @property
    def link(self) -> PartnerLink | None:
        """The signed client to the partner's address on the update link (None: none)."""
        return self._link

    @property
    def replicates(self) -> bool:
        """The embedded Redis listens on this unit's address there and says so in the
        heartbeat (not with the TLS tunnel or ``--redis``: ``on_local`` is not wired)."""
        return self._bound is not None and self._link is not None

    @property
    def partner_host(self) -> str | None:
        return self._partner

    def addresses(self) -> list[str]:
        """This unit's addresses on the interface, for its heartbeat."""
        return list(self._mine)

    def report(self) -> UpdateLinkReport | None:
        return self._report

    async def refresh(
        self, *, interface: str, partner: Heartbeat | None, partner_address: str | None
    ) -> None:
        """Reads this unit's addresses on ``interface``, picks the partner's, and sets the
        listener, the client and Redis's address to match."""
        error = None
        found = await self._read(interface)
        if found is None:
            error = f"no interface {interface} on this unit"
        elif not found:
            error = f"no address on {interface}"
        self._mine = found or []
        theirs = partner.update_addresses if partner is not None else []
        local, remote = self._pick(theirs) if error is None else (None, None)
        direct = local is not None and local == parse_host_port(self.settings.listen)[0]
        self._report = UpdateLinkReport(
            interface=interface,
            local=local,
            partner=remote,
            partner_heard=partner is not None,
            error=error,
            direct=direct,
        )
        if direct:  # the update link is the direct link: nothing more to set up
            local = remote = None
        await self._listen(local)
        port = parse_host_port(partner_address)[1] if partner_address else None
        await self._connect(local, remote, port)
        wanted = local if remote is not None else None
        if wanted != self._bound and self.on_local is not None:
            try:
                await self.on_local(wanted)
            except Exception as exc:
                log.warning(
                    "redis cannot listen on the update link",
                    extra={"event": "update-link-redis", "address": wanted, "error": str(exc)},
                )
            else:
                self._bound = wanted

    async def _read(self, interface: str) -> list[str] | None:
        """The interface's addresses: read by netlink (in a worker thread) at the first tick,
        after a change of ``interface``, and after the kernel told of a link change or of an
        address change there (``rtnetlink.AddressWatch``); else the last read (issue 23 point
        5: no dump per tick). Without a watch (its socket refused), read every tick."""
        if self._watch is None and not self._unwatched:
            try:
                self._watch = rtnetlink.AddressWatch()
            except OSError as exc:
                self._unwatched = True
                log.warning(
                    "no netlink watch: the update interface is read every tick",
                    extra={"event": "update-link-watch", "error": str(exc)},
                )
        try:
            known = frozenset(self._found or ())
            stale = self._watch is None or self._watch.changed(self._index, known)
        except OSError:
            stale = True
        if stale or interface != self._read_of:
            self._read_of = None  # a failed read below is retried next tick
            self._index = rtnetlink.Netlink.lookup(interface)
            self._found = await asyncio.to_thread(rtnetlink.interface_addresses, interface)
            self._read_of = interface
        return None if self._found is None else list(self._found)

    def _pick(self, theirs: list[str]) -> tuple[str | None, str | None]:
        """``pick``, remembered for the last (mine, theirs): the same every tick at rest."""
        key = (tuple(self._mine), tuple(theirs))
        if key != self._picked_for:
            self._picked = pick(self._mine, theirs)
            self._picked_for = key
        return self._picked

    async def _listen(self, local: str | None) -> None:
        """The unit's listener on its update-link address, the direct port's number."""
        current = self._listener
        if current is not None and current.host == local and current.running:
            return
        if current is not None:
            self._listener = None
            await current.stop()
        if local is None or self._app() is None:
            return
        _, port = parse_host_port(self.settings.listen)
        app = self._app()
        limits = dataclasses.replace(limits_of(app), partner_host=lambda: self._partner)
        listener = Listener(app, local, port, ssl=self.settings.listener_ssl, limits=limits)
        try:
            await listener.start()
        except OSError as exc:
            log.warning(
                "cannot listen on the update link",
                extra={"event": "update-link-listen", "address": local, "error": str(exc)},
            )
            return
        self._listener = listener

    async def _connect(self, local: str | None, remote: str | None, port: int | None) -> None:
        target = None
        if local is not None and remote is not None and port:
            target = _hostport(remote, port)
        if self._partner == remote and (self._link is None) == (target is None):
            return
        old, self._link, self._partner = self._link, None, remote
        if old is not None:
            await old.close()
        if target is not None and local is not None:
            self._link = self._client_for(target, local)
            log.info(
                "update link",
                extra={"event": "update-link", "local": local, "partner": target},
            )

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
            self._read_of = None
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._link is not None:
            await self._link.close()
            self._link = None
        self._partner = None
