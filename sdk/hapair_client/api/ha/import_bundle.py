from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.bundle import Bundle
from ...models.import_result import ImportResult
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: Bundle,
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
        "method": "post",
        "url": "/api/v1/ha/import",
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ImportResult | Problem | None:
    if response.status_code == 200:
        response_200 = ImportResult.from_dict(response.json())

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
) -> Response[ImportResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: Bundle,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[ImportResult | Problem]:
    """Import a backup bundle

     Makes the pair hold the bundle's parameters (one new revision, actor `import`, unless they are equal
    already) and its token set (tokens the bundle does not hold are removed; a token revoked on this
    pair stays revoked). Answers the diff: `changes` (`{field: [now, bundle]}`) and `tokens` (`added`,
    `removed`, `revoked`). `?dry_run=true` stores nothing. A bundle whose checksum fails, whose `format`
    is unknown or whose `hapair_version` is more than one minor version apart: 422.

    Args:
        dry_run (bool | Unset): Check the bundle and answer the diff; store nothing. Default:
            False.
        if_match (str | Unset):
        body (Bundle): A backup of the pair: the HA parameters as written and the API tokens
            (format 1).

            ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
            "Backup and restore").

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ImportResult | Problem]
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
    body: Bundle,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> ImportResult | Problem | None:
    """Import a backup bundle

     Makes the pair hold the bundle's parameters (one new revision, actor `import`, unless they are equal
    already) and its token set (tokens the bundle does not hold are removed; a token revoked on this
    pair stays revoked). Answers the diff: `changes` (`{field: [now, bundle]}`) and `tokens` (`added`,
    `removed`, `revoked`). `?dry_run=true` stores nothing. A bundle whose checksum fails, whose `format`
    is unknown or whose `hapair_version` is more than one minor version apart: 422.

    Args:
        dry_run (bool | Unset): Check the bundle and answer the diff; store nothing. Default:
            False.
        if_match (str | Unset):
        body (Bundle): A backup of the pair: the HA parameters as written and the API tokens
            (format 1).

            ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
            "Backup and restore").

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportResult | Problem
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
    body: Bundle,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[ImportResult | Problem]:
    """Import a backup bundle

     Makes the pair hold the bundle's parameters (one new revision, actor `import`, unless they are equal
    already) and its token set (tokens the bundle does not hold are removed; a token revoked on this
    pair stays revoked). Answers the diff: `changes` (`{field: [now, bundle]}`) and `tokens` (`added`,
    `removed`, `revoked`). `?dry_run=true` stores nothing. A bundle whose checksum fails, whose `format`
    is unknown or whose `hapair_version` is more than one minor version apart: 422.

    Args:
        dry_run (bool | Unset): Check the bundle and answer the diff; store nothing. Default:
            False.
        if_match (str | Unset):
        body (Bundle): A backup of the pair: the HA parameters as written and the API tokens
            (format 1).

            ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
            "Backup and restore").

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ImportResult | Problem]
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
    body: Bundle,
    dry_run: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> ImportResult | Problem | None:
    """Import a backup bundle

     Makes the pair hold the bundle's parameters (one new revision, actor `import`, unless they are equal
    already) and its token set (tokens the bundle does not hold are removed; a token revoked on this
    pair stays revoked). Answers the diff: `changes` (`{field: [now, bundle]}`) and `tokens` (`added`,
    `removed`, `revoked`). `?dry_run=true` stores nothing. A bundle whose checksum fails, whose `format`
    is unknown or whose `hapair_version` is more than one minor version apart: 422.

    Args:
        dry_run (bool | Unset): Check the bundle and answer the diff; store nothing. Default:
            False.
        if_match (str | Unset):
        body (Bundle): A backup of the pair: the HA parameters as written and the API tokens
            (format 1).

            ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
            "Backup and restore").

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportResult | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            dry_run=dry_run,
            if_match=if_match,
        )
    ).parsed
