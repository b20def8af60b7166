from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.pair_status import PairStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    wait_in_sync: int | Unset = UNSET,
    timeout: float | Unset = 10.0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["wait_in_sync"] = wait_in_sync

    params["timeout"] = timeout

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/ha/status",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PairStatus | Problem | None:
    if response.status_code == 200:
        response_200 = PairStatus.from_dict(response.json())

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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PairStatus | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    wait_in_sync: int | Unset = UNSET,
    timeout: float | Unset = 10.0,
) -> Response[PairStatus | Problem]:
    """The pair's status (the seed's icons)

     With `wait_in_sync=N` it answers as soon as the active and the standby both hold revision N or
    later, or when `timeout` seconds have passed; header `HA-In-Sync` says which (without
    `wait_in_sync`: whether the standby holds the active's revision).

    Args:
        wait_in_sync (int | Unset): Wait until both units hold this revision.
        timeout (float | Unset): Longest wait, seconds (1..60). Default: 10.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PairStatus | Problem]
    """

    kwargs = _get_kwargs(
        wait_in_sync=wait_in_sync,
        timeout=timeout,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    wait_in_sync: int | Unset = UNSET,
    timeout: float | Unset = 10.0,
) -> PairStatus | Problem | None:
    """The pair's status (the seed's icons)

     With `wait_in_sync=N` it answers as soon as the active and the standby both hold revision N or
    later, or when `timeout` seconds have passed; header `HA-In-Sync` says which (without
    `wait_in_sync`: whether the standby holds the active's revision).

    Args:
        wait_in_sync (int | Unset): Wait until both units hold this revision.
        timeout (float | Unset): Longest wait, seconds (1..60). Default: 10.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PairStatus | Problem
    """

    return sync_detailed(
        client=client,
        wait_in_sync=wait_in_sync,
        timeout=timeout,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    wait_in_sync: int | Unset = UNSET,
    timeout: float | Unset = 10.0,
) -> Response[PairStatus | Problem]:
    """The pair's status (the seed's icons)

     With `wait_in_sync=N` it answers as soon as the active and the standby both hold revision N or
    later, or when `timeout` seconds have passed; header `HA-In-Sync` says which (without
    `wait_in_sync`: whether the standby holds the active's revision).

    Args:
        wait_in_sync (int | Unset): Wait until both units hold this revision.
        timeout (float | Unset): Longest wait, seconds (1..60). Default: 10.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PairStatus | Problem]
    """

    kwargs = _get_kwargs(
        wait_in_sync=wait_in_sync,
        timeout=timeout,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    wait_in_sync: int | Unset = UNSET,
    timeout: float | Unset = 10.0,
) -> PairStatus | Problem | None:
    """The pair's status (the seed's icons)

     With `wait_in_sync=N` it answers as soon as the active and the standby both hold revision N or
    later, or when `timeout` seconds have passed; header `HA-In-Sync` says which (without
    `wait_in_sync`: whether the standby holds the active's revision).

    Args:
        wait_in_sync (int | Unset): Wait until both units hold this revision.
        timeout (float | Unset): Longest wait, seconds (1..60). Default: 10.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PairStatus | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            wait_in_sync=wait_in_sync,
            timeout=timeout,
        )
    ).parsed
