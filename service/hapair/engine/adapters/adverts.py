"""The adverts port (``engine/ports.py`` :class:`~hapair.engine.ports.Adverts`) on real UDP
sockets: one :class:`~hapair.engine.netif.adverts.AdvertLink` on ``multicast_interface``, reopened
when that parameter or ``use_broadcast`` changes (SPEC 5b' "Adverts"); IPv6 (ff02::12) when
the shared address is IPv6."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from hapair.domain.unit import parse_host_port
from hapair.engine.netif.adverts import AdvertLink, advert_key
from hapair.engine.pairlink.messages import AdvertsReport
from hapair.keyring import Keyring, key_id

log = logging.getLogger("hapair.engine")


class UdpAdverts:
    """One unit's adverts: sends its own, hears its partner's and other senders of the pair's
    virtual ID. ``virtual_id`` and ``pair`` are read at each use (a PATCH takes effect at the
    next advert); the keyring's accepted keys too (a rotation)."""

    def __init__(
        self,
        *,
        port: int,
        interval: float,
        keys: Keyring,
        virtual_id: Callable[[], int],
        pair: Callable[[], str],
        shared: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.port = port
        self.shared = shared  # the unit's shared address: its family is the adverts'
        self.interval = interval
        self.keyring = keys
        self.virtual_id = virtual_id
        self.pair = pair
        self.link: AdvertLink | None = None
        # (unit, interface, broadcast, ipv6) opened
        self._way: tuple[str, str, bool, bool] | None = None
        self._error: str | None = None

    def _keys(self) -> list[tuple[str, bytes]]:
        return [(key_id(k), advert_key(k)) for k in self.keyring.accepted()]

    async def configure(self, *, unit: str, interface: str, broadcast: bool) -> None:
        """Opens the link this way, unless it is open this way already; a failure is kept for
        ``report`` (and retried at the next call)."""
        ipv6 = is_ipv6(self.shared())
        way = (unit, interface, broadcast, ipv6)
        if way == self._way and self.link is not None:
            return
        self.close()
        self._way = way
        link = AdvertLink(
            own=unit,
            interface=interface,
            port=self.port,
            broadcast=broadcast,
            interval=self.interval,
            virtual_id=self.virtual_id,
            pair=self.pair,
            keys=self._keys,
            ipv6=ipv6,
        )
        try:
            await link.start()
        except (OSError, LookupError) as exc:
            error = f"adverts cannot go out on {interface!r}: {exc}"
            if error != self._error:
                log.warning(
                    "adverts not sent",
                    extra={"event": "adverts-failed", "unit": unit, "error": error},
                )
            self._error = error
            return
        self._error = None
        self.link = link
        log.info(
            "adverts",
            extra={
                "event": "adverts",
                "unit": unit,
                "interface": interface,
                "destination": link.destination,
                "port": self.port,
            },
        )

    def send(self, *, boot_id: str, role: str, revision: int) -> None:
        if self.link is not None:
            self.link.send(boot_id=boot_id, role=role, revision=revision)

    def partner_ago(self) -> float | None:
        """Seconds since the partner's last fresh advert; None: none since the link opened."""
        if self.link is None:
            return None
        seen = self.link.received.partner_seen
        return None if seen is None else max(0.0, self.link.received.clock() - seen)

    def conflicts(self) -> tuple[tuple[str, str], ...]:
        if self.link is None:
            return ()
        return tuple((c.sender, c.detail) for c in self.link.conflicts())

    def report(self) -> AdvertsReport | None:
        if self._way is None:
            return None
        _, interface, broadcast, _ = self._way
        link = self.link
        return AdvertsReport(
            interface=interface,
            broadcast=broadcast,
            destination=link.destination if link is not None else None,
            port=self.port,
            sent=link is not None and link.sent > 0,
            error=self._error,
        )

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None
        self._way = None


def is_ipv6(shared: str | None) -> bool:
    """Whether ``shared`` (``HOST:PORT``, ``[V6]:PORT``) has an IPv6 literal host."""
    if not shared:
        return False
    try:
        host, _ = parse_host_port(shared)
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
