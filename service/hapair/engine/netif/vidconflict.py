"""Virtual-ID conflicts (SPEC 5b' "Virtual ID conflicts"): the VRRP parser and what is kept per
sender that uses this pair's virtual ID (``engine/netif/adverts.py`` feeds it).

A conflict is shown while its sender keeps sending and clears by itself once it stops:
:data:`CONFLICT_HOLD` of the sender's own intervals after its last packet, and never less than
that many of this unit's heartbeat intervals. The sender's interval is what a VRRP
advertisement says (``advert_int``: seconds in VRRPv2, centiseconds in VRRPv3), or, for another
hapair pair, what the counters of its adverts show (one per its heartbeat interval). A sender
that sends less often than this unit's heartbeat (a keepalived with ``advert_int 3`` beside a
pair at 1 s) therefore shows one alert for as long as it sends, not one per advert. Another
pair more than 3 times slower than this unit clears once before its pace is known (its second
advert comes after the hold): a cleared sender's last advert is remembered for
:data:`GONE_KEPT` seconds, so its next one gives the pace and the alert then lasts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("hapair.engine")

VRRP_PROTOCOL = 112
CONFLICT_HOLD = 3.0  # sender intervals after a conflicting sender's last packet before it clears
GONE_KEPT = 300.0  # seconds a cleared sender's last packet is remembered (to learn its pace)


def vrrp_advert(packet: bytes) -> tuple[int, float] | None:
    """The VRID of a VRRP advertisement as a raw IPv4 socket receives it (IP header first) and
    the seconds between its sender's adverts (None for 0); None if it is not one (VRRP versions
    2 and 3, type 1)."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if packet[0] >> 4 != 4 or packet[9] != VRRP_PROTOCOL:
        return None
    return vrrp_message(packet[ihl:])


def vrrp_message(message: bytes) -> tuple[int, float] | None:
    """:func:`vrrp_advert` of the VRRP message alone (what a raw IPv6 socket receives)."""
    if len(message) < 8:
        return None
    version, kind = message[0] >> 4, message[0] & 0x0F
    if version not in (2, 3) or kind != 1:
        return None
    if version == 2:  # auth type, then Adver Int in seconds
        return message[1], float(message[5])
    # 4 reserved bits, then Max Adver Int in centiseconds (RFC 5798)
    return message[1], (((message[4] & 0x0F) << 8) | message[5]) / 100


def vrrp_vrid(packet: bytes) -> int | None:
    """The VRID of a VRRP advertisement (:func:`vrrp_advert`), None if it is not one."""
    found = vrrp_advert(packet)
    return None if found is None else found[0]


@dataclass
class Conflict:
    """Another sender using this pair's virtual ID."""

    sender: str  # its IP address
    kind: str  # "hapair" (an advert this pair's key does not sign) or "vrrp"
    since: float  # wall clock of its first packet
    last: float  # monotonic time of its last packet
    period: float | None = None  # seconds between its packets, when known
    counter: int | None = None  # its last advert's counter (another pair's adverts)

    @property
    def detail(self) -> str:
        """What status and the ``alert`` event say."""
        what = "a VRRP advertisement" if self.kind == "vrrp" else "an advert of another pair"
        return f"{what} with this pair's virtual ID from {self.sender}"

    def heard(self, now: float, *, period: float | None, counter: int | None) -> None:
        """Another packet of this sender at ``now``."""
        if period:
            self.period = period
        elif counter is not None and self.counter is not None and counter > self.counter:
            self.period = (now - self.last) / (counter - self.counter)
        if counter is not None:
            self.counter = counter
        self.last = now

    def hold(self, interval: float) -> float:
        """Seconds after its last packet until it clears (``interval``: this unit's)."""
        return CONFLICT_HOLD * max(interval, self.period or 0.0)


Conflicts = dict[tuple[str, str], Conflict]  # (sender, kind) -> what is known of it


def note(
    conflicts: Conflicts,
    gone: Conflicts,
    sender: str,
    kind: str,
    *,
    own: str,
    now: float,
    wall: float,
    period: float | None = None,
    counter: int | None = None,
) -> None:
    """A packet of ``kind`` from ``sender`` claims this pair's virtual ID (logged when new;
    ``gone``: the senders cleared lately)."""
    key = (sender, kind)
    seen = conflicts.get(key)
    if seen is not None:
        seen.heard(now, period=period, counter=counter)
        return
    log.warning(
        "virtual ID conflict",
        extra={"event": "virtual-id-conflict", "unit": own, "sender": sender, "kind": kind},
    )
    before = gone.pop(key, None)
    if before is None:
        conflicts[key] = Conflict(sender, kind, wall, now, period or None, counter)
        return
    made = Conflict(sender, kind, wall, before.last, before.period, before.counter)
    made.heard(now, period=period, counter=counter)  # its pace, from its last packet before
    conflicts[key] = made


def current(
    conflicts: Conflicts, gone: Conflicts, *, own: str, now: float, interval: float
) -> list[Conflict]:
    """The conflicts whose sender was heard within their hold; the others move to ``gone``
    (kept :data:`GONE_KEPT` seconds)."""
    for k in [k for k, c in gone.items() if now - c.last > GONE_KEPT]:
        del gone[k]
    for k in [k for k, c in conflicts.items() if now - c.last > c.hold(interval)]:
        log.info(
            "virtual ID conflict cleared",
            extra={
                "event": "virtual-id-conflict-cleared",
                "unit": own,
                "sender": conflicts[k].sender,
            },
        )
        gone[k] = conflicts.pop(k)
    return sorted(conflicts.values(), key=lambda c: (c.since, c.sender))
