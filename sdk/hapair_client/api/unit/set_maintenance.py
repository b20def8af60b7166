from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.maintenance_write import MaintenanceWrite
from ...models.problem import Problem
from ...models.unit_view import UnitView
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: MaintenanceWrite,
    force: bool | Unset = False,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["force"] = force

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/unit/maintenance",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UnitView | None:
    if response.status_code == 200:
        response_200 = UnitView.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | UnitView]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: MaintenanceWrite,
    force: bool | Unset = False,
) -> Response[Problem | UnitView]:
    """Maintenance on or off for this unit

     A unit in maintenance never becomes active, keeps its Redis a replica of the active's and shows
    `not_operational` / `yellow` / `maintenance`. An active unit first hands over as in a planned
    switchover (409 `switchover-refused` when a check fails, unless `?force=true`). Kept in the data dir
    until disabled.

    Args:
        force (bool | Unset): Skip the hand-over checks of an active unit. Default: False.
        body (MaintenanceWrite): Maintenance on or off for this unit.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnitView]
    """

    kwargs = _get_kwargs(
        body=body,
        force=force,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: MaintenanceWrite,
    force: bool | Unset = False,
) -> Problem | UnitView | None:
    """Maintenance on or off for this unit

     A unit in maintenance never becomes active, keeps its Redis a replica of the active's and shows
    `not_operational` / `yellow` / `maintenance`. An active unit first hands over as in a planned
    switchover (409 `switchover-refused` when a check fails, unless `?force=true`). Kept in the data dir
    until disabled.

    Args:
        force (bool | Unset): Skip the hand-over checks of an active unit. Default: False.
        body (MaintenanceWrite): Maintenance on or off for this unit.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UnitView
    """

    return sync_detailed(
        client=client,
        body=body,
        force=force,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: MaintenanceWrite,
    force: bool | Unset = False,
) -> Response[Problem | UnitView]:
    """Maintenance on or off for this unit

     A unit in maintenance never becomes active, keeps its Redis a replica of the active's and shows
    `not_operational` / `yellow` / `maintenance`. An active unit first hands over as in a planned
    switchover (409 `switchover-refused` when a check fails, unless `?force=true`). Kept in the data dir
    until disabled.

    Args:
        force (bool | Unset): Skip the hand-over checks of an active unit. Default: False.
        body (MaintenanceWrite): Maintenance on or off for this unit.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnitView]
    """

    kwargs = _get_kwargs(
        body=body,
        force=force,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: MaintenanceWrite,
    force: bool | Unset = False,
) -> Problem | UnitView | None:
    """Maintenance on or off for this unit

     A unit in maintenance never becomes active, keeps its Redis a replica of the active's and shows
    `not_operational` / `yellow` / `maintenance`. An active unit first hands over as in a planned
    switchover (409 `switchover-refused` when a check fails, unless `?force=true`). Kept in the data dir
    until disabled.

    Args:
        force (bool | Unset): Skip the hand-over checks of an active unit. Default: False.
        body (MaintenanceWrite): Maintenance on or off for this unit.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UnitView
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            force=force,
        )
    ).parsed
