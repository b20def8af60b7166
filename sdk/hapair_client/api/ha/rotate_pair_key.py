from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.rotate_result import RotateResult
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/ha/actions/rotate-pair-key",
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RotateResult | None:
    if response.status_code == 200:
        response_200 = RotateResult.from_dict(response.json())

        return response_200

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
) -> Response[Problem | RotateResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RotateResult]:
    """Switch both units to the next pair key

     On the active, with the same `--pair-key-next-file` loaded on both units (SIGHUP): the partner
    switches to the next key, then this unit; both still accept the old key for 10 s, then refuse it.
    409 `pair-key-mismatch` when the units' next keys differ or one has none (nothing switched); 503
    when the partner cannot be asked.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RotateResult]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> Problem | RotateResult | None:
    """Switch both units to the next pair key

     On the active, with the same `--pair-key-next-file` loaded on both units (SIGHUP): the partner
    switches to the next key, then this unit; both still accept the old key for 10 s, then refuse it.
    409 `pair-key-mismatch` when the units' next keys differ or one has none (nothing switched); 503
    when the partner cannot be asked.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RotateResult
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RotateResult]:
    """Switch both units to the next pair key

     On the active, with the same `--pair-key-next-file` loaded on both units (SIGHUP): the partner
    switches to the next key, then this unit; both still accept the old key for 10 s, then refuse it.
    409 `pair-key-mismatch` when the units' next keys differ or one has none (nothing switched); 503
    when the partner cannot be asked.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RotateResult]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> Problem | RotateResult | None:
    """Switch both units to the next pair key

     On the active, with the same `--pair-key-next-file` loaded on both units (SIGHUP): the partner
    switches to the next key, then this unit; both still accept the old key for 10 s, then refuse it.
    409 `pair-key-mismatch` when the units' next keys differ or one has none (nothing switched); 503
    when the partner cannot be asked.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RotateResult
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
