"""Planned hand-overs on a real pair: switchover and maintenance requests, a unit's own status,
and the started pair those tests share (``test_switchover.py``, ``test_maintenance.py``)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.pairs import Pair, Unit
from tests.support import poll


def started_and_ready(pair: Pair) -> Pair:
    """Starts ``pair`` and returns it once every switchover check passes."""
    pair.start_both()
    poll(lambda: ready(pair), timeout=10, what="every switchover check passes")
    return pair


def ready(p: Pair) -> bool:
    """Whether a dry-run switchover passes every check."""
    resp = switchover(p, dry_run="true")
    return resp.status_code == 200 and bool(resp.json()["ok"])


def switchover(p: Pair, **params: str) -> httpx.Response:
    """``POST /ha/actions/switchover`` on the shared address, ``params`` as its query."""
    return p.http.post(f"{p.shared_url}/api/v1/ha/actions/switchover", params=params)


def maintenance(p: Pair, unit: Unit, enabled: bool, **params: str) -> httpx.Response:
    """``PUT /unit/maintenance`` on ``unit``'s direct address."""
    return p.http.put(
        f"{unit.url}/api/v1/unit/maintenance",
        json={"enabled": enabled, "reason": "kernel upgrade" if enabled else None},
        params=params,
    )


def own(p: Pair, unit: Unit) -> dict[str, Any]:
    """``unit``'s own entry in its ``/ha/status``."""
    return next(u for u in p.status(unit)["units"] if u["name"] == unit.name)
