from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.unit_patch import UnitPatch
from ...models.unit_view import UnitView
from ...types import UNSET, Response


def _get_kwargs(
    *,
    body: UnitPatch | UnitPatch | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/unit",
    }

    if isinstance(body, UnitPatch):
        _kwargs["json"] = body.to_dict()

        headers["Content-Type"] = "application/json"
    if isinstance(body, UnitPatch):
        _kwargs["json"] = body.to_dict()

        headers["Content-Type"] = "application/merge-patch+json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UnitView | None:
    if response.status_code == 202:
        response_202 = UnitView.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

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
    body: UnitPatch | UnitPatch | Unset = UNSET,
) -> Response[Problem | UnitView]:
    """Stage unit settings for the next reboot

     Mode, partner and shared address are pending until `POST /unit/reboot`.

    Args:
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnitView]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: UnitPatch | UnitPatch | Unset = UNSET,
) -> Problem | UnitView | None:
    """Stage unit settings for the next reboot

     Mode, partner and shared address are pending until `POST /unit/reboot`.

    Args:
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UnitView
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: UnitPatch | UnitPatch | Unset = UNSET,
) -> Response[Problem | UnitView]:
    """Stage unit settings for the next reboot

     Mode, partner and shared address are pending until `POST /unit/reboot`.

    Args:
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UnitView]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: UnitPatch | UnitPatch | Unset = UNSET,
) -> Problem | UnitView | None:
    """Stage unit settings for the next reboot

     Mode, partner and shared address are pending until `POST /unit/reboot`.

    Args:
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).
        body (UnitPatch): Unit settings to change at the next reboot (also: the changes waiting
            for it).

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
        )
    ).parsed
