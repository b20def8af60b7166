"""``/api/v1/tokens``: the pair's API tokens (admin only; writes are pair-wide writes)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter, SkipValidation

from hapair.api import wire
from hapair.api.problems import responses
from hapair.services.tokens import TokensService


class TokensController(Controller):
    """Create, list and revoke API tokens."""

    path = "/tokens"
    tags = ["tokens"]  # noqa: RUF012

    @get(
        "",
        operation_id="list_tokens",
        opt={"role": "admin"},
        summary="List API tokens",
        description="Every token with its role, description and expiry; never the token.",
        responses=responses(401, 403, 503),
    )
    async def list_tokens(self, tokens: NamedDependency[TokensService]) -> wire.TokenList:
        return await tokens.list()

    @post(
        "",
        operation_id="create_token",
        opt={"role": "admin", "serve": "token-write", "media": "json"},
        summary="Create an API token",
        description="The token is in this answer only; the pair stores its SHA-256 digest.",
        status_code=201,
        responses=responses(400, 401, 403, 409, 413, 415, 422, 503),
    )
    async def create_token(
        self, tokens: NamedDependency[TokensService], data: SkipValidation[wire.TokenCreate]
    ) -> Response[wire.TokenCreated]:
        created = await tokens.create(data)
        return Response(created, status_code=201)

    @delete(
        "/{token_id:str}",
        operation_id="revoke_token",
        opt={"role": "admin", "serve": "token-write"},
        summary="Revoke an API token",
        description=(
            "At once on both units: the next request with it answers 401, and its open event "
            "streams end. In HA mode the answer waits (at most 1 s) for the partner's Redis: "
            "`HA-Partner-Acknowledged` says whether it holds the revocation. A revocation is "
            "never undone (not by a failover, a split brain or a resync)."
        ),
        status_code=204,
        responses=responses(400, 401, 403, 404, 409, 503),
    )
    async def revoke_token(
        self,
        tokens: NamedDependency[TokensService],
        token_id: Annotated[str, Parameter(max_length=64, description="The token's id.")],
    ) -> Response[None]:
        acknowledged = await tokens.revoke(token_id)
        headers = {}
        if acknowledged is not None:
            headers["HA-Partner-Acknowledged"] = "true" if acknowledged else "false"
        return Response(None, status_code=204, headers=headers)
