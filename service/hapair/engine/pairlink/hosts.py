"""Which hosts a unit trusts with its data: a Redis URL its partner advertises is used only when
it is on the partner's configured host (no DNS lookup).
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from hapair.domain.unit import is_loopback_host


def _host_of_url(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _host_of_address(address: str) -> str | None:
    if "//" not in address:
        address = "//" + address
    return _host_of_url(address)


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


@functools.lru_cache(maxsize=32)  # asked each heartbeat with the same two strings (issue 23)
def redis_on_partner_host(redis_url: str, partner_address: str | None) -> bool:
    """Whether a Redis URL the partner advertises is on the partner's configured host.

    An empty URL (the partner advertises none) is allowed: there is nothing to use. A loopback
    URL is allowed only when the partner's address is loopback too (both units on this host,
    as in ``hapair up``); otherwise the hosts must be equal (IP addresses compared as such,
    names as lowercase strings: no DNS lookup).
    """
    if not redis_url:
        return True
    if not partner_address:
        return False
    redis_host = _host_of_url(redis_url)
    partner_host = _host_of_address(partner_address)
    if redis_host is None or partner_host is None:
        return False
    if is_loopback_host(partner_host):
        return is_loopback_host(redis_host)
    return _same_host(redis_host, partner_host)
