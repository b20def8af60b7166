"""``hapair events``: follows the pair's event stream, one line per event.

Reconnects by itself with the last id it received (``Last-Event-ID``), so it misses nothing
the unit still keeps; ``--json`` prints one JSON object per line for machines.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hapair.cli.status import add_unit_flags, unit_client
from hapair.cli.text import printable

RETRY_S = 1.0


def add_parser(sub: Any) -> None:
    """The ``events`` subcommand."""
    ev = sub.add_parser("events", help="follow the pair's event stream")
    add_unit_flags(ev)
    ev.add_argument("--since", default=None, help="start after this event id")
    ev.add_argument("--types", default=None, help="comma-separated event types, e.g. role,pair")
    ev.add_argument("--json", action="store_true", help="one JSON object per line")


def describe(event: str, data: dict[str, Any]) -> str:
    """A readable summary of one event's data."""
    if event == "revision":
        fields = ", ".join(
            f"{k} {json.dumps(v[0])} -> {json.dumps(v[1])}"
            for k, v in (data.get("changes") or {}).items()
        )
        return f"revision {data.get('revision')} by {data.get('actor')}: {fields}"
    if event == "role":
        return f"{data.get('unit')} {data.get('from')} -> {data.get('to')} ({data.get('cause')})"
    if event == "pair":
        return f"{data.get('state')}, active: {data.get('active') or '-'}"
    if event == "conflict":
        return f"{data.get('unit')} archived revisions {data.get('revisions')}"
    if event == "maintenance":
        state = "on" if data.get("enabled") else "off"
        reason = f" ({data['reason']})" if data.get("reason") else ""
        return f"{data.get('unit')} maintenance {state}{reason}"
    if event == "applied":
        return (
            f"{data.get('unit')} {data.get('parameter')} {data.get('state')}: {data.get('detail')}"
        )
    if event == "track":
        state = "ok" if data.get("ok") else "failed"
        detail = f": {data['detail']}" if data.get("detail") else ""
        return f"{data.get('unit')} track {data.get('name')} {state}{detail}"
    if event == "audit":
        return (
            f"{data.get('actor')} {data.get('method')} {data.get('path')} "
            f"({data.get('operation')}, on {data.get('unit')})"
        )
    if event == "alert":
        state = "ended" if data.get("ended") else "raised"
        return f"{data.get('unit')} alert {data.get('reason')} {state}: {data.get('detail')}"
    if event == "reset":
        return f"events before {data.get('oldest')} are no longer kept: re-read the state"
    return json.dumps(data)


def line(event: str, event_id: str | None, data: dict[str, Any], *, as_json: bool) -> str:
    """The printed line of one event."""
    if as_json:
        return json.dumps({"id": event_id, "event": event, "data": data}, separators=(",", ":"))
    at = str(data.get("at") or "")
    clock = f"{at[11:23]}Z" if len(at) >= 23 else at  # HH:MM:SS.mmmZ: the time is UTC
    return printable(f"{clock}  {event:<11}  {describe(event, data)}")


def cmd_events(ns: argparse.Namespace) -> int:
    """Follows the stream until interrupted; 2 on a refusal (bad token, bad id, non-HA)."""
    try:
        return _follow(ns)
    except KeyboardInterrupt:
        return 0


def _follow(ns: argparse.Namespace) -> int:
    import httpx
    from httpx_sse import SSEError, connect_sse

    params = {"types": ns.types} if ns.types else {}
    last: str | None = ns.since
    warned = False
    # read timeout: several keepalive periods (15 s) without a byte means a dead connection;
    # the SDK's client (bearer token, certificate check) carries the stream: it has no SSE call
    url, sdk = unit_client(ns, "events", httpx.Timeout(5.0, read=60.0))
    if sdk is None:
        return 2
    with sdk.get_httpx_client() as client:
        while True:
            headers = {} if last is None else {"Last-Event-ID": last}
            try:
                with connect_sse(
                    client, "GET", "/api/v1/ha/events", params=params, headers=headers
                ) as source:
                    resp = source.response
                    if resp.status_code in (400, 401, 403, 404, 409):
                        resp.read()
                        print(
                            f"hapair events: {resp.status_code} {printable(resp.text)}",
                            file=sys.stderr,
                        )
                        return 2
                    if resp.status_code != 200:
                        raise httpx.HTTPStatusError("retry", request=resp.request, response=resp)
                    if warned:
                        print("hapair events: reconnected", file=sys.stderr, flush=True)
                        warned = False
                    for sse in source.iter_sse():
                        try:
                            data = json.loads(sse.data) if sse.data else {}
                        except ValueError:
                            data = {"raw": sse.data}
                        if sse.id:
                            last = sse.id
                        print(line(sse.event, sse.id or None, data, as_json=ns.json), flush=True)
            except (httpx.HTTPError, SSEError) as exc:
                if not warned:
                    print(
                        f"hapair events: {url} not reachable ({type(exc).__name__}); retrying",
                        file=sys.stderr,
                        flush=True,
                    )
                    warned = True
            time.sleep(RETRY_S)
