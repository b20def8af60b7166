from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    params: dict[str, Any] = {}

    params["since"] = since

    params["types"] = types

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/ha/events",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Problem | str]:
    """Follow the pair's events (Server-Sent Events)

     `text/event-stream`: each event has an `id` (increasing), an `event` type (`alert`, `applied`,
    `audit`, `conflict`, `maintenance`, `pair`, `revision`, `role`, `track`) and JSON `data` with `at`.
    With `Last-Event-ID` (wins over `since`) or `since`: every kept event after that id, then live ones,
    no gap and no duplicate; an id older than the oldest kept (or newer than the newest) starts the
    stream with an event `reset` (`{"oldest"}`): re-read the state. A `: keepalive` comment every 15 s.
    A client that does not keep up is disconnected: it reconnects with its last id.

    Args:
        since (str | Unset): An event id (`<milliseconds>-<sequence>`, the Redis stream id): the
            stream starts with every kept event after it, then live ones.
        types (str | Unset): Comma-separated event types to receive (default: all).
        last_event_id (str | Unset): As `since`; sent by SSE clients when they reconnect.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        since=since,
        types=types,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Problem | str | None:
    """Follow the pair's events (Server-Sent Events)

     `text/event-stream`: each event has an `id` (increasing), an `event` type (`alert`, `applied`,
    `audit`, `conflict`, `maintenance`, `pair`, `revision`, `role`, `track`) and JSON `data` with `at`.
    With `Last-Event-ID` (wins over `since`) or `since`: every kept event after that id, then live ones,
    no gap and no duplicate; an id older than the oldest kept (or newer than the newest) starts the
    stream with an event `reset` (`{"oldest"}`): re-read the state. A `: keepalive` comment every 15 s.
    A client that does not keep up is disconnected: it reconnects with its last id.

    Args:
        since (str | Unset): An event id (`<milliseconds>-<sequence>`, the Redis stream id): the
            stream starts with every kept event after it, then live ones.
        types (str | Unset): Comma-separated event types to receive (default: all).
        last_event_id (str | Unset): As `since`; sent by SSE clients when they reconnect.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return sync_detailed(
        client=client,
        since=since,
        types=types,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Response[Problem | str]:
    """Follow the pair's events (Server-Sent Events)

     `text/event-stream`: each event has an `id` (increasing), an `event` type (`alert`, `applied`,
    `audit`, `conflict`, `maintenance`, `pair`, `revision`, `role`, `track`) and JSON `data` with `at`.
    With `Last-Event-ID` (wins over `since`) or `since`: every kept event after that id, then live ones,
    no gap and no duplicate; an id older than the oldest kept (or newer than the newest) starts the
    stream with an event `reset` (`{"oldest"}`): re-read the state. A `: keepalive` comment every 15 s.
    A client that does not keep up is disconnected: it reconnects with its last id.

    Args:
        since (str | Unset): An event id (`<milliseconds>-<sequence>`, the Redis stream id): the
            stream starts with every kept event after it, then live ones.
        types (str | Unset): Comma-separated event types to receive (default: all).
        last_event_id (str | Unset): As `since`; sent by SSE clients when they reconnect.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs(
        since=since,
        types=types,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    types: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,
) -> Problem | str | None:
    """Follow the pair's events (Server-Sent Events)

     `text/event-stream`: each event has an `id` (increasing), an `event` type (`alert`, `applied`,
    `audit`, `conflict`, `maintenance`, `pair`, `revision`, `role`, `track`) and JSON `data` with `at`.
    With `Last-Event-ID` (wins over `since`) or `since`: every kept event after that id, then live ones,
    no gap and no duplicate; an id older than the oldest kept (or newer than the newest) starts the
    stream with an event `reset` (`{"oldest"}`): re-read the state. A `: keepalive` comment every 15 s.
    A client that does not keep up is disconnected: it reconnects with its last id.

    Args:
        since (str | Unset): An event id (`<milliseconds>-<sequence>`, the Redis stream id): the
            stream starts with every kept event after it, then live ones.
        types (str | Unset): Comma-separated event types to receive (default: all).
        last_event_id (str | Unset): As `since`; sent by SSE clients when they reconnect.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            types=types,
            last_event_id=last_event_id,
        )
    ).parsed
