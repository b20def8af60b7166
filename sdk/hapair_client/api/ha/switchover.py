from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.switchover_result import SwitchoverResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    dry_run: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["dry_run"] = dry_run

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/ha/actions/switchover",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SwitchoverResult | None:
    if response.status_code == 200:
        response_200 = SwitchoverResult.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | SwitchoverResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    dry_run: bool | Unset = False,
) -> Response[Problem | SwitchoverResult]:
    """Planned switchover to the standby

     On the active: runs the checks (`partner-reachable`, `partner-standby`, `partner-in-sync`, `partner-
    not-pacified`, `partner-not-in-maintenance`, `preferred-server`); when all pass the standby becomes
    active and this unit standby, and the answer comes once the new active serves the shared address.
    One failed check: 409 `switchover-refused` with `checks`. `?dry_run=true` runs only the checks.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SwitchoverResult]
    """

    kwargs = _get_kwargs(
        dry_run=dry_run,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    dry_run: bool | Unset = False,
) -> Problem | SwitchoverResult | None:
    """Planned switchover to the standby

     On the active: runs the checks (`partner-reachable`, `partner-standby`, `partner-in-sync`, `partner-
    not-pacified`, `partner-not-in-maintenance`, `preferred-server`); when all pass the standby becomes
    active and this unit standby, and the answer comes once the new active serves the shared address.
    One failed check: 409 `switchover-refused` with `checks`. `?dry_run=true` runs only the checks.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SwitchoverResult
    """

    return sync_detailed(
        client=client,
        dry_run=dry_run,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    dry_run: bool | Unset = False,
) -> Response[Problem | SwitchoverResult]:
    """Planned switchover to the standby

     On the active: runs the checks (`partner-reachable`, `partner-standby`, `partner-in-sync`, `partner-
    not-pacified`, `partner-not-in-maintenance`, `preferred-server`); when all pass the standby becomes
    active and this unit standby, and the answer comes once the new active serves the shared address.
    One failed check: 409 `switchover-refused` with `checks`. `?dry_run=true` runs only the checks.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SwitchoverResult]
    """

    kwargs = _get_kwargs(
        dry_run=dry_run,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    dry_run: bool | Unset = False,
) -> Problem | SwitchoverResult | None:
    """Planned switchover to the standby

     On the active: runs the checks (`partner-reachable`, `partner-standby`, `partner-in-sync`, `partner-
    not-pacified`, `partner-not-in-maintenance`, `preferred-server`); when all pass the standby becomes
    active and this unit standby, and the answer comes once the new active serves the shared address.
    One failed check: 409 `switchover-refused` with `checks`. `?dry_run=true` runs only the checks.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SwitchoverResult
    """

    return (
        await asyncio_detailed(
            client=client,
            dry_run=dry_run,
        )
    ).parsed
