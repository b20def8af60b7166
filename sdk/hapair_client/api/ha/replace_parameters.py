from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.ha_parameters_resource import HAParametersResource
from ...models.ha_parameters_write import HAParametersWrite
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: HAParametersWrite,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match

    params: dict[str, Any] = {}

    params["dry_run"] = dry_run

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/ha/parameters",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HAParametersResource | Problem | None:
    if response.status_code == 200:
        response_200 = HAParametersResource.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[HAParametersResource | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: HAParametersWrite,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[HAParametersResource | Problem]:
    """Replace the HA parameters

     Full replace: omitted fields take their defaults. `If-Match` or a body `revision`, when given, must
    be the current revision.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.
        if_match (str | Unset):
        body (HAParametersWrite): The HA parameters as written with PUT (omitted fields take their
            defaults).

            Read-only fields may be sent back as read: ``revision``, when given, must be the current
            revision; ``updated_at`` and ``virtual_id_source`` are ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HAParametersResource | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        dry_run=dry_run,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: HAParametersWrite,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> HAParametersResource | Problem | None:
    """Replace the HA parameters

     Full replace: omitted fields take their defaults. `If-Match` or a body `revision`, when given, must
    be the current revision.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.
        if_match (str | Unset):
        body (HAParametersWrite): The HA parameters as written with PUT (omitted fields take their
            defaults).

            Read-only fields may be sent back as read: ``revision``, when given, must be the current
            revision; ``updated_at`` and ``virtual_id_source`` are ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HAParametersResource | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        dry_run=dry_run,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: HAParametersWrite,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[HAParametersResource | Problem]:
    """Replace the HA parameters

     Full replace: omitted fields take their defaults. `If-Match` or a body `revision`, when given, must
    be the current revision.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.
        if_match (str | Unset):
        body (HAParametersWrite): The HA parameters as written with PUT (omitted fields take their
            defaults).

            Read-only fields may be sent back as read: ``revision``, when given, must be the current
            revision; ``updated_at`` and ``virtual_id_source`` are ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HAParametersResource | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        dry_run=dry_run,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: HAParametersWrite,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> HAParametersResource | Problem | None:
    """Replace the HA parameters

     Full replace: omitted fields take their defaults. `If-Match` or a body `revision`, when given, must
    be the current revision.

    Args:
        dry_run (bool | Unset): Validate and answer what would be stored; store nothing. Default:
            False.
        if_match (str | Unset):
        body (HAParametersWrite): The HA parameters as written with PUT (omitted fields take their
            defaults).

            Read-only fields may be sent back as read: ``revision``, when given, must be the current
            revision; ``updated_at`` and ``virtual_id_source`` are ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HAParametersResource | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            dry_run=dry_run,
            if_match=if_match,
        )
    ).parsed
