"""``GET /``: a small status page showing the pair as the seed's squares.

Rendered on the server from the same facts as ``GET /ha/status`` (pair state, each unit's role,
icon, reason, direct address, whether it serves the shared address, and its last transition with
the cause; no parameters, no tokens), so it needs no script. It is open
without a token, like ``/healthz``: a browser on the operator's desk cannot send a bearer
token, and it shows nothing ``hapair status`` would not. It refreshes itself every few seconds.

Being open, it must cost an anonymous client next to nothing (SPEC 6): the page is rendered at
most once a second (``RENDER_EVERY_S``) and every request meanwhile gets that rendering, so a
flood of ``GET /`` makes no Redis call and no call to the partner per request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from html import escape

from litestar import Response, get
from litestar.handlers import BaseRouteHandler

from hapair.api.deps import EngineDep
from hapair.domain.status import MAINTENANCE_ICON, PairStatus, Role, UnitStatus
from hapair.engine.control import HAControl

REFRESH_S = 3
RENDER_EVERY_S = 1.0


@dataclass
class _Rendered:
    """One engine's last rendering of the page and when it was made (monotonic seconds)."""

    html: str = ""
    at: float = -RENDER_EVERY_S
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_rendered: weakref.WeakKeyDictionary[HAControl, _Rendered] = weakref.WeakKeyDictionary()


async def _page(engine: HAControl) -> str:
    """The page, rendered again only when the last rendering is a second old (requests that
    arrive while it is being rendered wait for that one)."""
    cached = _rendered.setdefault(engine, _Rendered())
    async with cached.lock:
        if time.monotonic() - cached.at >= RENDER_EVERY_S:
            status = await engine.status()
            cached.html = render(
                status,
                unit_name=engine.name,
                address=engine.address,
                scheme="https" if engine.settings.tls else "http",
            )
            cached.at = time.monotonic()
        return cached.html


# icon -> (fill colour, letter): the seed's squares (green with A, green, red, yellow for
# maintenance, blue, grey).
SQUARES: dict[str, tuple[str, str]] = {
    Role.ACTIVE.icon: ("#2e9e44", "A"),
    Role.STANDBY.icon: ("#2e9e44", ""),
    Role.NOT_OPERATIONAL.icon: ("#d2322d", ""),
    MAINTENANCE_ICON: ("#e0b000", ""),
    Role.PACIFIED.icon: ("#2f6fd6", ""),
    Role.INDETERMINATE.icon: ("#8a8a8a", ""),
}

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .3rem}
.pair{display:flex;gap:1.5rem;margin:1.2rem 0}
.unit{text-align:center;font-size:.85rem;color:#222;text-decoration:none}
.sq{width:64px;height:64px;border-radius:6px;display:flex;align-items:center;
justify-content:center;color:#fff;font-weight:700;font-size:1.6rem;margin:0 auto .4rem;
border:1px solid rgba(0,0,0,.25)}
.muted{color:#666;font-size:.85rem}
.shared{font-size:.85rem;font-weight:600}
table{border-collapse:collapse;font-size:.85rem}td{padding:.1rem .8rem .1rem 0}
"""


def _transition(unit: UnitStatus) -> str:
    """``from -> to (cause)`` and when, of the unit's last change of role (or since when)."""
    last = unit.last_transition
    if last is not None:
        text = f"{last.from_role} → {last.to_role} ({last.cause})"
        return (
            f'<div class="muted transition">{escape(text)}</div>'
            f'<div class="muted">at {escape(last.at)}</div>'
        )
    if unit.role_since:
        return f'<div class="muted">since {escape(unit.role_since)}</div>'
    return ""


def _square(unit: UnitStatus, scheme: str) -> str:
    colour, letter = SQUARES.get(unit.icon, ("#8a8a8a", ""))
    label = unit.role + (f" ({unit.reason})" if unit.reason else "")
    inner = (
        f'<div class="sq" style="background:{colour}" title="{escape(label)}">{letter}</div>'
        f"<div><b>{escape(unit.name)}</b></div><div>{escape(label)}</div>"
        f'<div class="muted">{escape(unit.address or "address unknown")}</div>'
        + ('<div class="shared">serving the shared address</div>' if unit.serving_shared else "")
        + _transition(unit)
    )
    css = f"unit icon-{escape(unit.icon)}"
    data = f'data-unit="{escape(unit.name)}" data-icon="{escape(unit.icon)}"'
    if unit.address:
        href = escape(f"{scheme}://{unit.address}/")
        return f'<a class="{css}" {data} href="{href}">{inner}</a>'
    return f'<div class="{css}" {data}>{inner}</div>'


def render(status: PairStatus, *, unit_name: str, address: str, scheme: str) -> str:
    """The status page's HTML."""
    if status.pair.state == "disabled":
        body = (
            '<p id="ha-disabled"><b>HA is disabled</b>: this unit runs standalone '
            "(mode <code>non_ha</code>).</p>"
        )
    else:
        active = status.pair.active or "none"
        squares = "".join(_square(u, scheme) for u in status.units)
        body = (
            f'<p>Pair state: <b id="pair-state">{escape(status.pair.state)}</b>, '
            f"active unit: <b>{escape(active)}</b></p>"
            f'<div class="pair">{squares}</div>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        '<link rel="icon" href="data:,">'
        f"<title>hapair: {escape(unit_name)}</title><style>{STYLE}</style></head><body>"
        f'<h1>hapair</h1><p class="muted">This page is served by unit '
        f"<b>{escape(unit_name)}</b> at {escape(address)}; it refreshes every {REFRESH_S} s.</p>"
        f"{body}"
        '<p class="muted"><a href="/docs">API docs</a> · <a href="/openapi.json">openapi.json</a>'
        "</p></body></html>\n"
    )


@get("/", include_in_schema=False)
async def status_page(engine: EngineDep) -> Response[str]:
    """``GET /``: the pair's status as coloured squares."""
    return Response(
        await _page(engine),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def handlers() -> list[BaseRouteHandler]:
    """The status page route."""
    return [status_page]
