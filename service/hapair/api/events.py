"""``GET /api/v1/ha/events``: the pair's event stream (Server-Sent Events, SPEC 5a)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, Parameter
from litestar.response import Stream

from hapair.api.problems import responses
from hapair.clock import wall
from hapair.domain.errors import Malformed, StoreUnavailable
from hapair.domain.event_ids import WHITESPACE, WS, EventId, format_id, parse_id
from hapair.server.listener import limits_of
from hapair.services.events import TYPES, Events, Subscription, frame, reset_frame

BACKLOG_PAGE = 500

ID_HELP = (
    "An event id (`<milliseconds>-<sequence>`, the Redis stream id): the stream starts with "
    "every kept event after it, then live ones."
)


def types_pattern(types: frozenset[str]) -> str:
    """Exactly the ``types`` values ``_parse_types`` accepts: comma-separated elements, each
    blank or one of ``types`` (whitespace around it is ignored), at least one not blank."""
    known = "|".join(re.escape(t) for t in sorted(types, key=lambda t: (-len(t), t)))
    return rf"^(?:{WS}*,)*{WS}*(?:{known}){WS}*(?:,{WS}*(?:(?:{known}){WS}*)?)*$"


TYPES_PATTERN = types_pattern(TYPES)
"""The pattern of ``types`` in the OpenAPI document, generated from the server's own list."""

