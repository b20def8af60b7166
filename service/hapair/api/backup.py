"""``/api/v1/ha/export`` and ``/api/v1/ha/import``: backup and restore of the pair."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter, SkipValidation

from hapair.api import wire
from hapair.api.media import if_match
from hapair.api.problems import responses
from hapair.domain.errors import RevisionMismatch
from hapair.services.backup import BackupService


class BackupController(Controller):
    """Export the pair's parameters and tokens as a bundle; import one."""

    path = "/ha"
    tags = ["ha"]  # noqa: RUF012

    @get(
        "/export",
        operation_id="export_bundle",
        opt={"serve": "ha", "role": "admin"},
        summary="Export a backup bundle",
        description=(
            "The pair's HA parameters as written (`virtual_id` null when it is auto) and its "
            "API tokens (metadata and SHA-256 digests, never the tokens), with a SHA-256 "
            "`checksum` of the rest. Admin only: the digests are the tokens' verifiers."
        ),
        responses=responses(401, 403, 409, 503),
    )
    async def export_bundle(self, backup: NamedDependency[BackupService]) -> wire.Bundle:
        return await backup.export()

    @post(
        "/import",
        operation_id="import_bundle",
        opt={"serve": "pair-write", "media": "json"},
        summary="Import a backup bundle",
        description=(
            "Makes the pair hold the bundle's parameters (one new revision, actor `import`, "
            "unless they are equal already) and its token set (tokens the bundle does not hold "
            "are removed; a token revoked on this pair stays revoked). Answers the diff: "
            "`changes` (`{field: [now, bundle]}`) and `tokens` (`added`, `removed`, "
            "`revoked`). `?dry_run=true` stores nothing. A bundle whose checksum fails, whose "
            "`format` is unknown or whose `hapair_version` is more than one minor version "
            "apart: 422."
        ),
        status_code=200,
        responses=responses(400, 401, 403, 409, 412, 413, 415, 422, 503),
    )
    async def import_bundle(
        self,
        request: Request[Any, Any, Any],
        backup: NamedDependency[BackupService],
        data: SkipValidation[wire.Bundle],
        dry_run: Annotated[
            bool, Parameter(description="Check the bundle and answer the diff; store nothing.")
        ] = False,
    ) -> Response[wire.ImportResult]:
        actor = request.scope["state"].get("actor", "anonymous")
        via_shared = backup.engine.is_shared(request.scope.get("server"))
        try:
            expected = if_match(request)
        except RevisionMismatch:
            # as for the parameters: a failed precondition only for a bundle that passes
            await backup.import_bundle(
                data, actor=actor, dry_run=True, via_shared=via_shared, if_match=None
            )
            raise
        imported = await backup.import_bundle(
            data, actor=actor, dry_run=dry_run, via_shared=via_shared, if_match=expected
        )
        headers = {"HA-Dry-Run": "true"} if dry_run else {}
        if imported.acknowledged is not None:
            headers["HA-Partner-Acknowledged"] = "true" if imported.acknowledged else "false"
        return Response(imported.result, headers=headers)