EVENT_SCHEMA: dict[str, Any] = {
    "title": "Event",
    "type": "object",
    "description": (
        "One event of the stream, as an SSE client reads it (OpenAPI 3.1 states a "
        "`text/event-stream` body per event, as here; 3.2 names this `itemSchema`). "
        "`reset` carries no `id`: the client's last id stays what it was."
    ),
    "properties": {
        "event": {"type": "string", "enum": [*sorted(TYPES), "reset"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "A JSON object with `at` (RFC 3339) and the event's fields (SPEC 5a).",
        },
        "id": {
            "type": "string",
            "pattern": "^[0-9]{1,20}-[0-9]{1,20}$",
            "description": "`<milliseconds>-<sequence>`: give it back as `Last-Event-ID`.",
        },
    },
    "required": ["event", "data"],
    "additionalProperties": False,
}
"""The schema of one event (``frame`` and ``reset_frame`` write them), generated from
``TYPES`` as ``types``' pattern is."""


def _parse_types(raw: str | None) -> frozenset[str] | None:
    if raw is None:
        return None
    asked = frozenset(t.strip(WHITESPACE) for t in raw.split(",") if t.strip(WHITESPACE))
    unknown = sorted(asked - TYPES)
    if unknown or not asked:
        raise Malformed(
            f"types: unknown event type(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(sorted(TYPES))}"
        )
    return asked


def _parse_since(raw: str | None, what: str) -> EventId | None:
    if raw is None:
        return None
    eid = parse_id(raw)
    if eid is None:
        raise Malformed(f"{what} must be an event id such as 1732540000000-0, got {raw[:60]!r}")
    return eid


def _transport(request: Request[Any, Any, Any]) -> Any:
    """The transport of this request's connection, found among the unit's open connections
    (the listener's protocols, see server/listener.py) by its two addresses; None if absent.

    ASGI gives a handler no way to drop a connection or to write without a task wake-up per
    message; the event stream needs both (see ``Subscription``).
    """
    client, server = request.scope.get("client"), request.scope.get("server")
    if client is None or server is None:
        return None
    for proto in list(limits_of(request.app).open):
        if getattr(proto, "client", None) == client and getattr(proto, "server", None) == server:
            return getattr(proto, "transport", None)
    return None


def _abort_connection(request: Request[Any, Any, Any]) -> None:
    """Closes this request's TCP connection at once (its unsent data discarded).

    A client that reads nothing leaves the response's writes waiting for socket buffer room,
    so ending the response would not reach it; aborting the transport does, and releases the
    waiting write.
    """
    transport = _transport(request)
    if transport is not None:
        transport.abort()


async def _frames(
    events: Events,
    sub: Subscription,
    since: EventId | None,
    reset: str | None | bool,
    transport: Any,
) -> AsyncIterator[bytes]:
    try:
        last = since
        if reset is not False:
            yield reset_frame(reset if isinstance(reset, str) else None)
        if last is not None:
            while True:
                batch = await events.after(last, count=BACKLOG_PAGE)
                for event in batch:
                    last = event.id
                    if sub.wants(event.type):
                        yield frame(event)
                if len(batch) < BACKLOG_PAGE:
                    break
        if transport is not None:
            # Everything sent so far went through the server (its writes are synchronous
            # unless the client lags, and then this generator waits): from here on the
            # fan-out writes each batch into the transport itself, in order.
            sub.go_direct(transport, last)
            while not sub.dropped:
                try:
                    async with asyncio.timeout(events.keepalive_s):
                        await sub.done.wait()
                except TimeoutError:
                    sub.write(b": keepalive\n\n")
            return
        while not sub.dropped:
            try:
                async with asyncio.timeout(events.keepalive_s):
                    got = await sub.queue.get()
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            if got is None:
                return
            chunk, last = sub.take(got, last)
            if chunk:
                yield chunk
    except StoreUnavailable:
        return  # the client reconnects with its last id
    finally:
        events.unsubscribe(sub)


class EventsController(Controller):
    """The pair's event stream."""

    path = "/ha"
    tags = ["ha"]  # noqa: RUF012

    @get(
        "/events",
        operation_id="stream_events",
        opt={"serve": "ha"},
        summary="Follow the pair's events (Server-Sent Events)",
        description=(
            "`text/event-stream`: each event has an `id` (increasing), an `event` type "
            f"({', '.join(f'`{t}`' for t in sorted(TYPES))}) and JSON `data` with `at`. "
            "With `Last-Event-ID` (wins over `since`) or `since`: every kept event after that "
            "id, then live ones, no gap and no duplicate; an id older than the oldest kept "
            "(or newer than the newest) starts the stream with an event `reset` "
            '(`{"oldest"}`): re-read the state. A `: keepalive` comment every 15 s. '
            "A client that does not keep up is disconnected: it reconnects with its last id."
        ),
        media_type="text/event-stream",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/event-stream",
                generate_examples=False,
                description="The event stream (never ends while the client reads it).",
            ),
            **responses(400, 401, 403, 409, 503),
        },
    )
    async def stream_events(
        self,
        request: Request[Any, Any, Any],
        events: NamedDependency[Events | None],
        since: Annotated[str | None, Parameter(max_length=60, description=ID_HELP)] = None,
        types: Annotated[
            str | None,
            Parameter(
                max_length=200,
                description="Comma-separated event types to receive (default: all).",
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(
                name="Last-Event-ID",
                required=False,
                max_length=60,
                description="As `since`; sent by SSE clients when they reconnect.",
            ),
        ] = None,
    ) -> Stream:
        if events is None:
            raise StoreUnavailable("this unit serves no event stream")
        wanted = _parse_types(types)
        start = _parse_since(since, "since")
        header = _parse_since(last_event_id, "Last-Event-ID")
        if header is not None:
            start = header  # an SSE client reconnects with the header and its original URL
        state = request.scope["state"]
        expires = state.get("token_expires")
        sub = await events.subscribe(
            wanted,
            actor=state.get("actor"),
            expires_in=None if expires is None else expires - wall(),
        )
        try:
            reset: str | None | bool = False
            if start is not None:
                kept = await events.bounds()
                # a reset only where events after ``start`` may be gone: older than the oldest
                # kept once the stream has been trimmed, or newer than anything this stream holds
                if kept is not None and ((kept[2] and start < kept[0]) or start > kept[1]):
                    reset = format_id(kept[0])
                    start = (0, 0)
        except BaseException:
            events.unsubscribe(sub)
            raise
        sub.on_drop = lambda: _abort_connection(request)
        # direct writes frame HTTP/1.1 chunks themselves (an HTTP/1.0 body is not chunked)
        transport = _transport(request) if request.scope.get("http_version") == "1.1" else None
        return Stream(
            _frames(events, sub, start, reset, transport),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
